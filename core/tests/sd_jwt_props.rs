//! Property tests of the SD-JWT layer: a presentation reveals exactly what the holder selected,
//! tampering never changes what is accepted, and no input makes a parser or `verify` panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

mod common;

use std::cmp::Ordering;
use std::sync::OnceLock;

use govid_core::b64;
use govid_core::credential::{
    gate_policy, issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{CompactJws, SignatureCache, Signer};
use govid_core::sdjwt::{
    issue, verify, verify_using, ArrayElement, ClaimNode, ClaimPath, Decoys, Disclosure, HeldSdJwt,
    HolderKeyCache, IssueOptions, KbExpectation, ObjectMember, PathSegment, SdAlg, VerifyMemos,
    VerifyPolicy,
};
use govid_core::trust::PinnedKeys;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use common::{AUD, NONCE, NOW};

// ---- claim trees ----

fn leaf() -> impl Strategy<Value = ClaimNode> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 é]{0,8}".prop_map(Value::from),
        Just(json!({ "k": [1, "x"] })),
    ]
    .prop_map(ClaimNode::Leaf)
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d", "given_name", "42", "_x"]).prop_map(str::to_owned)
}

fn object(members: Vec<(String, ClaimNode, bool)>) -> ClaimNode {
    let mut seen = Vec::new();
    ClaimNode::Object(
        members
            .into_iter()
            .filter(|(n, _, _)| {
                let fresh = !seen.contains(n);
                seen.push(n.clone());
                fresh
            })
            .map(|(name, node, disclosable)| ObjectMember {
                name,
                node,
                disclosable,
            })
            .collect(),
    )
}

fn node() -> impl Strategy<Value = ClaimNode> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((name(), inner.clone(), any::<bool>()), 0..4).prop_map(object),
            prop::collection::vec((inner, any::<bool>()), 0..4).prop_map(|elements| {
                ClaimNode::Array(
                    elements
                        .into_iter()
                        .map(|(node, disclosable)| ArrayElement { node, disclosable })
                        .collect(),
                )
            }),
        ]
    })
}

/// A root object: `iss` and a holder `cnf`, plus random members.
fn claim_tree() -> impl Strategy<Value = ClaimNode> {
    prop::collection::vec((name(), node(), any::<bool>()), 0..6).prop_map(|members| {
        let ClaimNode::Object(mut random) = object(members) else {
            unreachable!()
        };
        let ClaimNode::Object(mut root) = ClaimNode::object().plain("iss", common::ISS).plain(
            "cnf",
            json!({ "jwk": common::holder().public_key().to_jwk() }),
        ) else {
            unreachable!()
        };
        root.append(&mut random);
        ClaimNode::Object(root)
    })
}

// ---- expected payloads ----

