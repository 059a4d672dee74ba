//! A wallet's side of the OpenID4VCI flow against a real `govid-issuer serve` on loopback, for
//! the OpenID4VCI test files: start (and restart) the service, make offers, send token, nonce
//! and credential requests with DPoP, and send requests from a chosen loopback source address.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Stdio};

use crate::common::{now, ok, Env};
use govid_core::b64;
use govid_core::dpop::{make_proof as make_dpop, DpopClaims};
use govid_core::enrollment::EnrollmentOffer;
use govid_core::jose::Signer;
use govid_core::oid4vci::offer::{parse_offer_uri, OfferUri};
use govid_core::oid4vci::proof::make_proof;
use rand_core::OsRng;
use serde_json::{json, Value};

/// A running `serve`; killed when dropped.
pub(crate) struct Server {
    child: Child,
    stdout: BufReader<ChildStdout>,
    pub(crate) port: u16,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `kill -9` (SIGKILL on Unix), and waits for the process to end.
    pub(crate) fn kill9(&mut self) {
        ok(self.child.kill());
        ok(self.child.wait());
    }

    /// Stops the service as an operator does (SIGTERM: graceful shutdown) and returns what it
    /// printed after `listening on` (its `--json` report when started with `--json`).
    pub(crate) fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = ok(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status());
        assert!(sent.success(), "kill -TERM {pid}");
        let mut rest = String::new();
        ok(self.stdout.read_to_string(&mut rest));
        let status = ok(self.child.wait());
        assert!(status.success(), "serve ended with {status}: {rest}");
        rest
    }

    /// Waits until the service prints `paused at <point>` (a debug build's pause point).
    pub(crate) fn wait_for_pause(&mut self, point: &str) {
        let want = format!("paused at {point}");
        let mut line = String::new();
        loop {
            line.clear();
            let n = ok(self.stdout.read_line(&mut line));
            assert!(n > 0, "serve ended before reaching {point}");
            if line.trim_end() == want {
                return;
            }
        }
    }
}

/// `serve` on a free port.
pub(crate) fn serve(env: &Env, extra: &[&str], vars: &[(&str, &str)]) -> Server {
    // A free port, so the public URL can name it before `serve` binds it.
    let port = ok(ok(std::net::TcpListener::bind("127.0.0.1:0")).local_addr()).port();
    serve_on(env, port, extra, vars)
}

