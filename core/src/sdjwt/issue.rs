//! Issuance: turn a claim tree into an Issuer-signed JWT plus disclosures (RFC 9901 §4).

use std::cmp::Ordering;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::claims::ClaimNode;
use super::disclosure::{decoy_digest, Disclosure, SALT_BYTES};
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

    pub(crate) fn draw(self, rng: &mut (impl CryptoRng + RngCore)) -> usize {
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

/// A disclosure digest as base64url text, held without allocating (SHA-512's is 86 characters).
#[derive(Clone, Copy)]
pub(crate) struct DigestText {
    text: [u8; 86],
    len: usize,
}

impl DigestText {
    /// The digest of `input` with `alg`, base64url.
    fn of(alg: SdAlg, input: &[u8]) -> Self {
        let mut text = [0u8; 86];
        let written = match alg {
            SdAlg::Sha256 => URL_SAFE_NO_PAD.encode_slice(Sha256::digest(input), &mut text),
            SdAlg::Sha384 => URL_SAFE_NO_PAD.encode_slice(Sha384::digest(input), &mut text),
            SdAlg::Sha512 => URL_SAFE_NO_PAD.encode_slice(Sha512::digest(input), &mut text),
        };
        // 86 bytes hold the base64url of every supported digest (at most 64 bytes).
        Self {
            text,
            len: written.unwrap_or(0),
        }
    }

    /// The base64url bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

impl PartialEq for DigestText {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for DigestText {}

impl PartialOrd for DigestText {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DigestText {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Appends `text` as a JSON string (serde_json's escaping, so the bytes are those a
/// `Value::String` serializes to).
pub(crate) fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a string to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Appends `n` as a JSON number.
pub(crate) fn push_json_u64(out: &mut Vec<u8>, n: u64) {
    let _ = serde_json::to_writer(&mut *out, &n);
}

/// Appends `"_sd":[…]`: the digests sorted (as [`issue`] sorts them) and quoted.
pub(crate) fn push_sd_member(out: &mut Vec<u8>, digests: &mut [DigestText]) {
    digests.sort_unstable();
    out.extend_from_slice(b"\"_sd\":[");
    for (i, d) in digests.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(d.as_bytes());
        out.push(b'"');
    }
    out.push(b']');
}

/// Writes one SD-JWT's compact serialization as text, without building `serde_json::Value`
/// trees: the caller writes the JSON of each disclosed value and of the payload, this writes
/// the disclosures (fresh 128-bit salts, as [`Disclosure`] makes them), their digests, and signs.
///
/// It calls the RNG exactly as [`issue`] does for the same sequence of disclosures and decoys,
/// so both produce the same text from the same RNG state (tested against each other).
pub(crate) struct CompactWriter {
    sd_alg: SdAlg,
    /// The disclosures written so far, each followed by `~`.
    tail: String,
    /// One disclosure's JSON.
    json: Vec<u8>,
}

impl CompactWriter {
    /// An empty writer using `sd_alg` for digests.
    pub(crate) fn new(sd_alg: SdAlg) -> Self {
        Self {
            sd_alg,
            tail: String::with_capacity(2048),
            json: Vec::with_capacity(256),
        }
    }

    /// Forgets the disclosures written, to start the next SD-JWT.
    pub(crate) fn clear(&mut self) {
        self.tail.clear();
    }

    /// Adds the disclosure `[salt, name, value]` (`value_json`: compact JSON text) with a fresh
    /// salt; returns its digest.
    pub(crate) fn property(
        &mut self,
        name: &str,
        value_json: &[u8],
        rng: &mut (impl CryptoRng + RngCore),
    ) -> DigestText {
        self.disclosure(Some(name), value_json, rng)
    }

    /// Adds the array-element disclosure `[salt, value]` with a fresh salt; returns its digest.
    pub(crate) fn element(
        &mut self,
        value_json: &[u8],
        rng: &mut (impl CryptoRng + RngCore),
    ) -> DigestText {
        self.disclosure(None, value_json, rng)
    }

    fn disclosure(
        &mut self,
        name: Option<&str>,
        value_json: &[u8],
        rng: &mut (impl CryptoRng + RngCore),
    ) -> DigestText {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill_bytes(&mut salt);
        let json = &mut self.json;
        json.clear();
        // The salt's base64url needs no JSON escaping.
        json.extend_from_slice(b"[\"");
        let mut salt_text = [0u8; 2 * SALT_BYTES];
        let salt_len = URL_SAFE_NO_PAD
            .encode_slice(salt, &mut salt_text)
            .unwrap_or(0);
        json.extend_from_slice(&salt_text[..salt_len]);
        json.push(b'"');
        if let Some(name) = name {
            json.push(b',');
            push_json_str(json, name);
        }
        json.push(b',');
        json.extend_from_slice(value_json);
        json.push(b']');
        let start = self.tail.len();
        URL_SAFE_NO_PAD.encode_string(&*json, &mut self.tail);
        let digest = DigestText::of(self.sd_alg, &self.tail.as_bytes()[start..]);
        self.tail.push('~');
        digest
    }

    /// Adds `decoys.draw` decoy digests to `digests` (as [`issue`] does for an object).
    pub(crate) fn decoys(
        &self,
        decoys: Decoys,
        digests: &mut Vec<DigestText>,
        rng: &mut (impl CryptoRng + RngCore),
    ) {
        for _ in 0..decoys.draw(rng) {
            let mut bytes = [0u8; SALT_BYTES];
            rng.fill_bytes(&mut bytes);
            digests.push(DigestText::of(self.sd_alg, &bytes));
        }
    }

    /// Signs `payload_json` under the encoded header and returns the compact SD-JWT,
    /// `<header>.<payload>.<signature>~<D1>~…~<Dn>~`.
    pub(crate) fn finish(
        &self,
        header_b64: &str,
        payload_json: &[u8],
        signer: &dyn Signer,
    ) -> Result<String, SignError> {
        let mut out = String::with_capacity(
            header_b64.len() + payload_json.len() / 3 * 4 + 100 + self.tail.len(),
        );
        out.push_str(header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload_json, &mut out);
        let signature = signer.sign(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        out.push('~');
        out.push_str(&self.tail);
        Ok(out)
    }
}
