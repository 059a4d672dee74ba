//! Size limits, the compact and JWS JSON serialization framing, and the positive edge cases.

use govid_core::jose::{Algorithm, Signer};
use govid_core::json::JsonError;
use govid_core::sdjwt::{
    issue, ClaimNode, ClaimPath, Decoys, DisclosureError, HeldSdJwt, IssueOptions, Limits, SdAlg,
    VerifyError, VerifyPolicy,
};
use govid_core::trust::PinnedKeys;
use serde_json::{json, Value};

use super::{accepts, check, disclosure, hand_built, pinned, plain_policy, rejects, vc_policy};
use crate::common::{self, ISS, NOW};

fn with_limits(limits: Limits) -> VerifyPolicy {
    VerifyPolicy {
        limits,
        ..plain_policy()
    }
}

fn bound_entry() -> String {
    let held = HeldSdJwt::receive(
        &common::sample_issued().compact(),
        &plain_policy(),
        &pinned(),
        NOW,
    )
    .unwrap();
    held.present(
        &[ClaimPath::key("given_name"), ClaimPath::key("organization")],
        Some((&common::kb_request(NOW), &common::holder())),
    )
    .unwrap()
}

#[test]
fn a_presentation_over_the_size_limit_is_refused() {
    let issued = common::sample_issued().compact();
    let max = issued.len() - 1;
    rejects(
        check(
            &issued,
            &with_limits(Limits {
                max_presentation_bytes: max,
                ..Limits::default()
            }),
        ),
        VerifyError::TooLarge { max },
        "too_large",
    );
    accepts(check(
        &issued,
        &with_limits(Limits {
            max_presentation_bytes: issued.len(),
            ..Limits::default()
        }),
    ));
    // The default 64 KiB, with a huge (otherwise well-formed) disclosure.
    let big = format!("{issued}{}~", "A".repeat(64 * 1024));
    rejects(
        check(&big, &plain_policy()),
        VerifyError::TooLarge { max: 64 * 1024 },
        "too_large",
    );
}

#[test]
fn more_disclosures_than_the_limit_are_refused() {
    let issued = common::sample_issued();
    let n = issued.disclosures.len();
    assert_eq!(n, 8);
    rejects(
        check(
            &issued.compact(),
            &with_limits(Limits {
                max_disclosures: n - 1,
                ..Limits::default()
            }),
        ),
        VerifyError::TooManyDisclosures { max: n - 1 },
        "too_many_disclosures",
    );
    accepts(check(
        &issued.compact(),
        &with_limits(Limits {
            max_disclosures: n,
            ..Limits::default()
        }),
    ));
    // Counted before anything is parsed: 300 empty-looking parts.
    let many = format!("{}~{}", issued.jwt, "QQ~".repeat(300));
    rejects(
        check(&many, &plain_policy()),
        VerifyError::TooManyDisclosures { max: 256 },
        "too_many_disclosures",
    );
}

/// `{"a":{"a":…{"a":1}…}}`, `depth` objects deep.
fn nested_object(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }))
}

#[test]
fn a_payload_nested_too_deep_is_refused() {
    let presentation = hand_built(json!({ "iss": ISS, "deep": nested_object(40) }), &[]);
    rejects(
        check(&presentation, &plain_policy()),
        VerifyError::IssuerPayload(JsonError::TooDeep { max: 32 }),
        "json_too_deep",
    );
    let presentation = hand_built(json!({ "iss": ISS, "deep": nested_object(5) }), &[]);
    let limits = |max_json_depth| {
        with_limits(Limits {
            max_json_depth,
            ..Limits::default()
        })
    };
    rejects(
        check(&presentation, &limits(5)),
        VerifyError::IssuerPayload(JsonError::TooDeep { max: 5 }),
        "json_too_deep",
    );
    accepts(check(&presentation, &limits(6)));
}

