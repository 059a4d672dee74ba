//! Public JSON Web Keys (RFC 7517, RFC 8037) for the two key types govid uses, with RFC 7638
//! thumbprints.
//!
//! Written here rather than taken from `ssi-jwk`: every `ssi-jwk` release (0.2–0.4) depends on
//! `ssi-claims-core` → `ssi-eip712`, which switches on serde_json's `arbitrary_precision` for the
//! whole build and brings ~540 crates into a phone library. govid needs only Ed25519 and P-256
//! public keys, strictly validated, which is what this module does.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::b64;

/// Why a JWK was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// The JWK is not a JSON object.
    #[error("JWK is not a JSON object")]
    NotAnObject,
    /// A required member is missing or not a string.
    #[error("JWK member `{0}` is missing or not a string")]
    MissingMember(&'static str),
    /// `kty`/`crv` name a key type govid does not support.
    #[error("unsupported JWK key type or curve (govid supports OKP/Ed25519 and EC/P-256)")]
    Unsupported,
    /// A coordinate is not canonical base64url of the right length.
    #[error("JWK member `{0}` is not a valid coordinate")]
    BadCoordinate(&'static str),
    /// The coordinates do not name a valid point on the curve.
    #[error("JWK does not hold a valid public key")]
    InvalidKey,
    /// The JWK carries private key material (`d`) where a public key is expected.
    #[error("JWK contains private key material where a public key is expected")]
    PrivateKeyMaterial,
    /// The JWK's `use` is not `sig`, or its `key_ops` does not include `verify` (RFC 7517 §4.2,
    /// §4.3): an encryption key must not verify signatures (Wycheproof JWS tcId 354, 356).
    #[error("JWK `use`/`key_ops` does not allow verifying signatures")]
    WrongKeyUse,
    /// The JWK's `alg` names another algorithm than its key type signs with (RFC 7517 §4.4).
    #[error("JWK `alg` does not match its key type")]
    AlgMismatch,
}

/// A validated public key: Ed25519 or P-256.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ed25519 public key (JWK `kty` OKP, `crv` Ed25519).
    Ed25519(ed25519_dalek::VerifyingKey),
    /// A P-256 public key (JWK `kty` EC, `crv` P-256) as an uncompressed SEC1 point, validated on
    /// the curve.
    P256(P256PublicKey),
}

/// A P-256 public key, kept as its 65-byte uncompressed SEC1 encoding (what `ring` verifies with).
#[derive(Clone, PartialEq, Eq)]
pub struct P256PublicKey([u8; 65]);

impl P256PublicKey {
    /// Parses a SEC1 point (compressed or uncompressed), checking it is on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, JwkError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let key = p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| JwkError::InvalidKey)?;
        let point = key.to_encoded_point(false);
        let mut out = [0u8; 65];
        if point.as_bytes().len() != out.len() {
            return Err(JwkError::InvalidKey);
        }
        out.copy_from_slice(point.as_bytes());
        Ok(Self(out))
    }

    /// Wraps an uncompressed point that is known to be valid (derived from a private key).
    pub(crate) fn from_trusted_point(sec1: [u8; 65]) -> Self {
        Self(sec1)
    }

    /// The 65-byte uncompressed SEC1 encoding `04 ‖ x ‖ y`.
    pub fn sec1(&self) -> &[u8; 65] {
        &self.0
    }

    /// The 33-byte compressed SEC1 encoding (used by did:key).
    pub fn sec1_compressed(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = if self.0[64] & 1 == 1 { 0x03 } else { 0x02 };
        out[1..].copy_from_slice(&self.0[1..33]);
        out
    }
}

fn member<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwkError> {
    map.get(name)
        .and_then(Value::as_str)
        .ok_or(JwkError::MissingMember(name))
}

fn coordinate<const N: usize>(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<[u8; N], JwkError> {
    let bytes = b64::decode(member(map, name)?).ok_or(JwkError::BadCoordinate(name))?;
    bytes.try_into().map_err(|_| JwkError::BadCoordinate(name))
}

/// RFC 7517 §4.2/§4.3: a key marked for encryption (`use` other than `sig`, or `key_ops`
/// without `verify`) is refused as a signature verification key.
fn check_use_for_verification(map: &Map<String, Value>) -> Result<(), JwkError> {
    if let Some(usage) = map.get("use") {
        if usage.as_str() != Some("sig") {
            return Err(JwkError::WrongKeyUse);
        }
    }
    if let Some(ops) = map.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verify {
            return Err(JwkError::WrongKeyUse);
        }
    }
    Ok(())
}

