//! Disclosures: digests over the received text, references, duplicates, reserved names,
//! collisions, repeated digests, shapes and kinds (RFC 9901 §7.1 steps 3–5).

use govid_core::b64;
use govid_core::sdjwt::{DisclosureError, VerifyError};
use serde_json::{json, Value};

use super::{accepts, check, disclosure, hand_built, plain_policy, rejects};
use crate::common::{self, ISS};

/// The text of the issued disclosure named `name`.
fn named(issued: &govid_core::sdjwt::IssuedSdJwt, name: &str) -> String {
    issued
        .disclosures
        .iter()
        .find(|d| d.name() == Some(name))
        .map(|d| d.as_str().to_owned())
        .unwrap()
}

#[test]
fn digests_cover_the_received_text_not_a_re_encoding() {
    let issued = common::sample_issued();
    let original = named(&issued, "given_name");
    let value: Value = serde_json::from_slice(&b64::decode(&original).unwrap()).unwrap();
    // Same JSON array, other spacing: a different disclosure as far as digests go.
    let respaced = b64::encode(serde_json::to_string_pretty(&value).unwrap());
    assert_ne!(respaced, original);
    let presentation = issued.compact().replace(&original, &respaced);
    rejects(
        check(&presentation, &plain_policy()),
        VerifyError::UnreferencedDisclosure,
        "disclosure_unreferenced",
    );
    // And an issuer that hashed spaced JSON is matched verbatim, without canonicalisation.
    let (spaced, digest) = disclosure("[ \"salt-1\" ,  \"given_name\",\n\"Amira\" ]");
    let v = accepts(check(
        &hand_built(json!({ "iss": ISS, "_sd": [digest] }), &[&spaced]),
        &plain_policy(),
    ));
    assert_eq!(v.payload["given_name"], "Amira");
}

#[test]
fn a_disclosure_from_another_credential_is_unreferenced() {
    let mine = common::sample_issued();
    // Same claims, other salts.
    let other = common::issue_with(
        &common::sample_claims(&common::holder()),
        &common::vc_options(),
        8,
    );
    let foreign = named(&other, "given_name");
    assert_ne!(foreign, named(&mine, "given_name"));
    let presentation = format!("{}{foreign}~", mine.compact());
    rejects(
        check(&presentation, &plain_policy()),
        VerifyError::UnreferencedDisclosure,
        "disclosure_unreferenced",
    );
    // Also when it replaces the holder's own one.
    let swapped = mine
        .compact()
        .replace(&named(&mine, "given_name"), &foreign);
    rejects(
        check(&swapped, &plain_policy()),
        VerifyError::UnreferencedDisclosure,
        "disclosure_unreferenced",
    );
}

#[test]
fn a_disclosure_present_twice_is_refused() {
    let issued = common::sample_issued();
    let given = named(&issued, "given_name");
    for presentation in [
        format!("{}{given}~", issued.compact()),
        common::sd_jwt_text(&issued.jwt, &[&given, &given]),
    ] {
        rejects(
            check(&presentation, &plain_policy()),
            VerifyError::DuplicateDisclosure,
            "disclosure_duplicate",
        );
    }
}

#[test]
fn a_disclosure_naming_sd_or_ellipsis_is_refused() {
    for json in [
        r#"["salt-1","_sd",["x"]]"#,
        r#"["salt-1","...","x"]"#,
        r#"["salt-1","_sd","x"]"#,
    ] {
        let (d, digest) = disclosure(json);
        for payload in [
            json!({ "iss": ISS, "_sd": [digest.clone()] }),
            json!({ "iss": ISS, "address": { "_sd": [digest.clone()] } }),
        ] {
            rejects(
                check(&hand_built(payload, &[&d]), &plain_policy()),
                VerifyError::ReservedClaimName,
                "reserved_claim_name",
            );
        }
    }
}

