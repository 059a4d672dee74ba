//! The gate's decision: scanned text in, allow or deny with a named reason out.
//!
//! Order of checks, each deny naming its rule:
//! 1. `GV1:` transport (`bad_qr`), or the text is taken as a compact presentation;
//! 2. which nonce is expected: the challenge the request names, or the one the KB-JWT carries
//!    when it is an outstanding challenge of this gate (challenge mode); none otherwise
//!    (rotating mode);
//! 3. core `verify` under the gate policy (signature, issuer trust, `vct` in the gate's
//!    `accepted_vct`, validity, KB-JWT `aud`, `nonce`, `iat` window, `sd_hash`, the profile's
//!    claims): the core rule code;
//! 4. the credential type (`vct_not_accepted`: not in the gate's `accepted_vct`, or not one a
//!    trust bundle lets this issuer issue); a challenge that is unknown or expired (`challenge_unknown`), or rotating mode when the gate
//!    accepts only challenges;
//! 5. credential status from the cached lists: `revoked`, `suspended`, `status_other`,
//!    `status_unknown` (no fresh list; denied unless `unknown_status = "allow"`), or the status
//!    rule: `status_claim_missing` (no `status` claim; denied unless `require_status = false`,
//!    which allows it as credential status `none`), index out of range, ...;
//! 6. one use: the challenge is consumed, and the KB-JWT's replay key (a hash of what the holder
//!    signed, never of the signature: see [`KeyBinding::replay_key`]) must be new to the replay
//!    cache (`replayed`); a code made before the gate's replay history starts is refused
//!    (`code_before_restart`: the previous run may have let it in). This comes last, atomically,
//!    so a code is spent only by an allowed entry.
//!
//! [`KeyBinding::replay_key`]: govid_core::sdjwt::KeyBinding::replay_key
//!
//! No I/O here: the caches are read, never the network.

use std::sync::Mutex;

use govid_core::credential::GateProfile;
use govid_core::jose::SignatureVerifier;
use govid_core::qr::decode_payload;
use govid_core::replay::{ReplayCache, ReplayError};
use govid_core::sdjwt::{
    verify_using, ClaimPath, HolderKeyCache, PathSegment, VerifyMemos, VerifyPolicy,
};
use govid_core::status::{check_credential_status, StatusError, StatusOutcome, StatusReference};
use serde_json::{Map, Value};

use super::cache::{Cache, StatusView};
use super::challenge::Challenges;
use super::config::{Mode, UnknownStatus};
use super::gatelog::Salt;
use super::Gate;

/// A decision and what may be shown or logged about it.
#[derive(Clone, Debug)]
pub(crate) struct Decision {
    pub(crate) allow: bool,
    /// `ok` when allowed; otherwise the rule that denied.
    pub(crate) reason: &'static str,
    /// The profile's claims (allowed decisions only).
    pub(crate) disclosed: Map<String, Value>,
    /// `valid`, `revoked`, `suspended`, `other`, `unknown`, `none` (no `status` claim, allowed by
    /// `require_status = false`); `None` when not reached.
    pub(crate) credential_status: Option<&'static str>,
    /// The verified `iss`; `None` when the credential did not verify.
    pub(crate) issuer: Option<String>,
    /// Salted hash of the issuer-signed JWT, when it verified.
    pub(crate) credential_hash: Option<String>,
    /// The claims the log keeps (`keep_claims`), when it verified and any are configured.
    pub(crate) kept_claims: Option<Value>,
    /// `challenge` or `rotating`; `None` before it was known.
    pub(crate) mode: Option<&'static str>,
    /// The allowed code's replay key and until when the replay cache keeps it (for the log).
    pub(crate) replay: Option<([u8; 32], u64)>,
}

impl Decision {
    fn deny(reason: &'static str) -> Self {
        Self {
            allow: false,
            reason,
            disclosed: Map::new(),
            credential_status: None,
            issuer: None,
            credential_hash: None,
            kept_claims: None,
            mode: None,
            replay: None,
        }
    }

