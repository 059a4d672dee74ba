//! The Pre-Authorized Code Flow from the wallet's side (OpenID4VCI 1.0 §3.5): offer → metadata →
//! token (DPoP) → per credential: nonce, key proof, credential request → verify, store, notify.

use std::collections::HashMap;
use std::sync::PoisonError;

use govid_core::sdjwt::HeldSdJwt;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::http::{Http, HttpResponse};
use super::jwt;
use super::offer::{
    parse_as_metadata, parse_issuer_metadata, parse_offer, parse_offer_link, CredentialOffer,
    GovidConfiguration, IssuerMetadata, OfferSource, PRE_AUTHORIZED_GRANT,
};
use super::{cut, shown, ReceivedCredentials};
use crate::error::WalletError;
use crate::keystore::{parse_public_jwk, KeyAlgorithm, KeyStoreSigner};
use crate::store::HolderKeyRow;
use crate::wallet::{random_token, Wallet};
use govid_core::url::{form_body, HttpUrl};

const JSON: &str = "application/json";

fn protocol(error: &str, reason: impl Into<String>) -> WalletError {
    WalletError::Protocol {
        error: error.to_owned(),
        reason: reason.into(),
    }
}

/// The OAuth error of a refused request: the JSON body's `error`/`error_description`
/// (RFC 6749 §5.2, §8.3.1), else the `WWW-Authenticate` challenge's (RFC 6750 §3, RFC 9449 §7.1).
fn oauth_error(response: &HttpResponse) -> (String, String) {
    if let Some(body) = response.json_object() {
        if let Some(error) = body.get("error").and_then(Value::as_str) {
            let description = body
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return (cut(error), cut(description));
        }
    }
    if let Some(challenge) = response.header("www-authenticate") {
        let param = |name: &str| {
            let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
            let end = challenge[start..].find('"')? + start;
            Some(cut(&challenge[start..end]))
        };
        if let Some(error) = param("error") {
            return (error, param("error_description").unwrap_or_default());
        }
    }
    (
        "unexpected_status".to_owned(),
        format!("HTTP status {}", response.status),
    )
}

/// The error for a refused request other than the token request.
fn refused(what: &str, response: &HttpResponse) -> WalletError {
    let (error, description) = oauth_error(response);
    let sep = if description.is_empty() { "" } else { ": " };
    protocol(
        &error,
        format!(
            "{what} was refused (HTTP {}){sep}{description}",
            response.status
        ),
    )
}

/// How many tries the issuer's `error_description` says are left, read leniently: a number next
/// to "attempts", "tries", "left" or "remaining" ("2 attempts left", "remaining tries: 1").
pub(crate) fn tries_left(description: &str) -> Option<u32> {
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let hint = |w: &str| {
        matches!(
            w,
            "attempt" | "attempts" | "try" | "tries" | "left" | "remaining" | "remain" | "retries"
        )
    };
    words.iter().enumerate().find_map(|(i, w)| {
        let n = w.parse::<u32>().ok()?;
        let near = words[i + 1..].iter().take(2).any(|w| hint(w))
            || i.checked_sub(1).is_some_and(|j| hint(&words[j]));
        near.then_some(n)
    })
}

