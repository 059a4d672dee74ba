//! The sd-jwt-python testcases (testdata/vectors/sd-jwt/sd-jwt-python-testcases), run end to end
//! through govid: issue `user_claims` (`!sd` tags on keys make disclosable members, on sequence
//! elements disclosable elements), have the holder disclose what `holder_disclosed_claims`
//! selects under sd-jwt-python's own semantics, bind with `key_binding`, serialize as compact or
//! JWS JSON (flattened or general), verify, and compare with `expect_verified_user_claims`.
//!
//! Like sd-jwt-python's `generate.py`, the issuer adds `iss`, `iat` and `exp` (from settings.yml)
//! as plain claims and `cnf` when key binding is used; like its `test_e2e_testcases.py`, the
//! expected payload is `expect_verified_user_claims` plus `iss` (and `cnf` with key binding).
//! `iat` and `exp` are checked against settings.yml and then set aside. No decoys (the testcases
//! ask for none), so runs are reproducible.
//!
//! sd-jwt-python's holder selection (holder.py `_select_disclosures`): in an object, a
//! disclosable member is disclosed when its entry is truthy (so `{}` and `False` are not, a
//! non-empty object is), and the walk goes on into its value with that entry, `True` counting
//! as `{}`/`[]`: `True` on a node with disclosable children discloses the node alone. In an
//! array, a disclosable element is disclosed unless its entry is `False`/`None`/missing.
//! govid's `ClaimPath`s disclose a path's ancestors and everything below it; the test maps each
//! selection to paths and checks the presented disclosures are exactly the python selection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use govid_core::b64;
use govid_core::jose::{sign_compact, Signer, SoftwareSigner, WithKeyId};
use govid_core::sdjwt::{
    issue, verify, ClaimNode, ClaimPath, Decoys, HeldSdJwt, IssueOptions, KbExpectation, KbRequest,
    PathSegment, SdAlg, VerifyPolicy,
};
use govid_core::trust::PinnedKeys;
use serde_json::{json, Map, Value};
use serde_norway::Value as Yaml;

const DIR: &str = "vectors/sd-jwt/sd-jwt-python-testcases";

/// Testcases this suite cannot run, each with the reason. Must match exactly: a testcase that
/// starts passing, or a new one that cannot run, fails the suite until this list is updated.
const NOT_COVERED: &[(&str, &str)] = &[];

fn read_yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("bad YAML in {}: {e}", path.display()))
}

/// A YAML value without `!sd` tags as JSON.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().unwrap())
            }
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (key_text(k).to_owned(), to_json(v)))
                .collect(),
        ),
        Yaml::Tagged(t) => panic!("unexpected tag {} outside user_claims", t.tag),
    }
}

fn key_text(key: &Yaml) -> &str {
    match key {
        Yaml::String(s) => s,
        other => panic!("claim names must be strings: {other:?}"),
    }
}

/// `Some(inner)` for a value tagged `!sd`.
fn sd_tagged(yaml: &Yaml) -> Option<&Yaml> {
    match yaml {
        Yaml::Tagged(t) if t.tag == "sd" => Some(&t.value),
        Yaml::Tagged(t) => panic!("unknown tag {}", t.tag),
        _ => None,
    }
}

/// `user_claims` as a claim tree: `!sd` on a key makes a disclosable member, on a sequence
/// element a disclosable element, at any depth.
fn claim_node(yaml: &Yaml) -> ClaimNode {
    match yaml {
        Yaml::Mapping(map) => map.iter().fold(ClaimNode::object(), |node, (k, v)| {
            assert!(sd_tagged(v).is_none(), "`!sd` on an object member's value");
            match sd_tagged(k) {
                Some(name) => node.sd(key_text(name), claim_node(v)),
                None => node.plain(key_text(k), claim_node(v)),
            }
        }),
        Yaml::Sequence(items) => {
            items
                .iter()
                .fold(ClaimNode::array(), |node, item| match sd_tagged(item) {
                    Some(inner) => node.push_sd(claim_node(inner)),
                    None => node.push_plain(claim_node(item)),
                })
        }
        Yaml::Tagged(_) => panic!("`!sd` in an unexpected place"),
        other => ClaimNode::Leaf(to_json(other)),
    }
}

