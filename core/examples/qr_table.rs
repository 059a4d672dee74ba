//! Gate QR sizes: credential shape × decoys × holder key × disclosed claims → compact
//! bytes, `GV1:` characters and QR version at ECC M, then where the bytes go and what each size
//! lever saves. The tables are in BENCHMARKS.md, "Gate QR sizes".
//!
//! Every row issues and presents `--runs` credentials (default 20) and prints min / median / max.
//! Run `i` of every row draws from `ChaCha20Rng::seed_from_u64(i)`, so the output is the same on
//! every run and machine, and rows differ only by what the row changes. The issuer signs with
//! EdDSA and a `kid`, as `govid-issuer` does; every presentation carries a KB-JWT for a gate
//! (`aud` 34 bytes, `nonce` 22 base64url characters) and is checked with the gate policy.
//!
//! Run: `cargo run --release -p govid-core --example qr_table` (`-- --runs 5` for a quick look).
//! `-- --present worker-id` or `-- --present gate-pass` prints run 0's `entry` presentation of the
//! standard shape with a P-256 holder key (worker ID with decoys 1–3), for
//! `govid-verifier qr encode --png` (the README's gate QR images, `docs/qr/`).

use std::error::Error;

use base64::Engine as _;
use govid_core::credential::{
    gate_policy, issue_gate_pass, issue_worker_id, GateProfile, Organization, StatusListRef,
    Validity, WorkerClaims, WorkerIdParams, GATE_PASS_VCT,
};
use govid_core::jose::{Algorithm, Signer, SoftwareSigner, WithKeyId};
use govid_core::qr::{encode_presentation, render, Ecc, QrError};
use govid_core::sdjwt::{
    issue, verify, ClaimNode, ClaimPath, Decoys, HeldSdJwt, IssueOptions, KbRequest, PresentError,
    SdAlg, VerifyPolicy, SD_JWT_VC_TYP,
};
use govid_core::trust::PinnedKeys;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{Map, Value};

type Res<T> = Result<T, Box<dyn Error>>;

const NOW: u64 = 1_795_000_000;
const ISSUER: &str = "did:web:hr.ministry.example";
const KID: &str = "did:web:hr.ministry.example#key-1";
const AUD: &str = "https://gate-7.hq.ministry.example";
const NONCE: &str = "q2Zs0t1YbTnK8xWv_3-uLA";
/// Bytes of the "small portrait" JPEG of the `full` shape (random bytes: JPEG data is dense).
const PORTRAIT_JPEG_BYTES: usize = 1500;
/// Always-visible claims: never in a disclosure.
const ENVELOPE: [&str; 7] = ["iss", "iat", "nbf", "exp", "vct", "cnf", "status"];

/// Which credential to issue.
#[derive(Clone, Copy)]
enum Kind {
    /// `issue_worker_id`, with these decoys per object.
    WorkerId(Decoys),
    /// `issue_gate_pass` (padded to a fixed digest count).
    GatePass,
    /// A tree govid does not issue, built here only to measure what a change would save.
    Custom(Custom),
}

/// A hand-built variant of the worker ID or the gate pass, from the worker ID's claims.
#[derive(Clone, Copy)]
struct Custom {
    /// The disclosable claims to keep (`None`: all of the worker ID's).
    keep: Option<&'static [&'static str]>,
    /// How `organization` is issued.
    organization: Org,
    /// `Some`: replaces the `vct`.
    vct: Option<&'static str>,
    /// Whether the issuer header carries `kid`.
    kid: bool,
    /// Decoys per object with disclosable members.
    decoys: Decoys,
}

#[derive(Clone, Copy)]
enum Org {
    /// An object whose `name` and `code` are each disclosable (the worker ID).
    Nested,
    /// One disclosure holding `{"code","name"}` (the gate pass).
    One,
    /// Always visible: not selectively disclosable at all.
    Plain,
}

