//! Who "one client" is for the per-client caps (open connections, pending challenges): an IPv4
//! address, or an IPv6 /64 (one subscriber's usual allocation, so one holder of a /64 cannot
//! take 2^64 shares). An IPv4-mapped IPv6 address counts as its IPv4 address.

use std::net::{IpAddr, Ipv6Addr};

/// The key a client's share of a per-client cap is counted under.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_itself_and_ipv6_is_its_64() {
        let a: IpAddr = [127, 0, 0, 2].into();
        assert_eq!(client_key(a), a);
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap_or(a);
        assert_eq!(client_key(mapped), IpAddr::from([10, 1, 2, 3]));
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(a);
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap_or(a);
        let next: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(a);
        assert_eq!(client_key(one), client_key(other));
        assert_ne!(client_key(one), client_key(next));
        assert_eq!(client_key(one), "2001:db8:1:2::".parse().unwrap_or(a));
    }
}
