//! The draft-20 status list vectors and signed token, and the W3C Bitstring Status List vectors.

use std::collections::BTreeMap;

use govid_core::jose::{Algorithm, PublicKey};
use govid_core::status::{
    verify_status_list_token, verify_status_list_token_with_key, BitstringStatusList, StatusBits,
    StatusError, StatusList, StatusTokenError, W3C_MIN_BITS,
};
use govid_core::trust::PinnedKeys;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::vector_file;

/// Token vectors not run, each with the reason.
const SKIPPED_TOKENS: &[(&str, &str)] = &[(
    "draft20-wgrepo-status-list-token-cwt",
    "CWT/COSE Status List Tokens are not implemented: govid issues and verifies the JWT form \
     only (the vector is marked OPTIONAL)",
)];

fn statuses(value: &Value) -> BTreeMap<usize, u8> {
    value
        .as_object()
        .expect("expected_statuses")
        .iter()
        .map(|(k, v)| {
            let idx = k.parse().expect("index");
            let status = u8::try_from(v.as_u64().expect("status")).expect("status fits u8");
            (idx, status)
        })
        .collect()
}

fn decode_json_form(status_list: &Value) -> StatusList {
    let bits = u8::try_from(status_list["bits"].as_u64().expect("bits")).expect("bits");
    let bits = StatusBits::try_from(bits).expect("bits in 1, 2, 4, 8");
    StatusList::from_lst(bits, status_list["lst"].as_str().expect("lst")).expect("lst decodes")
}