const WORKER: Custom = Custom {
    keep: None,
    organization: Org::Nested,
    vct: None,
    kid: true,
    decoys: Decoys { min: 2, max: 2 },
};
const PASS: Custom = Custom {
    keep: Some(&[
        "given_name",
        "family_name",
        "organization",
        "clearance",
        "access_zones",
    ]),
    organization: Org::One,
    vct: Some(GATE_PASS_VCT),
    kid: true,
    decoys: Decoys::NONE,
};

/// What the holder discloses.
#[derive(Clone, Copy)]
enum Disclose {
    Entry,
    Counter,
    All,
}

impl Disclose {
    fn name(self) -> &'static str {
        match self {
            Disclose::Entry => "entry",
            Disclose::Counter => "counter",
            Disclose::All => "all",
        }
    }
}

/// One measured presentation.
struct Sample {
    compact: String,
    payload: String,
    /// QR version at ECC M; 41 when even version 40 is too small.
    version: u8,
}

fn main() -> Res<()> {
    let runs = match Args::parse()? {
        Args::Runs(runs) => runs,
        Args::Present(kind) => {
            // Run 0's `entry` presentation with a P-256 holder key, for `govid-verifier qr encode`.
            let mut rng = ChaCha20Rng::seed_from_u64(0);
            let standard = &shapes()[1].1;
            let compact = present(&mut rng, kind, standard, Algorithm::ES256, Disclose::Entry)?
                .ok_or("entry not presentable")?;
            println!("{compact}");
            return Ok(());
        }
    };
    let shapes = shapes();
    size_table(runs, &shapes)?;
    let standard = &shapes[1].1;
    println!(
        "\n### Where the bytes go: standard worker ID, ES256 holder, decoys 1–3, entry (run 0)\n"
    );
    breakdown(Kind::WorkerId(Decoys { min: 1, max: 3 }), standard)?;
    println!("\n### Where the bytes go: gate pass, ES256 holder, entry (run 0)\n");
    breakdown(Kind::GatePass, standard)?;
    levers(runs, standard)?;
    capacities();
    Ok(())
}

/// The main table: every shape, decoy setting, holder key and disclosure.
fn size_table(runs: usize, shapes: &[(&str, WorkerClaims)]) -> Res<()> {
    let decoy_settings = [
        ("0", Decoys::NONE),
        ("1–3", Decoys { min: 1, max: 3 }),
        ("3–6", Decoys { min: 3, max: 6 }),
    ];
    let holders = [Algorithm::EdDSA, Algorithm::ES256];

    println!("### Worker ID and gate pass presentations, {runs} issuances per row (min / median / max)\n");
    println!("| credential | shape | decoys | holder | disclosed | compact bytes | GV1 chars | QR version (M) |");
    println!("|---|---|---|---|---|---:|---:|---:|");
    for (shape, claims) in shapes {
        for (decoy_name, decoys) in decoy_settings {
            for holder in holders {
                for disclose in [Disclose::Entry, Disclose::Counter, Disclose::All] {
                    let kind = Kind::WorkerId(decoys);
                    let samples = measure(runs, kind, claims, holder, disclose)?;
                    row("worker ID", shape, decoy_name, holder, disclose, &samples);
                }
            }
        }
    }
    for (shape, claims) in shapes {
        for holder in holders {
            for disclose in [Disclose::Entry, Disclose::All] {
                let samples = measure(runs, Kind::GatePass, claims, holder, disclose)?;
                row("gate pass", shape, "pad to 5", holder, disclose, &samples);
            }
        }
    }
    Ok(())
}

