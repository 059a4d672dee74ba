//! Logging in with the worker ID (OpenID4VP): `read_presentation_request` and `respond` against
//! a scripted verifier behind a fake `HttpClient`. The happy path is decrypted and verified as
//! the verifier does; every refusal asserts its specific error, and that nothing was posted.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use common::*;
use govid_core::credential::{gate_policy, GateProfile, WORKER_ID_VCT};
use govid_core::did::did_web_document;
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner, WithKeyId};
use govid_core::oid4vp::jwe::{peek_header, ResponseKey, SUPPORTED_ENC};
use govid_core::oid4vp::{AuthorizationRequest, DcqlQuery, DID_CLIENT_ID_PREFIX};
use govid_core::sdjwt::{verify, ClaimPath};
use govid_core::time::Clock;
use govid_core::trust::PinnedKeys;
use govid_ffi::{
    CredentialKind, HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse, KeyAlgorithm,
    PresentationRequest, RequestedClaim, Wallet, WalletError,
};
use rand_core::OsRng;
use serde_json::{json, Value};

const HOST: &str = "login.mot.example";
const DID: &str = "did:web:login.mot.example";
const REQUEST_URI: &str = "https://login.mot.example/login/request/r-1";
const DID_URL: &str = "https://login.mot.example/.well-known/did.json";
const RESPONSE_URI: &str = "https://login.mot.example/login/response";
const NONCE: &str = "n-0S6_WzA2Mj-login-nonce-1";

fn client_id() -> String {
    format!("{DID_CLIENT_ID_PREFIX}{DID}")
}

fn link() -> String {
    format!(
        "openid4vp://?client_id={}&request_uri={}",
        govid_core::url::form_encode(&client_id()),
        govid_core::url::form_encode(REQUEST_URI)
    )
}

/// A clock the test moves.
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The verifier: its DID key, the request's encryption key, and what it serves.
struct Verifier {
    signer: WithKeyId<SoftwareSigner>,
    response_key: ResponseKey,
    /// The request object served at REQUEST_URI.
    request_object: Mutex<String>,
    /// The answer of the response endpoint.
    answer: (u16, Value),
    /// When set, every request fails with no response.
    offline: AtomicBool,
    /// When set, the request object endpoint answers this status.
    request_status: u16,
    /// The DID the served DID document is for (the verifier's own by default).
    document_did: &'static str,
    log: Mutex<Vec<HttpRequest>>,
}

impl Verifier {
    fn new() -> Self {
        Self {
            signer: WithKeyId {
                signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
                kid: format!("{DID}#login-key"),
            },
            response_key: must(ResponseKey::generate("req-key-1", &mut OsRng)),
            request_object: Mutex::new(String::new()),
            answer: (
                200,
                json!({"redirect_uri": "https://login.mot.example/done?s=1"}),
            ),
            offline: AtomicBool::new(false),
            request_status: 200,
            document_did: DID,
            log: Mutex::new(Vec::new()),
        }
    }

    fn request(&self, claims: &[&str]) -> AuthorizationRequest {
        let paths: Vec<ClaimPath> = claims.iter().map(|c| must(ClaimPath::parse(c))).collect();
        AuthorizationRequest {
            client_id: client_id(),
            response_uri: RESPONSE_URI.into(),
            nonce: NONCE.into(),
            state: "state-1".into(),
            dcql_query: DcqlQuery::single("worker_id", &[WORKER_ID_VCT], &paths),
            encryption_jwk: self.response_key.public_jwk().clone(),
            enc_values: vec!["A128GCM".into(), "A256GCM".into()],
            client_name: Some("MOT e-approval".into()),
            iat: NOW,
            exp: Some(NOW + 120),
        }
    }

    fn serve(&self, request_object: String) {
        *self
            .request_object
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request_object;
    }

    fn serve_signed(&self, request: &AuthorizationRequest) {
        self.serve(must(request.sign(&self.signer)));
    }

    fn posted(&self) -> Vec<HttpRequest> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect()
    }
}

