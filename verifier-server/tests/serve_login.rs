//! `[login]`: logging in with the worker ID over OpenID4VP 1.0 (`govid-verifier serve` with a
//! login section, over HTTPS on loopback), and the OpenID Connect bridge. The wallet here is
//! core's OpenID4VP code driven by the test; interop with implementations nobody here wrote is
//! in `tests/interop/oid4vp`.
//!
//! Every check of the response endpoint has a negative case asserting its error (the OpenID
//! Foundation verifier test plan's cases: invalid KB-JWT signature, wrong nonce, wrong aud, bad
//! sd_hash, iat past and future, request object fetched twice, a response for an unknown state,
//! an unencrypted response, a claim missing from the answer).
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::time::Duration;

use govid_core::did::DidDocument;
use govid_core::jose::{Algorithm, SoftwareSigner};
use govid_core::oid4vp::jwe::{encrypt_to, select_recipient};
use govid_core::oid4vp::{
    response_payload, verify_request_object, AuthorizationRequest, Invocation,
};
use govid_core::sdjwt::ClaimPath;
use rand_core::OsRng;
use serde_json::{json, Value};
use serve_common::*;
use sha2::Digest as _;

const CLIENT_SECRET: &str = "e-approval-secret-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A free loopback port (the login's public URL and DID name it before the server starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Login {
    world: World,
    gate: Gate,
    port: u16,
}

impl Login {
    fn start(name: &str) -> Self {
        let world = World::new(name);
        let port = free_port();
        let key = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
        let key_path = world.dir.path("login-signing.jwk");
        std::fs::write(&key_path, key.to_private_jwk().to_string()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let rest = format!(
            r#"
[login]
public_url = "https://localhost:{port}"
did = "did:web:localhost%3A{port}"
signing_key = "login-signing.jwk"
name = "Ministry of Transport intranet"
claims = ["given_name", "family_name", "organization/name", "position", "employee_number"]

[[login.client]]
client_id = "e-approval"
client_secret = "{CLIENT_SECRET}"
redirect_uris = ["{REDIRECT}"]

[[login.client]]
client_id = "hr-portal"
redirect_uris = ["{REDIRECT}"]
subject = "employee_number"
claims = ["given_name", "employee_number"]
"#
        );
        let toml = world.config("", &rest).replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        );
        let path = world.dir.path("gate.toml");
        std::fs::write(&path, toml).unwrap();
        let cert = TestCert::new();
        let mut args = vec!["--config".to_owned(), path.display().to_string()];
        args.extend(cert.write(&world.dir));
        let gate = Gate::start_tls(&args, &[], &cert);
        gate.wait_for_status_list(&world.status_uri);
        Login { world, gate, port }
    }

    fn client_id(&self) -> String {
        format!("decentralized_identifier:did:web:localhost%3A{}", self.port)
    }

