//! The Authorization Request (OpenID4VP 1.0 §5): the signed request object a verifier serves at
//! its `request_uri`, and the `openid4vp://` link (QR code) that points to it.
//!
//! govid's verifiers use the `decentralized_identifier` Client Identifier Prefix (§5.9.3) with a
//! did:web DID: the request object is signed (`typ` `oauth-authz-req+jwt`) by a key of the
//! DID document, named by the JWS `kid`. The response comes back encrypted (`direct_post.jwt`,
//! §8.3.1) to an ephemeral key in `client_metadata.jwks`.
//!
//! A wallet reads the link ([`Invocation::parse`]), fetches the request object, learns which
//! DID to resolve ([`peek_client_id`]), and checks everything with [`verify_request_object`]:
//! the signature by a key of that DID's document, `client_id` as in the link, freshness,
//! `response_type`, `response_mode`, a `response_uri` on the verifier's own host, a P-256
//! encryption key, a DCQL query it understands, and no `transaction_data` (not supported, so
//! refused as §5.1 requires).

use serde_json::{json, Map, Value};

use super::dcql::{DcqlError, DcqlQuery};
use crate::did::{did_web_to_url, DidDocument};
use crate::jose::{sign_compact, Algorithm, CompactJws, SignError, Signer};
use crate::time::numeric_date;
use crate::url::{query_pairs, HttpUrl};

/// `typ` of a request object (RFC 9101, §5).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// The media type a `request_uri` answers with.
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

/// The Client Identifier Prefix for DIDs (§5.9.3).
pub const DID_CLIENT_ID_PREFIX: &str = "decentralized_identifier:";

/// The response mode govid uses: `direct_post` with an encrypted response (§8.3.1).
pub const DIRECT_POST_JWT: &str = "direct_post.jwt";

/// `aud` of a request object under static discovery (§5.8).
pub const STATIC_DISCOVERY_AUD: &str = "https://self-issued.me/v2";

/// The custom scheme of wallet invocation (§13.1.2 static configuration).
pub const OPENID4VP_SCHEME: &str = "openid4vp://";

/// Longest request object accepted, in bytes.
pub const MAX_REQUEST_OBJECT_LEN: usize = 64 * 1024;

/// Oldest request object (by `iat`) a wallet takes, in seconds, when it has no `exp`.
pub const MAX_REQUEST_AGE_SECS: u64 = 600;

/// Clock skew allowed on `iat` and `exp`, in seconds.
const SKEW_SECS: u64 = 30;

/// JSON nesting allowed in a request object.
const MAX_JSON_DEPTH: usize = 12;

/// Why an Authorization Request was refused. On the wire each is `invalid_request` (§8.5),
/// except [`RequestError::Dcql`] with an unsupported format (`vp_formats_not_supported`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The link is not `openid4vp://?client_id=…&request_uri=…`.
    #[error("not an OpenID4VP request link: {0}")]
    Link(&'static str),
    /// The request object is not signed (`alg` `none`, or not a JWS at all).
    #[error("the request is not signed")]
    Unsigned,
    /// The request object is not a compact JWS or its payload not a JSON object.
    #[error("the request object is malformed")]
    Malformed,
    /// `typ` is not `oauth-authz-req+jwt`.
    #[error("the request object's typ is not oauth-authz-req+jwt")]
    Typ,
    /// The `client_id` does not use the `decentralized_identifier` prefix with a did:web DID.
    #[error("the verifier's client_id is not a did:web decentralized_identifier")]
    ClientIdPrefix,
    /// The request object's `client_id` differs from the link's.
    #[error("the request object's client_id differs from the link's")]
    ClientIdMismatch,
    /// The JWS `kid` names no verification method of the verifier's DID document.
    #[error("the request is signed by a key that is not in the verifier's DID document")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the request's signature does not verify")]
    BadSignature,
    /// Past its `exp`, or its `iat` is too old or in the future.
    #[error("the request has expired")]
    Expired,
    /// A required member is missing or malformed (named).
    #[error("the request's {0} is missing or invalid")]
    Member(&'static str),
    /// `response_type` is not `vp_token`, or `response_mode` not `direct_post.jwt`.
    #[error("the request asks for an unsupported response type or mode")]
    ResponseMode,
    /// `response_uri` is not an https URL on the verifier's DID host.
    #[error("the response_uri is not on the verifier's host")]
    ResponseUri,
    /// `client_metadata` has no P-256 ECDH-ES key or no supported `enc`.
    #[error("the request has no usable encryption key")]
    Encryption,
    /// `transaction_data` is present (not supported, so refused: §5.1).
    #[error("transaction_data is not supported")]
    TransactionData,
    /// The DCQL query was refused.
    #[error(transparent)]
    Dcql(#[from] DcqlError),
}

impl RequestError {
    /// The OpenID4VP error code (§8.5) a wallet may send for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Dcql(DcqlError::UnsupportedFormat(_)) => "vp_formats_not_supported",
            RequestError::TransactionData => "invalid_transaction_data",
            _ => "invalid_request",
        }
    }
}