fn order(a: &PathSegment, b: &PathSegment) -> Ordering {
    match (a, b) {
        (PathSegment::Index(x), PathSegment::Index(y)) => x.cmp(y),
        (PathSegment::Key(x), PathSegment::Key(y)) => x.cmp(y),
        (PathSegment::Key(_), _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// Removes the values at `locations` from `payload`: deepest and last first, so the array
/// positions of the others stay valid.
fn remove_all(payload: &mut Map<String, Value>, mut locations: Vec<Vec<PathSegment>>) {
    locations.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| order(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(a.len().cmp(&b.len()))
            .reverse()
    });
    let mut root = Value::Object(std::mem::take(payload));
    for location in locations {
        let (last, parents) = location.split_last().unwrap();
        let mut here = Some(&mut root);
        for seg in parents {
            here = here.and_then(|v| match (v, seg) {
                (Value::Object(m), PathSegment::Key(k)) => m.get_mut(k),
                (Value::Array(a), PathSegment::Index(i)) => a.get_mut(*i),
                _ => None,
            });
        }
        match (here, last) {
            (Some(Value::Object(m)), PathSegment::Key(k)) => {
                m.remove(k);
            }
            (Some(Value::Array(a)), PathSegment::Index(i)) if *i < a.len() => {
                a.remove(*i);
            }
            _ => {} // under a value removed already
        }
    }
    if let Value::Object(map) = root {
        *payload = map;
    }
}

/// `held`'s disclosable paths, and which of them presenting `selection` reveals: each selected
/// path, its ancestors and everything below it.
fn revealed(all: &[ClaimPath], selection: &[ClaimPath]) -> Vec<bool> {
    all.iter()
        .map(|p| {
            selection
                .iter()
                .any(|s| s.0.starts_with(&p.0) || p.0.starts_with(&s.0))
        })
        .collect()
}

/// Presents `mask` of the holder's disclosable paths with key binding, verifies, and checks the
/// processed payload is the full one minus exactly the unrevealed disclosures.
fn check_exact_subset(
    held: &HeldSdJwt,
    mask: &[bool],
    policy: &VerifyPolicy,
    keys: &PinnedKeys,
) -> Result<(), TestCaseError> {
    let all = held.disclosable_paths();
    let selection: Vec<ClaimPath> = all
        .iter()
        .zip(mask.iter().cycle())
        .filter(|(_, keep)| **keep)
        .map(|(p, _)| p.clone())
        .collect();
    let presentation = held
        .present(
            &selection,
            Some((&common::kb_request(NOW), &common::holder())),
        )
        .unwrap();
    let verified = verify(&presentation, policy, keys, NOW)
        .map_err(|e| TestCaseError::fail(format!("rejected ({}): {e}", e.rule())))?;
    let shown = revealed(&all, &selection);
    let mut expected = held.claims().clone();
    remove_all(
        &mut expected,
        all.iter()
            .zip(&shown)
            .filter(|(_, s)| !**s)
            .map(|(p, _)| p.0.clone())
            .collect(),
    );
    prop_assert_eq!(Value::Object(verified.payload), Value::Object(expected));
    prop_assert_eq!(verified.disclosed, shown.iter().filter(|s| **s).count());
    Ok(())
}

fn kb_policy() -> VerifyPolicy {
    VerifyPolicy {
        key_binding: Some(KbExpectation {
            aud: AUD.to_owned(),
            nonce: Some(NONCE.to_owned()),
        }),
        ..VerifyPolicy::default()
    }
}

fn pinned() -> PinnedKeys {
    PinnedKeys::single(common::issuer().public_key())
}

/// A worker ID of the fixtures' holder, with every optional claim.
fn worker_id() -> &'static String {
    static ISSUED: OnceLock<String> = OnceLock::new();
    ISSUED.get_or_init(|| {
        let mut claims = WorkerClaims::new(
            "Amira",
            "Haddad",
            "E-10442",
            Organization {
                name: "Ministry of Transport".into(),
                code: "MOT".into(),
            },
        );
        claims.department = Some("Road Safety".into());
        claims.position = Some("Senior Inspector".into());
        claims.grade = Some("G7".into());
        claims.clearance = Some("B".into());
        claims.birthdate = Some("1986-04-12".into());
        claims.portrait = Some("data:image/png;base64,iVBORw0KGgo=".into());
        claims.access_zones = vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()];
        let holder_key = common::holder().public_key();
        let params = WorkerIdParams {
            issuer: common::ISS,
            holder_key: &holder_key,
            validity: Validity {
                issued_at: NOW - 86_400,
                not_before: NOW - 86_400,
                expires_at: NOW + 365 * 86_400,
            },
            status: None,
            decoys: Decoys { min: 1, max: 4 },
        };
        issue_worker_id(&claims, &params, &common::issuer(), &mut common::rng(70))
            .unwrap()
            .compact()
    })
}

