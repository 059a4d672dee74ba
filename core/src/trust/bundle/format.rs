//! The bundle's data types and its JSON form, and the builder that signs one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{BundleError, TRUST_BUNDLE_TYP, TRUST_BUNDLE_VERSION};
use crate::jose::{sign_compact, PublicKey, SignError, Signer};
use crate::trust::PinnedKeys;

/// An issuer key with its optional `kid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleKey {
    /// The public key.
    pub key: PublicKey,
    /// A `kid` the issuer's JWTs may name it by, besides its RFC 7638 thumbprint.
    pub kid: Option<String>,
}

/// A status list as carried in the bundle: its URI and its signed token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleStatusList {
    /// The list's URI (the token's `sub`, the credentials' `status_list.uri`).
    pub uri: String,
    /// The `statuslist+jwt`.
    pub token: String,
}

/// One trusted issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleIssuer {
    /// Issuer id or DID, as in the credentials' `iss`.
    pub iss: String,
    /// A name for people (gate screens, logs).
    pub display_name: String,
    /// The issuer's keys.
    pub keys: Vec<BundleKey>,
    /// The `vct` values this issuer may issue.
    pub vct: Vec<String>,
    /// The issuer's status lists.
    pub status_lists: Vec<BundleStatusList>,
}

impl BundleIssuer {
    /// An issuer with no keys, types or lists yet.
    pub fn new(iss: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            iss: iss.into(),
            display_name: display_name.into(),
            keys: Vec::new(),
            vct: Vec::new(),
            status_lists: Vec::new(),
        }
    }

    /// Adds a key, with an optional `kid`.
    pub fn key(mut self, key: PublicKey, kid: Option<String>) -> Self {
        self.keys.push(BundleKey { key, kid });
        self
    }

    /// Allows a `vct`.
    pub fn vct(mut self, vct: impl Into<String>) -> Self {
        self.vct.push(vct.into());
        self
    }

    /// Adds a status list token published at `uri`.
    pub fn status_list(mut self, uri: impl Into<String>, token: impl Into<String>) -> Self {
        self.status_lists.push(BundleStatusList {
            uri: uri.into(),
            token: token.into(),
        });
        self
    }

    /// The issuer's keys as a resolver for status list tokens (whatever their `iss`).
    pub(super) fn key_set(&self) -> PinnedKeys {
        let mut keys = PinnedKeys::new();
        for k in &self.keys {
            keys.add(k.key.clone(), None, k.kid.iter().cloned().collect());
        }
        keys
    }
}

/// The payload as JSON, for both reading and writing.
#[derive(Serialize, Deserialize)]
pub(super) struct PayloadDoc {
    pub(super) v: u64,
    #[serde(deserialize_with = "crate::time::deserialize_numeric_date")]
    pub(super) iat: u64,
    pub(super) seq: u64,
    pub(super) max_staleness: u64,
    pub(super) issuers: Vec<IssuerDoc>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct IssuerDoc {
    iss: String,
    display_name: String,
    keys: Vec<Value>,
    #[serde(default)]
    vct: Vec<String>,
    #[serde(default)]
    status_lists: Vec<BundleStatusList>,
}

impl IssuerDoc {
    pub(super) fn into_issuer(self) -> Result<BundleIssuer, BundleError> {
        let keys = self
            .keys
            .iter()
            .map(|jwk| {
                let key = PublicKey::from_jwk(jwk).map_err(BundleError::IssuerKey)?;
                let kid = match jwk.get("kid") {
                    None => None,
                    Some(Value::String(kid)) => Some(kid.clone()),
                    Some(_) => return Err(BundleError::Payload("a key's `kid` is not a string")),
                };
                Ok(BundleKey { key, kid })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BundleIssuer {
            iss: self.iss,
            display_name: self.display_name,
            keys,
            vct: self.vct,
            status_lists: self.status_lists,
        })
    }

    fn from_issuer(issuer: &BundleIssuer) -> Self {
        let keys = issuer
            .keys
            .iter()
            .map(|k| {
                let mut jwk = k.key.to_jwk();
                if let (Some(kid), Some(map)) = (&k.kid, jwk.as_object_mut()) {
                    map.insert("kid".to_owned(), Value::String(kid.clone()));
                }
                jwk
            })
            .collect();
        Self {
            iss: issuer.iss.clone(),
            display_name: issuer.display_name.clone(),
            keys,
            vct: issuer.vct.clone(),
            status_lists: issuer.status_lists.clone(),
        }
    }
}

/// Makes and signs a trust bundle (the HR tool's `publish`).
#[derive(Clone, Debug)]
pub struct TrustBundleBuilder {
    seq: u64,
    iat: u64,
    max_staleness: u64,
    issuers: Vec<BundleIssuer>,
}

impl TrustBundleBuilder {
    /// A bundle with version `seq`, made at `iat`, whose status tokens may be relied on for
    /// `max_staleness` seconds after their own `iat`.
    pub fn new(seq: u64, iat: u64, max_staleness: u64) -> Self {
        Self {
            seq,
            iat,
            max_staleness,
            issuers: Vec::new(),
        }
    }

    /// Adds an issuer.
    pub fn issuer(mut self, issuer: BundleIssuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Signs the bundle with the operator key. The result is what [`TrustBundle::load`](super::TrustBundle::load) reads;
    /// loading it back is the way to check it (duplicate issuers, bad tokens) before publishing.
    pub fn sign(&self, operator: &dyn Signer) -> Result<String, SignError> {
        let doc = PayloadDoc {
            v: TRUST_BUNDLE_VERSION,
            iat: self.iat,
            seq: self.seq,
            max_staleness: self.max_staleness,
            issuers: self.issuers.iter().map(IssuerDoc::from_issuer).collect(),
        };
        let Ok(Value::Object(payload)) = serde_json::to_value(&doc) else {
            return Err(SignError {
                reason: "bundle payload is not serializable".to_owned(),
            });
        };
        let mut header = Map::new();
        header.insert("typ".to_owned(), Value::String(TRUST_BUNDLE_TYP.to_owned()));
        sign_compact(header, &payload, operator)
    }
}
