//! Pinned keys from a JWK or a JWK Set text (what `--trust-jwk FILE` and `[[trust.jwks]]` read).
//!
//! - A single public JWK: one key, trusted for the `iss` it is pinned for (any issuer when none
//!   is given), answering to any `kid` (its `kid` member is not read, as before JWK Sets).
//! - A JWK Set (RFC 7517 §5, `{"keys": [...]}`, at most [`MAX_JWKS_KEYS`] keys): each key may
//!   carry `iss`, the issuer it signs for (a member govid reads; other software ignores it), and
//!   `kid`, an extra key id it answers to besides its thumbprint (a key with a `kid` is then no
//!   fallback for a JWT naming another one, see [`PinnedKeys`]).
//!
//! An `iss` given with the file (`--trust-jwk ISS=FILE`, `[[trust.jwks]] iss`) applies to every
//! key in it; a key whose own `iss` member names another issuer is refused. A single JWK's `iss`
//! member, if any, is honoured the same way.

use serde_json::Value;

use super::PinnedKeys;
use crate::jose::{JwkError, PublicKey};

/// Most keys read from one JWK Set.
pub const MAX_JWKS_KEYS: usize = 64;

/// Why a pinned JWK or JWK Set was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinnedJwkError {
    /// The text is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A key is not a usable public JWK (`index` 0 for a single JWK).
    #[error("key {index}: {error}")]
    Key {
        /// Position in the set.
        index: usize,
        /// Why the key was refused.
        error: JwkError,
    },
    /// A key's `iss` or `kid` member is not a non-empty string.
    #[error("key {index}: `{member}` is not a non-empty string")]
    Member {
        /// Position in the set.
        index: usize,
        /// `iss` or `kid`.
        member: &'static str,
    },
    /// A key's `iss` member names another issuer than the one the file is pinned for.
    #[error("key {index}: its `iss` is not the issuer the file is pinned for")]
    IssuerConflict {
        /// Position in the set.
        index: usize,
    },
    /// `keys` is not an array, or is empty.
    #[error("the JWK Set's `keys` is not a non-empty array")]
    NoKeys,
    /// More than [`MAX_JWKS_KEYS`] keys.
    #[error("the JWK Set has more than {MAX_JWKS_KEYS} keys")]
    TooManyKeys,
}

fn string_member(
    jwk: &serde_json::Map<String, Value>,
    member: &'static str,
    index: usize,
) -> Result<Option<String>, PinnedJwkError> {
    match jwk.get(member) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(PinnedJwkError::Member { index, member }),
    }
}

/// One key of the text: the key, the issuer it is for, its extra key ids.
fn pinned_key(
    jwk: &Value,
    index: usize,
    file_iss: Option<&str>,
    read_kid: bool,
) -> Result<(PublicKey, Option<String>, Vec<String>), PinnedJwkError> {
    let map = jwk.as_object().ok_or(PinnedJwkError::Key {
        index,
        error: JwkError::NotAnObject,
    })?;
    let key = PublicKey::from_jwk(jwk).map_err(|error| PinnedJwkError::Key { index, error })?;
    let own_iss = string_member(map, "iss", index)?;
    let iss = match (file_iss, own_iss) {
        (Some(file), Some(own)) if file != own => {
            return Err(PinnedJwkError::IssuerConflict { index })
        }
        (Some(file), _) => Some(file.to_owned()),
        (None, own) => own,
    };
    let kids = if read_kid {
        string_member(map, "kid", index)?.into_iter().collect()
    } else {
        Vec::new()
    };
    Ok((key, iss, kids))
}

