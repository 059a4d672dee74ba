//! OpenID for Verifiable Presentations 1.0 (final), both sides, for logging in with the worker
//! ID: the Authorization Request and its signed request object ([`request`]), the Digital
//! Credentials Query Language ([`dcql`]), the Authorization Response ([`response`]) and, with
//! the `jwe` feature, its encryption ([`jwe`]: `direct_post.jwt`, ECDH-ES on P-256,
//! A128GCM/A256GCM, as HAIP 1.0 §5 profiles it).
//!
//! Nothing here does I/O or reads a clock. The presentation itself is the gate's: an SD-JWT VC
//! with a KB-JWT whose `aud` is the full `client_id` (prefix included, §B.3.6) and whose `nonce`
//! is the request's; a verifier checks it with [`crate::sdjwt::verify_using`] like any gate.

pub mod dcql;
#[cfg(feature = "jwe")]
pub mod jwe;
pub mod request;
pub mod response;

pub use dcql::{ClaimsQuery, CredentialQuery, DcqlError, DcqlQuery};
pub use request::{
    client_did, is_response_encryption_key, peek_client_id, verify_request_object,
    AuthorizationRequest, Invocation, RequestError, DID_CLIENT_ID_PREFIX, DIRECT_POST_JWT,
    OPENID4VP_SCHEME, REQUEST_OBJECT_MEDIA_TYPE, REQUEST_OBJECT_TYP,
};
pub use response::{check_answers, response_payload, AuthorizationResponse, ResponseError};
