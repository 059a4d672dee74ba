//! Key Binding JWTs (RFC 9901 §4.3): creation by the holder, verification by the verifier.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::VerifyError;
use super::policy::VerifyPolicy;
use super::SdAlg;
use crate::jose::{sign_compact, CompactJws, JwkError, JwsError, PublicKey, SignError, Signer};
use crate::time::numeric_date;

/// The KB-JWT `typ`.
pub const KB_JWT_TYP: &str = "kb+jwt";

/// What the holder binds a presentation to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KbRequest {
    /// The verifier (`aud`).
    pub aud: String,
    /// The transaction (`nonce`): the verifier's challenge, or a fresh random one for a
    /// rotating one-way code.
    pub nonce: String,
    /// Creation time (`iat`), unix seconds.
    pub iat: u64,
}

/// A checked key binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBinding {
    /// `iat` of the KB-JWT.
    pub iat: u64,
    /// `aud` of the KB-JWT.
    pub aud: String,
    /// `nonce` of the KB-JWT.
    pub nonce: String,
    /// SHA-256 of the KB-JWT's signing input (`header.payload`, the bytes the holder's signature
    /// covers): the key of a replay cache. Never the signature's bytes: an ECDSA signature
    /// `(r, s)` has a twin `(r, n − s)` that anyone can compute and that verifies as well, so a
    /// key over the whole text would let a photographed code be shown again as a "new" one.
    pub replay_key: [u8; 32],
}

/// Creates the KB-JWT for `sd_jwt` (`<JWT>~<D1>~…~<Dn>~`).
pub fn create_kb_jwt(
    sd_jwt: &str,
    sd_alg: SdAlg,
    request: &KbRequest,
    holder: &dyn Signer,
) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(KB_JWT_TYP.to_owned()));
    let mut payload = Map::new();
    payload.insert("iat".to_owned(), Value::from(request.iat));
    payload.insert("aud".to_owned(), Value::String(request.aud.clone()));
    payload.insert("nonce".to_owned(), Value::String(request.nonce.clone()));
    payload.insert(
        "sd_hash".to_owned(),
        Value::String(sd_alg.digest_b64(sd_jwt.as_bytes())),
    );
    sign_compact(header, &payload, holder)
}

/// The holder key from `cnf.jwk` of a processed payload, if there is a `cnf`.
pub(crate) fn holder_key(
    payload: &Map<String, Value>,
    keys: &dyn super::HolderKeys,
) -> Result<Option<PublicKey>, VerifyError> {
    let Some(cnf) = payload.get("cnf") else {
        return Ok(None);
    };
    let jwk = cnf
        .get("jwk")
        .ok_or(VerifyError::HolderKey(JwkError::MissingMember("jwk")))?;
    keys.holder_key(jwk)
        .map(Some)
        .map_err(VerifyError::HolderKey)
}

/// Verifies a KB-JWT against the holder key and the presented SD-JWT (RFC 9901 §7.3 step 5).
pub(crate) fn verify_kb_jwt(
    kb_text: &str,
    sd_jwt: &str,
    sd_alg: SdAlg,
    holder: &PublicKey,
    policy: &VerifyPolicy,
    now: u64,
) -> Result<KeyBinding, VerifyError> {
    let depth = policy.limits.max_json_depth;
    let jws = CompactJws::parse(kb_text, depth).map_err(VerifyError::KbJws)?;
    match jws.verify(holder, &policy.algorithms) {
        Ok(()) => {}
        Err(JwsError::BadSignature | JwsError::KeyMismatch) => {
            return Err(VerifyError::KbSignature)
        }
        Err(e) => return Err(VerifyError::KbJws(e)),
    }
    if jws.header.typ.as_deref() != Some(KB_JWT_TYP) {
        return Err(VerifyError::KbTyp);
    }
    let payload = jws
        .payload_object(depth)
        .map_err(|_| VerifyError::KbClaim("payload"))?;
    let iat = payload
        .get("iat")
        .and_then(numeric_date)
        .ok_or(VerifyError::KbClaim("iat"))?;
    let window = policy.kb_window;
    if iat.saturating_add(window.max_age) < now || iat > now.saturating_add(window.max_future) {
        return Err(VerifyError::KbIat);
    }
    let text = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .ok_or(VerifyError::KbClaim(name))
    };
    let aud = text("aud")?;
    let nonce = text("nonce")?;
    let sd_hash = text("sd_hash")?;
    if let Some(expect) = &policy.key_binding {
        if aud != expect.aud {
            return Err(VerifyError::KbAud);
        }
        if expect.nonce.as_deref().is_some_and(|n| n != nonce) {
            return Err(VerifyError::KbNonce);
        }
    }
    if sd_hash != sd_alg.digest_b64(sd_jwt.as_bytes()) {
        return Err(VerifyError::SdHash);
    }
    Ok(KeyBinding {
        iat,
        aud: aud.to_owned(),
        nonce: nonce.to_owned(),
        replay_key: Sha256::digest(jws.signing_input()).into(),
    })
}
