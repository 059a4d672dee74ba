//! Employee numbers that differ only in case are one person: refused twice in a roster, found in
//! any case, and a database that already holds such a pair is named rather than merged.

mod common;

use common::*;

const HEADER: &str = "employee_number,family_name,given_name,birth_date,organization_name,organization_code,department,position,grade,clearance,access_zones,valid_until";

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn has_nocase_index(env: &Env) -> bool {
    ok(env.db().query_row(
        if env.pg.is_some() {
            "SELECT to_regclass('staff_number_nocase') IS NOT NULL"
        } else {
            "SELECT EXISTS(SELECT 1 FROM sqlite_schema WHERE name = 'staff_number_nocase')"
        },
        [],
        |r| r.get(0),
    ))
}

/// Regression: `MOT-0100` and `mot-0100` were imported as two people (whose ID files collide on
/// case-insensitive disks).
#[test]
fn a_roster_with_two_cases_of_one_number_is_refused_with_the_line() {
    let env = Env::new();
    env.init();
    let file = env.write(
        "r.csv",
        &format!(
            "{HEADER}\n\
             MOT-0100,Haddad,Amira,,Ministry of Transport,MOT,,,,,,2030-12-31\n\
             mot-0100,Haddad,Amira,,Ministry of Transport,MOT,,,,,,2030-12-31\n"
        ),
    );
    env.run(&["staff", "import", s(&file)]).assert_fails_with(
        "line 3: employee_number mot-0100 already appears on line 2 as MOT-0100 (employee \
         numbers that differ only in case are the same)",
    );
    let list = env.run(&["--json", "staff", "list"]).assert_ok().json();
    assert_eq!(list["staff"].as_array().map(Vec::len), Some(0));
}

/// Regression: `staff show`, `revoke` and the others needed the exact case.
#[test]
fn staff_are_found_in_any_case_and_keep_their_spelling() {
    let env = Env::new();
    env.init().import_sample();
    let shown = env
        .run(&["--json", "staff", "show", "mot-0001"])
        .assert_ok()
        .json();
    assert_eq!(shown["employee_number"], "MOT-0001");
    env.enroll("mot-0001");
    let r = env.run(&["issue", "Mot-0001"]).assert_ok();
    assert!(r.stdout.contains("Issued 1 ID(s)"), "{}", r.stdout);
    assert!(env.dir.join("credentials/MOT-0001.sd-jwt").is_file());
    env.run(&["suspend", "mot-0001"]).assert_ok();
    env.run(&["reinstate", "MOT-0001"]).assert_ok();
    let r = env
        .run(&["revoke", "mot-0001", "--reason", "left"])
        .assert_ok();
    assert!(
        r.stdout.starts_with("Revoked MOT-0001 (1 ID(s))"),
        "{}",
        r.stdout
    );
    env.run(&["audit", "verify"]).assert_ok();
    let detail: String = ok(env.db().query_row(
        "SELECT detail FROM audit WHERE action = 'revoke'",
        [],
        |r| r.get(0),
    ));
    assert!(
        detail.contains("\"employee_number\":\"MOT-0001\""),
        "{detail}"
    );

    // A roster spelling the number in another case updates that person.
    let file = env.write(
        "r.csv",
        &format!("{HEADER}\nmot-0002,Renamed,Person,,Ministry of Transport,MOT,,,,,,2030-12-31\n"),
    );
    let r = env
        .run(&["--json", "staff", "import", s(&file)])
        .assert_ok()
        .json();
    assert_eq!(
        (r["added"].as_i64(), r["updated"].as_i64()),
        (Some(0), Some(1))
    );
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0002"])
        .assert_ok()
        .json();
    assert_eq!(shown["family_name"], "Renamed");
    assert!(has_nocase_index(&env));
}

#[test]
fn a_database_holding_two_cases_of_one_number_is_named_not_merged() {
    // A database from before the index (an `issuer.db` upgrade: PostgreSQL databases have it
    // from the start): on SQLite whatever the engine under test.
    let env = Env::on_sqlite();
    env.init().import_sample();
    // As a database made before the rule could be.
    ok(env.db().execute_batch(
        "DROP INDEX staff_number_nocase;
         INSERT INTO staff(employee_number, family_name, given_name, organization_name,
             organization_code, access_zones, valid_until, created_at, updated_at)
           SELECT 'mot-0001', family_name, given_name, organization_name, organization_code,
             access_zones, valid_until, created_at, updated_at
           FROM staff WHERE employee_number = 'MOT-0001';",
    ));
    let message = "issuer.db holds both \"MOT-0001\" and \"mot-0001\", employee numbers that \
                   differ only in case (one person to govid-issuer, and one file name on many \
                   disks). Nothing was changed.";
    for args in [
        vec!["staff", "show", "MOT-0001"],
        vec!["revoke", "mot-0001", "--reason", "left"],
        vec!["offer", "Mot-0001"],
    ] {
        let r = env.run(&args).assert_fails_with(message);
        assert!(r.stderr.contains("merge or renumber"), "{}", r.stderr);
    }
    let j = env.run(&["--json", "staff", "show", "mot-0001"]).json();
    assert_eq!(j["error"], "ambiguous_employee_number");
    assert!(!has_nocase_index(&env), "not added over the pair");
    let state: String = ok(env.db().query_row(
        "SELECT state FROM staff WHERE employee_number = 'MOT-0001'",
        [],
        |r| r.get(0),
    ));
    assert_eq!(state, "active");
    // Others are unaffected, and once the pair is gone the index comes back.
    env.run(&["staff", "show", "mot-0002"]).assert_ok();
    ok(env
        .db()
        .execute("DELETE FROM staff WHERE employee_number = 'mot-0001'", []));
    env.run(&["staff", "list"]).assert_ok();
    assert!(has_nocase_index(&env));
}
