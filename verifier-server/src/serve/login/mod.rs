//! `[login]`: logging in to web systems with the worker ID, over OpenID4VP 1.0 (cross-device and
//! same-device), with an OpenID Connect bridge for applications that already speak OIDC.
//!
//! - [`config`]: `[login]` and `[[login.client]]`;
//! - this module: the login requests in flight (one per login page shown): each has a random
//!   id (its `request_uri` path and the `kid` of its ephemeral response key), a `transaction`
//!   (the browser's handle, never given to the wallet), `nonce` (256 bits) and `state`;
//! - [`http`]: the OpenID4VP routes and the login page; [`oidc`]: the OpenID Provider.
//!
//! A response is checked by the gate's own decision code
//! ([`super::decide::check_presentation`]): the issuer's signature and trust, the credential
//! type, validity, the KB-JWT (`aud` = this verifier's full `client_id`, `nonce` = the
//! request's, `sd_hash`, `iat` window), the status list and the replay cache, exactly as at a
//! gate. Requests, codes and tokens live in memory: a restart ends the logins in flight (the
//! user scans again) and nothing personal is kept on disk.

pub(crate) mod config;
pub(crate) mod http;
pub(crate) mod oidc;

use crate::serve::random_token;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use govid_core::credential::gate_policy;
use govid_core::credential::GateProfile;
use govid_core::oid4vp::jwe::{ResponseKey, SUPPORTED_ENC};
use govid_core::oid4vp::{AuthorizationRequest, DcqlQuery, Invocation, OPENID4VP_SCHEME};
use govid_core::sdjwt::{KbWindow, KB_MAX_FUTURE_SECS};
use rand_core::OsRng;
use serde_json::{Map, Value};
use tokio::sync::watch;

use self::config::LoginConfig;

/// The DCQL credential query id of the worker ID in govid's requests.
pub(crate) const CREDENTIAL_QUERY_ID: &str = "worker_id";

/// Unanswered login requests one client address may hold.
const MAX_PENDING_PER_CLIENT: usize = 32;

/// How long an answered request is kept for its page to learn the result, in seconds.
const ANSWERED_KEPT_SECS: u64 = 30;

/// How long a KB-JWT may be old when it reaches the verifier, in seconds (a person reads the
/// consent screen first).
const KB_MAX_AGE_SECS: u64 = 300;

/// How a login ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// The wallet's presentation was accepted: the claims asked for, and the issuer.
    Accepted {
        claims: Map<String, Value>,
        issuer: String,
    },
    /// Refused: the rule (a gate reason code, or the wallet's error).
    Rejected { error: String },
}

/// An OpenID Connect authorization request waiting for its login.
#[derive(Clone, Debug)]
pub(crate) struct Authorize {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
}

/// One login request in flight.
struct Pending {
    transaction: String,
    state: String,
    nonce: String,
    key: ResponseKey,
    expires: u64,
    /// The request object was fetched (it can be, once).
    fetched: bool,
    /// The wallet answered (a request takes one answer); it no longer counts against its
    /// client's limit.
    answered: bool,
    outcome: watch::Sender<Option<Outcome>>,
    authorize: Option<Authorize>,
    client: IpAddr,
}

/// What [`Logins::create`] hands the page.
pub(crate) struct Created {
    pub(crate) transaction: String,
    pub(crate) authorization_request: String,
    pub(crate) expires_in: u64,
}

/// Why a request could not be made.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CreateRefusal {
    /// The service holds `max_pending` requests.
    Full,
    /// This client holds [`MAX_PENDING_PER_CLIENT`].
    ClientLimit,
}

/// Why a request object is not served.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FetchRefusal {
    Unknown,
    AlreadyFetched,
}

/// What a response is checked against, taken from its request.
pub(crate) struct Answering {
    pub(crate) id: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, Pending>,
    by_transaction: HashMap<String, String>,
    per_client: HashMap<IpAddr, usize>,
    /// When expired requests were last removed (unix seconds): at most once a second.
    pruned_at: u64,
}

