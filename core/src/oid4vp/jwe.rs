//! Encrypted Authorization Responses (OpenID4VP 1.0 §8.3, HAIP 1.0 §5): a JWE with `alg`
//! `ECDH-ES` on P-256 (direct key agreement) and `enc` `A128GCM` or `A256GCM`, to an ephemeral
//! key the verifier puts in the request's `client_metadata.jwks`.
//!
//! The JWE itself is [`josekit`]'s: the one maintained Rust JOSE crate with ECDH-ES direct key
//! agreement (`jwt-simple` and `compact_jwt` have only ECDH-ES+A*KW, `biscuit` no ECDH at all).
//! It links OpenSSL (`libssl`; the phone library's cross builds use `josekit`'s `vendored`
//! feature) and draws the sender's ephemeral key and IV from OpenSSL's generator: the one place
//! core takes randomness of its own, behind the `jwe` feature that the verifier and the wallet
//! library enable. What josekit leaves to its caller is done here, before it sees the input: a
//! size limit, only `ECDH-ES` with the two GCM encodings (no CBC-HS, no other key management),
//! no `zip` (a decompression bomb), the `kid` of the request's key, a P-256 `epk`.

use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};

use crate::b64;
use crate::jose::{Algorithm, SoftwareSigner};
use crate::json;

/// The only key management algorithm used: ECDH-ES with direct key agreement.
pub const ECDH_ES: &str = "ECDH-ES";

/// The content encryptions a verifier accepts (HAIP 1.0 §5: both MUST be supported).
pub const SUPPORTED_ENC: [&str; 2] = ["A128GCM", "A256GCM"];

/// Longest JWE accepted, in bytes: a presentation of a worker ID with its photo is ~60 kB.
pub const MAX_JWE_LEN: usize = 512 * 1024;

/// JSON nesting allowed in a JWE protected header.
const MAX_HEADER_DEPTH: usize = 4;

/// Why a response could not be encrypted or decrypted. Never contains key material or the
/// plaintext.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Longer than [`MAX_JWE_LEN`].
    #[error("the encrypted response is too long")]
    TooLong,
    /// Not a compact JWE (five base64url parts, a JSON protected header).
    #[error("the response is not a compact JWE")]
    Malformed,
    /// `alg` is not `ECDH-ES`.
    #[error("the JWE alg is not ECDH-ES")]
    Algorithm,
    /// `enc` is not one the verifier accepts.
    #[error("the JWE enc is not one the request allows")]
    Encryption,
    /// The header has `zip`.
    #[error("compressed JWEs are not accepted")]
    Compressed,
    /// The header's `kid` is not the request's key.
    #[error("the JWE is for another key")]
    WrongKey,
    /// The recipient key is not a P-256 `ECDH-ES` encryption key.
    #[error("the encryption key is not a P-256 ECDH-ES key: {0}")]
    BadKey(&'static str),
    /// Key agreement or the AEAD tag failed.
    #[error("the response could not be decrypted")]
    Decrypt,
    /// Encryption failed.
    #[error("the response could not be encrypted")]
    Encrypt,
}

/// The JWE protected header, read without decrypting: for choosing the request (by `kid`)
/// before its key is at hand.
pub fn peek_header(jwe: &str) -> Result<Map<String, Value>, JweError> {
    if jwe.len() > MAX_JWE_LEN {
        return Err(JweError::TooLong);
    }
    let parts: Vec<&str> = jwe.split('.').collect();
    if parts.len() != 5 {
        return Err(JweError::Malformed);
    }
    let bytes = b64::decode(parts[0]).ok_or(JweError::Malformed)?;
    json::parse_object(&bytes, MAX_HEADER_DEPTH).map_err(|_| JweError::Malformed)
}

/// A request's response encryption key: an ephemeral P-256 key pair, one per request.
/// Its `Debug` output never shows the private key.
pub struct ResponseKey {
    kid: String,
    private: josekit::jwk::Jwk,
    public: Value,
}