/// The wallet invocation link (§5, §13.1): `openid4vp://?client_id=…&request_uri=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// `client_id`, with its prefix.
    pub client_id: String,
    /// `request_uri`.
    pub request_uri: String,
}

impl Invocation {
    /// The link text (any scheme prefix the verifier chose, e.g. `openid4vp://`).
    pub fn to_uri(&self, scheme: &str) -> String {
        format!(
            "{scheme}?client_id={}&request_uri={}",
            crate::url::form_encode(&self.client_id),
            crate::url::form_encode(&self.request_uri)
        )
    }

    /// Reads a link: any scheme, the query's `client_id` and `request_uri` (each once);
    /// `request_uri_method`, if present, must be `get`. A link carrying the request by value
    /// (no `request_uri`) is refused: govid requires signed requests.
    pub fn parse(link: &str) -> Result<Self, RequestError> {
        if link.len() > 4096 {
            return Err(RequestError::Link("longer than 4096 characters"));
        }
        let query = link
            .split_once('?')
            .map(|(_, q)| q)
            .ok_or(RequestError::Link("no query"))?;
        let pairs = query_pairs(query).map_err(|_| RequestError::Link("bad percent-encoding"))?;
        let one = |name: &'static str| -> Result<Option<String>, RequestError> {
            let mut values = pairs
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone());
            let first = values.next();
            if values.next().is_some() {
                return Err(RequestError::Link("a parameter appears twice"));
            }
            Ok(first)
        };
        let client_id = one("client_id")?.ok_or(RequestError::Link("no client_id"))?;
        let request_uri = one("request_uri")?.ok_or(RequestError::Link(
            "no request_uri (requests by value are not accepted: they cannot be signed)",
        ))?;
        match one("request_uri_method")?.as_deref() {
            None | Some("get") => {}
            Some(_) => return Err(RequestError::Link("request_uri_method must be get")),
        }
        HttpUrl::parse(&request_uri).map_err(|_| RequestError::Link("request_uri is not https"))?;
        Ok(Self {
            client_id,
            request_uri,
        })
    }
}

/// The DID of a `decentralized_identifier:did:web:…` client id, checked to be a did:web DID.
pub fn client_did(client_id: &str) -> Result<&str, RequestError> {
    let did = client_id
        .strip_prefix(DID_CLIENT_ID_PREFIX)
        .ok_or(RequestError::ClientIdPrefix)?;
    did_web_to_url(did).map_err(|_| RequestError::ClientIdPrefix)?;
    Ok(did)
}

/// The `host[:port]` a did:web DID's document lives on (the verifier's host).
pub fn did_web_authority(did: &str) -> Result<String, RequestError> {
    let url = did_web_to_url(did).map_err(|_| RequestError::ClientIdPrefix)?;
    HttpUrl::parse(&url)
        .map(|u| u.authority)
        .map_err(|_| RequestError::ClientIdPrefix)
}

/// An Authorization Request as govid makes and reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationRequest {
    /// `client_id`, with its prefix.
    pub client_id: String,
    /// `response_uri`.
    pub response_uri: String,
    /// `nonce`: ≥ 128 bits, URL-safe characters.
    pub nonce: String,
    /// `state`.
    pub state: String,
    /// `dcql_query`.
    pub dcql_query: DcqlQuery,
    /// The public response encryption key (`client_metadata.jwks.keys[0]`).
    pub encryption_jwk: Value,
    /// `client_metadata.encrypted_response_enc_values_supported` (default `A128GCM`).
    pub enc_values: Vec<String>,
    /// `client_metadata.client_name`: the name the verifier gives itself (not verified; the
    /// verified part is the DID's host).
    pub client_name: Option<String>,
    /// `iat`.
    pub iat: u64,
    /// `exp`; `None` when the request object had none.
    pub exp: Option<u64>,
}

