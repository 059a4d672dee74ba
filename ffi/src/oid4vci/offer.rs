//! Parsing what the issuer sends before any token: the Credential Offer (OpenID4VCI 1.0 §4.1),
//! the Credential Issuer Metadata (§12.2) and the Authorization Server Metadata (RFC 8414 §2,
//! OpenID4VCI 1.0 §12.3). Pure functions over JSON: the fetching is in `flow.rs`.
//!
//! Candidates for core (`govid_core::oid4vci`), shared with govid's issuer.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::WalletError;
use crate::records::CredentialKind;
use govid_core::url::{query_pairs, HttpUrl};

/// The grant type of the Pre-Authorized Code Flow (§3.5, §14.1).
pub(crate) const PRE_AUTHORIZED_GRANT: &str =
    "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Most credential configurations one offer may name.
const MAX_CONFIGURATIONS: usize = 16;

fn offer_error(reason: impl Into<String>) -> WalletError {
    WalletError::InvalidOffer {
        reason: reason.into(),
    }
}

fn metadata_error(reason: impl Into<String>) -> WalletError {
    WalletError::IssuerMetadata {
        reason: reason.into(),
    }
}

/// Where the offer object is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OfferSource {
    /// `credential_offer`: the JSON object itself (§4.1.2).
    Value(Map<String, Value>),
    /// `credential_offer_uri`: an https URL to GET it from (§4.1.3).
    Reference(String),
}

/// What a scanned or tapped offer link holds: `openid-credential-offer://?credential_offer=…`
/// or `…?credential_offer_uri=…` (exactly one of them, §4.1). Any scheme is accepted for the
/// link itself (apps register `openid-credential-offer://` or an https universal link).
pub(crate) fn parse_offer_link(text: &str) -> Result<OfferSource, WalletError> {
    let text = text.trim();
    if text.len() > 16 * 1024 {
        return Err(offer_error("the offer link is longer than 16 KiB"));
    }
    let query = text
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .ok_or_else(|| {
            offer_error(
                "not a credential offer link (expected openid-credential-offer://?credential_offer_uri=…)",
            )
        })?;
    let pairs = query_pairs(query).map_err(|e| offer_error(format!("offer link: {e}")))?;
    let by_value: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "credential_offer")
        .map(|(_, v)| v.as_str())
        .collect();
    let by_reference: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "credential_offer_uri")
        .map(|(_, v)| v.as_str())
        .collect();
    match (by_value.as_slice(), by_reference.as_slice()) {
        ([json], []) => {
            let value = govid_core::json::parse_object(json.as_bytes(), 16)
                .map_err(|e| offer_error(format!("credential_offer: {e}")))?;
            Ok(OfferSource::Value(value))
        }
        ([], [uri]) => {
            HttpUrl::parse(uri).map_err(|e| offer_error(format!("credential_offer_uri: {e}")))?;
            Ok(OfferSource::Reference((*uri).to_owned()))
        }
        ([], []) => Err(offer_error(
            "the offer link has neither credential_offer nor credential_offer_uri",
        )),
        _ => Err(offer_error(
            "the offer link must have exactly one credential_offer or credential_offer_uri (§4.1)",
        )),
    }
}

/// The Transaction Code the offer asks for (§4.1.1 `tx_code`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TxCodeSpec {
    /// `numeric` (default) or `text`.
    pub(crate) input_mode: String,
    /// The expected length, if given.
    pub(crate) length: Option<u64>,
}

/// A parsed Credential Offer for the Pre-Authorized Code Flow.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CredentialOffer {
    pub(crate) credential_issuer: String,
    pub(crate) configuration_ids: Vec<String>,
    pub(crate) pre_authorized_code: String,
    pub(crate) tx_code: Option<TxCodeSpec>,
    /// The grant's `authorization_server`, if the issuer has several.
    pub(crate) authorization_server: Option<String>,
}

// Never print the code.
impl std::fmt::Debug for CredentialOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialOffer")
            .field("credential_issuer", &self.credential_issuer)
            .field("configuration_ids", &self.configuration_ids)
            .field("tx_code", &self.tx_code)
            .finish_non_exhaustive()
    }
}