/// What each change saves on the standard shape's `entry` presentation.
fn levers(runs: usize, standard: &WorkerClaims) -> Res<()> {
    println!("\n### Levers: standard shape, `entry` + KB-JWT, {runs} issuances each (median)\n");
    println!(
        "Worker ID levers start from 2 decoys per object (the mean of the default 1–3) so that"
    );
    println!(
        "each row differs from the baseline by the change alone; gate pass levers from the pass.\n"
    );
    println!("| change | holder | GV1 chars | Δ chars | QR version (min / median / max) |");
    println!("|---|---|---:|---:|---:|");
    let entry_only: &'static [&'static str] = &["given_name", "family_name", "organization"];
    let worker_levers = [
        (
            "worker ID, 2 decoys per object: baseline",
            Kind::Custom(WORKER),
        ),
        (
            "worker ID as issued (decoys 1–3)",
            Kind::WorkerId(Decoys { min: 1, max: 3 }),
        ),
        (
            "no decoys",
            Kind::Custom(Custom {
                decoys: Decoys::NONE,
                ..WORKER
            }),
        ),
        (
            "4 decoys per object (4 digests more)",
            Kind::Custom(Custom {
                decoys: Decoys { min: 4, max: 4 },
                ..WORKER
            }),
        ),
        (
            "no `kid` in the issuer header",
            Kind::Custom(Custom {
                kid: false,
                ..WORKER
            }),
        ),
        (
            "`organization` as one disclosure",
            Kind::Custom(Custom {
                organization: Org::One,
                ..WORKER
            }),
        ),
        (
            "`organization` as one disclosure, decoys 1–3",
            Kind::Custom(Custom {
                organization: Org::One,
                decoys: Decoys { min: 1, max: 3 },
                ..WORKER
            }),
        ),
        (
            "`organization` as one disclosure, no decoys",
            Kind::Custom(Custom {
                organization: Org::One,
                decoys: Decoys::NONE,
                ..WORKER
            }),
        ),
    ];
    let pass_levers = [
        ("gate pass (as issued): baseline", Kind::GatePass),
        (
            "gate pass, nested `organization`",
            Kind::Custom(Custom {
                organization: Org::Nested,
                ..PASS
            }),
        ),
        (
            "gate pass, `organization` always visible",
            Kind::Custom(Custom {
                organization: Org::Plain,
                ..PASS
            }),
        ),
        (
            "gate pass without `clearance`, `access_zones` (3 digests)",
            Kind::Custom(Custom {
                keep: Some(entry_only),
                ..PASS
            }),
        ),
        (
            "gate pass, no `kid`",
            Kind::Custom(Custom { kid: false, ..PASS }),
        ),
    ];
    for holder in [Algorithm::ES256, Algorithm::EdDSA] {
        for levers in [&worker_levers[..], &pass_levers[..]] {
            let base = median(
                &measure(runs, levers[0].1, standard, holder, Disclose::Entry)?,
                |s| s.payload.len(),
            );
            for &(name, kind) in levers {
                let samples = measure(runs, kind, standard, holder, Disclose::Entry)?;
                let chars = median(&samples, |s| s.payload.len());
                let delta = chars as i64 - base as i64;
                println!(
                    "| {name} | {holder:?} | {chars} | {delta:+} | {} |",
                    spread(&samples, |s| usize::from(s.version), fmt_version)
                );
            }
        }
    }
    Ok(())
}

