//! The `jwt` key proof of a Credential Request (OpenID4VCI 1.0 §F.1 and §F.4).
//!
//! ```text
//! header  {"typ": "openid4vci-proof+jwt", "alg": "ES256" | "EdDSA", "jwk": <holder public JWK>}
//! payload {"aud": <Credential Issuer Identifier>, "iat": <NumericDate>, "nonce": <c_nonce>}
//! ```
//!
//! [`verify_proof`] makes every check of §F.4 but the nonce's freshness: the caller looks the
//! returned `nonce` up among the `c_nonce`s it issued (and consumes it).

use serde_json::{Map, Value};

use crate::dpop::sign_with_jwk_header;
use crate::enrollment::KEY_PROOF_TYP;
use crate::jose::{Algorithm, CompactJws, PublicKey, SignError, Signer};
use crate::time::numeric_date;

/// Longest key proof accepted, in bytes.
pub const MAX_PROOF_JWT_LEN: usize = 4096;

/// JSON nesting allowed in a key proof.
const MAX_JSON_DEPTH: usize = 8;

/// Why a key proof was refused (each is `invalid_proof` on the wire, OpenID4VCI 1.0 §8.3.1.2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofJwtError {
    /// Longer than [`MAX_PROOF_JWT_LEN`].
    #[error("the key proof is too long")]
    TooLong,
    /// Not a compact JWS with a supported `alg`.
    #[error("the key proof is not a JWT with a supported alg")]
    Malformed,
    /// `typ` is not `openid4vci-proof+jwt`.
    #[error("the key proof typ is not openid4vci-proof+jwt")]
    Typ,
    /// The header names its key by `kid` (a DID URL) or `x5c`: this issuer binds `jwk` keys only.
    #[error("the key proof must carry its key as jwk (kid and x5c are not supported)")]
    KeyReference,
    /// No `jwk`, or more than one of `jwk`, `kid`, `x5c`.
    #[error("the key proof header must hold exactly one of jwk, kid, x5c")]
    KeyMissing,
    /// `jwk` is not a valid public key (or holds a private key).
    #[error("the key proof jwk is not a valid public key")]
    Key,
    /// `alg` is not accepted, or does not match the key.
    #[error("the key proof alg is not accepted")]
    Alg,
    /// The signature does not verify with the header's key.
    #[error("the key proof signature does not verify with its jwk")]
    Signature,
    /// A claim is missing or of the wrong type.
    #[error("the key proof claim {0} is missing or malformed")]
    Claim(&'static str),
    /// `aud` is not this Credential Issuer.
    #[error("the key proof aud is not this credential issuer")]
    Audience,
    /// `iat` is too far in the past or future.
    #[error("the key proof iat is not recent")]
    Time,
}

/// A key proof that passed [`verify_proof`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedProof {
    /// The key to bind the credential to.
    pub key: PublicKey,
    /// `nonce`: the caller checks it is a current `c_nonce` and consumes it.
    pub nonce: String,
    /// `iat`, whole seconds.
    pub iat: u64,
}

/// How far from now `iat` may be, in seconds either way.
pub const PROOF_IAT_LEEWAY: u64 = 60;

/// Makes a key proof for `aud` with `nonce`, signed by the holder key (`jwk` in the header).
pub fn make_proof(
    aud: &str,
    iat: u64,
    nonce: Option<&str>,
    holder: &dyn Signer,
) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(KEY_PROOF_TYP.to_owned()));
    header.insert("jwk".to_owned(), holder.public_key().to_jwk());
    let mut payload = Map::new();
    payload.insert("aud".to_owned(), Value::String(aud.to_owned()));
    payload.insert("iat".to_owned(), Value::from(iat));
    if let Some(nonce) = nonce {
        payload.insert("nonce".to_owned(), Value::String(nonce.to_owned()));
    }
    sign_with_jwk_header(&header, &payload, holder)
}

