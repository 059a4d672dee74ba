//! The offline trust bundle: round trip, operator signature, version, rollback, issuers, vct,
//! and status through the bundle (fresh, stale, expired).

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govid_core::jose::{
    sign_compact, Algorithm, JwsError, JwsHeader, PublicKey, Signer, SoftwareSigner,
};
use govid_core::status::{
    check_credential_status, sign_status_list_token, StatusBits, StatusList, StatusOutcome,
    StatusReference, StatusTokenClaims, StatusTokenError, StatusTokenSource, UnknownReason,
    VerifiedStatusList,
};
use govid_core::trust::bundle::TRUST_BUNDLE_TYP;
use govid_core::trust::{
    BundleError, BundleIssuer, IssuerResolver, ResolveError, TrustBundle, TrustBundleBuilder,
};
use serde_json::{json, Map, Value};

const ISS: &str = "did:web:hr.agency.example";
const VCT: &str = "urn:govid:staff-id:1";
const LIST_URI: &str = "https://hr.agency.example/status/1";
const IAT: u64 = 1_767_225_600;
const STALENESS: u64 = 86_400;

fn signer(seed: u8) -> SoftwareSigner {
    SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
}

fn operator() -> SoftwareSigner {
    signer(1)
}

fn issuer_key() -> SoftwareSigner {
    signer(2)
}

fn status_token(uri: &str, iat: u64, exp: Option<u64>, by: &dyn Signer) -> String {
    let mut list = StatusList::new(StatusBits::TWO, 128).expect("list");
    list.set(7, 1).expect("revoke");
    list.set(8, 2).expect("suspend");
    let mut claims = StatusTokenClaims::new(uri, iat).issuer(ISS);
    claims.exp = exp;
    sign_status_list_token(&list, &claims, by).expect("sign")
}

fn hr_issuer() -> BundleIssuer {
    BundleIssuer::new(ISS, "Agency HR Office")
        .key(issuer_key().public_key(), Some("hr-2026-1".to_owned()))
        .vct(VCT)
        .status_list(LIST_URI, status_token(LIST_URI, IAT, None, &issuer_key()))
}

fn bundle(seq: u64, issuer: BundleIssuer) -> String {
    TrustBundleBuilder::new(seq, IAT + 60, STALENESS)
        .issuer(issuer)
        .sign(&operator())
        .expect("sign")
}

fn load(text: &str) -> Result<TrustBundle, BundleError> {
    TrustBundle::load(text, &operator().public_key(), None)
}

fn header(kid: Option<&str>) -> JwsHeader {
    JwsHeader {
        alg: Algorithm::EdDSA,
        typ: Some("dc+sd-jwt".to_owned()),
        kid: kid.map(str::to_owned),
        raw: Map::new(),
    }
}

fn credential(idx: u64) -> Map<String, Value> {
    let mut payload = Map::new();
    payload.insert("iss".to_owned(), json!(ISS));
    payload.insert(
        "status".to_owned(),
        StatusReference::new(idx, LIST_URI).to_status_claim(),
    );
    payload
}

#[test]
fn round_trip() {
    let loaded = load(&bundle(42, hr_issuer())).expect("loads");
    assert_eq!(loaded.seq(), 42);
    assert_eq!(loaded.iat(), IAT + 60);
    assert_eq!(loaded.max_staleness(), STALENESS);
    assert_eq!(loaded.issuers(), &[hr_issuer()]);
    let key = issuer_key().public_key();
    assert_eq!(
        loaded.resolve(Some(ISS), &header(Some("hr-2026-1"))),
        Ok(key.clone())
    );
    assert_eq!(
        loaded.resolve(Some(ISS), &header(Some(&key.thumbprint()))),
        Ok(key.clone())
    );
    assert_eq!(loaded.resolve(Some(ISS), &header(None)), Ok(key.clone()));
    // The bundle names this key `hr-2026-1`: a JWT naming another `kid` was signed by a key
    // the bundle does not carry (a newer one, after a rotation), so it is not tried.
    assert_eq!(
        loaded.resolve(Some(ISS), &header(Some("hr-2025-9"))),
        Err(ResolveError::UnknownKey)
    );
    let es256 = JwsHeader {
        alg: Algorithm::ES256,
        ..header(None)
    };
    assert_eq!(
        loaded.resolve(Some(ISS), &es256),
        Err(ResolveError::UnknownKey),
        "the issuer has no P-256 key"
    );
    assert!(loaded.allows_vct(ISS, VCT));
    let now = IAT + 3600;
    for (idx, outcome) in [
        (0, StatusOutcome::Valid),
        (7, StatusOutcome::Invalid),
        (8, StatusOutcome::Suspended),
    ] {
        assert_eq!(
            check_credential_status(&credential(idx), &loaded, now),
            Ok(outcome)
        );
    }
}

