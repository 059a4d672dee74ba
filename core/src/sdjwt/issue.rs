//! Issuance: turn a claim tree into an Issuer-signed JWT plus disclosures (RFC 9901 §4).

use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};

use super::claims::ClaimNode;
use super::disclosure::{decoy_digest, Disclosure};
use super::{SdAlg, ARRAY_DIGEST_KEY, SD_ALG_CLAIM, SD_CLAIM};
use crate::jose::{sign_compact, SignError, Signer};

/// How many decoy digests to add to each object that has selectively disclosable members
/// (RFC 9901 §4.2.5): a number drawn uniformly from `min..=max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoys {
    /// Fewest decoys per object.
    pub min: usize,
    /// Most decoys per object.
    pub max: usize,
}

impl Decoys {
    /// No decoys.
    pub const NONE: Decoys = Decoys { min: 0, max: 0 };

    fn draw(self, rng: &mut (impl CryptoRng + RngCore)) -> usize {
        let span = self.max.saturating_sub(self.min) as u64 + 1;
        // Modulo bias is irrelevant here: the count only needs to vary.
        self.min + (rng.next_u64() % span) as usize
    }
}

/// Issuance settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueOptions {
    /// The digest algorithm (`_sd_alg`).
    pub sd_alg: SdAlg,
    /// Decoy digests per object with disclosable members.
    pub decoys: Decoys,
    /// The JWS `typ` header, e.g. `dc+sd-jwt`.
    pub typ: Option<String>,
}

impl Default for IssueOptions {
    fn default() -> Self {
        Self {
            sd_alg: SdAlg::Sha256,
            decoys: Decoys { min: 1, max: 3 },
            typ: None,
        }
    }
}

/// Why issuance failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The root of the claim tree is not an object.
    #[error("the claims to issue must be a JSON object")]
    RootNotObject,
    /// A claim uses a name the SD-JWT format reserves (`_sd`, `_sd_alg`, `...`).
    #[error("claim name `{0}` is reserved by SD-JWT")]
    ReservedName(&'static str),
    /// The same claim name appears twice in one object.
    #[error("a claim name appears twice in one object")]
    DuplicateName,
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// An issued SD-JWT: the compact form with every disclosure, `<JWT>~<D1>~…~<Dn>~`.
#[derive(Clone, Debug)]
pub struct IssuedSdJwt {
    /// The Issuer-signed JWT.
    pub jwt: String,
    /// All disclosures, in issuance order.
    pub disclosures: Vec<Disclosure>,
}

impl IssuedSdJwt {
    /// The compact serialization with all disclosures and no key binding.
    pub fn compact(&self) -> String {
        let mut out = self.jwt.clone();
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d.as_str());
            out.push('~');
        }
        out
    }
}

/// Issues `claims` (an object tree) as an SD-JWT signed by `signer`.
pub fn issue(
    claims: &ClaimNode,
    options: &IssueOptions,
    signer: &dyn Signer,
    rng: &mut (impl CryptoRng + RngCore),
) -> Result<IssuedSdJwt, IssueError> {
    let mut disclosures = Vec::new();
    let mut payload = match conceal(claims, options, rng, &mut disclosures)? {
        Value::Object(map) => map,
        _ => return Err(IssueError::RootNotObject),
    };
    payload.insert(
        SD_ALG_CLAIM.to_owned(),
        Value::String(options.sd_alg.as_str().to_owned()),
    );
    let mut header = Map::new();
    if let Some(typ) = &options.typ {
        header.insert("typ".to_owned(), Value::String(typ.clone()));
    }
    let jwt = sign_compact(header, &payload, signer)?;
    Ok(IssuedSdJwt { jwt, disclosures })
}

/// Replaces disclosable members and elements by digests, depth first, collecting disclosures.
fn conceal(
    node: &ClaimNode,
    options: &IssueOptions,
    rng: &mut (impl CryptoRng + RngCore),
    out: &mut Vec<Disclosure>,
) -> Result<Value, IssueError> {
    match node {
        ClaimNode::Leaf(value) => Ok(value.clone()),
        ClaimNode::Object(members) => {
            let mut map = Map::new();
            let mut digests = Vec::new();
            for member in members {
                let name = member.name.as_str();
                for reserved in [SD_CLAIM, SD_ALG_CLAIM, ARRAY_DIGEST_KEY] {
                    if name == reserved {
                        return Err(IssueError::ReservedName(reserved));
                    }
                }
                if map.contains_key(name) {
                    return Err(IssueError::DuplicateName);
                }
                let value = conceal(&member.node, options, rng, out)?;
                if member.disclosable {
                    let disclosure = Disclosure::object_property(name, value, rng);
                    digests.push(disclosure.digest(options.sd_alg));
                    out.push(disclosure);
                    // Claim names must stay unique even across disclosures.
                    map.insert(name.to_owned(), Value::Null);
                } else {
                    map.insert(name.to_owned(), value);
                }
            }
            if members.iter().any(|m| m.disclosable) {
                map.retain(|name, _| {
                    !members
                        .iter()
                        .any(|m| m.disclosable && m.name.as_str() == name.as_str())
                });
                for _ in 0..options.decoys.draw(rng) {
                    digests.push(decoy_digest(options.sd_alg, rng));
                }
                // Sorted, so the order of digests reveals nothing about the order of claims.
                digests.sort_unstable();
                map.insert(
                    SD_CLAIM.to_owned(),
                    Value::Array(digests.into_iter().map(Value::String).collect()),
                );
            }
            Ok(Value::Object(map))
        }
        ClaimNode::Array(elements) => {
            let mut items = Vec::with_capacity(elements.len());
            for element in elements {
                let value = conceal(&element.node, options, rng, out)?;
                if element.disclosable {
                    let disclosure = Disclosure::array_element(value, rng);
                    let mut reference = Map::new();
                    reference.insert(
                        ARRAY_DIGEST_KEY.to_owned(),
                        Value::String(disclosure.digest(options.sd_alg)),
                    );
                    out.push(disclosure);
                    items.push(Value::Object(reference));
                } else {
                    items.push(value);
                }
            }
            Ok(Value::Array(items))
        }
    }
}