#[test]
fn ietf_draft20_lists_decode_to_the_expected_statuses() {
    let file = vector_file("ietf_token_status_list_draft20.json");
    let vectors = file["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 6, "every vector is run");
    for v in vectors {
        let id = v["id"].as_str().expect("id");
        let list = decode_json_form(&v["status_list_json"]);
        let num_entries = v["num_entries"].as_u64().expect("num_entries") as usize;
        assert_eq!(list.len(), num_entries, "{id}: entries");
        if let Some(hex_bytes) = v["uncompressed_hex"].as_str() {
            assert_eq!(hex::encode(list.as_bytes()), hex_bytes, "{id}: bytes");
        }
        if let Some(digest) = v["uncompressed_sha256"].as_str() {
            assert_eq!(
                hex::encode(Sha256::digest(list.as_bytes())),
                digest,
                "{id}: bytes"
            );
        }
        let expected = statuses(&v["expected_statuses"]);
        assert!(!expected.is_empty(), "{id}");
        for (&idx, &status) in &expected {
            assert_eq!(list.get(idx), Ok(status), "{id}: index {idx}");
        }
        if v["all_other_indices"] == 0 {
            // Unlisted indices are 0: check every 997th, the neighbours of every listed index,
            // and the last one.
            let mut sample: Vec<usize> = (0..num_entries).step_by(997).collect();
            for &idx in expected.keys() {
                sample.extend([idx.saturating_sub(1), idx + 1]);
            }
            sample.push(num_entries - 1);
            let mut checked = 0;
            for idx in sample.into_iter().filter(|i| *i < num_entries) {
                if !expected.contains_key(&idx) {
                    assert_eq!(list.get(idx), Ok(0), "{id}: unlisted index {idx}");
                    checked += 1;
                }
            }
            assert!(checked > 1000, "{id}: sampled {checked} unlisted indices");
        }
        assert!(
            matches!(
                list.get(num_entries),
                Err(StatusError::IndexOutOfRange { .. })
            ),
            "{id}: past the end"
        );
        let again = StatusList::from_lst(list.bits(), &list.to_lst()).expect("re-encoded");
        assert_eq!(again, list, "{id}: re-encode round trip");
    }
}

#[test]
fn ietf_draft20_signed_token_verifies_with_the_given_key() {
    let file = vector_file("ietf_token_status_list_draft20.json");
    let tokens = file["tokens"].as_array().expect("tokens");
    let mut ran = 0;
    for t in tokens {
        let id = t["id"].as_str().expect("id");
        let Some(token) = t["status_list_token_jwt"].as_str() else {
            assert!(
                SKIPPED_TOKENS.iter().any(|(skipped, _)| *skipped == id),
                "{id}: a token vector that is not run must be listed in SKIPPED_TOKENS"
            );
            continue;
        };
        let key = PublicKey::from_jwk(&t["issuer_public_jwk"]).expect("issuer key");
        let payload = &t["expected_payload"];
        let uri = payload["sub"].as_str().expect("sub");
        let iat = payload["iat"].as_u64().expect("iat");
        let exp = payload["exp"].as_u64().expect("exp");
        // Verified at its own iat, so the vector never ages out.
        let verified = verify_status_list_token_with_key(token, &key, uri, iat, &Algorithm::ALL)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(verified.uri(), uri);
        assert_eq!(verified.iat(), iat);
        assert_eq!(verified.exp(), Some(exp));
        assert_eq!(verified.ttl(), payload["ttl"].as_u64());
        assert_eq!(verified.iss(), payload["iss"].as_str());
        for (idx, status) in statuses(&t["expected_statuses"]) {
            assert_eq!(verified.list().get(idx), Ok(status), "{id}: index {idx}");
        }
        // The same through a resolver: the key pinned for its `iss` under the token's `kid`.
        let kid = t["expected_header"]["kid"].as_str().expect("kid");
        let mut pinned = PinnedKeys::new();
        pinned.add(
            key.clone(),
            payload["iss"].as_str().map(str::to_owned),
            vec![kid.to_owned()],
        );
        let via_resolver = verify_status_list_token(token, &pinned, uri, iat, &Algorithm::ALL);
        assert_eq!(via_resolver.as_ref(), Ok(&verified), "{id}");
        assert_eq!(
            verify_status_list_token_with_key(token, &key, uri, exp, &Algorithm::ALL),
            Err(StatusTokenError::Expired { exp, now: exp }),
            "{id}: at exp"
        );
        assert_eq!(
            verify_status_list_token_with_key(
                token,
                &key,
                "https://example.com/statuslists/2",
                iat,
                &Algorithm::ALL
            ),
            Err(StatusTokenError::SubMismatch),
            "{id}: other uri"
        );
        assert_eq!(
            verify_status_list_token_with_key(token, &key, uri, iat, &[Algorithm::EdDSA]),
            Err(StatusTokenError::AlgNotAllowed),
            "{id}: ES256 not allowed"
        );
        ran += 1;
    }
    assert_eq!(ran + SKIPPED_TOKENS.len(), tokens.len());
    assert!(ran >= 1);
}

#[test]
fn w3c_bitstring_vectors_decode_msb_first() {
    let file = vector_file("w3c_bitstring_status_list.json");
    let vectors = file["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 7, "every vector is run");
    for v in vectors {
        let id = v["id"].as_str().expect("id");
        let size = u8::try_from(v["statusSize"].as_u64().expect("statusSize")).expect("size");
        let encoded = v["encodedList"].as_str().expect("encodedList");
        let list =
            BitstringStatusList::decode(encoded, size).unwrap_or_else(|e| panic!("{id}: {e}"));
        let num_entries = v["num_entries"].as_u64().expect("num_entries") as usize;
        assert_eq!(list.len(), num_entries, "{id}: entries");
        assert_eq!(
            list.meets_minimum_length(),
            num_entries * usize::from(size) >= W3C_MIN_BITS,
            "{id}: the REC's minimum length is reported, not enforced"
        );
        if let Some(expected) = v.get("expected_statuses") {
            for (idx, status) in statuses(expected) {
                assert_eq!(list.get(idx), Ok(status), "{id}: index {idx}");
            }
        }
        let set: Vec<usize> = (0..list.len()).filter(|&i| list.get(i) != Ok(0)).collect();
        let expected_set: Vec<usize> = v["expected_set_indices"]
            .as_array()
            .expect("expected_set_indices")
            .iter()
            .map(|i| i.as_u64().expect("index") as usize)
            .collect();
        assert_eq!(set, expected_set, "{id}: exactly these entries are set");
        for field in ["uncompressed_hex", "first_bytes_hex"] {
            if let Some(prefix) = v[field].as_str() {
                assert!(
                    hex::encode(list.as_bytes()).starts_with(prefix),
                    "{id}: {field}"
                );
            }
        }
        assert!(
            matches!(
                list.get(num_entries),
                Err(StatusError::IndexOutOfRange { .. })
            ),
            "{id}: past the end"
        );
    }
}

#[test]
fn bit_order_trap_is_index_50007_not_50000() {
    let file = vector_file("w3c_bitstring_status_list.json");
    let trap = file["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["id"] == "bit-order-trap-legacy-lsb-first")
        .expect("trap vector");
    let list = BitstringStatusList::decode(trap["encodedList"].as_str().expect("list"), 1)
        .expect("decodes");
    assert_eq!(list.get(50_007), Ok(1));
    assert_eq!(list.get(50_000), Ok(0));
    assert_eq!(list.as_bytes()[6250], 0x01);
}
