//! Load generator for `govid-issuer serve`'s credential endpoint (BENCHMARKS.md, "OpenID4VCI
//! credential endpoint").
//!
//! Reads the codes file `offer --all --codes-file FILE` wrote, fetches each offer object, makes
//! one P-256 phone key per person, then (the measured part) runs each person's wallet flow:
//! token (DPoP) → nonce → credential `worker_id` → nonce → credential `gate_pass`, with
//! `--concurrency` people at a time, each on a connection of its own from a loopback address of
//! its own (127.10.x.y: the service's rate limit is per client address, as for real phones).
//! Prints the credentials per second, the credential requests' latency percentiles, the CPU time
//! of this process and of the server (`--server-pid`), and the in-process bare cost of one proof
//! verification plus one issuer signature for the ratio.
//!
//!     cargo run --release -p govid-issuer --example vci_load -- \
//!         --url http://127.0.0.1:8470 --codes codes.csv --concurrency 64 --server-pid PID
//!
//! Replicas (`bench/vci/replicas.sh`, `scripts/test.d/47-issuer-replicas`): `--connect A,B`
//! spreads the people over replicas behind one public URL (`--url`, which every proof names),
//! person i starting at replica i mod n. A person whose replica fails them (refused or cut
//! connection: a replica killed) goes on at the next one from the step that failed, with the
//! same access token. `--jwks FILE` checks every credential received: the issuer's signature,
//! and one status entry per person (its worker ID's, shared by its gate pass), none given to two.
//! The last line of output is a JSON summary.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govid_core::dpop::{make_proof as make_dpop, DpopClaims};
use govid_core::jose::{Algorithm, Signer, SoftwareSigner};
use govid_core::oid4vci::offer::{parse_offer_uri, percent_encode, OfferUri};
use govid_core::oid4vci::proof::{make_proof, verify_proof};
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Person {
    code: String,
    pin: String,
    key: SoftwareSigner,
}

/// How far a person got (kept across replicas).
#[derive(Default)]
struct Progress {
    token: Option<String>,
    /// The credentials received, in configuration order.
    credentials: Vec<String>,
    latencies: Vec<Duration>,
}

/// A failure a retry at another replica may get past (the connection), or not (an answer).
enum Failure {
    Connection(Error),
    Refused(Error),
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Connection(e.into())
    }
}

struct Args {
    url: String,
    codes: String,
    concurrency: usize,
    server_pid: Option<u32>,
    connect: Vec<SocketAddr>,
    jwks: Option<String>,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        url: String::new(),
        codes: String::new(),
        concurrency: 64,
        server_pid: None,
        connect: Vec::new(),
        jwks: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or("missing value")?;
        match flag.as_str() {
            "--url" => a.url = value,
            "--codes" => a.codes = value,
            "--concurrency" => a.concurrency = value.parse()?,
            "--server-pid" => a.server_pid = Some(value.parse()?),
            "--connect" => {
                for addr in value.split(',') {
                    a.connect
                        .push(addr.parse().map_err(|_| "--connect: IP:PORT[,IP:PORT]")?);
                }
            }
            "--jwks" => a.jwks = Some(value),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if a.url.is_empty() || a.codes.is_empty() {
        return Err(
            "usage: vci_load --url URL --codes FILE [--concurrency N] [--server-pid PID] \
             [--connect IP:PORT,IP:PORT] [--jwks FILE]"
                .into(),
        );
    }
    Ok(a)
}

/// CPU seconds (user + system) of process `pid` (`self` for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// One HTTP/1.1 exchange on a kept-alive connection: status and body.
async fn exchange(
    stream: &mut BufReader<TcpStream>,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Result<(u16, Vec<u8>), Error> {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    let (content_type, text) = body.unwrap_or(("text/plain", ""));
    request.push_str(&format!(
        "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    ));
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line.split(' ').nth(1).ok_or("no status")?.parse()?;
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse()?;
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.trim().eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim_end(), 16)?;
            let mut chunk = vec![0u8; size + 2];
            stream.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..size]);
        }
    } else {
        out.resize(length, 0);
        stream.read_exact(&mut out).await?;
    }
    Ok((status, out))
}

