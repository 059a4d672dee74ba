//! Logging in with the worker ID over OpenID for Verifiable Presentations 1.0 (final):
//! `Wallet::read_presentation_request` and `Wallet::respond`, HTTP through the app's
//! [`HttpClient`]. The protocol (the link, the signed request object, DCQL, the response payload
//! and its encryption) is core's `govid_core::oid4vp`; this is the wallet around it: fetching,
//! resolving the verifier's did:web document, matching the query against the stored
//! credentials, keeping the checked request until the user decides, and answering once.
//!
//! What the app shows the user about the verifier: its **host**, from the DID in the
//! `client_id` whose document holds the key that signed the request (verified: the document
//! was fetched over HTTPS from that host), and the **name** it gives itself (`client_name`:
//! claimed, anyone can write any name, so show it as such).
//!
//! Nothing here logs, and no error quotes a nonce, a key, a presentation or a claim value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use govid_core::did::{
    did_web_to_url, DidDocument, DidError, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH,
};
use govid_core::oid4vp::dcql::resolve;
use govid_core::oid4vp::jwe::{encrypt_to, select_recipient};
use govid_core::oid4vp::request::{did_web_authority, MAX_REQUEST_AGE_SECS};
use govid_core::oid4vp::{
    client_did, peek_client_id, response_payload, verify_request_object, AuthorizationRequest,
    CredentialQuery, DcqlError, Invocation, RequestError, REQUEST_OBJECT_MEDIA_TYPE,
};
use govid_core::sdjwt::ClaimPath;
use govid_core::time::numeric_date;
use govid_core::url::{form_body, HttpUrl};
use serde_json::{json, Map, Value};

use crate::error::{guard, WalletError};
use crate::oid4vci::{cut, Http, HttpClient};
use crate::records::CredentialKind;
use crate::wallet::{claims_of, kind_of, random_token, Wallet};

/// Most login requests kept at once awaiting `respond` (read but not yet answered, or answered
/// and remembered as such until they expire).
const MAX_PENDING: usize = 16;

/// How long an answered request is remembered (so that a second `respond` says so), seconds.
const ANSWERED_MEMORY_SECS: u64 = 600;

/// A claim a verifier asks for, and what the credential would disclose for it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RequestedClaim {
    /// The claim path, slash-separated: `given_name`, `organization/name`.
    pub path: String,
    /// The value the credential would disclose, for display: a string as it is, anything
    /// else (a number, an object, an array) as JSON text.
    pub value: String,
}

/// A stored credential that answers a login request.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MatchingCredential {
    /// The credential's id (pass it to `respond`).
    pub credential_id: String,
    /// Worker ID or gate pass.
    pub kind: CredentialKind,
    /// Exactly the claims a presentation of this credential would disclose, with their values.
    pub disclosed: Vec<RequestedClaim>,
}

/// A verifier's login request, checked, for the app to ask the user: who asks, for what.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PresentationRequest {
    /// The wallet's opaque id of this checked request: pass it to `respond`.
    pub request_id: String,
    /// The verifier's host (`host[:port]`), from the DID of its `client_id`: VERIFIED (the
    /// request is signed by a key of the DID document fetched over HTTPS from this host). Show
    /// it prominently: it is who is asking.
    pub verifier_host: String,
    /// The name the verifier gives itself (`client_metadata.client_name`): CLAIMED, not
    /// verified (anyone can write any name). Show it as "calls itself …", next to the host.
    pub claimed_name: Option<String>,
    /// The verifier's `client_id`, with its prefix (`decentralized_identifier:did:web:…`).
    pub client_id: String,
    /// The claim paths asked for (slash form). With alternative claim sets, the set the first
    /// matching credential meets.
    pub requested_claims: Vec<String>,
    /// The stored credentials that answer, in the order the wallet stored them; each with the
    /// values it would disclose.
    pub credentials: Vec<MatchingCredential>,
    /// When the request expires (unix seconds): `respond` refuses it after that.
    pub expires_at: u64,
}