#[test]
fn module_doc_example_shape_is_what_the_builder_writes() {
    let text = bundle(42, hr_issuer());
    let payload = text.split('.').nth(1).expect("payload");
    let payload: Value =
        serde_json::from_slice(&govid_core::b64::decode(payload).expect("b64")).expect("json");
    assert_eq!(payload["v"], 1);
    assert_eq!(payload["seq"], 42);
    assert_eq!(payload["max_staleness"], STALENESS);
    let issuer = &payload["issuers"][0];
    assert_eq!(issuer["iss"], ISS);
    assert_eq!(issuer["display_name"], "Agency HR Office");
    assert_eq!(issuer["keys"][0]["kid"], "hr-2026-1");
    assert_eq!(issuer["keys"][0]["kty"], "OKP");
    assert_eq!(issuer["vct"], json!([VCT]));
    assert_eq!(issuer["status_lists"][0]["uri"], LIST_URI);
}

#[test]
fn wrong_operator_key_is_refused() {
    let text = bundle(42, hr_issuer());
    let stranger = signer(9).public_key();
    assert_eq!(
        TrustBundle::load(&text, &stranger, None).map(|_| ()),
        Err(BundleError::Signature)
    );
    // A P-256 pinned key: the EdDSA bundle is refused too.
    let p256 = PublicKey::from_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
        "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"}))
    .expect("key");
    assert_eq!(
        TrustBundle::load(&text, &p256, None).map(|_| ()),
        Err(BundleError::Signature)
    );
    assert!(matches!(
        load("garbage"),
        Err(BundleError::Malformed(JwsError::Malformed))
    ));
}