fn response(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![HttpHeader {
            name: "Content-Type".into(),
            value: content_type.into(),
        }],
        body,
    }
}

impl HttpClient for Verifier {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        if self.offline.load(Ordering::SeqCst) {
            return Err(HttpError::Network {
                reason: "connection refused".into(),
            });
        }
        Ok(match (request.method.as_str(), request.url.as_str()) {
            ("GET", REQUEST_URI) => response(
                self.request_status,
                "application/oauth-authz-req+jwt",
                self.request_object
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
                    .into_bytes(),
            ),
            ("GET", DID_URL) => {
                let doc = must(did_web_document(
                    self.document_did,
                    &[("login-key", self.signer.signer.public_key())],
                ));
                response(200, "application/did+json", doc.to_string().into_bytes())
            }
            ("POST", RESPONSE_URI) => response(
                self.answer.0,
                "application/json",
                self.answer.1.to_string().into_bytes(),
            ),
            _ => response(404, "text/plain", b"not found".to_vec()),
        })
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    hr: Hr,
    wallet: Wallet,
    clock: Arc<TestClock>,
    credential_id: String,
}

/// A wallet holding a worker ID from a trusted HR.
fn setup() -> Setup {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let clock = Arc::new(TestClock(AtomicU64::new(NOW)));
    let wallet = must(Wallet::open_with_clock(
        dir.path().to_string_lossy().into_owned(),
        Arc::new(MemKeys::default()),
        clock.clone(),
    ));
    must(wallet.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(wallet.enroll("CODE-1".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let credential_id = must(wallet.accept_credential(hr.issue(&req.key_proof, year_from(NOW)))).id;
    Setup {
        _dir: dir,
        hr,
        wallet,
        clock,
        credential_id,
    }
}

const ASKED: [&str; 5] = [
    "given_name",
    "family_name",
    "organization/name",
    "organization/code",
    "position",
];

fn read(s: &Setup, verifier: &Arc<Verifier>) -> Result<PresentationRequest, WalletError> {
    s.wallet.read_presentation_request(link(), verifier.clone())
}

/// The rule of an `InvalidPresentationRequest`.
#[track_caller]
fn rule_of<T: std::fmt::Debug>(result: Result<T, WalletError>) -> (String, String) {
    match result {
        Err(WalletError::InvalidPresentationRequest { rule, reason }) => (rule, reason),
        other => panic!("expected InvalidPresentationRequest, got {other:?}"),
    }
}

#[test]
fn a_login_request_is_shown_and_answered_with_exactly_its_claims() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    verifier.serve_signed(&verifier.request(&ASKED));
    let shown = must(read(&s, &verifier));
    assert_eq!(shown.verifier_host, HOST);
    assert_eq!(shown.claimed_name.as_deref(), Some("MOT e-approval"));
    assert_eq!(shown.client_id, client_id());
    assert_eq!(shown.requested_claims, ASKED.map(str::to_owned).to_vec());
    assert_eq!(shown.expires_at, NOW + 120);
    assert_eq!(shown.credentials.len(), 1);
    let matching = &shown.credentials[0];
    assert_eq!(matching.credential_id, s.credential_id);
    assert_eq!(matching.kind, CredentialKind::WorkerId);
    let value = |path: &str, value: &str| RequestedClaim {
        path: path.into(),
        value: value.into(),
    };
    assert_eq!(
        matching.disclosed,
        vec![
            value("given_name", "Amira"),
            value("family_name", "Haddad"),
            value("organization/name", "Ministry of Transport"),
            value("organization/code", "MOT"),
            value("position", "Senior Inspector"),
        ]
    );
    // The request object was asked for with its media type; nothing posted yet.
    let log = verifier
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(
        log.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(),
        [REQUEST_URI, DID_URL]
    );
    assert!(log[0]
        .headers
        .iter()
        .any(|h| h.name == "Accept" && h.value == "application/oauth-authz-req+jwt"));

    let answer = must(
        s.wallet
            .respond(shown.request_id.clone(), s.credential_id.clone(), true),
    );
    assert_eq!(answer.status, 200);
    assert!(answer.shared);
    assert_eq!(
        answer.redirect_uri.as_deref(),
        Some("https://login.mot.example/done?s=1")
    );
    assert_eq!((answer.error, answer.error_description), (None, None));

    // What the verifier received: a form with one `response`, a JWE to its key with A256GCM.
    let posted = verifier.posted();
    assert_eq!(posted.len(), 1);
    assert!(posted[0]
        .headers
        .iter()
        .any(|h| h.name == "Content-Type" && h.value == "application/x-www-form-urlencoded"));
    let form = String::from_utf8_lossy(&posted[0].body).into_owned();
    let pairs = must(govid_core::url::query_pairs(&form));
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].0, "response");
    let jwe = &pairs[0].1;
    let header = must(peek_header(jwe));
    assert_eq!(
        (&header["alg"], &header["enc"], &header["kid"]),
        (&json!("ECDH-ES"), &json!("A256GCM"), &json!("req-key-1"))
    );
    let payload: Value = must(serde_json::from_slice(&must(
        verifier.response_key.decrypt(jwe, &SUPPORTED_ENC),
    )));
    assert_eq!(payload["state"], "state-1");
    let token = payload["vp_token"].as_object().cloned().unwrap_or_default();
    assert_eq!(token.keys().collect::<Vec<_>>(), ["worker_id"]);
    let presentation = token["worker_id"][0].as_str().unwrap_or_default();

    // Verified as the verifier does: aud the full client_id, its nonce, exactly the claims.
    let policy = gate_policy(&client_id(), Some(NONCE.into()), &GateProfile::Entry);
    let verified = must(verify(
        presentation,
        &policy,
        &PinnedKeys::single(s.hr.signer.public_key()),
        NOW + 1,
    ));
    let kb = verified.key_binding.unwrap_or_else(|| panic!("no KB-JWT"));
    assert_eq!(kb.aud, client_id());
    assert_eq!(kb.iat, NOW);
    // Five claims: `organization` itself is a disclosure too, holding `name` and `code`.
    assert_eq!(verified.disclosed, 6);
    assert_eq!(
        verified.payload["organization"],
        json!({"name": "Ministry of Transport", "code": "MOT"})
    );
    assert_eq!(verified.payload["position"], "Senior Inspector");
    for hidden in ["employee_number", "portrait", "access_zones"] {
        assert!(verified.payload.get(hidden).is_none(), "{hidden} disclosed");
    }

    // Once only.
    let (rule, reason) = rule_of(s.wallet.respond(shown.request_id, s.credential_id, true));
    assert_eq!(rule, "already_answered");
    assert!(reason.contains(HOST), "{reason}");
    assert_eq!(verifier.posted().len(), 1);
}

