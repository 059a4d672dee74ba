//! `govid-demo`: the whole govid flow on one machine, with the real parts.
//!
//! HR (the real `govid-issuer` binary) creates an issuer, imports the 20-person sample roster,
//! runs its OpenID4VCI issuer service (`govid-issuer serve`, loopback) and makes each person an
//! offer with a PIN; 20 phones (the real wallet library, `govid-ffi`, with software key stores)
//! scan their offers and receive their IDs over HTTP (`--offline`: enroll their keys with codes
//! and key proofs, and accept the files HR issues); HR publishes the status list and trust
//! bundle; a gate (the real `govid-verifier serve`, loopback, offline trust bundle) checks every
//! phone's QR code over HTTP. Then HR revokes one person and suspends another, publishes, and the
//! gate denies them, and a replayed code. The gate keeps running with its scanning page until
//! Ctrl-C (or the demo exits at once with `--no-serve`). Run it with `./demo` from the checkout,
//! which builds the binaries first.
//!
//! The demo checks its own outcome: it exits 1 if any decision differs from what the story
//! expects, so CI runs it as a test (`scripts/test.d/80-demo`).

mod gate;
mod hr;
mod http;
mod phone;
mod witness;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use govid_ffi::{CredentialKind, HttpClient};
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use gate::{Gate, Verdict};
use hr::{Hr, IssuerService};
use http::UreqHttp;
use phone::Phone;
use witness::Witness;

/// The sample roster shipped in the repository, built into the demo so it needs no paths.
const ROSTER: &str = include_str!("../../../../testdata/roster/sample-20.csv");
/// The demo issuer's name and did:web host (nothing is fetched from it: the gate uses HR's
/// signed trust bundle).
const ISSUER_NAME: &str = "Ministry of Transport HR Office";
const ISSUER_HOST: &str = "hr.mot.example";
/// The gate's audience: every code a phone shows is bound to it.
const AUDIENCE: &str = "https://gates.mot.example/hq/main-entrance";
/// Who HR revokes, who it suspends, and whose first code is replayed.
const REVOKED: &str = "MOT-0012";
const SUSPENDED: &str = "MOT-0004";
const REPLAYED: &str = "MOT-0001";
/// Marks a folder as the demo's own, so that a new run may replace it.
const MARKER: &str = ".govid-demo";

/// govid end to end on this machine: HR issues IDs, phones present them, a gate decides.
#[derive(Parser, Debug)]
#[command(name = "govid-demo", version)]
struct Args {
    /// Folder for everything the demo makes; an earlier demo's folder is replaced.
    #[arg(long, default_value = "govid-demo", global = true)]
    dir: PathBuf,
    /// Folder holding `govid-issuer` and `govid-verifier` (default: this program's folder).
    #[arg(long, global = true)]
    bin_dir: Option<PathBuf>,
    /// Exit when the run is done instead of leaving the gate server running.
    #[arg(long)]
    no_serve: bool,
    /// Enroll the phones with files (enrollment codes, key proofs, issued credential files)
    /// instead of over HTTP from HR's OpenID4VCI issuer service.
    #[arg(long)]
    offline: bool,
    /// Address of the gate server (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// After a run: a fresh gate code from one person's demo phone (printed, and as a QR PNG),
    /// to paste or show at the scanning page within a minute.
    Code {
        /// Employee number, e.g. MOT-0001.
        employee: String,
    },
}