#[test]
fn tampered_payload_is_refused() {
    let text = bundle(42, hr_issuer());
    let parts: Vec<&str> = text.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&govid_core::b64::decode(parts[1]).expect("b64")).expect("json");
    payload["issuers"][0]["vct"] = json!([VCT, "urn:govid:director-id:1"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        govid_core::b64::encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(load(&forged).map(|_| ()), Err(BundleError::Signature));
}

fn sign_raw(header: Value, payload: Value) -> String {
    let Value::Object(header) = header else {
        panic!()
    };
    let Value::Object(payload) = payload else {
        panic!()
    };
    sign_compact(header, &payload, &operator()).expect("sign")
}

#[test]
fn typ_version_and_shape_are_checked() {
    let good: Value = {
        let text = bundle(1, hr_issuer());
        let payload = text.split('.').nth(1).expect("payload");
        serde_json::from_slice(&govid_core::b64::decode(payload).expect("b64")).expect("json")
    };
    let typ = json!({"typ": TRUST_BUNDLE_TYP});
    assert!(load(&sign_raw(typ.clone(), good.clone())).is_ok());
    assert_eq!(
        load(&sign_raw(json!({"typ": "JWT"}), good.clone())).map(|_| ()),
        Err(BundleError::Typ)
    );
    assert_eq!(
        load(&sign_raw(json!({}), good.clone())).map(|_| ()),
        Err(BundleError::Typ)
    );
    let mut v2 = good.clone();
    v2["v"] = json!(2);
    assert_eq!(
        load(&sign_raw(typ.clone(), v2)).map(|_| ()),
        Err(BundleError::Version(2))
    );
    let mut no_v = good.clone();
    no_v.as_object_mut().expect("object").remove("v");
    assert!(matches!(
        load(&sign_raw(typ.clone(), no_v)),
        Err(BundleError::Payload(_))
    ));
    let mut no_seq = good.clone();
    no_seq.as_object_mut().expect("object").remove("seq");
    assert!(matches!(
        load(&sign_raw(typ.clone(), no_seq)),
        Err(BundleError::Payload(_))
    ));
    let mut bad_key = good.clone();
    bad_key["issuers"][0]["keys"][0]["x"] = json!("AAAA");
    assert!(matches!(
        load(&sign_raw(typ.clone(), bad_key)),
        Err(BundleError::IssuerKey(_))
    ));
    let mut bad_kid = good;
    bad_kid["issuers"][0]["keys"][0]["kid"] = json!(5);
    assert!(matches!(
        load(&sign_raw(typ, bad_kid)),
        Err(BundleError::Payload(_))
    ));
}

/// The payload [`bundle`] signs, as JSON, for tests to change one field.
fn good_payload() -> Value {
    let text = bundle(1, hr_issuer());
    let payload = text.split('.').nth(1).expect("payload");
    serde_json::from_slice(&govid_core::b64::decode(payload).expect("b64")).expect("json")
}

#[test]
fn a_fractional_iat_counts_by_its_whole_seconds() {
    let typ = json!({"typ": TRUST_BUNDLE_TYP});
    let mut payload = good_payload();
    payload["iat"] = json!((IAT + 60) as f64 + 0.123_456);
    let loaded = load(&sign_raw(typ, payload)).expect("load");
    assert_eq!(loaded.iat(), IAT + 60);
}

#[test]
fn an_iat_that_is_negative_huge_or_not_a_number_is_refused() {
    let typ = json!({"typ": TRUST_BUNDLE_TYP});
    for iat in [
        json!(-1),
        json!(-0.5),
        json!(govid_core::time::MAX_NUMERIC_DATE + 1),
        json!(u64::MAX),
        json!(1e300),
        json!("1767225660"),
        json!(null),
    ] {
        let mut payload = good_payload();
        payload["iat"] = iat.clone();
        assert_eq!(
            load(&sign_raw(typ.clone(), payload)).map(|_| ()),
            Err(BundleError::Payload("fields missing or of the wrong type")),
            "{iat}"
        );
    }
}

#[test]
fn older_seq_is_refused() {
    let text = bundle(42, hr_issuer());
    let key = operator().public_key();
    assert_eq!(
        TrustBundle::load(&text, &key, Some(43)).map(|_| ()),
        Err(BundleError::SeqRollback {
            seq: 42,
            last_seq: 43
        })
    );
    assert!(
        TrustBundle::load(&text, &key, Some(42)).is_ok(),
        "same seq reloads"
    );
    assert!(TrustBundle::load(&text, &key, Some(41)).is_ok());
    assert_eq!(
        BundleError::SeqRollback {
            seq: 1,
            last_seq: 2
        }
        .rule(),
        "bundle_seq_rollback"
    );
}

/// A source that holds the bundle's lists under a stricter limit of its own for one URI (as a
/// gate does with its `max_staleness_secs`).
struct StricterFor<'a> {
    bundle: &'a TrustBundle,
    uri: &'a str,
    limit: u64,
}

impl StatusTokenSource for StricterFor<'_> {
    fn status_list(&self, uri: &str) -> Option<&VerifiedStatusList> {
        self.bundle.status_list(uri)
    }

    fn status_list_for(&self, iss: Option<&str>, uri: &str) -> Option<&VerifiedStatusList> {
        self.bundle.status_list_for(iss, uri)
    }

    fn max_staleness(&self) -> u64 {
        self.bundle.max_staleness()
    }

    fn max_staleness_for(&self, _iss: Option<&str>, uri: &str) -> u64 {
        if uri == self.uri {
            self.limit.min(self.bundle.max_staleness())
        } else {
            self.bundle.max_staleness()
        }
    }
}