/// `nonce` and `state` values: ASCII URL-safe characters (§5.2).
fn is_url_safe(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 512
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl AuthorizationRequest {
    /// The request object's claims.
    pub fn to_claims(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        metadata.insert("jwks".into(), json!({ "keys": [self.encryption_jwk] }));
        metadata.insert(
            "encrypted_response_enc_values_supported".into(),
            json!(self.enc_values),
        );
        metadata.insert(
            "vp_formats_supported".into(),
            json!({"dc+sd-jwt": {
                "sd-jwt_alg_values": ["ES256", "EdDSA"],
                "kb-jwt_alg_values": ["ES256", "EdDSA"]
            }}),
        );
        if let Some(name) = &self.client_name {
            metadata.insert("client_name".into(), Value::String(name.clone()));
        }
        let mut claims = Map::new();
        claims.insert("aud".into(), json!(STATIC_DISCOVERY_AUD));
        claims.insert("iat".into(), json!(self.iat));
        if let Some(exp) = self.exp {
            claims.insert("exp".into(), json!(exp));
        }
        claims.insert("client_id".into(), json!(self.client_id));
        claims.insert("response_type".into(), json!("vp_token"));
        claims.insert("response_mode".into(), json!(DIRECT_POST_JWT));
        claims.insert("response_uri".into(), json!(self.response_uri));
        claims.insert("nonce".into(), json!(self.nonce));
        claims.insert("state".into(), json!(self.state));
        claims.insert("dcql_query".into(), self.dcql_query.to_value());
        claims.insert("client_metadata".into(), Value::Object(metadata));
        claims
    }

    /// The signed request object. `signer`'s `kid` must be the DID URL of its verification
    /// method in the client's DID document.
    pub fn sign(&self, signer: &dyn Signer) -> Result<String, SignError> {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(REQUEST_OBJECT_TYP.into()));
        sign_compact(header, &self.to_claims(), signer)
    }

    /// Reads request object claims (after the signature was checked).
    fn from_claims(claims: &Map<String, Value>) -> Result<Self, RequestError> {
        let text = |name: &'static str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(RequestError::Member(name))
        };
        if claims.contains_key("transaction_data") {
            return Err(RequestError::TransactionData);
        }
        if claims.get("response_type").and_then(Value::as_str) != Some("vp_token")
            || claims.get("response_mode").and_then(Value::as_str) != Some(DIRECT_POST_JWT)
        {
            return Err(RequestError::ResponseMode);
        }
        // §8.2: with direct_post, `redirect_uri` MUST NOT be present.
        if claims.contains_key("redirect_uri") {
            return Err(RequestError::Member(
                "redirect_uri (not allowed with direct_post)",
            ));
        }
        if claims.contains_key("scope") && claims.contains_key("dcql_query") {
            return Err(RequestError::Member("dcql_query (with scope)"));
        }
        let nonce = text("nonce")?;
        if !is_url_safe(&nonce) {
            return Err(RequestError::Member("nonce"));
        }
        let state = text("state")?;
        if !is_url_safe(&state) {
            return Err(RequestError::Member("state"));
        }
        let dcql_query = DcqlQuery::parse(
            claims
                .get("dcql_query")
                .ok_or(RequestError::Member("dcql_query"))?,
        )?;
        let metadata = claims
            .get("client_metadata")
            .and_then(Value::as_object)
            .ok_or(RequestError::Encryption)?;
        let jwks = metadata.get("jwks").ok_or(RequestError::Encryption)?;
        let encryption_jwk = select_encryption_key(jwks)?;
        let enc_values = match metadata.get("encrypted_response_enc_values_supported") {
            None => vec!["A128GCM".to_owned()],
            Some(Value::Array(values)) if !values.is_empty() => values
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or(RequestError::Encryption)
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(RequestError::Encryption),
        };
        if !enc_values.iter().any(|e| e == "A128GCM" || e == "A256GCM") {
            return Err(RequestError::Encryption);
        }
        let time = |name: &'static str| match claims.get(name) {
            None => Ok(None),
            Some(v) => numeric_date(v).map(Some).ok_or(RequestError::Member(name)),
        };
        Ok(Self {
            client_id: text("client_id")?,
            response_uri: text("response_uri")?,
            nonce,
            state,
            dcql_query,
            encryption_jwk,
            enc_values,
            client_name: metadata
                .get("client_name")
                .and_then(Value::as_str)
                .map(|s| s.chars().take(200).collect()),
            iat: time("iat")?.unwrap_or(0),
            exp: time("exp")?,
        })
    }

    /// The `enc` a wallet uses: `A256GCM` when offered (HAIP 1.0 §5), else `A128GCM`.
    pub fn preferred_enc(&self) -> &'static str {
        if self.enc_values.iter().any(|e| e == "A256GCM") {
            "A256GCM"
        } else {
            "A128GCM"
        }
    }
}

