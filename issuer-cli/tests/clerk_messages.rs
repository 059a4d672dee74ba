//! Messages an HR clerk acts on: what `issue --all` did when there was nothing to do, empty
//! settings, roster problems, and who a re-import leaves out.

mod common;

use common::*;

#[test]
fn issue_all_with_nobody_enrolled_says_why_and_not_publish() {
    let env = Env::new();
    env.init();
    let run = env.run(&["issue", "--all"]).assert_ok();
    assert_eq!(
        run.stdout.trim_end(),
        "Nothing issued: there are no staff yet (run `govid-issuer staff import ROSTER.CSV`)."
    );
    env.import_sample();
    let run = env.run(&["issue", "--all"]).assert_ok();
    assert_eq!(
        run.stdout.trim_end(),
        "Nothing issued, nothing to publish: nobody has enrolled a phone yet (20 active staff \
         member(s)): see `govid-issuer offer --all`."
    );
    assert!(!run.stdout.contains("publish --out"), "{}", run.stdout);
    let j = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(
        (&j["issued"], &j["not_enrolled"], &j["already_current"]),
        (&0.into(), &20.into(), &0.into())
    );
}

#[test]
fn issue_all_when_everyone_has_an_id_says_so() {
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.enroll("MOT-0002");
    env.run(&["suspend", "MOT-0003"]).assert_ok();
    let run = env.run(&["issue", "--all"]).assert_ok();
    assert!(
        run.stdout.contains("Issued 2 ID(s)") && run.stdout.contains("Next: govid-issuer publish"),
        "{}",
        run.stdout
    );
    let run = env.run(&["issue", "--all"]).assert_ok();
    assert_eq!(
        run.stdout.trim_end(),
        "Nothing issued, nothing to publish: 2 enrolled staff member(s) already have a current ID \
         (--reissue replaces them); 17 active staff member(s) have not enrolled a phone yet: see \
         `govid-issuer offer --all`; 1 are suspended or revoked."
    );
    let j = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(
        (
            &j["issued"],
            &j["already_current"],
            &j["suspended_or_revoked"]
        ),
        (&0.into(), &2.into(), &1.into())
    );
    let run = env.run(&["issue", "MOT-0001"]).assert_ok();
    assert_eq!(
        run.stdout.trim_end(),
        "Nothing issued: MOT-0001 already has a current ID (use --reissue to replace it)."
    );
}

/// Regression: `GOVID_ISSUER_DIR=` (set but empty) made every command fail, even with --dir.
#[test]
fn an_empty_issuer_dir_variable_counts_as_unset() {
    let env = Env::new();
    env.init();
    let run = env
        .run_env(&["staff", "list"], &[("GOVID_ISSUER_DIR", "")])
        .assert_ok();
    assert!(run.stdout.ends_with("0 staff\n"), "{}", run.stdout);
    let out = ok(command()
        .args(["staff", "list"])
        .env("GOVID_ISSUER_DIR", "")
        .output());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no issuer directory: pass --dir DIR or set GOVID_ISSUER_DIR\n"
    );
    // A set variable still works without --dir, and --dir wins over it.
    let out = ok(env
        .command()
        .args(["staff", "list"])
        .env("GOVID_ISSUER_DIR", &env.dir)
        .output());
    assert_eq!(out.status.code(), Some(0));
    let out = ok(env
        .command()
        .arg("--dir")
        .arg(&env.dir)
        .args(["staff", "list"])
        .env("GOVID_ISSUER_DIR", env.path("elsewhere"))
        .output());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn staff_import_help_shows_the_exact_header_row() {
    let out = ok(command().args(["staff", "import", "--help"]).output());
    let help = String::from_utf8_lossy(&out.stdout);
    let header = ok(std::fs::read_to_string(sample_roster()));
    let header = header
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches('\u{feff}');
    assert!(
        help.contains(&format!(
            "The roster's first line must be exactly this header (copy it):\n\n{header}\n"
        )),
        "{help}"
    );
    assert_eq!(
        header,
        "employee_number,family_name,given_name,birth_date,organization_name,organization_code,\
         department,position,grade,clearance,access_zones,valid_until"
    );
}