    /// `allow` or `deny`.
    pub(crate) fn word(&self) -> &'static str {
        if self.allow {
            "allow"
        } else {
            "deny"
        }
    }
}

/// What the decision reads and updates besides the gate.
pub(crate) struct Context<'a> {
    pub(crate) cache: &'a Cache,
    pub(crate) replay: &'a Mutex<ReplayCache>,
    /// Holder keys decoded before (a pure function of the JWK, so the same accept/reject).
    pub(crate) holder_keys: &'a HolderKeyCache,
    /// Issuer signatures verified before (a memo: the same accept/reject), or every one checked.
    pub(crate) issuer_signatures: &'a dyn SignatureVerifier,
    pub(crate) challenges: &'a Challenges,
    pub(crate) salt: &'a Salt,
    /// Woken when a new status list URI is seen.
    pub(crate) refresh_now: &'a tokio::sync::Notify,
}

/// The gate policy for a nonce (`None`: rotating codes).
pub(crate) fn policy_with_nonce(base: &VerifyPolicy, nonce: Option<String>) -> VerifyPolicy {
    let mut policy = base.clone();
    if let Some(kb) = policy.key_binding.as_mut() {
        kb.nonce = nonce;
    }
    policy
}

/// Decides on `text` (a scanned `GV1:` payload or a compact presentation) at `now`.
/// `named_challenge` is the nonce of the challenge the request says it answers, if any.
pub(crate) fn decide(
    gate: &Gate,
    ctx: &Context<'_>,
    text: &str,
    named_challenge: Option<&str>,
    now: u64,
) -> Decision {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let decoded;
    let presentation = if text.starts_with("GV") || text.starts_with("gv") {
        match decode_payload(text) {
            Ok(p) => {
                decoded = p;
                decoded.as_str()
            }
            Err(_) => return Decision::deny("bad_qr"),
        }
    } else {
        text
    };

    // Which challenge, if any, this answers.
    let challenge = match named_challenge {
        Some(n) => ctx.challenges.is_pending(n, now).then(|| n.to_owned()),
        None => peek_kb_nonce(presentation).filter(|n| ctx.challenges.is_pending(n, now)),
    };
    let challenge_wanted = named_challenge.is_some() || gate.config.mode == Mode::Challenge;
    let owned_policy;
    let policy = match &challenge {
        Some(nonce) => {
            owned_policy = policy_with_nonce(&gate.policy, Some(nonce.clone()));
            &owned_policy
        }
        None => &gate.policy,
    };

    let expectation = Expectation {
        policy,
        accepted_vct: &gate.config.accepted_vct,
        disclose: &gate.config.profile.claims(),
        mode: if challenge.is_some() {
            "challenge"
        } else {
            "rotating"
        },
        refuse_after_verify: (challenge.is_none() && challenge_wanted)
            .then_some("challenge_unknown"),
        challenge: challenge.as_deref(),
    };
    check_presentation(gate, ctx, presentation, &expectation, now)
}

/// What a presentation is checked against besides the gate's trust, status and replay cache:
/// the gate's code (rotating or challenge) or a login's request.
pub(crate) struct Expectation<'a> {
    /// The verify policy: `aud`, `nonce`, the claims required, the KB-JWT window.
    pub(crate) policy: &'a VerifyPolicy,
    /// Credential types taken (with a bundle issuer, also the ones the bundle lets it issue).
    pub(crate) accepted_vct: &'a [String],
    /// The claims an allowed decision discloses.
    pub(crate) disclose: &'a [ClaimPath],
    /// `challenge`, `rotating`, `login`.
    pub(crate) mode: &'static str,
    /// A reason to refuse once the credential verified and its type is taken (the gate's
    /// `challenge_unknown`).
    pub(crate) refuse_after_verify: Option<&'static str>,
    /// The gate challenge this answers, consumed when everything else passed.
    pub(crate) challenge: Option<&'a str>,
}

