//! A self-contained gate for demos, the browser test and the load test: an HR issuer, an offline
//! trust bundle (so no status host is needed), two staff members (one valid, one revoked) and
//! optionally a building's worth more (valid), a gate config, and fresh gate codes on demand.
//!
//! ```text
//! gate_demo setup DIR [PORT] [STAFF]  keys, credentials (STAFF more valid ones, default 0; their
//!                                     holder keys Ed25519, or P-256 with
//!                                     GATE_DEMO_STAFF_ALG=ES256), trust bundle, DIR/gate.toml
//! gate_demo code DIR allow|deny       a fresh GV1 code (KB-JWT iat = now) on stdout
//! gate_demo y4m DIR allow|deny OUT    a fake-camera video (640x480 I420) of a fresh code
//! gate_demo pool DIR N OUT            N fresh codes, one per line: 90% allow (from the STAFF in
//!                                     turn, or `allow`), 9% deny (revoked), 1% malformed; for wrk
//! gate_demo raw DIR N THREADS [memo|nomemo]
//!                                     in-process verify throughput (decode + verify + status) on
//!                                     N fresh valid codes, with the server's memos (holder keys,
//!                                     and issuer signatures unless `nomemo`), warmed with one code
//!                                     per person first: the ceiling the server is compared with
//! ```
// A demo tool: a failed step is reported by panicking with its cause.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/serve_common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::time::Instant;

use fixtures::{amira, now, valid_now, Issuer, Wallet};
use govid_core::credential::{gate_policy, GateProfile, WORKER_ID_VCT};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::jose::{SignatureCache, VerifyEverySignature};
use govid_core::qr::decode_payload;
use govid_core::sdjwt::{verify_using, HolderKeyCache, VerifyMemos};
use govid_core::status::{check_credential_status, StatusOutcome};
use govid_core::trust::{BundleIssuer, TrustBundle, TrustBundleBuilder};
use rand_core::OsRng;

// The server's allocator, so `raw` is measured with it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ISS: &str = "did:web:hr.ministry.example";
const AUD: &str = "https://gates.ministry.example/hq/main-entrance";
const STATUS_URI: &str = "https://hr.ministry.example/status/1";
const IDX_ALLOW: u64 = 41;
const IDX_DENY: u64 = 42;
/// The status index of extra staff member 0 (then 1, 2, …).
const IDX_STAFF: u64 = 100;