fn held_worker_id() -> HeldSdJwt {
    HeldSdJwt::receive(worker_id(), &VerifyPolicy::default(), &pinned(), NOW).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_worker_id_reveals_exactly_the_presented_subset(
        mask in prop::collection::vec(any::<bool>(), 16),
    ) {
        let policy = gate_policy(AUD, Some(NONCE.to_owned()), &GateProfile::Custom(Vec::new()));
        check_exact_subset(&held_worker_id(), &mask, &policy, &pinned())?;
    }

    #[test]
    fn any_claim_tree_reveals_exactly_the_presented_subset(
        tree in claim_tree(),
        mask in prop::collection::vec(any::<bool>(), 1..24),
        seed in any::<u64>(),
        sd_alg in prop::sample::select(SdAlg::ALL.to_vec()),
        decoys in 0usize..3,
    ) {
        let options = IssueOptions {
            sd_alg,
            decoys: Decoys { min: 0, max: decoys },
            typ: None,
        };
        let issued = issue(&tree, &options, &common::issuer(), &mut common::rng(seed)).unwrap();
        let held = HeldSdJwt::receive(&issued.compact(), &VerifyPolicy::default(), &pinned(), NOW)
            .map_err(|e| TestCaseError::fail(format!("holder refused: {e}")))?;
        prop_assert_eq!(Value::Object(held.claims().clone()), tree.to_value());
        prop_assert_eq!(held.disclosable_paths().len(), issued.disclosures.len());
        check_exact_subset(&held, &mask, &kb_policy(), &pinned())?;
    }
}

// ---- tampering ----

/// The fixtures' sample credential, received once.
fn held_sample() -> &'static HeldSdJwt {
    static HELD: OnceLock<HeldSdJwt> = OnceLock::new();
    HELD.get_or_init(|| {
        HeldSdJwt::receive(
            &common::sample_issued().compact(),
            &VerifyPolicy::default(),
            &pinned(),
            NOW,
        )
        .unwrap()
    })
}

/// Bound presentations of the sample credential (all disclosures, the entry set, none), each
/// with what it verifies to: made once, tampered with by every case.
fn bound(which: usize) -> &'static (String, Map<String, Value>) {
    static BOUND: OnceLock<Vec<(String, Map<String, Value>)>> = OnceLock::new();
    let all = BOUND.get_or_init(|| {
        let held = held_sample();
        let selections = [
            held.disclosable_paths(),
            vec![ClaimPath::key("given_name"), ClaimPath::key("organization")],
            Vec::new(),
        ];
        selections
            .iter()
            .map(|selection| {
                let presentation = held
                    .present(
                        selection,
                        Some((&common::kb_request(NOW), &common::holder())),
                    )
                    .unwrap();
                let payload = verify(&presentation, &kb_policy(), &pinned(), NOW)
                    .unwrap()
                    .payload;
                (presentation, payload)
            })
            .collect()
    });
    &all[which % all.len()]
}

/// A gate's memos, warm: every genuine presentation of [`bound`] has been verified through them,
/// so its issuer signature and holder key are remembered when the tampered copies arrive.
fn warm_memos() -> VerifyMemos<'static> {
    static MEMOS: OnceLock<(SignatureCache, HolderKeyCache)> = OnceLock::new();
    let (signatures, holder_keys) = MEMOS.get_or_init(|| {
        let memos = (SignatureCache::new(64), HolderKeyCache::new(64));
        for which in 0..3 {
            let (presentation, payload) = bound(which);
            let memo = VerifyMemos {
                holder_keys: &memos.1,
                issuer_signatures: &memos.0,
            };
            let verified = verify_using(presentation, &kb_policy(), &pinned(), memo, NOW).unwrap();
            assert_eq!(&verified.payload, payload);
        }
        assert_eq!(memos.0.len(), 1, "one credential, one issuer signature");
        memos
    });
    VerifyMemos {
        holder_keys,
        issuer_signatures: signatures,
    }
}