/// The token endpoint's refusal as the app's error (§6.3): `invalid_grant` is a wrong PIN when
/// one was sent (unless the description says the code itself is used, expired or unknown),
/// otherwise an expired or used offer.
pub(crate) fn token_error(response: &HttpResponse, tx_code_sent: bool) -> WalletError {
    let (error, description) = oauth_error(response);
    if error != "invalid_grant" {
        let sep = if description.is_empty() { "" } else { ": " };
        return protocol(
            &error,
            format!(
                "the token request was refused (HTTP {}){sep}{description}",
                response.status
            ),
        );
    }
    let lower = description.to_ascii_lowercase();
    let about_pin = ["tx_code", "transaction code", "pin", "user_pin"]
        .iter()
        .any(|w| lower.contains(w));
    let about_code = [
        "expired",
        "used",
        "unknown",
        "not found",
        "revoked",
        "no longer usable",
        "replaced",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let detail = if description.is_empty() {
        String::new()
    } else {
        format!(" (the issuer says: {description})")
    };
    // "wrong transaction code; 0 tries left; offer is no longer usable": the last wrong PIN is
    // still a wrong PIN (with no tries left); a code that is over for any other reason is not.
    if tx_code_sent && (about_pin || !about_code) {
        WalletError::WrongTxCode {
            tries_left: tries_left(&description),
            reason: format!("wrong transaction code (PIN){detail}"),
        }
    } else {
        WalletError::OfferExpired {
            reason: format!(
                "the offer has expired or was already used; ask HR for a new one{detail}"
            ),
        }
    }
}

/// A key made in the app's key store for this exchange.
struct NewKey {
    alias: String,
    alg: KeyAlgorithm,
    signer: KeyStoreSigner,
}

/// The DPoP state: the key and the last `DPoP-Nonce` of each server (RFC 9449 §8.2: a nonce is
/// per server, here per origin).
struct Dpop {
    key: NewKey,
    nonces: HashMap<String, String>,
}

/// The access token (never shown in errors or logs), and how to present it.
struct AccessToken {
    token: Zeroizing<String>,
    dpop: bool,
}

/// Whether a response asks for a (new) DPoP nonce: 400 `use_dpop_nonce` from an AS (RFC 9449
/// §8), 401 with a `use_dpop_nonce` challenge from a resource server (§9).
fn asks_for_dpop_nonce(response: &HttpResponse) -> bool {
    if response.header("dpop-nonce").is_none() {
        return false;
    }
    let (error, _) = oauth_error(response);
    (response.status == 400 || response.status == 401) && error == "use_dpop_nonce"
}

struct Exchange<'a> {
    wallet: &'a Wallet,
    http: &'a Http,
    dpop: Option<Dpop>,
}

impl Exchange<'_> {
    /// POSTs with a DPoP proof (when DPoP is in use) and the access token (when given),
    /// retrying once with the server's new nonce when it asks for one (RFC 9449 §8, §9).
    fn post(
        &mut self,
        what: &str,
        url: &str,
        content_type: &str,
        body: &[u8],
        token: Option<&AccessToken>,
    ) -> Result<HttpResponse, WalletError> {
        let target =
            HttpUrl::parse(url).map_err(|e| protocol("insecure_url", format!("{what}: {e}")))?;
        let origin = target.origin();
        let mut response = None;
        for attempt in 0..2 {
            let mut headers = vec![("Accept", JSON.to_owned())];
            if !content_type.is_empty() {
                headers.push(("Content-Type", content_type.to_owned()));
            }
            let use_dpop = token.map_or(self.dpop.is_some(), |t| t.dpop);
            if let (true, Some(dpop)) = (use_dpop, &self.dpop) {
                let proof = jwt::dpop_proof(
                    &dpop.key.signer,
                    "POST",
                    &target.without_query(),
                    self.wallet.clock.now(),
                    &random_token(),
                    token.map(|t| t.token.as_str()),
                    dpop.nonces.get(&origin).map(String::as_str),
                )
                .map_err(|e| dpop.key.signer.take_error(e))?;
                headers.push(("DPoP", proof));
            }
            if let Some(t) = token {
                let scheme = if t.dpop { "DPoP" } else { "Bearer" };
                headers.push(("Authorization", format!("{scheme} {}", t.token.as_str())));
            }
            let r = self.http.send(what, "POST", url, headers, body.to_vec())?;
            if let (Some(dpop), Some(nonce)) = (&mut self.dpop, r.header("dpop-nonce")) {
                if nonce.len() <= 512 {
                    dpop.nonces.insert(origin.clone(), nonce.to_owned());
                }
            }
            let retry = attempt == 0 && use_dpop && asks_for_dpop_nonce(&r);
            response = Some(r);
            if !retry {
                break;
            }
        }
        response.ok_or_else(|| protocol("bad_response", format!("{what}: no response")))
    }

    fn get_json(&self, what: &str, url: &str) -> Result<Map<String, Value>, WalletError> {
        let languages = self
            .wallet
            .languages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .join(", ");
        let mut headers = vec![("Accept", JSON.to_owned())];
        if !languages.is_empty() {
            headers.push(("Accept-Language", languages));
        }
        let response = self.http.send(what, "GET", url, headers, Vec::new())?;
        if response.status != 200 {
            return Err(WalletError::IssuerMetadata {
                reason: format!("{what}: HTTP status {} (expected 200)", response.status),
            });
        }
        if response.is_content_type("application/jwt") {
            return Err(WalletError::IssuerMetadata {
                reason: format!("{what}: signed metadata (application/jwt) is not supported"),
            });
        }
        response
            .json_object()
            .ok_or_else(|| WalletError::IssuerMetadata {
                reason: format!("{what}: not a JSON object"),
            })
    }
}