#[test]
fn declining_sends_an_encrypted_access_denied_with_a128gcm_when_only_that_is_offered() {
    let s = setup();
    let mut v = Verifier::new();
    v.answer = (200, json!({}));
    let verifier = Arc::new(v);
    let mut request = verifier.request(&["given_name"]);
    request.enc_values = vec!["A128GCM".into()];
    verifier.serve_signed(&request);
    let shown = must(read(&s, &verifier));
    let answer = must(s.wallet.respond(shown.request_id, String::new(), false));
    assert_eq!((answer.status, answer.shared), (200, false));
    assert_eq!(answer.redirect_uri, None);
    let posted = verifier.posted();
    let form = String::from_utf8_lossy(&posted[0].body).into_owned();
    let jwe = must(govid_core::url::query_pairs(&form))
        .into_iter()
        .find(|(n, _)| n == "response")
        .map(|(_, v)| v)
        .unwrap_or_default();
    assert_eq!(must(peek_header(&jwe))["enc"], "A128GCM");
    let payload: Value = must(serde_json::from_slice(&must(
        verifier.response_key.decrypt(&jwe, &SUPPORTED_ENC),
    )));
    assert_eq!(
        payload,
        json!({"error": "access_denied", "state": "state-1"})
    );
}

#[test]
fn the_verifiers_refusal_is_returned_not_thrown() {
    let s = setup();
    let mut v = Verifier::new();
    v.answer = (
        400,
        json!({"error": "invalid_request", "error_description": "revoked"}),
    );
    let verifier = Arc::new(v);
    verifier.serve_signed(&verifier.request(&["given_name"]));
    let shown = must(read(&s, &verifier));
    let answer = must(s.wallet.respond(shown.request_id, s.credential_id, true));
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error.as_deref(), Some("invalid_request"));
    assert_eq!(answer.error_description.as_deref(), Some("revoked"));
}