impl std::fmt::Debug for ResponseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ResponseKey {
    /// A fresh key named `kid`.
    pub fn generate(kid: &str, rng: &mut (impl CryptoRng + RngCore)) -> Result<Self, JweError> {
        let Value::Object(mut private) =
            SoftwareSigner::generate(Algorithm::ES256, rng).to_private_jwk()
        else {
            return Err(JweError::BadKey("not an object"));
        };
        private.remove("alg");
        let mut public = private.clone();
        public.remove("d");
        for (name, value) in [("kid", kid), ("use", "enc"), ("alg", ECDH_ES)] {
            public.insert(name.to_owned(), Value::String(value.to_owned()));
        }
        private.insert("kid".to_owned(), Value::String(kid.to_owned()));
        let private =
            josekit::jwk::Jwk::from_map(private).map_err(|_| JweError::BadKey("unreadable"))?;
        Ok(Self {
            kid: kid.to_owned(),
            private,
            public: Value::Object(public),
        })
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK for `client_metadata.jwks`: `kty`, `crv`, `x`, `y`, `kid`, `use: enc`,
    /// `alg: ECDH-ES` (§5.1: `alg` MUST be present; each key MUST have a `kid`).
    pub fn public_jwk(&self) -> &Value {
        &self.public
    }

    /// Decrypts `jwe`, which must use one of `allowed_enc`, and returns the plaintext.
    pub fn decrypt(&self, jwe: &str, allowed_enc: &[&str]) -> Result<Vec<u8>, JweError> {
        let header = peek_header(jwe)?;
        if header.get("alg").and_then(Value::as_str) != Some(ECDH_ES) {
            return Err(JweError::Algorithm);
        }
        match header.get("enc").and_then(Value::as_str) {
            Some(enc) if allowed_enc.contains(&enc) && SUPPORTED_ENC.contains(&enc) => {}
            _ => return Err(JweError::Encryption),
        }
        if header.contains_key("zip") {
            return Err(JweError::Compressed);
        }
        match header.get("kid") {
            None => {}
            Some(Value::String(kid)) if *kid == self.kid => {}
            Some(_) => return Err(JweError::WrongKey),
        }
        let epk = header
            .get("epk")
            .and_then(Value::as_object)
            .ok_or(JweError::Malformed)?;
        if epk.get("kty").and_then(Value::as_str) != Some("EC")
            || epk.get("crv").and_then(Value::as_str) != Some("P-256")
            || epk.contains_key("d")
        {
            return Err(JweError::BadKey("epk is not a public P-256 key"));
        }
        let decrypter = josekit::jwe::ECDH_ES
            .decrypter_from_jwk(&self.private)
            .map_err(|_| JweError::BadKey("unusable private key"))?;
        let (plaintext, _) =
            josekit::jwe::deserialize_compact(jwe, &decrypter).map_err(|_| JweError::Decrypt)?;
        Ok(plaintext)
    }
}

/// The request's encryption key a wallet uses: the first JWK of `jwks` a response can be
/// encrypted to ([`super::request::is_response_encryption_key`]).
pub fn select_recipient(jwks: &Value) -> Result<&Map<String, Value>, JweError> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .ok_or(JweError::BadKey("no keys in jwks"))?
        .iter()
        .filter_map(Value::as_object)
        .find(|k| super::request::is_response_encryption_key(k))
        .ok_or(JweError::BadKey("no P-256 ECDH-ES key with a kid in jwks"))
}

