//! SD-JWT VC claim rules (draft-ietf-oauth-sd-jwt-vc-18 §2.2.2) and the time claims `exp`, `nbf`
//! and `iat`, each at the exact edge of its leeway.

use govid_core::jose::Signer;
use govid_core::sdjwt::{ClaimNode, VerifyError, VerifyPolicy};
use govid_core::time::MAX_NUMERIC_DATE;
use govid_core::trust::PinnedKeys;
use serde_json::{json, Value};

use super::{accepts, check, disclosure, hand_built, plain_policy, rejects};
use crate::common::{self, ISS, NOW, VCT};

/// The claims an SD-JWT VC must not carry in a disclosure.
const VC_ALWAYS_VISIBLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

fn vc_no_kb() -> VerifyPolicy {
    VerifyPolicy {
        sd_jwt_vc: true,
        ..plain_policy()
    }
}

/// The SD-JWT VC metadata, each claim plain unless named in `disclosed`, plus one disclosable
/// claim.
fn vc_claims(disclosed: &str) -> ClaimNode {
    let holder = common::holder();
    let claims: [(&str, Value); 8] = [
        ("iss", json!(ISS)),
        ("nbf", json!(NOW - 10)),
        ("exp", json!(NOW + 10)),
        ("cnf", json!({ "jwk": holder.public_key().to_jwk() })),
        ("vct", json!(VCT)),
        ("vct#integrity", json!("sha256-9Jq4vH1bR9q0z0Wj2r0m7A")),
        ("aka_vcts", json!(["https://govid.example/vct/legacy"])),
        (
            "status",
            json!({ "status_list": { "idx": 7, "uri": "https://hr.ministry.example/s/1" } }),
        ),
    ];
    let mut node = ClaimNode::object();
    for (name, value) in claims {
        node = if name == disclosed {
            node.sd(name, value)
        } else {
            node.plain(name, value)
        };
    }
    node.sd("given_name", "Amira")
}

#[test]
fn sd_jwt_vc_requires_a_string_vct() {
    let without = ClaimNode::object()
        .plain("iss", ISS)
        .sd("given_name", "Amira");
    let issued = common::issue_with(&without, &common::vc_options(), 5);
    rejects(
        check(&issued.compact(), &vc_no_kb()),
        VerifyError::MissingClaim("vct".to_owned()),
        "missing_claim",
    );
    // Outside SD-JWT VC mode `vct` is not required.
    accepts(check(&issued.compact(), &plain_policy()));
    let numeric = ClaimNode::object().plain("iss", ISS).plain("vct", 1u64);
    rejects(
        check(
            &common::issue_with(&numeric, &common::vc_options(), 5).compact(),
            &vc_no_kb(),
        ),
        VerifyError::MissingClaim("vct".to_owned()),
        "missing_claim",
    );
    // Nor may the holder withhold it (a disclosable vct, not disclosed).
    let issued = common::issue_with(&vc_claims("vct"), &common::vc_options(), 5);
    rejects(
        check(&format!("{}~", issued.jwt), &vc_no_kb()),
        VerifyError::MissingClaim("vct".to_owned()),
        "missing_claim",
    );
}

