//! The Credential Offer (OpenID4VCI 1.0 §4.1) of the pre-authorized code flow, and the
//! `openid-credential-offer://` URI that carries it by reference (§4.1.3) or by value (§4.1.2).

use serde_json::{json, Map, Value};

/// The pre-authorized code grant type (OpenID4VCI 1.0 §4.1.1, §12.1).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// The scheme of a wallet's Credential Offer Endpoint when it has no other (§4.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// The `tx_code` object of a pre-authorized grant (§4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxCode {
    /// `numeric` or `text`.
    pub input_mode: String,
    /// Length of the code, if given.
    pub length: Option<u32>,
    /// How the holder gets the code (at most 300 characters).
    pub description: Option<String>,
}

/// A Credential Offer with a pre-authorized code grant.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialOffer {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The offered Credential Configurations.
    pub credential_configuration_ids: Vec<String>,
    /// The pre-authorized code (a secret: never logged, see the `Debug` impl).
    pub pre_authorized_code: String,
    /// The transaction code the token request needs, if any.
    pub tx_code: Option<TxCode>,
}

impl std::fmt::Debug for CredentialOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialOffer")
            .field("credential_issuer", &self.credential_issuer)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("tx_code", &self.tx_code)
            .finish_non_exhaustive()
    }
}

/// Why an offer could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// A required member is missing or of the wrong type.
    #[error("credential offer member {0} is missing or malformed")]
    Member(&'static str),
    /// Not an `openid-credential-offer://` URI with one of the two parameters.
    #[error("not a credential offer URI")]
    Uri,
}

impl CredentialOffer {
    /// The offer object (§4.1.1).
    pub fn to_json(&self) -> Value {
        let mut grant = Map::new();
        grant.insert(
            "pre-authorized_code".to_owned(),
            Value::String(self.pre_authorized_code.clone()),
        );
        if let Some(tx) = &self.tx_code {
            let mut t = Map::new();
            t.insert(
                "input_mode".to_owned(),
                Value::String(tx.input_mode.clone()),
            );
            if let Some(length) = tx.length {
                t.insert("length".to_owned(), Value::from(length));
            }
            if let Some(d) = &tx.description {
                t.insert("description".to_owned(), Value::String(d.clone()));
            }
            grant.insert("tx_code".to_owned(), Value::Object(t));
        }
        json!({
            "credential_issuer": self.credential_issuer,
            "credential_configuration_ids": self.credential_configuration_ids,
            "grants": { PRE_AUTHORIZED_GRANT: grant },
        })
    }

