//! `offer --all` for many staff: codes go to a 0600 CSV file (not the screen), codes already
//! handed out are not cancelled without `--replace`, and a terminal shows progress.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::*;

fn live_offers(env: &Env) -> i64 {
    ok(env.db().query_row(
        "SELECT COUNT(*) FROM offers WHERE used_at IS NULL AND cancelled_at IS NULL",
        [],
        |r| r.get(0),
    ))
}

fn codes_files(env: &Env) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = ok(std::fs::read_dir(env.dir.join("offers")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    files
}

#[test]
fn offer_all_writes_the_codes_to_a_private_csv_file_not_the_screen() {
    let env = Env::new();
    env.init().import_sample();
    let run = env.run(&["offer", "--all"]).assert_ok();
    let files = codes_files(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    assert!(
        name.as_deref()
            .is_some_and(|n| n.starts_with("codes-") && n.ends_with("Z.csv")),
        "{name:?}"
    );
    let mode = ok(std::fs::metadata(file)).permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        run.stdout
            .starts_with("Made 20 enrollment code(s) (single use, valid until "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&file.display().to_string()),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.is_empty(),
        "no progress bar when not a terminal: {}",
        run.stderr
    );

    let text = ok(std::fs::read_to_string(file));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "employee_number,given_name,family_name,code,payload,expires_at,qr_png,\
             openid4vci_offer_uri,openid4vci_tx_code,openid4vci_qr_png"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 20);
    assert!(rows[0].starts_with("MOT-0001,Amira,Haddad,"), "{}", rows[0]);
    // Every code is in the file, none on the screen.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for record in reader.records() {
        let record = ok(record);
        let code = record.get(3).unwrap_or_default();
        assert_eq!(code.len(), 34, "{code}");
        assert!(!run.stdout.contains(code), "a code was printed");
        let payload = ok(govid_core::enrollment::EnrollmentOffer::parse(
            record.get(4).unwrap_or_default(),
        ));
        assert_eq!(payload.code, code);
        assert!(std::path::Path::new(record.get(6).unwrap_or_default()).is_file());
        // No public URL of the issuer service yet: no OpenID4VCI offer.
        assert_eq!(record.get(7), Some(""));
        assert_eq!(record.get(8), Some(""));
    }
}