/// `serve` on `port` (a restart uses the same one: the public URL, and so every proof's
/// audience and `htu`, stay the same).
pub(crate) fn serve_on(env: &Env, port: u16, extra: &[&str], vars: &[(&str, &str)]) -> Server {
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = env.command();
    cmd.arg("--dir")
        .arg(&env.dir)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &url,
        ])
        .args(extra)
        .env_remove("GOVID_ISSUER_PAUSE_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = ok(cmd.spawn());
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    ok(stdout.read_line(&mut line));
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line}");
    Server {
        child,
        stdout,
        port,
        url,
    }
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) body: Value,
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub(crate) fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> Answer {
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            ok(r.call())
        }
        (_, body) => {
            let mut r = agent.post(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            match body {
                Some((ct, text)) => ok(r.content_type(ct).send(text)),
                None => ok(r.send_empty()),
            }
        }
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (www_authenticate, cache_control) = (header("www-authenticate"), header("cache-control"));
    let status = response.status().as_u16();
    let text = ok(response.body_mut().read_to_string());
    Answer {
        status,
        www_authenticate,
        cache_control,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

pub(crate) fn assert_error(a: &Answer, status: u16, error: &str) {
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        a.body
    );
}

/// An enrolled-by-offer staff member: the pre-authorized code and PIN of their offer.
pub(crate) struct Offer {
    pub(crate) code: String,
    pub(crate) pin: String,
    /// The `GVE1:` enrollment offer made with it.
    pub(crate) enrollment: EnrollmentOffer,
}

pub(crate) fn make_offer(env: &Env, server: &Server, n: &str, vars: &[(&str, &str)]) -> Offer {
    let made = env
        .run_env(&["--json", "offer", n, "--public-url", &server.url], vars)
        .assert_ok()
        .json();
    let vci = &made["offers"][0]["openid4vci"];
    let enrollment = ok(EnrollmentOffer::parse(
        made["offers"][0]["payload"].as_str().unwrap_or_default(),
    ));
    let pin = vci["tx_code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(pin.len(), 6);
    assert!(std::path::Path::new(vci["qr_png"].as_str().unwrap_or_default()).is_file());
    let Ok(OfferUri::ByReference(offer_url)) =
        parse_offer_uri(vci["offer_uri"].as_str().unwrap_or_default())
    else {
        panic!("offer URI: {vci}");
    };
    let offer = call("GET", &offer_url, &[], None);
    assert_eq!(offer.status, 200);
    assert_eq!(offer.body["credential_issuer"], server.url);
    assert_eq!(
        offer.body["credential_configuration_ids"],
        json!(["worker_id", "gate_pass"])
    );
    let grant = &offer.body["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
    assert_eq!(grant["tx_code"]["input_mode"], "numeric");
    assert_eq!(grant["tx_code"]["length"], 6);
    Offer {
        code: grant["pre-authorized_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        pin,
        enrollment,
    }
}

pub(crate) fn jti() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut b);
    b64::encode(b)
}

pub(crate) fn dpop(key: &dyn Signer, url: &str, token: Option<&str>, iat: u64) -> String {
    ok(make_dpop(
        &DpopClaims {
            jti: &jti(),
            htm: "POST",
            htu: url,
            iat,
            access_token: token,
        },
        key,
    ))
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> (&'static str, String) {
    let text: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", govid_core::oid4vci::offer::percent_encode(v)))
        .collect();
    ("application/x-www-form-urlencoded", text.join("&"))
}

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

pub(crate) fn token_request(
    server: &Server,
    offer: &Offer,
    pin: &str,
    dpop_key: Option<&dyn Signer>,
) -> Answer {
    let url = format!("{}/token", server.url);
    let proof = dpop_key.map(|k| dpop(k, &url, None, now()));
    let headers: Vec<(&str, &str)> = proof.iter().map(|p| ("DPoP", p.as_str())).collect();
    call(
        "POST",
        &url,
        &headers,
        Some(form(&[
            ("grant_type", GRANT),
            ("pre-authorized_code", &offer.code),
            ("tx_code", pin),
        ])),
    )
}

pub(crate) fn c_nonce(server: &Server) -> String {
    let a = call("POST", &format!("{}/nonce", server.url), &[], None);
    assert_eq!(a.status, 200);
    assert_eq!(a.cache_control.as_deref(), Some("no-store"));
    a.body["c_nonce"].as_str().unwrap_or_default().to_owned()
}

/// A credential request with a DPoP-bound token.
pub(crate) fn credential_request(
    server: &Server,
    token: &str,
    dpop_key: &dyn Signer,
    body: &Value,
) -> Answer {
    let url = format!("{}/credential", server.url);
    let proof = dpop(dpop_key, &url, Some(token), now());
    let auth = format!("DPoP {token}");
    call(
        "POST",
        &url,
        &[("Authorization", &auth), ("DPoP", &proof)],
        Some(("application/json", body.to_string())),
    )
}

pub(crate) fn request_body(
    server: &Server,
    configuration: &str,
    holder: &dyn Signer,
    nonce: &str,
    iat: u64,
    aud: Option<&str>,
) -> Value {
    let proof = ok(make_proof(
        aud.unwrap_or(&server.url),
        iat,
        Some(nonce),
        holder,
    ));
    json!({"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}})
}

pub(crate) fn setup() -> Env {
    setup_in(Env::new())
}

/// [`setup`] in `env`.
pub(crate) fn setup_in(env: Env) -> Env {
    env.init();
    env.import_sample();
    env
}

pub(crate) fn get_token(server: &Server, offer: &Offer, key: &dyn Signer) -> String {
    let t = token_request(server, offer, &offer.pin, Some(key));
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "DPoP");
    assert_eq!(t.body["expires_in"], 300);
    assert_eq!(t.cache_control.as_deref(), Some("no-store"));
    t.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A raw answer: status, `Retry-After`, JSON body.
pub(crate) struct RawAnswer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Value,
}

/// `POST path` with a form body from loopback address `source` (e.g. 127.0.0.2: on Linux the
/// whole 127/8 is loopback), on a connection of its own.
pub(crate) fn post_form_from(
    source: [u8; 4],
    server: &Server,
    path: &str,
    form: (&str, String),
) -> RawAnswer {
    post_form_with(source, server, path, form, &[])
}

/// [`post_form_from`] with extra request headers (e.g. `X-Forwarded-For`, as a proxy sends).
pub(crate) fn post_form_with(
    source: [u8; 4],
    server: &Server,
    path: &str,
    (content_type, body): (&str, String),
    headers: &[(&str, &str)],
) -> RawAnswer {
    let runtime = ok(tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build());
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    let stream = runtime.block_on(async {
        let socket = ok(tokio::net::TcpSocket::new_v4());
        ok(socket.bind(std::net::SocketAddr::from((source, 0))));
        let stream = ok(socket.connect(target).await);
        ok(stream.into_std())
    });
    let mut stream = stream;
    ok(stream.set_nonblocking(false));
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        server.port,
        body.len()
    );
    ok(stream.write_all(request.as_bytes()));
    let mut text = String::new();
    ok(stream.read_to_string(&mut text));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry_after = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| v.trim().to_owned());
    RawAnswer {
        status,
        retry_after,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// The token request's form for `offer` and `pin`.
pub(crate) fn token_form(code: &str, pin: &str) -> (&'static str, String) {
    form(&[
        ("grant_type", GRANT),
        ("pre-authorized_code", code),
        ("tx_code", pin),
    ])
}

/// A credential request with a given DPoP proof (to replay one).
pub(crate) fn credential_request_with_proof(
    server: &Server,
    token: &str,
    proof: &str,
    body: &Value,
) -> Answer {
    let auth = format!("DPoP {token}");
    call(
        "POST",
        &format!("{}/credential", server.url),
        &[("Authorization", &auth), ("DPoP", proof)],
        Some(("application/json", body.to_string())),
    )
}

/// The credential of a 200 answer.
pub(crate) fn credential_of(a: &Answer) -> String {
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["credentials"][0]["credential"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every (status list, index) pair given to more than one credential.
pub(crate) fn duplicate_status_indices(env: &Env) -> Vec<(i64, i64, i64)> {
    let db = env.db();
    let mut stmt = ok(db.prepare(
        "SELECT list_id, idx, COUNT(*) FROM credentials GROUP BY list_id, idx HAVING COUNT(*) > 1",
    ));
    let rows = ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))));
    ok(rows.collect::<Result<Vec<_>, _>>())
}

/// How many credentials `n` holds (superseded ones too).
pub(crate) fn credential_count(env: &Env, n: &str) -> i64 {
    ok(env.db().query_row(
        "SELECT COUNT(*) FROM credentials WHERE employee_number = ?1",
        [n],
        |r| r.get(0),
    ))
}
