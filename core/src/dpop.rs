//! DPoP proofs (RFC 9449): making them (the wallet) and checking them (the issuer's token and
//! credential endpoints).
//!
//! A proof is a JWS with header `{"typ": "dpop+jwt", "alg", "jwk"}` (RFC 9449 §4.2) and payload
//! `{"jti", "htm", "htu", "iat"}`, plus `ath` (base64url SHA-256 of the access token) when it
//! accompanies an access token. [`verify_proof`] makes the checks of §4.3 that need no state;
//! remembering `jti`s for the `iat` window (§11.1) and comparing the key thumbprint with the
//! token's `cnf.jkt` (§6) are the caller's.
//!
//! No I/O: the time and the `jti` are passed in.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::jose::{Algorithm, CompactJws, PublicKey, SignError, Signer};
use crate::time::numeric_date;

/// The JWT `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// Longest DPoP proof accepted, in bytes.
pub const MAX_DPOP_LEN: usize = 4096;

/// JSON nesting allowed in a proof.
const MAX_JSON_DEPTH: usize = 8;

/// Why a DPoP proof was refused. Variants carry no input bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Longer than [`MAX_DPOP_LEN`].
    #[error("DPoP proof is too long")]
    TooLong,
    /// Not a compact JWS with a supported `alg`.
    #[error("DPoP proof is not a valid JWT")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("DPoP proof `typ` is not `dpop+jwt`")]
    Typ,
    /// No valid public `jwk` in the header.
    #[error("DPoP proof header has no valid public `jwk`")]
    Key,
    /// `alg` is not accepted or does not match the key.
    #[error("DPoP proof `alg` is not accepted")]
    Alg,
    /// The signature does not verify with the header's key.
    #[error("DPoP proof signature does not verify")]
    Signature,
    /// A claim is missing or of the wrong type.
    #[error("DPoP proof claim `{0}` is missing or malformed")]
    Claim(&'static str),
    /// `htm` is not the request's method.
    #[error("DPoP proof `htm` does not match the request")]
    Method,
    /// `htu` is not the request's URL.
    #[error("DPoP proof `htu` does not match the request")]
    Url,
    /// `iat` is outside the accepted window.
    #[error("DPoP proof `iat` is not recent")]
    Time,
    /// `ath` is missing or is not the hash of the access token presented.
    #[error("DPoP proof `ath` does not match the access token")]
    AccessTokenHash,
}

/// What a proof must match.
#[derive(Clone, Copy, Debug)]
pub struct DpopExpectation<'a> {
    /// The request's method, e.g. `POST`.
    pub htm: &'a str,
    /// The request's URL without query and fragment (RFC 9449 §4.3 check 9).
    pub htu: &'a str,
    /// The access token presented with the proof, if any: `ath` must be its hash.
    pub access_token: Option<&'a str>,
    /// Accepted algorithms.
    pub algs: &'a [Algorithm],
}

/// How far from now a proof's `iat` may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpopWindow {
    /// Oldest accepted `iat`, in seconds before now.
    pub max_age: u64,
    /// Latest accepted `iat`, in seconds after now (clock skew).
    pub max_future: u64,
}

impl Default for DpopWindow {
    /// 60 seconds either way.
    fn default() -> Self {
        Self {
            max_age: 60,
            max_future: 60,
        }
    }
}

/// A proof that passed [`verify_proof`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpopProof {
    /// The proof key.
    pub key: PublicKey,
    /// Its RFC 7638 thumbprint: the `cnf.jkt` of a token bound to it (RFC 9449 §6.1).
    pub jkt: String,
    /// `jti`, to remember until `iat + max_age` (§11.1).
    pub jti: String,
    /// `iat`, whole seconds.
    pub iat: u64,
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(Sha256::digest(access_token.as_bytes()))
}

/// What a wallet puts in a proof besides its key.
#[derive(Clone, Copy, Debug)]
pub struct DpopClaims<'a> {
    /// A unique identifier (≥ 96 random bits, base64url), from the caller's RNG.
    pub jti: &'a str,
    /// The request's method.
    pub htm: &'a str,
    /// The request's URL without query and fragment.
    pub htu: &'a str,
    /// Now, unix seconds.
    pub iat: u64,
    /// The access token the proof goes with, if any (`ath` is set from it).
    pub access_token: Option<&'a str>,
}