    /// `POST /login/requests`: the page's request.
    fn new_request(&self) -> (String, Invocation) {
        let (status, body) = self.gate.post_empty("/login/requests?qr=png", &[]);
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let link = body["authorization_request"].as_str().unwrap();
        assert!(link.starts_with(
            "openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Alocalhost"
        ));
        assert!(body["qr_png"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,"));
        (
            body["transaction"].as_str().unwrap().to_owned(),
            Invocation::parse(link).unwrap(),
        )
    }

    fn path_of(url: &str) -> &str {
        let rest = url.split_once("://").unwrap().1;
        &rest[rest.find('/').unwrap()..]
    }

    /// What a wallet does before asking the user: fetch and check the request.
    fn read_request(&self, invocation: &Invocation) -> AuthorizationRequest {
        let (status, jws) = self.gate.get(Self::path_of(&invocation.request_uri), &[]);
        assert_eq!(status, 200, "{jws}");
        let (status, doc) = self.gate.get("/.well-known/did.json", &[]);
        assert_eq!(status, 200, "{doc}");
        let did = format!("did:web:localhost%3A{}", self.port);
        let doc = DidDocument::parse(&did, doc.as_bytes(), 16).unwrap();
        verify_request_object(&jws, invocation, &doc, now()).unwrap()
    }

    /// Posts `form` to the response endpoint; status and JSON body.
    fn post_response(&self, form: &str) -> (u16, Value) {
        self.gate
            .post("/login/response", "application/x-www-form-urlencoded", form)
    }

    /// The login's result, once it has one.
    fn result(&self, transaction: &str) -> Value {
        let (status, body) = self
            .gate
            .get(&format!("/login/requests/{transaction}?wait=10"), &[]);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// How the test wallet answers (each tampering is one of the verifier test plan's cases).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tamper {
    None,
    Nonce,
    Aud,
    SdHash,
    IatPast,
    IatFuture,
    KbSignature,
    DropClaim,
    State,
}

fn encrypted_answer(wallet: &Wallet, request: &AuthorizationRequest, tamper: Tamper) -> String {
    let query = &request.dcql_query.credentials[0];
    let vct = wallet.held.claims()["vct"].as_str().unwrap();
    let mut paths = query.select(vct, wallet.held.claims()).unwrap();
    if tamper == Tamper::DropClaim {
        paths.retain(|p| *p != ClaimPath::key("position"));
    }
    let aud = if tamper == Tamper::Aud {
        // The DID alone, without the Client Identifier Prefix (§B.3.6: the full client_id).
        request
            .client_id
            .trim_start_matches("decentralized_identifier:")
            .to_owned()
    } else {
        request.client_id.clone()
    };
    let nonce = if tamper == Tamper::Nonce {
        "another-nonce".to_owned()
    } else {
        request.nonce.clone()
    };
    let iat = match tamper {
        Tamper::IatPast => now() - 3600,
        Tamper::IatFuture => now() + 3600,
        _ => now(),
    };
    let mut presentation = wallet.present(&paths, &aud, &nonce, iat);
    match tamper {
        Tamper::KbSignature => {
            let (head, sig) = presentation.rsplit_once('.').unwrap();
            let mut bytes = govid_core::b64::decode(sig).unwrap();
            bytes[0] ^= 1;
            presentation = format!("{head}.{}", govid_core::b64::encode(bytes));
        }
        Tamper::SdHash => {
            // The KB-JWT of one presentation on the disclosures of another (one more claim): its
            // sd_hash no longer covers what is sent.
            let mut more = paths.clone();
            more.push(ClaimPath::key("birthdate"));
            let other = wallet.present(&more, &aud, &nonce, iat);
            let kb = presentation.rsplit('~').next().unwrap();
            let (sd_jwt, _) = other.rsplit_once('~').unwrap();
            presentation = format!("{sd_jwt}~{kb}");
        }
        _ => {}
    }
    let state = if tamper == Tamper::State {
        "not-the-state".to_owned()
    } else {
        request.state.clone()
    };
    let payload = response_payload(&[("worker_id".to_owned(), vec![presentation])], &state);
    let jwks = json!({"keys": [request.encryption_jwk]});
    let recipient = select_recipient(&jwks).unwrap();
    let jwe = encrypt_to(recipient, request.preferred_enc(), &payload).unwrap();
    format!("response={}", govid_core::url::form_encode(&jwe))
}

#[test]
fn a_worker_id_logs_in_and_the_page_learns_who() {
    let login = Login::start("login-ok");
    let wallet = login.world.wallet_of(Algorithm::ES256, IDX_VALID);
    let (transaction, invocation) = login.new_request();
    let request = login.read_request(&invocation);
    assert_eq!(request.client_id, login.client_id());
    assert_eq!(
        request.client_name.as_deref(),
        Some("Ministry of Transport intranet")
    );
    assert!(request.nonce.len() >= 22, "nonce of at least 128 bits");
    assert_eq!(request.preferred_enc(), "A256GCM");
    let (status, body) = login.post_response(&encrypted_answer(&wallet, &request, Tamper::None));
    assert_eq!(status, 200, "{body}");
    let result = login.result(&transaction);
    assert_eq!(result["result"], "accepted", "{result}");
    assert_eq!(
        result["claims"],
        json!({"given_name": "Amira", "family_name": "Haddad",
               "organization": {"name": "Ministry of Transport"},
               "position": "Senior Inspector", "employee_number": "E-10442"})
    );
    // Not in the DCQL query, so never disclosed.
    assert!(result["claims"].get("birthdate").is_none());
    // The same answer again: the request took one answer.
    let (status, body) = login.post_response(&encrypted_answer(&wallet, &request, Tamper::None));
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "this login request was already answered"
    );
    // Health reports the login service.
    assert!(login.gate.health()["login"]["pending"].is_u64());
}

#[test]
fn every_check_of_the_response_has_its_error() {
    let login = Login::start("login-negative");
    let wallet = login.world.wallet_of(Algorithm::ES256, IDX_VALID);
    for (tamper, reason) in [
        (Tamper::KbSignature, "kb_signature"),
        (Tamper::Nonce, "kb_nonce"),
        (Tamper::Aud, "kb_aud"),
        (Tamper::SdHash, "sd_hash"),
        (Tamper::IatPast, "kb_iat"),
        (Tamper::IatFuture, "kb_iat"),
        (Tamper::DropClaim, "missing_claim"),
        (Tamper::State, "state_mismatch"),
    ] {
        let (transaction, invocation) = login.new_request();
        let request = login.read_request(&invocation);
        let (status, body) = login.post_response(&encrypted_answer(&wallet, &request, tamper));
        assert_eq!(status, 400, "{tamper:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "{tamper:?}: {body}");
        let result = login.result(&transaction);
        assert_eq!(
            result,
            json!({"result": "rejected", "error": reason}),
            "{tamper:?}"
        );
    }

    // A revoked worker ID: the gate's status check.
    let revoked = login.world.wallet_of(Algorithm::ES256, IDX_REVOKED);
    let (transaction, invocation) = login.new_request();
    let request = login.read_request(&invocation);
    let (status, body) = login.post_response(&encrypted_answer(&revoked, &request, Tamper::None));
    assert_eq!(
        (status, body["error_description"].clone()),
        (400, json!("revoked"))
    );
    assert_eq!(login.result(&transaction)["error"], "revoked");
}

#[test]
fn requests_are_fetched_once_and_responses_must_be_encrypted_to_a_live_request() {
    let login = Login::start("login-protocol");
    let wallet = login.world.wallet(IDX_VALID);
    let (_, invocation) = login.new_request();
    let request = login.read_request(&invocation);
    // Fetched twice.
    let (status, body) = login.gate.get(Login::path_of(&invocation.request_uri), &[]);
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid_request_uri");
    assert_eq!(
        body["error_description"],
        "this request object was already fetched"
    );
    // Unknown request.
    let (status, body) = login.gate.get("/login/request/nope", &[]);
    assert_eq!(status, 404, "{body}");

    // Unencrypted vp_token when encryption was asked.
    let presentation = wallet.present(
        &[ClaimPath::key("given_name")],
        &request.client_id,
        &request.nonce,
        now(),
    );
    let vp_token = json!({"worker_id": [presentation]}).to_string();
    let form = format!(
        "vp_token={}&state={}",
        govid_core::url::form_encode(&vp_token),
        request.state
    );
    let (status, body) = login.post_response(&form);
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "the response must be encrypted (response_mode direct_post.jwt)"
    );

    // A JWE for a request that does not exist (another verifier's key).
    let mut other = request.clone();
    let key = govid_core::oid4vp::jwe::ResponseKey::generate("unknown-kid", &mut OsRng).unwrap();
    other.encryption_jwk = key.public_jwk().clone();
    let (status, body) = login.post_response(&encrypted_answer(&wallet, &other, Tamper::None));
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "no login request of this kid is in progress (unknown or expired)"
    );

    // Not a form; no response at all.
    let (status, _) = login.gate.post("/login/response", "application/json", "{}");
    assert_eq!(status, 415);
    let (status, body) = login.post_response("foo=bar");
    assert_eq!(
        (status, body["error_description"].clone()),
        (400, json!("the response parameter is missing"))
    );
}

/// `GET path` without following redirects: status and `Location`.
fn get_no_redirect(login: &Login, path: &str) -> (u16, Option<String>, String) {
    let (status, head, body) = login.gate.request_from(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        "GET",
        path,
    );
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(str::to_owned);
    (status, location, body)
}

fn attribute<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    &html[start..start + html[start..].find('"').unwrap()]
}

