//! Fuzzes what a login verifier and a wallet read from the other side (OpenID4VP): the wallet
//! invocation link, the request object (against a fixed DID document), the DCQL query (and
//! selecting claims with it), the response payload and the encrypted response. None may panic;
//! a request object verifies only if it was signed by the document's key.
#![no_main]

use std::sync::OnceLock;

use govid_core::did::{did_web_document, DidDocument};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::oid4vp::jwe::{peek_header, ResponseKey, SUPPORTED_ENC};
use govid_core::oid4vp::{
    check_answers, peek_client_id, verify_request_object, AuthorizationResponse, DcqlQuery,
    Invocation,
};
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;

const DID: &str = "did:web:login.fuzz.example";

struct Fixture {
    document: DidDocument,
    key: ResponseKey,
    invocation: Invocation,
    claims: serde_json::Map<String, serde_json::Value>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let signer = SoftwareSigner::generate(Algorithm::ES256, &mut rng);
        let doc = did_web_document(DID, &[("key-1", signer.public_key())]).expect("doc");
        let serde_json::Value::Object(claims) = serde_json::json!({
            "vct": "urn:w", "given_name": "A", "organization": {"name": "M"}, "zones": ["a", "b"]
        }) else {
            unreachable!()
        };
        Fixture {
            document: DidDocument::from_value(DID, &doc).expect("doc"),
            key: ResponseKey::generate("k", &mut rng).expect("key"),
            invocation: Invocation {
                client_id: format!("decentralized_identifier:{DID}"),
                request_uri: "https://login.fuzz.example/login/request/1".into(),
            },
            claims,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Invocation::parse(text);
        let _ = peek_client_id(text);
        // Nobody but the fixture's key holder can sign: random input never verifies.
        assert!(verify_request_object(text, &f.invocation, &f.document, 1_767_300_000).is_err());
        let _ = peek_header(text);
        assert!(f.key.decrypt(text, &SUPPORTED_ENC).is_err());
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(query) = DcqlQuery::parse(&value) {
            // What parses writes back to what parses the same.
            assert_eq!(DcqlQuery::parse(&query.to_value()).as_ref(), Ok(&query));
            for credential in &query.credentials {
                let _ = credential.select("urn:w", &f.claims);
            }
            if let Ok(AuthorizationResponse::Presentations { vp_token, .. }) =
                AuthorizationResponse::parse(data)
            {
                let _ = check_answers(&query, &vp_token);
            }
        }
    }
    let _ = AuthorizationResponse::parse(data);
});
