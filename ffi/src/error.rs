//! The errors apps see. One enum for the wallet, one for key stores (which foreign code throws).
//!
//! Messages name what failed and why, never key material, tokens, salts or claim values.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// What went wrong in a [`KeyStore`](crate::KeyStore). Foreign key stores throw these
/// (`KeyStoreException.KeyNotFound(alias)` in Kotlin, `KeyStoreError.KeyNotFound(alias:)` in Swift).
///
/// uniffi builds the Kotlin `message` and the Python `str()` from a case's fields, so the cases
/// the library throws all carry one; `toString()` (Kotlin) and `description` (Swift) are the
/// Rust message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum KeyStoreError {
    /// No key under this alias.
    #[error("no key under alias `{alias}`")]
    KeyNotFound {
        /// The alias asked for.
        alias: String,
    },
    /// A key already exists under this alias.
    #[error("a key already exists under alias `{alias}`")]
    KeyExists {
        /// The alias asked for.
        alias: String,
    },
    /// The key store cannot make keys of this algorithm (e.g. Ed25519 in the Secure Enclave).
    #[error("the key store does not support this algorithm")]
    UnsupportedAlgorithm,
    /// The user dismissed the authentication prompt that guards the key.
    #[error("the user cancelled the key's authentication prompt")]
    UserCancelled,
    /// The key exists but cannot be used now (device locked, key invalidated, hardware busy).
    #[error("key store unavailable: {reason}")]
    Unavailable {
        /// What the platform reported.
        reason: String,
    },
    /// The passphrase does not open this software key store.
    #[error("{reason}")]
    WrongPassphrase {
        /// Says so in words ("wrong passphrase for the software key store"), so that the Kotlin
        /// `message` and the Python `str()` are not empty.
        reason: String,
    },
    /// Anything else the key store reports.
    #[error("key store failure: {reason}")]
    Failed {
        /// What the platform reported.
        reason: String,
    },
}

impl KeyStoreError {
    /// [`KeyStoreError::WrongPassphrase`] with its message.
    pub(crate) fn wrong_passphrase() -> Self {
        KeyStoreError::WrongPassphrase {
            reason: "wrong passphrase for the software key store".to_owned(),
        }
    }
}

// A foreign implementation that throws something other than a `KeyStoreError` (a Kotlin
// `RuntimeException`, a Python `ValueError`) arrives as this.
impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Failed {
            reason: format!("unexpected error from the key store: {}", e.reason),
        }
    }
}

/// Which key store failure a [`WalletError::KeyStore`] carries (a flat copy of
/// [`KeyStoreError`]'s variants, so apps can branch without parsing text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum KeyStoreFailure {
    /// See [`KeyStoreError::KeyNotFound`].
    KeyNotFound,
    /// See [`KeyStoreError::KeyExists`].
    KeyExists,
    /// See [`KeyStoreError::UnsupportedAlgorithm`].
    UnsupportedAlgorithm,
    /// See [`KeyStoreError::UserCancelled`].
    UserCancelled,
    /// See [`KeyStoreError::Unavailable`].
    Unavailable,
    /// See [`KeyStoreError::WrongPassphrase`].
    WrongPassphrase,
    /// See [`KeyStoreError::Failed`].
    Failed,
    /// The key store answered, but with a public key or signature that is malformed or does not
    /// match the key the wallet recorded (a DER ES256 signature is converted, not refused).
    BadOutput,
}