/// Picks the holder key algorithm every offered configuration accepts for `jwt` proofs: ES256
/// (phone secure hardware) unless only EdDSA is allowed (F.1: `alg` MUST be listed).
fn holder_algorithm(configs: &[GovidConfiguration]) -> Result<KeyAlgorithm, WalletError> {
    let allows = |alg: &str| {
        configs.iter().all(|c| {
            c.proof_algs
                .as_ref()
                .is_none_or(|algs| algs.iter().any(|a| a == alg))
        })
    };
    if allows("ES256") {
        Ok(KeyAlgorithm::Es256)
    } else if allows("EdDSA") {
        Ok(KeyAlgorithm::EdDsa)
    } else {
        Err(WalletError::IssuerMetadata {
            reason: "the offered credentials accept no key proof algorithm the wallet has \
                     (ES256 or EdDSA) in common"
                .to_owned(),
        })
    }
}

impl Wallet {
    fn new_key(&self, prefix: &str, alg: KeyAlgorithm) -> Result<NewKey, WalletError> {
        let alias = format!("{prefix}-{}", random_token());
        let jwk = self.key_store.create_key(alias.clone(), alg)?;
        let key = match parse_public_jwk(&jwk, alg) {
            Ok(key) => key,
            Err(e) => {
                let _ = self.key_store.delete_key(alias);
                return Err(e);
            }
        };
        let signer = KeyStoreSigner::new(self.key_store.clone(), alias.clone(), key);
        Ok(NewKey { alias, alg, signer })
    }

    /// Whether some trusted key could sign for this credential issuer: one pinned for it, for any
    /// issuer, or for a DID (a DID `iss` cannot be related to the issuer's URL before a
    /// credential arrives). Checked before the token request, so that an untrusted issuer does
    /// not use up the offer.
    fn may_trust(&self, credential_issuer: &str) -> Result<bool, WalletError> {
        Ok(self.store.issuers()?.iter().any(|row| match &row.iss {
            None => true,
            Some(iss) => iss == credential_issuer || iss.starts_with("did:"),
        }))
    }