/// Whether `jwk` is a key a response can be encrypted to (§8.3, HAIP 1.0 §5): a public P-256
/// key for `ECDH-ES`, `use` absent or `enc`, with a `kid` (the JWE names it) and its `x`, `y`.
pub fn is_response_encryption_key(jwk: &Map<String, Value>) -> bool {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    text("kty") == Some("EC")
        && text("crv") == Some("P-256")
        && text("alg") == Some("ECDH-ES")
        && text("use").is_none_or(|u| u == "enc")
        && text("kid").is_some()
        && text("x").is_some()
        && text("y").is_some()
        && !jwk.contains_key("d")
}

/// The first key of `jwks` a response can be encrypted to ([`is_response_encryption_key`]).
fn select_encryption_key(jwks: &Value) -> Result<Value, RequestError> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .ok_or(RequestError::Encryption)?
        .iter()
        .find(|k| k.as_object().is_some_and(is_response_encryption_key))
        .cloned()
        .ok_or(RequestError::Encryption)
}

/// The `client_id` claim of a request object and the JWS `kid`, read WITHOUT checking the
/// signature: so the wallet knows which DID document to resolve first.
pub fn peek_client_id(request_object: &str) -> Result<(String, String), RequestError> {
    let jws = parse_jws(request_object)?;
    let claims = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(|_| RequestError::Malformed)?;
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or(RequestError::Member("client_id"))?;
    let kid = jws.header.kid.clone().ok_or(RequestError::UnknownKey)?;
    Ok((client_id.to_owned(), kid))
}

fn parse_jws(request_object: &str) -> Result<CompactJws<'_>, RequestError> {
    use crate::jose::JwsError;
    if request_object.len() > MAX_REQUEST_OBJECT_LEN {
        return Err(RequestError::Malformed);
    }
    // An unsigned request object (`alg: none`, RFC 9101 allows it) ends in an empty signature.
    match CompactJws::parse(request_object, MAX_JSON_DEPTH) {
        Ok(jws) if jws.signature.is_empty() => Err(RequestError::Unsigned),
        Ok(jws) => Ok(jws),
        Err(JwsError::AlgNone | JwsError::MissingAlg) => Err(RequestError::Unsigned),
        Err(_) if request_object.split('.').count() != 3 => Err(RequestError::Unsigned),
        Err(_) => Err(RequestError::Malformed),
    }
}

