//! Bad input of every kind: a clear message naming the problem, and a non-zero exit.

mod common;

use common::*;
use govid_core::enrollment::make_key_proof;
use govid_core::jose::{Algorithm, SoftwareSigner};
use rand_core::OsRng;

const HEADER: &str = "employee_number,family_name,given_name,birth_date,organization_name,organization_code,department,position,grade,clearance,access_zones,valid_until";

#[test]
fn no_dir_is_a_usage_error() {
    let out = ok(command().args(["staff", "list"]).output());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --dir DIR or set GOVID_ISSUER_DIR"));
}

#[test]
fn env_var_names_the_directory() {
    let env = Env::new();
    env.init();
    let out = ok(env
        .command()
        .env("GOVID_ISSUER_DIR", &env.dir)
        .args(["--json", "staff", "list"])
        .output());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn commands_before_init_say_so() {
    let env = Env::new();
    env.run(&["staff", "list"])
        .assert_fails_with("no issuer in");
}

#[test]
fn init_refuses_to_overwrite_and_bad_identifiers() {
    let env = Env::new();
    env.init();
    env.run(&["init", "--name", "X", "--did-web", "other.example"])
        .assert_fails_with("an issuer already exists");
    let env2 = Env::new();
    let r = env2.run(&["init", "--name", "X", "--did-web", "https://hr.example"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("give the host name without https://"),
        "{}",
        r.stderr
    );
    let r = env2.run(&["init", "--name", "X", "--did-key"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--did-key needs --status-base-url"),
        "{}",
        r.stderr
    );
    let r = env2.run(&["init", "--name", "X"]);
    assert_eq!(r.code, 2, "one of --did-web/--did-key is required");
    let r = env2.run(&["init", "--name", "X", "--did-web", "a.example", "--did-key"]);
    assert_eq!(r.code, 2, "--did-web and --did-key conflict");
    let r = env2.run(&["init", "--name", "  ", "--did-web", "a.example"]);
    assert!(r.stderr.contains("--name must not be empty"));
}

#[test]
fn roster_errors_name_line_and_reason_and_import_nothing() {
    let env = Env::new();
    env.init();
    let csv = format!(
        "{HEADER}\n\
         A-1,Haddad,Amira,1986-04-12,Ministry of Transport,MOT,,,,,HQ-A,2030-12-31\n\
         A-2,Nguyễn,Linh,1991-13-03,Ministry of Transport,MOT,,,,,,2030-12-31\n\
         A-1,Dup,Licate,,Ministry of Transport,MOT,,,,,,2030-12-31\n\
         A-3,Old,Contract,,Ministry of Transport,MOT,,,,,,2001-01-01\n\
         A-4,,NoFamily,,Ministry of Transport,MOT,,,,,,2030-12-31\n\
         A-5,Short,Row\n\
         A-6,Bad,Until,,Ministry of Transport,MOT,,,,,,31/12/2030\n"
    );
    let file = env.write("bad.csv", &csv);
    let r = env
        .run(&["staff", "import", file.to_str().unwrap_or_default()])
        .assert_fails_with("6 bad row(s); nothing was imported");
    for expected in [
        "line 3: birth_date 1991-13-03 does not exist: there is no month 13",
        "line 4: employee_number A-1 already appears on line 2",
        "line 5: valid_until 2001-01-01 is in the past",
        "line 6: family_name is empty (required)",
        "line 7: has 3 columns, expected 12",
        "line 8: valid_until \"31/12/2030\" is not a date YYYY-MM-DD",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            r.stderr
        );
    }
    let list = env.run(&["--json", "staff", "list"]).assert_ok().json();
    assert_eq!(list["staff"].as_array().map(Vec::len), Some(0));

    // --json lists the bad rows too.
    let r = env.run(&[
        "--json",
        "staff",
        "import",
        file.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["error"], "invalid_roster");
    assert_eq!(j["details"]["bad_rows"][0]["line"], 3);

    // --skip-invalid imports the good row.
    let r = env
        .run(&[
            "--json",
            "staff",
            "import",
            "--skip-invalid",
            file.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(r["added"], 1);
    assert_eq!(r["skipped"].as_array().map(Vec::len), Some(6));
}

#[test]
fn roster_header_bom_and_missing_file() {
    let env = Env::new();
    env.init();
    let file = env.write("h.csv", "id,name\n1,x\n");
    env.run(&["staff", "import", file.to_str().unwrap_or_default()])
        .assert_fails_with("the header row must be exactly");
    let file = env.write("empty.csv", &format!("{HEADER}\n"));
    env.run(&["staff", "import", file.to_str().unwrap_or_default()])
        .assert_fails_with("the roster has no staff rows");
    env.run(&["staff", "import", "/nonexistent/roster.csv"])
        .assert_fails_with("cannot read roster /nonexistent/roster.csv");
    let bom = env.write(
        "bom.csv",
        &format!(
            "\u{feff}{HEADER}\nB-1,Иванова,Ольга,,Ministry of Transport,MOT,,,,,,2030-12-31\n"
        ),
    );
    env.run(&["staff", "import", bom.to_str().unwrap_or_default()])
        .assert_ok();
    let mut latin1 = format!("{HEADER}\nB-2,").into_bytes();
    latin1.extend_from_slice(b"M\xfcller,Jonas,,Ministry of Transport,MOT,,,,,,2030-12-31\n");
    let path = env.path("latin1.csv");
    ok(std::fs::write(&path, latin1));
    env.run(&["staff", "import", path.to_str().unwrap_or_default()])
        .assert_fails_with("line 2: family_name is not valid UTF-8");
}

#[test]
fn reimport_updates_and_never_duplicates() {
    let env = Env::new();
    env.init();
    let roster = sample_roster();
    env.run(&["staff", "import", roster.to_str().unwrap_or_default()])
        .assert_ok();
    let again = env
        .run(&[
            "--json",
            "staff",
            "import",
            roster.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(
        (
            again["added"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(20))
    );
    let text = ok(std::fs::read_to_string(&roster)).replace("Senior Inspector", "Chief Inspector");
    let changed = env.write("changed.csv", &text);
    let r = env
        .run(&[
            "--json",
            "staff",
            "import",
            changed.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(
        (r["added"].as_u64(), r["updated"].as_u64()),
        (Some(0), Some(1))
    );
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    assert_eq!(shown["position"], "Chief Inspector");
    let count: i64 = ok(env
        .db()
        .query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0)));
    assert_eq!(count, 20);
}

#[test]
fn unknown_staff_is_named() {
    let env = Env::new();
    env.init();
    for args in [
        vec!["staff", "show", "NOPE-1"],
        vec!["offer", "NOPE-1"],
        vec!["issue", "NOPE-1"],
        vec!["revoke", "NOPE-1", "--reason", "x"],
        vec!["suspend", "NOPE-1"],
        vec!["reinstate", "NOPE-1"],
    ] {
        env.run(&args)
            .assert_fails_with("no staff member with employee number \"NOPE-1\"");
    }
}

#[test]
fn enrollment_proof_errors() {
    let env = Env::new();
    env.init();
    env.import_sample();
    let offer = env.offer("MOT-0001");
    let enroll =
        |path: &std::path::Path| env.run(&["enroll", "--proof", path.to_str().unwrap_or_default()]);

    // Wrong audience.
    let phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let wrong_aud = env.write(
        "aud.jwt",
        &ok(make_key_proof(
            &offer.code,
            "did:web:evil.example",
            now(),
            &phone,
        )),
    );
    enroll(&wrong_aud).assert_fails_with("made for another issuer");
    // Stale and future iat.
    let (_, stale) = env.phone_proof(&offer, Algorithm::EdDSA, now() - 3600);
    enroll(&stale).assert_fails_with("the key proof is too old");
    let (_, future) = env.phone_proof(&offer, Algorithm::EdDSA, now() + 3600);
    enroll(&future).assert_fails_with("the phone's clock is wrong");
    // Garbage and tampering.
    let garbage = env.write("garbage.jwt", "hello");
    enroll(&garbage).assert_fails_with("the key proof is invalid: key proof is not a valid JWT");
    let (_, good) = env.phone_proof(&offer, Algorithm::EdDSA, now());
    let text = ok(std::fs::read_to_string(&good));
    let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    parts[1] = govid_core::b64::encode(format!(
        r#"{{"aud":"{}","iat":{},"nonce":"{}"}}"#,
        offer.issuer,
        now(),
        offer.code.to_lowercase()
    ));
    let tampered = env.write("tampered.jwt", &parts.join("."));
    enroll(&tampered).assert_fails_with("key proof signature does not verify");
    // Unknown code.
    let other = govid_core::enrollment::EnrollmentOffer {
        issuer: offer.issuer.clone(),
        code: "0000-0000-0000-0000-0000-0000-0000".to_owned(),
    };
    let (_, unknown) = env.phone_proof(&other, Algorithm::EdDSA, now());
    enroll(&unknown).assert_fails_with("not one this office issued");
    // The good proof works once; the second use is refused.
    enroll(&good).assert_ok();
    let (_, reuse) = env.phone_proof(&offer, Algorithm::EdDSA, now());
    enroll(&reuse).assert_fails_with("this enrollment code was already used");
    // A newer offer cancels the older one.
    let first = env.offer("MOT-0002");
    let _second = env.offer("MOT-0002");
    let (_, old) = env.phone_proof(&first, Algorithm::EdDSA, now());
    enroll(&old).assert_fails_with("replaced by a newer one");
    // Expired code (the clock moved 8 days on; the proof is fresh).
    let offer3 = env.offer("MOT-0003");
    let later = now() + 8 * 86_400;
    let (_, late) = env.phone_proof(&offer3, Algorithm::EdDSA, later);
    env.run_env(
        &["enroll", "--proof", late.to_str().unwrap_or_default()],
        &[("GOVID_ISSUER_NOW", &later.to_string())],
    )
    .assert_fails_with("this enrollment code expired");
    // One phone key cannot serve two people.
    let offer4 = env.offer("MOT-0004");
    let shared = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let p4 = env.write(
        "p4.jwt",
        &ok(make_key_proof(&offer4.code, &offer4.issuer, now(), &shared)),
    );
    enroll(&p4).assert_ok();
    let offer5 = env.offer("MOT-0005");
    let p5 = env.write(
        "p5.jwt",
        &ok(make_key_proof(&offer5.code, &offer5.issuer, now(), &shared)),
    );
    enroll(&p5).assert_fails_with("already enrolled for MOT-0004");
    // Proof from stdin.
    let offer6 = env.offer("MOT-0006");
    let (_, p6) = env.phone_proof(&offer6, Algorithm::ES256, now());
    let out = ok(env
        .command()
        .arg("--dir")
        .arg(&env.dir)
        .args(["enroll", "--proof", "-"])
        .stdin(ok(std::fs::File::open(&p6)))
        .output());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue_refusals_are_explained() {
    let env = Env::new();
    env.init();
    env.import_sample();
    env.run(&["issue", "MOT-0001"])
        .assert_fails_with("has not enrolled a phone yet");
    env.enroll("MOT-0001");
    env.run(&["suspend", "MOT-0001", "--reason", "investigation"])
        .assert_ok();
    env.run(&["issue", "MOT-0001"])
        .assert_fails_with("is suspended; run `govid-issuer reinstate MOT-0001` first");
    env.run(&["suspend", "MOT-0001"])
        .assert_fails_with("already suspended");
    env.run(&["reinstate", "MOT-0001"]).assert_ok();
    env.run(&["reinstate", "MOT-0001"])
        .assert_fails_with("is not suspended");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let r = env.run(&["issue", "MOT-0001"]).assert_ok();
    assert!(
        r.stdout.contains("already has a current ID (use --reissue"),
        "{}",
        r.stdout
    );
    let r = env.run(&["revoke", "MOT-0001", "--reason", "  "]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--reason must not be empty"));
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_ok();
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_fails_with("already revoked");
    env.run(&["issue", "MOT-0001"])
        .assert_fails_with("is revoked; no new ID can be issued");
    env.run(&["suspend", "MOT-0001"])
        .assert_fails_with("revocation is final");
    env.run(&["offer", "MOT-0001"])
        .assert_fails_with("cannot enroll again");
    let r = env.run(&["--json", "reinstate", "MOT-0001"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"], "revoked");
}

/// Regression: in a CRLF roster (as spreadsheets save them) the first data row was reported as
/// line 1; a wrong header was repeated in full.
#[test]
fn crlf_roster_rows_are_named_by_file_line_and_a_long_header_is_cut() {
    let env = Env::new();
    env.init();
    let csv = format!(
        "{HEADER}\r\nC 1,Haddad,Amira,,Ministry of Transport,MOT,,,,,,2030-12-31\r\n\r\n\
         C-2,,Linh,,Ministry of Transport,MOT,,,,,,2030-12-31\r\n"
    );
    let file = env.write("crlf.csv", &csv);
    let r = env
        .run(&[
            "--json",
            "staff",
            "import",
            file.to_str().unwrap_or_default(),
        ])
        .assert_fails_with(
            "line 2: employee_number \"C 1\" may only use letters A-Z, digits, - _ . (at most 64)",
        );
    assert!(
        r.stderr.contains("line 4: family_name is empty (required)"),
        "{}",
        r.stderr
    );
    let j = r.json();
    assert_eq!(j["details"]["bad_rows"][0]["line"], 2);
    assert_eq!(j["details"]["bad_rows"][1]["line"], 4);

    let file = env.write("wide.csv", &format!("{}\n1,x\n", "h".repeat(1_000_000)));
    let r = env
        .run(&["staff", "import", file.to_str().unwrap_or_default()])
        .assert_fails_with(&format!("but it is:\n  {}…", "h".repeat(200)));
    assert!(r.stderr.len() < 1_000, "{} bytes", r.stderr.len());
}

/// A wrong `--db` is named without repeating the URL (it may hold a password): a refused
/// `sslmode` is a usage error, a server that does not answer is `database_unreachable`.
#[test]
fn a_bad_or_unreachable_database_url_is_named_without_its_password() {
    let env = Env::new();
    let port = {
        let listener = ok(std::net::TcpListener::bind("127.0.0.1:0"));
        ok(listener.local_addr()).port()
    };
    let run = |url: &str| {
        let out = ok(command()
            .arg("--dir")
            .arg(&env.dir)
            .args(["--db", url, "--json", "staff", "list"])
            .output());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!text.contains("hunter2"), "{text}");
        (
            out.status.code(),
            ok(serde_json::from_str::<serde_json::Value>(&text)),
        )
    };
    let (code, j) = run(&format!(
        "postgres://hr:hunter2@127.0.0.1:{port}/govid?sslmode=prefer"
    ));
    assert_eq!(code, Some(2));
    assert_eq!(j["error"], "usage");
    assert!(
        j["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("--db url: sslmode=prefer is refused")),
        "{j}"
    );
    let (code, j) = run(&format!(
        "postgres://hr:hunter2@127.0.0.1:{port}/govid?sslmode=disable"
    ));
    assert_eq!(code, Some(1));
    assert_eq!(j["error"], "database_unreachable");
    assert_eq!(
        j["message"],
        "cannot connect to the issuer database: error connecting to server: Connection refused \
         (os error 111)"
    );
}