const HEADER: &str = "employee_number,family_name,given_name,birth_date,organization_name,\
                      organization_code,department,position,grade,clearance,access_zones,valid_until";

#[test]
fn import_names_impossible_dates_and_every_problem_of_a_row() {
    let env = Env::new();
    env.init();
    let file = env.write(
        "roster.csv",
        &format!(
            "{HEADER}\r\n\
             A-1,Haddad,Amira,1986-04-12,Ministry of Transport,MOT,,,,,,2030-12-31\r\n\
             A-2,,Linh,1990-02-30,Ministry of Transport,MOT,,,,,,2030-06-31\r\n"
        ),
    );
    let r = env
        .run(&["staff", "import", file.to_str().unwrap_or_default()])
        .assert_fails_with(
            "1 bad row(s); nothing was imported. Fix them, or use --skip-invalid to import the 1 \
             good row(s):\n  line 3: family_name is empty (required); birth_date 1990-02-30 \
             does not exist: February 1990 has 28 days; valid_until 2030-06-31 does not exist: \
             June 2030 has 30 days\n",
        );
    let j = env
        .run(&[
            "--json",
            "staff",
            "import",
            file.to_str().unwrap_or_default(),
        ])
        .json();
    assert_eq!(j["error"], "invalid_roster");
    assert_eq!(j["details"]["bad_rows"][0]["line"], 3);
    assert!(r.stdout.is_empty());
}

/// Regression: CJK, Korean and Devanagari names shifted the columns after them in `staff list`.
#[test]
fn staff_list_columns_line_up_in_every_script() {
    let env = Env::new();
    env.init().import_sample();
    let run = env.run(&["staff", "list"]).assert_ok();
    // The ORG column starts after the 14-column number and the 28-column name, in display
    // columns; the sample's names are all shorter than 28 columns, so each ends in padding.
    for line in run.stdout.lines().skip(1).filter(|l| l.starts_with("MOT-")) {
        let name: String = line.chars().skip(15).collect();
        let (name, rest) = name.split_at(name.find("MOT ").unwrap_or(0));
        let columns: usize = name
            .chars()
            .map(|c| match c as u32 {
                // Non-spacing marks (Devanagari virama and vowel signs, Vietnamese tones): none.
                0x0300..=0x036F | 0x0900..=0x0902 | 0x093A | 0x093C | 0x0941..=0x0948 | 0x094D => 0,
                // CJK and Hangul: two columns.
                0x1100..=0x115F | 0x3000..=0x9FFF | 0xAC00..=0xD7A3 => 2,
                _ => 1,
            })
            .sum();
        assert_eq!(columns, 29, "{line:?}");
        assert!(rest.starts_with("MOT    20"), "{line:?}");
    }
    assert!(run.stdout.contains("김, 민준"), "{}", run.stdout);
}

#[test]
fn reimport_names_who_needs_reissue() {
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let sample = ok(std::fs::read_to_string(sample_roster()));
    let changed = env.write(
        "changed.csv",
        &sample.replace("Senior Inspector", "Chief Inspector"),
    );
    let path = changed.to_str().unwrap_or_default();
    let run = env.run(&["staff", "import", path]).assert_ok();
    assert!(
        run.stdout.contains(
            "1 updated staff member(s) hold an ID with the old details; give each a new one:\n  \
             Amira Haddad (MOT-0001): govid-issuer issue MOT-0001 --reissue"
        ),
        "{}",
        run.stdout
    );
    let env2 = Env::new();
    env2.init().import_sample();
    env2.enroll("MOT-0001");
    env2.run(&["issue", "MOT-0001"]).assert_ok();
    let j = env2
        .run(&["--json", "staff", "import", path])
        .assert_ok()
        .json();
    assert_eq!(j["updated_with_current_id"], 1);
    assert_eq!(j["reissue_needed"], serde_json::json!(["MOT-0001"]));
}