fn capacities() {
    println!("\n### QR capacity at ECC M, alphanumeric (`GV1:` payload characters)\n");
    println!("| version | 20 | 21 | 22 | 23 | 24 | 25 | 26 | 28 | 30 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let caps = [20, 21, 22, 23, 24, 25, 26, 28, 30].map(capacity);
    println!(
        "| max chars | {} |",
        caps.map(|c| c.to_string()).join(" | ")
    );
}

/// The most alphanumeric characters a QR code of `version` holds at ECC M.
fn capacity(version: u8) -> usize {
    let fits = |n: usize| render(&"A".repeat(n), Ecc::M).is_ok_and(|c| c.version() <= version);
    let (mut lo, mut hi) = (1usize, 4296);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

enum Args {
    /// Print the tables, with this many issuances per row.
    Runs(usize),
    /// Print one presentation.
    Present(Kind),
}

impl Args {
    fn parse() -> Res<Self> {
        let mut args = std::env::args().skip(1);
        match (args.next().as_deref(), args.next().as_deref()) {
            (None, _) => Ok(Args::Runs(20)),
            (Some("--runs"), Some(n)) => Ok(Args::Runs(n.parse::<usize>()?.max(1))),
            (Some("--present"), Some("worker-id")) => {
                Ok(Args::Present(Kind::WorkerId(Decoys { min: 1, max: 3 })))
            }
            (Some("--present"), Some("gate-pass")) => Ok(Args::Present(Kind::GatePass)),
            _ => Err("usage: qr_table [--runs N | --present worker-id|gate-pass]".into()),
        }
    }
}

/// minimal: the required claims only; standard: every claim but the portrait, 3 access zones;
/// full: standard + a small portrait.
fn shapes() -> Vec<(&'static str, WorkerClaims)> {
    let organization = Organization {
        name: "Ministry of Transport".into(),
        code: "MOT".into(),
    };
    let minimal = WorkerClaims::new("Amira", "Haddad", "E-10442", organization);
    let standard = WorkerClaims {
        department: Some("Road Safety".into()),
        position: Some("Senior Inspector".into()),
        grade: Some("G7".into()),
        clearance: Some("B".into()),
        birthdate: Some("1986-04-12".into()),
        access_zones: vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()],
        ..minimal.clone()
    };
    let mut jpeg = vec![0u8; PORTRAIT_JPEG_BYTES];
    ChaCha20Rng::seed_from_u64(u64::MAX).fill_bytes(&mut jpeg);
    let portrait = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&jpeg)
    );
    let full = WorkerClaims {
        portrait: Some(portrait),
        ..standard.clone()
    };
    vec![("minimal", minimal), ("standard", standard), ("full", full)]
}

/// `runs` samples; empty when the credential lacks a claim the disclosure needs.
fn measure(
    runs: usize,
    kind: Kind,
    claims: &WorkerClaims,
    holder: Algorithm,
    disclose: Disclose,
) -> Res<Vec<Sample>> {
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs {
        let mut rng = ChaCha20Rng::seed_from_u64(run as u64);
        match present(&mut rng, kind, claims, holder, disclose)? {
            Some(compact) => samples.push(sample(compact)?),
            None => return Ok(Vec::new()),
        }
    }
    Ok(samples)
}

fn sample(compact: String) -> Res<Sample> {
    let payload = encode_presentation(&compact)?;
    let version = match render(&payload, Ecc::M) {
        Ok(code) => code.version(),
        Err(QrError::TooLarge { .. }) => 41,
        Err(e) => return Err(e.into()),
    };
    Ok(Sample {
        compact,
        payload,
        version,
    })
}