/// Reads a Credential Offer object (§4.1.1). Only the Pre-Authorized Code grant is supported:
/// an offer with only `authorization_code` is refused (the wallet has no browser flow yet).
pub(crate) fn parse_offer(offer: &Map<String, Value>) -> Result<CredentialOffer, WalletError> {
    let issuer = offer
        .get("credential_issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| offer_error("the offer has no `credential_issuer`"))?;
    HttpUrl::parse(issuer).map_err(|e| offer_error(format!("credential_issuer: {e}")))?;
    let ids = offer
        .get("credential_configuration_ids")
        .and_then(Value::as_array)
        .ok_or_else(|| offer_error("the offer has no `credential_configuration_ids` array"))?;
    let mut seen = HashSet::new();
    let mut configuration_ids = Vec::new();
    for id in ids {
        let id = id.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
            offer_error("a credential_configuration_id is not a non-empty string")
        })?;
        if !seen.insert(id) {
            return Err(offer_error(
                "credential_configuration_ids has duplicates (§4.1.1)",
            ));
        }
        configuration_ids.push(id.to_owned());
    }
    if configuration_ids.is_empty() || configuration_ids.len() > MAX_CONFIGURATIONS {
        return Err(offer_error(format!(
            "credential_configuration_ids must name 1 to {MAX_CONFIGURATIONS} configurations"
        )));
    }
    let grant = offer
        .get("grants")
        .and_then(|g| g.get(PRE_AUTHORIZED_GRANT))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            offer_error(
                "the offer has no pre-authorized code grant (only the Pre-Authorized Code Flow \
                 is supported)",
            )
        })?;
    let code = grant
        .get("pre-authorized_code")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| offer_error("the pre-authorized code grant has no usable code"))?;
    let tx_code = match grant.get("tx_code") {
        None => None,
        Some(Value::Object(t)) => Some(TxCodeSpec {
            input_mode: t
                .get("input_mode")
                .and_then(Value::as_str)
                .unwrap_or("numeric")
                .to_owned(),
            length: t.get("length").and_then(Value::as_u64),
        }),
        Some(_) => return Err(offer_error("`tx_code` is not an object")),
    };
    let authorization_server = grant
        .get("authorization_server")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(CredentialOffer {
        credential_issuer: issuer.to_owned(),
        configuration_ids,
        pre_authorized_code: code.to_owned(),
        tx_code,
        authorization_server,
    })
}

/// The Credential Issuer Metadata the wallet uses (§12.2.4).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IssuerMetadata {
    pub(crate) credential_issuer: String,
    pub(crate) credential_endpoint: String,
    pub(crate) nonce_endpoint: Option<String>,
    pub(crate) notification_endpoint: Option<String>,
    pub(crate) authorization_servers: Vec<String>,
    /// `display`: (name, locale) pairs.
    pub(crate) display: Vec<(String, Option<String>)>,
    pub(crate) configurations: Map<String, Value>,
}

fn endpoint(meta: &Map<String, Value>, name: &str) -> Result<Option<String>, WalletError> {
    match meta.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) => {
            HttpUrl::parse(url).map_err(|e| metadata_error(format!("`{name}`: {e}")))?;
            Ok(Some(url.clone()))
        }
        Some(_) => Err(metadata_error(format!("`{name}` is not a string"))),
    }
}

