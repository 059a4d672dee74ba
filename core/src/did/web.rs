//! did:web (W3C CCG did-method-web): the HTTPS URL of a DID's document.
//!
//! `did:web:<host>[%3A<port>](:<path-segment>)*` → `https://<host>[:<port>]/<path>/did.json`, or
//! `https://<host>[:<port>]/.well-known/did.json` without a path. Strict by design, so that one
//! document has one DID and no DID reaches a host the method does not name:
//!
//! - the host is a lowercase DNS name (labels of `a-z`, `0-9`, `-`, at most 63 bytes each, 253 in
//!   all); IP addresses are refused (the method forbids them; an IPv6 literal is not DID syntax);
//! - the port is written `%3A` (uppercase hex) with 1–65535 in decimal, no leading zero;
//! - path segments are non-empty, not `.` or `..` (also percent-encoded), and may not
//!   percent-encode `/`, `\` or control characters; they are copied to the URL as written.

use super::url::{parse_did_of_method, pct_encoded_at};
use super::DidError;

const MAX_HOST_LEN: usize = 253;

fn check_host(host: &str) -> Result<(), DidError> {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return Err(DidError::Web("host length out of range"));
    }
    let mut last = "";
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(DidError::Web("empty or over-long host label"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(DidError::Web(
                "host is not a lowercase DNS name (letters, digits, `-`, `.`)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DidError::Web("host label starts or ends with `-`"));
        }
        last = label;
    }
    // No top-level domain is all digits: this refuses IPv4 addresses in every spelling.
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DidError::Web("IP addresses are not allowed as hosts"));
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), DidError> {
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    if !digits || port.starts_with('0') {
        return Err(DidError::Web(
            "port is not a decimal number without leading zeros",
        ));
    }
    match port.parse::<u32>() {
        Ok(1..=65535) => Ok(()),
        _ => Err(DidError::Web("port out of range")),
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

fn check_path_segment(segment: &str) -> Result<(), DidError> {
    if segment.is_empty() {
        return Err(DidError::Web("empty path segment"));
    }
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // DID syntax has already checked that `%` starts a valid `%XX`.
            if !pct_encoded_at(bytes, i) {
                return Err(DidError::Web("bad percent-encoding"));
            }
            let byte = hex_value(bytes[i + 1]) << 4 | hex_value(bytes[i + 2]);
            if byte < 0x20 || byte == 0x7f || byte == b'/' || byte == b'\\' {
                return Err(DidError::Web(
                    "path segment percent-encodes `/`, `\\` or a control character",
                ));
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    if decoded == b"." || decoded == b".." {
        return Err(DidError::Web("path segment is `.` or `..`"));
    }
    Ok(())
}

/// The HTTPS URL of a did:web DID's document. Refuses DID URLs (fragments), malformed hosts,
/// ports and path segments as the module documentation lists.
pub fn did_web_to_url(did: &str) -> Result<String, DidError> {
    let msid = parse_did_of_method(did, "web")?;
    let mut segments = msid.split(':');
    let authority = segments.next().unwrap_or_default();
    let (host, port) = match authority.split_once("%3A") {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.contains('%') {
        return Err(DidError::Web(
            "host has percent-encoding other than the `%3A` before the port",
        ));
    }
    check_host(host)?;
    let mut url = format!("https://{host}");
    if let Some(port) = port {
        check_port(port)?;
        url.push(':');
        url.push_str(port);
    }
    let mut has_path = false;
    for segment in segments {
        check_path_segment(segment)?;
        url.push('/');
        url.push_str(segment);
        has_path = true;
    }
    url.push_str(if has_path {
        "/did.json"
    } else {
        "/.well-known/did.json"
    });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_and_ports() {
        let ok = |did: &str| did_web_to_url(did).unwrap_or_else(|e| panic!("{did}: {e}"));
        assert_eq!(
            ok("did:web:example.com"),
            "https://example.com/.well-known/did.json"
        );
        assert_eq!(
            ok("did:web:example.com:user:alice"),
            "https://example.com/user/alice/did.json"
        );
        assert_eq!(
            ok("did:web:example.com%3A3000:user:alice"),
            "https://example.com:3000/user/alice/did.json"
        );
        assert_eq!(
            ok("did:web:hr.agency.gov:issuers:a%20b"),
            "https://hr.agency.gov/issuers/a%20b/did.json"
        );
        assert_eq!(
            ok("did:web:localhost%3A8443"),
            "https://localhost:8443/.well-known/did.json"
        );
    }

    #[test]
    fn refuses_malformed_did_webs() {
        let web = |did: &str| match did_web_to_url(did) {
            Err(DidError::Web(_)) => {}
            other => panic!("{did}: {other:?}"),
        };
        web("did:web:example.com::alice");
        web("did:web:example.com:user::alice");
        web("did:web:Example.com");
        web("did:web:127.0.0.1");
        web("did:web:127.0.0.1%3A443");
        web("did:web:2130706433");
        web("did:web:0x7f.1");
        web("did:web:example.123");
        web("did:web:exa_mple.com");
        web("did:web:-example.com");
        web("did:web:example-.com");
        web("did:web:example..com");
        web("did:web:.example.com");
        web("did:web:example.com.");
        web(&format!("did:web:{}.com", "a".repeat(64)));
        web(&format!("did:web:{}com", "a.".repeat(127)));
        web("did:web:example.com%3a3000");
        web("did:web:example.com%3A");
        web("did:web:example.com%3A0");
        web("did:web:example.com%3A08080");
        web("did:web:example.com%3A65536");
        web("did:web:example.com%3A99999");
        web("did:web:example.com%3A80%3A81");
        web("did:web:example.com%3Aa");
        web("did:web:user%40example.com");
        web("did:web:example.com%2Fevil.com");
        web("did:web:example.com:..:admin");
        web("did:web:example.com:%2E%2E:admin");
        web("did:web:example.com:.");
        web("did:web:example.com:a%2Fb");
        web("did:web:example.com:a%5cb");
        web("did:web:example.com:a%00b");
        assert!(matches!(
            did_web_to_url("did:web:example.com:a%zzb"),
            Err(DidError::Syntax(_))
        ));
        assert!(matches!(
            did_web_to_url("did:web:[::1]"),
            Err(DidError::Syntax(_))
        ));
        assert!(matches!(
            did_web_to_url("did:web:example.com#key-1"),
            Err(DidError::DidUrl(_))
        ));
        assert_eq!(
            did_web_to_url("did:key:z6Mk"),
            Err(DidError::WrongMethod("web"))
        );
    }
}