/// Makes a DPoP proof signed by `key`, with its public key in the header.
pub fn make_proof(claims: &DpopClaims<'_>, key: &dyn Signer) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(DPOP_TYP.to_owned()));
    header.insert("jwk".to_owned(), key.public_key().to_jwk());
    let mut payload = Map::new();
    payload.insert("jti".to_owned(), Value::String(claims.jti.to_owned()));
    payload.insert("htm".to_owned(), Value::String(claims.htm.to_owned()));
    payload.insert("htu".to_owned(), Value::String(claims.htu.to_owned()));
    payload.insert("iat".to_owned(), Value::from(claims.iat));
    if let Some(token) = claims.access_token {
        payload.insert("ath".to_owned(), Value::String(access_token_hash(token)));
    }
    sign_with_jwk_header(&header, &payload, key)
}

/// Signs `header` (which names the key by `jwk`) and `payload` as a compact JWS with `alg` from
/// `key` and no `kid`, whatever `key.key_id()` says: a header with `jwk` must not name the key a
/// second way (OpenID4VCI 1.0 §F.1, RFC 9449 §4.2).
pub(crate) fn sign_with_jwk_header(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    key: &dyn Signer,
) -> Result<String, SignError> {
    let mut full = Map::new();
    full.insert(
        "alg".to_owned(),
        Value::String(key.algorithm().as_str().to_owned()),
    );
    for (k, v) in header {
        if k != "alg" && k != "kid" {
            full.insert(k.clone(), v.clone());
        }
    }
    let encode = |map: &Map<String, Value>| {
        serde_json::to_vec(map).map_err(|_| SignError {
            reason: "JWT is not serializable".to_owned(),
        })
    };
    let mut text = b64::encode(encode(&full)?);
    text.push('.');
    text.push_str(&b64::encode(encode(payload)?));
    let signature = key.sign(text.as_bytes())?;
    text.push('.');
    text.push_str(&b64::encode(signature));
    Ok(text)
}

/// Checks a DPoP proof against the request (RFC 9449 §4.3, checks 1–11 but the `jti` replay
/// check and the server `nonce`, which this issuer does not use).
pub fn verify_proof(
    proof: &str,
    expected: &DpopExpectation<'_>,
    now: u64,
    window: DpopWindow,
) -> Result<DpopProof, DpopError> {
    if proof.len() > MAX_DPOP_LEN {
        return Err(DpopError::TooLong);
    }
    let jws = CompactJws::parse(proof, MAX_JSON_DEPTH).map_err(|_| DpopError::Malformed)?;
    if jws.header.typ.as_deref() != Some(DPOP_TYP) {
        return Err(DpopError::Typ);
    }
    let jwk = jws.header.raw.get("jwk").ok_or(DpopError::Key)?;
    // `from_jwk` refuses a JWK with a private member (§4.3 check 7).
    let key = PublicKey::from_jwk(jwk).map_err(|_| DpopError::Key)?;
    if !expected.algs.contains(&jws.header.alg) || key.algorithm() != jws.header.alg {
        return Err(DpopError::Alg);
    }
    jws.verify(&key, expected.algs)
        .map_err(|_| DpopError::Signature)?;
    let payload = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(|_| DpopError::Claim("payload"))?;
    let text = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(DpopError::Claim(name))
    };
    let jti = text("jti")?;
    if text("htm")? != expected.htm {
        return Err(DpopError::Method);
    }
    if !same_url(text("htu")?, expected.htu) {
        return Err(DpopError::Url);
    }
    let iat = payload
        .get("iat")
        .and_then(numeric_date)
        .ok_or(DpopError::Claim("iat"))?;
    if iat.saturating_add(window.max_age) < now || iat > now.saturating_add(window.max_future) {
        return Err(DpopError::Time);
    }
    match (expected.access_token, payload.get("ath")) {
        (Some(token), Some(Value::String(ath))) if *ath == access_token_hash(token) => {}
        (Some(_), _) => return Err(DpopError::AccessTokenHash),
        (None, _) => {}
    }
    Ok(DpopProof {
        jkt: key.thumbprint(),
        key,
        jti: jti.to_owned(),
        iat,
    })
}

