//! Every Status List Token rule, each with its own error variant and rule code.

use std::collections::HashSet;

use govid_core::jose::{sign_compact, Algorithm, JwsError, PublicKey, Signer};
use govid_core::json::JsonError;
use govid_core::status::{
    sign_status_list_token, verify_status_list_token, verify_status_list_token_with_key,
    StatusBits, StatusError, StatusList, StatusTokenClaims, StatusTokenError, IAT_LEEWAY_SECS,
};
use govid_core::time::MAX_NUMERIC_DATE;
use govid_core::trust::{PinnedKeys, ResolveError};
use serde_json::{json, Value};

use super::{issuer_signer, object, other_signer};

const URI: &str = "https://hr.example/status/1";
const IAT: u64 = 1_767_225_600;
const NOW: u64 = IAT + 600;

fn list() -> StatusList {
    let mut list = StatusList::new(StatusBits::TWO, 64).expect("list");
    list.set(3, 1).expect("set");
    list.set(5, 2).expect("set");
    list
}

/// A well-formed payload, for the tests to break one claim at a time.
fn good_payload() -> Value {
    json!({
        "iss": "https://hr.example",
        "sub": URI,
        "iat": IAT,
        "exp": IAT + 86_400,
        "ttl": 3600,
        "status_list": {"bits": 2, "lst": list().to_lst()},
    })
}

fn sign_with(header: Value, payload: Value, signer: &dyn Signer) -> String {
    sign_compact(object(header), &object(payload), signer).expect("sign")
}

fn sign(payload: Value) -> String {
    sign_with(json!({"typ": "statuslist+jwt"}), payload, &issuer_signer())
}

fn key() -> PublicKey {
    issuer_signer().public_key()
}

fn verify(token: &str) -> Result<(), StatusTokenError> {
    verify_status_list_token_with_key(token, &key(), URI, NOW, &Algorithm::ALL).map(|_| ())
}

/// Builds a payload from the good one with `claim` set to `value` (or removed for `None`).
fn with(claim: &str, value: Option<Value>) -> Value {
    let mut payload = object(good_payload());
    match value {
        Some(v) => payload.insert(claim.to_owned(), v),
        None => payload.remove(claim),
    };
    Value::Object(payload)
}

fn with_status_list(member: &str, value: Option<Value>) -> Value {
    let mut status_list = object(good_payload()["status_list"].clone());
    match value {
        Some(v) => status_list.insert(member.to_owned(), v),
        None => status_list.remove(member),
    };
    with("status_list", Some(Value::Object(status_list)))
}

#[test]
fn signed_token_round_trips_with_all_claims() {
    let claims = StatusTokenClaims::new(URI, IAT)
        .expires_at(IAT + 86_400)
        .ttl(3600)
        .issuer("https://hr.example");
    let mut claims = claims;
    claims.aggregation_uri = Some("https://hr.example/status".to_owned());
    let token = sign_status_list_token(&list(), &claims, &issuer_signer()).expect("sign");
    let verified =
        verify_status_list_token_with_key(&token, &key(), URI, NOW, &Algorithm::ALL).expect("ok");
    assert_eq!(verified.list(), &list());
    assert_eq!(verified.uri(), URI);
    assert_eq!(verified.iss(), Some("https://hr.example"));
    assert_eq!(verified.iat(), IAT);
    assert_eq!(verified.exp(), Some(IAT + 86_400));
    assert_eq!(verified.ttl(), Some(3600));
    assert_eq!(
        verified.aggregation_uri(),
        Some("https://hr.example/status")
    );
    // Refresh: fetched_at + ttl, never after exp; exp alone when there is no ttl.
    assert_eq!(verified.refresh_due_at(NOW), Some(NOW + 3600));
    assert_eq!(verified.refresh_due_at(IAT + 86_000), Some(IAT + 86_400));
    let no_ttl = sign_status_list_token(
        &list(),
        &StatusTokenClaims::new(URI, IAT).expires_at(IAT + 100),
        &issuer_signer(),
    )
    .expect("sign");
    let no_ttl =
        verify_status_list_token_with_key(&no_ttl, &key(), URI, NOW - 600, &Algorithm::ALL)
            .expect("ok");
    assert_eq!(no_ttl.refresh_due_at(IAT), Some(IAT + 100));
    let bare = sign_status_list_token(&list(), &StatusTokenClaims::new(URI, IAT), &issuer_signer())
        .expect("sign");
    let bare =
        verify_status_list_token_with_key(&bare, &key(), URI, NOW, &Algorithm::ALL).expect("ok");
    assert_eq!((bare.exp(), bare.ttl(), bare.iss()), (None, None, None));
    assert_eq!(bare.refresh_due_at(NOW), None);
    // The header says what it is.
    assert_eq!(verify(&sign(good_payload())), Ok(()));
}