/// Issues, receives, presents with a KB-JWT and verifies one credential; `None` when the
/// credential lacks a claim the disclosure needs.
fn present(
    rng: &mut ChaCha20Rng,
    kind: Kind,
    claims: &WorkerClaims,
    holder_alg: Algorithm,
    disclose: Disclose,
) -> Res<Option<String>> {
    let issuer = WithKeyId {
        signer: SoftwareSigner::generate(Algorithm::EdDSA, rng),
        kid: KID.to_owned(),
    };
    let holder = SoftwareSigner::generate(holder_alg, rng);
    let holder_key = holder.public_key();
    let mut params = WorkerIdParams {
        issuer: ISSUER,
        holder_key: &holder_key,
        validity: Validity {
            issued_at: NOW,
            not_before: NOW,
            expires_at: NOW + 365 * 86_400,
        },
        status: Some(StatusListRef {
            idx: 48_213,
            uri: "https://hr.ministry.example/status/1".into(),
        }),
        decoys: Decoys::NONE,
    };
    let issued = match kind {
        Kind::WorkerId(decoys) => {
            params.decoys = decoys;
            issue_worker_id(claims, &params, &issuer, rng)?.compact()
        }
        Kind::GatePass => issue_gate_pass(claims, &params, &issuer, rng)?.compact(),
        Kind::Custom(custom) => {
            // The worker ID's claims as its holder sees them all, re-issued another way. A
            // separate RNG, so the variant draws the same salts and decoys as the baseline.
            let mut side = ChaCha20Rng::seed_from_u64(u64::MAX - 1);
            let plain = issue_worker_id(claims, &params, &issuer, &mut side)?.compact();
            let full = receive(&plain, &issuer)?.claims().clone();
            let signer: &dyn Signer = if custom.kid { &issuer } else { &issuer.signer };
            issue_custom(custom, &full, signer, rng)?
        }
    };
    let held = receive(&issued, &issuer)?;
    let profile = match disclose {
        Disclose::Entry => GateProfile::Entry,
        Disclose::Counter => GateProfile::Counter,
        Disclose::All => GateProfile::Custom(
            held.claims()
                .keys()
                .filter(|k| !ENVELOPE.contains(&k.as_str()))
                .map(|k| ClaimPath::key(k))
                .collect(),
        ),
    };
    let request = KbRequest {
        aud: AUD.into(),
        nonce: NONCE.into(),
        iat: NOW + 60,
    };
    let shown = match held.present(&profile.claims(), Some((&request, &holder))) {
        Ok(shown) => shown,
        Err(PresentError::NoSuchClaim(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let policy = gate_policy(AUD, Some(NONCE.into()), &profile);
    let trusted = PinnedKeys::single(issuer.public_key());
    verify(&shown, &policy, &trusted, NOW + 60)?;
    Ok(Some(shown))
}

fn receive(issued: &str, issuer: &dyn Signer) -> Res<HeldSdJwt> {
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..VerifyPolicy::default()
    };
    let trusted = PinnedKeys::single(issuer.public_key());
    Ok(HeldSdJwt::receive(issued, &policy, &trusted, NOW)?)
}

/// Re-issues `full` (every worker ID claim, disclosed) as `custom` says.
fn issue_custom(
    custom: Custom,
    full: &Map<String, Value>,
    signer: &dyn Signer,
    rng: &mut ChaCha20Rng,
) -> Res<String> {
    let mut root = ClaimNode::object();
    for (name, value) in full {
        let kept = custom.keep.is_none_or(|keep| keep.contains(&name.as_str()));
        match (name.as_str(), value) {
            ("vct", _) => root = root.plain("vct", custom.vct.map_or(value.clone(), Value::from)),
            (name, _) if ENVELOPE.contains(&name) => root = root.plain(name, value.clone()),
            _ if !kept => {}
            ("organization", Value::Object(org)) => {
                root = match custom.organization {
                    Org::Nested => root.sd(
                        name,
                        org.iter()
                            .fold(ClaimNode::object(), |o, (k, v)| o.sd(k, v.clone())),
                    ),
                    Org::One => root.sd(name, value.clone()),
                    Org::Plain => root.plain(name, value.clone()),
                }
            }
            ("access_zones", Value::Array(zones)) => {
                let zones = zones
                    .iter()
                    .fold(ClaimNode::array(), |a, z| a.push_sd(z.clone()));
                root = root.sd(name, zones);
            }
            _ => root = root.sd(name, value.clone()),
        }
    }
    let options = IssueOptions {
        sd_alg: SdAlg::Sha256,
        decoys: custom.decoys,
        typ: Some(SD_JWT_VC_TYP.to_owned()),
    };
    Ok(issue(&root, &options, signer, rng)?.compact())
}

/// Prints each field of run 0's presentation: its decoded size and what removing it saves in the
/// `GV1:` payload (field replaced by nothing; the savings do not add up exactly, compression
/// shares context between fields).
fn breakdown(kind: Kind, claims: &WorkerClaims) -> Res<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let compact = present(&mut rng, kind, claims, Algorithm::ES256, Disclose::Entry)?
        .ok_or("entry not presentable")?;
    let total = encode_presentation(&compact)?.len();
    let fields: Vec<&str> = compact.split('~').collect();
    let jwt: Vec<&str> = fields[0].split('.').collect();
    let kb: Vec<&str> = fields[fields.len() - 1].split('.').collect();
    let payload: Value = serde_json::from_slice(&b64(jwt[1])?)?;
    let digests = payload["_sd"].as_array().map_or(0, Vec::len);
    println!("| part | base64url chars | decoded bytes | GV1 chars saved without it |");
    println!("|---|---:|---:|---:|");
    let without = |field_index: usize, sub: Option<usize>| -> Res<usize> {
        let mut parts: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        match sub {
            Some(i) => {
                let mut pieces: Vec<&str> = fields[field_index].split('.').collect();
                pieces[i] = "";
                parts[field_index] = pieces.join(".");
            }
            None => parts[field_index].clear(),
        }
        Ok(total - encode_presentation(&parts.join("~"))?.len())
    };
    let names = ["header", "payload", "signature"];
    for (i, piece) in jwt.iter().enumerate() {
        let what = match i {
            1 => format!("issuer JWT payload ({digests} digests in `_sd`)"),
            _ => format!("issuer JWT {}", names[i]),
        };
        println!(
            "| {what} | {} | {} | {} |",
            piece.len(),
            b64(piece)?.len(),
            without(0, Some(i))?
        );
    }
    for (i, d) in fields.iter().enumerate().take(fields.len() - 1).skip(1) {
        let array: Value = serde_json::from_slice(&b64(d)?)?;
        let name = array
            .get(1)
            .and_then(Value::as_str)
            .unwrap_or("(array element)");
        let nested = array
            .get(2)
            .and_then(|v| v.get("_sd"))
            .and_then(Value::as_array);
        let note = nested.map_or(String::new(), |n| format!(", holds {} digests", n.len()));
        println!(
            "| disclosure `{name}`{note} | {} | {} | {} |",
            d.len(),
            b64(d)?.len(),
            without(i, None)?
        );
    }
    for (i, piece) in kb.iter().enumerate() {
        println!(
            "| KB-JWT {} | {} | {} | {} |",
            names[i],
            piece.len(),
            b64(piece)?.len(),
            without(fields.len() - 1, Some(i))?
        );
    }
    println!(
        "| **total** | {} | | **{total}** (QR version {}) |",
        compact.len(),
        sample(compact.clone())?.version
    );
    Ok(())
}

fn b64(text: &str) -> Res<Vec<u8>> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text)?)
}