impl Table {
    fn release_client(&mut self, client: IpAddr) {
        if let Some(n) = self.per_client.get_mut(&client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_client.remove(&client);
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<Pending> {
        let pending = self.by_id.remove(id)?;
        self.by_transaction.remove(&pending.transaction);
        if !pending.answered {
            self.release_client(pending.client);
        }
        Some(pending)
    }

    /// Marks request `id` answered at `now`: kept [`ANSWERED_KEPT_SECS`] more for its page.
    fn answer(&mut self, id: &str, now: u64) {
        let Some(pending) = self.by_id.get_mut(id) else {
            return;
        };
        if pending.answered {
            return;
        }
        pending.answered = true;
        pending.expires = pending.expires.min(now + ANSWERED_KEPT_SECS);
        let client = pending.client;
        self.release_client(client);
    }

    /// Removes expired requests, at most once a second unless `force`.
    fn prune_if_due(&mut self, now: u64, force: bool) {
        if now == self.pruned_at && !force {
            return;
        }
        self.prune(now);
    }

    fn prune(&mut self, now: u64) {
        self.pruned_at = now;
        let expired: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, p)| p.expires < now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(p) = self.remove(&id) {
                // A page still waiting learns that its request ended.
                p.outcome.send_if_modified(|o| {
                    if o.is_none() {
                        *o = Some(Outcome::Rejected {
                            error: "expired".to_owned(),
                        });
                        true
                    } else {
                        false
                    }
                });
            }
        }
    }
}

/// The login service's state.
pub(crate) struct Logins {
    pub(crate) config: LoginConfig,
    table: Mutex<Table>,
    pub(crate) oidc: oidc::Provider,
}