/// Every refusal of `read_presentation_request`, each with its specific error; nothing is
/// posted to the verifier.
#[test]
fn requests_the_wallet_refuses() {
    let s = setup();
    let check = |verifier: &Arc<Verifier>, expected_rule: &str| {
        let (rule, reason) = rule_of(read(&s, verifier));
        assert_eq!(rule, expected_rule, "{reason}");
        assert!(verifier.posted().is_empty());
        reason
    };

    // Unsigned: `alg: none` with an empty signature.
    let verifier = Arc::new(Verifier::new());
    let claims = verifier.request(&ASKED).to_claims();
    let header = govid_core::b64::encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
    let payload = govid_core::b64::encode(must(serde_json::to_vec(&claims)));
    verifier.serve(format!("{header}.{payload}."));
    let reason = check(&verifier, "unsigned");
    assert!(reason.contains("not signed"), "{reason}");

    // Signed by a key that is not in the verifier's DID document (another kid).
    let verifier = Arc::new(Verifier::new());
    let stranger = WithKeyId {
        signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
        kid: format!("{DID}#someone-else"),
    };
    verifier.serve(must(verifier.request(&ASKED).sign(&stranger)));
    let reason = check(&verifier, "unknown_key");
    assert!(
        reason.contains("not in the verifier's DID document"),
        "{reason}"
    );
    assert!(reason.contains(HOST), "{reason}");

    // The document's kid, another key: a bad signature.
    let verifier = Arc::new(Verifier::new());
    let forger = WithKeyId {
        signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
        kid: format!("{DID}#login-key"),
    };
    verifier.serve(must(verifier.request(&ASKED).sign(&forger)));
    check(&verifier, "bad_signature");

    // Expired.
    let verifier = Arc::new(Verifier::new());
    let mut old = verifier.request(&ASKED);
    old.iat = NOW - 600;
    old.exp = Some(NOW - 300);
    verifier.serve_signed(&old);
    let reason = check(&verifier, "expired");
    assert!(reason.contains("expired"), "{reason}");

    // The response would go to another host (or another port of this one).
    for elsewhere in [
        "https://collector.example/login/response",
        "https://login.mot.example:8443/login/response",
    ] {
        let verifier = Arc::new(Verifier::new());
        let mut moved = verifier.request(&ASKED);
        moved.response_uri = elsewhere.into();
        verifier.serve_signed(&moved);
        let reason = check(&verifier, "response_uri");
        assert!(reason.contains("not on the verifier's host"), "{reason}");
    }

    // No encryption key.
    let verifier = Arc::new(Verifier::new());
    let mut claims = verifier.request(&ASKED).to_claims();
    claims.insert("client_metadata".into(), json!({"jwks": {"keys": []}}));
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("oauth-authz-req+jwt"));
    verifier.serve(must(govid_core::jose::sign_compact(
        header,
        &claims,
        &verifier.signer,
    )));
    check(&verifier, "encryption");

    // The DID document served is another DID's.
    let mut v = Verifier::new();
    v.document_did = "did:web:elsewhere.example";
    let verifier = Arc::new(v);
    verifier.serve_signed(&verifier.request(&ASKED));
    let reason = check(&verifier, "did_document");
    assert!(
        reason.contains("is not did:web:login.mot.example's"),
        "{reason}"
    );

    // Not a did:web client.
    let verifier = Arc::new(Verifier::new());
    let (rule, _) = rule_of(s.wallet.read_presentation_request(
        format!(
            "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Flogin.mot.example&request_uri={}",
            govid_core::url::form_encode(REQUEST_URI)
        ),
        verifier.clone(),
    ));
    assert_eq!(rule, "client_id");
    // Not a request link at all, or a request by value.
    let (rule, _) = rule_of(s.wallet.read_presentation_request(
        "openid4vp://?client_id=x&dcql_query=%7B%7D".into(),
        verifier.clone(),
    ));
    assert_eq!(rule, "bad_link");
    assert!(verifier
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty());
}

