//! The Referenced Token's `status.status_list` claim (draft §6.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StatusError;

/// Where a credential's status lives: entry `idx` of the Status List Token at `uri`.
///
/// As JSON: `{"status": {"status_list": {"idx": 0, "uri": "https://…/status/1"}}}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusReference {
    /// The entry's index in the list.
    pub idx: u64,
    /// The URI of the Status List Token (its `sub`).
    pub uri: String,
}

impl StatusReference {
    /// A reference to entry `idx` of the list at `uri`.
    pub fn new(idx: u64, uri: impl Into<String>) -> Self {
        Self {
            idx,
            uri: uri.into(),
        }
    }

    /// Reads `status.status_list` from a credential's (processed) payload.
    ///
    /// Errors: `NoStatusClaim` without `status`; `NoStatusListReference` when `status` has no
    /// `status_list`; `InvalidReference` when either is not an object, `idx` is not a
    /// non-negative integer or `uri` is not a non-empty string with a scheme.
    pub fn from_payload(payload: &Map<String, Value>) -> Result<Self, StatusError> {
        let status = payload.get("status").ok_or(StatusError::NoStatusClaim)?;
        let status = status
            .as_object()
            .ok_or(StatusError::InvalidReference("`status` is not an object"))?;
        let reference = status
            .get("status_list")
            .ok_or(StatusError::NoStatusListReference)?
            .as_object()
            .ok_or(StatusError::InvalidReference(
                "`status_list` is not an object",
            ))?;
        let idx =
            reference
                .get("idx")
                .and_then(Value::as_u64)
                .ok_or(StatusError::InvalidReference(
                    "`idx` is not a non-negative integer",
                ))?;
        let uri = reference
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(StatusError::InvalidReference("`uri` is not a string"))?;
        if !has_scheme(uri) {
            return Err(StatusError::InvalidReference(
                "`uri` is not an absolute URI",
            ));
        }
        Ok(Self::new(idx, uri))
    }

    /// The `status` claim to put in a credential: `{"status_list": {"idx": …, "uri": …}}`.
    pub fn to_status_claim(&self) -> Value {
        let mut reference = Map::new();
        reference.insert("idx".to_owned(), Value::from(self.idx));
        reference.insert("uri".to_owned(), Value::String(self.uri.clone()));
        let mut status = Map::new();
        status.insert("status_list".to_owned(), Value::Object(reference));
        Value::Object(status)
    }
}

/// RFC 3986 §3.1: `scheme ":" …` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn has_scheme(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn parses_the_draft_example_and_round_trips() {
        let p = payload(json!({"status": {"status_list": {
            "idx": 0, "uri": "https://example.com/statuslists/1"}}}));
        let reference = StatusReference::from_payload(&p);
        assert_eq!(
            reference,
            Ok(StatusReference::new(0, "https://example.com/statuslists/1"))
        );
        let claim = reference.map(|r| r.to_status_claim());
        assert_eq!(claim.as_ref().ok(), p.get("status"));
    }

    #[test]
    fn each_malformed_reference_has_its_error() {
        let cases = [
            (json!({}), StatusError::NoStatusClaim),
            (
                json!({"status": {"other": 1}}),
                StatusError::NoStatusListReference,
            ),
            (
                json!({"status": 1}),
                StatusError::InvalidReference("`status` is not an object"),
            ),
            (
                json!({"status": {"status_list": []}}),
                StatusError::InvalidReference("`status_list` is not an object"),
            ),
            (
                json!({"status": {"status_list": {"idx": -1, "uri": "https://a/1"}}}),
                StatusError::InvalidReference("`idx` is not a non-negative integer"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1.5, "uri": "https://a/1"}}}),
                StatusError::InvalidReference("`idx` is not a non-negative integer"),
            ),
            (
                json!({"status": {"status_list": {"idx": "1", "uri": "https://a/1"}}}),
                StatusError::InvalidReference("`idx` is not a non-negative integer"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1}}}),
                StatusError::InvalidReference("`uri` is not a string"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1, "uri": "/status/1"}}}),
                StatusError::InvalidReference("`uri` is not an absolute URI"),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                StatusReference::from_payload(&payload(value.clone())),
                Err(expected),
                "{value}"
            );
        }
    }
}
