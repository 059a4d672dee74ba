//! Processing disclosures against the Issuer-signed payload (RFC 9901 §7.1 step 3–5), shared by
//! the holder (who also needs each disclosure's location) and the verifier.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::error::VerifyError;
use super::path::PathElem;
use super::{SdAlg, ARRAY_DIGEST_KEY, SD_ALG_CLAIM, SD_CLAIM};

/// Where one disclosure landed in the processed payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Its location (array positions count every revealed element).
    pub(crate) location: Vec<PathElem>,
}

/// The processed payload and, per disclosure (same order as given), where it was placed.
pub(crate) struct Revealed {
    pub(crate) payload: Map<String, Value>,
    pub(crate) placements: Vec<Placement>,
}

struct Revealer<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<String, usize>,
    placements: Vec<Option<Placement>>,
    seen_digests: HashSet<String>,
    max_depth: usize,
}

/// Runs §7.1 steps 3–5 over `payload` (already signature-checked) with `disclosures`.
pub(crate) fn reveal(
    mut payload: Map<String, Value>,
    disclosures: &[Disclosure],
    sd_alg: SdAlg,
    max_depth: usize,
) -> Result<Revealed, VerifyError> {
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (index, disclosure) in disclosures.iter().enumerate() {
        if by_digest.insert(disclosure.digest(sd_alg), index).is_some() {
            return Err(VerifyError::DuplicateDisclosure);
        }
    }
    payload.remove(SD_ALG_CLAIM);
    let mut revealer = Revealer {
        disclosures,
        by_digest,
        placements: vec![None; disclosures.len()],
        seen_digests: HashSet::new(),
        max_depth,
    };
    let mut location = Vec::new();
    let payload = revealer.object(payload, &mut location, 0)?;
    let placements = revealer
        .placements
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(VerifyError::UnreferencedDisclosure)?;
    Ok(Revealed {
        payload,
        placements,
    })
}

impl Revealer<'_> {
    fn value(
        &mut self,
        value: Value,
        location: &mut Vec<PathElem>,
        depth: usize,
    ) -> Result<Value, VerifyError> {
        if depth > self.max_depth {
            return Err(VerifyError::TooDeep {
                max: self.max_depth,
            });
        }
        match value {
            Value::Object(map) => self.object(map, location, depth).map(Value::Object),
            Value::Array(items) => self.array(items, location, depth).map(Value::Array),
            other => Ok(other),
        }
    }

    /// Finds the disclosure a digest refers to; every digest may occur once only.
    fn lookup(&mut self, digest: String) -> Result<Option<usize>, VerifyError> {
        let index = self.by_digest.get(&digest).copied();
        if !self.seen_digests.insert(digest) {
            return Err(VerifyError::RepeatedDigest);
        }
        Ok(index)
    }

    /// Processes the value of the member `name`. Only objects and arrays can hold disclosures
    /// and so need their location; a leaf gets the depth check alone.
    fn member(
        &mut self,
        name: &str,
        value: Value,
        location: &mut Vec<PathElem>,
        depth: usize,
    ) -> Result<Value, VerifyError> {
        if !(value.is_object() || value.is_array()) {
            return self.value(value, location, depth);
        }
        location.push(PathElem::Key(name.to_owned()));
        let value = self.value(value, location, depth);
        location.pop();
        value
    }

    fn object(
        &mut self,
        mut map: Map<String, Value>,
        location: &mut Vec<PathElem>,
        depth: usize,
    ) -> Result<Map<String, Value>, VerifyError> {
        let digests = match map.remove(SD_CLAIM) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    _ => Err(VerifyError::MalformedDigestReference),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(VerifyError::MalformedDigestReference),
        };
        // Processed in place: the members in name order, then the disclosed ones added.
        for (name, value) in map.iter_mut() {
            let taken = std::mem::take(value);
            *value = self.member(name, taken, location, depth + 1)?;
        }
        for digest in digests {
            let Some(index) = self.lookup(digest)? else {
                continue; // a decoy, or a claim the holder did not disclose
            };
            let disclosure = &self.disclosures[index];
            let Some(name) = disclosure.name() else {
                return Err(VerifyError::WrongDisclosureKind);
            };
            if name == SD_CLAIM || name == ARRAY_DIGEST_KEY {
                return Err(VerifyError::ReservedClaimName);
            }
            if map.contains_key(name) {
                return Err(VerifyError::ClaimCollision);
            }
            let mut here = Vec::with_capacity(location.len() + 1);
            here.extend_from_slice(location);
            here.push(PathElem::Key(name.to_owned()));
            self.placements[index] = Some(Placement { location: here });
            let value = self.member(name, disclosure.value().clone(), location, depth + 1)?;
            map.insert(name.to_owned(), value);
        }
        Ok(map)
    }

    fn array(
        &mut self,
        items: Vec<Value>,
        location: &mut Vec<PathElem>,
        depth: usize,
    ) -> Result<Vec<Value>, VerifyError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let position = out.len();
            let reference = match &item {
                Value::Object(map) if map.len() == 1 => map.get(ARRAY_DIGEST_KEY),
                _ => None,
            };
            let value = match reference {
                None => item,
                Some(Value::String(digest)) => {
                    let Some(index) = self.lookup(digest.clone())? else {
                        continue; // undisclosed element or decoy: removed
                    };
                    let disclosure = &self.disclosures[index];
                    if disclosure.name().is_some() {
                        return Err(VerifyError::WrongDisclosureKind);
                    }
                    let mut here = location.clone();
                    here.push(PathElem::Index(position));
                    self.placements[index] = Some(Placement { location: here });
                    disclosure.value().clone()
                }
                Some(_) => return Err(VerifyError::MalformedDigestReference),
            };
            location.push(PathElem::Index(position));
            let value = self.value(value, location, depth + 1)?;
            location.pop();
            out.push(value);
        }
        Ok(out)
    }
}