#[test]
fn a_vct_the_policy_does_not_accept_is_refused() {
    let issued = common::issue_with(&vc_claims(""), &common::vc_options(), 7).compact();
    let only = |vcts: &[&str]| VerifyPolicy {
        accepted_vcts: Some(vcts.iter().map(|v| (*v).to_owned()).collect()),
        ..vc_no_kb()
    };
    accepts(check(&issued, &only(&["https://other.example/vct", VCT])));
    rejects(
        check(&issued, &only(&["https://other.example/vct"])),
        VerifyError::VctNotAccepted,
        "vct_not_accepted",
    );
    // Compared exactly: no prefix, case or trailing-slash matching.
    for near in [
        &VCT[..VCT.len() - 1],
        &VCT.to_uppercase(),
        &format!("{VCT}/"),
    ] {
        rejects(
            check(&issued, &only(&[near])),
            VerifyError::VctNotAccepted,
            "vct_not_accepted",
        );
    }
    // An empty list accepts nothing; `None` (the default) accepts any `vct`.
    rejects(
        check(&issued, &only(&[])),
        VerifyError::VctNotAccepted,
        "vct_not_accepted",
    );
    accepts(check(&issued, &vc_no_kb()));
    // Without SD-JWT VC mode, a missing `vct` is not one of the accepted ones either.
    let without = ClaimNode::object()
        .plain("iss", ISS)
        .sd("given_name", "Amira");
    let issued = common::issue_with(&without, &common::vc_options(), 7).compact();
    let plain_only = VerifyPolicy {
        accepted_vcts: Some(vec![VCT.to_owned()]),
        ..plain_policy()
    };
    rejects(
        check(&issued, &plain_only),
        VerifyError::VctNotAccepted,
        "vct_not_accepted",
    );
}

#[test]
fn sd_jwt_vc_claims_that_must_stay_visible_are_refused_when_disclosed() {
    for name in VC_ALWAYS_VISIBLE {
        let issued = common::issue_with(&vc_claims(name), &common::vc_options(), 6);
        let mut keys = PinnedKeys::new();
        keys.add(common::issuer().public_key(), None, Vec::new());
        let err =
            govid_core::sdjwt::verify(&issued.compact(), &vc_no_kb(), &keys, NOW).unwrap_err();
        assert_eq!(err, VerifyError::VcClaimDisclosed(name), "{name}");
        assert_eq!(err.rule(), "vc_claim_disclosed");
        // Plain SD-JWT has no such rule.
        accepts(check(&issued.compact(), &plain_policy()));
    }
    // The same names deeper in the payload are ordinary claims.
    let nested = ClaimNode::object().plain("iss", ISS).plain("vct", VCT).sd(
        "employer",
        ClaimNode::object().sd("iss", "x").sd("exp", 1u64),
    );
    accepts(check(
        &common::issue_with(&nested, &common::vc_options(), 6).compact(),
        &vc_no_kb(),
    ));
}

/// An SD-JWT whose only claims are `iss` and `time` (a plain claim).
fn with_time(name: &str, value: Value) -> String {
    let node = ClaimNode::object().plain("iss", ISS).plain(name, value);
    common::issue_with(&node, &common::vc_options(), 9).compact()
}

fn at(
    presentation: &str,
    leeway: u64,
    now: u64,
) -> Result<govid_core::sdjwt::Verified, VerifyError> {
    let policy = VerifyPolicy {
        leeway,
        ..plain_policy()
    };
    govid_core::sdjwt::verify(presentation, &policy, &super::pinned(), now)
}

#[test]
fn exp_is_refused_from_exp_plus_leeway_on() {
    let exp = NOW;
    let token = with_time("exp", json!(exp));
    for leeway in [0, 60] {
        accepts(at(&token, leeway, exp + leeway - 1));
        rejects(
            at(&token, leeway, exp + leeway),
            VerifyError::Expired,
            "expired",
        );
        rejects(
            at(&token, leeway, exp + leeway + 1),
            VerifyError::Expired,
            "expired",
        );
    }
    rejects(at(&token, 0, u64::MAX), VerifyError::Expired, "expired");
    // Fractional NumericDates count by their whole seconds.
    let fractional = with_time("exp", json!(NOW as f64 + 0.5));
    accepts(at(&fractional, 0, NOW - 1));
    rejects(at(&fractional, 0, NOW), VerifyError::Expired, "expired");
}

#[test]
fn nbf_is_refused_beyond_now_plus_leeway() {
    for leeway in [0, 60] {
        accepts(at(&with_time("nbf", json!(NOW + leeway)), leeway, NOW));
        rejects(
            at(&with_time("nbf", json!(NOW + leeway + 1)), leeway, NOW),
            VerifyError::NotYetValid,
            "not_yet_valid",
        );
    }
    rejects(
        at(&with_time("nbf", json!(MAX_NUMERIC_DATE)), 0, NOW),
        VerifyError::NotYetValid,
        "not_yet_valid",
    );
    // Fractional NumericDates count by their whole seconds.
    let fractional = with_time("nbf", json!(NOW as f64 + 0.999_999));
    accepts(at(&fractional, 0, NOW));
    rejects(
        at(&fractional, 0, NOW - 1),
        VerifyError::NotYetValid,
        "not_yet_valid",
    );
}

