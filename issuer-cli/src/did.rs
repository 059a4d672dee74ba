//! The issuer's DID (did:web or did:key), its DID document and JWKS.
//!
//! Parsing `--did-web` input and the JWKS are here; did:key, DID documents and the did:web rules
//! are core's `did` module.

use govid_core::jose::PublicKey;
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};

/// How the issuer is identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DidMethod {
    /// `did:web:<host>[:<path>…]`: the DID document is served from the ministry's web server.
    Web,
    /// `did:key:z…`: the DID is the key itself (no hosting, no key rotation).
    Key,
}

impl DidMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DidMethod::Web => "web",
            DidMethod::Key => "key",
        }
    }

    pub(crate) fn from_str(text: &str) -> Option<Self> {
        match text {
            "web" => Some(DidMethod::Web),
            "key" => Some(DidMethod::Key),
            _ => None,
        }
    }
}

/// A `did:web` target: host (with optional port) and path segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WebTarget {
    pub(crate) host: String,
    pub(crate) path: Vec<String>,
}

impl WebTarget {
    /// Parses `host[:port][/path…]` as typed after `--did-web`.
    pub(crate) fn parse(text: &str) -> CliResult<Self> {
        let bad = |why: &str| {
            CliError::usage(format!(
                "--did-web {text:?}: {why} (expected a host name such as hr.ministry.example, \
                 optionally followed by /path)"
            ))
        };
        let text = text.trim().trim_end_matches('/');
        if text.contains("://") {
            return Err(bad("give the host name without https://"));
        }
        let mut parts = text.split('/');
        let host = parts.next().unwrap_or_default().to_ascii_lowercase();
        let (name, port) = match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host.as_str(), None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(bad("not a valid host name"));
        }
        if let Some(port) = port {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad("not a valid port"));
            }
        }
        let mut path = Vec::new();
        for segment in parts {
            if segment.is_empty()
                || segment == "."
                || segment == ".."
                || !segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                return Err(bad("path segments may use letters, digits and - . _ ~"));
            }
            path.push(segment.to_owned());
        }
        Ok(Self { host, path })
    }

    /// `did:web:host%3Aport:seg:seg`.
    pub(crate) fn did(&self) -> String {
        let mut did = format!("did:web:{}", self.host.replace(':', "%3A"));
        for segment in &self.path {
            did.push(':');
            did.push_str(segment);
        }
        did
    }

    /// Back from a did:web DID.
    pub(crate) fn from_did(did: &str) -> Option<Self> {
        let rest = did.strip_prefix("did:web:")?;
        let mut parts = rest.split(':');
        let host = parts.next()?.replace("%3A", ":");
        Some(Self {
            host,
            path: parts.map(str::to_owned).collect(),
        })
    }

    /// Where the DID document is served, relative to the web root: `.well-known/did.json`,
    /// or `<path>/did.json`.
    pub(crate) fn did_json_path(&self) -> String {
        if self.path.is_empty() {
            ".well-known/did.json".to_owned()
        } else {
            format!("{}/did.json", self.path.join("/"))
        }
    }

    /// The default status list base URL: `https://<host>/status`.
    pub(crate) fn default_status_base(&self) -> String {
        govid_core::status::default_status_base(&format!("https://{}", self.host))
    }
}

/// The did:key DID of a public key, and its verification method id (the `kid`).
pub(crate) fn did_key(key: &PublicKey) -> (String, String) {
    (
        govid_core::did::did_key_from_public_key(key),
        govid_core::did::did_key_verification_method_id(key),
    )
}

/// A published key: `kid` and public key.
pub(crate) struct PublishedKey<'a> {
    pub(crate) kid: &'a str,
    pub(crate) key: &'a PublicKey,
}

/// The DID document listing every key (current and retired) as a `JsonWebKey2020` verification
/// method usable for `assertionMethod` (core's did:web writer; did:key documents are derived
/// from the DID).
pub(crate) fn did_document(did: &str, keys: &[PublishedKey<'_>]) -> CliResult<Value> {
    let bad = |e: govid_core::did::DidError| {
        CliError::new(
            "bad_did",
            format!("cannot make the DID document of {did}: {e}"),
        )
    };
    if did.starts_with("did:key:") {
        return govid_core::did::did_key_document(did).map_err(bad);
    }
    let fragments: Vec<(&str, PublicKey)> = keys
        .iter()
        .map(|k| {
            (
                k.kid.rsplit_once('#').map_or(k.kid, |(_, f)| f),
                k.key.clone(),
            )
        })
        .collect();
    govid_core::did::did_web_document(did, &fragments).map_err(bad)
}

/// The JWKS (`{"keys": [...]}`) with `kid`, `alg` and `use` on each key.
pub(crate) fn jwks(keys: &[PublishedKey<'_>]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            let mut jwk = k.key.to_jwk();
            if let Value::Object(map) = &mut jwk {
                map.insert("kid".to_owned(), Value::String(k.kid.to_owned()));
                map.insert(
                    "alg".to_owned(),
                    Value::String(k.key.algorithm().as_str().to_owned()),
                );
                map.insert("use".to_owned(), Value::String("sig".to_owned()));
            }
            jwk
        })
        .collect();
    json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_forms() {
        let t = WebTarget::parse("HR.Ministry.example").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.did(), "did:web:hr.ministry.example");
        assert_eq!(t.did_json_path(), ".well-known/did.json");
        let t = WebTarget::parse("example.com:8443/hr/ids").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.did(), "did:web:example.com%3A8443:hr:ids");
        assert_eq!(t.did_json_path(), "hr/ids/did.json");
        assert_eq!(WebTarget::from_did(&t.did()), Some(t));
        for bad in [
            "https://x.example",
            "-x.example",
            "x..example",
            "x.example/../y",
            "",
        ] {
            assert!(WebTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn did_key_ed25519_vector() {
        // The did:key spec example (Ed25519, publicKeyJwk of z6MkhaXg…).
        let jwk =
            json!({"kty":"OKP","crv":"Ed25519","x":"Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY"});
        let key = PublicKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{e}"));
        let (did, kid) = did_key(&key);
        assert_eq!(
            did,
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
        );
        assert_eq!(
            kid,
            format!("{did}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
        );
    }
}