impl Logins {
    /// The state for `config`; reads (or makes) the pairwise secret.
    pub(crate) fn new(config: LoginConfig) -> Result<Self, String> {
        let pairwise = super::gatelog::load_or_create_secret(&config.pairwise_secret_file)?;
        Ok(Self {
            oidc: oidc::Provider::new(pairwise),
            config,
            table: Mutex::new(Table::default()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The path of the verifier's DID document (from its did:web DID).
    pub(crate) fn did_document_path(&self) -> String {
        govid_core::did::did_web_to_url(&self.config.did)
            .ok()
            .and_then(|url| govid_core::url::HttpUrl::parse(&url).ok())
            .map_or_else(|| "/.well-known/did.json".to_owned(), |u| u.path)
    }

    /// The `request_uri` of request `id`.
    pub(crate) fn request_uri(&self, id: &str) -> String {
        format!("{}/login/request/{id}", self.config.public_url)
    }

    /// The `response_uri` (one for every request; the JWE `kid` says which request).
    pub(crate) fn response_uri(&self) -> String {
        format!("{}/login/response", self.config.public_url)
    }

    /// A new login request for a page shown to `client`.
    pub(crate) fn create(
        &self,
        client: IpAddr,
        authorize: Option<Authorize>,
        now: u64,
    ) -> Result<Created, CreateRefusal> {
        let mut table = self.table();
        let full = table.by_id.len() >= self.config.max_pending;
        table.prune_if_due(now, full);
        if table.by_id.len() >= self.config.max_pending {
            return Err(CreateRefusal::Full);
        }
        if table.per_client.get(&client).copied().unwrap_or(0) >= MAX_PENDING_PER_CLIENT {
            return Err(CreateRefusal::ClientLimit);
        }
        let id = random_token(16);
        let transaction = random_token(16);
        let key = ResponseKey::generate(&id, &mut OsRng).map_err(|_| CreateRefusal::Full)?;
        let (outcome, _) = watch::channel(None);
        table.by_transaction.insert(transaction.clone(), id.clone());
        *table.per_client.entry(client).or_insert(0) += 1;
        table.by_id.insert(
            id.clone(),
            Pending {
                transaction: transaction.clone(),
                state: random_token(16),
                nonce: random_token(32),
                key,
                expires: now + self.config.request_lifetime_secs,
                fetched: false,
                answered: false,
                outcome,
                authorize,
                client,
            },
        );
        let authorization_request = Invocation {
            client_id: self.config.client_id.clone(),
            request_uri: self.request_uri(&id),
        }
        .to_uri(OPENID4VP_SCHEME);
        Ok(Created {
            transaction,
            authorization_request,
            expires_in: self.config.request_lifetime_secs,
        })
    }

    /// The signed request object of request `id`, once.
    pub(crate) fn request_object(&self, id: &str, now: u64) -> Result<String, FetchRefusal> {
        let mut table = self.table();
        let pending = table
            .by_id
            .get_mut(id)
            .filter(|p| p.expires >= now)
            .ok_or(FetchRefusal::Unknown)?;
        if pending.fetched {
            return Err(FetchRefusal::AlreadyFetched);
        }
        pending.fetched = true;
        let request = AuthorizationRequest {
            client_id: self.config.client_id.clone(),
            response_uri: self.response_uri(),
            nonce: pending.nonce.clone(),
            state: pending.state.clone(),
            dcql_query: self.dcql_query(),
            encryption_jwk: pending.key.public_jwk().clone(),
            enc_values: SUPPORTED_ENC.map(str::to_owned).to_vec(),
            client_name: Some(self.config.name.clone()),
            iat: now,
            exp: Some(pending.expires),
        };
        drop(table);
        request
            .sign(self.config.signer.as_ref())
            .map_err(|_| FetchRefusal::Unknown)
    }

    /// The DCQL query every request carries: the worker ID, with the configured claims.
    pub(crate) fn dcql_query(&self) -> DcqlQuery {
        let vcts: Vec<&str> = self
            .config
            .accepted_vct
            .iter()
            .map(String::as_str)
            .collect();
        DcqlQuery::single(CREDENTIAL_QUERY_ID, &vcts, &self.config.claims)
    }

    /// The verify policy of a response to a request with `nonce`: the gate's rules, with the
    /// login's audience, nonce, claims and credential types.
    pub(crate) fn policy(&self, nonce: &str) -> govid_core::sdjwt::VerifyPolicy {
        let profile = GateProfile::Custom(self.config.claims.clone());
        let mut policy = gate_policy(&self.config.client_id, Some(nonce.to_owned()), &profile);
        policy.accepted_vcts = Some(self.config.accepted_vct.clone());
        policy.kb_window = KbWindow {
            max_age: KB_MAX_AGE_SECS,
            max_future: KB_MAX_FUTURE_SECS,
        };
        policy
    }

    /// Decrypts a response to request `kid` and marks the request answered. `Err` is the
    /// error description for the wallet.
    pub(crate) fn open_response(
        &self,
        kid: &str,
        jwe: &str,
        now: u64,
    ) -> Result<(Answering, Vec<u8>), &'static str> {
        let mut table = self.table();
        let pending = table
            .by_id
            .get_mut(kid)
            .filter(|p| p.expires >= now)
            .ok_or("no login request of this kid is in progress (unknown or expired)")?;
        if !pending.fetched {
            return Err("the request object was never fetched");
        }
        if pending.answered {
            return Err("this login request was already answered");
        }
        let plaintext = pending
            .key
            .decrypt(jwe, &SUPPORTED_ENC)
            .map_err(|_| "the response could not be decrypted with this request's key")?;
        let answering = Answering {
            id: kid.to_owned(),
            state: pending.state.clone(),
            nonce: pending.nonce.clone(),
        };
        table.answer(kid, now);
        Ok((answering, plaintext))
    }

    /// An unencrypted error response (§8.3.1 allows one) for the request with `state`.
    pub(crate) fn wallet_error(&self, state: &str, error: &str, now: u64) -> bool {
        let mut table = self.table();
        let Some(id) = table
            .by_id
            .iter()
            .find(|(_, p)| p.state == state && !p.answered && p.expires >= now)
            .map(|(id, _)| id.clone())
        else {
            return false;
        };
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if let Some(pending) = table.by_id.get(&id) {
            pending
                .outcome
                .send_replace(Some(Outcome::Rejected { error }));
        }
        table.answer(&id, now);
        true
    }

    /// Records how request `id` ended; the page waiting on it learns at once.
    pub(crate) fn finish(&self, id: &str, outcome: Outcome) {
        let table = self.table();
        if let Some(pending) = table.by_id.get(id) {
            pending.outcome.send_replace(Some(outcome));
        }
    }

    /// The outcome channel of the request with browser handle `transaction`, and its expiry.
    pub(crate) fn watch(
        &self,
        transaction: &str,
    ) -> Option<(watch::Receiver<Option<Outcome>>, u64)> {
        let table = self.table();
        let id = table.by_transaction.get(transaction)?;
        let pending = table.by_id.get(id)?;
        Some((pending.outcome.subscribe(), pending.expires))
    }

    /// Ends the request with browser handle `transaction` once it has an outcome, returning the
    /// outcome and the OpenID Connect request it served (the page continues with them).
    pub(crate) fn take(&self, transaction: &str) -> Option<(Outcome, Option<Authorize>)> {
        let mut table = self.table();
        let id = table.by_transaction.get(transaction)?.clone();
        let outcome = table.by_id.get(&id)?.outcome.borrow().clone()?;
        let pending = table.remove(&id)?;
        Some((outcome, pending.authorize))
    }

    /// Requests in flight (for tests and `/healthz`).
    pub(crate) fn pending(&self) -> usize {
        self.table().by_id.len()
    }
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// The logins and their key's directory (removed when dropped).
    fn logins(name: &str, max_pending: usize) -> (Logins, tempfile::TempDir) {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("govid-logins-{name}-"))
            .tempdir()
            .unwrap();
        let dir = tmp.path();
        let section = config::LoginSection {
            public_url: Some("https://login.mot.example".into()),
            did: Some("did:web:login.mot.example".into()),
            signing_key: Some(dir.join("key.jwk")),
            max_pending: Some(max_pending),
            ..config::LoginSection::default()
        };
        (
            Logins::new(LoginConfig::from_section(section).unwrap()).unwrap(),
            tmp,
        )
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn one_client_holds_a_bounded_number_of_unanswered_requests() {
        let (logins, _dir) = logins("per-client", 1000);
        let made: Vec<Created> = (0..MAX_PENDING_PER_CLIENT)
            .map(|_| logins.create(A, None, 1_000).unwrap())
            .collect();
        assert_eq!(
            logins.create(A, None, 1_000).err(),
            Some(CreateRefusal::ClientLimit)
        );
        assert!(
            logins.create(B, None, 1_000).is_ok(),
            "another client is served"
        );
        // An answered request no longer counts, and is kept only briefly for its page.
        let id = logins.table().by_transaction[&made[0].transaction].clone();
        logins.table().answer(&id, 1_000);
        assert!(logins.create(A, None, 1_000).is_ok());
        assert!(logins.watch(&made[0].transaction).is_some());
        logins.table().prune(1_000 + ANSWERED_KEPT_SECS + 1);
        assert!(logins.watch(&made[0].transaction).is_none());
    }

    #[test]
    fn the_service_holds_at_most_max_pending_and_expired_ones_make_room() {
        let (logins, _dir) = logins("max", 3);
        let clients = [A, B, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))];
        for client in clients {
            logins.create(client, None, 1_000).unwrap();
        }
        assert_eq!(
            logins.create(A, None, 1_000).err(),
            Some(CreateRefusal::Full)
        );
        let later = 1_000 + logins.config.request_lifetime_secs + 1;
        assert!(logins.create(A, None, later).is_ok());
        assert_eq!(logins.pending(), 1);
    }

    #[test]
    fn a_request_object_is_served_once_and_not_after_expiry() {
        let (logins, _dir) = logins("fetch", 10);
        let made = logins.create(A, None, 1_000).unwrap();
        let id = logins.table().by_transaction[&made.transaction].clone();
        assert_eq!(
            logins.request_object(&id, 1_000 + logins.config.request_lifetime_secs + 1),
            Err(FetchRefusal::Unknown)
        );
        assert!(logins.request_object(&id, 1_001).is_ok());
        assert_eq!(
            logins.request_object(&id, 1_002),
            Err(FetchRefusal::AlreadyFetched)
        );
    }
}
