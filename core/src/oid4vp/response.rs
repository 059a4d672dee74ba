//! The Authorization Response (OpenID4VP 1.0 §8): the `vp_token` (an object from DCQL
//! credential query ids to arrays of presentations, §8.1) and `state`, carried as the payload of
//! the encrypted response of `direct_post.jwt`, or an error response (§8.5).

use serde_json::{json, Map, Value};

use super::dcql::DcqlQuery;
use crate::json;

/// JSON nesting allowed in a response payload.
const MAX_JSON_DEPTH: usize = 8;

/// Why a response payload was refused (`invalid_request` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Not a JSON object.
    #[error("the response is not a JSON object")]
    Malformed,
    /// Neither `vp_token` nor `error`.
    #[error("the response has no vp_token")]
    NoVpToken,
    /// The `vp_token` is not shaped as §8.1 says (the message says how).
    #[error("the vp_token is invalid: {0}")]
    VpToken(&'static str),
    /// The `vp_token` does not answer the request's DCQL query.
    #[error("the vp_token does not answer the request's credential query")]
    Unanswered,
}

/// What the wallet sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationResponse {
    /// Presentations: `(credential query id, presentations)`, in the order received.
    Presentations {
        /// `vp_token`.
        vp_token: Vec<(String, Vec<String>)>,
        /// `state`, if the payload carries it.
        state: Option<String>,
    },
    /// An error response (§8.5): the wallet or the user declined.
    Error {
        /// `error`.
        error: String,
        /// `error_description`, cut to 200 characters.
        description: Option<String>,
        /// `state`.
        state: Option<String>,
    },
}

impl AuthorizationResponse {
    /// Reads a decrypted response payload (or the form fields of an unencrypted one, as JSON).
    pub fn parse(bytes: &[u8]) -> Result<Self, ResponseError> {
        let object =
            json::parse_object(bytes, MAX_JSON_DEPTH).map_err(|_| ResponseError::Malformed)?;
        Self::from_object(&object)
    }

    /// Reads the response's members.
    pub fn from_object(object: &Map<String, Value>) -> Result<Self, ResponseError> {
        let state = object
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(error) = object.get("error") {
            let error = error.as_str().ok_or(ResponseError::Malformed)?;
            return Ok(Self::Error {
                error: error.chars().take(64).collect(),
                description: object
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(|d| d.chars().take(200).collect()),
                state,
            });
        }
        let token = match object.get("vp_token") {
            None => return Err(ResponseError::NoVpToken),
            Some(Value::Object(token)) => token.clone(),
            // A form-encoded response carries the object as a JSON string (§8.2).
            Some(Value::String(text)) => json::parse_object(text.as_bytes(), MAX_JSON_DEPTH)
                .map_err(|_| ResponseError::VpToken("not a JSON object"))?,
            Some(_) => return Err(ResponseError::VpToken("not a JSON object")),
        };
        let mut vp_token = Vec::with_capacity(token.len());
        for (id, presentations) in token {
            let Value::Array(items) = presentations else {
                return Err(ResponseError::VpToken("an entry is not an array"));
            };
            if items.is_empty() {
                return Err(ResponseError::VpToken("an entry is an empty array"));
            }
            let items = items
                .into_iter()
                .map(|p| match p {
                    Value::String(s) => Ok(s),
                    _ => Err(ResponseError::VpToken(
                        "an SD-JWT presentation is not a string",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            vp_token.push((id, items));
        }
        Ok(Self::Presentations { vp_token, state })
    }

    /// The response's `state`.
    pub fn state(&self) -> Option<&str> {
        match self {
            Self::Presentations { state, .. } | Self::Error { state, .. } => state.as_deref(),
        }
    }
}

/// Checks that `vp_token` answers `query` (§8.1, §6.4.2): every key a credential query id, one
/// presentation per query unless it allows `multiple`, and the set of answered queries one the
/// query is satisfied by.
pub fn check_answers(
    query: &DcqlQuery,
    vp_token: &[(String, Vec<String>)],
) -> Result<(), ResponseError> {
    for (id, presentations) in vp_token {
        let credential = query
            .credential(id)
            .ok_or(ResponseError::VpToken("an entry names no credential query"))?;
        if presentations.len() > 1 && !credential.multiple {
            return Err(ResponseError::VpToken(
                "more than one presentation for a single query",
            ));
        }
    }
    let answered: Vec<&str> = vp_token.iter().map(|(id, _)| id.as_str()).collect();
    if !query.is_satisfied_by(&answered) {
        return Err(ResponseError::Unanswered);
    }
    Ok(())
}

/// The JSON payload a wallet encrypts: `{"vp_token": {...}, "state": ...}`.
pub fn response_payload(vp_token: &[(String, Vec<String>)], state: &str) -> Vec<u8> {
    let token: Map<String, Value> = vp_token
        .iter()
        .map(|(id, p)| (id.clone(), json!(p)))
        .collect();
    json!({ "vp_token": token, "state": state })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_presentations_and_errors() {
        let payload = response_payload(&[("worker_id".into(), vec!["a~b~kb".into()])], "st");
        let read = AuthorizationResponse::parse(&payload).expect("valid");
        assert_eq!(
            read,
            AuthorizationResponse::Presentations {
                vp_token: vec![("worker_id".into(), vec!["a~b~kb".into()])],
                state: Some("st".into())
            }
        );
        let error = AuthorizationResponse::parse(br#"{"error":"access_denied","state":"st"}"#)
            .expect("error");
        assert_eq!(error.state(), Some("st"));
        assert!(
            matches!(error, AuthorizationResponse::Error { ref error, .. } if error == "access_denied")
        );
        // §8.2: a form post carries vp_token as a JSON string.
        let form = AuthorizationResponse::parse(br#"{"vp_token":"{\"w\":[\"x\"]}"}"#)
            .expect("string form");
        assert!(
            matches!(form, AuthorizationResponse::Presentations { ref vp_token, .. } if vp_token[0].0 == "w")
        );
    }

    #[test]
    fn malformed_tokens_are_refused_with_the_rule() {
        for (payload, expected) in [
            (&b"[]"[..], ResponseError::Malformed),
            (br#"{"state":"s"}"#, ResponseError::NoVpToken),
            (
                br#"{"vp_token":["x"]}"#,
                ResponseError::VpToken("not a JSON object"),
            ),
            (
                br#"{"vp_token":{"w":"x"}}"#,
                ResponseError::VpToken("an entry is not an array"),
            ),
            (
                br#"{"vp_token":{"w":[]}}"#,
                ResponseError::VpToken("an entry is an empty array"),
            ),
            (
                br#"{"vp_token":{"w":[{"a":1}]}}"#,
                ResponseError::VpToken("an SD-JWT presentation is not a string"),
            ),
        ] {
            assert_eq!(AuthorizationResponse::parse(payload), Err(expected));
        }
    }

    #[test]
    fn answers_must_match_the_query() {
        let query = DcqlQuery::single("worker_id", &["urn:w"], &[]);
        let one = |id: &str, n: usize| vec![(id.to_owned(), vec!["p".to_owned(); n])];
        assert_eq!(check_answers(&query, &one("worker_id", 1)), Ok(()));
        assert_eq!(
            check_answers(&query, &one("worker_id", 2)),
            Err(ResponseError::VpToken(
                "more than one presentation for a single query"
            ))
        );
        assert_eq!(
            check_answers(&query, &one("other", 1)),
            Err(ResponseError::VpToken("an entry names no credential query"))
        );
        assert_eq!(check_answers(&query, &[]), Err(ResponseError::Unanswered));
    }
}
