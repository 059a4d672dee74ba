//! `govid-issuer serve` outlives a restart of its PostgreSQL server: the connections the server
//! closed are replaced at their next use, a request during the outage gets a clear error (no
//! answer it should not), and after the restart the service goes on with what was committed.
//!
//! On a cluster of its own (`scripts/pg-test-cluster`, Debian's postgresql), whatever
//! `GOVID_TEST_ENGINE` says: stopping a server is what this test is about.

mod common;
mod wallet;

use std::path::PathBuf;
use std::process::Command;

use common::{ok, Env, PgDatabase};
use govid_core::jose::{Algorithm, SoftwareSigner};
use rand_core::OsRng;
use wallet::*;

/// A throwaway cluster, destroyed at the end.
struct Cluster {
    dir: PathBuf,
    url: String,
}

fn cluster_script(args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster");
    let out = ok(Command::new("bash").arg(&script).args(args).output());
    assert!(
        out.status.success(),
        "this test needs PostgreSQL (initdb, pg_ctl): install it with scripts/setup.\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Cluster {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("govid-issuer-pg-{}", std::process::id()));
        let _ = Command::new("bash")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster"))
            .args(["destroy", &dir.display().to_string()])
            .output();
        let url = cluster_script(&["start", &dir.display().to_string()]);
        Cluster { dir, url }
    }

    fn stop(&self) {
        cluster_script(&["stop", &self.dir.display().to_string()]);
    }

    fn start_again(&self) {
        let url = cluster_script(&["start", &self.dir.display().to_string()]);
        assert_eq!(url, self.url, "the cluster came back on another port");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster"))
            .args(["destroy", &self.dir.display().to_string()])
            .output();
    }
}

#[test]
fn serve_goes_on_after_its_database_restarts() {
    let cluster = Cluster::start();
    let env = Env::on_postgres(PgDatabase::new_in(&cluster.url));
    env.init();
    env.import_sample();
    let server = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let other_phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let before = make_offer(&env, &server, "MOT-0001", &[]);
    let after = make_offer(&env, &server, "MOT-0002", &[]);
    let token = get_token(&server, &before, &phone);

    // While the server is down: an error, never a token.
    cluster.stop();
    let down = token_request(&server, &after, &after.pin, Some(&other_phone));
    assert!(
        down.status == 500 || down.status == 503,
        "{} {}",
        down.status,
        down.body
    );
    assert!(down.body.get("access_token").is_none(), "{}", down.body);

    // After the restart: the offer made before, the token issued before, and new work.
    cluster.start_again();
    let token_after = get_token(&server, &after, &other_phone);
    for (t, key) in [(&token, &phone), (&token_after, &other_phone)] {
        let nonce = c_nonce(&server);
        let body = request_body(&server, "worker_id", key, &nonce, common::now(), None);
        let credential = credential_of(&credential_request(&server, t, key, &body));
        assert!(credential.contains('~'), "an SD-JWT: {credential}");
    }
    // The code exchanged before the outage stays spent.
    let spent = token_request(&server, &before, &before.pin, Some(&phone));
    assert_error(&spent, 400, "invalid_grant");
    assert_eq!(
        spent.body["error_description"],
        "pre-authorized code already used"
    );
    drop(server);
    env.run(&["audit", "verify"]).assert_ok();
    assert!(duplicate_status_indices(&env).is_empty());
}