type Location = Vec<PathSegment>;

/// Python truthiness.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `x in (False, None)` (which holds for `0` too, as `0 == False`).
fn false_or_none(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false))
        || matches!(v, Value::Number(n) if n.as_f64() == Some(0.0))
}

/// sd-jwt-python's `_select_disclosures`, over the claim tree: the locations of the
/// disclosures it presents.
fn python_selection(node: &ClaimNode, spec: &Value, at: &mut Location, out: &mut Vec<Location>) {
    match node {
        ClaimNode::Leaf(_) => {}
        ClaimNode::Object(members) => {
            let empty = Map::new();
            let spec = match spec {
                Value::Null => return,
                Value::Bool(true) => &empty,
                Value::Object(map) => map,
                other => panic!("python raises ValueError: object disclosed with {other}"),
            };
            for member in members {
                let entry = spec.get(&member.name).unwrap_or(&Value::Null);
                at.push(PathSegment::Key(member.name.clone()));
                if member.disclosable && truthy(entry) {
                    out.push(at.clone());
                }
                python_selection(&member.node, entry, at, out);
                at.pop();
            }
        }
        ClaimNode::Array(elements) => {
            let specs: &[Value] = match spec {
                Value::Null => return,
                Value::Bool(true) => &[],
                Value::Array(items) => items,
                other => panic!("python raises ValueError: array disclosed with {other}"),
            };
            for (position, element) in elements.iter().enumerate() {
                let entry = specs.get(position).unwrap_or(&Value::Null);
                at.push(PathSegment::Index(position));
                if !element.disclosable {
                    python_selection(&element.node, entry, at, out);
                } else if !false_or_none(entry) {
                    out.push(at.clone());
                    let entry = match (&element.node, entry) {
                        (ClaimNode::Object(_), Value::Bool(true)) => json!({}),
                        (ClaimNode::Array(_), Value::Bool(true)) => json!([]),
                        (_, other) => other.clone(),
                    };
                    python_selection(&element.node, &entry, at, out);
                }
                at.pop();
            }
        }
    }
}

/// Every disclosable location of the tree.
fn disclosable(node: &ClaimNode, at: &mut Location, out: &mut Vec<Location>) {
    match node {
        ClaimNode::Leaf(_) => {}
        ClaimNode::Object(members) => {
            for m in members {
                at.push(PathSegment::Key(m.name.clone()));
                if m.disclosable {
                    out.push(at.clone());
                }
                disclosable(&m.node, at, out);
                at.pop();
            }
        }
        ClaimNode::Array(elements) => {
            for (i, e) in elements.iter().enumerate() {
                at.push(PathSegment::Index(i));
                if e.disclosable {
                    out.push(at.clone());
                }
                disclosable(&e.node, at, out);
                at.pop();
            }
        }
    }
}

/// The `ClaimPath`s that make govid present `selected`: each selected location all of whose
/// disclosable descendants are selected too (its selected ancestors come along by themselves).
fn to_paths(selected: &[Location], all: &[Location]) -> Vec<ClaimPath> {
    selected
        .iter()
        .filter(|s| {
            all.iter()
                .filter(|d| d.len() > s.len() && d.starts_with(s))
                .all(|d| selected.contains(d))
        })
        .map(|s| ClaimPath(s.clone()))
        .collect()
}

struct Settings {
    issuer: String,
    verifier: String,
    nonce: String,
    iat: u64,
    exp: u64,
    issuer_keys: Vec<Value>,
    holder_key: Value,
}

fn settings(case: &Yaml) -> Settings {
    let base = to_json(&read_yaml(&common::testdata(&format!(
        "{DIR}/settings.yml"
    ))));
    let mut keys = base["key_settings"].clone();
    let overrides = case
        .get("settings_override")
        .map(to_json)
        .unwrap_or(Value::Null);
    // json_serialization_general overrides `key_settings`; json_serialization_flattened puts
    // `issuer_keys` at the top level of its override (the same key, with a `kid`).
    if let Some(k) = overrides.get("key_settings") {
        keys = k.clone();
    }
    if let Some(k) = overrides.get("issuer_keys") {
        keys["issuer_keys"] = k.clone();
    }
    Settings {
        issuer: base["identifiers"]["issuer"].as_str().unwrap().to_owned(),
        verifier: base["identifiers"]["verifier"].as_str().unwrap().to_owned(),
        nonce: base["key_binding_nonce"].as_str().unwrap().to_owned(),
        iat: base["iat"].as_u64().unwrap(),
        exp: base["exp"].as_u64().unwrap(),
        issuer_keys: keys["issuer_keys"].as_array().unwrap().clone(),
        holder_key: keys["holder_key"].clone(),
    }
}

