//! Receiving credentials over OpenID4VCI 1.0 (final): `Wallet::receive_offer`, the
//! Pre-Authorized Code Flow with a Transaction Code and DPoP (RFC 9449), HTTP through the app's
//! [`HttpClient`]. Section numbers are those of OpenID4VCI 1.0 final as rendered
//! (`shared/specs/openid4vci-1_0-final.md`): 4 offer, 6 token, 7 nonce, 8 credential,
//! 11 notification, 12 metadata, F proof types.
//!
//! What is protocol rather than wallet (offer/metadata parsing, the DPoP and key proof JWTs, the
//! URL helpers) is kept apart in `offer.rs`, `jwt.rs` and `url.rs`, to move to core.

mod flow;
mod http;
mod jwt;
mod offer;

use std::sync::{Arc, PoisonError};

pub(crate) use http::Http;
pub use http::{
    max_http_response_bytes, HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse,
    MAX_HTTP_RESPONSE_BYTES,
};

use crate::error::{guard, WalletError};
use crate::records::CredentialSummary;
use crate::wallet::Wallet;

/// What `receive_offer` received, for the app to show ("Worker ID from Ministry of X received").
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ReceivedCredentials {
    /// The Credential Issuer Identifier (the offer's `credential_issuer`, an https URL).
    pub issuer: String,
    /// The issuer's display name from its metadata (`display`, in the first preferred language
    /// it has, see `set_preferred_languages`), else `issuer`.
    pub issuer_name: String,
    /// The credentials received and stored, in the offer's order (worker ID, gate pass).
    pub credentials: Vec<CredentialSummary>,
    /// Offered configuration ids that are not govid worker IDs or gate passes: not requested.
    pub skipped_configurations: Vec<String>,
}

#[uniffi::export]
impl Wallet {
    /// Receives the credentials of an OpenID4VCI credential offer (Pre-Authorized Code Flow):
    /// `offer` is the scanned or tapped link, `openid-credential-offer://?credential_offer_uri=…`
    /// (or `?credential_offer=` with the offer by value); `tx_code` the PIN HR gave separately
    /// (needed when the offer says so); `http` the app's HTTP client (the library does no
    /// networking). Blocks on the network: call it off the UI thread.
    ///
    /// Checks the issuer metadata names the offer's issuer, gets a DPoP-bound access token,
    /// makes one new holder key in the key store for all the offer's worker IDs and gate passes,
    /// requests each with a key proof, verifies each exactly as `accept_credential` does (the
    /// issuer must already be trusted through `trustIssuerJwks` / `trustIssuerDidDocument`: no
    /// trust on first use) and checks it is bound to the new key, then stores them all and tells
    /// the issuer (`credential_accepted`; a failed notification does not fail the call).
    /// All or nothing: on any error nothing is stored and the new keys are deleted.
    ///
    /// Errors: `TxCodeRequired`, `WrongTxCode` (with `tries_left` when the issuer says),
    /// `OfferExpired`, `Network`, `IssuerNotTrusted` (naming the issuer to trust),
    /// `IssuerMetadata`, `InvalidOffer`, `Protocol`, `InvalidCredential`, `KeyStore`. None
    /// holds the pre-authorized code, the PIN, the access token or a nonce.
    pub fn receive_offer(
        &self,
        offer: String,
        tx_code: Option<String>,
        http: Arc<dyn HttpClient>,
    ) -> Result<ReceivedCredentials, WalletError> {
        guard(|| self.receive(&offer, tx_code.as_deref(), &Http::new(http)))
    }

    /// The app's display languages, most preferred first (BCP 47 tags such as `fr-CA`, `en`):
    /// sent as `Accept-Language` with issuer metadata requests and used to pick
    /// `ReceivedCredentials.issuer_name`. Empty by default (the issuer's first name).
    pub fn set_preferred_languages(&self, languages: Vec<String>) {
        *self
            .languages
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = languages
            .into_iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| {
                !l.is_empty()
                    && l.len() <= 35
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .take(8)
            .collect();
    }
}

/// Most characters of issuer-provided text quoted in an error.
const SHOWN_CHARS: usize = 200;

/// Issuer-provided text for an error: control characters dropped, at most 200 characters.
pub(crate) fn cut(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(SHOWN_CHARS)
        .collect();
    if text.chars().filter(|c| !c.is_control()).count() > SHOWN_CHARS {
        out.push('…');
    }
    out
}

/// Quoted issuer-provided text for an error.
pub(crate) fn shown(text: &str) -> String {
    crate::trust::shown_text(text)
}