/// `verify` and `verify_using` with warm memos give the same answer for `presentation`: the same
/// payload, key binding and key, or the same error.
fn same_with_memos(presentation: &str, policy: &VerifyPolicy) -> Result<(), TestCaseError> {
    let plain = verify(presentation, policy, &pinned(), NOW);
    let memo = verify_using(presentation, policy, &pinned(), warm_memos(), NOW);
    match (plain, memo) {
        (Ok(a), Ok(b)) => {
            prop_assert_eq!(a.payload, b.payload);
            prop_assert_eq!(a.key_binding, b.key_binding);
            prop_assert_eq!(a.issuer_key, b.issuer_key);
            prop_assert_eq!(a.holder_key, b.holder_key);
        }
        (Err(a), Err(b)) => prop_assert_eq!(a, b),
        (a, b) => prop_assert!(
            false,
            "verify: {:?}, with memos: {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    Ok(())
}

/// Characters a tamperer would try: the base64url alphabet, the separators, whitespace, JSON
/// punctuation and non-ASCII.
fn replacement() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(
            "AZaz09-_~. \t\n\r{}[]\":,=+/\\é\u{0}\u{feff}"
                .chars()
                .collect::<Vec<_>>()
        ),
        any::<char>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn replacing_any_character_never_changes_what_is_accepted(
        which in 0usize..3,
        position in any::<prop::sample::Index>(),
        with in replacement(),
        policy_has_kb in any::<bool>(),
    ) {
        let (presentation, original) = bound(which);
        let chars: Vec<char> = presentation.chars().collect();
        let at = position.index(chars.len());
        prop_assume!(chars[at] != with);
        let mut tampered = chars.clone();
        tampered[at] = with;
        let tampered: String = tampered.into_iter().collect();
        let policy = if policy_has_kb { kb_policy() } else { VerifyPolicy::default() };
        if let Ok(v) = verify(&tampered, &policy, &pinned(), NOW) {
            prop_assert_eq!(&v.payload, original, "accepted other claims after changing #{}", at);
        }
        same_with_memos(&tampered, &policy)?;
    }

    #[test]
    fn flipping_any_bits_never_changes_what_is_accepted(
        which in 0usize..3,
        position in any::<prop::sample::Index>(),
        bits in 1u8..,
    ) {
        let (presentation, original) = bound(which);
        let mut bytes = presentation.clone().into_bytes();
        let at = position.index(bytes.len());
        bytes[at] ^= bits;
        let tampered = String::from_utf8_lossy(&bytes);
        if let Ok(v) = verify(&tampered, &kb_policy(), &pinned(), NOW) {
            prop_assert_eq!(&v.payload, original, "accepted other claims after flipping #{}", at);
        }
        same_with_memos(&tampered, &kb_policy())?;
    }

    #[test]
    fn deleting_or_duplicating_a_span_never_changes_what_is_accepted(
        which in 0usize..3,
        start in any::<prop::sample::Index>(),
        len in 1usize..40,
        duplicate in any::<bool>(),
    ) {
        let (presentation, original) = bound(which);
        let start = start.index(presentation.len());
        let end = (start + len).min(presentation.len());
        let span = &presentation[start..end];
        let tampered = if duplicate {
            format!("{}{span}{}", &presentation[..end], &presentation[end..])
        } else {
            format!("{}{}", &presentation[..start], &presentation[end..])
        };
        if let Ok(v) = verify(&tampered, &kb_policy(), &pinned(), NOW) {
            prop_assert_eq!(&v.payload, original);
        }
        same_with_memos(&tampered, &kb_policy())?;
    }
}

// ---- no input panics ----

/// One field of an SD-JWT-like string: base64url of JSON or bytes, or junk.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}".prop_map(|s| b64::encode(format!("[\"s\",\"n\",\"{s}\"]"))),
        "[ -~]{0,40}".prop_map(|s| b64::encode(format!("{{\"alg\":\"EdDSA\",\"x\":\"{s}\"}}"))),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(b64::encode),
        "[A-Za-z0-9_=+/{}\\[\\]\":,.~-]{0,16}",
        any::<String>(),
    ]
}