/// Why a wallet call failed. `toString()` (Kotlin) and `description` (Swift) are the Rust
/// message, e.g. "credential refused (untrusted_issuer): …".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum WalletError {
    /// The wallet's database or a file could not be read or written.
    #[error("wallet storage: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// The key store failed or returned something unusable.
    #[error("key store ({kind:?}): {reason}")]
    KeyStore {
        /// The kind of failure.
        kind: KeyStoreFailure,
        /// What failed.
        reason: String,
    },
    /// An argument is malformed (a claim path, a JWK, an empty enrollment code...).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong with it.
        reason: String,
    },
    /// A credential was refused: it does not verify against a trusted issuer, is neither a worker
    /// ID nor a gate pass, has expired, or is bound to a key this wallet does not hold.
    #[error("credential refused ({rule}): {reason}")]
    InvalidCredential {
        /// A stable rule code: core's verification rules (`bad_signature`, `untrusted_issuer`,
        /// `expired`, …) plus `not_worker_id` (a `vct` other than the worker ID's or the gate
        /// pass's) and `holder_key_not_held`.
        rule: String,
        /// A readable explanation.
        reason: String,
    },
    /// No stored credential has this id.
    #[error("no credential with id `{id}`")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The credential lacks a claim the presentation asks for (or, from
    /// `readPresentationRequest`, a claim the verifier's login request asks for).
    #[error("the credential has no claim `{path}`")]
    MissingClaim {
        /// The claim path.
        path: String,
    },
    /// A scanned gate challenge (`GVC1:`) was refused (malformed, expired, bad nonce...).
    #[error("gate challenge refused: {reason}")]
    InvalidChallenge {
        /// Why.
        reason: String,
    },
    /// A scanned code or a QR image could not be decoded or produced (e.g. too large).
    #[error("QR: {reason}")]
    Qr {
        /// Why.
        reason: String,
    },
    /// A Status List Token was refused (signature, issuer, `sub` mismatch, index out of range...).
    #[error("status list token refused ({rule}): {reason}")]
    InvalidStatusList {
        /// A stable rule code.
        rule: String,
        /// A readable explanation.
        reason: String,
    },
    /// `receiveOffer`: the credential offer (the link, or the object it points to) is malformed
    /// or unsupported (no pre-authorized code grant, no govid worker ID or gate pass offered).
    #[error("credential offer: {reason}")]
    InvalidOffer {
        /// Why.
        reason: String,
    },
    /// `receiveOffer`: the offer needs the transaction code (PIN) HR gave separately, and none
    /// was given. Ask the user for it (`length` digits when `numeric`) and call again.
    #[error("{reason}")]
    TxCodeRequired {
        /// Says so, with the expected input mode and length when the offer gives them.
        reason: String,
    },
    /// `receiveOffer`: the issuer refused the transaction code (PIN). The offer may still work
    /// with the right code, until the issuer burns it (govid's after a few wrong tries).
    #[error("{reason}")]
    WrongTxCode {
        /// Tries left, when the issuer's `error_description` says.
        tries_left: Option<u32>,
        /// The issuer's explanation (at most 200 characters).
        reason: String,
    },
    /// `receiveOffer`: the offer expired, was already used, or is unknown to the issuer: ask HR
    /// for a new one.
    #[error("{reason}")]
    OfferExpired {
        /// The issuer's explanation (at most 200 characters).
        reason: String,
    },
    /// No HTTP response arrived (offline, DNS, TLS, timeout): the `HttpClient` threw.
    #[error("network: {reason}")]
    Network {
        /// Which exchange and what the platform reported.
        reason: String,
    },
    /// `receiveOffer`: the wallet trusts no key of this issuer. Nothing was stored. Trust the
    /// issuer first with `trustIssuerJwks` (its JWK Set) or `trustIssuerDidDocument` (its
    /// did:web document), then receive the offer again.
    #[error("issuer not trusted: {reason}")]
    IssuerNotTrusted {
        /// The issuer to trust: the credential's `iss`, or the offer's credential issuer when
        /// the wallet refused before asking for credentials.
        issuer: String,
        /// What to do, naming the issuer.
        reason: String,
    },
    /// `trustIssuerDidDocumentLogged`: the issuer's DID document is not shown in its
    /// transparency log as the policy requires (no proof, a proof for other bytes, a checkpoint
    /// not signed by the log key or with too few witness cosignatures). Nothing was trusted:
    /// the document may be a split view shown to this phone only.
    #[error("the DID document of {issuer} is not in its transparency log as required: {reason}")]
    NotInIssuerLog {
        /// The issuer DID.
        issuer: String,
        /// Which check failed.
        reason: String,
    },
    /// `receiveOffer`: the issuer's or authorization server's metadata is malformed or names
    /// another issuer than the offer (OpenID4VCI 1.0 §12.2.4, RFC 8414 §3.3).
    #[error("issuer metadata refused: {reason}")]
    IssuerMetadata {
        /// Why.
        reason: String,
    },
    /// The issuer answered outside the protocol or refused a request: `error` is its OAuth error
    /// code (`invalid_proof`, `invalid_dpop_proof`, …) or the wallet's own (`bad_response`,
    /// `unexpected_status`, `insecure_url`, `response_too_large`).
    #[error("issuance protocol error ({error}): {reason}")]
    Protocol {
        /// The OAuth error code.
        error: String,
        /// The exchange and the issuer's `error_description` (at most 200 characters; never a
        /// code, PIN, token or nonce).
        reason: String,
    },
    /// `readPresentationRequest` / `respond`: the wallet refused a verifier's login request
    /// (OpenID4VP). Nothing was sent to the verifier. `rule` is stable: `bad_link` (not an
    /// `openid4vp://?client_id=…&request_uri=…` link), `client_id` (not a did:web
    /// `decentralized_identifier`), `unsigned`, `malformed`, `typ`, `unknown_key` (signed by a key
    /// that is not in the verifier's DID document), `bad_signature`, `client_id_mismatch`,
    /// `expired`, `response_uri` (not on the verifier's host), `response_mode`, `encryption` (no
    /// usable encryption key), `transaction_data`, `dcql` (a query the wallet cannot read),
    /// `unsupported_format`, `invalid_member` (a required member missing or malformed),
    /// `did_document` (the verifier's DID document is unreadable or another DID's),
    /// `unknown_request` (no such request id), `already_answered`.
    #[error("login request refused ({rule}): {reason}")]
    InvalidPresentationRequest {
        /// The stable rule code.
        rule: String,
        /// A readable explanation naming the verifier's host where it is known.
        reason: String,
    },
    /// `readPresentationRequest`: the wallet holds no credential of a type the verifier asks
    /// for, or only expired ones. (A credential of the right type that lacks an asked claim is
    /// [`WalletError::MissingClaim`], naming the claim.)
    #[error("{reason}")]
    NoMatchingCredential {
        /// Says which types were asked for, or that the wallet's have expired.
        reason: String,
    },
    /// `readPresentationRequest`: the verifier answered with an HTTP error status or a body
    /// that is not what the protocol says (a `respond` answer with an error status is not an
    /// error: it is returned in `PresentationResponse`).
    #[error("verifier {host}: {reason}")]
    Verifier {
        /// The verifier's `host[:port]` that answered.
        host: String,
        /// The HTTP status (0 when the status was fine but the body was not).
        status: u16,
        /// Which exchange and what was wrong.
        reason: String,
    },
    /// A bug in govid: a panic was caught at the FFI boundary. Please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What panicked.
        reason: String,
    },
}