fn write(path: PathBuf, text: &str) {
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn read(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn setup(dir: &Path, port: u16, staff: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let issuer = Issuer::new(ISS);
    let operator = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let t = now();
    let list_len = (IDX_STAFF as usize + staff).next_multiple_of(1024);
    let token = issuer.status_token(STATUS_URI, t, list_len, &[(IDX_DENY as usize, 1)]);
    let bundle = TrustBundleBuilder::new(1, t, 30 * 86_400)
        .issuer(
            BundleIssuer::new(ISS, "Ministry HR office")
                .key(issuer.signer.public_key(), None)
                .vct(WORKER_ID_VCT)
                .status_list(STATUS_URI, token),
        )
        .sign(&operator)
        .unwrap();
    write(dir.join("trust-bundle.jwt"), &bundle);
    write(
        dir.join("operator.jwk"),
        &operator.public_key().to_jwk().to_string(),
    );
    write(
        dir.join("issuer.private.jwk"),
        &issuer.signer.to_private_jwk().to_string(),
    );
    for (name, idx) in [("allow", IDX_ALLOW), ("deny", IDX_DENY)] {
        let holder = Wallet::holder_key();
        let issued = issuer.issue(&amira(), &holder, valid_now(t), Some((idx, STATUS_URI)));
        write(
            dir.join(format!("holder-{name}.jwk")),
            &holder.to_private_jwk().to_string(),
        );
        write(dir.join(format!("credential-{name}.txt")), &issued);
    }
    // Phones' hardware keys are P-256: `GATE_DEMO_STAFF_ALG=ES256` gives the staff such keys.
    let staff_alg = match std::env::var("GATE_DEMO_STAFF_ALG").as_deref() {
        Ok("ES256") => Algorithm::ES256,
        _ => Algorithm::EdDSA,
    };
    for i in 0..staff {
        let holder = SoftwareSigner::generate(staff_alg, &mut OsRng);
        let mut claims = amira();
        claims.employee_number = format!("E-{i:05}");
        let at = Some((IDX_STAFF + i as u64, STATUS_URI));
        let issued = issuer.issue(&claims, &holder, valid_now(t), at);
        write(
            dir.join(format!("holder-staff{i}.jwk")),
            &holder.to_private_jwk().to_string(),
        );
        write(dir.join(format!("credential-staff{i}.txt")), &issued);
    }
    write(
        dir.join("gate.toml"),
        &format!(
            r#"# Demo gate (written by `gate_demo setup`): offline trust bundle, no network needed.
[gate]
id = "demo-gate"
audience = "{AUD}"
profile = "entry"

[server]
listen = "127.0.0.1:{port}"
rate_limit_per_sec = 0

[trust]
bundle = "trust-bundle.jwt"
bundle_operator_jwk = "operator.jwk"

[status]
fetch_discovered = false
max_staleness_secs = 2592000

[log]
db = "gate.db"
"#
        ),
    );
    println!("{}", dir.join("gate.toml").display());
}

fn wallet(dir: &Path, name: &str) -> Wallet {
    let issuer = Issuer::from_private_jwk(ISS, &read(dir, "issuer.private.jwk"));
    let holder: serde_json::Value =
        serde_json::from_str(&read(dir, &format!("holder-{name}.jwk"))).unwrap();
    let holder = SoftwareSigner::from_private_jwk(&holder).unwrap();
    Wallet::receive(
        holder,
        read(dir, &format!("credential-{name}.txt")).trim(),
        &issuer,
        now(),
    )
}

/// The wallets of the extra staff (`setup … STAFF`), or the `allow` one when there are none.
fn valid_wallets(dir: &Path) -> Vec<Wallet> {
    let staff: Vec<Wallet> = (0..)
        .map_while(|i| {
            let name = format!("staff{i}");
            dir.join(format!("credential-{name}.txt"))
                .exists()
                .then(|| wallet(dir, &name))
        })
        .collect();
    if staff.is_empty() {
        vec![wallet(dir, "allow")]
    } else {
        staff
    }
}

fn pool(dir: &Path, n: usize, out: &Path) {
    let valid = valid_wallets(dir);
    let deny = wallet(dir, "deny");
    let mut text = String::with_capacity(n * 1200);
    for i in 0..n {
        let code = match i % 100 {
            0..=89 => valid[i % valid.len()].code(AUD),
            90..=98 => deny.code(AUD),
            _ => "GV1:NOT-A-CODE".to_owned(),
        };
        text.push_str(&code);
        text.push('\n');
    }
    write(out.to_owned(), &text);
}

/// Decode + verify + status for each code, on `threads` threads: the work of one decision
/// without HTTP, logging or the replay cache. `memo`: remember issuer signatures, as the server
/// does by default (`signature_cache_entries`).
fn raw(dir: &Path, n: usize, threads: usize, memo: bool) {
    let valid = valid_wallets(dir);
    let codes: Vec<String> = (0..n).map(|i| valid[i % valid.len()].code(AUD)).collect();
    let operator: serde_json::Value = serde_json::from_str(&read(dir, "operator.jwk")).unwrap();
    let operator = govid_core::jose::PublicKey::from_jwk(&operator).unwrap();
    let bundle = TrustBundle::load(&read(dir, "trust-bundle.jwt"), &operator, None).unwrap();
    let policy = gate_policy(AUD, None, &GateProfile::Entry);
    // The server's memos, so both do the same work per verify.
    let holder_keys = HolderKeyCache::new(16_384);
    let signature_cache = SignatureCache::new(65_536);
    let memos = VerifyMemos {
        holder_keys: &holder_keys,
        issuer_signatures: if memo {
            &signature_cache
        } else {
            &VerifyEverySignature
        },
    };
    let t = now();
    let check = |code: &str| {
        let presentation = decode_payload(code).unwrap();
        let verified = verify_using(&presentation, &policy, &bundle, memos, t).unwrap();
        let status = check_credential_status(&verified.payload, &bundle, t).unwrap();
        assert_eq!(status, StatusOutcome::Valid);
    };
    // Warm, as a gate is after each worker's first entry: one code per person, not timed.
    for wallet in &valid {
        check(&wallet.code(AUD));
    }
    // Several rounds over the same codes (verify has no replay check): one round is a second or
    // two, short enough for another process to skew it; the median round is reported last.
    let mut rounds: Vec<(f64, f64)> = (0..RAW_ROUNDS)
        .map(|round| {
            let start = Instant::now();
            let cpu_start = cpu_seconds();
            std::thread::scope(|s| {
                for chunk in codes.chunks(n.div_ceil(threads)) {
                    let check = &check;
                    s.spawn(move || chunk.iter().for_each(|code| check(code)));
                }
            });
            let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_start);
            println!(
                "  round {round}: {secs:.3} s, {cpu:.2} CPU-s = {:.0} verifications per CPU-second",
                n as f64 / cpu
            );
            (secs, cpu)
        })
        .collect();
    rounds.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (secs, cpu) = rounds[rounds.len() / 2];
    println!(
        "raw in-process verify (median of {RAW_ROUNDS} rounds by CPU time): {n} codes on {threads} thread(s) in {secs:.3} s = {:.0} verifications/s; \
         {cpu:.2} CPU-s = {:.0} verifications per CPU-second",
        n as f64 / secs,
        n as f64 / cpu
    );
}

/// Rounds of `raw`.
const RAW_ROUNDS: usize = 5;

/// User + system CPU time of this process so far, from `/proc/self/stat` (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("missing argument {i}; see the doc comment"))
    };
    match arg(0) {
        "setup" => setup(
            Path::new(arg(1)),
            args.get(2).map_or(8080, |p| p.parse().unwrap()),
            args.get(3).map_or(0, |n| n.parse().unwrap()),
        ),
        "code" => println!("{}", wallet(Path::new(arg(1)), arg(2)).code(AUD)),
        "y4m" => {
            let code = wallet(Path::new(arg(1)), arg(2)).code(AUD);
            std::fs::write(arg(3), fixtures::qr_y4m(&code, 10)).unwrap();
            println!("{code}");
        }
        "pool" => pool(
            Path::new(arg(1)),
            arg(2).parse().unwrap(),
            Path::new(arg(3)),
        ),
        "raw" => raw(
            Path::new(arg(1)),
            arg(2).parse().unwrap(),
            arg(3).parse().unwrap(),
            args.get(4).is_none_or(|m| m != "nomemo"),
        ),
        other => panic!("unknown command {other}"),
    }
}
