//! The gate challenge (`GVC1:`): round trip, transport hardening, field validation.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use govid_core::qr::challenge::{
    CHALLENGE_PREFIX, MAX_AUD_LEN, MAX_CHALLENGE_CLAIMS, MAX_CHALLENGE_JSON_LEN,
    MAX_CHALLENGE_TTL_SECS, MAX_NONCE_LEN, MIN_NONCE_LEN,
};
use govid_core::qr::{
    decode_challenge, encode_challenge, ChallengeError, GateChallenge, QrError, MAX_PAYLOAD_LEN,
};

mod qr_common;
use qr_common::{base45, unbase45, zlib_bomb, zlib_stored};

const NOW: u64 = 1_767_300_000;

fn challenge() -> GateChallenge {
    GateChallenge {
        aud: "https://gate-7.hq.govid.example".into(),
        nonce: "q2Zs0t1YbTnK8xWv_3-uLA".into(),
        claims: vec![
            "given_name".into(),
            "organization/code".into(),
            "access_zones/*".into(),
        ],
        exp: NOW + 60,
        v: 1,
    }
}

/// A `GVC1:` payload carrying `json` verbatim.
fn payload_of(json: &str) -> String {
    format!(
        "{CHALLENGE_PREFIX}{}",
        base45(&zlib_stored(json.as_bytes()))
    )
}

fn decode_json(json: &str) -> Result<GateChallenge, ChallengeError> {
    decode_challenge(&payload_of(json), NOW)
}

#[test]
fn round_trip() {
    let c = challenge();
    let text = encode_challenge(&c).unwrap();
    assert!(text.starts_with("GVC1:"));
    assert_eq!(decode_challenge(&text, NOW).unwrap(), c);
    assert_eq!(decode_challenge(&format!(" {text}\r\n"), NOW).unwrap(), c);
    // Any zlib stream is read, not only ours.
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(decode_json(&json).unwrap(), c);
    let no_claims = GateChallenge {
        claims: vec![],
        ..challenge()
    };
    assert_eq!(
        decode_challenge(&encode_challenge(&no_claims).unwrap(), NOW).unwrap(),
        no_claims
    );
}

#[test]
fn transport_errors() {
    let text = encode_challenge(&challenge()).unwrap();
    let body = &text[CHALLENGE_PREFIX.len()..];
    let t = |e: QrError| Err(ChallengeError::Transport(e));
    assert_eq!(
        decode_challenge(&format!("GV1:{body}"), NOW),
        t(QrError::WrongPrefix)
    );
    assert_eq!(
        decode_challenge(&format!("gvc1:{body}"), NOW),
        t(QrError::WrongPrefix)
    );
    assert_eq!(
        decode_challenge(&format!("GVC2:{body}"), NOW),
        t(QrError::UnsupportedVersion { version: 2 })
    );
    assert_eq!(decode_challenge("GVC1:A", NOW), t(QrError::InvalidBase45));
    assert_eq!(decode_challenge("GVC1:", NOW), t(QrError::Truncated));
    // Whole Base45 groups only, so the cut is in the frame, not in the Base45 text.
    let cut = &body[..(body.len() - 3) / 3 * 3];
    assert_eq!(
        decode_challenge(&format!("{CHALLENGE_PREFIX}{cut}"), NOW),
        t(QrError::Truncated)
    );
    let trailing = [unbase45(body), vec![0]].concat();
    assert_eq!(
        decode_challenge(&format!("{CHALLENGE_PREFIX}{}", base45(&trailing)), NOW),
        t(QrError::TrailingData)
    );
    let mut stream = zlib_stored(b"{}");
    let last = stream.len() - 1;
    stream[last] ^= 1;
    let bad_checksum = format!("{CHALLENGE_PREFIX}{}", base45(&stream));
    assert_eq!(decode_challenge(&bad_checksum, NOW), t(QrError::Decompress));
    let long = format!("GVC1:{}", "0".repeat(MAX_PAYLOAD_LEN));
    let len = long.len();
    assert_eq!(
        decode_challenge(&long, NOW),
        t(QrError::InputTooLarge {
            len,
            max: MAX_PAYLOAD_LEN
        })
    );
    // Over the JSON limit: stored data that large would not fit the payload limit, so use a
    // small bomb inflating to 25 KiB.
    let bomb = format!("{CHALLENGE_PREFIX}{}", base45(&zlib_bomb(100)));
    assert_eq!(
        decode_challenge(&bomb, NOW),
        t(QrError::OutputTooLarge {
            max: MAX_CHALLENGE_JSON_LEN
        })
    );
}

