//! Shared helpers for the end-to-end tests: run the real `govid-issuer` binary in a temporary
//! issuer directory.
#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use govid_core::enrollment::{make_key_proof, EnrollmentOffer};
use govid_core::jose::{Algorithm, PublicKey, SoftwareSigner};
use rand_core::OsRng;
use serde_json::Value;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_govid-issuer");

/// The sample roster shipped for demos.
pub(crate) fn sample_roster() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/roster/sample-20.csv")
}

pub(crate) fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e:?}"))
}

/// A temporary workspace with an issuer directory `dir` inside it, and, when the tests run on
/// PostgreSQL, a database of its own (dropped with it).
pub(crate) struct Env {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) pg: Option<PgDatabase>,
}

/// The engine under test: `GOVID_TEST_ENGINE` = `sqlite` (the default) or `postgres`, with
/// `GOVID_TEST_PG_URL` the URL of a throwaway cluster where the tests may make databases
/// (`scripts/test.d/45-issuer-postgres` starts one). Anything else fails the test: a suite that
/// was asked for PostgreSQL never quietly runs on SQLite.
pub(crate) fn engine_is_postgres() -> bool {
    match std::env::var("GOVID_TEST_ENGINE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => false,
        Ok("postgres") => true,
        Ok(other) => panic!("GOVID_TEST_ENGINE={other}: use sqlite or postgres"),
    }
}

/// A database of its own in the test cluster, dropped at the end of the test.
pub(crate) struct PgDatabase {
    pub(crate) url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    /// A new empty database in the cluster at `GOVID_TEST_PG_URL`.
    pub(crate) fn new() -> Self {
        let admin = std::env::var("GOVID_TEST_PG_URL").unwrap_or_else(|_| {
            panic!("GOVID_TEST_ENGINE=postgres needs GOVID_TEST_PG_URL (a cluster's URL)")
        });
        Self::new_in(&admin)
    }

