//! JOSE: algorithms, public JWKs, compact JWS and the `Signer` trait.

mod alg;
mod jwk;
mod jws;
mod signature_cache;
mod signer;

pub use alg::Algorithm;
pub use jwk::{JwkError, P256PublicKey, PublicKey};
pub(crate) use jws::encoded_header;
pub use jws::{sign_compact, verify_signature, CompactJws, JwsError, JwsHeader};
pub use signature_cache::{SignatureCache, SignatureVerifier, VerifyEverySignature};
pub use signer::{SignError, Signer, SoftwareSigner, WithKeyId};
