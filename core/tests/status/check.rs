//! `check_credential_status` over verified tokens: each outcome, Unknown cases and errors.

use govid_core::jose::{Algorithm, Signer};
use govid_core::status::{
    check_credential_status, sign_status_list_token, verify_status_list_token_with_key, StatusBits,
    StatusError, StatusList, StatusListStore, StatusOutcome, StatusReference, StatusTokenClaims,
    UnknownReason, VerifiedStatusList,
};
use serde_json::{json, Map, Value};

use super::{issuer_signer, object};

const URI: &str = "https://hr.example/status/1";
const IAT: u64 = 1_767_225_600;
const DAY: u64 = 86_400;

fn verified(exp: Option<u64>) -> VerifiedStatusList {
    let mut list = StatusList::new(StatusBits::TWO, 16).expect("list");
    list.set(1, 1).expect("set");
    list.set(2, 2).expect("set");
    list.set(3, 3).expect("set");
    let mut claims = StatusTokenClaims::new(URI, IAT);
    claims.exp = exp;
    let signer = issuer_signer();
    let token = sign_status_list_token(&list, &claims, &signer).expect("sign");
    verify_status_list_token_with_key(&token, &signer.public_key(), URI, IAT, &Algorithm::ALL)
        .expect("verify")
}

fn credential(idx: u64, uri: &str) -> Map<String, Value> {
    let mut payload = object(json!({"iss": "https://hr.example", "vct": "urn:govid:staff"}));
    payload.insert(
        "status".to_owned(),
        StatusReference::new(idx, uri).to_status_claim(),
    );
    payload
}

fn store_of(exp: Option<u64>) -> StatusListStore {
    let mut store = StatusListStore::new(DAY);
    store.insert(verified(exp));
    store
}

#[test]
fn each_status_value_has_its_outcome() {
    let store = store_of(None);
    let now = IAT + 60;
    for (idx, outcome) in [
        (0, StatusOutcome::Valid),
        (1, StatusOutcome::Invalid),
        (2, StatusOutcome::Suspended),
        (3, StatusOutcome::Other(3)),
    ] {
        assert_eq!(
            check_credential_status(&credential(idx, URI), &store, now),
            Ok(outcome),
            "index {idx}"
        );
    }
}

#[test]
fn no_fresh_list_is_unknown() {
    let store = store_of(Some(IAT + 2 * DAY));
    assert_eq!(
        check_credential_status(&credential(0, "https://hr.example/status/2"), &store, IAT),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::NoStatusList
        })
    );
    // Usable up to iat + max_staleness inclusive, stale after.
    assert_eq!(
        check_credential_status(&credential(0, URI), &store, IAT + DAY),
        Ok(StatusOutcome::Valid)
    );
    assert_eq!(
        check_credential_status(&credential(1, URI), &store, IAT + DAY + 1),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Stale
        })
    );
    // exp wins over staleness.
    let short = store_of(Some(IAT + 100));
    assert_eq!(
        check_credential_status(&credential(1, URI), &short, IAT + 100),
        Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Expired
        })
    );
    assert_eq!(UnknownReason::Stale.as_str(), "stale");
}

#[test]
fn out_of_range_and_missing_claims_are_errors() {
    let store = store_of(None);
    for idx in [16, 17, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(
            check_credential_status(&credential(idx, URI), &store, IAT),
            Err(StatusError::IndexOutOfRange {
                index: idx,
                len: 16
            }),
            "index {idx}"
        );
    }
    let mut no_status = credential(0, URI);
    no_status.remove("status");
    assert_eq!(
        check_credential_status(&no_status, &store, IAT),
        Err(StatusError::NoStatusClaim)
    );
    let mut other_mechanism = credential(0, URI);
    other_mechanism.insert("status".to_owned(), json!({"status_assertion": {}}));
    assert_eq!(
        check_credential_status(&other_mechanism, &store, IAT),
        Err(StatusError::NoStatusListReference)
    );
}

#[test]
fn store_keeps_the_newest_token_per_uri() {
    let signer = issuer_signer();
    let newer_list = StatusList::new(StatusBits::TWO, 16).expect("list");
    let token =
        sign_status_list_token(&newer_list, &StatusTokenClaims::new(URI, IAT + 10), &signer)
            .expect("sign");
    let newer = verify_status_list_token_with_key(
        &token,
        &signer.public_key(),
        URI,
        IAT + 10,
        &Algorithm::ALL,
    )
    .expect("verify");
    let mut store = StatusListStore::new(DAY);
    store.insert(newer.clone());
    store.insert(verified(None));
    assert_eq!(store.len(), 1);
    // The older token (index 1 revoked) did not replace the newer one (all valid).
    assert_eq!(
        check_credential_status(&credential(1, URI), &store, IAT + 20),
        Ok(StatusOutcome::Valid)
    );
}