    /// Reads an offer object with a pre-authorized code grant. Unknown members are ignored
    /// (§4.1.1); `tx_code` defaults to `numeric` input.
    pub fn from_json(offer: &Value) -> Result<Self, OfferError> {
        let credential_issuer = offer["credential_issuer"]
            .as_str()
            .ok_or(OfferError::Member("credential_issuer"))?
            .to_owned();
        let ids = offer["credential_configuration_ids"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or(OfferError::Member("credential_configuration_ids"))?;
        let credential_configuration_ids = ids
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(OfferError::Member("credential_configuration_ids"))?;
        let grant = &offer["grants"][PRE_AUTHORIZED_GRANT];
        let pre_authorized_code = grant["pre-authorized_code"]
            .as_str()
            .ok_or(OfferError::Member("pre-authorized_code"))?
            .to_owned();
        let tx_code = match grant.get("tx_code") {
            None => None,
            Some(Value::Object(t)) => Some(TxCode {
                input_mode: t
                    .get("input_mode")
                    .and_then(Value::as_str)
                    .unwrap_or("numeric")
                    .to_owned(),
                length: t
                    .get("length")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok()),
                description: t
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            Some(_) => return Err(OfferError::Member("tx_code")),
        };
        Ok(Self {
            credential_issuer,
            credential_configuration_ids,
            pre_authorized_code,
            tx_code,
        })
    }
}

/// What an offer URI carries.
#[derive(Clone, Debug, PartialEq)]
pub enum OfferUri {
    /// `credential_offer`: the offer object itself.
    ByValue(Value),
    /// `credential_offer_uri`: where to GET it.
    ByReference(String),
}

/// `openid-credential-offer://?credential_offer_uri=<url, percent-encoded>` (§4.1.3).
pub fn offer_uri_by_reference(offer_url: &str) -> String {
    format!(
        "{OFFER_SCHEME}?credential_offer_uri={}",
        percent_encode(offer_url)
    )
}

/// Reads an `openid-credential-offer://?…` URI (either parameter, §4.1).
pub fn parse_offer_uri(uri: &str) -> Result<OfferUri, OfferError> {
    let query = uri
        .strip_prefix(OFFER_SCHEME)
        .and_then(|rest| rest.split_once('?').map(|(_, q)| q))
        .ok_or(OfferError::Uri)?;
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').ok_or(OfferError::Uri)?;
        let value = percent_decode(value).ok_or(OfferError::Uri)?;
        let this = match name {
            "credential_offer" => OfferUri::ByValue(
                serde_json::from_str(&value).map_err(|_| OfferError::Member("credential_offer"))?,
            ),
            "credential_offer_uri" => OfferUri::ByReference(value),
            _ => continue,
        };
        if found.replace(this).is_some() {
            return Err(OfferError::Uri);
        }
    }
    found.ok_or(OfferError::Uri)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space, as in form encoding); `None` for a bad escape or
/// bytes that are not UTF-8 ([`crate::url::percent_decode`]).
pub fn percent_decode(text: &str) -> Option<String> {
    crate::url::percent_decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §4.1.2's offer by value for a native wallet (line breaks removed).
    const SPEC_BY_VALUE: &str = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22:%22https://credential-issuer.example.com%22,%22credential_configuration_ids%22:%5B%22org.iso.18013.5.1.mDL%22%5D,%22grants%22:%7B%22urn:ietf:params:oauth:grant-type:pre-authorized_code%22:%7B%22pre-authorized_code%22:%22oaKazRN8I0IbtZ0C7JuMn5%22,%22tx_code%22:%7B%22input_mode%22:%22text%22,%22description%22:%22Please%20enter%20the%20serial%20number%20of%20your%20physical%20drivers%20license%22%7D%7D%7D%7D";

    /// §4.1.3's offer by reference.
    const SPEC_BY_REFERENCE: &str = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";

    #[test]
    fn spec_offer_by_value_is_read() {
        let Ok(OfferUri::ByValue(value)) = parse_offer_uri(SPEC_BY_VALUE) else {
            panic!("not read");
        };
        let offer = CredentialOffer::from_json(&value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            offer.credential_issuer,
            "https://credential-issuer.example.com"
        );
        assert_eq!(
            offer.credential_configuration_ids,
            ["org.iso.18013.5.1.mDL"]
        );
        assert_eq!(offer.pre_authorized_code, "oaKazRN8I0IbtZ0C7JuMn5");
        let tx = offer
            .tx_code
            .clone()
            .unwrap_or_else(|| panic!("no tx_code"));
        assert_eq!(tx.input_mode, "text");
        assert_eq!(tx.length, None);
        // Written back, it reads the same.
        assert_eq!(CredentialOffer::from_json(&offer.to_json()), Ok(offer));
    }

    #[test]
    fn spec_offer_by_reference_round_trips() {
        let url = "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";
        assert_eq!(
            parse_offer_uri(SPEC_BY_REFERENCE),
            Ok(OfferUri::ByReference(url.to_owned()))
        );
        let ours = offer_uri_by_reference(url);
        assert_eq!(
            parse_offer_uri(&ours),
            Ok(OfferUri::ByReference(url.to_owned()))
        );
        assert_eq!(
            parse_offer_uri(
                "openid-credential-offer://?credential_offer_uri=a&credential_offer_uri=b"
            ),
            Err(OfferError::Uri)
        );
        assert_eq!(
            parse_offer_uri("https://x/?credential_offer_uri=a"),
            Err(OfferError::Uri)
        );
    }

    #[test]
    fn debug_hides_the_code() {
        let offer = CredentialOffer {
            credential_issuer: "https://i".to_owned(),
            credential_configuration_ids: vec!["worker_id".to_owned()],
            pre_authorized_code: "SECRET-CODE".to_owned(),
            tx_code: None,
        };
        assert!(!format!("{offer:?}").contains("SECRET"));
    }
}
