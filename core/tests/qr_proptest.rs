//! Property tests: exact round trips for any string, and a decoder that never panics.
//!
//! Corruption of encoded payloads (single changed characters) is tested next to the frame
//! internals, in `src/qr/tests.rs`, because the expected outcome depends on the frame region hit.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use govid_core::qr::{decode_challenge, decode_payload, encode_presentation};
use proptest::prelude::*;

/// One field of an SD-JWT-like string: canonical base64url of JSON or of binary, or junk.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}".prop_map(|json| URL_SAFE_NO_PAD.encode(format!("{{\"k\":\"{json}\"}}"))),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "[A-Za-z0-9_=+/-]{0,12}",
        any::<String>(),
    ]
}

/// A `.`/`~`-separated sequence of fields.
fn sd_jwt_like() -> impl Strategy<Value = String> {
    prop::collection::vec((field(), prop_oneof![Just('.'), Just('~')]), 0..12).prop_map(|parts| {
        let mut s = String::new();
        for (f, sep) in parts {
            s.push_str(&f);
            s.push(sep);
        }
        s
    })
}

proptest! {
    #[test]
    fn any_string_round_trips(s in any::<String>()) {
        let payload = encode_presentation(&s).unwrap();
        prop_assert_eq!(decode_payload(&payload).unwrap(), s);
    }

    #[test]
    fn sd_jwt_like_strings_round_trip(s in sd_jwt_like(), tail in "[A-Za-z0-9_-]{0,10}") {
        let s = s + &tail;
        let payload = encode_presentation(&s).unwrap();
        prop_assert_eq!(decode_payload(&payload).unwrap(), s);
    }

    #[test]
    fn decode_never_panics_on_any_string(s in any::<String>()) {
        let _ = decode_payload(&s);
        let _ = decode_challenge(&s, 0);
    }

    #[test]
    fn decode_never_panics_on_alphanumeric_payloads(s in "[0-9A-Z $%*+./:-]{0,600}") {
        let _ = decode_payload(&format!("GV1:{s}"));
        let _ = decode_challenge(&format!("GVC1:{s}"), 1_700_000_000);
    }

    #[test]
    fn decode_never_panics_on_any_bytes(b in prop::collection::vec(any::<u8>(), 0..600)) {
        let s = String::from_utf8_lossy(&b);
        let _ = decode_payload(&s);
        let _ = decode_payload(&format!("GV1:{s}"));
    }
}
