//! GV1 round trips (spec vectors, non-canonical parts, limits) and the decoder's input rules.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govid_core::qr::{
    decode_payload, encode_presentation, QrError, MAX_PARTS, MAX_PAYLOAD_LEN, MAX_PRESENTATION_LEN,
    PREFIX,
};

mod qr_common;
use qr_common::{base45, unbase45};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/vectors/sd-jwt/spec_examples.json"
);

fn vectors() -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(VECTORS).expect("testdata/vectors/sd-jwt/spec_examples.json");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["vectors"].as_array().unwrap().clone()
}

fn round_trip(s: &str) -> String {
    let payload = encode_presentation(s).unwrap();
    assert!(payload.starts_with(PREFIX));
    let alphanumeric = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    assert!(
        payload.bytes().all(|c| alphanumeric.contains(&c)),
        "non-alphanumeric output"
    );
    assert_eq!(decode_payload(&payload).unwrap(), s);
    payload
}

#[test]
fn every_spec_vector_round_trips() {
    let vectors = vectors();
    assert_eq!(
        vectors.len(),
        30,
        "the vector file changed: review this test"
    );
    for v in &vectors {
        let compact = v["presentation"].as_str().unwrap();
        let payload = round_trip(compact);
        assert!(payload.len() < compact.len(), "{}: no gain", v["id"]);
    }
}

/// Decision: the JWS JSON serialization (RFC 9901 section 8) is not compact form, but GV1 is
/// lossless for any string, so it is carried as TEXT parts and round-trips (larger, uncompressed
/// by the base64url decoding). A verifier that only accepts compact form rejects it later.
#[test]
fn json_serialization_vectors_round_trip_as_text() {
    let mut seen = 0;
    for v in vectors() {
        if let Some(json) = v.get("json_serialization") {
            seen += 1;
            round_trip(&serde_json::to_string(json).unwrap());
            round_trip(&serde_json::to_string_pretty(json).unwrap());
            round_trip(v["presentation"].as_str().unwrap());
        }
    }
    assert_eq!(seen, 4);
}

#[test]
fn non_canonical_parts_are_carried_verbatim() {
    let cases = [
        "",
        ".",
        "~",
        "~~",
        "..",
        ".~.~",
        "YQ",        // canonical base64url of "a"
        "YR",        // non-zero trailing bits
        "YQ==",      // padding
        "YQ=",       // bad padding
        "a+b/",      // standard alphabet
        "ab cd",     // stray space
        "a.b.c.d.e", // extra dots
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln~WyJzIiwgIm4iLCAidiJd~",
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln~WyJzIiwgIm4iLCAidiJd=~",
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln~~~",
        "ü~ß.€\u{0}\n\t",
        "A", // one base64url character: never canonical
        "_-_-",
    ];
    for s in cases {
        round_trip(s);
    }
}

#[test]
fn limits_on_the_encoder() {
    let fields = "~".repeat(MAX_PARTS - 1);
    round_trip(&fields);
    assert_eq!(
        encode_presentation(&format!("{fields}~")),
        Err(QrError::TooManyParts { max: MAX_PARTS })
    );
    let big = "=".repeat(MAX_PRESENTATION_LEN);
    assert_eq!(big.len(), MAX_PRESENTATION_LEN);
    round_trip(&big);
    let len = MAX_PRESENTATION_LEN + 1;
    assert_eq!(
        encode_presentation(&(big + "=")),
        Err(QrError::InputTooLarge {
            len,
            max: MAX_PRESENTATION_LEN
        })
    );
    // Incompressible: within the presentation limit, but the payload would not be.
    let noise: String = (0..5000u32)
        .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20000).unwrap())
        .collect();
    assert_eq!(
        encode_presentation(&noise),
        Err(QrError::OutputTooLarge {
            max: MAX_PAYLOAD_LEN
        })
    );
}