fn row(
    credential: &str,
    shape: &str,
    decoys: &str,
    holder: Algorithm,
    disclose: Disclose,
    samples: &[Sample],
) {
    let d = disclose.name();
    if samples.is_empty() {
        println!(
            "| {credential} | {shape} | {decoys} | {holder:?} | {d} | n/a: no `position` | | |"
        );
        return;
    }
    println!(
        "| {credential} | {shape} | {decoys} | {holder:?} | {d} | {} | {} | {} |",
        spread(samples, |s| s.compact.len(), |v| v.to_string()),
        spread(samples, |s| s.payload.len(), |v| v.to_string()),
        spread(samples, |s| usize::from(s.version), fmt_version),
    );
}

fn fmt_version(v: usize) -> String {
    if v > 40 {
        ">40".to_owned()
    } else {
        v.to_string()
    }
}

/// The upper median.
fn median(samples: &[Sample], key: impl Fn(&Sample) -> usize) -> usize {
    let mut values: Vec<usize> = samples.iter().map(key).collect();
    values.sort_unstable();
    values[values.len() / 2]
}

/// `min / median / max`, or one number when all are equal.
fn spread(
    samples: &[Sample],
    key: impl Fn(&Sample) -> usize,
    fmt: impl Fn(usize) -> String,
) -> String {
    let mut values: Vec<usize> = samples.iter().map(key).collect();
    values.sort_unstable();
    let (min, med, max) = (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
    );
    if min == max {
        fmt(min)
    } else {
        format!("{} / {} / {}", fmt(min), fmt(med), fmt(max))
    }
}