/// Encrypts `payload` to `recipient` (a public JWK from [`select_recipient`]) with `enc`
/// (`A128GCM` or `A256GCM`); the JWE header carries the key's `kid` (§8.3).
pub fn encrypt_to(
    recipient: &Map<String, Value>,
    enc: &str,
    payload: &[u8],
) -> Result<String, JweError> {
    if !SUPPORTED_ENC.contains(&enc) {
        return Err(JweError::Encryption);
    }
    let kid = recipient
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JweError::BadKey("no kid"))?;
    let key = josekit::jwk::Jwk::from_map(recipient.clone())
        .map_err(|_| JweError::BadKey("unreadable"))?;
    let encrypter = josekit::jwe::ECDH_ES
        .encrypter_from_jwk(&key)
        .map_err(|_| JweError::BadKey("unusable public key"))?;
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption(enc);
    header.set_key_id(kid);
    josekit::jwe::serialize_compact(payload, &header, &encrypter).map_err(|_| JweError::Encrypt)
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    fn key() -> ResponseKey {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        ResponseKey::generate("req-1", &mut rng).expect("key")
    }

    /// OpenID4VP 1.0 §8.3's example: the encrypted response and the private key the spec gives
    /// to decrypt it.
    #[test]
    fn decrypts_the_spec_example() {
        let jwe = concat!(
            "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTEyOEdDTSIsImtpZCI6ImFjIiwiZXBrIjp7Imt",
            "0eSI6IkVDIiwieCI6Im5ubVZwbTNWM2piaGNhZlFhUkJrU1ZOSGx3Wkh3dC05ck9wSnVmeVlJdWsiLCJ5I",
            "joicjRmakRxd0p5czlxVU9QLV9iM21SNVNaRy0tQ3dPMm1pYzVWU05UWU45ZyIsImNydiI6IlAtMjU2In1",
            "9..uAYcHRUSSn2X0WPX.yVzlGSYG4qbg0bq18JcUiDRw56yVnbKR8E7S7YlEtzT00RqE3Pw5oTpUG3hdLN",
            "4taHZ9gC1kwak8JOnJgQ.1wR024_3-qtAlx1oFIUpQQ"
        );
        let private = json!({
            "kty": "EC", "kid": "ac", "use": "enc", "crv": "P-256", "alg": "ECDH-ES",
            "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
            "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk",
            "d": "Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww"
        });
        let Value::Object(map) = private.clone() else {
            unreachable!()
        };
        let key = ResponseKey {
            kid: "ac".to_owned(),
            private: josekit::jwk::Jwk::from_map(map).expect("jwk"),
            public: private,
        };
        let plaintext = key
            .decrypt(jwe, &SUPPORTED_ENC)
            .expect("spec example decrypts");
        let payload: Value = serde_json::from_slice(&plaintext).expect("json");
        assert_eq!(
            payload,
            json!({"vp_token": {"example_credential_id": ["eyJhb...YMetA"]}})
        );
        assert_eq!(key.decrypt(jwe, &["A256GCM"]), Err(JweError::Encryption));
    }

    #[test]
    fn round_trips_with_both_encodings_and_names_its_key() {
        let key = key();
        let public = key.public_jwk();
        assert_eq!(public["alg"], "ECDH-ES");
        assert_eq!(public["use"], "enc");
        assert!(public.get("d").is_none());
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "X25519", "kid": "x", "alg": "ECDH-ES"}, public]});
        let recipient = select_recipient(&jwks).expect("p-256 key");
        for enc in SUPPORTED_ENC {
            let jwe = encrypt_to(recipient, enc, b"{\"vp_token\":{}}").expect("encrypt");
            let header = peek_header(&jwe).expect("header");
            assert_eq!(header["kid"], "req-1");
            assert_eq!(header["enc"], enc);
            assert_eq!(
                key.decrypt(&jwe, &SUPPORTED_ENC).expect("decrypt"),
                b"{\"vp_token\":{}}"
            );
        }
    }

    #[test]
    fn refuses_what_the_request_did_not_allow() {
        let key = key();
        let jwks = json!({"keys": [key.public_jwk()]});
        let recipient = select_recipient(&jwks).expect("key");
        let jwe = encrypt_to(recipient, "A128GCM", b"{}").expect("encrypt");
        assert_eq!(key.decrypt(&jwe, &["A256GCM"]), Err(JweError::Encryption));

        // Another request's key.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let other = ResponseKey::generate("req-2", &mut rng).expect("key");
        assert_eq!(other.decrypt(&jwe, &SUPPORTED_ENC), Err(JweError::WrongKey));

        // A flipped ciphertext bit fails the tag.
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut ct = b64::decode(&parts[3]).expect("ct");
        ct[0] ^= 1;
        parts[3] = b64::encode(ct);
        assert_eq!(
            key.decrypt(&parts.join("."), &SUPPORTED_ENC),
            Err(JweError::Decrypt)
        );

        // Headers josekit would otherwise act on.
        let with_header = |h: Value| {
            let mut p = parts.clone();
            p[0] = b64::encode(h.to_string());
            p.join(".")
        };
        let header = peek_header(&jwe).expect("header");
        let mut zip = header.clone();
        zip.insert("zip".into(), json!("DEF"));
        assert_eq!(
            key.decrypt(&with_header(Value::Object(zip)), &SUPPORTED_ENC),
            Err(JweError::Compressed)
        );
        let mut kw = header.clone();
        kw.insert("alg".into(), json!("ECDH-ES+A128KW"));
        assert_eq!(
            key.decrypt(&with_header(Value::Object(kw)), &SUPPORTED_ENC),
            Err(JweError::Algorithm)
        );
        let mut cbc = header;
        cbc.insert("enc".into(), json!("A128CBC-HS256"));
        assert_eq!(
            key.decrypt(&with_header(Value::Object(cbc)), &SUPPORTED_ENC),
            Err(JweError::Encryption)
        );

        assert_eq!(
            key.decrypt("a.b.c", &SUPPORTED_ENC),
            Err(JweError::Malformed)
        );
        assert_eq!(
            key.decrypt(&"a".repeat(MAX_JWE_LEN + 1), &SUPPORTED_ENC),
            Err(JweError::TooLong)
        );
        assert_eq!(
            encrypt_to(recipient, "A128CBC-HS256", b"{}"),
            Err(JweError::Encryption)
        );
        assert!(select_recipient(
            &json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ECDH-ES"}]})
        )
        .is_err());
    }
}