/// A demo step that failed, with its cause.
#[derive(Debug)]
pub(crate) struct DemoError(pub(crate) String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.command {
        Some(Cmd::Code { employee }) => fresh_code(&args.dir, employee),
        None => run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govid-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One staff member in the demo: their phone and what the gate said.
struct Person {
    employee: String,
    phone: Phone,
    first_code: String,
    shown: CredentialKind,
    first: Option<Verdict>,
    after: Option<Verdict>,
}

fn run(args: &Args) -> Result<(), DemoError> {
    let bins = Binaries::find(args.bin_dir.as_deref())?;
    let root = prepare_dir(&args.dir)?;
    let shown = args.dir.display();
    println!("govid demo: HR issues IDs, phones present them, a gate decides. Files: {shown}/\n");

    // HR: the issuer, the roster, enrollment codes.
    let hr = Hr::new(bins.issuer.clone(), root.join("issuer"));
    let init = hr.run(&["init", "--name", ISSUER_NAME, "--did-web", ISSUER_HOST])?;
    let did = text(&init, "did")?;
    step(
        "HR",
        &format!("created the issuer {did} ({} key)", text(&init, "alg")?),
        "issuer/",
    );
    let roster = root.join("roster.csv");
    write(&roster, ROSTER)?;
    let import = hr.run(&["staff", "import", &path_arg(&roster)?])?;
    step(
        "HR",
        &format!("imported {} staff from the sample roster", import["added"]),
        "roster.csv",
    );
    let issuer_jwk = issuer_public_jwk(&init)?;
    let reader = QrReader::detect();
    let (mut people, service) = if args.offline {
        (enroll_with_files(&hr, &root, &issuer_jwk, &did)?, None)
    } else {
        let (people, service) = enroll_over_http(&hr, &root, &issuer_jwk, &did, &reader)?;
        (people, Some(service))
    };
    let www = root.join("www");
    hr.run(&["publish", "--out", &path_arg(&www)?])?;
    step(
        "HR",
        "published the status list, DID document and signed trust bundle",
        "www/",
    );
    // A witness cosigns HR's transparency log; every publish from now on collects its
    // cosignature, and the gate uses HR's bundle only with a cosigned inclusion proof.
    let log_vkey = www.join("log").join("log.vkey");
    let witness = Witness::start(&bins.verifier, &root.join("witness"), &log_vkey)?;
    let witnessed = [
        "--witness",
        witness.url.as_str(),
        "--witness-key",
        witness.vkey.as_str(),
    ];
    let publish = |hr: &Hr| -> Result<Value, DemoError> {
        let out = path_arg(&www)?;
        let mut publish_args = vec!["publish", "--out", out.as_str()];
        publish_args.extend(witnessed);
        hr.run(&publish_args)
    };
    publish(&hr)?;
    step(
        "witness",
        "cosigned HR's log checkpoint; the gate requires 1 cosignature",
        "witness/",
    );

    // The gate.
    let gate_dir = root.join("gate");
    mkdir(&gate_dir)?;
    let policy = gate::LogPolicy {
        log_key: &log_vkey,
        witness_key: &witness.vkey,
    };
    let gate = Gate::start(
        &bins.verifier,
        &gate_dir,
        &www,
        AUDIENCE,
        &args.listen,
        Some(&policy),
    )?;
    step(
        "gate",
        &format!(
            "govid-verifier serve on {} (offline: trusts HR's bundle)",
            gate.url()
        ),
        "gate/",
    );

    let qr_dir = root.join("qr");
    mkdir(&qr_dir)?;
    for person in &mut people {
        let png = qr_dir.join(format!("{}.png", person.employee));
        let code = person.phone.gate_code(AUDIENCE, &png)?;
        let scanned = reader.scan(&png, &code.payload)?;
        person.first = Some(gate.verify(&scanned)?);
        person.first_code = scanned;
        person.shown = code.kind;
    }
    let allowed = count(&people, |p| &p.first, "allow");
    step(
        "gate",
        &format!(
            "scanned {} codes ({}): {allowed} allowed",
            people.len(),
            reader.how(),
        ),
        "qr/<N>.png",
    );
    let mut times: Vec<Duration> = people
        .iter()
        .filter_map(|p| p.first.as_ref().map(|v| v.round_trip))
        .collect();
    times.sort();
    if let (Some(median), Some(max)) = (times.get(times.len() / 2), times.last()) {
        step(
            "gate",
            &format!(
                "answered each in {:.1} ms median, {:.1} ms at most (HTTP round trip)",
                median.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            ),
            "",
        );
    }

    // HR revokes and suspends, publishes; the gate takes the new bundle.
    hr.run(&["revoke", REVOKED, "--reason", "left the ministry"])?;
    hr.run(&["suspend", SUSPENDED, "--reason", "under investigation"])?;
    publish(&hr)?;
    gate.reload()?;
    step(
        "HR",
        &format!("revoked {REVOKED}, suspended {SUSPENDED}, published; the gate reloaded"),
        "www/",
    );
    for person in &mut people {
        let png = qr_dir.join(format!("{}-after.png", person.employee));
        let code = person.phone.gate_code(AUDIENCE, &png)?;
        let scanned = reader.scan(&png, &code.payload)?;
        person.after = Some(gate.verify(&scanned)?);
    }
    let replay_of = people
        .iter()
        .find(|p| p.employee == REPLAYED)
        .ok_or_else(|| DemoError(format!("{REPLAYED} is not in the roster")))?;
    let replay = gate.verify(&replay_of.first_code)?;
    let allowed = count(&people, |p| &p.after, "allow");
    step(
        "gate",
        &format!(
            "scanned fresh codes: {allowed} allowed, {} denied; a replayed code: {}",
            people.len() - allowed,
            replay.label()
        ),
        "qr/<N>-after.png",
    );

    print_table(&people, &replay);
    print_files(&args.dir);
    check_story(&people, &replay)?;

    if args.no_serve {
        let also = if service.is_some() {
            " and the issuer service"
        } else {
            ""
        };
        println!("\nAll decisions were as expected. --no-serve: stopping the gate{also}.");
        return Ok(());
    }
    if let Some(service) = &service {
        println!(
            "\nHR's issuer service keeps running too, at {} (offers: govid-issuer --dir \
             {shown}/issuer offer N; a phone or govid-wallet receives them).",
            service.url()
        );
    }
    println!(
        "\nAll decisions were as expected. The gate keeps running:\n\
         \n    scanning page:  {url}/\n    metrics:        {url}/metrics\n\
         \nShow it a fresh code (valid for a minute) from any demo phone, e.g.\n\
         \n    {exe} code {REPLAYED} --dir {shown}\n\
         \nand paste the printed GV1: text into the page's scanner field, or hold qr/{REPLAYED}-fresh.png\n\
         up to the camera. Ctrl-C stops the gate.",
        url = gate.url(),
        exe = std::env::args()
            .next()
            .unwrap_or_else(|| "govid-demo".into()),
    );
    gate.wait()
}

/// `--offline`: phones enroll with files. HR makes enrollment codes (`GVE1:`), each phone makes
/// its key and key proof, HR enrolls the proofs and issues, each phone accepts its files.
fn enroll_with_files(
    hr: &Hr,
    root: &Path,
    issuer_jwk: &str,
    did: &str,
) -> Result<Vec<Person>, DemoError> {
    let offers = hr.run(&["offer", "--all"])?;
    let offers = offers["offers"]
        .as_array()
        .ok_or_else(|| DemoError("offer --all: no offers".into()))?;
    step(
        "HR",
        &format!("made {} one-time enrollment codes", offers.len()),
        "issuer/offers/*.png",
    );

    // Phones: each makes its own key and proves it to HR.
    let mut people = Vec::new();
    for offer in offers {
        let employee = text(offer, "employee_number")?;
        let phone = Phone::open(&root.join("phones").join(&employee))?;
        phone.trust_issuer(issuer_jwk, did)?;
        let proof = phone.enroll(&text(offer, "payload")?)?;
        hr.run(&["enroll", "--proof", &path_arg(&proof)?])?;
        people.push(Person {
            employee,
            phone,
            first_code: String::new(),
            shown: CredentialKind::WorkerId,
            first: None,
            after: None,
        });
    }
    step(
        "phones",
        &format!(
            "{} phones made their own P-256 keys and key proofs; HR enrolled them",
            people.len()
        ),
        "phones/<N>/",
    );

    // HR issues; phones accept; HR publishes.
    let issued = hr.run(&["issue", "--all"])?;
    let passes = fs::read_dir(hr.dir().join("credentials"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .ends_with(".gate-pass.sd-jwt")
                })
                .count()
        })
        .unwrap_or(0);
    step(
        "HR",
        &format!(
            "issued {} worker IDs and {passes} lean gate passes (SD-JWT VC)",
            issued["issued"]
        ),
        "issuer/credentials/",
    );
    let mut gate_passes = 0;
    for person in &people {
        let credentials = hr.dir().join("credentials");
        person
            .phone
            .accept(&credentials.join(format!("{}.sd-jwt", person.employee)))?;
        // HR issues a lean gate pass beside each worker ID (same key and status entry).
        let pass = credentials.join(format!("{}.gate-pass.sd-jwt", person.employee));
        if pass.exists() {
            person.phone.accept(&pass)?;
            gate_passes += 1;
        }
    }
    step(
        "phones",
        &if gate_passes == 0 {
            format!("{} wallets checked and stored their IDs", people.len())
        } else {
            format!(
                "{} wallets checked and stored their worker IDs and {gate_passes} gate passes",
                people.len()
            )
        },
        "",
    );
    Ok(people)
}