#[test]
fn surrounding_whitespace_and_prefix_rules() {
    let compact = vectors()[1]["presentation"].as_str().unwrap().to_owned();
    let payload = encode_presentation(&compact).unwrap();
    for wrapped in [
        format!("{payload}\n"),
        format!("{payload}\r\n"),
        format!(" \t\r\n{payload}\t\x0C"),
    ] {
        assert_eq!(decode_payload(&wrapped).unwrap(), compact);
    }
    let body = &payload[PREFIX.len()..];
    assert_eq!(
        decode_payload(&format!("gv1:{body}")),
        Err(QrError::WrongPrefix)
    );
    assert_eq!(
        decode_payload(&format!("HC1:{body}")),
        Err(QrError::WrongPrefix)
    );
    assert_eq!(
        decode_payload(&format!("GVC1:{body}")),
        Err(QrError::WrongPrefix)
    );
    assert_eq!(
        decode_payload(&format!("GV01:{body}")),
        Err(QrError::WrongPrefix)
    );
    assert_eq!(decode_payload(body), Err(QrError::WrongPrefix));
    assert_eq!(decode_payload(""), Err(QrError::WrongPrefix));
    assert_eq!(
        decode_payload(&format!("GV2:{body}")),
        Err(QrError::UnsupportedVersion { version: 2 })
    );
    assert_eq!(
        decode_payload(&format!("GV300:{body}")),
        Err(QrError::UnsupportedVersion { version: 255 })
    );
}

/// Space is a Base45 digit but never the last one, so trimming trailing spaces is safe.
#[test]
fn no_payload_ends_with_a_space() {
    for i in 0..3000 {
        let s = format!("eyJ{i}~x{i}");
        let payload = encode_presentation(&s).unwrap();
        assert!(!payload.ends_with(' '));
        assert_eq!(decode_payload(&format!("{payload}  ")).unwrap(), s);
    }
}

#[test]
fn decoder_errors() {
    let compact = vectors()[0]["presentation"].as_str().unwrap().to_owned();
    let payload = encode_presentation(&compact).unwrap();
    assert_eq!(decode_payload("GV1:"), Err(QrError::Truncated));
    assert_eq!(decode_payload("GV1:A"), Err(QrError::InvalidBase45));
    assert_eq!(decode_payload("GV1:abc"), Err(QrError::InvalidBase45));
    assert_eq!(decode_payload("GV1:GGW"), Err(QrError::InvalidBase45));
    let trailing = [unbase45(&payload[PREFIX.len()..]), vec![0]].concat();
    assert_eq!(
        decode_payload(&format!("{PREFIX}{}", base45(&trailing))),
        Err(QrError::TrailingData)
    );
    // The version byte (2 in the first Base45 group's low digits) inside a GV1 prefix.
    assert_eq!(decode_payload("GV1:2"), Err(QrError::InvalidBase45));
    assert_eq!(
        decode_payload("GV1:20"),
        Err(QrError::UnsupportedVersion { version: 2 })
    );
    let long = format!("GV1:{}", "0".repeat(MAX_PAYLOAD_LEN));
    assert_eq!(
        decode_payload(&long),
        Err(QrError::InputTooLarge {
            len: MAX_PAYLOAD_LEN + 4,
            max: MAX_PAYLOAD_LEN
        })
    );
    // Every truncation of a real payload fails: a cut after whole Base45 groups truncates the
    // frame; one leaving a single character is bad Base45; one leaving two characters also
    // changes the last frame byte, which then may fail as bad Base45 or bad zlib data instead.
    for cut in PREFIX.len()..payload.len() {
        let result = decode_payload(&payload[..cut]);
        // A cut may end in a space, which the decoder trims.
        let kept = payload[..cut].trim_end().len() - PREFIX.len();
        let ok = match kept % 3 {
            0 => result == Err(QrError::Truncated),
            1 => result == Err(QrError::InvalidBase45),
            _ => matches!(
                result,
                Err(QrError::Truncated | QrError::InvalidBase45 | QrError::Decompress)
            ),
        };
        assert!(ok, "cut at {cut}: {result:?}");
    }
}

#[test]
fn error_messages_hold_no_input() {
    let secret = "SECRETSECRET";
    let inputs = [
        secret.to_owned(),
        format!("GV1:{secret}"),
        format!("GV1:{}", "SECRET".repeat(2000)),
        format!("GV2:{secret}"),
    ];
    for input in inputs {
        let message = decode_payload(&input).unwrap_err().to_string();
        assert!(!message.contains("SECRET"), "{message}");
    }
}
