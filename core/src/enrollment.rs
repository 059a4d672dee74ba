//! Enrollment: the holder's key proof for HR (OpenID4VCI 1.0 §F.1 `openid4vci-proof+jwt`).
//!
//! The wallet makes a key in the phone, and proves to HR that it holds it by signing a JWT whose
//! header carries the public key and whose `nonce` is the enrollment code HR handed out:
//!
//! ```text
//! header  {"typ": "openid4vci-proof+jwt", "alg": "ES256" | "EdDSA", "jwk": <holder public JWK>}
//! payload {"aud": <issuer id>, "iat": <now>, "nonce": <enrollment code>}
//! ```

use serde_json::{Map, Value};

use crate::jose::{sign_compact, SignError, Signer};

/// The key proof JWT `typ`.
pub const KEY_PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Makes the key proof for enrollment `code` at issuer `issuer_id`, signed by the holder key.
pub fn make_key_proof(
    code: &str,
    issuer_id: &str,
    iat: u64,
    holder: &dyn Signer,
) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(KEY_PROOF_TYP.to_owned()));
    header.insert("jwk".to_owned(), holder.public_key().to_jwk());
    let mut payload = Map::new();
    payload.insert("aud".to_owned(), Value::String(issuer_id.to_owned()));
    payload.insert("iat".to_owned(), Value::from(iat));
    payload.insert("nonce".to_owned(), Value::String(code.to_owned()));
    sign_compact(header, &payload, holder)
}