/// What the verifier answered to `respond`.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PresentationResponse {
    /// The HTTP status of the verifier's answer (200: received and accepted).
    pub status: u16,
    /// Whether the credential was presented (`true`) or the request declined (`false`).
    pub shared: bool,
    /// Where the verifier sends the user's browser next (`redirect_uri` of its answer), if
    /// anywhere: open it in the browser for a same-device login.
    pub redirect_uri: Option<String>,
    /// The verifier's `error` code when it refused (HTTP 4xx/5xx), cut to 64 characters.
    pub error: Option<String>,
    /// The verifier's `error_description`, cut to 200 characters.
    pub error_description: Option<String>,
}

/// A checked request awaiting `respond`.
#[derive(Clone)]
struct Pending {
    request: AuthorizationRequest,
    /// The DCQL credential query the presentation answers.
    query_id: String,
    /// The matching credentials and the claims each discloses.
    matches: Vec<(String, Vec<ClaimPath>)>,
    verifier_host: String,
    expires_at: u64,
    /// The app's client that read the request: `respond` posts through it.
    http: Arc<dyn HttpClient>,
    /// An answer is being sent (another `respond` waits for none: it is refused).
    answering: bool,
    answered: bool,
}

/// The requests read and not yet answered (or answered, remembered as such for a while).
#[derive(Default)]
pub(crate) struct PendingLogins {
    requests: Mutex<HashMap<String, Pending>>,
}

impl PendingLogins {
    fn insert(&self, id: String, pending: Pending, now: u64) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        requests.retain(|_, p| p.expires_at.saturating_add(ANSWERED_MEMORY_SECS) > now);
        while requests.len() >= MAX_PENDING {
            let oldest = requests
                .iter()
                .filter(|(_, p)| !p.answering)
                .min_by_key(|(_, p)| (!p.answered, p.expires_at))
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => requests.remove(&id),
                None => break,
            };
        }
        requests.insert(id, pending);
    }

    /// The request, marked as being answered; [`PendingLogins::finish`] marks it answered, or
    /// open again after a failure to reach the verifier.
    fn start_answer(&self, id: &str, now: u64) -> Result<Pending, WalletError> {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        match requests.get_mut(id) {
            None => Err(refused(
                "unknown_request",
                "no login request with this id (read it with readPresentationRequest first; \
                 requests are forgotten when the wallet is closed)",
            )),
            Some(p) if p.answered || p.answering => Err(refused(
                "already_answered",
                format!(
                    "this login request from {} was already answered; scan a new one",
                    p.verifier_host
                ),
            )),
            Some(p) if now > p.expires_at => Err(refused(
                "expired",
                format!(
                    "the login request from {} has expired; nothing was sent, scan a new one",
                    p.verifier_host
                ),
            )),
            Some(p) => {
                p.answering = true;
                Ok(p.clone())
            }
        }
    }

    fn finish(&self, id: &str, answered: bool) {
        if let Some(p) = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(id)
        {
            p.answering = false;
            p.answered = answered;
        }
    }
}

fn refused(rule: &str, reason: impl Into<String>) -> WalletError {
    WalletError::InvalidPresentationRequest {
        rule: rule.to_owned(),
        reason: reason.into(),
    }
}

/// core's refusal of a request as the app's error; `host` is the verifier's, when known.
fn request_error(e: RequestError, host: Option<&str>) -> WalletError {
    let rule = match &e {
        RequestError::Link(_) => "bad_link",
        RequestError::Unsigned => "unsigned",
        RequestError::Malformed => "malformed",
        RequestError::Typ => "typ",
        RequestError::ClientIdPrefix => "client_id",
        RequestError::ClientIdMismatch => "client_id_mismatch",
        RequestError::UnknownKey => "unknown_key",
        RequestError::BadSignature => "bad_signature",
        RequestError::Expired => "expired",
        RequestError::Member(_) => "invalid_member",
        RequestError::ResponseMode => "response_mode",
        RequestError::ResponseUri => "response_uri",
        RequestError::Encryption => "encryption",
        RequestError::TransactionData => "transaction_data",
        RequestError::Dcql(DcqlError::UnsupportedFormat(_)) => "unsupported_format",
        RequestError::Dcql(_) => "dcql",
        _ => "invalid_request",
    };
    let reason = match host {
        Some(host) => format!("{e} (verifier {host})"),
        None => e.to_string(),
    };
    refused(rule, reason)
}

