//! Verifying a presentation: RFC 9901 §7.1 and §7.3, plus the SD-JWT VC rules.

use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::error::VerifyError;
use super::holder_keys::{DecodeHolderKeys, HolderKeys};
use super::kb::{holder_key, verify_kb_jwt, KeyBinding};
use super::path::{ClaimPath, PathElem, PathSegment};
use super::policy::VerifyPolicy;
use super::reveal::{reveal, Placement};
use super::serialized::{split, Parts};
use super::SdAlg;
use crate::jose::{CompactJws, JwsHeader, PublicKey, SignatureVerifier, VerifyEverySignature};
use crate::time::numeric_date;
use crate::trust::resolver::verify_with_candidates;
use crate::trust::IssuerResolver;

/// The SD-JWT VC `typ`, and the legacy one accepted during the transition (draft 18 §2.2.1).
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
const LEGACY_SD_JWT_VC_TYP: &str = "vc+sd-jwt";

/// Claims an SD-JWT VC must never carry in a disclosure (draft-ietf-oauth-sd-jwt-vc-18 §2.2.2).
const VC_ALWAYS_VISIBLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// An accepted presentation.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The processed payload: disclosed claims in place; `_sd`, `_sd_alg` and undisclosed
    /// elements removed; `cnf` kept.
    pub payload: Map<String, Value>,
    /// The Issuer-signed JWT's header.
    pub header: JwsHeader,
    /// The key that verified the issuer signature.
    pub issuer_key: PublicKey,
    /// The holder key from `cnf`, if any.
    pub holder_key: Option<PublicKey>,
    /// The checked key binding, if a KB-JWT was presented.
    pub key_binding: Option<KeyBinding>,
    /// How many disclosures were presented.
    pub disclosed: usize,
}

/// The SD-JWT part, checked: the shared core of [`verify`] and the holder's receive step.
pub(crate) struct CheckedSdJwt {
    pub(crate) parts: Parts,
    pub(crate) header: JwsHeader,
    pub(crate) issuer_key: PublicKey,
    pub(crate) sd_alg: SdAlg,
    pub(crate) disclosures: Vec<Disclosure>,
    pub(crate) payload: Map<String, Value>,
    pub(crate) placements: Vec<Placement>,
}

/// Verifies a presentation (compact, or JWS JSON serialization) under `policy`, with issuer keys
/// from `issuers` and the time `now` (unix seconds).
pub fn verify(
    presentation: &str,
    policy: &VerifyPolicy,
    issuers: &dyn IssuerResolver,
    now: u64,
) -> Result<Verified, VerifyError> {
    verify_with(presentation, policy, issuers, &DecodeHolderKeys, now)
}

/// [`verify`], with the holder key from `cnf.jwk` decoded by `holder_keys` (a
/// [`HolderKeyCache`](super::HolderKeyCache) on a verifier that sees the same holders again).
/// Same checks, same errors.
pub fn verify_with(
    presentation: &str,
    policy: &VerifyPolicy,
    issuers: &dyn IssuerResolver,
    holder_keys: &dyn HolderKeys,
    now: u64,
) -> Result<Verified, VerifyError> {
    let memos = VerifyMemos {
        holder_keys,
        issuer_signatures: &VerifyEverySignature,
    };
    verify_using(presentation, policy, issuers, memos, now)
}

/// What a verifier may remember between presentations: decoded holder keys and Issuer-signed
/// JWT signatures that verified. Both are memos of pure functions, so [`verify_using`] accepts
/// and rejects exactly what [`verify`] does, with the same errors.
#[derive(Clone, Copy)]
pub struct VerifyMemos<'a> {
    /// Decodes `cnf.jwk` ([`DecodeHolderKeys`](super::DecodeHolderKeys) or a
    /// [`HolderKeyCache`](super::HolderKeyCache)).
    pub holder_keys: &'a dyn HolderKeys,
    /// Checks the issuer's signature ([`VerifyEverySignature`] or a
    /// [`SignatureCache`](crate::jose::SignatureCache)). The KB-JWT, new for every
    /// presentation, is always verified in full.
    pub issuer_signatures: &'a dyn SignatureVerifier,
}

/// [`verify`], with the memos a gate keeps: a worker shows the same credential every day, so its
/// holder key and issuer signature are decoded and checked once, then recognised.
pub fn verify_using(
    presentation: &str,
    policy: &VerifyPolicy,
    issuers: &dyn IssuerResolver,
    memos: VerifyMemos<'_>,
    now: u64,
) -> Result<Verified, VerifyError> {
    let checked = check_sd_jwt(presentation, policy, issuers, memos.issuer_signatures, now)?;
    let holder = holder_key(&checked.payload, memos.holder_keys)?;
    let key_binding = match (checked.parts.kb_jwt(), &policy.key_binding) {
        (None, Some(_)) => return Err(VerifyError::KbMissing),
        (None, None) => None,
        (Some(kb), _) => {
            let holder = holder.as_ref().ok_or(VerifyError::HolderKey(
                crate::jose::JwkError::MissingMember("cnf"),
            ))?;
            Some(verify_kb_jwt(
                kb,
                checked.parts.sd_jwt(),
                checked.sd_alg,
                holder,
                policy,
                now,
            )?)
        }
    };
    Ok(Verified {
        disclosed: checked.disclosures.len(),
        payload: checked.payload,
        header: checked.header,
        issuer_key: checked.issuer_key,
        holder_key: holder,
        key_binding,
    })
}