/// Checks a key proof (§F.4): typed, one key in the header as `jwk`, `alg` among `algs` and
/// matching the key, signed by that key, `aud` equal to `credential_issuer` (a string, §F.1),
/// `iat` within [`PROOF_IAT_LEEWAY`] of `now` (fractions allowed), and a `nonce`.
pub fn verify_proof(
    proof: &str,
    credential_issuer: &str,
    now: u64,
    algs: &[Algorithm],
) -> Result<CheckedProof, ProofJwtError> {
    if proof.len() > MAX_PROOF_JWT_LEN {
        return Err(ProofJwtError::TooLong);
    }
    let jws = CompactJws::parse(proof, MAX_JSON_DEPTH).map_err(|_| ProofJwtError::Malformed)?;
    if jws.header.typ.as_deref() != Some(KEY_PROOF_TYP) {
        return Err(ProofJwtError::Typ);
    }
    let raw = &jws.header.raw;
    let named = ["jwk", "kid", "x5c"]
        .iter()
        .filter(|k| raw.contains_key(**k))
        .count();
    if named != 1 {
        return Err(ProofJwtError::KeyMissing);
    }
    let Some(jwk) = raw.get("jwk") else {
        return Err(ProofJwtError::KeyReference);
    };
    let key = PublicKey::from_jwk(jwk).map_err(|_| ProofJwtError::Key)?;
    if !algs.contains(&jws.header.alg) || key.algorithm() != jws.header.alg {
        return Err(ProofJwtError::Alg);
    }
    jws.verify(&key, algs)
        .map_err(|_| ProofJwtError::Signature)?;
    let payload = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(|_| ProofJwtError::Claim("payload"))?;
    match payload.get("aud") {
        Some(Value::String(aud)) if aud == credential_issuer => {}
        Some(Value::String(_)) => return Err(ProofJwtError::Audience),
        _ => return Err(ProofJwtError::Claim("aud")),
    }
    let iat = payload
        .get("iat")
        .and_then(numeric_date)
        .ok_or(ProofJwtError::Claim("iat"))?;
    if iat.saturating_add(PROOF_IAT_LEEWAY) < now || iat > now.saturating_add(PROOF_IAT_LEEWAY) {
        return Err(ProofJwtError::Time);
    }
    let nonce = payload
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or(ProofJwtError::Claim("nonce"))?;
    Ok(CheckedProof {
        key,
        nonce: nonce.to_owned(),
        iat,
    })
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::b64;
    use crate::jose::SoftwareSigner;

    const AUD: &str = "https://issuer.example";

    /// The example of OpenID4VCI 1.0 §F.1 (line breaks removed): an ES256 proof with its key as
    /// `jwk`, for `https://credential-issuer.example.com`.
    const SPEC_PROOF: &str = "eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCIsImFsZyI6IkVTMjU2Iiwiand\
rIjp7Imt0eSI6IkVDIiwiY3J2IjoiUC0yNTYiLCJ4IjoiblVXQW9BdjNYWml0aDh\
FN2kxOU9kYXhPTFlGT3dNLVoyRXVNMDJUaXJUNCIsInkiOiJIc2tIVThCalVpMVU\
5WHFpN1N3bWo4Z3dBS18weGtjRGpFV183MVNvc0VZIn19.eyJhdWQiOiJodHRwcz\
ovL2NyZWRlbnRpYWwtaXNzdWVyLmV4YW1wbGUuY29tIiwiaWF0IjoxNzAxOTYwND\
Q0LCJub25jZSI6IkxhclJHU2JtVVBZdFJZTzZCUTR5bjgifQ.-a3EDsxClUB4O3L\
eDD5DVGEnNMT01FCQW4P6-2-BNBqc_Zxf0Qw4CWayLEpqkAomlkLb9zioZoipdP-\
jvh1WlA";

    #[test]
    fn spec_example_proof_verifies() {
        let checked = verify_proof(
            SPEC_PROOF,
            "https://credential-issuer.example.com",
            1_701_960_444,
            &Algorithm::ALL,
        );
        match checked {
            Ok(p) => {
                assert_eq!(p.nonce, "LarRGSbmUPYtRYO6BQ4yn8");
                assert_eq!(p.iat, 1_701_960_444);
                assert_eq!(p.key.algorithm(), Algorithm::ES256);
            }
            Err(e) => panic!("{e}"),
        }
        assert_eq!(
            verify_proof(SPEC_PROOF, AUD, 1_701_960_444, &Algorithm::ALL),
            Err(ProofJwtError::Audience)
        );
    }

    #[test]
    fn made_proofs_verify_and_each_check_has_its_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for alg in Algorithm::ALL {
            let key = SoftwareSigner::generate(alg, &mut rng);
            let proof = make_proof(AUD, 1000, Some("n-1"), &key).unwrap_or_default();
            let ok = verify_proof(&proof, AUD, 1000, &Algorithm::ALL);
            assert_eq!(ok.map(|p| p.nonce), Ok("n-1".to_owned()));
            assert_eq!(
                verify_proof(&proof, AUD, 1061, &Algorithm::ALL),
                Err(ProofJwtError::Time)
            );
            assert_eq!(
                verify_proof(&proof, AUD, 939, &Algorithm::ALL),
                Err(ProofJwtError::Time)
            );
            assert_eq!(
                verify_proof(&proof, "https://other.example", 1000, &Algorithm::ALL),
                Err(ProofJwtError::Audience)
            );
            let no_nonce = make_proof(AUD, 1000, None, &key).unwrap_or_default();
            assert_eq!(
                verify_proof(&no_nonce, AUD, 1000, &Algorithm::ALL),
                Err(ProofJwtError::Claim("nonce"))
            );
            // Signed by another key than the header's.
            let other = SoftwareSigner::generate(alg, &mut rng);
            let mut parts = proof.rsplitn(2, '.');
            let (_, input) = (parts.next(), parts.next().unwrap_or_default());
            let sig = other.sign(input.as_bytes()).unwrap_or_default();
            let forged = format!("{input}.{}", b64::encode(sig));
            assert_eq!(
                verify_proof(&forged, AUD, 1000, &Algorithm::ALL),
                Err(ProofJwtError::Signature)
            );
        }
    }

    #[test]
    fn kid_and_two_keys_are_refused() {
        let header = |h: &str| b64::encode(h.as_bytes());
        let body = b64::encode(br#"{"aud":"https://issuer.example","iat":1000,"nonce":"n"}"#);
        let kid = format!(
            "{}.{body}.AAAA",
            header(r#"{"typ":"openid4vci-proof+jwt","alg":"ES256","kid":"did:example:1#k"}"#)
        );
        assert_eq!(
            verify_proof(&kid, AUD, 1000, &Algorithm::ALL),
            Err(ProofJwtError::KeyReference)
        );
        let both = format!(
            "{}.{body}.AAAA",
            header(r#"{"typ":"openid4vci-proof+jwt","alg":"ES256","kid":"k","jwk":{}}"#)
        );
        assert_eq!(
            verify_proof(&both, AUD, 1000, &Algorithm::ALL),
            Err(ProofJwtError::KeyMissing)
        );
        let typ = format!("{}.{body}.AAAA", header(r#"{"typ":"JWT","alg":"ES256"}"#));
        assert_eq!(
            verify_proof(&typ, AUD, 1000, &Algorithm::ALL),
            Err(ProofJwtError::Typ)
        );
    }
}