#[test]
fn staleness_is_judged_by_the_limit_for_that_list() {
    let loaded = load(&bundle(42, hr_issuer())).expect("loads");
    let stricter = StricterFor {
        bundle: &loaded,
        uri: LIST_URI,
        limit: 600,
    };
    assert_eq!(
        check_credential_status(&credential(7), &stricter, IAT + 600),
        Ok(StatusOutcome::Invalid)
    );
    // Within the bundle's own limit, but past the per-list one.
    assert_eq!(
        check_credential_status(&credential(7), &stricter, IAT + 601),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Stale
        })
    );
    // Another URI keeps the source-wide limit (the bundle's).
    let elsewhere = StricterFor {
        bundle: &loaded,
        uri: "https://elsewhere.example/status/9",
        limit: 600,
    };
    assert_eq!(
        check_credential_status(&credential(7), &elsewhere, IAT + STALENESS),
        Ok(StatusOutcome::Invalid)
    );
}

#[test]
fn stale_or_expired_token_is_unknown() {
    let loaded = load(&bundle(42, hr_issuer())).expect("loads");
    // The status token's iat is IAT: usable through IAT + max_staleness.
    assert_eq!(
        check_credential_status(&credential(7), &loaded, IAT + STALENESS),
        Ok(StatusOutcome::Invalid)
    );
    assert_eq!(
        check_credential_status(&credential(7), &loaded, IAT + STALENESS + 1),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Stale
        })
    );
    let expiring = BundleIssuer::new(ISS, "Agency HR Office")
        .key(issuer_key().public_key(), None)
        .vct(VCT)
        .status_list(
            LIST_URI,
            status_token(LIST_URI, IAT, Some(IAT + 3600), &issuer_key()),
        );
    let loaded = load(&bundle(43, expiring)).expect("loads");
    assert_eq!(
        check_credential_status(&credential(0), &loaded, IAT + 3600),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Expired
        })
    );
    // A list the bundle does not carry.
    let mut elsewhere = credential(0);
    elsewhere.insert(
        "status".to_owned(),
        StatusReference::new(0, "https://hr.agency.example/status/2").to_status_claim(),
    );
    assert_eq!(
        check_credential_status(&elsewhere, &loaded, IAT),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::NoStatusList
        })
    );
}

#[test]
fn untrusted_issuer_gets_no_key() {
    let loaded = load(&bundle(42, hr_issuer())).expect("loads");
    assert_eq!(
        loaded.resolve(Some("did:web:evil.example"), &header(None)),
        Err(ResolveError::UntrustedIssuer)
    );
    assert_eq!(
        loaded.resolve(None, &header(None)),
        Err(ResolveError::UntrustedIssuer),
        "keys are restricted to their issuer"
    );
    assert!(!loaded.allows_vct("did:web:evil.example", VCT));
    assert!(loaded.issuer("did:web:evil.example").is_none());
}

#[test]
fn vct_not_allowed() {
    let loaded = load(&bundle(42, hr_issuer())).expect("loads");
    assert!(loaded.allows_vct(ISS, VCT));
    assert!(!loaded.allows_vct(ISS, "urn:govid:director-id:1"));
    assert!(!loaded.allows_vct(ISS, ""));
}