/// Phones receive their IDs over HTTP: HR runs its OpenID4VCI issuer service on loopback and
/// makes each person an offer with a PIN; each phone scans the offer's QR code, types the PIN
/// and receives its worker ID and gate pass through `receive_offer`.
fn enroll_over_http(
    hr: &Hr,
    root: &Path,
    issuer_jwk: &str,
    did: &str,
    reader: &QrReader,
) -> Result<(Vec<Person>, IssuerService), DemoError> {
    let service = IssuerService::start(hr, &hr.dir().join("serve.log"))?;
    step(
        "HR",
        &format!(
            "govid-issuer serve on {} (OpenID4VCI issuer service, DPoP)",
            service.url()
        ),
        "issuer/serve.log",
    );
    let offers = hr.run(&["offer", "--all", "--public-url", service.url()])?;
    let offers = offers["offers"]
        .as_array()
        .ok_or_else(|| DemoError("offer --all: no offers".into()))?;
    step(
        "HR",
        &format!(
            "made {} OpenID4VCI offers, each with a one-time PIN",
            offers.len()
        ),
        "issuer/offers/*.openid4vci.png",
    );
    let http: Arc<dyn HttpClient> = Arc::new(UreqHttp::new());
    let mut people = Vec::new();
    let (mut workers, mut passes) = (0, 0);
    for offer in offers {
        let employee = text(offer, "employee_number")?;
        let vci = &offer["openid4vci"];
        let uri = text(vci, "offer_uri")?;
        let png = PathBuf::from(text(vci, "qr_png")?);
        let phone = Phone::open(&root.join("phones").join(&employee))?;
        phone.trust_issuer(issuer_jwk, did)?;
        // The phone scans the QR code; the holder types the PIN HR gave separately.
        let scanned = reader.scan(&png, &uri)?;
        let received = phone.receive(&scanned, &text(vci, "tx_code")?, http.clone())?;
        for c in &received.credentials {
            match c.kind {
                CredentialKind::WorkerId => workers += 1,
                CredentialKind::GatePass => passes += 1,
            }
        }
        people.push(Person {
            employee,
            phone,
            first_code: String::new(),
            shown: CredentialKind::WorkerId,
            first: None,
            after: None,
        });
    }
    step(
        "phones",
        &format!(
            "{} phones received over OpenID4VCI {workers} worker IDs, {passes} gate passes \
             (QR + PIN)",
            people.len(),
        ),
        "phones/<N>/",
    );
    Ok((people, service))
}

