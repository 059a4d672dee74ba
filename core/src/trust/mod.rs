//! Issuer trust: which key must have signed an issuer's JWT.

pub mod bundle;
mod jwks;
pub(crate) mod resolver;

pub use bundle::{BundleError, BundleIssuer, TrustBundle, TrustBundleBuilder};
pub use jwks::{PinnedJwkError, MAX_JWKS_KEYS};
pub use resolver::{IssuerResolver, PinnedKeys, ResolveError, MAX_CANDIDATE_KEYS};