/// With the service's public URL, each row also carries the OpenID4VCI offer, its PIN and QR
/// image; neither an offer nor a PIN is shown on the screen.
#[test]
fn offer_all_puts_the_openid4vci_offers_and_pins_in_the_codes_file() {
    let env = Env::new();
    env.init().import_sample();
    let run = env
        .run(&["offer", "--all", "--public-url", "https://hr.mot.example"])
        .assert_ok();
    let files = codes_files(&env);
    let text = ok(std::fs::read_to_string(&files[0]));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = 0;
    for record in reader.records() {
        let record = ok(record);
        let uri = record.get(7).unwrap_or_default();
        let pin = record.get(8).unwrap_or_default();
        assert!(
            uri.starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fhr.mot.example%2Foffers%2F"),
            "{uri}"
        );
        assert_eq!(pin.len(), 6, "{pin}");
        assert!(pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
        assert!(!run.stdout.contains(uri), "an offer was printed");
        assert!(std::path::Path::new(record.get(9).unwrap_or_default()).is_file());
        rows += 1;
    }
    assert_eq!(rows, 20);
    assert!(!run.stdout.contains("PIN"), "{}", run.stdout);
}

#[test]
fn offer_all_again_refuses_to_cancel_live_codes_without_replace() {
    let env = Env::new();
    env.init().import_sample();
    let first = env.run(&["--json", "offer", "--all"]).assert_ok().json();
    let old = ok(govid_core::enrollment::EnrollmentOffer::parse(
        first["offers"][0]["payload"].as_str().unwrap_or_default(),
    ));
    assert_eq!(live_offers(&env), 20);

    let run = env.run(&["offer", "--all"]).assert_fails_with(
        "20 of the 20 staff member(s) without an enrolled phone already have an unused \
         enrollment code that has not expired: Amira Haddad (MOT-0001), ",
    );
    assert!(
        run.stderr.contains(
            "and 15 more. New codes would make theirs stop working, so nothing was changed."
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`govid-issuer offer --all --replace`"),
        "{}",
        run.stderr
    );
    let j = env.run(&["--json", "offer", "--all"]).json();
    assert_eq!(j["error"], "live_offers");
    assert_eq!(j["details"]["live"], 20);
    assert_eq!(j["details"]["first"][0], "MOT-0001");
    assert_eq!(live_offers(&env), 20, "nothing cancelled");
    assert!(codes_files(&env).is_empty(), "no codes file for a refusal");

    // A new hire: --skip-live offers only them.
    let roster = env.write(
        "new.csv",
        &format!(
            "{}\nMOT-0100,Okafor,Ada,,Ministry of Transport,MOT,,,,,,2030-12-31\n",
            ok(std::fs::read_to_string(sample_roster()))
                .lines()
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    env.run(&["staff", "import", roster.to_str().unwrap_or_default()])
        .assert_ok();
    let j = env
        .run(&["--json", "offer", "--all", "--skip-live"])
        .assert_ok()
        .json();
    assert_eq!(j["offers"].as_array().map(Vec::len), Some(1));
    assert_eq!(j["offers"][0]["employee_number"], "MOT-0100");
    assert_eq!(j["skipped_live"], 20);
    assert_eq!(live_offers(&env), 21);

    // --replace cancels every live code and says so; the old code no longer enrolls.
    let run = env.run(&["offer", "--all", "--replace"]).assert_ok();
    assert!(
        run.stdout
            .contains("Replaced 21 earlier unused code(s): they no longer work."),
        "{}",
        run.stdout
    );
    assert_eq!(live_offers(&env), 21);
    let (_, proof) = env.phone_proof(&old, govid_core::jose::Algorithm::EdDSA, now());
    env.run(&["enroll", "--proof", proof.to_str().unwrap_or_default()])
        .assert_fails_with("replaced by a newer one");
}

#[test]
fn offer_for_one_person_prints_the_code_and_names_a_replaced_one() {
    let env = Env::new();
    env.init().import_sample();
    let run = env.run(&["offer", "MOT-0002"]).assert_ok();
    assert!(run.stdout.contains("  MOT-0002       "), "{}", run.stdout);
    assert!(!run.stdout.contains("replaces"), "{}", run.stdout);
    assert!(codes_files(&env).is_empty());
    let run = env.run(&["offer", "MOT-0002"]).assert_ok();
    assert!(
        run.stdout.contains(
            "This replaces the unused code made earlier for MOT-0002 (Thị Linh Nguyễn): it no longer works."
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn offer_all_keeps_the_json_codes_and_the_printed_listing_on_request() {
    let env = Env::new();
    env.init().import_sample();
    let j = env.run(&["--json", "offer", "--all"]).assert_ok().json();
    assert_eq!(j["offers"].as_array().map(Vec::len), Some(20));
    assert!(j["offers"][0]["code"]
        .as_str()
        .is_some_and(|c| c.len() == 34));
    assert_eq!(j["codes_file"], serde_json::Value::Null);
    assert!(
        codes_files(&env).is_empty(),
        "--json: the codes are in the answer only"
    );

    let run = env
        .run(&["offer", "--all", "--replace", "--print-codes"])
        .assert_ok();
    assert!(
        run.stdout
            .starts_with("Enrollment codes (single use, valid until "),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("   QR: ").count(), 20, "{}", run.stdout);
    assert!(codes_files(&env).is_empty());

    // A named codes file: never overwritten.
    let file = env.path("codes.csv");
    let j = env
        .run(&[
            "--json",
            "offer",
            "--all",
            "--replace",
            "--codes-file",
            file.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(j["codes_file"], file.to_str().unwrap_or_default());
    assert_eq!(
        ok(std::fs::metadata(&file)).permissions().mode() & 0o777,
        0o600
    );
    let before = live_offers(&env);
    let j = env
        .run(&[
            "--json",
            "offer",
            "--all",
            "--replace",
            "--codes-file",
            file.to_str().unwrap_or_default(),
        ])
        .json();
    assert_eq!(j["error"], "file_exists");
    assert!(
        j["message"].as_str().is_some_and(|m| m.ends_with(
            "codes.csv already exists; name a new file with --codes-file (nothing was changed)"
        )),
        "{j}"
    );
    assert_eq!(live_offers(&env), before);

    let run = env.run(&["offer", "MOT-0001", "--skip-live"]).assert_ok();
    assert_eq!(
        run.stdout.trim(),
        "Nobody needs a new enrollment code: 1 staff member(s) still have an unused one \
         (--replace makes new ones)."
    );
    let r = env.run(&["offer", "--all", "--replace", "--skip-live"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}

/// At a terminal `offer --all` draws a progress bar on standard error.
#[test]
fn offer_all_shows_progress_at_a_terminal() {
    let env = Env::new();
    env.init();
    let roster = env.path("synth.csv");
    env.run(&[
        "dev",
        "synth",
        "--count",
        "400",
        "--out",
        roster.to_str().unwrap_or_default(),
    ])
    .assert_ok();
    env.run(&["staff", "import", roster.to_str().unwrap_or_default()])
        .assert_ok();
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = format!(
        "{} --dir {} offer --all",
        quote(BIN),
        quote(&env.dir.to_string_lossy())
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("GOVID_ISSUER_DIR")
        .env_remove("GOVID_ISSUER_DB")
        .envs(env.engine_vars())
        .env_remove("GOVID_ISSUER_NOW")
        .stdin(Stdio::null())
        .output();
    let out = out.unwrap_or_else(|e| panic!("`script` (util-linux) runs this test: {e}"));
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("making QR images ["), "{screen}");
    assert!(screen.contains("/400 codes"), "{screen}");
    assert!(screen.contains("Made 400 enrollment code(s)"), "{screen}");
}
