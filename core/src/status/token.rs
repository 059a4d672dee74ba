//! The Status List Token in JWT format (draft §5.1): signing, and verification per §8.3.

use serde_json::{Map, Value};

use super::{StatusBits, StatusError, StatusList, StatusTokenError};
use crate::jose::VerifyEverySignature;
use crate::jose::{sign_compact, Algorithm, CompactJws, JwsError, PublicKey, SignError, Signer};
use crate::time::numeric_date;
use crate::trust::resolver::verify_with_candidates;
use crate::trust::IssuerResolver;

/// The JWT `typ` of a Status List Token.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";

/// How far in the future a token's `iat` may be (clock skew between issuer and verifier).
pub const IAT_LEEWAY_SECS: u64 = 60;

/// JSON nesting allowed in a Status List Token's header and payload.
const MAX_JSON_DEPTH: usize = 16;

/// The claims of a Status List Token to sign, besides the list itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusTokenClaims {
    /// `sub`: the URI the token is published at, equal to the credentials' `status_list.uri`.
    pub uri: String,
    /// `iat`: when the token is issued (unix seconds).
    pub iat: u64,
    /// `exp`: when the token stops being usable (RECOMMENDED).
    pub exp: Option<u64>,
    /// `ttl`: seconds a consumer may cache the token before fetching again (RECOMMENDED).
    pub ttl: Option<u64>,
    /// `iss`, if the token names its issuer.
    pub iss: Option<String>,
    /// `status_list.aggregation_uri` (draft §9.2), if any.
    pub aggregation_uri: Option<String>,
}

impl StatusTokenClaims {
    /// Claims with only the required `sub` and `iat`.
    pub fn new(uri: impl Into<String>, iat: u64) -> Self {
        Self {
            uri: uri.into(),
            iat,
            exp: None,
            ttl: None,
            iss: None,
            aggregation_uri: None,
        }
    }

    /// Sets `exp`.
    pub fn expires_at(mut self, exp: u64) -> Self {
        self.exp = Some(exp);
        self
    }

    /// Sets `ttl` (seconds).
    pub fn ttl(mut self, ttl: u64) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets `iss`.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }
}

/// Signs `list` as a Status List Token (`typ` `statuslist+jwt`), compressing it at the best level.
pub fn sign_status_list_token(
    list: &StatusList,
    claims: &StatusTokenClaims,
    signer: &dyn Signer,
) -> Result<String, SignError> {
    let mut status_list = Map::new();
    status_list.insert("bits".to_owned(), Value::from(list.bits().get()));
    status_list.insert("lst".to_owned(), Value::String(list.to_lst()));
    if let Some(uri) = &claims.aggregation_uri {
        status_list.insert("aggregation_uri".to_owned(), Value::String(uri.clone()));
    }
    let mut payload = Map::new();
    if let Some(iss) = &claims.iss {
        payload.insert("iss".to_owned(), Value::String(iss.clone()));
    }
    payload.insert("sub".to_owned(), Value::String(claims.uri.clone()));
    payload.insert("iat".to_owned(), Value::from(claims.iat));
    if let Some(exp) = claims.exp {
        payload.insert("exp".to_owned(), Value::from(exp));
    }
    if let Some(ttl) = claims.ttl {
        payload.insert("ttl".to_owned(), Value::from(ttl));
    }
    payload.insert("status_list".to_owned(), Value::Object(status_list));
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(STATUS_LIST_TYP.to_owned()));
    sign_compact(header, &payload, signer)
}

/// A Status List Token whose signature and claims were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStatusList {
    uri: String,
    iss: Option<String>,
    iat: u64,
    exp: Option<u64>,
    ttl: Option<u64>,
    aggregation_uri: Option<String>,
    list: StatusList,
}

impl VerifiedStatusList {
    /// The token's `sub`: the list's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }
    /// The token's `iss`, if it has one.
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }
    /// When the token was issued.
    pub fn iat(&self) -> u64 {
        self.iat
    }
    /// When the token expires, if it says.
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }
    /// The token's `ttl` in seconds, if any.
    pub fn ttl(&self) -> Option<u64> {
        self.ttl
    }
    /// `status_list.aggregation_uri`, if any (accepted, not followed).
    pub fn aggregation_uri(&self) -> Option<&str> {
        self.aggregation_uri.as_deref()
    }
    /// The decoded list.
    pub fn list(&self) -> &StatusList {
        &self.list
    }
    /// Whether `exp` has passed at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.exp.is_some_and(|exp| now >= exp)
    }
    /// When a fresh copy is due, for a token fetched at `fetched_at` (draft §13.7): `fetched_at +
    /// ttl` when there is a `ttl`, else `exp`, else `None` (the caller's own policy applies).
    /// Never later than `exp`.
    pub fn refresh_due_at(&self, fetched_at: u64) -> Option<u64> {
        let by_ttl = self.ttl.map(|ttl| fetched_at.saturating_add(ttl));
        match (by_ttl, self.exp) {
            (Some(t), Some(exp)) => Some(t.min(exp)),
            (t, exp) => t.or(exp),
        }
    }
}