/// A private JWK from settings, with its `kid` if it has one.
fn signer(jwk: &Value) -> (SoftwareSigner, Option<String>) {
    let key = SoftwareSigner::from_private_jwk(jwk).unwrap_or_else(|e| panic!("{jwk}: {e}"));
    (key, jwk["kid"].as_str().map(str::to_owned))
}

fn run_case(name: &str) {
    let case = read_yaml(&common::testdata(&format!(
        "{DIR}/{name}/specification.yml"
    )));
    let s = settings(&case);
    let key_binding = case.get("key_binding").and_then(Yaml::as_bool) == Some(true);
    let json_form = case.get("serialization_format").and_then(Yaml::as_str) == Some("json");
    let extra_header = case
        .get("extra_header_parameters")
        .map(to_json)
        .unwrap_or_else(|| json!({}));
    let (holder, _) = signer(&s.holder_key);
    let issuer_keys: Vec<(SoftwareSigner, Option<String>)> =
        s.issuer_keys.iter().map(signer).collect();
    let (issuer, issuer_kid) = &issuer_keys[0];

    // Issuer.
    let user_claims = claim_node(&case["user_claims"]);
    let ClaimNode::Object(user_members) = &user_claims else {
        panic!("user_claims is not a mapping");
    };
    let mut root = ClaimNode::object()
        .plain("iss", s.issuer.as_str())
        .plain("iat", s.iat)
        .plain("exp", s.exp);
    if let ClaimNode::Object(members) = &mut root {
        members.extend(user_members.iter().cloned());
    }
    if key_binding {
        root = root.plain("cnf", json!({ "jwk": holder.public_key().to_jwk() }));
    }
    let options = IssueOptions {
        sd_alg: SdAlg::Sha256,
        decoys: Decoys::NONE,
        typ: None,
    };
    let mut issued = match issuer_kid {
        Some(kid) => {
            let signer = WithKeyId {
                signer: issuer.clone(),
                kid: kid.clone(),
            };
            issue(&root, &options, &signer, &mut common::rng(0))
        }
        None => issue(&root, &options, issuer, &mut common::rng(0)),
    }
    .unwrap_or_else(|e| panic!("{name}: issue: {e}"));
    if let Value::Object(extra) = &extra_header {
        if !extra.is_empty() {
            // header_mod: the same payload, signed under the extra header parameters.
            let payload_b64 = issued.jwt.split('.').nth(1).unwrap();
            let payload: Map<String, Value> =
                serde_json::from_slice(&b64::decode(payload_b64).unwrap()).unwrap();
            issued.jwt = sign_compact(extra.clone(), &payload, issuer).unwrap();
        }
    }

    // Holder.
    let mut trusted = PinnedKeys::new();
    for (key, kid) in &issuer_keys {
        trusted.add(
            key.public_key(),
            Some(s.issuer.clone()),
            kid.iter().cloned().collect(),
        );
    }
    let now = s.iat + 3600;
    let held = HeldSdJwt::receive(&issued.compact(), &VerifyPolicy::default(), &trusted, now)
        .unwrap_or_else(|e| panic!("{name}: holder refused the issued SD-JWT: {e}"));
    let spec = to_json(&case["holder_disclosed_claims"]);
    let mut selected = Vec::new();
    python_selection(&root, &spec, &mut Vec::new(), &mut selected);
    let mut all = Vec::new();
    disclosable(&root, &mut Vec::new(), &mut all);
    let paths = to_paths(&selected, &all);
    let request = KbRequest {
        aud: s.verifier.clone(),
        nonce: s.nonce.clone(),
        iat: now,
    };
    let presentation = held
        .present(
            &paths,
            key_binding.then_some((&request, &holder as &dyn Signer)),
        )
        .unwrap_or_else(|e| panic!("{name}: present: {e}"));

    // Exactly the python selection was presented.
    let issued_texts: Vec<String> = issued
        .disclosures
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    let issued_paths = held.disclosable_paths();
    let (_, presented, _) = common::split_presentation(&presentation);
    let presented: BTreeSet<String> = presented
        .iter()
        .map(|d| {
            let i = issued_texts.iter().position(|t| t == d).unwrap();
            issued_paths[i].to_string()
        })
        .collect();
    let wanted: BTreeSet<String> = selected
        .iter()
        .map(|l| ClaimPath(l.clone()).to_string())
        .collect();
    assert_eq!(
        presented, wanted,
        "{name}: govid's paths {paths:?} cannot express the python selection"
    );

    // Serialization.
    let wire = if !json_form {
        presentation.clone()
    } else if name.contains("general") {
        let more: Vec<Value> = issuer_keys[1..]
            .iter()
            .map(|(key, kid)| {
                let mut header = json!({ "alg": key.algorithm().as_str() });
                if let Some(kid) = kid {
                    header["kid"] = json!(kid);
                }
                let protected = b64::encode(header.to_string());
                let payload = issued.jwt.split('.').nth(1).unwrap();
                let signature = key
                    .sign(format!("{protected}.{payload}").as_bytes())
                    .unwrap();
                json!({ "protected": protected, "signature": b64::encode(signature) })
            })
            .collect();
        assert!(
            !more.is_empty(),
            "{name}: a general serialization with one signature"
        );
        common::general_json(&presentation, &more).to_string()
    } else {
        common::flattened_json(&presentation).to_string()
    };

    // Verifier.
    let policy = VerifyPolicy {
        key_binding: key_binding.then(|| KbExpectation {
            aud: s.verifier.clone(),
            nonce: Some(s.nonce.clone()),
        }),
        ..VerifyPolicy::default()
    };
    let verified = verify(&wire, &policy, &trusted, now)
        .unwrap_or_else(|e| panic!("{name}: rejected ({}): {e}", e.rule()));
    assert_eq!(verified.key_binding.is_some(), key_binding, "{name}");
    for (member, value) in extra_header.as_object().unwrap() {
        assert_eq!(
            verified.header.raw.get(member),
            Some(value),
            "{name}: header {member}"
        );
    }
    let mut payload = verified.payload;
    assert_eq!(payload.remove("iat"), Some(json!(s.iat)), "{name}");
    assert_eq!(payload.remove("exp"), Some(json!(s.exp)), "{name}");
    let mut expected = to_json(&case["expect_verified_user_claims"]);
    expected["iss"] = json!(s.issuer);
    if key_binding {
        expected["cnf"] = json!({ "jwk": holder.public_key().to_jwk() });
    }
    assert_eq!(
        Value::Object(payload),
        expected,
        "{name}: processed payload"
    );

    if json_form && issuer_keys.len() > 1 {
        // Only the first signature of a general serialization is verified (RFC 9901 §8.1): a
        // verifier that trusts only the second key refuses.
        let mut second_only = PinnedKeys::new();
        let (key, kid) = &issuer_keys[1];
        second_only.add(key.public_key(), None, kid.iter().cloned().collect());
        assert!(verify(&wire, &policy, &second_only, now).is_err(), "{name}");
    }
}

#[test]
fn every_sd_jwt_python_testcase_verifies_to_its_expected_claims() {
    let dir = common::testdata(DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("specification.yml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 17, "testcases missing: {names:?}");
    for (skipped, _) in NOT_COVERED {
        assert!(
            names.iter().any(|n| n == skipped),
            "{skipped} is no testcase"
        );
    }
    let mut failed = Vec::new();
    for name in &names {
        let result = std::panic::catch_unwind(|| run_case(name));
        if result.is_err() {
            failed.push(name.as_str());
        }
    }
    let not_covered: Vec<&str> = NOT_COVERED.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        failed, not_covered,
        "testcases failing (left) differ from the NOT_COVERED list (right)"
    );
}