/// RFC 9901 §7.1 and the SD-JWT VC rules, without key binding.
pub(crate) fn check_sd_jwt(
    presentation: &str,
    policy: &VerifyPolicy,
    issuers: &dyn IssuerResolver,
    signatures: &dyn SignatureVerifier,
    now: u64,
) -> Result<CheckedSdJwt, VerifyError> {
    let depth = policy.limits.max_json_depth;
    let parts = split(presentation, &policy.limits)?;
    let jws = CompactJws::parse(parts.issuer_jwt(), depth).map_err(VerifyError::IssuerJws)?;
    let payload = jws
        .payload_object(depth)
        .map_err(VerifyError::IssuerPayload)?;
    let iss = payload.get("iss").and_then(Value::as_str);
    // `iss` is read before the signature is checked only to choose the keys to try.
    let issuer_key = verify_with_candidates(&jws, iss, issuers, &policy.algorithms, signatures)
        .map_err(|e| match e {
            Ok(resolve) => VerifyError::Issuer(resolve),
            Err(jws) => VerifyError::IssuerJws(jws),
        })?;
    check_typ(jws.header.typ.as_deref(), policy)?;
    let sd_alg = match payload.get(super::SD_ALG_CLAIM) {
        None => SdAlg::Sha256,
        Some(Value::String(name)) => SdAlg::from_name(name).ok_or(VerifyError::SdAlg)?,
        Some(_) => return Err(VerifyError::SdAlg),
    };
    if !policy.sd_algs.contains(&sd_alg) {
        return Err(VerifyError::SdAlg);
    }
    let disclosures = parts
        .disclosures()
        .enumerate()
        .map(|(index, text)| {
            Disclosure::parse(text, depth)
                .map_err(|error| VerifyError::DisclosureMalformed { index, error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let revealed = reveal(payload, &disclosures, sd_alg, depth)?;
    if policy.sd_jwt_vc {
        check_vc_rules(&revealed.payload, &revealed.placements)?;
    }
    if let Some(accepted) = &policy.accepted_vcts {
        let vct = revealed.payload.get("vct").and_then(Value::as_str);
        if !vct.is_some_and(|vct| accepted.iter().any(|a| a == vct)) {
            return Err(VerifyError::VctNotAccepted);
        }
    }
    check_times(&revealed.payload, policy.leeway, now)?;
    for path in &policy.required_claims {
        if !path_present(&revealed.payload, path) {
            return Err(VerifyError::MissingClaim(path.to_string()));
        }
    }
    Ok(CheckedSdJwt {
        header: jws.header,
        parts,
        issuer_key,
        sd_alg,
        disclosures,
        payload: revealed.payload,
        placements: revealed.placements,
    })
}

fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    lower
        .strip_prefix("application/")
        .map(str::to_owned)
        .unwrap_or(lower)
}

fn check_typ(typ: Option<&str>, policy: &VerifyPolicy) -> Result<(), VerifyError> {
    let typ = typ.map(normalize_typ);
    match (&policy.expected_typ, policy.sd_jwt_vc) {
        (Some(expected), _) if typ.as_deref() != Some(normalize_typ(expected).as_str()) => {
            Err(VerifyError::Typ)
        }
        (None, true) if !matches!(typ.as_deref(), Some(SD_JWT_VC_TYP | LEGACY_SD_JWT_VC_TYP)) => {
            Err(VerifyError::Typ)
        }
        _ => Ok(()),
    }
}

fn check_vc_rules(
    payload: &Map<String, Value>,
    placements: &[Placement],
) -> Result<(), VerifyError> {
    for placement in placements {
        if let [PathElem::Key(name)] = placement.location.as_slice() {
            if let Some(claim) = VC_ALWAYS_VISIBLE.iter().find(|c| **c == name.as_str()) {
                return Err(VerifyError::VcClaimDisclosed(claim));
            }
        }
    }
    match payload.get("vct") {
        Some(Value::String(_)) => Ok(()),
        _ => Err(VerifyError::MissingClaim("vct".to_owned())),
    }
}

fn check_times(payload: &Map<String, Value>, leeway: u64, now: u64) -> Result<(), VerifyError> {
    let time = |name: &'static str| -> Result<Option<u64>, VerifyError> {
        match payload.get(name) {
            None => Ok(None),
            Some(value) => numeric_date(value)
                .map(Some)
                .ok_or(VerifyError::TimeClaim(name)),
        }
    };
    if let Some(exp) = time("exp")? {
        if now >= exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
    }
    if let Some(nbf) = time("nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(VerifyError::NotYetValid);
        }
    }
    if let Some(iat) = time("iat")? {
        if iat > now.saturating_add(leeway) {
            return Err(VerifyError::IssuedInFuture);
        }
    }
    Ok(())
}

/// Whether `path` names a present value (for `*`, at least one element).
pub(crate) fn path_present(payload: &Map<String, Value>, path: &ClaimPath) -> bool {
    fn walk(value: &Value, rest: &[PathSegment]) -> bool {
        let Some((first, rest)) = rest.split_first() else {
            return true;
        };
        match (first, value) {
            (PathSegment::Key(k), Value::Object(map)) => map.get(k).is_some_and(|v| walk(v, rest)),
            (PathSegment::Index(i), Value::Array(items)) => {
                items.get(*i).is_some_and(|v| walk(v, rest))
            }
            (PathSegment::AllElements, Value::Array(items)) => items.iter().any(|v| walk(v, rest)),
            _ => false,
        }
    }
    let Some((PathSegment::Key(first), rest)) = path.0.split_first() else {
        return false;
    };
    payload.get(first).is_some_and(|v| walk(v, rest))
}
