//! Prints GV1 sizes: compact presentation bytes -> `GV1:` payload characters -> QR version at ECC M.
//!
//! Rows: every presentation in `testdata/vectors/sd-jwt/spec_examples.json` (ES256, JSON with
//! spaces, as in the RFC), then two synthetic govid-shaped presentations (EdDSA, compact JSON,
//! random-looking salts, digests and signatures; not signed) to show the dictionary at work.
//!
//! Run: `cargo run -p govid-core --example qr_sizes`

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use govid_core::qr::{encode_presentation, render, Ecc, QrError};
use sha2::{Digest, Sha256};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let vectors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    println!("| presentation | compact bytes | GV1 chars | ratio | QR version (ECC M) |");
    println!("|---|---:|---:|---:|---:|");
    let list = vectors["vectors"].as_array().ok_or("no vectors array")?;
    for v in list {
        let id = v["id"].as_str().ok_or("vector without id")?;
        let compact = v["presentation"]
            .as_str()
            .ok_or("vector without presentation")?;
        row(id, compact)?;
    }
    row(
        "synthetic govid, gate disclosure + KB-JWT",
        &synthetic(false),
    )?;
    row(
        "synthetic govid, all 10 disclosures + KB-JWT",
        &synthetic(true),
    )?;
    Ok(())
}

fn row(id: &str, compact: &str) -> Result<(), QrError> {
    let payload = encode_presentation(compact)?;
    let version = match render(&payload, Ecc::M) {
        Ok(code) => code.version().to_string(),
        Err(QrError::TooLarge { max, .. }) => format!("too large (max {max})"),
        Err(e) => return Err(e),
    };
    let ratio = payload.len() as f64 / compact.len() as f64;
    println!(
        "| {id} | {} | {} | {ratio:.2} | {version} |",
        compact.len(),
        payload.len()
    );
    Ok(())
}

/// Deterministic random-looking bytes.
fn bytes(label: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut counter = 0u32;
    while out.len() < n {
        out.extend_from_slice(&Sha256::digest(format!("{label}/{counter}")));
        counter += 1;
    }
    out.truncate(n);
    out
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// A govid-shaped presentation: EdDSA issuer JWT, disclosures, KB-JWT.
fn synthetic(all: bool) -> String {
    let claims: [(&str, serde_json::Value); 10] = [
        ("given_name", "Alice".into()),
        ("family_name", "Example-Worker".into()),
        ("employee_number", "E-0042137".into()),
        (
            "organization",
            serde_json::json!({"name": "Ministry of Examples", "code": "MOE"}),
        ),
        (
            "access_zones",
            serde_json::json!(["HQ-B1", "HQ-B2", "LAB-3"]),
        ),
        ("department", "Digital Services".into()),
        ("position", "Senior Engineer".into()),
        ("grade", "A7".into()),
        ("clearance", "restricted".into()),
        ("birthdate", "1984-05-17".into()),
    ];
    let disclosures: Vec<String> = claims
        .iter()
        .map(|(name, value)| {
            let salt = b64(&bytes(&format!("salt/{name}"), 16));
            b64(serde_json::json!([salt, name, value])
                .to_string()
                .as_bytes())
        })
        .collect();
    let digests: Vec<String> = disclosures
        .iter()
        .map(|d| b64(&Sha256::digest(d)))
        .collect();
    let header = r#"{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"did:web:govid.example#key-2025"}"#;
    let payload = serde_json::json!({
        "_sd": digests,
        "iss": "https://govid.example/issuer",
        "iat": 1_767_225_600u64,
        "exp": 1_798_761_600u64,
        "vct": "https://govid.example/vct/worker-id/v1",
        "status": {"status_list": {"idx": 4711, "uri": "https://govid.example/status/1"}},
        "cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(&bytes("holder", 32))}},
        "_sd_alg": "sha-256",
    });
    let jwt = format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.to_string().as_bytes()),
        b64(&bytes("issuer-sig", 64))
    );
    let shown = if all {
        &disclosures[..]
    } else {
        &disclosures[..5]
    };
    let mut sd_jwt = jwt;
    for d in shown {
        sd_jwt.push('~');
        sd_jwt.push_str(d);
    }
    sd_jwt.push('~');
    let kb_payload = serde_json::json!({
        "iat": 1_767_300_000u64,
        "aud": "https://gate-7.hq.govid.example",
        "nonce": b64(&bytes("nonce", 16)),
        "sd_hash": b64(&Sha256::digest(&sd_jwt)),
    });
    format!(
        "{sd_jwt}{}.{}.{}",
        b64(br#"{"alg":"EdDSA","typ":"kb+jwt"}"#),
        b64(kb_payload.to_string().as_bytes()),
        b64(&bytes("kb-sig", 64))
    )
}
