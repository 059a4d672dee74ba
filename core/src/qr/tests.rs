//! Unit tests of the GV1 frame internals: hand-built frames, bombs, corruption.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::compress::{compress, decompress_bounded};
use super::dict::DICT_V1;
use super::frame::{
    self, push_varint, B64_BODY, B64_TAIL, MAX_BODY_LEN, SEP_DOT, SEP_END, SEP_TILDE, TEXT,
};
use super::{base45, decode_payload, encode_presentation, QrError, MAX_PARTS, PREFIX};

/// A frame from an (uncompressed) body and a raw tail.
fn frame_of(body: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut frame = vec![frame::VERSION];
    frame.extend_from_slice(&compress(body, DICT_V1).unwrap());
    frame.extend_from_slice(tail);
    frame
}

/// One body part.
fn part(body: &mut Vec<u8>, content: u8, sep: u8, data: &[u8]) {
    body.push(content | sep << 2);
    push_varint(body, data.len());
    if content != B64_TAIL {
        body.extend_from_slice(data);
    }
}

fn spec_presentations() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let list = json["vectors"].as_array().unwrap();
    list.iter()
        .map(|v| v["presentation"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hand_built_frame_decodes() {
    let mut body = Vec::new();
    part(&mut body, B64_BODY, SEP_DOT, b"{\"alg\":\"EdDSA\"}");
    part(&mut body, TEXT, SEP_DOT, b"x=");
    part(&mut body, B64_TAIL, SEP_TILDE, &[0xff, 0x00]);
    part(&mut body, TEXT, SEP_END, b"");
    let out = frame::decode(&frame_of(&body, &[0xff, 0x00])).unwrap();
    assert_eq!(out, "eyJhbGciOiJFZERTQSJ9.x=._wA~");
}

#[test]
fn malformed_frames_have_specific_errors() {
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, QrError)> = vec![
        (
            "unknown content kind",
            vec![3, 0],
            vec![],
            QrError::MalformedFrame("unknown part kind"),
        ),
        (
            "unknown separator",
            vec![3 << 2, 0],
            vec![],
            QrError::MalformedFrame("unknown separator"),
        ),
        (
            "reserved bits",
            vec![1 << 4, 0],
            vec![],
            QrError::MalformedFrame("unknown separator"),
        ),
        (
            "overlong varint",
            vec![TEXT, 0x80, 0x00],
            vec![],
            QrError::MalformedFrame("overlong varint"),
        ),
        (
            "4-byte varint",
            vec![TEXT, 0x80, 0x80, 0x80, 0x01],
            vec![],
            QrError::MalformedFrame("varint longer than 3 bytes"),
        ),
        (
            "separator in text",
            vec![TEXT, 3, b'a', b'.', b'b'],
            vec![],
            QrError::MalformedFrame("separator inside a text part"),
        ),
        (
            "invalid UTF-8",
            vec![TEXT, 2, 0xc3, 0x28],
            vec![],
            QrError::InvalidUtf8,
        ),
        ("empty body", vec![], vec![], QrError::Truncated),
        (
            "no END part",
            vec![TEXT | SEP_TILDE << 2, 0],
            vec![],
            QrError::Truncated,
        ),
        (
            "length past body",
            vec![TEXT, 5, b'a'],
            vec![],
            QrError::Truncated,
        ),
        (
            "length past tail",
            vec![B64_TAIL, 3],
            vec![1, 2],
            QrError::Truncated,
        ),
        (
            "bytes after END in body",
            vec![TEXT, 0, 0],
            vec![],
            QrError::TrailingData,
        ),
        (
            "bytes after the tail",
            vec![B64_TAIL, 1],
            vec![1, 2],
            QrError::TrailingData,
        ),
        (
            "bytes after the zlib stream",
            vec![TEXT, 0],
            vec![7],
            QrError::TrailingData,
        ),
    ];
    for (name, body, tail, expected) in cases {
        assert_eq!(
            frame::decode(&frame_of(&body, &tail)),
            Err(expected),
            "{name}"
        );
    }
}

#[test]
fn frame_header_errors() {
    assert_eq!(frame::decode(&[]), Err(QrError::Truncated));
    assert_eq!(frame::decode(&[1]), Err(QrError::Truncated));
    let mut frame = frame_of(&[TEXT, 0], &[]);
    frame[0] = 2;
    assert_eq!(
        frame::decode(&frame),
        Err(QrError::UnsupportedVersion { version: 2 })
    );
    // A zlib stream without the dictionary, and one with another dictionary.
    let mut plain = vec![frame::VERSION];
    plain.extend_from_slice(&compress(&[TEXT, 0], b"").unwrap());
    assert_eq!(frame::decode(&plain), Err(QrError::Decompress));
    let mut other = vec![frame::VERSION];
    other.extend_from_slice(&compress(&[TEXT, 0], b"another dictionary").unwrap());
    assert_eq!(frame::decode(&other), Err(QrError::Decompress));
}

#[test]
fn too_many_parts() {
    let mut body = Vec::new();
    for _ in 0..MAX_PARTS {
        part(&mut body, TEXT, SEP_TILDE, b"");
    }
    let mut ok = body.clone();
    ok.truncate(ok.len() - 2);
    part(&mut ok, TEXT, SEP_END, b"");
    assert_eq!(
        frame::decode(&frame_of(&ok, &[])).unwrap(),
        "~".repeat(MAX_PARTS - 1)
    );
    part(&mut body, TEXT, SEP_END, b"");
    assert_eq!(
        frame::decode(&frame_of(&body, &[])),
        Err(QrError::TooManyParts { max: MAX_PARTS })
    );
}

#[test]
fn body_over_limit_is_output_too_large() {
    let mut body = Vec::new();
    part(&mut body, TEXT, SEP_END, &vec![b'a'; MAX_BODY_LEN]);
    assert_eq!(
        frame::decode(&frame_of(&body, &[])),
        Err(QrError::OutputTooLarge { max: MAX_BODY_LEN })
    );
    // Within the body limit, but the text alone is over the presentation limit.
    let mut body = Vec::new();
    part(&mut body, TEXT, SEP_END, &vec![b'a'; MAX_BODY_LEN - 8]);
    let max = super::MAX_PRESENTATION_LEN;
    assert_eq!(
        frame::decode(&frame_of(&body, &[])),
        Err(QrError::OutputTooLarge { max })
    );
}

/// A zlib stream (with the GV1 dictionary header) of one fixed-Huffman deflate block: a literal 0
/// and then `repeats` copies of (length 258, distance 1), 13 bits for 258 output bytes.
fn zero_bomb(repeats: usize) -> Vec<u8> {
    let mut out = vec![0x78, 0xF9];
    out.extend_from_slice(&miniz_oxide::mz_adler32_oxide(1, DICT_V1).to_be_bytes());
    let (mut acc, mut nbits) = (0u64, 0u32);
    let mut put = |out: &mut Vec<u8>, code: u32, len: u32, huffman: bool| {
        // Huffman codes go most significant bit first, other fields least significant first.
        let v = if huffman {
            code.reverse_bits() >> (32 - len)
        } else {
            code
        };
        acc |= u64::from(v) << nbits;
        nbits += len;
        while nbits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            nbits -= 8;
        }
    };
    put(&mut out, 1, 1, false); // BFINAL
    put(&mut out, 1, 2, false); // BTYPE = fixed Huffman
    put(&mut out, 0x30, 8, true); // literal 0
    for _ in 0..repeats {
        put(&mut out, 0xC0 + 5, 8, true); // length symbol 285: 258
        put(&mut out, 0, 5, true); // distance code 0: 1
    }
    put(&mut out, 0, 7, true); // end of block
    put(&mut out, 0, 7, false); // pad
    out.extend_from_slice(&[0; 4]); // Adler-32: never reached
    out
}