/// Verifies a Status List Token with a key chosen by `resolver` from the token's `iss` and
/// header, for a credential referencing `expected_uri`, at time `now`.
pub fn verify_status_list_token(
    token: &str,
    resolver: &dyn IssuerResolver,
    expected_uri: &str,
    now: u64,
    allowed_algs: &[Algorithm],
) -> Result<VerifiedStatusList, StatusTokenError> {
    verify(
        token,
        KeySource::Resolver(resolver),
        expected_uri,
        now,
        allowed_algs,
    )
}

/// Verifies a Status List Token with one known key (whatever its `kid` or `iss`).
pub fn verify_status_list_token_with_key(
    token: &str,
    key: &PublicKey,
    expected_uri: &str,
    now: u64,
    allowed_algs: &[Algorithm],
) -> Result<VerifiedStatusList, StatusTokenError> {
    verify(token, KeySource::Key(key), expected_uri, now, allowed_algs)
}

enum KeySource<'a> {
    Key(&'a PublicKey),
    Resolver(&'a dyn IssuerResolver),
}

fn verify(
    token: &str,
    keys: KeySource<'_>,
    expected_uri: &str,
    now: u64,
    allowed_algs: &[Algorithm],
) -> Result<VerifiedStatusList, StatusTokenError> {
    let jws = CompactJws::parse(token, MAX_JSON_DEPTH).map_err(StatusTokenError::Malformed)?;
    let payload = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(StatusTokenError::Payload)?;
    // `iss` is read before the signature is checked only to choose the key.
    let iss = payload.get("iss").and_then(Value::as_str);
    let signature = |e: JwsError| match e {
        JwsError::AlgNotAllowed => StatusTokenError::AlgNotAllowed,
        _ => StatusTokenError::Signature,
    };
    match keys {
        KeySource::Key(key) => jws.verify(key, allowed_algs).map_err(signature)?,
        KeySource::Resolver(resolver) => {
            verify_with_candidates(&jws, iss, resolver, allowed_algs, &VerifyEverySignature)
                .map_err(|e| match e {
                    Ok(resolve) => StatusTokenError::Key(resolve),
                    Err(e) => signature(e),
                })?;
        }
    }
    if jws.header.typ.as_deref() != Some(STATUS_LIST_TYP) {
        return Err(StatusTokenError::Typ);
    }
    let sub = payload
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(StatusTokenError::MissingSub)?;
    if sub != expected_uri {
        return Err(StatusTokenError::SubMismatch);
    }
    let iat = payload
        .get("iat")
        .and_then(numeric_date)
        .ok_or(StatusTokenError::MissingIat)?;
    if iat > now.saturating_add(IAT_LEEWAY_SECS) {
        return Err(StatusTokenError::IssuedInFuture { iat, now });
    }
    let exp = match payload.get("exp") {
        None => None,
        Some(v) => Some(numeric_date(v).ok_or(StatusTokenError::InvalidExp)?),
    };
    if let Some(exp) = exp {
        if now >= exp {
            return Err(StatusTokenError::Expired { exp, now });
        }
    }
    let ttl = match payload.get("ttl") {
        None => None,
        Some(v) => Some(positive_seconds(v).ok_or(StatusTokenError::InvalidTtl)?),
    };
    let (list, aggregation_uri) = decode_status_list_claim(payload.get("status_list"))?;
    Ok(VerifiedStatusList {
        uri: sub.to_owned(),
        iss: iss.map(str::to_owned),
        iat,
        exp,
        ttl,
        aggregation_uri,
        list,
    })
}

/// Decodes the `status_list` claim (draft §4.2).
fn decode_status_list_claim(
    claim: Option<&Value>,
) -> Result<(StatusList, Option<String>), StatusTokenError> {
    let object = claim
        .and_then(Value::as_object)
        .ok_or(StatusTokenError::InvalidStatusList)?;
    let aggregation_uri = match object.get("aggregation_uri") {
        None => None,
        Some(Value::String(uri)) => Some(uri.clone()),
        Some(_) => return Err(StatusTokenError::InvalidStatusList),
    };
    let bits = object
        .get("bits")
        .and_then(Value::as_u64)
        .and_then(|b| u8::try_from(b).ok())
        .and_then(|b| StatusBits::try_from(b).ok())
        .ok_or(StatusTokenError::Bits)?;
    let lst = object
        .get("lst")
        .and_then(Value::as_str)
        .ok_or(StatusTokenError::Lst(StatusError::Encoding(
            "`lst` is missing or not a string",
        )))?;
    let list = StatusList::from_lst(bits, lst).map_err(StatusTokenError::Lst)?;
    Ok((list, aggregation_uri))
}

/// A positive number of seconds (`ttl`), fractions rounded up so it stays positive.
fn positive_seconds(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return (n > 0).then_some(n);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f > 0.0 && f < u64::MAX as f64).then_some(f.ceil() as u64)
}