/// `govid-demo code N`: a fresh code from one demo phone.
fn fresh_code(dir: &Path, employee: &str) -> Result<(), DemoError> {
    if !dir.join(MARKER).exists() {
        return Err(DemoError(format!(
            "{} is not a demo folder: run the demo first",
            dir.display()
        )));
    }
    let phone_dir = dir.join("phones").join(employee);
    if !phone_dir.is_dir() {
        return Err(DemoError(format!("no demo phone for {employee}")));
    }
    let png = dir.join("qr").join(format!("{employee}-fresh.png"));
    let code = Phone::open(&phone_dir)?.gate_code(AUDIENCE, &png)?;
    println!("{}", code.payload);
    eprintln!("QR code: {}", png.display());
    Ok(())
}

/// The story's expected outcome: everyone allowed at first; afterwards the revoked and the
/// suspended person denied with those reasons, everyone else allowed; the replay denied.
fn check_story(people: &[Person], replay: &Verdict) -> Result<(), DemoError> {
    let mut wrong = Vec::new();
    for p in people {
        let after = match p.employee.as_str() {
            REVOKED => ("deny", "revoked"),
            SUSPENDED => ("deny", "suspended"),
            _ => ("allow", "ok"),
        };
        for (when, got, want) in [
            ("first scan", &p.first, ("allow", "ok")),
            ("after HR's changes", &p.after, after),
        ] {
            match got {
                Some(v) if v.decision == want.0 && v.reason == want.1 => {}
                other => wrong.push(format!(
                    "{} {when}: expected {} ({}), got {}",
                    p.employee,
                    want.0,
                    want.1,
                    other.as_ref().map_or("nothing".into(), Verdict::label)
                )),
            }
        }
    }
    if (replay.decision.as_str(), replay.reason.as_str()) != ("deny", "replayed") {
        wrong.push(format!(
            "replay: expected deny (replayed), got {}",
            replay.label()
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(DemoError(format!(
            "the gate decided differently from the story:\n  {}",
            wrong.join("\n  ")
        )))
    }
}

fn print_table(people: &[Person], replay: &Verdict) {
    println!("\nWhat the gate decided (name and organization as the phones disclosed them):\n");
    let label = |v: &Option<Verdict>| v.as_ref().map_or("-".into(), Verdict::label);
    let header = [
        "employee",
        "name",
        "org",
        "code shows",
        "first scan",
        "after revoke/suspend",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 6]> = people
        .iter()
        .map(|p| {
            let seen = p.first.as_ref().map(|v| &v.disclosed);
            let claim = |path: &[&str]| {
                seen.and_then(|d| path.iter().try_fold(d, |v, k| v.get(k)))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            [
                p.employee.clone(),
                format!("{} {}", claim(&["given_name"]), claim(&["family_name"])),
                claim(&["organization", "code"]),
                match p.shown {
                    CredentialKind::WorkerId => "worker ID",
                    CredentialKind::GatePass => "gate pass",
                }
                .to_owned(),
                label(&p.first),
                label(&p.after),
            ]
        })
        .collect();
    // Column widths in terminal cells: CJK names take two cells a character.
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (w, cell) in widths.iter().zip(row) {
            line.push_str("  ");
            line.push_str(cell);
            line.push_str(&" ".repeat(w.saturating_sub(cell.width())));
        }
        println!("{}", line.trim_end());
    }
    println!(
        "\n  {REPLAYED}'s first code, shown to the gate a second time: {}",
        replay.label()
    );
}

fn print_files(dir: &Path) {
    let d = dir.display();
    println!(
        "\nWhere the files are:\n\
         \n  {d}/issuer/               HR's issuer directory: issuer.db (SQLite), keys/ (0600), credentials/, offers/\
         \n  {d}/phones/<N>/           each phone: its encrypted key store and wallet database\
         \n  {d}/www/                  what HR publishes: status list, DID document, JWKS, trust bundle, log/\
         \n  {d}/witness/              the witness's key (0600), its state and witness.log\
         \n  {d}/qr/<N>.png            each phone's gate code (and <N>-after.png, the second scan)\
         \n  {d}/gate/                 gate.toml, the gate log (gate.db) and server.log"
    );
}

fn count(people: &[Person], pick: impl Fn(&Person) -> &Option<Verdict>, decision: &str) -> usize {
    people
        .iter()
        .filter(|p| pick(p).as_ref().is_some_and(|v| v.decision == decision))
        .count()
}

fn step(who: &str, what: &str, files: &str) {
    println!("  {who:<7} {what:<80} {files}");
}

/// Reads the QR PNGs back with `zbarimg` (Debian's zbar-tools), an independent decoder, when it
/// is installed; otherwise posts the payload the PNG was made from.
struct QrReader {
    zbarimg: bool,
}

impl QrReader {
    fn detect() -> Self {
        let zbarimg = Command::new("zbarimg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        Self { zbarimg }
    }

    fn how(&self) -> &'static str {
        if self.zbarimg {
            "PNGs read back by zbarimg"
        } else {
            "payloads as rendered; install zbar-tools to read the PNGs back"
        }
    }

    /// Reads `png` back and checks it against `payload`. zbarimg looks for QR codes only: with
    /// every symbology on, a dense QR image can also yield a linear barcode read by mistake. When
    /// the text differs (or nothing is read), the payload and the text read are kept beside the
    /// PNG (`<png>.payload.txt`, `<png>.read.txt`) for diagnosis.
    fn scan(&self, png: &Path, payload: &str) -> Result<String, DemoError> {
        if !self.zbarimg {
            return Ok(payload.to_owned());
        }
        let out = Command::new("zbarimg")
            .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
            .arg(png)
            .output()
            .map_err(|e| DemoError(format!("zbarimg: {e}")))?;
        let read = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if read != payload {
            let keep = |ext: &str, text: &[u8]| {
                let mut path = png.as_os_str().to_owned();
                path.push(ext);
                let _ = fs::write(&path, text);
            };
            keep(".payload.txt", payload.as_bytes());
            keep(".read.txt", &out.stdout);
            let what = if read.is_empty() {
                "read nothing from".to_owned()
            } else {
                format!("read {} characters of other text from", read.len())
            };
            return Err(DemoError(format!(
                "zbarimg {what} {} (the payload and the text read are kept beside it)",
                png.display()
            )));
        }
        Ok(read)
    }
}

/// The two binaries the demo drives.
struct Binaries {
    issuer: PathBuf,
    verifier: PathBuf,
}

impl Binaries {
    fn find(dir: Option<&Path>) -> Result<Self, DemoError> {
        let dir = match dir {
            Some(d) => d.to_owned(),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_owned))
                .ok_or_else(|| DemoError("cannot tell where govid-demo is".into()))?,
        };
        let bin = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(DemoError(format!(
                    "{} not found: build it first (`./demo` does: cargo build --release \
                     -p govid-issuer -p govid-verifier -p govid-e2e)",
                    path.display()
                )))
            }
        };
        Ok(Self {
            issuer: bin("govid-issuer")?,
            verifier: bin("govid-verifier")?,
        })
    }
}