#[test]
fn bomb_of_100_mb_is_rejected_by_the_output_limit() {
    let repeats = 100_000_000 / 258;
    let mut frame = vec![frame::VERSION];
    frame.extend_from_slice(&zero_bomb(repeats));
    assert_eq!(
        frame::decode(&frame),
        Err(QrError::OutputTooLarge { max: MAX_BODY_LEN })
    );
}

#[test]
fn small_bomb_through_the_public_decoder() {
    // 4,000 bytes of frame (6,000 payload characters, under MAX_PAYLOAD_LEN) inflating to ~630 KB.
    let mut frame = vec![frame::VERSION];
    frame.extend_from_slice(&zero_bomb(2450));
    let payload = format!("{PREFIX}{}", base45::encode(&frame));
    assert!(payload.len() < super::MAX_PAYLOAD_LEN);
    assert_eq!(
        decode_payload(&payload),
        Err(QrError::OutputTooLarge { max: MAX_BODY_LEN })
    );
    // The bomb is valid deflate: a short one inflates to the end (only its dummy Adler-32 is
    // wrong), and a limit below its size stops it.
    assert_eq!(
        decompress_bounded(&zero_bomb(10), DICT_V1, 10_000),
        Err(QrError::Decompress)
    );
    assert_eq!(
        decompress_bounded(&zero_bomb(10), DICT_V1, 2000),
        Err(QrError::OutputTooLarge { max: 2000 })
    );
}

