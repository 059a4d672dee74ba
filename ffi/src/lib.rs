//! govid wallet library: the uniffi layer over `govid-core` that the Android and iOS wallet
//! apps (and the Python tests) call.
//!
//! Core does no I/O; this crate brings the clock (`SystemTime`), the OS RNG, the files and the
//! SQLite database, and adapts the app's key store (a foreign trait) to core's `Signer`.
//!
//! Every exported call returns a typed error ([`WalletError`], [`KeyStoreError`]); panics are
//! caught at the boundary and become [`WalletError::Internal`]. Every object is `Send + Sync`
//! and handed out as `Arc<Self>`: call it from any thread.

uniffi::setup_scaffolding!();

mod enroll;
mod error;
mod gate;
mod keystore;
mod oid4vci;
mod oid4vp;
mod present;
mod records;
mod software_keystore;
mod status;
mod store;
mod trust;
mod wallet;

// The public interface is:
pub use error::{KeyStoreError, KeyStoreFailure, WalletError};
pub use keystore::{KeyAlgorithm, KeyStore};
pub use oid4vci::{
    max_http_response_bytes, HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse,
    ReceivedCredentials, MAX_HTTP_RESPONSE_BYTES,
};
pub use oid4vp::{MatchingCredential, PresentationRequest, PresentationResponse, RequestedClaim};
pub use present::{
    default_rotation_seconds, qr_png, qr_svg, ChallengeRequest, ClaimSelection, GateProfileKind,
    Presentation, QrEcc, DEFAULT_ROTATION_SECONDS,
};
pub use records::{
    CredentialKind, CredentialStatus, CredentialSummary, EnrollmentRequest, TrustedIssuer,
};
pub use software_keystore::SoftwareKeyStore;
pub use status::{StatusChange, StatusFailure, StatusRefresh, MAX_STATUS_TOKEN_AGE_SECS};
pub use trust::{IssuerLogPolicy, MAX_TRUST_DOCUMENT_BYTES};
pub use wallet::{Wallet, DATABASE_FILE, MAX_CREDENTIAL_BYTES};