#[test]
fn disclosures_nested_too_deep_are_refused() {
    // A chain of ten disclosures, each one object deeper than the last; each is shallow alone.
    let mut texts = Vec::new();
    let (mut d, mut digest) = disclosure(r#"["salt-0","a",1]"#);
    texts.push(d.clone());
    for i in 1..10 {
        (d, digest) = disclosure(&format!(r#"["salt-{i}","a",{{"_sd":["{digest}"]}}]"#));
        texts.push(d.clone());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let presentation = hand_built(json!({ "iss": ISS, "_sd": [digest] }), &refs);
    let limits = |max_json_depth| {
        with_limits(Limits {
            max_json_depth,
            ..Limits::default()
        })
    };
    rejects(
        check(&presentation, &limits(6)),
        VerifyError::TooDeep { max: 6 },
        "json_too_deep",
    );
    let v = accepts(check(&presentation, &limits(10)));
    assert_eq!(v.payload["a"], nested_object(9));
    // A single disclosure deeper than the limit fails to parse.
    let (deep, dd) = disclosure(&format!(r#"["salt-x","deep",{}]"#, nested_object(40)));
    rejects(
        check(
            &hand_built(json!({ "_sd": [dd] }), &[&deep]),
            &plain_policy(),
        ),
        VerifyError::DisclosureMalformed {
            index: 0,
            error: DisclosureError::NotAnArray,
        },
        "disclosure_malformed",
    );
}

#[test]
fn malformed_compact_framing_is_refused() {
    let issued = common::sample_issued();
    let compact = issued.compact();
    let d0 = issued.disclosures[0].as_str();
    let cases = [
        (issued.jwt.clone(), "no `~` separator"),
        (String::new(), "no `~` separator"),
        ("   ".to_owned(), "no `~` separator"),
        ("~".to_owned(), "empty part"),
        (format!("~{compact}"), "empty part"),
        (format!("{}~~{d0}~", issued.jwt), "empty part"),
        (format!("{compact}~"), "empty part"),
        (
            format!("{}~{d0}!~", issued.jwt),
            "character outside base64url",
        ),
        (
            format!("{}~{d0}=~", issued.jwt),
            "character outside base64url",
        ),
        (
            format!("{}~{d0} ~", issued.jwt),
            "character outside base64url",
        ),
        (
            format!("{}~{d0}\n~", issued.jwt),
            "character outside base64url",
        ),
        (
            format!("{}~{d0}é~", issued.jwt),
            "character outside base64url",
        ),
        (
            format!("{}~{d0}+/~", issued.jwt),
            "character outside base64url",
        ),
        (format!("{compact}\0"), "character outside base64url"),
    ];
    for (presentation, what) in cases {
        rejects(
            check(&presentation, &plain_policy()),
            VerifyError::Malformed(what),
            "malformed",
        );
    }
}

#[test]
fn json_serializations_verify_like_the_compact_form() {
    let compact = bound_entry();
    let expected = accepts(check(&compact, &vc_policy())).payload;
    let flat = common::flattened_json(&compact);
    let general = common::general_json(&compact, &[]);
    for form in [flat, general] {
        let v = accepts(check(&form.to_string(), &vc_policy()));
        assert_eq!(v.payload, expected);
        assert!(v.key_binding.is_some());
        // Pretty-printed and surrounded by whitespace, too.
        let pretty = format!("\n{}\n", serde_json::to_string_pretty(&form).unwrap());
        accepts(check(&pretty, &vc_policy()));
    }
}

#[test]
fn json_serializations_with_wrong_members_are_refused() {
    let compact = bound_entry();
    let flat = common::flattened_json(&compact);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = flat.clone();
        f(&mut v);
        v.to_string()
    };
    let cases = [
        (
            edit(&|v| drop(v.as_object_mut().unwrap().remove("payload"))),
            "JSON serialization lacks a member",
        ),
        (
            edit(&|v| drop(v.as_object_mut().unwrap().remove("protected"))),
            "JSON serialization lacks a member",
        ),
        (
            edit(&|v| drop(v.as_object_mut().unwrap().remove("signature"))),
            "JSON serialization lacks a member",
        ),
        (
            edit(&|v| v["payload"] = json!(5)),
            "JSON serialization lacks a member",
        ),
        (
            edit(&|v| v["signature"] = json!(null)),
            "JSON serialization lacks a member",
        ),
        (
            edit(&|v| v["header"]["disclosures"] = json!("abc")),
            "`disclosures` is not an array",
        ),
        (
            edit(&|v| v["header"]["disclosures"] = json!([1])),
            "a disclosure is not a string",
        ),
        (
            edit(&|v| v["header"]["kb_jwt"] = json!(["a.b.c"])),
            "`kb_jwt` is not a string",
        ),
        (
            edit(&|v| v["signatures"] = json!({})),
            "`signatures` is not an array",
        ),
        (
            edit(&|v| v["signatures"] = json!([])),
            "JSON serialization has no signature",
        ),
        (
            edit(&|v| v["signatures"] = json!(["x"])),
            "JSON serialization has no signature",
        ),
        (
            "{\"payload\":".to_owned(),
            "JSON serialization is not a JSON object",
        ),
        ("{}".to_owned(), "JSON serialization lacks a member"),
        (
            format!("{{\"a\":{}}}", nested_object(40)),
            "JSON serialization is not a JSON object",
        ),
    ];
    for (presentation, what) in cases {
        rejects(
            check(&presentation, &vc_policy()),
            VerifyError::Malformed(what),
            "malformed",
        );
    }
    // A general serialization whose first signature lacks a member.
    let mut general = common::general_json(&compact, &[]);
    general["signatures"][0]
        .as_object_mut()
        .unwrap()
        .remove("protected");
    rejects(
        check(&general.to_string(), &vc_policy()),
        VerifyError::Malformed("JSON serialization lacks a member"),
        "malformed",
    );
}

#[test]
fn regression_a_json_serialization_header_that_is_no_object_was_read_as_empty() {
    // Before the fix, a `header` of another JSON type was ignored: the presentation verified as
    // one with no disclosures (and, without a required key binding, no KB-JWT).
    let compact = bound_entry();
    for header in [json!("x"), json!([]), json!(null), json!(1)] {
        let mut flat = common::flattened_json(&compact);
        flat["header"] = header;
        rejects(
            check(&flat.to_string(), &plain_policy()),
            VerifyError::Malformed("`header` is not an object"),
            "malformed",
        );
    }
    // Absent is fine: an SD-JWT with no disclosures and no key binding.
    let mut flat = common::flattened_json(&compact);
    flat.as_object_mut().unwrap().remove("header");
    let v = accepts(check(&flat.to_string(), &plain_policy()));
    assert_eq!(v.disclosed, 0);
}

// ---- positive edge cases ----

#[test]
fn an_empty_sd_array_is_accepted_and_removed() {
    let v = accepts(check(
        &hand_built(
            json!({ "iss": ISS, "_sd": [], "o": { "_sd": [], "x": 1 } }),
            &[],
        ),
        &plain_policy(),
    ));
    assert_eq!(
        Value::Object(v.payload),
        json!({ "iss": ISS, "o": { "x": 1 } })
    );
}

#[test]
fn sd_arrays_with_only_decoys_are_accepted() {
    let decoys: Vec<String> = (0..5)
        .map(|i| common::digest(&format!("decoy-{i}")))
        .collect();
    let v = accepts(check(
        &hand_built(
            json!({ "iss": ISS, "_sd": decoys, "l": [{ "...": common::digest("decoy-l") }, 2] }),
            &[],
        ),
        &plain_policy(),
    ));
    assert_eq!(Value::Object(v.payload), json!({ "iss": ISS, "l": [2] }));
    // An issued credential presented with none of its disclosures: decoys and hidden digests.
    let claims = ClaimNode::object()
        .plain("iss", ISS)
        .sd("given_name", "Amira")
        .sd("zones", ClaimNode::array().push_sd("A").push_plain("B"));
    let options = IssueOptions {
        decoys: Decoys { min: 3, max: 3 },
        ..common::vc_options()
    };
    let issued = common::issue_with(&claims, &options, 40);
    let v = accepts(check(&format!("{}~", issued.jwt), &plain_policy()));
    assert_eq!(Value::Object(v.payload), json!({ "iss": ISS }));
    assert_eq!(v.disclosed, 0);
}

#[test]
fn zero_disclosures_and_surrounding_whitespace_are_accepted() {
    let issued = common::sample_issued();
    let bare = format!("{}~", issued.jwt);
    let v = accepts(check(&bare, &plain_policy()));
    assert_eq!(v.disclosed, 0);
    assert!(v.payload.get("given_name").is_none());
    let full = accepts(check(&issued.compact(), &plain_policy())).payload;
    let bound = bound_entry();
    let bound_payload = accepts(check(&bound, &vc_policy())).payload;
    for ws in [" ", "\n", "\r\n", "\t ", " \n\t\r "] {
        let v = accepts(check(
            &format!("{ws}{}{ws}", issued.compact()),
            &plain_policy(),
        ));
        assert_eq!(v.payload, full);
        // The KB-JWT's sd_hash covers the trimmed text.
        let v = accepts(check(&format!("{ws}{bound}{ws}"), &vc_policy()));
        assert_eq!(v.payload, bound_payload);
    }
    // A holder receives a trimmed credential too.
    HeldSdJwt::receive(
        &format!("\n{}\n", issued.compact()),
        &plain_policy(),
        &pinned(),
        NOW,
    )
    .unwrap();
}

/// Issues the sample claims with `issuer`, `holder` and `sd_alg`, receives, presents everything
/// with key binding and verifies: the payload must be the whole claim tree.
fn round_trip(issuer: &dyn Signer, holder: &dyn Signer, sd_alg: SdAlg) {
    let claims = common::sample_claims(holder);
    let options = IssueOptions {
        sd_alg,
        ..common::vc_options()
    };
    let issued = issue(&claims, &options, issuer, &mut common::rng(50)).unwrap();
    let keys = PinnedKeys::single(issuer.public_key());
    let held = HeldSdJwt::receive(&issued.compact(), &plain_policy(), &keys, NOW).unwrap();
    let all = held.disclosable_paths();
    let presentation = held
        .present(&all, Some((&common::kb_request(NOW), holder)))
        .unwrap();
    let v = govid_core::sdjwt::verify(&presentation, &vc_policy(), &keys, NOW)
        .unwrap_or_else(|e| panic!("{sd_alg:?}: {e}"));
    assert_eq!(Value::Object(v.payload), claims.to_value(), "{sd_alg:?}");
    assert_eq!(v.disclosed, issued.disclosures.len());
    // sd_hash uses `_sd_alg` too: a sha-256 policy refuses the credential as a whole.
    let sha256_only = VerifyPolicy {
        sd_algs: vec![SdAlg::Sha256],
        ..vc_policy()
    };
    let expected = if sd_alg == SdAlg::Sha256 {
        None
    } else {
        Some(VerifyError::SdAlg)
    };
    assert_eq!(
        govid_core::sdjwt::verify(&presentation, &sha256_only, &keys, NOW).err(),
        expected
    );
}

#[test]
fn sha_384_and_sha_512_credentials_round_trip() {
    for sd_alg in SdAlg::ALL {
        round_trip(&common::issuer(), &common::holder(), sd_alg);
    }
}

#[test]
fn es256_issuers_and_holders_round_trip() {
    let p256_issuer = common::signer(Algorithm::ES256, 60);
    let p256_holder = common::signer(Algorithm::ES256, 61);
    round_trip(&p256_issuer, &p256_holder, SdAlg::Sha256);
    round_trip(&p256_issuer, &common::holder(), SdAlg::Sha384);
    round_trip(&common::issuer(), &p256_holder, SdAlg::Sha512);
}

#[test]
fn regression_json_serialization_members_with_separators_were_spliced_into_the_compact_form() {
    // Before the fix, a `~` inside a JSON member was copied into the compact form, so disclosures
    // hidden in `signature`, `kb_jwt` or one joined `disclosures` string were revealed although
    // the JSON structure (what a log or an auditor reads) showed none.
    let compact = bound_entry();
    let (_, disclosures, kb) = common::split_presentation(&compact);
    let flat = common::flattened_json(&compact);
    let joined = disclosures.join("~");
    let edits: [&dyn Fn(&mut Value); 6] = [
        &|v| {
            v["signature"] = json!(format!("{}~{joined}", v["signature"].as_str().unwrap()));
            v["header"]["disclosures"] = json!([]);
        },
        &|v| v["header"]["disclosures"] = json!([joined.clone()]),
        &|v| {
            v["header"]["disclosures"] = json!([]);
            v["header"]["kb_jwt"] = json!(format!("{joined}~{kb}"));
        },
        &|v| v["payload"] = json!(format!("{}.e30", v["payload"].as_str().unwrap())),
        &|v| v["protected"] = json!(format!("{}~", v["protected"].as_str().unwrap())),
        &|v| v["header"]["disclosures"][0] = json!(format!("{}.", disclosures[0])),
    ];
    for edit in edits {
        let mut v = flat.clone();
        edit(&mut v);
        rejects(
            check(&v.to_string(), &vc_policy()),
            VerifyError::Malformed("a JSON serialization member holds a separator"),
            "malformed",
        );
    }
    accepts(check(&flat.to_string(), &vc_policy()));
}
