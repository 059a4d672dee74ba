//! Base45 (RFC 9285), strict.
//!
//! Hand-written rather than taken from the `base45` crate (3.2.0) for two reasons:
//! - its decoder truncates a final two-character group whose value exceeds 255 (`"::"` is 2024 and
//!   decodes to `0xE8`), where RFC 9285 section 4 requires such input to be rejected; so several
//!   strings decode to the same bytes;
//! - it calls `<[T]>::as_chunks`, stable only since Rust 1.88, above the workspace's `rust-version`.
//!
//! The decoder here accepts exactly the strings the encoder produces: every byte string has one
//! encoding and every accepted string has one decoding.

/// The 45 symbols, in value order (RFC 9285 table 1). All are in the QR alphanumeric set.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes `data` as Base45.
pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        let v = u32::from(pair[0]) * 256 + u32::from(pair[1]);
        push_digits(&mut out, v, 3);
    }
    if let [last] = chunks.remainder() {
        push_digits(&mut out, u32::from(*last), 2);
    }
    out
}

/// Appends `count` base-45 digits of `v`, least significant first.
fn push_digits(out: &mut String, mut v: u32, count: usize) {
    for _ in 0..count {
        // `v % 45` is below 45, so the index is in bounds.
        out.push(char::from(ALPHABET[(v % 45) as usize]));
        v /= 45;
    }
}

/// Decodes strict Base45; `None` for a symbol outside the alphabet, a dangling single symbol, or a
/// group whose value does not fit its byte count.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let input = text.as_bytes();
    let mut out = Vec::with_capacity(input.len() / 3 * 2 + 1);
    let mut chunks = input.chunks_exact(3);
    for group in &mut chunks {
        let v = value(group)?;
        let [hi, lo] = u16::try_from(v).ok()?.to_be_bytes();
        out.push(hi);
        out.push(lo);
    }
    match chunks.remainder() {
        [] => {}
        group @ [_, _] => out.push(u8::try_from(value(group)?).ok()?),
        _ => return None,
    }
    Some(out)
}

/// The value of a group of 2 or 3 symbols, least significant first.
fn value(group: &[u8]) -> Option<u32> {
    group
        .iter()
        .rev()
        .try_fold(0u32, |acc, &c| Some(acc * 45 + u32::from(symbol(c)?)))
}

/// The value of one symbol.
fn symbol(c: u8) -> Option<u8> {
    let index = ALPHABET.iter().position(|&a| a == c)?;
    u8::try_from(index).ok()
}

/// Whether every character of `text` is in the QR alphanumeric set (which is the Base45 alphabet).
pub(crate) fn is_qr_alphanumeric(text: &str) -> bool {
    text.bytes().all(|c| ALPHABET.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9285_examples() {
        // RFC 9285 section 4.3 and 4.4.
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").as_deref(), Some(&b"ietf!"[..]));
        assert_eq!(encode(b""), "");
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn rejects_out_of_range_and_dangling_groups() {
        // RFC 9285 section 4.2: "GGW" is 65536, one more than fits in two bytes.
        assert_eq!(decode("GGW"), None);
        assert_eq!(decode("FGW").as_deref(), Some(&[0xff, 0xff][..]));
        // A final pair above 255: the `base45` crate truncates this one to a byte.
        assert_eq!(decode("::"), None);
        assert_eq!(decode("U5").as_deref(), Some(&[0xff][..]));
        assert_eq!(decode("V5"), None);
        assert_eq!(decode("A"), None);
        assert_eq!(decode("AAAA"), None);
        assert_eq!(decode("ab"), None);
        assert_eq!(decode("A\u{e9}"), None);
    }

    #[test]
    fn last_digit_is_never_a_space() {
        // Why trimming whitespace around a payload is safe (see the `qr` module docs).
        for v in 0..=u16::MAX {
            assert!(!encode(&v.to_be_bytes()).ends_with(' '));
        }
        for b in 0..=u8::MAX {
            assert!(!encode(&[b]).ends_with(' '));
        }
    }

    #[test]
    fn all_byte_pairs_round_trip() {
        for hi in 0..=255u8 {
            for lo in (0..=255u8).step_by(7) {
                let e = encode(&[hi, lo, hi]);
                assert!(is_qr_alphanumeric(&e));
                assert_eq!(decode(&e).as_deref(), Some(&[hi, lo, hi][..]));
            }
        }
    }
}