/// Creates the demo folder, replacing an earlier demo's; refuses any other non-empty folder.
fn prepare_dir(dir: &Path) -> Result<PathBuf, DemoError> {
    if dir.exists() {
        let is_demo = dir.join(MARKER).exists();
        let empty = fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if is_demo {
            fs::remove_dir_all(dir).map_err(|e| DemoError(format!("{}: {e}", dir.display())))?;
        } else if !empty {
            return Err(DemoError(format!(
                "{} exists and is not an earlier demo's folder: choose another with --dir",
                dir.display()
            )));
        }
    }
    mkdir(dir)?;
    write(
        &dir.join(MARKER),
        "govid-demo output; replaced by the next run\n",
    )?;
    fs::canonicalize(dir).map_err(|e| DemoError(format!("{}: {e}", dir.display())))
}

/// The issuer's current public key, from the JWKS `init` wrote.
fn issuer_public_jwk(init: &Value) -> Result<String, DemoError> {
    let path = text(init, "jwks")?;
    let jwks: Value = fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| DemoError(format!("{path}: not a JWKS")))?;
    let kid = text(init, "kid")?;
    jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == Value::String(kid.clone())))
        .map(Value::to_string)
        .ok_or_else(|| DemoError(format!("{path}: no key {kid}")))
}

fn text(value: &Value, field: &str) -> Result<String, DemoError> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| DemoError(format!("answer without `{field}`: {value}")))
}

fn path_arg(path: &Path) -> Result<String, DemoError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| DemoError(format!("{}: not UTF-8", path.display())))
}

fn mkdir(dir: &Path) -> Result<(), DemoError> {
    fs::create_dir_all(dir).map_err(|e| DemoError(format!("{}: {e}", dir.display())))
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    fs::write(path, text).map_err(|e| DemoError(format!("{}: {e}", path.display())))
}

/// `N` bytes from the OS random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], DemoError> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| DemoError(format!("random: {e}")))?;
    Ok(bytes)
}
