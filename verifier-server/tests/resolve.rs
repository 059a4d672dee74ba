//! `govid-verifier resolve` as a user runs it: output, exit status, stderr.

use std::process::{Command, Output};

fn resolve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .arg("resolve")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run govid-verifier: {e}"))
}

fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON: {e}"))
}

#[test]
fn did_key_prints_a_jwks() {
    let did = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv";
    let out = resolve(&[did]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let keys = stdout_json(&out);
    assert_eq!(
        keys,
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256",
            "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
            "kid": format!("{did}#{}", &did["did:key:".len()..]),
        }]})
    );
}

#[test]
fn did_jwk_prints_the_0_method() {
    let did = "did:jwk:eyJjcnYiOiJFZDI1NTE5Iiwia3R5IjoiT0tQIiwieCI6ImEtNl9jcHd5T2tiX01fZ0dCMXRleW5BNUdGTzlyTHgyUm5jZ1k4OGVrQXMifQ";
    let out = resolve(&[did, "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out)["keys"][0]["kid"], format!("{did}#0"));
}

#[test]
fn did_web_offline_prints_the_url() {
    let out = resolve(&["did:web:w3c-ccg.github.io:user:alice", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "https://w3c-ccg.github.io/user/alice/did.json\n"
    );
}

#[test]
fn invalid_did_exits_1_with_one_stderr_line() {
    for did in [
        "did:key:z0bad",
        "did:web:10.0.0.1",
        "did:jwk:e30",
        "not-a-did",
    ] {
        let out = resolve(&[did, "--offline"]);
        assert_eq!(out.status.code(), Some(1), "{did}: {out:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{did}: {stderr}");
        assert!(
            stderr.starts_with("govid-verifier resolve: invalid DID: "),
            "{stderr}"
        );
    }
}

#[test]
fn unreachable_did_web_exits_1() {
    // Loopback port 1: nothing listens there, so the connection is refused at once.
    let out = resolve(&["did:web:localhost%3A1", "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "govid-verifier resolve: could not fetch https://localhost:1/.well-known/did.json"
        ),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(resolve(&[]).status.code(), Some(2));
    assert_eq!(resolve(&["did:key:z", "--bogus"]).status.code(), Some(2));
    assert_eq!(
        resolve(&["did:key:z", "--timeout", "0"]).status.code(),
        Some(2)
    );
}
