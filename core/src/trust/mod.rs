//! Issuer trust: which key must have signed an issuer's JWT.

pub mod bundle;
mod resolver;

pub use bundle::{BundleError, BundleIssuer, TrustBundle, TrustBundleBuilder};
pub use resolver::{IssuerResolver, PinnedKeys, ResolveError};