    pub(crate) fn receive(
        &self,
        link: &str,
        tx_code: Option<&str>,
        http: &Http,
    ) -> Result<ReceivedCredentials, WalletError> {
        let mut exchange = Exchange {
            wallet: self,
            http,
            dpop: None,
        };
        // 1. The offer (§4.1), by value or by reference (§4.1.3: GET, application/json).
        let offer = match parse_offer_link(link)? {
            OfferSource::Value(map) => parse_offer(&map)?,
            OfferSource::Reference(uri) => {
                let response = http.get("the credential offer request", &uri, JSON)?;
                match response.status {
                    200 => {}
                    404 | 410 => {
                        return Err(WalletError::OfferExpired {
                            reason: "the offer is no longer available (HTTP 404/410); ask HR \
                                     for a new one"
                                .to_owned(),
                        })
                    }
                    s => {
                        return Err(WalletError::InvalidOffer {
                            reason: format!("fetching the offer: HTTP status {s}"),
                        })
                    }
                }
                let map = response
                    .json_object()
                    .ok_or_else(|| WalletError::InvalidOffer {
                        reason: "the fetched offer is not a JSON object".to_owned(),
                    })?;
                parse_offer(&map)?
            }
        };
        let tx_code = match (
            &offer.tx_code,
            tx_code.map(str::trim).filter(|t| !t.is_empty()),
        ) {
            (Some(spec), None) => {
                let length = spec
                    .length
                    .map_or_else(String::new, |n| format!(", {n} characters"));
                return Err(WalletError::TxCodeRequired {
                    reason: format!(
                        "this offer needs the transaction code (PIN) HR gave you ({}{length})",
                        if spec.input_mode == "text" {
                            "text"
                        } else {
                            "digits"
                        }
                    ),
                });
            }
            (Some(_), Some(code)) => Some(Zeroizing::new(code.to_owned())),
            // §6.3: sending a tx_code the AS does not expect is `invalid_request`: not sent.
            (None, _) => None,
        };

        // 2. The issuer's metadata (§12.2.2), naming the same issuer (§12.2.4).
        let issuer_url = HttpUrl::parse(&offer.credential_issuer)
            .map_err(|e| WalletError::InvalidOffer { reason: e })?;
        let meta = parse_issuer_metadata(
            &exchange.get_json(
                "the credential issuer metadata request",
                &issuer_url.well_known("openid-credential-issuer"),
            )?,
            &offer.credential_issuer,
        )?;
        let mut configs = Vec::new();
        let mut skipped = Vec::new();
        for id in &offer.configuration_ids {
            match meta.govid_configuration(id) {
                Some(config) => configs.push(config),
                None => skipped.push(id.clone()),
            }
        }
        if configs.is_empty() {
            return Err(WalletError::InvalidOffer {
                reason: format!(
                    "the offer holds no govid worker ID or gate pass (offered: {})",
                    cut(&offer.configuration_ids.join(", "))
                ),
            });
        }
        if !self.may_trust(&offer.credential_issuer)? {
            return Err(WalletError::IssuerNotTrusted {
                issuer: offer.credential_issuer.clone(),
                reason: format!(
                    "the wallet trusts no key of the issuer {}; call trustIssuerJwks with its \
                     JWK Set (or trustIssuerDidDocument with its DID document), then receive the \
                     offer again (it was not used)",
                    shown(&offer.credential_issuer)
                ),
            });
        }

        // 3. The authorization server's metadata (§12.2.4 `authorization_servers`, RFC 8414).
        let as_issuer = match (
            &offer.authorization_server,
            meta.authorization_servers.first(),
        ) {
            (Some(named), _) if meta.authorization_servers.contains(named) => named.clone(),
            (Some(_), Some(_)) => {
                return Err(WalletError::IssuerMetadata {
                    reason: "the offer's authorization_server is not one of the issuer's \
                             authorization_servers (§4.1.1)"
                        .to_owned(),
                })
            }
            (_, Some(first)) => first.clone(),
            (_, None) => offer.credential_issuer.clone(),
        };
        let as_url = HttpUrl::parse(&as_issuer).map_err(|e| WalletError::IssuerMetadata {
            reason: format!("authorization server: {e}"),
        })?;
        let as_meta = parse_as_metadata(
            &exchange.get_json(
                "the authorization server metadata request",
                &as_url.well_known("oauth-authorization-server"),
            )?,
            &as_issuer,
        )?;

        // 4. Keys: the DPoP key (RFC 9449 §5.1, when the AS lists algorithms) and the one holder
        //    key for every credential of the offer. Made before the token request, so that a key
        //    store failure does not use up the offer; deleted again on any failure.
        let dpop_alg = match &as_meta.dpop_algs {
            None => None,
            Some(algs) if algs.iter().any(|a| a == "ES256") => Some(KeyAlgorithm::Es256),
            Some(algs) if algs.iter().any(|a| a == "EdDSA") => Some(KeyAlgorithm::EdDsa),
            Some(algs) if algs.is_empty() => None,
            Some(_) => {
                return Err(WalletError::IssuerMetadata {
                    reason: "the authorization server lists no DPoP algorithm the wallet has \
                             (ES256 or EdDSA)"
                        .to_owned(),
                })
            }
        };
        let holder_alg = holder_algorithm(&configs)?;
        if let Some(alg) = dpop_alg {
            exchange.dpop = Some(Dpop {
                key: self.new_key("govid-dpop", alg)?,
                nonces: HashMap::new(),
            });
        }
        let holder = match self.new_key("govid-holder", holder_alg) {
            Ok(key) => key,
            Err(e) => {
                if let Some(dpop) = exchange.dpop.take() {
                    let _ = self.key_store.delete_key(dpop.key.alias);
                }
                return Err(e);
            }
        };
        let result = self.issue(
            &mut exchange,
            &offer,
            tx_code,
            &meta,
            &as_meta.token_endpoint,
            &configs,
            &holder,
        );
        // The DPoP key lives as long as the exchange (the access token is not kept).
        if let Some(dpop) = exchange.dpop.take() {
            let _ = self.key_store.delete_key(dpop.key.alias);
        }
        match result {
            Ok(credentials) => Ok(ReceivedCredentials {
                issuer: offer.credential_issuer.clone(),
                issuer_name: meta
                    .display_name(
                        &self
                            .languages
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner),
                    )
                    .unwrap_or_else(|| offer.credential_issuer.clone()),
                credentials,
                skipped_configurations: skipped,
            }),
            Err(e) => {
                // Best effort: the key is of no use without a credential.
                let _ = self.store.delete_unused_holder_key(&holder.alias);
                let _ = self.key_store.delete_key(holder.alias);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        exchange: &mut Exchange<'_>,
        offer: &CredentialOffer,
        tx_code: Option<Zeroizing<String>>,
        meta: &IssuerMetadata,
        token_endpoint: &str,
        configs: &[GovidConfiguration],
        holder: &NewKey,
    ) -> Result<Vec<crate::records::CredentialSummary>, WalletError> {
        // 5. Token Request (§6.1): anonymous (no client_id), with the PIN as `tx_code`.
        let mut form = vec![
            ("grant_type", PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", offer.pre_authorized_code.as_str()),
        ];
        if let Some(code) = &tx_code {
            form.push(("tx_code", code.as_str()));
        }
        let body = Zeroizing::new(form_body(&form));
        let response = exchange.post(
            "the token request",
            token_endpoint,
            "application/x-www-form-urlencoded",
            body.as_bytes(),
            None,
        )?;
        if response.status != 200 {
            return Err(token_error(&response, tx_code.is_some()));
        }
        let token_body = response
            .json_object()
            .ok_or_else(|| protocol("bad_response", "the token response is not a JSON object"))?;
        let access_token = token_body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= 16 * 1024)
            .ok_or_else(|| protocol("bad_response", "the token response has no access_token"))?;
        let token_type = token_body
            .get("token_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // §6.2 / RFC 9449 §5: `DPoP` for a DPoP-bound token, `Bearer` otherwise (then the
        // wallet presents it as a bearer token, and sends no DPoP proofs with it).
        let dpop = if token_type.eq_ignore_ascii_case("dpop") {
            if exchange.dpop.is_none() {
                return Err(protocol(
                    "bad_response",
                    "a DPoP token, but no DPoP key was used",
                ));
            }
            true
        } else if token_type.eq_ignore_ascii_case("bearer") {
            false
        } else {
            return Err(protocol(
                "bad_response",
                format!("unsupported token_type {}", shown(token_type)),
            ));
        };
        let token = AccessToken {
            token: Zeroizing::new(access_token.to_owned()),
            dpop,
        };
        drop(token_body);

        // 6. One credential per configuration, all bound to the holder key.
        let mut received = Vec::new();
        for config in configs {
            let (credential, notification_id) =
                self.request_credential(exchange, meta, &token, config, holder)?;
            received.push((config, credential, notification_id));
        }

        // 7. Verify them all (as accept_credential does), then store them all.
        let holder_thumbprint = holder.signer.public.thumbprint();
        let mut verified: Vec<(HeldSdJwt, Option<String>)> = Vec::new();
        let mut ids = Vec::new();
        let mut first_error = None;
        for (config, credential, notification_id) in received {
            ids.extend(notification_id.clone());
            let checked = self
                .verify_issued(&credential, true)
                .and_then(|(held, thumbprint)| {
                    if thumbprint != holder_thumbprint {
                        return Err(WalletError::credential(
                        "holder_key_mismatch",
                        "the issued credential is not bound to the key the wallet proved (cnf.jwk)",
                    ));
                    }
                    if crate::wallet::kind_of(held.claims()) != config.kind {
                        return Err(WalletError::credential(
                            "wrong_vct",
                            format!(
                                "configuration {} returned another credential type",
                                shown(&config.id)
                            ),
                        ));
                    }
                    Ok(held)
                });
            match checked {
                Ok(held) => verified.push((held, notification_id)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            // All or nothing: every credential of the offer is reported as not accepted (§11.1).
            for id in ids {
                self.notify(exchange, meta, &token, &id, "credential_failure");
            }
            return Err(e);
        }
        let public = holder.signer.public.to_jwk().to_string();
        self.store.insert_holder_key(
            &HolderKeyRow {
                alias: holder.alias.clone(),
                alg: holder.alg.jose().as_str().to_owned(),
                public_jwk: public,
            },
            &holder_thumbprint,
            self.clock.now(),
        )?;
        let mut summaries = Vec::new();
        let mut notifications = Vec::new();
        for (held, notification_id) in verified {
            summaries.push(self.store_held(held, holder.alias.clone())?);
            notifications.extend(notification_id);
        }
        // 8. Notification (§11): accepted. Its failure does not undo the receipt (§11.1).
        for id in notifications {
            self.notify(exchange, meta, &token, &id, "credential_accepted");
        }
        Ok(summaries)
    }

    fn request_credential(
        &self,
        exchange: &mut Exchange<'_>,
        meta: &IssuerMetadata,
        token: &AccessToken,
        config: &GovidConfiguration,
        holder: &NewKey,
    ) -> Result<(String, Option<String>), WalletError> {
        let mut response = None;
        // One retry with a fresh c_nonce on `invalid_nonce` (§8.3.1.2).
        for attempt in 0..2 {
            let c_nonce = match &meta.nonce_endpoint {
                Some(url) => Some(self.fetch_nonce(exchange, url)?),
                None => None,
            };
            let proof = jwt::key_proof(
                &holder.signer,
                &meta.credential_issuer,
                self.clock.now(),
                c_nonce.as_ref().map(|n| n.as_str()),
            )
            .map_err(|e| holder.signer.take_error(e))?;
            // §8.2: by configuration id, one `jwt` proof.
            let body = json!({
                "credential_configuration_id": config.id,
                "proofs": {"jwt": [proof]},
            })
            .to_string();
            let r = exchange.post(
                "the credential request",
                &meta.credential_endpoint,
                JSON,
                body.as_bytes(),
                Some(token),
            )?;
            let retry = attempt == 0 && r.status == 400 && oauth_error(&r).0 == "invalid_nonce";
            response = Some(r);
            if !retry {
                break;
            }
        }
        let response =
            response.ok_or_else(|| protocol("bad_response", "no credential response"))?;
        if response.status == 202 {
            return Err(protocol(
                "deferred_issuance",
                "the issuer deferred the credential (§9): not supported by this wallet",
            ));
        }
        if response.status != 200 {
            return Err(refused(
                &format!("the credential request for {}", shown(&config.id)),
                &response,
            ));
        }
        let body = response.json_object().ok_or_else(|| {
            protocol(
                "bad_response",
                "the credential response is not a JSON object",
            )
        })?;
        // §8.3: `credentials`, a non-empty array of objects with `credential`.
        let credential = body
            .get("credentials")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(|c| c.get("credential"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                protocol(
                    "bad_response",
                    "the credential response has no credentials[0].credential string (§8.3)",
                )
            })?;
        let notification_id = body
            .get("notification_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((credential.to_owned(), notification_id))
    }

    /// A fresh `c_nonce` (§7.1: POST, no body, no token). A `DPoP-Nonce` in the answer is kept
    /// for the credential endpoint's server (§7.2).
    fn fetch_nonce(
        &self,
        exchange: &mut Exchange<'_>,
        url: &str,
    ) -> Result<Zeroizing<String>, WalletError> {
        let response = exchange.http.send(
            "the nonce request",
            "POST",
            url,
            vec![("Accept", JSON.to_owned())],
            Vec::new(),
        )?;
        if let (Some(dpop), Some(nonce)) = (&mut exchange.dpop, response.header("dpop-nonce")) {
            if let Ok(u) = HttpUrl::parse(url) {
                if nonce.len() <= 512 {
                    dpop.nonces.insert(u.origin(), nonce.to_owned());
                }
            }
        }
        if response.status != 200 {
            return Err(refused("the nonce request", &response));
        }
        response
            .json_object()
            .and_then(|b| b.get("c_nonce")?.as_str().map(str::to_owned))
            .filter(|n| !n.is_empty() && n.len() <= 1024)
            .map(Zeroizing::new)
            .ok_or_else(|| protocol("bad_response", "the nonce response has no c_nonce"))
    }

    /// Sends a notification (§11.1), ignoring the outcome.
    fn notify(
        &self,
        exchange: &mut Exchange<'_>,
        meta: &IssuerMetadata,
        token: &AccessToken,
        notification_id: &str,
        event: &str,
    ) {
        let Some(url) = &meta.notification_endpoint else {
            return;
        };
        let body = json!({"notification_id": notification_id, "event": event}).to_string();
        let _ = exchange.post("the notification", url, JSON, body.as_bytes(), Some(token));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use govid_core::credential::WORKER_ID_VCT;
    use govid_core::jose::{Algorithm, CompactJws, PublicKey, Signer, SoftwareSigner};
    use rand_core::OsRng;

    use super::*;
    use crate::oid4vci::{HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse};
    use crate::SoftwareKeyStore;

    fn must<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    fn response(status: u16, headers: &[(&str, &str)], body: Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| HttpHeader {
                    name: (*n).to_owned(),
                    value: (*v).to_owned(),
                })
                .collect(),
            body: body.to_string().into_bytes(),
        }
    }

    type Route = Box<dyn Fn(&HttpRequest, usize) -> HttpResponse + Send + Sync>;

    /// A scripted issuer at https://hr.example: `route(request, how many times this URL was
    /// asked before)`.
    struct Fake {
        route: Route,
        log: Mutex<Vec<HttpRequest>>,
    }

    impl HttpClient for Fake {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
            let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
            let seen = log.iter().filter(|r| r.url == request.url).count();
            log.push(request.clone());
            drop(log);
            Ok((self.route)(&request, seen))
        }
    }

    const ISSUER: &str = "https://hr.example";

    fn metadata(issuer: &str) -> Value {
        json!({
            "credential_issuer": issuer,
            "credential_endpoint": format!("{ISSUER}/credential"),
            "nonce_endpoint": format!("{ISSUER}/nonce"),
            "display": [{"name": "Ministry of X", "locale": "en"}],
            "credential_configurations_supported": {
                "worker_id": {"format": "dc+sd-jwt", "vct": WORKER_ID_VCT,
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}}
            }
        })
    }

    fn offer_link() -> String {
        let offer = json!({
            "credential_issuer": ISSUER,
            "credential_configuration_ids": ["worker_id"],
            "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "SECRET-CODE",
                "tx_code": {"length": 6}}}
        });
        format!(
            "openid-credential-offer://?credential_offer={}",
            govid_core::url::form_encode(&offer.to_string())
        )
    }