#[test]
fn json_errors() {
    let invalid = Err(ChallengeError::InvalidJson);
    assert_eq!(decode_json("not json"), invalid);
    assert_eq!(decode_json("{}"), invalid);
    assert_eq!(decode_json(r#"{"v":1}"#), invalid);
    let good = serde_json::to_value(challenge()).unwrap();
    let mut extra = good.clone();
    extra["extra"] = 1.into();
    assert_eq!(decode_json(&extra.to_string()), invalid);
    let mut wrong_type = good.clone();
    wrong_type["exp"] = "soon".into();
    assert_eq!(decode_json(&wrong_type.to_string()), invalid);
    let duplicate = good.to_string().replacen("{", r#"{"aud":"x","#, 1);
    assert_eq!(decode_json(&duplicate), invalid);
    assert_eq!(decode_json(r#"{"v":300}"#), invalid);
    let mut newer = good.clone();
    newer["v"] = 2.into();
    newer["something_new"] = true.into();
    assert_eq!(
        decode_json(&newer.to_string()),
        Err(ChallengeError::UnsupportedVersion { v: 2 })
    );
}

#[test]
fn field_validation() {
    let check = |c: GateChallenge, expected: ChallengeError| {
        assert_eq!(
            decode_json(&serde_json::to_string(&c).unwrap()),
            Err(expected.clone())
        );
        if !matches!(
            expected,
            ChallengeError::Expired | ChallengeError::ExpiryTooFar { .. }
        ) {
            assert_eq!(encode_challenge(&c), Err(expected));
        }
    };
    check(
        GateChallenge {
            aud: String::new(),
            ..challenge()
        },
        ChallengeError::EmptyAudience,
    );
    check(
        GateChallenge {
            aud: "a".repeat(MAX_AUD_LEN + 1),
            ..challenge()
        },
        ChallengeError::AudienceTooLong { max: MAX_AUD_LEN },
    );
    let bad_nonce = ChallengeError::InvalidNonce {
        min: MIN_NONCE_LEN,
        max: MAX_NONCE_LEN,
    };
    for nonce in [
        "short".to_owned(),
        "a".repeat(15),
        "a".repeat(MAX_NONCE_LEN + 1),
        "abc+def/ghi=jklmnop".into(),
    ] {
        check(
            GateChallenge {
                nonce,
                ..challenge()
            },
            bad_nonce.clone(),
        );
    }
    for nonce in ["a".repeat(MIN_NONCE_LEN), "a".repeat(MAX_NONCE_LEN)] {
        assert!(encode_challenge(&GateChallenge {
            nonce,
            ..challenge()
        })
        .is_ok());
    }
    let claims = vec!["given_name".to_owned(); MAX_CHALLENGE_CLAIMS + 1];
    check(
        GateChallenge {
            claims,
            ..challenge()
        },
        ChallengeError::TooManyClaims {
            count: MAX_CHALLENGE_CLAIMS + 1,
            max: MAX_CHALLENGE_CLAIMS,
        },
    );
    for (path, index) in [
        ("", 0),
        ("organization//code", 1),
        ("/given_name", 0),
        ("a\u{7}", 0),
    ] {
        let mut claims = vec!["given_name".to_owned()];
        claims.insert(index, path.to_owned());
        check(
            GateChallenge {
                claims,
                ..challenge()
            },
            ChallengeError::InvalidClaimPath { index },
        );
    }
    check(
        GateChallenge {
            v: 2,
            ..challenge()
        },
        ChallengeError::UnsupportedVersion { v: 2 },
    );
    check(
        GateChallenge {
            exp: NOW,
            ..challenge()
        },
        ChallengeError::Expired,
    );
    check(
        GateChallenge {
            exp: 0,
            ..challenge()
        },
        ChallengeError::Expired,
    );
    check(
        GateChallenge {
            exp: NOW + MAX_CHALLENGE_TTL_SECS + 1,
            ..challenge()
        },
        ChallengeError::ExpiryTooFar {
            max_secs: MAX_CHALLENGE_TTL_SECS,
        },
    );
    assert!(challenge().validate(NOW + 59).is_ok());
    assert_eq!(challenge().validate(NOW + 60), Err(ChallengeError::Expired));
    assert!(GateChallenge {
        exp: NOW + MAX_CHALLENGE_TTL_SECS,
        ..challenge()
    }
    .validate(NOW)
    .is_ok());
}

#[test]
fn a_fractional_exp_counts_by_its_whole_seconds() {
    let mut json = serde_json::to_value(challenge()).unwrap();
    json["exp"] = serde_json::json!((NOW + 60) as f64 + 0.999_999);
    let decoded = decode_json(&json.to_string()).unwrap();
    assert_eq!(decoded, challenge());
    // Floor is the conservative side: it expires at the whole second.
    assert_eq!(
        decode_challenge(&payload_of(&json.to_string()), NOW + 60),
        Err(ChallengeError::Expired)
    );
}

#[test]
fn an_exp_that_is_negative_or_beyond_year_9999_is_invalid_json() {
    for exp in [
        serde_json::json!(-1),
        serde_json::json!(-0.5),
        serde_json::json!(govid_core::time::MAX_NUMERIC_DATE + 1),
        serde_json::json!(u64::MAX),
        serde_json::json!(1e300),
    ] {
        let mut json = serde_json::to_value(challenge()).unwrap();
        json["exp"] = exp.clone();
        assert_eq!(
            decode_json(&json.to_string()),
            Err(ChallengeError::InvalidJson),
            "{exp}"
        );
    }
}