fn unescape(text: &str) -> String {
    text.replace("&amp;", "&").replace("&quot;", "\"")
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    govid_core::url::query_pairs(query)
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// An OpenID Connect login: /authorize shows the page, the wallet answers, the page's browser
/// continues to the client with a code, the client redeems it with PKCE.
fn oidc_login(login: &Login, client_id: &str, wallet: &Wallet) -> (String, String) {
    let verifier = govid_core::b64::encode([7u8; 32]);
    let challenge = govid_core::b64::encode(sha2::Sha256::digest(verifier.as_bytes()));
    let path = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=xyz&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256",
        govid_core::url::form_encode(REDIRECT)
    );
    let (status, page) = login.gate.get(&path, &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"login-request\""));
    let link = unescape(attribute(&page, "data-authorization-request"));
    let transaction = unescape(attribute(&page, "data-transaction"));
    let invocation = Invocation::parse(&link).unwrap();
    let request = login.read_request(&invocation);
    let (status, body) = login.post_response(&encrypted_answer(wallet, &request, Tamper::None));
    assert_eq!(status, 200, "{body}");
    let result = login.result(&transaction);
    assert_eq!(result["result"], "accepted", "{result}");
    let cont = result["continue"].as_str().unwrap().to_owned();
    let (status, location, _) = get_no_redirect(login, &cont);
    assert_eq!(status, 303, "continue redirects to the client");
    let location = location.unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    assert_eq!(
        query_param(&location, "iss"),
        Some(format!("https://localhost:{}", login.port))
    );
    (query_param(&location, "code").unwrap(), verifier)
}