/// The `host[:port]` of `url`, for messages.
fn host_of(url: &str) -> String {
    HttpUrl::parse(url).map_or_else(|_| "?".to_owned(), |u| u.authority)
}

/// A claim value for display: a string as it is, anything else as JSON text.
fn display_value(values: &[&Value]) -> String {
    match values {
        [Value::String(s)] => s.clone(),
        [one] => one.to_string(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()).to_string(),
    }
}

/// The verifier's non-200 answer as an error naming its host.
fn http_status_error(what: &str, host: &str, status: u16) -> WalletError {
    WalletError::Verifier {
        host: host.to_owned(),
        status,
        reason: format!("{what}: HTTP status {status} (expected 200)"),
    }
}

#[uniffi::export]
impl Wallet {
    /// Reads a verifier's login request (OpenID4VP 1.0): `uri` is the scanned or tapped
    /// `openid4vp://?client_id=decentralized_identifier:did:web:…&request_uri=…` link; `http`
    /// the app's HTTP client (the library does no networking). Blocks on the network: call it
    /// off the UI thread.
    ///
    /// Fetches the signed request object (`request_uri`), resolves the verifier's did:web
    /// document over the same client, and checks the request: signed by a key of that document,
    /// not expired, its `response_uri` on the verifier's host, an encryption key for the answer,
    /// no `transaction_data`, a DCQL query the wallet reads. Then matches the query against the
    /// stored credentials. Returns what to show the user (the verified host, the claimed name,
    /// the claims and the values each matching credential would disclose) under an opaque
    /// `request_id` for [`Wallet::respond`]; the checked request stays in the wallet until then
    /// (not across closing it).
    ///
    /// Errors: `InvalidPresentationRequest` (with its `rule`: `unsigned`, `unknown_key`,
    /// `bad_signature`, `expired`, `response_uri`, …), `MissingClaim` (the verifier asks for a
    /// claim the credential lacks, named), `NoMatchingCredential`, `Network` and `Verifier`
    /// (naming the host).
    pub fn read_presentation_request(
        &self,
        uri: String,
        http: Arc<dyn HttpClient>,
    ) -> Result<PresentationRequest, WalletError> {
        guard(|| self.read_login(&uri, http))
    }

    /// Answers a login request read with [`Wallet::read_presentation_request`], once.
    ///
    /// With `consent`, presents the stored credential `credential_id` (one of the request's
    /// `credentials`) disclosing exactly the claims shown, with a KB-JWT bound to the
    /// verifier's full `client_id`, the request's `nonce` and `iat` now, signed by the holder
    /// key in the key store. Without, declines (`access_denied`; `credential_id` is not used).
    /// Either way the answer is encrypted to the request's key (ECDH-ES, A256GCM when offered,
    /// else A128GCM) and posted (`response=<JWE>`) to the request's `response_uri` through the
    /// `HttpClient` given to `read_presentation_request`. Blocks on the network.
    ///
    /// Returns the verifier's answer (its status, `redirect_uri`, and its error when it
    /// refused). Errors: `InvalidPresentationRequest` (`unknown_request`, `already_answered`,
    /// `expired`: refused before anything is sent), `InvalidInput` (a credential the request
    /// did not match), `InvalidCredential` (`expired`), `KeyStore`, `Network` (the request may
    /// be answered again after a network failure).
    pub fn respond(
        &self,
        request_id: String,
        credential_id: String,
        consent: bool,
    ) -> Result<PresentationResponse, WalletError> {
        guard(|| self.respond_login(&request_id, &credential_id, consent))
    }
}