/// A `.`/`~`-separated sequence of fields, sometimes wrapped in JSON serialization members.
fn sd_jwt_like() -> impl Strategy<Value = String> {
    let compact = prop::collection::vec((field(), prop::sample::select(vec!['.', '~'])), 0..10)
        .prop_map(|parts| {
            parts.into_iter().fold(String::new(), |mut s, (f, sep)| {
                s.push_str(&f);
                s.push(sep);
                s
            })
        });
    prop_oneof![
        compact,
        (field(), field(), field(), prop::collection::vec(field(), 0..3), field()).prop_map(
            |(p, pl, s, d, kb)| json!({
                "protected": p, "payload": pl, "signature": s,
                "header": { "disclosures": d, "kb_jwt": kb }
            })
            .to_string()
        ),
        (field(), prop::collection::vec(field(), 0..3)).prop_map(|(pl, sigs)| json!({
            "payload": pl,
            "signatures": sigs.iter().map(|s| json!({ "protected": s, "signature": s })).collect::<Vec<_>>(),
        })
        .to_string()),
        any::<String>(),
    ]
}

/// A real presentation with a random suffix spliced in at a random place.
fn near_valid() -> impl Strategy<Value = String> {
    (0usize..3, any::<prop::sample::Index>(), sd_jwt_like()).prop_map(|(which, at, junk)| {
        let (presentation, _) = bound(which);
        let mut at = at.index(presentation.len());
        while !presentation.is_char_boundary(at) {
            at -= 1;
        }
        format!("{}{junk}{}", &presentation[..at], &presentation[at..])
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn verify_and_receive_never_panic(input in prop_oneof![sd_jwt_like(), near_valid()]) {
        let _ = verify(&input, &kb_policy(), &pinned(), NOW);
        let _ = verify(&input, &VerifyPolicy::default(), &PinnedKeys::new(), NOW);
        let _ = HeldSdJwt::receive(&input, &VerifyPolicy::default(), &pinned(), NOW);
    }

    #[test]
    fn component_parsers_never_panic(input in prop_oneof![field(), sd_jwt_like()], depth in 0usize..40) {
        let _ = Disclosure::parse(&input, depth);
        let _ = CompactJws::parse(&input, depth);
        if let Ok(path) = ClaimPath::parse(&input) {
            // Slash-form text round-trips when no member name looks like an index or `*`.
            let text = path.to_string();
            prop_assert_eq!(ClaimPath::parse(&text).map(|p| p.to_string()), Ok(text));
        }
        if let Ok(value) = serde_json::from_str::<Value>(&input) {
            let _ = ClaimPath::from_pointer(&value);
        }
    }

    #[test]
    fn disclosures_of_any_json_parse_or_refuse_without_panicking(
        salt in prop_oneof![Just(json!("s")), Just(json!(1)), Just(json!(null))],
        name in prop_oneof![Just(None), Just(Some(json!("n"))), Just(Some(json!([])))],
        value in "[ -~]{0,20}",
        extra in 0usize..3,
    ) {
        let mut items = vec![salt];
        items.extend(name);
        items.push(json!(value));
        items.extend(std::iter::repeat_n(json!(0), extra));
        let text = b64::encode(Value::Array(items.clone()).to_string());
        let parsed = Disclosure::parse(&text, 8);
        let well_formed = items[0].is_string()
            && match items.len() {
                2 => true,
                3 => items[1].is_string(),
                _ => false,
            };
        prop_assert_eq!(parsed.is_ok(), well_formed);
        if let Ok(d) = parsed {
            prop_assert_eq!(d.as_str(), text.as_str());
            prop_assert_eq!(d.digest(SdAlg::Sha256), SdAlg::Sha256.digest_b64(text.as_bytes()));
        }
    }
}