#[test]
fn iat_is_refused_beyond_now_plus_leeway() {
    for leeway in [0, 60] {
        accepts(at(&with_time("iat", json!(NOW + leeway)), leeway, NOW));
        rejects(
            at(&with_time("iat", json!(NOW + leeway + 1)), leeway, NOW),
            VerifyError::IssuedInFuture,
            "iat_in_future",
        );
    }
    // Far in the past is fine: `iat` bounds nothing there.
    accepts(at(&with_time("iat", json!(0)), 0, NOW));
    // Fractional NumericDates count by their whole seconds.
    let fractional = with_time("iat", json!(NOW as f64 + 0.123_456));
    accepts(at(&fractional, 0, NOW));
    rejects(
        at(&fractional, 0, NOW - 1),
        VerifyError::IssuedInFuture,
        "iat_in_future",
    );
}

#[test]
fn a_non_numeric_time_claim_is_refused() {
    for name in ["exp", "nbf", "iat"] {
        for value in [
            json!("1800000000"),
            json!(true),
            json!(null),
            json!(-1),
            json!(-0.5),
            // Beyond year 9999: malformed, not "never expires".
            json!(MAX_NUMERIC_DATE + 1),
            json!(u64::MAX),
            json!(1e300),
            json!([NOW]),
            json!({ "t": NOW }),
        ] {
            let err = at(&with_time(name, value.clone()), 60, NOW).unwrap_err();
            assert_eq!(err, VerifyError::TimeClaim(name), "{name}: {value}");
            assert_eq!(err.rule(), "time_claim_malformed");
        }
    }
}

#[test]
fn time_claims_in_disclosures_are_checked_too() {
    // Outside SD-JWT VC mode `exp` may be disclosable; once disclosed it counts.
    let (d, digest) = disclosure(&format!(r#"["salt-1","exp",{}]"#, NOW - 100));
    let presentation = hand_built(json!({ "iss": ISS, "_sd": [digest] }), &[&d]);
    rejects(
        check(&presentation, &plain_policy()),
        VerifyError::Expired,
        "expired",
    );
}

#[test]
fn a_claim_the_policy_requires_must_be_disclosed() {
    let issued = common::sample_issued().compact();
    let held =
        govid_core::sdjwt::HeldSdJwt::receive(&issued, &plain_policy(), &super::pinned(), NOW)
            .unwrap();
    let policy = VerifyPolicy {
        required_claims: vec![
            govid_core::sdjwt::ClaimPath::parse("organization/code").unwrap(),
            govid_core::sdjwt::ClaimPath::parse("access_zones/*").unwrap(),
        ],
        ..plain_policy()
    };
    let name_only = held
        .present(
            &[govid_core::sdjwt::ClaimPath::parse("organization/name").unwrap()],
            None,
        )
        .unwrap();
    rejects(
        check(&name_only, &policy),
        VerifyError::MissingClaim("organization/code".to_owned()),
        "missing_claim",
    );
    let code_only = held
        .present(
            &[govid_core::sdjwt::ClaimPath::parse("organization/code").unwrap()],
            None,
        )
        .unwrap();
    // `access_zones/*` needs one element: the plain LOBBY zone comes with the disclosed array.
    rejects(
        check(&code_only, &policy),
        VerifyError::MissingClaim("access_zones/*".to_owned()),
        "missing_claim",
    );
    let both = held
        .present(
            &[
                govid_core::sdjwt::ClaimPath::parse("organization/code").unwrap(),
                govid_core::sdjwt::ClaimPath::parse("access_zones").unwrap(),
            ],
            None,
        )
        .unwrap();
    accepts(check(&both, &policy));
}
