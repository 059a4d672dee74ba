//! The two JWTs the wallet signs during issuance: the DPoP proof (RFC 9449 §4.2) and the
//! OpenID4VCI key proof (`openid4vci-proof+jwt`, OpenID4VCI 1.0 Appendix F.1). Both carry the
//! public key in a `jwk` header and are signed by a [`Signer`] (the app's key store).
//!
//! Candidates for core (`govid_core::oid4vci` / `govid_core::dpop`), next to the verifying side.

use govid_core::b64;
use govid_core::jose::{sign_compact, SignError, Signer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `typ` of a DPoP proof (RFC 9449 §4.2).
pub(crate) const DPOP_TYP: &str = "dpop+jwt";
/// `typ` of an OpenID4VCI key proof (OpenID4VCI 1.0 F.1).
pub(crate) const KEY_PROOF_TYP: &str = "openid4vci-proof+jwt";

fn header(typ: &str, signer: &dyn Signer) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(typ.to_owned()));
    // RFC 9449 §4.2 / F.1: the public key itself, never a private member (`to_jwk` has none).
    header.insert("jwk".to_owned(), signer.public_key().to_jwk());
    header
}

/// `ath`: base64url SHA-256 of the ASCII access token (RFC 9449 §4.2).
pub(crate) fn access_token_hash(access_token: &str) -> String {
    b64::encode(Sha256::digest(access_token.as_bytes()))
}

/// A DPoP proof for `htm` `htu` (RFC 9449 §4.2): `typ` `dpop+jwt`, `jwk`; `jti` (random), `htm`,
/// `htu` (without query and fragment: the caller passes it so), `iat`; `ath` when presenting an
/// access token (§7.1); `nonce` when the server gave one (§8, §9).
pub(crate) fn dpop_proof(
    signer: &dyn Signer,
    htm: &str,
    htu: &str,
    iat: u64,
    jti: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
) -> Result<String, SignError> {
    let mut payload = Map::new();
    payload.insert("jti".to_owned(), Value::String(jti.to_owned()));
    payload.insert("htm".to_owned(), Value::String(htm.to_owned()));
    payload.insert("htu".to_owned(), Value::String(htu.to_owned()));
    payload.insert("iat".to_owned(), Value::from(iat));
    if let Some(token) = access_token {
        payload.insert("ath".to_owned(), Value::String(access_token_hash(token)));
    }
    if let Some(nonce) = nonce {
        payload.insert("nonce".to_owned(), Value::String(nonce.to_owned()));
    }
    sign_compact(header(DPOP_TYP, signer), &payload, signer)
}

/// An `openid4vci-proof+jwt` key proof (OpenID4VCI 1.0 F.1): `jwk` header (no `kid`, no `x5c`);
/// `aud` the Credential Issuer Identifier, `iat`, and `nonce` (the `c_nonce`, required when the
/// issuer has a Nonce Endpoint). No `iss`: the wallet's Token Request is anonymous (no
/// `client_id`), and F.1 says `iss` MUST be omitted then.
pub(crate) fn key_proof(
    signer: &dyn Signer,
    credential_issuer: &str,
    iat: u64,
    c_nonce: Option<&str>,
) -> Result<String, SignError> {
    let mut payload = Map::new();
    payload.insert(
        "aud".to_owned(),
        Value::String(credential_issuer.to_owned()),
    );
    payload.insert("iat".to_owned(), Value::from(iat));
    if let Some(nonce) = c_nonce {
        payload.insert("nonce".to_owned(), Value::String(nonce.to_owned()));
    }
    sign_compact(header(KEY_PROOF_TYP, signer), &payload, signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use govid_core::jose::{Algorithm, CompactJws, PublicKey, SoftwareSigner};
    use rand_core::OsRng;

    fn parsed(jwt: &str) -> (Map<String, Value>, Map<String, Value>) {
        let jws = CompactJws::parse(jwt, 16).unwrap_or_else(|e| panic!("{e}"));
        let key = PublicKey::from_jwk(jws.header.raw.get("jwk").unwrap_or(&Value::Null))
            .unwrap_or_else(|e| panic!("{e}"));
        jws.verify(&key, &Algorithm::ALL)
            .unwrap_or_else(|e| panic!("{e}"));
        let payload = jws.payload_object(16).unwrap_or_else(|e| panic!("{e}"));
        (jws.header.raw, payload)
    }

    #[test]
    fn dpop_proof_shape_and_signature() {
        for alg in Algorithm::ALL {
            let signer = SoftwareSigner::generate(alg, &mut OsRng);
            let jwt = dpop_proof(
                &signer,
                "POST",
                "https://as.example/token",
                1_700_000_000,
                "jti-1",
                Some("token-abc"),
                Some("n-1"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let (header, payload) = parsed(&jwt);
            assert_eq!(header["typ"], "dpop+jwt");
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["jwk"], signer.public_key().to_jwk());
            assert!(header.get("kid").is_none());
            assert!(header["jwk"].get("d").is_none());
            assert_eq!(payload["htm"], "POST");
            assert_eq!(payload["htu"], "https://as.example/token");
            assert_eq!(payload["iat"], 1_700_000_000);
            assert_eq!(payload["jti"], "jti-1");
            assert_eq!(payload["nonce"], "n-1");
            // RFC 9449 §4.2: ath = base64url(SHA-256(ASCII(access token))).
            assert_eq!(
                payload["ath"],
                b64::encode(Sha256::digest(b"token-abc")).as_str()
            );
        }
        let signer = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
        let jwt = dpop_proof(
            &signer,
            "POST",
            "https://as.example/token",
            1,
            "j",
            None,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (_, payload) = parsed(&jwt);
        assert!(payload.get("ath").is_none() && payload.get("nonce").is_none());
    }

    #[test]
    fn key_proof_shape_and_signature() {
        let signer = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
        let jwt = key_proof(
            &signer,
            "https://issuer.example",
            1_700_000_000,
            Some("c-1"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (header, payload) = parsed(&jwt);
        assert_eq!(header["typ"], "openid4vci-proof+jwt");
        assert_eq!(header["jwk"], signer.public_key().to_jwk());
        assert!(header.get("kid").is_none() && header.get("x5c").is_none());
        assert_eq!(payload["aud"], "https://issuer.example");
        assert_eq!(payload["nonce"], "c-1");
        assert_eq!(payload["iat"], 1_700_000_000);
        assert!(payload.get("iss").is_none());
    }
}
