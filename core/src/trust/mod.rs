//! Issuer trust: which key must have signed an issuer's JWT.

mod resolver;

pub use resolver::{IssuerResolver, PinnedKeys, ResolveError};
