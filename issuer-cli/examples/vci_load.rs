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

struct Args {
    url: String,
    codes: String,
    concurrency: usize,
    server_pid: Option<u32>,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        url: String::new(),
        codes: String::new(),
        concurrency: 64,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or("missing value")?;
        match flag.as_str() {
            "--url" => a.url = value,
            "--codes" => a.codes = value,
            "--concurrency" => a.concurrency = value.parse()?,
            "--server-pid" => a.server_pid = Some(value.parse()?),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if a.url.is_empty() || a.codes.is_empty() {
        return Err(
            "usage: vci_load --url URL --codes FILE [--concurrency N] [--server-pid PID]".into(),
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

/// One person's flow; the two credential requests' latencies.
async fn person(
    i: usize,
    p: &Person,
    url: &str,
    target: SocketAddr,
) -> Result<[Duration; 2], Error> {
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
        return Err(format!("token: {status} {}", String::from_utf8_lossy(&body)).into());
    }
    let token: Value = serde_json::from_slice(&body)?;
    let token = token["access_token"].as_str().ok_or("no token")?.to_owned();
    let auth = format!("DPoP {token}");
    let mut latencies = [Duration::ZERO; 2];
    for (k, configuration) in ["worker_id", "gate_pass"].into_iter().enumerate() {
        let (status, body) = exchange(&mut stream, host, "/nonce", &[], None).await?;
        if status != 200 {
            return Err(format!("nonce: {status}").into());
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
        latencies[k] = start.elapsed();
        if status != 200 {
            return Err(format!("credential: {status} {}", String::from_utf8_lossy(&body)).into());
        }
    }
    Ok(latencies)
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
    let target: SocketAddr = a
        .url
        .trim_start_matches("http://")
        .parse()
        .map_err(|_| "--url must be http://IP:PORT")?;
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
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(people.len() * 2)));
    let failures = Arc::new(AtomicUsize::new(0));
    let server_pid = a.server_pid.map(|p| p.to_string());
    let server_cpu_before = server_pid.as_deref().map(cpu_seconds);
    let self_cpu_before = cpu_seconds("self");
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..a.concurrency {
            let (people, next, latencies, failures) = (
                people.clone(),
                next.clone(),
                latencies.clone(),
                failures.clone(),
            );
            let url = a.url.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = people.get(i) else { break };
                    match person(i, p, &url, target).await {
                        Ok(l) => latencies
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .extend(l),
                        Err(e) => {
                            if failures.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("person {i}: {e}");
                            }
                        }
                    }
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
    let mut l = std::mem::take(
        &mut *latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    l.sort();
    let credentials = l.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "people {} (failed {}), concurrency {}",
        people.len(),
        failures.load(Ordering::Relaxed),
        a.concurrency
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
    Ok(())
}