/// Checks one presentation (steps 3 to 6 of the module's list): the one verification path of
/// the gate and the login service.
pub(crate) fn check_presentation(
    gate: &Gate,
    ctx: &Context<'_>,
    presentation: &str,
    expectation: &Expectation<'_>,
    now: u64,
) -> Decision {
    let memos = VerifyMemos {
        holder_keys: ctx.holder_keys,
        issuer_signatures: ctx.issuer_signatures,
    };
    let verified = match verify_using(presentation, expectation.policy, &gate.trust, memos, now) {
        Ok(v) => v,
        Err(e) => return Decision::deny(e.rule()),
    };
    let mode = expectation.mode;
    let payload = &verified.payload;
    let issuer = payload
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let issuer_jwt = presentation.split('~').next().unwrap_or_default();
    let mut decision = Decision {
        allow: false,
        reason: "ok",
        disclosed: Map::new(),
        credential_status: None,
        issuer,
        credential_hash: Some(ctx.salt.credential_hash(issuer_jwt)),
        kept_claims: (!gate.config.keep_claims.is_empty())
            .then(|| Value::Object(select(payload, &gate.config.keep_claims))),
        mode: Some(mode),
        replay: None,
    };
    // The credential type: one the gate accepts, and (for a bundle issuer) one the bundle lets
    // this issuer issue.
    let vct = payload
        .get("vct")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bundle_refuses = match (&gate.trust.bundle, decision.issuer.as_deref()) {
        (Some(bundle), Some(iss)) => bundle.issuer(iss).is_some() && !bundle.allows_vct(iss, vct),
        _ => false,
    };
    if bundle_refuses || !expectation.accepted_vct.iter().any(|v| v == vct) {
        decision.reason = "vct_not_accepted";
        return decision;
    }
    if let Some(reason) = expectation.refuse_after_verify {
        decision.reason = reason;
        return decision;
    }

    // Status, from the cache only.
    if gate.config.fetch_discovered {
        if let Ok(reference) = StatusReference::from_payload(payload) {
            if ctx
                .cache
                .discover(&reference.uri, gate.config.max_status_lists)
            {
                ctx.refresh_now.notify_one();
            }
        }
    }
    let view = StatusView {
        fetched: ctx.cache.status_snapshot(),
        bundle: gate.trust.bundle.clone(),
        max_staleness: gate.config.max_staleness_secs,
    };
    let status = match check_credential_status(payload, &view, now) {
        Ok(s) => Some(s),
        // No `status` claim at all: nothing to check, where the gate does not require one.
        Err(StatusError::NoStatusClaim) if !gate.config.require_status => None,
        Err(e) => {
            decision.reason = e.rule();
            return decision;
        }
    };
    let (status_word, deny_reason) = match status {
        None => ("none", None),
        Some(StatusOutcome::Valid) => ("valid", None),
        Some(StatusOutcome::Invalid) => ("revoked", Some("revoked")),
        Some(StatusOutcome::Suspended) => ("suspended", Some("suspended")),
        Some(StatusOutcome::Other(_)) => ("other", Some("status_other")),
        Some(StatusOutcome::Unknown { .. }) => match gate.config.unknown_status {
            UnknownStatus::Deny => ("unknown", Some("status_unknown")),
            UnknownStatus::Allow => ("unknown", None),
        },
    };
    decision.credential_status = Some(status_word);
    if let Some(reason) = deny_reason {
        decision.reason = reason;
        return decision;
    }

    // One use.
    if let Some(nonce) = expectation.challenge {
        if !ctx.challenges.take(nonce, now) {
            decision.reason = "replayed";
            return decision;
        }
    }
    let Some(kb) = &verified.key_binding else {
        // The gate policy requires key binding, so core returned an error without one.
        decision.reason = "kb_missing";
        return decision;
    };
    let replay = {
        let mut cache = ctx
            .replay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.check_and_remember(kb.replay_key, kb.iat, now)
    };
    match replay {
        Ok(expires_at) => decision.replay = Some((kb.replay_key, expires_at)),
        Err(ReplayError::Replayed) => {
            decision.reason = "replayed";
            return decision;
        }
        Err(ReplayError::OutsideWindow) => {
            decision.reason = "kb_iat";
            return decision;
        }
        Err(ReplayError::BeforeHistory) => {
            decision.reason = "code_before_restart";
            return decision;
        }
        Err(_) => {
            decision.reason = "replay_cache_full";
            return decision;
        }
    }
    decision.allow = true;
    decision.disclosed = select(payload, expectation.disclose);
    decision
}