    fn wallet(dir: &tempfile::TempDir) -> Wallet {
        let ks = must(SoftwareKeyStore::open(
            dir.path().join("keys").to_string_lossy().into_owned(),
            "pass".into(),
        ));
        let wallet = must(Wallet::open_with_clock(
            dir.path().join("w").to_string_lossy().into_owned(),
            ks.as_key_store(),
            Arc::new(crate::wallet::SystemClock),
        ));
        let key = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng).public_key();
        must(wallet.trust_issuer(key.to_jwk().to_string(), Some(ISSUER.to_owned())));
        wallet
    }

    fn run(
        route: Route,
        tx_code: Option<&str>,
    ) -> (Result<ReceivedCredentials, WalletError>, Vec<HttpRequest>) {
        let dir = must(tempfile::tempdir());
        let fake = Arc::new(Fake {
            route,
            log: Mutex::new(Vec::new()),
        });
        let result =
            wallet(&dir).receive_offer(offer_link(), tx_code.map(str::to_owned), fake.clone());
        let log = fake
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        (result, log)
    }

    fn as_meta() -> Value {
        json!({"issuer": ISSUER, "token_endpoint": format!("{ISSUER}/token"),
            "dpop_signing_alg_values_supported": ["ES256"]})
    }

    fn dpop_payload(request: &HttpRequest) -> (Map<String, Value>, PublicKey) {
        let proof = request
            .headers
            .iter()
            .find(|h| h.name == "DPoP")
            .map(|h| h.value.clone())
            .unwrap_or_else(|| panic!("no DPoP header"));
        let jws = must(CompactJws::parse(&proof, 16));
        assert_eq!(jws.header.typ.as_deref(), Some("dpop+jwt"));
        let key = must(PublicKey::from_jwk(&jws.header.raw["jwk"]));
        must(jws.verify(&key, &Algorithm::ALL));
        (must(jws.payload_object(16)), key)
    }

    #[test]
    fn metadata_naming_another_issuer_is_refused_before_any_token() {
        let (result, log) = run(
            Box::new(|r, _| {
                if r.url.ends_with("/.well-known/openid-credential-issuer") {
                    response(200, &[], metadata("https://evil.example"))
                } else {
                    response(500, &[], json!({}))
                }
            }),
            Some("123456"),
        );
        assert!(
            matches!(result, Err(WalletError::IssuerMetadata { .. })),
            "{result:?}"
        );
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn token_request_dpop_nonce_retry_and_proofs() {
        let (result, log) = run(
            Box::new(|r, seen| {
                let path = r.url.strip_prefix(ISSUER).unwrap_or_default();
                match path {
                    "/.well-known/openid-credential-issuer" => response(200, &[], metadata(ISSUER)),
                    "/.well-known/oauth-authorization-server" => response(200, &[], as_meta()),
                    // RFC 9449 §8: the AS wants a nonce first.
                    "/token" if seen == 0 => response(
                        400,
                        &[("DPoP-Nonce", "as-nonce-1")],
                        json!({"error": "use_dpop_nonce"}),
                    ),
                    "/token" => response(
                        200,
                        &[],
                        json!({"access_token": "AT-SECRET", "token_type": "DPoP"}),
                    ),
                    "/nonce" => response(200, &[], json!({"c_nonce": "C-NONCE-SECRET"})),
                    "/credential" => response(
                        400,
                        &[],
                        json!({"error": "invalid_proof", "error_description": "no"}),
                    ),
                    _ => response(404, &[], json!({})),
                }
            }),
            Some("123456"),
        );
        let Err(WalletError::Protocol { error, reason }) = &result else {
            panic!("{result:?}")
        };
        assert_eq!(error, "invalid_proof");
        for secret in [
            "SECRET-CODE",
            "123456",
            "AT-SECRET",
            "C-NONCE-SECRET",
            "as-nonce-1",
        ] {
            assert!(!reason.contains(secret), "{reason}");
        }
        let tokens: Vec<&HttpRequest> = log.iter().filter(|r| r.url.ends_with("/token")).collect();
        assert_eq!(tokens.len(), 2);
        let (first, key1) = dpop_payload(tokens[0]);
        let (second, key2) = dpop_payload(tokens[1]);
        assert!(first.get("nonce").is_none());
        assert_eq!(second["nonce"], "as-nonce-1");
        assert_eq!(second["htm"], "POST");
        assert_eq!(second["htu"], format!("{ISSUER}/token"));
        assert_ne!(first["jti"], second["jti"]);
        assert_eq!(key1, key2);
        let body = String::from_utf8(tokens[1].body.clone()).unwrap_or_default();
        assert!(body
            .contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code"));
        assert!(
            body.contains("tx_code=123456") && body.contains("pre-authorized_code=SECRET-CODE")
        );
        // The credential request: the DPoP-bound token, a proof with `ath`, the same DPoP key.
        let cred = log
            .iter()
            .find(|r| r.url.ends_with("/credential"))
            .unwrap_or_else(|| panic!("no credential request"));
        let auth = cred
            .headers
            .iter()
            .find(|h| h.name == "Authorization")
            .map(|h| h.value.as_str());
        assert_eq!(auth, Some("DPoP AT-SECRET"));
        let (payload, key3) = dpop_payload(cred);
        assert_eq!(payload["ath"], jwt::access_token_hash("AT-SECRET").as_str());
        assert_eq!(key3, key1);
        let body: Value = must(serde_json::from_slice(&cred.body));
        assert_eq!(body["credential_configuration_id"], "worker_id");
        let proof = body["proofs"]["jwt"][0].as_str().unwrap_or_default();
        let jws = must(CompactJws::parse(proof, 16));
        let holder = must(PublicKey::from_jwk(&jws.header.raw["jwk"]));
        must(jws.verify(&holder, &Algorithm::ALL));
        assert_ne!(holder, key1, "the holder key is not the DPoP key");
        let claims = must(jws.payload_object(16));
        assert_eq!(
            (claims["aud"].as_str(), claims["nonce"].as_str()),
            (Some(ISSUER), Some("C-NONCE-SECRET"))
        );
        assert!(claims.get("iss").is_none());
    }

    #[test]
    fn token_errors_are_typed() {
        let bad = |status, body: Value| response(status, &[], body);
        let wrong = bad(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid tx_code provided, 2 attempts left"}),
        );
        assert_eq!(
            token_error(&wrong, true),
            WalletError::WrongTxCode {
                tries_left: Some(2),
                reason: "wrong transaction code (PIN) (the issuer says: Invalid tx_code provided, 2 attempts left)".to_owned()
            }
        );
        let used = bad(
            400,
            json!({"error": "invalid_grant", "error_description": "unknown, used or expired pre-authorized code"}),
        );
        assert!(matches!(
            token_error(&used, true),
            WalletError::OfferExpired { .. }
        ));
        let plain = bad(400, json!({"error": "invalid_grant"}));
        assert!(matches!(
            token_error(&plain, true),
            WalletError::WrongTxCode {
                tries_left: None,
                ..
            }
        ));
        assert!(matches!(
            token_error(&plain, false),
            WalletError::OfferExpired { .. }
        ));
        let long = "x".repeat(500);
        let other = bad(
            400,
            json!({"error": "invalid_client", "error_description": long}),
        );
        let WalletError::Protocol { error, reason } = token_error(&other, true) else {
            panic!("not a protocol error")
        };
        assert_eq!(error, "invalid_client");
        assert!(reason.chars().count() < 300);
        assert_eq!(tries_left("remaining tries: 1"), Some(1));
        assert_eq!(tries_left("code 123456 is wrong"), None);
    }

    #[test]
    fn a_missing_pin_is_asked_for_before_any_request() {
        let (result, log) = run(Box::new(|_, _| response(500, &[], json!({}))), None);
        assert!(
            matches!(result, Err(WalletError::TxCodeRequired { .. })),
            "{result:?}"
        );
        assert!(log.is_empty());
    }
}