/// `htu` compared with the request URL, ignoring query and fragment and the case of scheme and
/// host (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2.1).
fn same_url(htu: &str, url: &str) -> bool {
    fn parts(u: &str) -> Option<(String, &str)> {
        let u = u.split(['?', '#']).next()?;
        let (scheme, rest) = u.split_once("://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        Some((format!("{scheme}://{authority}").to_ascii_lowercase(), path))
    }
    matches!((parts(htu), parts(url)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::jose::SoftwareSigner;

    const HTU: &str = "https://issuer.example/token";

    fn expect(token: Option<&str>) -> DpopExpectation<'_> {
        DpopExpectation {
            htm: "POST",
            htu: HTU,
            access_token: token,
            algs: &Algorithm::ALL,
        }
    }

    fn claims<'a>(iat: u64, token: Option<&'a str>) -> DpopClaims<'a> {
        DpopClaims {
            jti: "jti-1",
            htm: "POST",
            htu: HTU,
            iat,
            access_token: token,
        }
    }

    #[test]
    fn made_proofs_verify_for_both_algorithms() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for alg in Algorithm::ALL {
            let key = SoftwareSigner::generate(alg, &mut rng);
            let proof = make_proof(&claims(1000, Some("tok")), &key).unwrap_or_default();
            let checked = verify_proof(&proof, &expect(Some("tok")), 1000, DpopWindow::default());
            let checked = checked.unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(checked.jkt, key.public_key().thumbprint());
            assert_eq!(checked.jti, "jti-1");
            assert!(!proof.split('.').next().unwrap_or_default().is_empty());
        }
    }

    #[test]
    fn each_check_refuses_with_its_own_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = SoftwareSigner::generate(Algorithm::ES256, &mut rng);
        let w = DpopWindow::default();
        let good = make_proof(&claims(1000, None), &key).unwrap_or_default();
        assert_eq!(
            verify_proof(&good, &expect(None), 1200, w),
            Err(DpopError::Time)
        );
        assert_eq!(
            verify_proof(&good, &expect(None), 800, w),
            Err(DpopError::Time)
        );
        assert_eq!(
            verify_proof(&good, &expect(Some("tok")), 1000, w),
            Err(DpopError::AccessTokenHash)
        );
        let mut other = expect(None);
        other.htu = "https://issuer.example/credential";
        assert_eq!(verify_proof(&good, &other, 1000, w), Err(DpopError::Url));
        let mut get = expect(None);
        get.htm = "GET";
        assert_eq!(verify_proof(&good, &get, 1000, w), Err(DpopError::Method));
        let mut only_ed = expect(None);
        only_ed.algs = &[Algorithm::EdDSA];
        assert_eq!(verify_proof(&good, &only_ed, 1000, w), Err(DpopError::Alg));
        // Query and fragment do not count; scheme and host case do not either.
        let mut query = expect(None);
        query.htu = "HTTPS://Issuer.Example/token?x=1";
        assert!(verify_proof(&good, &query, 1000, w).is_ok());
        // Another key's signature.
        let (h, p, _) = split3(&good);
        let intruder = SoftwareSigner::generate(Algorithm::ES256, &mut rng);
        let sig = intruder
            .sign(format!("{h}.{p}").as_bytes())
            .unwrap_or_default();
        let forged = format!("{h}.{p}.{}", b64::encode(sig));
        assert_eq!(
            verify_proof(&forged, &expect(None), 1000, w),
            Err(DpopError::Signature)
        );
        assert_eq!(
            verify_proof("a.b", &expect(None), 1000, w),
            Err(DpopError::Malformed)
        );
        let long = "a".repeat(MAX_DPOP_LEN + 1);
        assert_eq!(
            verify_proof(&long, &expect(None), 1000, w),
            Err(DpopError::TooLong)
        );
    }

    fn split3(s: &str) -> (&str, &str, &str) {
        let mut it = s.splitn(3, '.');
        (
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
        )
    }
}