#[test]
fn a_claim_the_credential_lacks_is_named() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    verifier.serve_signed(&verifier.request(&["given_name", "department"]));
    let result = read(&s, &verifier);
    assert_eq!(
        result,
        Err(WalletError::MissingClaim {
            path: "department".into()
        })
    );
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("department"), "{message}");
    assert!(verifier.posted().is_empty());
}

#[test]
fn no_credential_of_the_asked_type() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    let mut request = verifier.request(&["given_name"]);
    request.dcql_query = DcqlQuery::single(
        "diploma",
        &["https://edu.example/vct/diploma"],
        &[ClaimPath::key("given_name")],
    );
    verifier.serve_signed(&request);
    match read(&s, &verifier) {
        Err(WalletError::NoMatchingCredential { reason }) => {
            assert!(
                reason.contains("https://edu.example/vct/diploma"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn network_and_http_failures_name_the_host() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    verifier.offline.store(true, Ordering::SeqCst);
    match read(&s, &verifier) {
        Err(WalletError::Network { reason }) => {
            assert!(reason.contains(HOST), "{reason}");
            assert!(reason.contains("connection refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let mut v = Verifier::new();
    v.request_status = 404;
    let verifier = Arc::new(v);
    match read(&s, &verifier) {
        Err(WalletError::Verifier {
            host,
            status,
            reason,
        }) => {
            assert_eq!((host.as_str(), status), (HOST, 404));
            assert!(reason.contains("HTTP status 404"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_expired_or_unknown_request_is_refused_before_posting() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    verifier.serve_signed(&verifier.request(&ASKED));
    let shown = must(read(&s, &verifier));
    // A credential the request did not match: refused, and the request is still answerable.
    let (rule_input, _) = match s
        .wallet
        .respond(shown.request_id.clone(), "other-id".into(), true)
    {
        Err(WalletError::InvalidInput { reason }) => ("invalid_input", reason),
        other => panic!("{other:?}"),
    };
    assert_eq!(rule_input, "invalid_input");
    s.clock.0.store(NOW + 121, Ordering::SeqCst);
    let (rule, reason) = rule_of(s.wallet.respond(
        shown.request_id.clone(),
        s.credential_id.clone(),
        true,
    ));
    assert_eq!(rule, "expired");
    assert!(reason.contains("nothing was sent"), "{reason}");
    let (rule, _) = rule_of(s.wallet.respond(shown.request_id, String::new(), false));
    assert_eq!(rule, "expired");
    let (rule, _) = rule_of(
        s.wallet
            .respond("no-such-request".into(), String::new(), false),
    );
    assert_eq!(rule, "unknown_request");
    assert!(verifier.posted().is_empty());
}

#[test]
fn an_answer_that_did_not_reach_the_verifier_may_be_sent_again() {
    let s = setup();
    let verifier = Arc::new(Verifier::new());
    verifier.serve_signed(&verifier.request(&["given_name"]));
    let shown = must(read(&s, &verifier));
    verifier.offline.store(true, Ordering::SeqCst);
    match s
        .wallet
        .respond(shown.request_id.clone(), s.credential_id.clone(), true)
    {
        Err(WalletError::Network { reason }) => assert!(reason.contains(HOST), "{reason}"),
        other => panic!("{other:?}"),
    }
    verifier.offline.store(false, Ordering::SeqCst);
    let answer = must(s.wallet.respond(shown.request_id, s.credential_id, true));
    assert_eq!(answer.status, 200);
    assert_eq!(verifier.posted().len(), 2);
}
