//! Disclosures (RFC 9901 §4.2): `base64url(JSON [salt, name, value])` or `[salt, value]`.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;

use super::SdAlg;
use crate::b64;
use crate::json;

/// Bytes of randomness in every salt: 128 bits, as RFC 9901 §9.3 recommends.
pub const SALT_BYTES: usize = 16;

/// Why a disclosure string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureError {
    /// Not canonical base64url.
    #[error("disclosure is not base64url")]
    Base64,
    /// Not a JSON array (or nested too deep).
    #[error("disclosure is not a JSON array")]
    NotAnArray,
    /// An array, but not `[salt, value]` or `[salt, name, value]` with string salt and name.
    #[error("disclosure is not [salt, value] or [salt, name, value]")]
    Shape,
}

/// One disclosure, keeping the exact base64url text it was received or created as: digests are
/// always computed over that text (RFC 9901 §4.2.3), never over a re-encoding.
///
/// `Debug` shows neither salt nor value.
#[derive(Clone, PartialEq)]
pub struct Disclosure {
    encoded: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Creates an object-property disclosure `[salt, name, value]` with a fresh salt.
    pub fn object_property(name: &str, value: Value, rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self::create(new_salt(rng), Some(name.to_owned()), value)
    }

    /// Creates an array-element disclosure `[salt, value]` with a fresh salt.
    pub fn array_element(value: Value, rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self::create(new_salt(rng), None, value)
    }

    fn create(salt: String, name: Option<String>, mut value: Value) -> Self {
        // Object members in name order, as everything core signs (see `json::to_sorted_vec`).
        value.sort_all_objects();
        // The compact JSON of `[salt, name, value]` (or `[salt, value]`), written element by
        // element: the same bytes as serializing the array, without copying its parts into one.
        // serde_json cannot fail to write a string or a `Value` (all keys are strings) to a Vec.
        let mut json = Vec::with_capacity(64);
        json.push(b'[');
        let _ = serde_json::to_writer(&mut json, &salt);
        if let Some(name) = &name {
            json.push(b',');
            let _ = serde_json::to_writer(&mut json, name);
        }
        json.push(b',');
        let _ = serde_json::to_writer(&mut json, &value);
        json.push(b']');
        Self {
            encoded: b64::encode(json),
            salt,
            name,
            value,
        }
    }

    /// Parses a received disclosure, keeping its text.
    pub fn parse(encoded: &str, max_json_depth: usize) -> Result<Self, DisclosureError> {
        let bytes = b64::decode(encoded).ok_or(DisclosureError::Base64)?;
        let value =
            json::parse_value(&bytes, max_json_depth).map_err(|_| DisclosureError::NotAnArray)?;
        let Value::Array(mut items) = value else {
            return Err(DisclosureError::NotAnArray);
        };
        let (salt, name, value) = match items.len() {
            2 => {
                let value = items.pop().unwrap_or(Value::Null);
                (items.pop(), None, value)
            }
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let name = match items.pop() {
                    Some(Value::String(name)) => name,
                    _ => return Err(DisclosureError::Shape),
                };
                (items.pop(), Some(name), value)
            }
            _ => return Err(DisclosureError::Shape),
        };
        let Some(Value::String(salt)) = salt else {
            return Err(DisclosureError::Shape);
        };
        Ok(Self {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// The base64url text.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The claim name, for an object-property disclosure.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The disclosed value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The digest that references this disclosure.
    pub fn digest(&self, alg: SdAlg) -> String {
        alg.digest_b64(self.encoded.as_bytes())
    }
}

impl fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Disclosure")
            .field(
                "kind",
                &if self.name.is_some() {
                    "property"
                } else {
                    "array element"
                },
            )
            .finish_non_exhaustive()
    }
}

/// A fresh salt: 128 bits from the caller's cryptographic RNG, base64url.
fn new_salt(rng: &mut (impl CryptoRng + RngCore)) -> String {
    let mut salt = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    b64::encode(salt)
}

/// A decoy digest (RFC 9901 §4.2.5): the digest of fresh random bytes.
pub(crate) fn decoy_digest(alg: SdAlg, rng: &mut (impl CryptoRng + RngCore)) -> String {
    let mut bytes = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut bytes);
    alg.digest_b64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9901_section_4_2_1_example_digest() {
        // RFC 9901 §4.2.1 / §4.2.3: the given_name disclosure and its SHA-256 digest.
        let d = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
            32,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.name(), Some("family_name"));
        assert_eq!(d.value(), &Value::String("Möbius".to_owned()));
        assert_eq!(
            d.digest(SdAlg::Sha256),
            "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
        );
    }

    #[test]
    fn created_text_is_the_compact_json_of_the_array() {
        let value =
            serde_json::json!({"name": "Ministry \"of\" Transport", "zones": ["HQ-A", 7, null]});
        for name in [Some("organization"), None] {
            let d = Disclosure::create("c2FsdA".to_owned(), name.map(str::to_owned), value.clone());
            let mut array = vec![Value::String("c2FsdA".to_owned())];
            array.extend(name.map(|n| Value::String(n.to_owned())));
            array.push(value.clone());
            let expected = serde_json::to_vec(&Value::Array(array)).unwrap_or_default();
            assert_eq!(d.as_str(), b64::encode(expected));
            let parsed = Disclosure::parse(d.as_str(), 8).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed, d);
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        let enc = |s: &str| b64::encode(s.as_bytes());
        assert_eq!(Disclosure::parse("!!", 8), Err(DisclosureError::Base64));
        assert_eq!(
            Disclosure::parse(&enc("{}"), 8),
            Err(DisclosureError::NotAnArray)
        );
        assert_eq!(
            Disclosure::parse(&enc("[\"s\"]"), 8),
            Err(DisclosureError::Shape)
        );
        assert_eq!(
            Disclosure::parse(&enc("[1, \"v\"]"), 8),
            Err(DisclosureError::Shape)
        );
        assert_eq!(
            Disclosure::parse(&enc("[\"s\", 1, \"v\"]"), 8),
            Err(DisclosureError::Shape)
        );
        assert_eq!(
            Disclosure::parse(&enc("[\"s\",\"n\",1,2]"), 8),
            Err(DisclosureError::Shape)
        );
    }
}