fn jti() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    govid_core::b64::encode(b)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One person's flow at `target`, from where `progress` says it stopped.
async fn person(
    i: usize,
    p: &Person,
    url: &str,
    target: SocketAddr,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let socket = TcpSocket::new_v4()?;
    let source = [127, 10 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let host = url.trim_start_matches("http://");
    let dpop = |path: &str, token: Option<&str>| {
        make_dpop(
            &DpopClaims {
                jti: &jti(),
                htm: "POST",
                htu: &format!("{url}{path}"),
                iat: now(),
                access_token: token,
            },
            &p.key,
        )
    };
    let refused = |what: &str, status: u16, body: &[u8]| {
        Failure::Refused(format!("{what}: {status} {}", String::from_utf8_lossy(body)).into())
    };
    let token = match &progress.token {
        Some(token) => token.clone(),
        None => {
            let form = format!(
                "grant_type={}&pre-authorized_code={}&tx_code={}",
                percent_encode("urn:ietf:params:oauth:grant-type:pre-authorized_code"),
                percent_encode(&p.code),
                p.pin
            );
            let proof = dpop("/token", None)?;
            let (status, body) = exchange(
                &mut stream,
                host,
                "/token",
                &[("DPoP", &proof)],
                Some(("application/x-www-form-urlencoded", &form)),
            )
            .await?;
            if status != 200 {
                return Err(refused("token", status, &body));
            }
            let token: Value = serde_json::from_slice(&body)?;
            let token = token["access_token"].as_str().ok_or("no token")?.to_owned();
            progress.token = Some(token.clone());
            token
        }
    };
    let auth = format!("DPoP {token}");
    for configuration in ["worker_id", "gate_pass"]
        .into_iter()
        .skip(progress.credentials.len())
    {
        let (status, body) = exchange(&mut stream, host, "/nonce", &[], None).await?;
        if status != 200 {
            return Err(refused("nonce", status, &body));
        }
        let nonce: Value = serde_json::from_slice(&body)?;
        let nonce = nonce["c_nonce"].as_str().ok_or("no nonce")?;
        let key_proof = make_proof(url, now(), Some(nonce), &p.key)?;
        let request = serde_json::json!({"credential_configuration_id": configuration,
            "proofs": {"jwt": [key_proof]}})
        .to_string();
        let proof = dpop("/credential", Some(&token))?;
        let start = Instant::now();
        let (status, body) = exchange(
            &mut stream,
            host,
            "/credential",
            &[("Authorization", &auth), ("DPoP", &proof)],
            Some(("application/json", &request)),
        )
        .await?;
        let took = start.elapsed();
        if status == 503 {
            // A replica shutting down or cut off from its database: try another.
            return Err(Failure::Connection(format!("credential: {status}").into()));
        }
        if status != 200 {
            return Err(refused("credential", status, &body));
        }
        let answer: Value = serde_json::from_slice(&body)?;
        let credential = answer["credentials"][0]["credential"]
            .as_str()
            .ok_or("no credential")?;
        progress.credentials.push(credential.to_owned());
        progress.latencies.push(took);
    }
    Ok(())
}

/// Checks every person's credentials with the issuer keys of `jwks`: each signature, and that
/// each person has one status entry (worker ID and gate pass alike) that nobody else has.
/// Returns (credentials verified, people with a unique entry); the first problem is an error.
fn check_all(jwks: &str, received: &[Progress]) -> Result<(usize, usize), Error> {
    let jwks: Value = serde_json::from_str(&std::fs::read_to_string(jwks)?)?;
    let keys: Vec<(String, govid_core::jose::PublicKey)> = jwks["keys"]
        .as_array()
        .ok_or("jwks: no keys")?
        .iter()
        .map(|k| {
            let mut public = k.clone();
            if let Some(o) = public.as_object_mut() {
                o.remove("kid");
            }
            Ok((
                k["kid"].as_str().unwrap_or_default().to_owned(),
                govid_core::jose::PublicKey::from_jwk(&public)?,
            ))
        })
        .collect::<Result<_, Error>>()?;
    let mut seen = std::collections::HashSet::new();
    let mut verified = 0;
    for (i, p) in received.iter().enumerate() {
        let mut entry = None;
        for credential in &p.credentials {
            let jwt = credential.split('~').next().unwrap_or_default();
            let jws = govid_core::jose::CompactJws::parse(jwt, 16)?;
            let kid = jws.header.kid.clone().unwrap_or_default();
            let (_, key) = keys
                .iter()
                .find(|(k, _)| *k == kid)
                .ok_or_else(|| format!("person {i}: unknown kid {kid}"))?;
            jws.verify(key, &Algorithm::ALL)
                .map_err(|e| format!("person {i}: signature: {e}"))?;
            let claims: Value = serde_json::from_slice(&jws.payload)?;
            let list = &claims["status"]["status_list"];
            let this = (list["uri"].to_string(), list["idx"].to_string());
            match &entry {
                None => entry = Some(this),
                Some(e) if *e == this => {}
                Some(_) => return Err(format!("person {i}: two status entries").into()),
            }
            verified += 1;
        }
        if let Some(e) = entry {
            if !seen.insert(e) {
                return Err(format!("person {i}: a status entry given before").into());
            }
        }
    }
    Ok((verified, seen.len()))
}

/// In-process bare cost: one ES256 proof verification plus one EdDSA issuer signature (over a
/// worker-ID-sized input), per operation, median of 5 rounds of 2,000.
fn bare_cost(url: &str) -> Result<Duration, Error> {
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let issuer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let proof = make_proof(url, now(), Some("n0nce"), &phone)?;
    let payload = vec![b'x'; 2600];
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..2000 {
            let checked = verify_proof(&proof, url, now(), &Algorithm::ALL)?;
            std::hint::black_box(&checked);
            std::hint::black_box(issuer.sign(&payload)?);
        }
        rounds.push(start.elapsed() / 2000);
    }
    rounds.sort();
    Ok(rounds[2])
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() -> Result<(), Error> {
    let a = args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let targets: Vec<SocketAddr> = if a.connect.is_empty() {
        vec![a
            .url
            .trim_start_matches("http://")
            .parse()
            .map_err(|_| "--url must be http://IP:PORT (or give --connect)")?]
    } else {
        a.connect.clone()
    };
    // Setup (not measured): offers and phone keys.
    let mut reader = csv::Reader::from_path(&a.codes)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or("codes file column")
    };
    let (uri_col, pin_col) = (col("openid4vci_offer_uri")?, col("openid4vci_tx_code")?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        rows.push((record[uri_col].to_owned(), record[pin_col].to_owned()));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut people = Vec::with_capacity(rows.len());
    for (uri, pin) in rows {
        let OfferUri::ByReference(offer_url) = parse_offer_uri(&uri)? else {
            return Err("offer URI by value".into());
        };
        let offer: Value =
            serde_json::from_str(&agent.get(&offer_url).call()?.body_mut().read_to_string()?)?;
        let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .ok_or("no code")?
            .to_owned();
        people.push(Person {
            code,
            pin,
            key: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
        });
    }
    let bare = bare_cost(&a.url)?;
    let people = Arc::new(people);
    let next = Arc::new(AtomicUsize::new(0));
    let received: Arc<Vec<Mutex<Progress>>> =
        Arc::new((0..people.len()).map(|_| Mutex::default()).collect());
    let failures = Arc::new(AtomicUsize::new(0));
    let moved = Arc::new(AtomicUsize::new(0));
    let lost_tokens = Arc::new(AtomicUsize::new(0));
    let targets = Arc::new(targets);
    let server_pid = a.server_pid.map(|p| p.to_string());
    let server_cpu_before = server_pid.as_deref().map(cpu_seconds);
    let self_cpu_before = cpu_seconds("self");
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..a.concurrency {
            let (people, next, received, failures, moved, targets) = (
                people.clone(),
                next.clone(),
                received.clone(),
                failures.clone(),
                moved.clone(),
                targets.clone(),
            );
            let lost_tokens = lost_tokens.clone();
            let url = a.url.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = people.get(i) else { break };
                    let mut progress = std::mem::take(
                        &mut *received[i]
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                    // Each replica once, then the first again (a replica may be restarting).
                    let mut outcome = Ok(());
                    let mut cut_before_token = false;
                    for attempt in 0..=targets.len() {
                        let target = targets[(i + attempt) % targets.len()];
                        let had_token = progress.token.is_some();
                        outcome = person(i, p, &url, target, &mut progress).await;
                        match &outcome {
                            Err(Failure::Connection(_)) if attempt < targets.len() => {
                                cut_before_token |= !had_token && progress.token.is_none();
                                moved.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            _ => break,
                        }
                    }
                    // A token request cut off after its replica recorded the code as used
                    // (the answer lost with the replica): the code is spent, as a one-time
                    // code must be, and the person needs a new offer. Counted apart.
                    let lost_token = matches!(&outcome, Err(Failure::Refused(e))
                        if cut_before_token && e.to_string().contains("already used"));
                    if lost_token {
                        lost_tokens.fetch_add(1, Ordering::Relaxed);
                    } else if let Err(Failure::Connection(e) | Failure::Refused(e)) = outcome {
                        if failures.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("person {i}: {e}");
                        }
                    }
                    *received[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = progress;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let wall = start.elapsed().as_secs_f64();
    let self_cpu = cpu_seconds("self") - self_cpu_before;
    let server_cpu = match (server_pid.as_deref(), server_cpu_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid) - before),
        _ => None,
    };
    let received: Vec<Progress> = received
        .iter()
        .map(|p| std::mem::take(&mut *p.lock().unwrap_or_else(std::sync::PoisonError::into_inner)))
        .collect();
    let mut l: Vec<Duration> = received.iter().flat_map(|p| p.latencies.clone()).collect();
    l.sort();
    let credentials = l.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "people {} (failed {}, moved to another replica {}), concurrency {}, replicas {}",
        people.len(),
        failures.load(Ordering::Relaxed),
        moved.load(Ordering::Relaxed),
        a.concurrency,
        targets.len()
    );
    println!(
        "credentials {credentials} in {wall:.2} s: {:.0} credentials/s",
        credentials as f64 / wall
    );
    println!(
        "credential request latency p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms",
        ms(percentile(&l, 0.5)),
        ms(percentile(&l, 0.9)),
        ms(percentile(&l, 0.99)),
        ms(percentile(&l, 1.0))
    );
    println!(
        "load generator CPU {self_cpu:.2} s ({:.0} µs per credential)",
        self_cpu * 1e6 / credentials as f64
    );
    if let Some(cpu) = server_cpu {
        let per = cpu / credentials as f64;
        println!(
            "server CPU {cpu:.2} s: {:.0} µs per credential (whole flow: token, nonces, both credentials), {:.0} credentials per server CPU-second",
            per * 1e6,
            1.0 / per
        );
        println!(
            "bare proof verify + sign in process: {:.0} µs ({:.0}/CPU-s); server per credential ÷ bare = {:.2}",
            bare.as_secs_f64() * 1e6,
            1.0 / bare.as_secs_f64(),
            per / bare.as_secs_f64()
        );
    } else {
        println!(
            "bare proof verify + sign in process: {:.0} µs",
            bare.as_secs_f64() * 1e6
        );
    }
    let (verified, unique_entries) = match &a.jwks {
        Some(jwks) => check_all(jwks, &received)?,
        None => (0, 0),
    };
    println!(
        "{}",
        serde_json::json!({
            "people": people.len(),
            "credentials": credentials,
            "failed": failures.load(Ordering::Relaxed),
            "moved": moved.load(Ordering::Relaxed),
            "lost_token_answers": lost_tokens.load(Ordering::Relaxed),
            "verified": verified,
            "unique_status_entries": unique_entries,
            "credentials_per_second": (credentials as f64 / wall).round(),
            "p99_ms": (ms(percentile(&l, 0.99)) * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