/// Where a frame byte lies.
#[derive(Debug, PartialEq)]
enum Region {
    Checked,
    Tail,
}

/// Changes the payload character at `index` to `replacement` and checks the outcome against the
/// region of the frame the change lands in (see the module docs: no checksum over the tail).
fn check_mutation(original: &str, payload: &str, index: usize, replacement: u8) {
    let mut text = payload.as_bytes().to_vec();
    if text[index] == replacement {
        return;
    }
    text[index] = replacement;
    let text = String::from_utf8(text).unwrap();
    let result = decode_payload(&text);
    if index < PREFIX.len() {
        assert!(matches!(
            result,
            Err(QrError::WrongPrefix | QrError::UnsupportedVersion { .. })
        ));
        return;
    }
    let Some(mutated) = base45::decode(&text[PREFIX.len()..]) else {
        assert_eq!(result, Err(QrError::InvalidBase45));
        return;
    };
    let frame = base45::decode(&payload[PREFIX.len()..]).unwrap();
    let (_, zlib_len) = decompress_bounded(&frame[1..], DICT_V1, MAX_BODY_LEN).unwrap();
    let region = |i: usize| {
        if i < 1 + zlib_len {
            Region::Checked
        } else {
            Region::Tail
        }
    };
    let changed: Vec<Region> = (0..frame.len())
        .filter(|&i| frame[i] != mutated[i])
        .map(region)
        .collect();
    if changed.iter().all(|r| *r == Region::Tail) {
        // A signature byte changed: a different presentation, whose signature check fails.
        let decoded = result.unwrap();
        assert_ne!(decoded, original);
        assert_eq!(decoded.len(), original.len());
    } else {
        // The version byte or the zlib stream changed: rejected, or (only bits deflate ignores,
        // such as the padding after the last block) the very same presentation, or, rarely,
        // another body with the same Adler-32: zlib's checksum is no MAC, and what it lets
        // through is refused by the presentation's signatures, which the transport never
        // replaces (a two-byte change at frame bytes 662-663 of presentation 10 did this; the
        // seed is kept in proptest-regressions/).
        match result.as_deref() {
            Err(_) => {}
            Ok(same) if same == original => {}
            Ok(other) => {
                let body = |f: &[u8]| decompress_bounded(&f[1..], DICT_V1, MAX_BODY_LEN);
                let (before, after) = (body(&frame).unwrap().0, body(&mutated).unwrap().0);
                assert_ne!(other, original);
                assert_ne!(before, after);
                assert_eq!(
                    super::compress::adler32(&before),
                    super::compress::adler32(&after),
                    "index {index}: another body, and not an Adler-32 collision"
                );
            }
        }
    }
}

#[test]
fn every_position_mutated_once() {
    let original = &spec_presentations()[1];
    let payload = encode_presentation(original).unwrap();
    for index in 0..payload.len() {
        check_mutation(
            original,
            &payload,
            index,
            if payload.as_bytes()[index] == b'0' {
                b'1'
            } else {
                b'0'
            },
        );
    }
}

proptest! {
    #[test]
    fn random_mutations(which in 0usize..30, index in any::<prop::sample::Index>(), c in 0usize..45) {
        let presentations = spec_presentations();
        let original = &presentations[which % presentations.len()];
        let payload = encode_presentation(original).unwrap();
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        check_mutation(original, &payload, index.index(payload.len()), alphabet[c]);
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300),
                                    tail in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = frame::decode(&frame_of(&body, &tail));
    }

    #[test]
    fn arbitrary_frames_never_panic(frame in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = frame::decode(&frame);
        let _ = decode_payload(&format!("{PREFIX}{}", base45::encode(&frame)));
    }

    #[test]
    fn structured_bodies_never_panic(parts in prop::collection::vec(
        (0u8..4, 0u8..4, prop::collection::vec(any::<u8>(), 0..20)), 1..20)) {
        let mut body = Vec::new();
        let mut tail = Vec::new();
        for (content, sep, data) in &parts {
            part(&mut body, *content, *sep, data);
            if *content == B64_TAIL {
                tail.extend_from_slice(data);
            }
        }
        let _ = frame::decode(&frame_of(&body, &tail));
    }
}