impl PublicKey {
    /// Parses a public JWK. Refuses private keys, other key types, invalid points, keys whose
    /// `use`/`key_ops` do not allow verification and keys whose `alg` is not their key type's.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwkError> {
        let map = jwk.as_object().ok_or(JwkError::NotAnObject)?;
        if map.contains_key("d") {
            return Err(JwkError::PrivateKeyMaterial);
        }
        let key = Self::from_key_members(map)?;
        check_use_for_verification(map)?;
        if let Some(alg) = map.get("alg") {
            let named = alg.as_str().and_then(crate::jose::Algorithm::from_name);
            if named != Some(key.algorithm()) {
                return Err(JwkError::AlgMismatch);
            }
        }
        Ok(key)
    }

    /// The key from `kty`, `crv`, `x` (and `y`), ignoring the other members.
    fn from_key_members(map: &Map<String, Value>) -> Result<Self, JwkError> {
        match (member(map, "kty")?, member(map, "crv")?) {
            ("OKP", "Ed25519") => {
                let x: [u8; 32] = coordinate(map, "x")?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| JwkError::InvalidKey)
            }
            ("EC", "P-256") => {
                let x: [u8; 32] = coordinate(map, "x")?;
                let y: [u8; 32] = coordinate(map, "y")?;
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                P256PublicKey::from_sec1(&sec1).map(PublicKey::P256)
            }
            _ => Err(JwkError::Unsupported),
        }
    }

    /// Parses a public JWK from JSON text.
    pub fn from_jwk_str(text: &str) -> Result<Self, JwkError> {
        let value: Value = serde_json::from_str(text).map_err(|_| JwkError::NotAnObject)?;
        Self::from_jwk(&value)
    }

    /// The JWK with only its required public members (`kty`, `crv`, `x`, and `y` for P-256).
    pub fn to_jwk(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in self.required_members() {
            map.insert(name.to_owned(), Value::String(value));
        }
        Value::Object(map)
    }

    /// The required members in lexicographic order, as RFC 7638 orders them.
    fn required_members(&self) -> Vec<(&'static str, String)> {
        match self {
            PublicKey::Ed25519(key) => vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                ("x", b64::encode(key.as_bytes())),
            ],
            PublicKey::P256(key) => vec![
                ("crv", "P-256".to_owned()),
                ("kty", "EC".to_owned()),
                ("x", b64::encode(&key.0[1..33])),
                ("y", b64::encode(&key.0[33..])),
            ],
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): govid's `kid` for a key.
    pub fn thumbprint(&self) -> String {
        // The members are ASCII strings with no characters that need escaping, so the canonical
        // JSON is built directly, exactly as RFC 7638 §3 specifies.
        let body: Vec<String> = self
            .required_members()
            .into_iter()
            .map(|(name, value)| format!("\"{name}\":\"{value}\""))
            .collect();
        let canonical = format!("{{{}}}", body.join(","));
        b64::encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The algorithm that signs with this key type.
    pub fn algorithm(&self) -> crate::jose::Algorithm {
        match self {
            PublicKey::Ed25519(_) => crate::jose::Algorithm::EdDSA,
            PublicKey::P256(_) => crate::jose::Algorithm::ES256,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.algorithm(), self.thumbprint())
    }
}

impl fmt::Debug for P256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P256PublicKey({})", b64::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc8037_ed25519_thumbprint() {
        // RFC 8037 Appendix A.3.
        let jwk =
            json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let key = PublicKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(key.to_jwk(), jwk);
    }

    #[test]
    fn refuses_private_unknown_and_invalid_keys() {
        let private = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert_eq!(
            PublicKey::from_jwk(&private),
            Err(JwkError::PrivateKeyMaterial)
        );
        let rsa = json!({"kty":"RSA","crv":"x","n":"AQAB"});
        assert_eq!(PublicKey::from_jwk(&rsa), Err(JwkError::Unsupported));
        let off_curve = json!({"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"});
        assert_eq!(PublicKey::from_jwk(&off_curve), Err(JwkError::InvalidKey));
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let enc = json!({"kty":"OKP","crv":"Ed25519","x":x,"use":"enc"});
        assert_eq!(PublicKey::from_jwk(&enc), Err(JwkError::WrongKeyUse));
        let ops = json!({"kty":"OKP","crv":"Ed25519","x":x,"key_ops":["encrypt"]});
        assert_eq!(PublicKey::from_jwk(&ops), Err(JwkError::WrongKeyUse));
        let ok = json!({"kty":"OKP","crv":"Ed25519","x":x,"use":"sig","key_ops":["verify"],"alg":"EdDSA"});
        assert!(PublicKey::from_jwk(&ok).is_ok());
        let alg = json!({"kty":"OKP","crv":"Ed25519","x":x,"alg":"ES256"});
        assert_eq!(PublicKey::from_jwk(&alg), Err(JwkError::AlgMismatch));
        let short = json!({"kty":"OKP","crv":"Ed25519","x":"AAAA"});
        assert_eq!(
            PublicKey::from_jwk(&short),
            Err(JwkError::BadCoordinate("x"))
        );
        assert_eq!(PublicKey::from_jwk(&json!([])), Err(JwkError::NotAnObject));
    }
}