/// Checks a request object fetched for `invocation` against the verifier's DID `document`
/// (resolved by the caller for [`client_did`] of the link's `client_id`), at `now`.
pub fn verify_request_object(
    request_object: &str,
    invocation: &Invocation,
    document: &DidDocument,
    now: u64,
) -> Result<AuthorizationRequest, RequestError> {
    let did = client_did(&invocation.client_id)?;
    let jws = parse_jws(request_object)?;
    if jws.header.typ.as_deref() != Some(REQUEST_OBJECT_TYP) {
        return Err(RequestError::Typ);
    }
    if document.id() != did {
        return Err(RequestError::UnknownKey);
    }
    let kid = jws.header.kid.as_deref().ok_or(RequestError::UnknownKey)?;
    let absolute = match kid.strip_prefix('#') {
        Some(fragment) => format!("{did}#{fragment}"),
        None => kid.to_owned(),
    };
    let method = document
        .verification_methods()
        .iter()
        .find(|m| m.id == absolute)
        .ok_or(RequestError::UnknownKey)?;
    jws.verify(&method.key, &[Algorithm::ES256, Algorithm::EdDSA])
        .map_err(|_| RequestError::BadSignature)?;
    let claims = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(|_| RequestError::Malformed)?;
    let request = AuthorizationRequest::from_claims(&claims)?;
    if request.client_id != invocation.client_id {
        return Err(RequestError::ClientIdMismatch);
    }
    // Fresh: before `exp`; without one, `iat` no older than MAX_REQUEST_AGE_SECS; never from
    // the future.
    if request.iat > now.saturating_add(SKEW_SECS) {
        return Err(RequestError::Expired);
    }
    match request.exp {
        Some(exp) if now > exp.saturating_add(SKEW_SECS) => return Err(RequestError::Expired),
        Some(_) => {}
        None if request.iat == 0 => return Err(RequestError::Member("exp")),
        None if now > request.iat.saturating_add(MAX_REQUEST_AGE_SECS) => {
            return Err(RequestError::Expired)
        }
        None => {}
    }
    // The response goes to the verifier's own host: the DID's (§5.9.3 leaves the response_uri
    // to client_metadata; binding it to the DID's host keeps a copied request from sending the
    // presentation elsewhere).
    let response = HttpUrl::parse(&request.response_uri).map_err(|_| RequestError::ResponseUri)?;
    if response.scheme != "https" || response.authority != did_web_authority(did)? {
        return Err(RequestError::ResponseUri);
    }
    Ok(request)
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::did::did_web_document;
    use crate::jose::{SoftwareSigner, WithKeyId};
    use crate::sdjwt::ClaimPath;
    use rand_chacha::rand_core::SeedableRng;

    const DID: &str = "did:web:login.mot.example";

    fn fixture() -> (WithKeyId<SoftwareSigner>, DidDocument, AuthorizationRequest) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = SoftwareSigner::generate(Algorithm::ES256, &mut rng);
        let doc = did_web_document(DID, &[("key-1", key.public_key())]).expect("doc");
        let doc = DidDocument::from_value(DID, &doc).expect("doc");
        let signer = WithKeyId {
            signer: key,
            kid: format!("{DID}#key-1"),
        };
        let request = AuthorizationRequest {
            client_id: format!("{DID_CLIENT_ID_PREFIX}{DID}"),
            response_uri: "https://login.mot.example/login/response".into(),
            nonce: "n-0S6_WzA2Mj-aaaaaaaaaaaa".into(),
            state: "st-1".into(),
            dcql_query: DcqlQuery::single(
                "worker_id",
                &["urn:govid:worker-id:1"],
                &[ClaimPath::key("given_name")],
            ),
            encryption_jwk: json!({"kty": "EC", "crv": "P-256", "kid": "e1", "use": "enc",
                "alg": "ECDH-ES", "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
                "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk"}),
            enc_values: vec!["A128GCM".into(), "A256GCM".into()],
            client_name: Some("MOT intranet".into()),
            iat: 1_000,
            exp: Some(1_120),
        };
        (signer, doc, request)
    }

    fn link(request: &AuthorizationRequest) -> Invocation {
        Invocation {
            client_id: request.client_id.clone(),
            request_uri: "https://login.mot.example/login/request/abc".into(),
        }
    }

    #[test]
    fn signed_request_round_trips_through_the_link() {
        let (signer, doc, request) = fixture();
        let jws = request.sign(&signer).expect("sign");
        let uri = link(&request).to_uri(OPENID4VP_SCHEME);
        assert!(uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3A"));
        let invocation = Invocation::parse(&uri).expect("link");
        assert_eq!(invocation, link(&request));
        assert_eq!(
            peek_client_id(&jws).expect("peek"),
            (request.client_id.clone(), format!("{DID}#key-1"))
        );
        let read = verify_request_object(&jws, &invocation, &doc, 1_010).expect("valid");
        assert_eq!(read, request);
        assert_eq!(read.preferred_enc(), "A256GCM");
    }

    #[test]
    fn every_refusal_names_its_rule() {
        let (signer, doc, request) = fixture();
        let invocation = link(&request);
        let signed = |r: &AuthorizationRequest| r.sign(&signer).expect("sign");
        let check = |jws: &str| verify_request_object(jws, &invocation, &doc, 1_010);

        // Unsigned (alg none, empty signature).
        let header = crate::b64::encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
        let payload = crate::b64::encode(serde_json::to_vec(&request.to_claims()).expect("json"));
        assert_eq!(
            check(&format!("{header}.{payload}.")),
            Err(RequestError::Unsigned)
        );
        assert_eq!(check("just-text"), Err(RequestError::Unsigned));

        // Signed by a key not in the DID document.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let stranger = WithKeyId {
            signer: SoftwareSigner::generate(Algorithm::ES256, &mut rng),
            kid: format!("{DID}#key-1"),
        };
        assert_eq!(
            check(&request.sign(&stranger).expect("sign")),
            Err(RequestError::BadSignature)
        );
        let other_kid = WithKeyId {
            signer: SoftwareSigner::generate(Algorithm::ES256, &mut rng),
            kid: format!("{DID}#key-9"),
        };
        assert_eq!(
            check(&request.sign(&other_kid).expect("sign")),
            Err(RequestError::UnknownKey)
        );

        // Expired; from the future; no exp and old.
        assert_eq!(
            verify_request_object(&signed(&request), &invocation, &doc, 1_200),
            Err(RequestError::Expired)
        );
        assert_eq!(
            verify_request_object(&signed(&request), &invocation, &doc, 900),
            Err(RequestError::Expired)
        );
        let no_exp = AuthorizationRequest {
            exp: None,
            ..request.clone()
        };
        assert!(verify_request_object(&signed(&no_exp), &invocation, &doc, 1_500).is_ok());
        assert_eq!(
            verify_request_object(&signed(&no_exp), &invocation, &doc, 1_700),
            Err(RequestError::Expired)
        );

        // response_uri elsewhere, or plain http.
        for uri in [
            "https://evil.example/login/response",
            "https://login.mot.example:8443/r",
        ] {
            let moved = AuthorizationRequest {
                response_uri: uri.into(),
                ..request.clone()
            };
            assert_eq!(
                check(&signed(&moved)),
                Err(RequestError::ResponseUri),
                "{uri}"
            );
        }

        // client_id of the link differs.
        let mut elsewhere = invocation.clone();
        elsewhere.client_id = "decentralized_identifier:did:web:other.example".into();
        assert_eq!(
            verify_request_object(&signed(&request), &elsewhere, &doc, 1_010),
            Err(RequestError::UnknownKey)
        );
        let wrong_prefix = Invocation {
            client_id: format!("redirect_uri:{DID}"),
            ..invocation.clone()
        };
        assert_eq!(
            verify_request_object(&signed(&request), &wrong_prefix, &doc, 1_010),
            Err(RequestError::ClientIdPrefix)
        );

        // typ, transaction_data, response mode, encryption key.
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let wrong_typ = sign_compact(header, &request.to_claims(), &signer).expect("sign");
        assert_eq!(check(&wrong_typ), Err(RequestError::Typ));
        let with_claims = |edit: &dyn Fn(&mut Map<String, Value>)| {
            let mut claims = request.to_claims();
            edit(&mut claims);
            let mut header = Map::new();
            header.insert("typ".into(), json!(REQUEST_OBJECT_TYP));
            check(&sign_compact(header, &claims, &signer).expect("sign"))
        };
        assert_eq!(
            with_claims(&|c| {
                c.insert("transaction_data".into(), json!(["e30"]));
            }),
            Err(RequestError::TransactionData)
        );
        assert_eq!(
            with_claims(&|c| {
                c.insert("response_mode".into(), json!("direct_post"));
            }),
            Err(RequestError::ResponseMode)
        );
        assert_eq!(
            with_claims(&|c| {
                c.insert("client_metadata".into(), json!({"jwks": {"keys": []}}));
            }),
            Err(RequestError::Encryption)
        );
        assert_eq!(
            with_claims(&|c| {
                c.insert("nonce".into(), json!("not url safe!"));
            }),
            Err(RequestError::Member("nonce"))
        );
        assert_eq!(
            with_claims(&|c| {
                c.insert("dcql_query".into(), json!({"credentials": []}));
            }),
            Err(RequestError::Dcql(DcqlError::Invalid(
                "credentials must be a non-empty array"
            )))
        );
    }

    #[test]
    fn links_without_a_signed_request_are_refused() {
        for (link, rule) in [
            ("openid4vp://", "no query"),
            ("openid4vp://?request_uri=https%3A%2F%2Fa.example%2Fr", "no client_id"),
            ("openid4vp://?client_id=x&dcql_query=%7B%7D",
             "no request_uri (requests by value are not accepted: they cannot be signed)"),
            ("openid4vp://?client_id=x&client_id=y&request_uri=https%3A%2F%2Fa.example", "a parameter appears twice"),
            ("openid4vp://?client_id=x&request_uri=http%3A%2F%2Fa.example%2Fr", "request_uri is not https"),
            ("openid4vp://?client_id=x&request_uri=https%3A%2F%2Fa.example&request_uri_method=post",
             "request_uri_method must be get"),
        ] {
            assert_eq!(Invocation::parse(link), Err(RequestError::Link(rule)), "{link}");
        }
    }
}