impl WalletError {
    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        WalletError::Storage {
            reason: e.to_string(),
        }
    }

    pub(crate) fn input(reason: impl Into<String>) -> Self {
        WalletError::InvalidInput {
            reason: reason.into(),
        }
    }

    pub(crate) fn credential(rule: &str, reason: impl std::fmt::Display) -> Self {
        WalletError::InvalidCredential {
            rule: rule.to_owned(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn bad_key_output(reason: impl Into<String>) -> Self {
        WalletError::KeyStore {
            kind: KeyStoreFailure::BadOutput,
            reason: reason.into(),
        }
    }
}

impl From<KeyStoreError> for WalletError {
    fn from(e: KeyStoreError) -> Self {
        let kind = match &e {
            KeyStoreError::KeyNotFound { .. } => KeyStoreFailure::KeyNotFound,
            KeyStoreError::KeyExists { .. } => KeyStoreFailure::KeyExists,
            KeyStoreError::UnsupportedAlgorithm => KeyStoreFailure::UnsupportedAlgorithm,
            KeyStoreError::UserCancelled => KeyStoreFailure::UserCancelled,
            KeyStoreError::Unavailable { .. } => KeyStoreFailure::Unavailable,
            KeyStoreError::WrongPassphrase { .. } => KeyStoreFailure::WrongPassphrase,
            KeyStoreError::Failed { .. } => KeyStoreFailure::Failed,
        };
        WalletError::KeyStore {
            kind,
            reason: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for WalletError {
    fn from(e: rusqlite::Error) -> Self {
        // rusqlite's messages name the failing statement or constraint, not row values.
        WalletError::storage(e)
    }
}

/// Runs `f`, turning a panic into [`WalletError::Internal`] so that apps see one typed error
/// instead of uniffi's generic `InternalException`.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, WalletError>) -> Result<T, WalletError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        Err(WalletError::Internal { reason })
    })
}

/// [`guard`] for key store calls.
pub(crate) fn guard_ks<T>(
    f: impl FnOnce() -> Result<T, KeyStoreError>,
) -> Result<T, KeyStoreError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(KeyStoreError::Failed {
            reason: "internal error (panic caught)".to_owned(),
        })
    })
}