/// Reads the Credential Issuer Metadata and checks that its `credential_issuer` is exactly the
/// one the offer named (§12.2.4: "MUST be identical"; compared as strings, no normalisation).
pub(crate) fn parse_issuer_metadata(
    meta: &Map<String, Value>,
    expected_issuer: &str,
) -> Result<IssuerMetadata, WalletError> {
    let issuer = meta
        .get("credential_issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| metadata_error("the metadata has no `credential_issuer`"))?;
    if issuer != expected_issuer {
        return Err(metadata_error(format!(
            "the metadata's credential_issuer {} is not the offer's {} (§12.2.4): refusing it",
            super::shown(issuer),
            super::shown(expected_issuer)
        )));
    }
    let credential_endpoint = endpoint(meta, "credential_endpoint")?
        .ok_or_else(|| metadata_error("the metadata has no `credential_endpoint`"))?;
    let authorization_servers = match meta.get("authorization_servers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| metadata_error("`authorization_servers` holds a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(metadata_error("`authorization_servers` is not an array")),
    };
    let display = meta
        .get("display")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    let name = d.get("name")?.as_str()?.trim();
                    (!name.is_empty()).then(|| {
                        (
                            name.chars().filter(|c| !c.is_control()).take(200).collect(),
                            d.get("locale").and_then(Value::as_str).map(str::to_owned),
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let configurations = meta
        .get("credential_configurations_supported")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            metadata_error("the metadata has no `credential_configurations_supported`")
        })?;
    Ok(IssuerMetadata {
        credential_issuer: issuer.to_owned(),
        credential_endpoint,
        nonce_endpoint: endpoint(meta, "nonce_endpoint")?,
        notification_endpoint: endpoint(meta, "notification_endpoint")?,
        authorization_servers,
        display,
        configurations,
    })
}

/// An offered configuration that is a govid credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GovidConfiguration {
    pub(crate) id: String,
    pub(crate) kind: CredentialKind,
    /// `proof_types_supported.jwt.proof_signing_alg_values_supported`, if given.
    pub(crate) proof_algs: Option<Vec<String>>,
}

impl IssuerMetadata {
    /// The configuration `id` if it is a govid worker ID or gate pass: format `dc+sd-jwt` (A.3.1)
    /// and the `vct` of one (A.3.2).
    pub(crate) fn govid_configuration(&self, id: &str) -> Option<GovidConfiguration> {
        let config = self.configurations.get(id)?;
        if config.get("format").and_then(Value::as_str) != Some("dc+sd-jwt") {
            return None;
        }
        let kind = CredentialKind::from_vct(config.get("vct")?.as_str()?)?;
        let proof_algs = config
            .get("proof_types_supported")
            .and_then(|p| p.get("jwt"))
            .and_then(|j| j.get("proof_signing_alg_values_supported"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
        Some(GovidConfiguration {
            id: id.to_owned(),
            kind,
            proof_algs,
        })
    }

    /// The issuer's display name in the first of `languages` it has (a language tag matches a
    /// locale equal to it or starting with it and `-`: `fr` matches `fr-CA`), else its entry
    /// without a locale, else its first entry.
    pub(crate) fn display_name(&self, languages: &[String]) -> Option<String> {
        let matches = |locale: &str, want: &str| {
            let (l, w) = (locale.to_ascii_lowercase(), want.to_ascii_lowercase());
            l == w || l.starts_with(&format!("{w}-")) || w.starts_with(&format!("{l}-"))
        };
        languages
            .iter()
            .find_map(|want| {
                self.display
                    .iter()
                    .find(|(_, locale)| locale.as_deref().is_some_and(|l| matches(l, want)))
            })
            .or_else(|| self.display.iter().find(|(_, locale)| locale.is_none()))
            .or_else(|| self.display.first())
            .map(|(name, _)| name.clone())
    }
}

/// The Authorization Server Metadata the wallet uses (RFC 8414 §2, RFC 9449 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AsMetadata {
    pub(crate) token_endpoint: String,
    /// `dpop_signing_alg_values_supported`; `None` when the AS does not advertise DPoP.
    pub(crate) dpop_algs: Option<Vec<String>>,
}

/// Reads the AS metadata and checks its `issuer` is `expected` (RFC 8414 §3.3: MUST be
/// identical to the issuer the metadata URL was formed from).
pub(crate) fn parse_as_metadata(
    meta: &Map<String, Value>,
    expected: &str,
) -> Result<AsMetadata, WalletError> {
    let issuer = meta
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issuer != expected {
        return Err(metadata_error(format!(
            "the authorization server metadata's issuer {} is not {} (RFC 8414 §3.3)",
            super::shown(issuer),
            super::shown(expected)
        )));
    }
    let token_endpoint = endpoint(meta, "token_endpoint")?
        .ok_or_else(|| metadata_error("the authorization server has no `token_endpoint`"))?;
    let dpop_algs = meta
        .get("dpop_signing_alg_values_supported")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    Ok(AsMetadata {
        token_endpoint,
        dpop_algs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use govid_core::credential::{GATE_PASS_VCT, WORKER_ID_VCT};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn offer_json() -> Value {
        json!({
            "credential_issuer": "https://hr.example",
            "credential_configuration_ids": ["worker_id", "gate_pass"],
            "grants": {PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": "secret-code",
                "tx_code": {"input_mode": "numeric", "length": 6, "description": "100% yours"}
            }}
        })
    }

    #[test]
    fn offer_by_value() {
        let json = offer_json().to_string();
        let link = format!(
            "openid-credential-offer://?credential_offer={}",
            govid_core::url::form_encode(&json)
        );
        let OfferSource::Value(map) = parse_offer_link(&link).unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not by value")
        };
        let offer = parse_offer(&map).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(offer.credential_issuer, "https://hr.example");
        assert_eq!(offer.configuration_ids, ["worker_id", "gate_pass"]);
        assert_eq!(offer.pre_authorized_code, "secret-code");
        assert_eq!(
            offer.tx_code,
            Some(TxCodeSpec {
                input_mode: "numeric".to_owned(),
                length: Some(6)
            })
        );
        // The code never shows in Debug output.
        assert!(!format!("{offer:?}").contains("secret-code"));
    }

    #[test]
    fn offer_by_reference() {
        let link =
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fhr.example%2Foffers%2F1";
        assert_eq!(
            parse_offer_link(link).ok(),
            Some(OfferSource::Reference(
                "https://hr.example/offers/1".to_owned()
            ))
        );
        let loopback =
            "openid-credential-offer://?credential_offer_uri=http://127.0.0.1:8080/offers/1";
        assert!(parse_offer_link(loopback).is_ok());
    }

    #[test]
    fn bad_offers() {
        for link in [
            "https://hr.example/no-query",
            "openid-credential-offer://?foo=bar",
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fhr.example%2Fo",
            "openid-credential-offer://?credential_offer={}&credential_offer_uri=https://a.example",
            "openid-credential-offer://?credential_offer=not-json",
        ] {
            assert!(
                matches!(
                    parse_offer_link(link),
                    Err(WalletError::InvalidOffer { .. })
                ),
                "{link}"
            );
        }
        let mut dup = offer_json();
        dup["credential_configuration_ids"] = json!(["a", "a"]);
        let mut auth_code = offer_json();
        auth_code["grants"] = json!({"authorization_code": {}});
        let mut no_ids = offer_json();
        no_ids["credential_configuration_ids"] = json!([]);
        for bad in [dup, auth_code, no_ids] {
            let err = parse_offer(&obj(bad)).err();
            assert!(
                matches!(err, Some(WalletError::InvalidOffer { .. })),
                "{err:?}"
            );
            assert!(!format!("{err:?}").contains("secret-code"));
        }
    }

    fn metadata() -> Value {
        json!({
            "credential_issuer": "https://hr.example",
            "credential_endpoint": "https://hr.example/credential",
            "nonce_endpoint": "https://hr.example/nonce",
            "display": [{"name": "Ministère", "locale": "fr"}, {"name": "Ministry of X", "locale": "en-GB"}],
            "credential_configurations_supported": {
                "worker_id": {"format": "dc+sd-jwt", "vct": WORKER_ID_VCT,
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}},
                "gate_pass": {"format": "dc+sd-jwt", "vct": GATE_PASS_VCT},
                "other": {"format": "dc+sd-jwt", "vct": "https://other.example/vct"},
                "mdoc": {"format": "mso_mdoc", "doctype": "x"}
            }
        })
    }

    #[test]
    fn issuer_metadata() {
        let meta = parse_issuer_metadata(&obj(metadata()), "https://hr.example")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.credential_endpoint, "https://hr.example/credential");
        assert_eq!(meta.notification_endpoint, None);
        let worker = meta
            .govid_configuration("worker_id")
            .unwrap_or_else(|| panic!("worker"));
        assert_eq!(worker.kind, CredentialKind::WorkerId);
        assert_eq!(worker.proof_algs, Some(vec!["ES256".to_owned()]));
        assert_eq!(
            meta.govid_configuration("gate_pass").map(|c| c.kind),
            Some(CredentialKind::GatePass)
        );
        assert!(meta.govid_configuration("other").is_none());
        assert!(meta.govid_configuration("mdoc").is_none());
        assert!(meta.govid_configuration("missing").is_none());
        assert_eq!(
            meta.display_name(&["en".to_owned()]).as_deref(),
            Some("Ministry of X")
        );
        assert_eq!(
            meta.display_name(&["fr-CA".to_owned()]).as_deref(),
            Some("Ministère")
        );
        assert_eq!(meta.display_name(&[]).as_deref(), Some("Ministère"));
    }

    #[test]
    fn issuer_metadata_mismatch_is_refused() {
        for other in [
            "https://hr.example/",
            "https://HR.example",
            "https://evil.example",
        ] {
            let err = parse_issuer_metadata(&obj(metadata()), other).err();
            assert!(
                matches!(err, Some(WalletError::IssuerMetadata { .. })),
                "{other}: {err:?}"
            );
        }
        let mut plain = metadata();
        plain["credential_endpoint"] = json!("http://hr.example/credential");
        assert!(parse_issuer_metadata(&obj(plain), "https://hr.example").is_err());
    }

    #[test]
    fn as_metadata() {
        let meta = obj(
            json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/token",
            "dpop_signing_alg_values_supported": ["EdDSA", "ES256"]}),
        );
        let parsed =
            parse_as_metadata(&meta, "https://as.example").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed.dpop_algs,
            Some(vec!["EdDSA".to_owned(), "ES256".to_owned()])
        );
        assert!(parse_as_metadata(&meta, "https://hr.example").is_err());
    }
}