#[test]
fn embedded_status_tokens_must_verify_against_their_issuer() {
    let forged = BundleIssuer::new(ISS, "Agency HR Office")
        .key(issuer_key().public_key(), None)
        .status_list(LIST_URI, status_token(LIST_URI, IAT, None, &signer(9)));
    assert_eq!(
        load(&bundle(42, forged)).map(|_| ()),
        Err(BundleError::StatusToken(StatusTokenError::Signature))
    );
    let wrong_uri = BundleIssuer::new(ISS, "Agency HR Office")
        .key(issuer_key().public_key(), None)
        .status_list(
            LIST_URI,
            status_token(
                "https://hr.agency.example/status/2",
                IAT,
                None,
                &issuer_key(),
            ),
        );
    assert_eq!(
        load(&bundle(42, wrong_uri)).map(|_| ()),
        Err(BundleError::StatusToken(StatusTokenError::SubMismatch))
    );
    // Expired already when the bundle was made.
    let expired = BundleIssuer::new(ISS, "Agency HR Office")
        .key(issuer_key().public_key(), None)
        .status_list(
            LIST_URI,
            status_token(LIST_URI, IAT, Some(IAT + 1), &issuer_key()),
        );
    assert_eq!(
        load(&bundle(42, expired)).map(|_| ()),
        Err(BundleError::StatusToken(StatusTokenError::Expired {
            exp: IAT + 1,
            now: IAT + 60
        }))
    );
}

#[test]
fn duplicates_are_refused() {
    let text = TrustBundleBuilder::new(1, IAT + 60, STALENESS)
        .issuer(hr_issuer())
        .issuer(BundleIssuer::new(ISS, "Impostor"))
        .sign(&operator())
        .expect("sign");
    assert_eq!(load(&text).map(|_| ()), Err(BundleError::DuplicateIssuer));
    let twice = hr_issuer().status_list(LIST_URI, status_token(LIST_URI, IAT, None, &issuer_key()));
    assert_eq!(
        load(&bundle(1, twice)).map(|_| ()),
        Err(BundleError::DuplicateStatusList)
    );
}

/// Regression: a credential of one issuer pointed at another issuer's status list in the same
/// bundle (e.g. to borrow a list where its index is VALID). The list must not speak for it.
#[test]
fn status_list_of_another_issuer_is_not_used() {
    const OTHER: &str = "did:web:hr.other.example";
    const OTHER_URI: &str = "https://hr.other.example/status/1";
    let other = BundleIssuer::new(OTHER, "Other HR Office")
        .key(signer(3).public_key(), None)
        .vct(VCT)
        .status_list(OTHER_URI, status_token(OTHER_URI, IAT, None, &signer(3)));
    let text = TrustBundleBuilder::new(1, IAT + 60, STALENESS)
        .issuer(hr_issuer())
        .issuer(other)
        .sign(&operator())
        .expect("sign");
    let loaded = load(&text).expect("loads");
    let mut borrowed = credential(0);
    borrowed.insert(
        "status".to_owned(),
        StatusReference::new(0, OTHER_URI).to_status_claim(),
    );
    assert_eq!(
        check_credential_status(&borrowed, &loaded, IAT + 3600),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::NoStatusList
        })
    );
    // Its own list still answers.
    assert_eq!(
        check_credential_status(&credential(7), &loaded, IAT + 3600),
        Ok(StatusOutcome::Invalid)
    );
}

#[test]
fn two_keys_of_an_issuer_without_kids_are_both_candidates_for_credentials_and_status_lists() {
    // Regression: an issuer with two keys and JWTs without `kid` got `AmbiguousKey`, so a
    // status list signed by its second key did not load.
    let issuer = BundleIssuer::new(ISS, "Agency HR Office")
        .key(signer(3).public_key(), None)
        .key(issuer_key().public_key(), None)
        .vct(VCT)
        .status_list(LIST_URI, status_token(LIST_URI, IAT, None, &issuer_key()));
    let loaded = load(&bundle(1, issuer)).expect("loads");
    assert_eq!(
        loaded.candidates(Some(ISS), &header(None)),
        Ok(vec![signer(3).public_key(), issuer_key().public_key()])
    );
    assert_eq!(
        loaded.resolve(Some(ISS), &header(None)),
        Err(ResolveError::AmbiguousKey)
    );
    assert_eq!(
        loaded.candidates(Some("did:web:other.example"), &header(None)),
        Err(ResolveError::UntrustedIssuer)
    );
    assert_eq!(
        check_credential_status(&credential(0), &loaded, IAT + 120),
        Ok(StatusOutcome::Valid)
    );
}