impl Wallet {
    fn read_login(
        &self,
        link: &str,
        client: Arc<dyn HttpClient>,
    ) -> Result<PresentationRequest, WalletError> {
        let http = Http::new(client.clone());
        let invocation = Invocation::parse(link.trim()).map_err(|e| request_error(e, None))?;
        let did = client_did(&invocation.client_id)
            .map_err(|e| request_error(e, None))?
            .to_owned();
        let host = did_web_authority(&did).map_err(|e| request_error(e, None))?;

        // 1. The request object (§5.10: GET request_uri).
        let request_host = host_of(&invocation.request_uri);
        let what = format!("fetching the login request from {request_host}");
        let response = http.get(&what, &invocation.request_uri, REQUEST_OBJECT_MEDIA_TYPE)?;
        if response.status != 200 {
            return Err(http_status_error(&what, &request_host, response.status));
        }
        let jws = std::str::from_utf8(&response.body)
            .map_err(|_| request_error(RequestError::Malformed, Some(&host)))?
            .trim()
            .to_owned();
        // Unsigned or malformed requests are refused before anything else is fetched.
        peek_client_id(&jws).map_err(|e| request_error(e, Some(&host)))?;

        // 2. The verifier's DID document, from the DID's own host.
        let doc_url = did_web_to_url(&did).map_err(|e| refused("client_id", e.to_string()))?;
        let what = format!("fetching the verifier's DID document from {host}");
        let response = http.get(&what, &doc_url, "application/did+json, application/json")?;
        if response.status != 200 {
            return Err(http_status_error(&what, &host, response.status));
        }
        if response.body.len() > DEFAULT_MAX_DOCUMENT_BYTES {
            return Err(refused(
                "did_document",
                format!(
                    "the DID document served by {host} is larger than \
                     {DEFAULT_MAX_DOCUMENT_BYTES} bytes"
                ),
            ));
        }
        let document = DidDocument::parse(&did, &response.body, DEFAULT_MAX_DOCUMENT_DEPTH)
            .map_err(|e| {
                refused(
                    "did_document",
                    match e {
                        DidError::DocumentIdMismatch => {
                            format!("the DID document served by {host} is not {did}'s")
                        }
                        e => format!("the DID document of {did}: {e}"),
                    },
                )
            })?;

        // 3. The request, checked.
        let now = self.clock.now();
        let request = verify_request_object(&jws, &invocation, &document, now)
            .map_err(|e| request_error(e, Some(&host)))?;
        let expires_at = request
            .exp
            .unwrap_or_else(|| request.iat.saturating_add(MAX_REQUEST_AGE_SECS));

        // 4. Which stored credentials answer, and with what.
        let (query, matches) = self.match_query(&request, now)?;
        let credentials = matches
            .iter()
            .map(|(id, paths, claims)| MatchingCredential {
                credential_id: id.clone(),
                kind: kind_of(claims),
                disclosed: paths
                    .iter()
                    .map(|p| RequestedClaim {
                        path: p.to_string(),
                        value: display_value(&resolve(claims, &p.0)),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>();
        let requested_claims = credentials
            .first()
            .map(|c| c.disclosed.iter().map(|d| d.path.clone()).collect())
            .unwrap_or_default();
        let request_id = random_token();
        let shown = PresentationRequest {
            request_id: request_id.clone(),
            verifier_host: host.clone(),
            claimed_name: request.client_name.as_deref().map(cut),
            client_id: request.client_id.clone(),
            requested_claims,
            credentials,
            expires_at,
        };
        self.logins.insert(
            request_id,
            Pending {
                query_id: query.id.clone(),
                matches: matches
                    .into_iter()
                    .map(|(id, paths, _)| (id, paths))
                    .collect(),
                request,
                verifier_host: host,
                expires_at,
                http: client,
                answering: false,
                answered: false,
            },
            now,
        );
        Ok(shown)
    }

    /// The credential query the wallet answers and the stored credentials that answer it
    /// (id, the claims to disclose, the credential's claims). Only a query that one
    /// credential satisfies is answered (a login asks for one worker ID).
    #[allow(clippy::type_complexity)]
    fn match_query<'q>(
        &self,
        request: &'q AuthorizationRequest,
        now: u64,
    ) -> Result<
        (
            &'q CredentialQuery,
            Vec<(String, Vec<ClaimPath>, Map<String, Value>)>,
        ),
        WalletError,
    > {
        let dcql = &request.dcql_query;
        let answerable: Vec<&CredentialQuery> = dcql
            .credentials
            .iter()
            .filter(|q| dcql.is_satisfied_by(&[q.id.as_str()]))
            .collect();
        if answerable.is_empty() {
            return Err(refused(
                "dcql",
                "the verifier asks for several credentials at once, which this wallet does not \
                 present",
            ));
        }
        let rows = self.store.credentials()?;
        let mut missing: Option<String> = None;
        let mut expired = false;
        for query in &answerable {
            let mut found = Vec::new();
            for row in &rows {
                let claims = claims_of(row)?;
                let vct = claims.get("vct").and_then(Value::as_str).unwrap_or("");
                if !query.accepts_vct(vct) {
                    continue;
                }
                if claims
                    .get("exp")
                    .and_then(numeric_date)
                    .is_some_and(|exp| exp <= now)
                {
                    expired = true;
                    continue;
                }
                match query.select(vct, &claims) {
                    Ok(paths) => found.push((row.id.clone(), paths, claims)),
                    Err(DcqlError::ClaimMissing(path)) => {
                        missing.get_or_insert(path);
                    }
                    Err(_) => {}
                }
            }
            if !found.is_empty() {
                return Ok((query, found));
            }
        }
        if let Some(path) = missing {
            return Err(WalletError::MissingClaim { path });
        }
        let asked: Vec<String> = answerable
            .iter()
            .flat_map(|q| q.vct_values.iter().map(|v| cut(v)))
            .collect();
        Err(WalletError::NoMatchingCredential {
            reason: if expired {
                format!(
                    "the wallet's credentials of the type the verifier asks for ({}) have \
                     expired",
                    asked.join(", ")
                )
            } else {
                format!(
                    "the wallet holds no credential of the type the verifier asks for ({})",
                    asked.join(", ")
                )
            },
        })
    }

    fn respond_login(
        &self,
        request_id: &str,
        credential_id: &str,
        consent: bool,
    ) -> Result<PresentationResponse, WalletError> {
        let now = self.clock.now();
        let pending = self.logins.start_answer(request_id, now)?;
        let result = self.post_answer(&pending, credential_id, consent);
        // Once the verifier has answered (any status; a body too large is an answer too) the
        // request is answered. After a failure before that (no network, a key store prompt
        // dismissed, another credential chosen) it may be answered again.
        self.logins.finish(
            request_id,
            matches!(result, Ok(_) | Err(WalletError::Protocol { .. })),
        );
        result
    }

    fn post_answer(
        &self,
        pending: &Pending,
        credential_id: &str,
        consent: bool,
    ) -> Result<PresentationResponse, WalletError> {
        let request = &pending.request;
        let payload = if consent {
            let paths = pending
                .matches
                .iter()
                .find(|(id, _)| id == credential_id)
                .map(|(_, paths)| paths)
                .ok_or_else(|| {
                    WalletError::input(format!(
                        "credential `{}` does not answer this login request: choose one of \
                         its credentials",
                        cut(credential_id)
                    ))
                })?;
            let (presentation, ..) = self.key_bound_presentation(
                credential_id,
                request.client_id.clone(),
                request.nonce.clone(),
                paths,
            )?;
            response_payload(
                &[(pending.query_id.clone(), vec![presentation])],
                &request.state,
            )
        } else {
            json!({"error": "access_denied", "state": request.state})
                .to_string()
                .into_bytes()
        };
        let jwks = json!({ "keys": [request.encryption_jwk] });
        let recipient = select_recipient(&jwks).map_err(|e| {
            refused(
                "encryption",
                format!("{e} (verifier {})", pending.verifier_host),
            )
        })?;
        let jwe = encrypt_to(recipient, request.preferred_enc(), &payload).map_err(|e| {
            refused(
                "encryption",
                format!("{e} (verifier {})", pending.verifier_host),
            )
        })?;
        let http = Http::new(pending.http.clone());
        let what = format!("sending the answer to {}", pending.verifier_host);
        let response = http.send(
            &what,
            "POST",
            &request.response_uri,
            vec![
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                ("Accept", "application/json".to_owned()),
            ],
            form_body(&[("response", jwe.as_str())]).into_bytes(),
        )?;
        let body = response.json_object().unwrap_or_default();
        let text = |name: &str, max: usize| {
            body.get(name)
                .and_then(Value::as_str)
                .map(|s| cut(s).chars().take(max).collect::<String>())
        };
        Ok(PresentationResponse {
            status: response.status,
            shared: consent,
            redirect_uri: body
                .get("redirect_uri")
                .and_then(Value::as_str)
                .filter(|u| HttpUrl::parse(u).is_ok() && u.len() <= 2048)
                .map(str::to_owned),
            error: text("error", 64),
            error_description: text("error_description", 200),
        })
    }
}