#[test]
fn a_disclosed_claim_colliding_with_another_is_refused() {
    let (d, digest) = disclosure(r#"["salt-1","given_name","Mallory"]"#);
    let (d2, digest2) = disclosure(r#"["salt-2","given_name","Eve"]"#);
    let cases = [
        // with a plain claim beside `_sd`
        (
            json!({ "iss": ISS, "given_name": "Amira", "_sd": [digest.clone()] }),
            vec![d.as_str()],
        ),
        // nested
        (
            json!({ "iss": ISS, "o": { "given_name": "Amira", "_sd": [digest.clone()] } }),
            vec![d.as_str()],
        ),
        // two disclosures of the same name
        (
            json!({ "iss": ISS, "_sd": [digest.clone(), digest2.clone()] }),
            vec![d.as_str(), d2.as_str()],
        ),
    ];
    for (payload, disclosures) in cases {
        rejects(
            check(&hand_built(payload, &disclosures), &plain_policy()),
            VerifyError::ClaimCollision,
            "claim_collision",
        );
    }
    // The colliding disclosure withheld: fine, the plain claim stands.
    let v = accepts(check(
        &hand_built(
            json!({ "iss": ISS, "given_name": "Amira", "_sd": [digest] }),
            &[],
        ),
        &plain_policy(),
    ));
    assert_eq!(v.payload["given_name"], "Amira");
}

#[test]
fn a_digest_twice_in_one_sd_array_is_refused() {
    let (d, digest) = disclosure(r#"["salt-1","given_name","Amira"]"#);
    let payload = json!({ "iss": ISS, "_sd": [digest.clone(), digest] });
    // Disclosed or not: the issuer-signed structure itself is invalid.
    for disclosures in [vec![d.as_str()], vec![]] {
        rejects(
            check(&hand_built(payload.clone(), &disclosures), &plain_policy()),
            VerifyError::RepeatedDigest,
            "digest_repeated",
        );
    }
}

#[test]
fn a_digest_in_sd_and_in_an_array_is_refused() {
    let (element, de) = disclosure(r#"["salt-1","HQ-A"]"#);
    let decoy = common::digest("decoy");
    for (payload, disclosures) in [
        (
            json!({ "iss": ISS, "zones": [{ "...": de.clone() }], "_sd": [de.clone()] }),
            vec![element.as_str()],
        ),
        (
            json!({ "iss": ISS, "zones": [{ "...": decoy.clone() }], "_sd": [decoy.clone()] }),
            vec![],
        ),
        (
            json!({ "iss": ISS, "zones": [{ "...": decoy.clone() }, { "...": decoy }] }),
            vec![],
        ),
    ] {
        rejects(
            check(&hand_built(payload, &disclosures), &plain_policy()),
            VerifyError::RepeatedDigest,
            "digest_repeated",
        );
    }
}

#[test]
fn a_digest_repeated_through_nested_disclosures_is_refused() {
    let (b, db) = disclosure(r#"["salt-b","b",1]"#);
    let (a, da) = disclosure(&format!(r#"["salt-a","a",{{"_sd":["{db}"]}}]"#));
    let (c, dc) = disclosure(&format!(r#"["salt-c","c",{{"_sd":["{db}"]}}]"#));
    let (e, de) = disclosure(&format!(r#"["salt-e",[{{"...":"{db}"}}]]"#));
    let cases = [
        // in the payload and inside a disclosure, either order
        (json!({ "_sd": [da.clone(), db.clone()] }), vec![&a, &b]),
        (json!({ "_sd": [db.clone(), da.clone()] }), vec![&b, &a]),
        // inside two disclosures, the referenced one withheld
        (json!({ "_sd": [da.clone(), dc.clone()] }), vec![&a, &c]),
        // inside an array-element disclosure and the payload
        (
            json!({ "_sd": [db.clone()], "l": [{ "...": de }] }),
            vec![&e],
        ),
    ];
    for (i, (payload, disclosures)) in cases.into_iter().enumerate() {
        let disclosures: Vec<&str> = disclosures.into_iter().map(String::as_str).collect();
        let err = check(&hand_built(payload, &disclosures), &plain_policy()).unwrap_err();
        assert_eq!(err, VerifyError::RepeatedDigest, "case {i}");
        assert_eq!(err.rule(), "digest_repeated");
    }
    // Nesting itself is fine.
    let v = accepts(check(
        &hand_built(json!({ "_sd": [da] }), &[&a, &b]),
        &plain_policy(),
    ));
    assert_eq!(v.payload["a"], json!({ "b": 1 }));
}

#[test]
fn malformed_disclosures_name_their_index_and_defect() {
    let issued = common::sample_issued();
    let good = named(&issued, "given_name");
    let enc = common::b64_text;
    let cases = [
        ("YR".to_owned(), DisclosureError::Base64), // non-zero trailing bits
        ("A".to_owned(), DisclosureError::Base64),  // impossible length
        ("WyJhIl0x".to_owned() + "A", DisclosureError::Base64),
        (enc("not json"), DisclosureError::NotAnArray),
        (
            enc(r#"{"salt":"s","name":"n"}"#),
            DisclosureError::NotAnArray,
        ),
        (enc(r#""s""#), DisclosureError::NotAnArray),
        (enc("[\"s\",\"n\",\"v\""), DisclosureError::NotAnArray),
        (enc("[]"), DisclosureError::Shape),
        (enc(r#"["s"]"#), DisclosureError::Shape),
        (enc(r#"["s","n","v","x"]"#), DisclosureError::Shape),
        (enc(r#"[1,"v"]"#), DisclosureError::Shape),
        (enc(r#"[null,"n","v"]"#), DisclosureError::Shape),
        (enc(r#"[["s"],"n","v"]"#), DisclosureError::Shape),
        (enc(r#"["s",1,"v"]"#), DisclosureError::Shape),
        (enc(r#"["s",null,"v"]"#), DisclosureError::Shape),
        (enc(r#"["s",{"n":1},"v"]"#), DisclosureError::Shape),
    ];
    for (bad, error) in cases {
        let presentation = common::sd_jwt_text(&issued.jwt, &[&good, &bad]);
        rejects(
            check(&presentation, &plain_policy()),
            VerifyError::DisclosureMalformed { index: 1, error },
            "disclosure_malformed",
        );
        let first = common::sd_jwt_text(&issued.jwt, &[&bad, &good]);
        rejects(
            check(&first, &plain_policy()),
            VerifyError::DisclosureMalformed { index: 0, error },
            "disclosure_malformed",
        );
    }
}

#[test]
fn a_disclosure_of_the_wrong_kind_for_its_reference_is_refused() {
    let (element, de) = disclosure(r#"["salt-1","HQ-A"]"#);
    let (property, dp) = disclosure(r#"["salt-2","zone","HQ-A"]"#);
    for (payload, d) in [
        (json!({ "iss": ISS, "_sd": [de] }), &element),
        (json!({ "iss": ISS, "zones": [{ "...": dp }] }), &property),
    ] {
        rejects(
            check(&hand_built(payload, &[d]), &plain_policy()),
            VerifyError::WrongDisclosureKind,
            "disclosure_wrong_kind",
        );
    }
}

#[test]
fn a_malformed_sd_or_ellipsis_reference_is_refused() {
    let (_, digest) = disclosure(r#"["salt-1","given_name","Amira"]"#);
    let payloads = [
        json!({ "_sd": digest.clone() }),
        json!({ "_sd": {} }),
        json!({ "_sd": null }),
        json!({ "_sd": [1] }),
        json!({ "_sd": [null] }),
        json!({ "_sd": [digest.clone(), ["x"]] }),
        json!({ "o": { "_sd": 5 } }),
        json!({ "l": [{ "...": 5 }] }),
        json!({ "l": [{ "...": null }] }),
        json!({ "l": [{ "...": [digest.clone()] }] }),
        json!({ "l": [[{ "...": {} }]] }),
    ];
    for payload in payloads {
        rejects(
            check(&hand_built(payload.clone(), &[]), &plain_policy()),
            VerifyError::MalformedDigestReference,
            "digest_reference_malformed",
        );
    }
    // Inside a disclosed value too.
    let (nested, dn) = disclosure(r#"["salt-3","o",{"_sd":"x"}]"#);
    rejects(
        check(
            &hand_built(json!({ "_sd": [dn] }), &[&nested]),
            &plain_policy(),
        ),
        VerifyError::MalformedDigestReference,
        "digest_reference_malformed",
    );
    // `{"...": d}` with a second member is an ordinary object, not a reference.
    let v = accepts(check(
        &hand_built(json!({ "l": [{ "...": digest, "x": 1 }] }), &[]),
        &plain_policy(),
    ));
    assert_eq!(v.payload["l"][0]["x"], 1);
}