#[test]
fn signature_rules() {
    let other = sign_with(
        json!({"typ": "statuslist+jwt"}),
        good_payload(),
        &other_signer(),
    );
    assert_eq!(verify(&other), Err(StatusTokenError::Signature));
    // Tampered payload under the original signature.
    let token = sign(good_payload());
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = govid_core::b64::encode(
        serde_json::to_vec(&with("sub", Some(json!("https://hr.example/status/2")))).expect("json"),
    );
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(verify(&forged), Err(StatusTokenError::Signature));
    // A P-256 key for an EdDSA token: key type mismatch is a signature failure.
    let p256 = PublicKey::from_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
        "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"}))
    .expect("key");
    assert_eq!(
        verify_status_list_token_with_key(&token, &p256, URI, NOW, &Algorithm::ALL).map(|_| ()),
        Err(StatusTokenError::Signature)
    );
    assert_eq!(
        verify_status_list_token_with_key(&token, &key(), URI, NOW, &[Algorithm::ES256])
            .map(|_| ()),
        Err(StatusTokenError::AlgNotAllowed)
    );
}

#[test]
fn malformed_tokens_and_payloads() {
    assert_eq!(
        verify("not.a-token"),
        Err(StatusTokenError::Malformed(JwsError::Malformed))
    );
    let none_header = govid_core::b64::encode(br#"{"alg":"none","typ":"statuslist+jwt"}"#);
    let payload = govid_core::b64::encode(good_payload().to_string());
    assert_eq!(
        verify(&format!("{none_header}.{payload}.")),
        Err(StatusTokenError::Malformed(JwsError::AlgNone))
    );
    // A payload that is JSON but not an object, correctly signed.
    let header = govid_core::b64::encode(br#"{"alg":"EdDSA","typ":"statuslist+jwt"}"#);
    let body = govid_core::b64::encode(b"[1,2]");
    let input = format!("{header}.{body}");
    let sig = govid_core::b64::encode(issuer_signer().sign(input.as_bytes()).expect("sign"));
    assert_eq!(
        verify(&format!("{input}.{sig}")),
        Err(StatusTokenError::Payload(JsonError::NotAnObject))
    );
}

#[test]
fn typ_must_be_exactly_statuslist_jwt() {
    for header in [
        json!({}),
        json!({"typ": "JWT"}),
        json!({"typ": "application/statuslist+jwt"}),
        json!({"typ": "Statuslist+JWT"}),
        json!({"typ": 1}),
    ] {
        let token = sign_with(header.clone(), good_payload(), &issuer_signer());
        assert_eq!(verify(&token), Err(StatusTokenError::Typ), "{header}");
    }
}

#[test]
fn sub_rules() {
    assert_eq!(
        verify(&sign(with("sub", None))),
        Err(StatusTokenError::MissingSub)
    );
    assert_eq!(
        verify(&sign(with(
            "sub",
            Some(json!(["https://hr.example/status/1"]))
        ))),
        Err(StatusTokenError::MissingSub)
    );
    for other in [
        "https://hr.example/status/2",
        "https://hr.example/status/1/",
        "",
    ] {
        assert_eq!(
            verify(&sign(with("sub", Some(json!(other))))),
            Err(StatusTokenError::SubMismatch),
            "{other}"
        );
    }
}

#[test]
fn iat_rules() {
    assert_eq!(
        verify(&sign(with("iat", None))),
        Err(StatusTokenError::MissingIat)
    );
    for bad in [json!("1767225600"), json!(-1), json!(null)] {
        assert_eq!(
            verify(&sign(with("iat", Some(bad.clone())))),
            Err(StatusTokenError::MissingIat),
            "{bad}"
        );
    }
    let future = NOW + IAT_LEEWAY_SECS + 1;
    assert_eq!(
        verify(&sign(with("iat", Some(json!(future))))),
        Err(StatusTokenError::IssuedInFuture {
            iat: future,
            now: NOW
        })
    );
    // Within the leeway, and as a fractional NumericDate.
    assert_eq!(
        verify(&sign(with("iat", Some(json!(NOW + IAT_LEEWAY_SECS))))),
        Ok(())
    );
    assert_eq!(
        verify(&sign(with("iat", Some(json!(1_767_225_600.5))))),
        Ok(())
    );
}

#[test]
fn exp_rules() {
    for exp in [NOW, NOW - 1, 0] {
        assert_eq!(
            verify(&sign(with("exp", Some(json!(exp))))),
            Err(StatusTokenError::Expired { exp, now: NOW }),
            "{exp}"
        );
    }
    assert_eq!(verify(&sign(with("exp", Some(json!(NOW + 1))))), Ok(()));
    assert_eq!(verify(&sign(with("exp", None))), Ok(()));
    for bad in [json!("soon"), json!(-5), json!(null), json!({})] {
        assert_eq!(
            verify(&sign(with("exp", Some(bad.clone())))),
            Err(StatusTokenError::InvalidExp),
            "{bad}"
        );
    }
}

#[test]
fn fractional_iat_and_exp_count_by_their_whole_seconds() {
    let token = sign(with("iat", Some(json!(IAT as f64 + 0.999_999))));
    let verified =
        verify_status_list_token_with_key(&token, &key(), URI, NOW, &Algorithm::ALL).expect("ok");
    assert_eq!(verified.iat(), IAT);
    // Floor is the conservative side for `exp`: the token expires at the whole second.
    let token = sign(with("exp", Some(json!(NOW as f64 + 0.5))));
    assert_eq!(
        verify(&token),
        Err(StatusTokenError::Expired { exp: NOW, now: NOW })
    );
    let token = sign(with("exp", Some(json!(NOW as f64 + 1.5))));
    let verified =
        verify_status_list_token_with_key(&token, &key(), URI, NOW, &Algorithm::ALL).expect("ok");
    assert_eq!(verified.exp(), Some(NOW + 1));
}

#[test]
fn iat_and_exp_beyond_year_9999_are_malformed() {
    for huge in [json!(MAX_NUMERIC_DATE + 1), json!(u64::MAX), json!(1e300)] {
        assert_eq!(
            verify(&sign(with("exp", Some(huge.clone())))),
            Err(StatusTokenError::InvalidExp),
            "{huge}"
        );
        assert_eq!(
            verify(&sign(with("iat", Some(huge.clone())))),
            Err(StatusTokenError::MissingIat),
            "{huge}"
        );
    }
    assert_eq!(
        verify(&sign(with("exp", Some(json!(MAX_NUMERIC_DATE))))),
        Ok(())
    );
    assert_eq!(
        verify(&sign(with("iat", Some(json!(-0.5))))),
        Err(StatusTokenError::MissingIat)
    );
}

#[test]
fn ttl_rules() {
    for bad in [json!(0), json!(-1), json!(0.0), json!("3600"), json!(null)] {
        assert_eq!(
            verify(&sign(with("ttl", Some(bad.clone())))),
            Err(StatusTokenError::InvalidTtl),
            "{bad}"
        );
    }
    let token = sign(with("ttl", Some(json!(0.5))));
    let verified =
        verify_status_list_token_with_key(&token, &key(), URI, NOW, &Algorithm::ALL).expect("ok");
    assert_eq!(
        verified.ttl(),
        Some(1),
        "a fractional ttl rounds up, staying positive"
    );
    assert_eq!(verify(&sign(with("ttl", None))), Ok(()));
}

#[test]
fn status_list_claim_rules() {
    for bad in [None, Some(json!("eNrbuRgAAhcBXQ")), Some(json!([]))] {
        assert_eq!(
            verify(&sign(with("status_list", bad.clone()))),
            Err(StatusTokenError::InvalidStatusList),
            "{bad:?}"
        );
    }
    // aggregation_uri is tolerated as a string, refused as anything else.
    assert_eq!(
        verify(&sign(with_status_list(
            "aggregation_uri",
            Some(json!("https://hr.example/status"))
        ))),
        Ok(())
    );
    assert_eq!(
        verify(&sign(with_status_list("aggregation_uri", Some(json!(7))))),
        Err(StatusTokenError::InvalidStatusList)
    );
    for bad in [
        None,
        Some(json!(3)),
        Some(json!(0)),
        Some(json!(16)),
        Some(json!(257)),
        Some(json!("2")),
        Some(json!(2.0)),
    ] {
        assert_eq!(
            verify(&sign(with_status_list("bits", bad.clone()))),
            Err(StatusTokenError::Bits),
            "{bad:?}"
        );
    }
    assert!(matches!(
        verify(&sign(with_status_list("lst", None))),
        Err(StatusTokenError::Lst(StatusError::Encoding(_)))
    ));
    assert_eq!(
        verify(&sign(with_status_list(
            "lst",
            Some(json!("eNrbuRgAAhcBXQ=="))
        ))),
        Err(StatusTokenError::Lst(StatusError::Encoding("base64url")))
    );
    assert!(matches!(
        verify(&sign(with_status_list(
            "lst",
            Some(json!(govid_core::b64::encode(b"not zlib at all")))
        ))),
        Err(StatusTokenError::Lst(StatusError::Compression(_)))
    ));
    assert_eq!(
        verify(&sign(with_status_list("lst", Some(json!(7))))),
        Err(StatusTokenError::Lst(StatusError::Encoding(
            "`lst` is missing or not a string"
        )))
    );
}

#[test]
fn key_resolution_rules() {
    let token = sign(good_payload());
    let nobody = PinnedKeys::new();
    assert_eq!(
        verify_status_list_token(&token, &nobody, URI, NOW, &Algorithm::ALL).map(|_| ()),
        Err(StatusTokenError::Key(ResolveError::UntrustedIssuer))
    );
    let mut other_issuer = PinnedKeys::new();
    other_issuer.add(key(), Some("https://other.example".to_owned()), vec![]);
    assert_eq!(
        verify_status_list_token(&token, &other_issuer, URI, NOW, &Algorithm::ALL).map(|_| ()),
        Err(StatusTokenError::Key(ResolveError::UntrustedIssuer))
    );
    let mut right = PinnedKeys::new();
    right.add(key(), Some("https://hr.example".to_owned()), vec![]);
    assert_eq!(
        verify_status_list_token(&token, &right, URI, NOW, &Algorithm::ALL).map(|_| ()),
        Ok(())
    );
}

#[test]
fn rule_codes_are_distinct_and_stable() {
    let errors = [
        StatusTokenError::Malformed(JwsError::Malformed),
        StatusTokenError::Payload(JsonError::Syntax),
        StatusTokenError::Key(ResolveError::UntrustedIssuer),
        StatusTokenError::AlgNotAllowed,
        StatusTokenError::Signature,
        StatusTokenError::Typ,
        StatusTokenError::MissingSub,
        StatusTokenError::SubMismatch,
        StatusTokenError::MissingIat,
        StatusTokenError::IssuedInFuture { iat: 2, now: 1 },
        StatusTokenError::InvalidExp,
        StatusTokenError::Expired { exp: 1, now: 2 },
        StatusTokenError::InvalidTtl,
        StatusTokenError::InvalidStatusList,
        StatusTokenError::Bits,
        StatusTokenError::Lst(StatusError::Encoding("base64url")),
    ];
    let rules: HashSet<&str> = errors.iter().map(StatusTokenError::rule).collect();
    assert_eq!(rules.len(), errors.len());
    assert!(rules.iter().all(|r| r.starts_with("status_token_")));
    for (error, rule) in [
        (StatusTokenError::Signature, "status_token_signature"),
        (StatusTokenError::Typ, "status_token_typ"),
        (StatusTokenError::SubMismatch, "status_token_sub"),
        (
            StatusTokenError::Expired { exp: 1, now: 2 },
            "status_token_expired",
        ),
        (StatusTokenError::MissingIat, "status_token_iat"),
        (StatusTokenError::Bits, "status_token_bits"),
        (
            StatusTokenError::Lst(StatusError::Encoding("x")),
            "status_token_lst",
        ),
    ] {
        assert_eq!(error.rule(), rule);
    }
    assert_eq!(
        StatusError::IndexOutOfRange { index: 1, len: 1 }.rule(),
        "status_index_out_of_range"
    );
}