    /// A new empty database in the cluster at `admin` (its `postgres` database's URL).
    pub(crate) fn new_in(admin: &str) -> Self {
        let admin = admin.to_owned();
        let name = format!("govid_t_{}", rand_name());
        let mut client = ok(postgres::Client::connect(&admin, postgres::NoTls));
        ok(client.batch_execute(&format!("CREATE DATABASE {name}")));
        let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
        let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        Self { url, admin, name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        let last = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    pub(crate) fn assert_ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit code 1 and that stderr contains `needle`.
    pub(crate) fn assert_fails_with(self, needle: &str) -> Self {
        assert_eq!(
            self.code, 1,
            "expected failure; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr does not contain {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

pub(crate) fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("GOVID_ISSUER_DIR")
        .env_remove("GOVID_ISSUER_DB")
        .env_remove("GOVID_ISSUER_NOW")
        .env_remove("GOVID_ISSUER_BUSY_TIMEOUT_MS")
        .stdin(Stdio::null());
    cmd
}

impl Env {
    pub(crate) fn new() -> Self {
        let tmp = ok(tempfile::tempdir());
        let dir = tmp.path().join("issuer");
        let pg = engine_is_postgres().then(PgDatabase::new);
        Self { tmp, dir, pg }
    }

    /// A workspace whose database is `pg`, whatever the engine under test.
    pub(crate) fn on_postgres(pg: PgDatabase) -> Self {
        let tmp = ok(tempfile::tempdir());
        let dir = tmp.path().join("issuer");
        Self {
            tmp,
            dir,
            pg: Some(pg),
        }
    }

    /// A workspace on SQLite whatever the engine under test: for the tests of what only an
    /// `issuer.db` file has (its upgrades from earlier schema versions, which a PostgreSQL
    /// database, made at version 4, never needs).
    pub(crate) fn on_sqlite() -> Self {
        let tmp = ok(tempfile::tempdir());
        let dir = tmp.path().join("issuer");
        Self { tmp, dir, pg: None }
    }

    /// Everything the issuer database holds, as text: the SQLite file and its WAL, or every
    /// row of every table in PostgreSQL (to prove a secret is not in it).
    pub(crate) fn database_text(&self) -> String {
        match &self.pg {
            None => {
                let mut bytes = ok(std::fs::read(self.dir.join("issuer.db")));
                bytes.extend(std::fs::read(self.dir.join("issuer.db-wal")).unwrap_or_default());
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Some(pg) => {
                let mut client = ok(postgres::Client::connect(&pg.url, postgres::NoTls));
                let tables = ok(client.query(
                    "SELECT table_name::TEXT FROM information_schema.tables
                     WHERE table_schema = 'public'",
                    &[],
                ));
                let mut text = String::new();
                for t in tables {
                    let name: String = t.get(0);
                    for row in ok(client.query(&format!("SELECT t::TEXT FROM {name} t"), &[])) {
                        text.push_str(row.get::<_, &str>(0));
                        text.push('\n');
                    }
                }
                text
            }
        }
    }

    /// The environment a command on this issuer needs besides `--dir`: `GOVID_ISSUER_DB` when
    /// its database is PostgreSQL.
    pub(crate) fn engine_vars(&self) -> Vec<(&'static str, String)> {
        self.pg
            .iter()
            .map(|pg| ("GOVID_ISSUER_DB", pg.url.clone()))
            .collect()
    }

    /// [`command`] for this issuer's database (`--dir` still to be given).
    pub(crate) fn command(&self) -> Command {
        let mut cmd = command();
        cmd.envs(self.engine_vars());
        cmd
    }

    /// A connection to the issuer database, on its engine (for tests that look inside it or
    /// edit it behind the tool's back).
    pub(crate) fn db(&self) -> govid_issuer::db::Connection {
        match &self.pg {
            Some(pg) => ok(govid_issuer::db::Connection::open_postgres(
                &pg.url,
                std::time::Duration::from_secs(10),
            )),
            None => govid_issuer::db::Connection::from_sqlite(ok(rusqlite::Connection::open(
                self.dir.join("issuer.db"),
            ))),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Runs `govid-issuer --dir <dir> args...`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command();
        cmd.arg("--dir").arg(&self.dir).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(ok(cmd.output()))
    }

    /// `init` with did:web hr.mot.example.
    pub(crate) fn init(&self) -> &Self {
        self.run(&[
            "init",
            "--name",
            "Ministry of Transport HR Office",
            "--did-web",
            "hr.mot.example",
        ])
        .assert_ok();
        self
    }

    /// `staff import` of the 20-person sample roster.
    pub(crate) fn import_sample(&self) -> &Self {
        self.run(&[
            "staff",
            "import",
            sample_roster().to_str().unwrap_or_default(),
        ])
        .assert_ok();
        self
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        ok(std::fs::write(&path, text));
        path
    }

    /// `offer N --json` → the offer payload.
    pub(crate) fn offer(&self, n: &str) -> EnrollmentOffer {
        let run = self.run(&["--json", "offer", n]).assert_ok();
        let payload = run.json()["offers"][0]["payload"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        ok(EnrollmentOffer::parse(&payload))
    }

    /// A phone: scans the offer, makes a key, writes its proof to a file.
    pub(crate) fn phone_proof(
        &self,
        offer: &EnrollmentOffer,
        alg: Algorithm,
        iat: u64,
    ) -> (SoftwareSigner, PathBuf) {
        let phone = SoftwareSigner::generate(alg, &mut OsRng);
        let proof = ok(make_key_proof(&offer.code, &offer.issuer, iat, &phone));
        let path = self.path(&format!("proof-{}.jwt", rand_name()));
        ok(std::fs::write(&path, proof));
        (phone, path)
    }

    /// offer → proof → enroll for `n`; returns the phone key.
    pub(crate) fn enroll(&self, n: &str) -> SoftwareSigner {
        let offer = self.offer(n);
        let (phone, proof) = self.phone_proof(&offer, Algorithm::EdDSA, now());
        self.run(&["enroll", "--proof", proof.to_str().unwrap_or_default()])
            .assert_ok();
        phone
    }

    /// The issuer's current public key (from public/jwks.json, last key).
    pub(crate) fn issuer_keys(&self) -> Vec<(String, PublicKey)> {
        let jwks: Value = ok(serde_json::from_str(&ok(std::fs::read_to_string(
            self.dir.join("public/jwks.json"),
        ))));
        jwks["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|k| {
                let mut public = k.clone();
                if let Value::Object(m) = &mut public {
                    m.remove("kid");
                    m.remove("alg");
                    m.remove("use");
                }
                (
                    k["kid"].as_str().unwrap_or_default().to_owned(),
                    ok(PublicKey::from_jwk(&public)),
                )
            })
            .collect()
    }

    /// Replaces the newest audit entry's detail and signs it again with the issuer key, as the
    /// tool would have written it (what only someone holding the key can do).
    pub(crate) fn rewrite_last_audit_entry(&self, detail: &str) {
        use govid_core::jose::Signer;
        use sha2::Digest;
        let db = self.db();
        let (seq, at, action, prev, kid): (i64, i64, String, String, String) = ok(db.query_row(
            "SELECT seq, at, action, prev_hash, kid FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        ));
        let file: String =
            ok(db.query_row("SELECT file FROM keys WHERE kid = ?1", [&kid], |r| r.get(0)));
        let jwk: Value = ok(serde_json::from_str(&ok(std::fs::read_to_string(
            self.dir.join(file),
        ))));
        let key = ok(SoftwareSigner::from_private_jwk(&jwk));
        let hash: String = sha2::Sha256::digest(
            format!("govid-audit-v1\n{seq}\n{at}\n{action}\n{detail}\n{prev}").as_bytes(),
        )
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
        let sig = govid_core::b64::encode(ok(key.sign(hash.as_bytes())));
        ok(db.execute(
            "UPDATE audit SET detail = ?2, hash = ?3, sig = ?4 WHERE seq = ?1",
            govid_issuer::db::params![seq, detail, hash, sig],
        ));
    }
}

pub(crate) fn now() -> u64 {
    ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)).as_secs()
}

fn rand_name() -> String {
    use rand_core::RngCore;
    format!("{:016x}", OsRng.next_u64())
}

/// The status of entry `idx` in a Status List Token, read with core's status API after verifying
/// the token with the issuer key (`StatusValue` as 0 valid, 1 invalid, 2 suspended).
pub(crate) fn status_in_token(token: &str, key: &PublicKey, uri: &str, idx: u64) -> u8 {
    use govid_core::status::verify_status_list_token_with_key;
    let verified = ok(verify_status_list_token_with_key(
        token,
        key,
        uri,
        now(),
        &Algorithm::ALL,
    ));
    ok(verified.list().status(idx as usize)).to_u8()
}

/// The `govid-verifier` binary beside `govid-issuer`, built first when it is missing (a
/// `cargo test -p govid-issuer` run builds only this package's binaries). Never skipped.
pub(crate) fn verifier_bin() -> PathBuf {
    let path =
        Path::new(BIN).with_file_name(format!("govid-verifier{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", "govid-verifier", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if path.parent().and_then(Path::file_name) == Some("release".as_ref()) {
            build.arg("--release");
        }
        let status = ok(build.status());
        assert!(status.success(), "cargo build -p govid-verifier failed");
    }
    assert!(path.is_file(), "{} not built", path.display());
    path
}

/// `govid-verifier check ARGS` with `text` on stdin: (exit code, stdout, stderr).
pub(crate) fn verifier_check(verifier: &Path, args: &[&str], text: &str) -> (i32, String, String) {
    let mut child = ok(Command::new(verifier)
        .arg("check")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn());
    if let Some(mut stdin) = child.stdin.take() {
        ok(stdin.write_all(text.as_bytes()));
    }
    let out = ok(child.wait_with_output());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