fn token_request(login: &Login, form: &str, basic: Option<(&str, &str)>) -> (u16, Value) {
    use base64::Engine as _;
    let mut headers = vec![(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        headers.push(("Authorization", format!("Basic {encoded}")));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = login.gate.post_with_headers("/token", &refs, form);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn the_oidc_bridge_issues_id_tokens_with_pairwise_subjects_and_refuses_misuse() {
    let login = Login::start("login-oidc");
    let wallet = login.world.wallet_of(Algorithm::ES256, IDX_VALID);
    let (status, discovery) = login.gate.get("/.well-known/openid-configuration", &[]);
    assert_eq!(status, 200);
    let discovery: Value = serde_json::from_str(&discovery).unwrap();
    let base = format!("https://localhost:{}", login.port);
    assert_eq!(discovery["issuer"], base);
    assert_eq!(discovery["token_endpoint"], format!("{base}/token"));
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );

    let (code, verifier) = oidc_login(&login, "e-approval", &wallet);
    let form = |code: &str, verifier: &str| {
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            govid_core::url::form_encode(REDIRECT)
        )
    };
    // Wrong secret; wrong verifier (the code survives neither? It does: only a valid
    // redemption spends it); then the real redemption.
    let (status, body) = token_request(
        &login,
        &form(&code, &verifier),
        Some(("e-approval", "wrong-secret-0000000")),
    );
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid_client"))
    );
    let bad_verifier = govid_core::b64::encode([8u8; 32]);
    let (status, body) = token_request(
        &login,
        &form(&code, &bad_verifier),
        Some(("e-approval", CLIENT_SECRET)),
    );
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant")),
        "{body}"
    );
    let (status, tokens) = token_request(
        &login,
        &form(&code, &verifier),
        Some(("e-approval", CLIENT_SECRET)),
    );
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");

    // The ID token: signed by the key in /jwks, the disclosed claims, a pairwise sub.
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, jwks) = login.gate.get("/jwks", &[]);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let key = govid_core::jose::PublicKey::from_jwk(&jwks["keys"][0]).unwrap();
    let jws = govid_core::jose::CompactJws::parse(id_token, 8).unwrap();
    jws.verify(&key, &[Algorithm::ES256]).unwrap();
    let claims = jws.payload_object(8).unwrap();
    assert_eq!(claims["iss"], json!(base));
    assert_eq!(claims["aud"], "e-approval");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["given_name"], "Amira");
    assert_eq!(claims["employee_number"], "E-10442");
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert_ne!(sub, "E-10442", "pairwise, not the employee number");
    assert_eq!(sub.len(), 43);

    // userinfo with the access token.
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let (status, info) = login
        .gate
        .get("/userinfo", &[("Authorization", bearer.as_str())]);
    assert_eq!(status, 200, "{info}");
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["sub"], json!(sub));

    // The code again: refused, and the token it gave is revoked.
    let (status, body) = token_request(
        &login,
        &form(&code, &verifier),
        Some(("e-approval", CLIENT_SECRET)),
    );
    assert_eq!(
        (status, body["error_description"].clone()),
        (400, json!("the code was already used"))
    );
    let (status, _) = login
        .gate
        .get("/userinfo", &[("Authorization", bearer.as_str())]);
    assert_eq!(status, 401);

    // Same person, a second login: the same pairwise sub. The public client configured for the
    // employee number gets it as sub, and only its claims.
    let (code, verifier) = oidc_login(&login, "e-approval", &wallet);
    let (_, tokens) = token_request(
        &login,
        &form(&code, &verifier),
        Some(("e-approval", CLIENT_SECRET)),
    );
    let again =
        govid_core::jose::CompactJws::parse(tokens["id_token"].as_str().unwrap(), 8).unwrap();
    assert_eq!(again.payload_object(8).unwrap()["sub"], json!(sub));
    let (code, verifier) = oidc_login(&login, "hr-portal", &wallet);
    let (status, tokens) = token_request(
        &login,
        &format!("{}&client_id=hr-portal", form(&code, &verifier)),
        None,
    );
    assert_eq!(status, 200, "{tokens}");
    let hr = govid_core::jose::CompactJws::parse(tokens["id_token"].as_str().unwrap(), 8).unwrap();
    let hr = hr.payload_object(8).unwrap();
    assert_eq!(hr["sub"], "E-10442");
    assert!(
        hr.get("position").is_none(),
        "hr-portal is not given position"
    );

    // Authorization requests the provider refuses: no redirect for an unknown client or
    // redirect_uri; a redirect with the error otherwise.
    let (status, page) = login.gate.get(
        "/authorize?client_id=nope&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback",
        &[],
    );
    assert_eq!(status, 400);
    assert!(page.contains("unknown client_id"));
    let (status, location, _) = get_no_redirect(
        &login,
        &format!("/authorize?response_type=code&client_id=e-approval&redirect_uri={}&scope=openid&state=s1", govid_core::url::form_encode(REDIRECT)),
    );
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
}

#[test]
fn the_login_page_waits_on_server_sent_events() {
    let login = Login::start("login-sse");
    let wallet = login.world.wallet(IDX_VALID);
    let (transaction, invocation) = login.new_request();
    let events = format!("/login/requests/{transaction}/events");
    let reader = {
        let url = login.gate.url(&events);
        let agent = login.gate.agent_clone();
        std::thread::spawn(move || {
            let mut response = agent.get(&url).call().unwrap();
            let content_type = response
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (content_type, response.body_mut().read_to_string().unwrap())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let request = login.read_request(&invocation);
    let (status, _) = login.post_response(&encrypted_answer(&wallet, &request, Tamper::None));
    assert_eq!(status, 200);
    let (content_type, stream) = reader.join().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let data = stream
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let event: Value = serde_json::from_str(data).unwrap();
    assert!(stream.contains("event: result"), "{stream}");
    assert_eq!(event["result"], "accepted");
    assert_eq!(event["claims"]["family_name"], "Haddad");
}