impl PinnedKeys {
    /// Adds the keys of a JWK or JWK Set text (see the [module docs](self)), pinned for `iss`
    /// when given; returns how many were added. Nothing is added when any key is refused.
    pub fn add_jwk_text(&mut self, text: &str, iss: Option<&str>) -> Result<usize, PinnedJwkError> {
        let value: Value = serde_json::from_str(text).map_err(|_| PinnedJwkError::NotAnObject)?;
        let map = value.as_object().ok_or(PinnedJwkError::NotAnObject)?;
        let keys = match map.get("keys") {
            None => vec![pinned_key(&value, 0, iss, false)?],
            Some(Value::Array(set)) if set.is_empty() => return Err(PinnedJwkError::NoKeys),
            Some(Value::Array(set)) if set.len() > MAX_JWKS_KEYS => {
                return Err(PinnedJwkError::TooManyKeys)
            }
            Some(Value::Array(set)) => set
                .iter()
                .enumerate()
                .map(|(index, jwk)| pinned_key(jwk, index, iss, true))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(PinnedJwkError::NoKeys),
        };
        let added = keys.len();
        for (key, iss, kids) in keys {
            self.add(key, iss, kids);
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    // Tests: a panic is the failure report.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::jose::{Algorithm, JwsHeader, Signer as _, SoftwareSigner};
    use crate::trust::{IssuerResolver, ResolveError};
    use serde_json::json;

    fn key(seed: u8) -> PublicKey {
        SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])).public_key()
    }

    fn jwk_with(seed: u8, extra: Value) -> Value {
        let mut jwk = key(seed).to_jwk();
        if let (Some(jwk), Value::Object(extra)) = (jwk.as_object_mut(), extra) {
            jwk.extend(extra);
        }
        jwk
    }

    fn header(kid: Option<&str>) -> JwsHeader {
        JwsHeader {
            alg: Algorithm::EdDSA,
            typ: None,
            kid: kid.map(str::to_owned),
            raw: serde_json::Map::new(),
        }
    }

    const A: &str = "did:web:a.example";
    const B: &str = "did:web:b.example";

    #[test]
    fn a_jwk_set_binds_each_key_to_its_iss() {
        let set = json!({"keys": [
            jwk_with(1, json!({"iss": A, "kid": "a-1"})),
            jwk_with(2, json!({"iss": B})),
        ]});
        let mut keys = PinnedKeys::new();
        assert_eq!(keys.add_jwk_text(&set.to_string(), None), Ok(2));
        assert_eq!(keys.candidates(Some(A), &header(None)), Ok(vec![key(1)]));
        assert_eq!(keys.candidates(Some(B), &header(None)), Ok(vec![key(2)]));
        assert_eq!(keys.resolve(Some(A), &header(Some("a-1"))), Ok(key(1)));
        assert_eq!(
            keys.resolve(Some("did:web:c.example"), &header(None)),
            Err(ResolveError::UntrustedIssuer)
        );
    }

    #[test]
    fn the_files_iss_applies_to_every_key_and_a_conflict_is_refused() {
        let set = json!({"keys": [jwk_with(1, json!({})), jwk_with(2, json!({"iss": A}))]});
        let mut keys = PinnedKeys::new();
        assert_eq!(keys.add_jwk_text(&set.to_string(), Some(A)), Ok(2));
        assert_eq!(
            keys.resolve(Some(B), &header(None)),
            Err(ResolveError::UntrustedIssuer)
        );
        assert_eq!(
            keys.candidates(Some(A), &header(None)),
            Ok(vec![key(1), key(2)])
        );
        let mut keys = PinnedKeys::new();
        assert_eq!(
            keys.add_jwk_text(&set.to_string(), Some(B)),
            Err(PinnedJwkError::IssuerConflict { index: 1 })
        );
        assert!(keys.is_empty(), "nothing added from a refused set");
        // A single JWK: pinned for the given issuer, or for the one it names.
        let mut keys = PinnedKeys::new();
        let single = jwk_with(3, json!({"kid": "ignored"})).to_string();
        assert_eq!(keys.add_jwk_text(&single, Some(A)), Ok(1));
        assert_eq!(
            keys.resolve(Some(A), &header(Some("other"))),
            Ok(key(3)),
            "a single JWK's kid is not read"
        );
        let mut keys = PinnedKeys::new();
        let named = jwk_with(3, json!({"iss": B})).to_string();
        assert_eq!(keys.add_jwk_text(&named, None), Ok(1));
        assert_eq!(
            keys.resolve(Some(A), &header(None)),
            Err(ResolveError::UntrustedIssuer)
        );
    }

    #[test]
    fn malformed_sets_are_refused_with_their_reason() {
        let mut keys = PinnedKeys::new();
        let refuse = |keys: &mut PinnedKeys, text: &str| keys.add_jwk_text(text, None);
        assert_eq!(refuse(&mut keys, "[]"), Err(PinnedJwkError::NotAnObject));
        assert_eq!(refuse(&mut keys, "nope"), Err(PinnedJwkError::NotAnObject));
        assert_eq!(
            refuse(&mut keys, r#"{"keys": []}"#),
            Err(PinnedJwkError::NoKeys)
        );
        assert_eq!(
            refuse(&mut keys, r#"{"keys": {}}"#),
            Err(PinnedJwkError::NoKeys)
        );
        let many = json!({"keys": vec![key(1).to_jwk(); MAX_JWKS_KEYS + 1]});
        assert_eq!(
            refuse(&mut keys, &many.to_string()),
            Err(PinnedJwkError::TooManyKeys)
        );
        let bad_iss = json!({"keys": [jwk_with(1, json!({"iss": 7}))]});
        assert_eq!(
            refuse(&mut keys, &bad_iss.to_string()),
            Err(PinnedJwkError::Member {
                index: 0,
                member: "iss"
            })
        );
        let private = json!({"keys": [key(1).to_jwk(), jwk_with(2, json!({"d": "AAAA"}))]});
        assert_eq!(
            refuse(&mut keys, &private.to_string()),
            Err(PinnedJwkError::Key {
                index: 1,
                error: JwkError::PrivateKeyMaterial
            })
        );
        assert!(keys.is_empty());
    }
}
