//! Fuzzes the gate QR decoders: `decode_payload` and `decode_challenge` must never panic, and a
//! payload that decodes must re-encode to a payload that decodes to the same text.
#![no_main]

use govid_core::qr::{decode_challenge, decode_payload, encode_presentation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_challenge(text, 1_767_300_000);
    // Raw input, and the input behind the prefix so that most cases reach Base45 and the frame.
    for candidate in [text.to_owned(), format!("GV1:{text}")] {
        if let Ok(decoded) = decode_payload(&candidate) {
            if let Ok(again) = encode_presentation(&decoded) {
                assert_eq!(decode_payload(&again).as_deref(), Ok(decoded.as_str()));
            }
        }
    }
});