/// The KB-JWT's `nonce`, read WITHOUT checking anything: only to choose which challenge the
/// presentation claims to answer. `verify` then checks it under that challenge's policy.
fn peek_kb_nonce(presentation: &str) -> Option<String> {
    let kb = presentation.rsplit('~').next().filter(|s| !s.is_empty())?;
    let payload = kb.split('.').nth(1)?;
    if payload.len() > 4096 {
        return None;
    }
    let bytes = govid_core::b64::decode(payload)?;
    let object = govid_core::json::parse_object(&bytes, 4).ok()?;
    object.get("nonce")?.as_str().map(str::to_owned)
}

/// The parts of `payload` that `paths` name, in the same nesting. A path through an array keeps
/// the whole array.
pub(crate) fn select(payload: &Map<String, Value>, paths: &[ClaimPath]) -> Map<String, Value> {
    let mut out = Map::new();
    for path in paths {
        copy_path(payload, &path.0, &mut out);
    }
    out
}

fn copy_path(from: &Map<String, Value>, path: &[PathSegment], to: &mut Map<String, Value>) {
    let Some((PathSegment::Key(key), rest)) = path.split_first() else {
        return;
    };
    let Some(value) = from.get(key) else {
        return;
    };
    match (value, rest.first()) {
        (Value::Object(inner), Some(PathSegment::Key(_))) => {
            let slot = to
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(slot) = slot {
                copy_path(inner, rest, slot);
            }
        }
        (_, None) | (Value::Array(_), Some(_)) => {
            to.insert(key.clone(), value.clone());
        }
        _ => {}
    }
}

/// The claim names a challenge asks for: the profile's claims in slash form.
pub(crate) fn challenge_claims(profile: &GateProfile) -> Vec<String> {
    profile.claims().iter().map(ToString::to_string).collect()
}

#[cfg(test)]
#[path = "decide_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_keeps_only_named_claims() {
        let payload = json!({
            "given_name": "A", "family_name": "B", "birthdate": "1990-01-01",
            "organization": {"name": "M", "code": "C", "x": 1},
            "access_zones": ["Z1", "Z2"]
        });
        let Value::Object(payload) = payload else {
            unreachable!()
        };
        let paths: Vec<ClaimPath> = ["given_name", "organization/name", "access_zones/*", "nope"]
            .iter()
            .filter_map(|p| ClaimPath::parse(p).ok())
            .collect();
        assert_eq!(
            Value::Object(select(&payload, &paths)),
            json!({"given_name": "A", "organization": {"name": "M"}, "access_zones": ["Z1", "Z2"]})
        );
    }

    #[test]
    fn peek_reads_the_kb_nonce_or_nothing() {
        let payload = govid_core::b64::encode(br#"{"nonce":"abc","aud":"x"}"#);
        assert_eq!(
            peek_kb_nonce(&format!("h.p.s~d~eyJ.{payload}.sig")).as_deref(),
            Some("abc")
        );
        assert_eq!(peek_kb_nonce("h.p.s~d~"), None);
        assert_eq!(peek_kb_nonce("~~~"), None);
        assert_eq!(peek_kb_nonce("x.!!!.y"), None);
    }
}
