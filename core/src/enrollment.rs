//! Enrollment: binding a staff member's phone key to their HR record.
//!
//! HR hands the staff member a one-time enrollment code as a QR code ([`EnrollmentOffer`],
//! `GVE1:<CODE>:<issuer DID>`). The phone generates its key, signs a key proof in the OpenID4VCI
//! `openid4vci-proof+jwt` shape with the code as `nonce` ([`make_key_proof`]), and HR checks it
//! ([`verify_key_proof`]) before binding that key to the staff member.
//!
//! The proof (OpenID4VCI 1.0 Appendix F.1):
//!
//! ```text
//! header  {"typ": "openid4vci-proof+jwt", "alg": "EdDSA" | "ES256", "jwk": <holder public JWK>}
//! payload {"aud": <issuer DID>, "iat": <unix seconds>, "nonce": <enrollment code>}
//! ```
//!
//! Pure functions: the time is passed in, nothing is stored here. The caller (the HR tool)
//! checks the code against its own records: known, unexpired, unused.

use serde_json::{Map, Value};

use crate::b64;
use crate::jose::{CompactJws, JwkError, JwsError, PublicKey, SignError, Signer};
use crate::time::numeric_date;

/// The JWT `typ` of a key proof.
pub const KEY_PROOF_TYP: &str = "openid4vci-proof+jwt";

/// The prefix of an enrollment offer payload.
pub const OFFER_PREFIX: &str = "GVE1:";

/// The Crockford base32 alphabet enrollment codes are written in (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in an enrollment code: 28 × 5 = 140 random bits.
pub const CODE_SYMBOLS: usize = 28;

/// JSON nesting allowed in a key proof.
const MAX_JSON_DEPTH: usize = 8;

/// Longest key proof accepted, in bytes.
pub const MAX_PROOF_LEN: usize = 4096;

/// Why a key proof was refused. Each check has its own variant; none carries input bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Longer than [`MAX_PROOF_LEN`].
    #[error("key proof is too long")]
    TooLong,
    /// Not a compact JWS with a supported `alg`.
    #[error("key proof is not a valid JWT: {0}")]
    Malformed(JwsError),
    /// `typ` is not `openid4vci-proof+jwt`.
    #[error("key proof `typ` is not `openid4vci-proof+jwt`")]
    Typ,
    /// The header has no `jwk`, or also names the key another way (`kid`, `x5c`).
    #[error("key proof header must carry the holder key as `jwk` (and no `kid` or `x5c`)")]
    KeyMissing,
    /// `jwk` is not a valid public key (or holds a private key).
    #[error("key proof `jwk` is not a valid public key: {0}")]
    Key(JwkError),
    /// `alg` does not match the key type.
    #[error("key proof `alg` does not match its `jwk`")]
    AlgMismatch,
    /// The signature does not verify with the header's `jwk`.
    #[error("key proof signature does not verify")]
    Signature,
    /// The payload is not a JSON object, or a claim is missing or of the wrong type.
    #[error("key proof claim `{0}` is missing or malformed")]
    Claim(&'static str),
    /// `aud` is not this issuer.
    #[error("key proof is addressed to another issuer (`aud`)")]
    Audience,
    /// `nonce` is not a well-formed enrollment code.
    #[error("key proof `nonce` is not an enrollment code")]
    Nonce,
    /// `iat` is older than the window allows.
    #[error("key proof is too old (`iat`); make a new one")]
    Stale,
    /// `iat` is in the future beyond the allowed clock skew.
    #[error("key proof `iat` is in the future; check the phone's clock")]
    Future,
}

impl ProofError {
    /// A stable short code for scripts.
    pub fn rule(&self) -> &'static str {
        match self {
            ProofError::TooLong => "proof_too_long",
            ProofError::Malformed(_) => "proof_malformed",
            ProofError::Typ => "proof_typ",
            ProofError::KeyMissing => "proof_key_missing",
            ProofError::Key(_) => "proof_key",
            ProofError::AlgMismatch => "proof_alg_mismatch",
            ProofError::Signature => "proof_signature",
            ProofError::Claim(_) => "proof_claim",
            ProofError::Audience => "proof_aud",
            ProofError::Nonce => "proof_nonce",
            ProofError::Stale => "proof_stale",
            ProofError::Future => "proof_future",
        }
    }
}

/// How far from `now` a proof's `iat` may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofWindow {
    /// Oldest accepted `iat`, in seconds before `now`.
    pub max_age: u64,
    /// Latest accepted `iat`, in seconds after `now` (clock skew).
    pub max_future: u64,
}

impl Default for ProofWindow {
    /// 15 minutes old at most, 2 minutes of clock skew.
    fn default() -> Self {
        Self {
            max_age: 15 * 60,
            max_future: 120,
        }
    }
}

/// A checked key proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProof {
    /// The holder's public key, to bind to the staff member.
    pub holder_key: PublicKey,
    /// The enrollment code from `nonce`, normalized (see [`normalize_code`]).
    pub code: String,
    /// `iat`.
    pub iat: u64,
}

/// Makes a key proof for `code`, addressed to `issuer_id`, signed by the holder's key. The
/// header carries the holder's public key as `jwk` and no `kid`.
pub fn make_key_proof(
    code: &str,
    issuer_id: &str,
    iat: u64,
    holder: &dyn Signer,
) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String(KEY_PROOF_TYP.to_owned()));
    header.insert(
        "alg".to_owned(),
        Value::String(holder.algorithm().as_str().to_owned()),
    );
    header.insert("jwk".to_owned(), holder.public_key().to_jwk());
    let mut payload = Map::new();
    payload.insert("aud".to_owned(), Value::String(issuer_id.to_owned()));
    payload.insert("iat".to_owned(), Value::from(iat));
    payload.insert("nonce".to_owned(), Value::String(code.to_owned()));
    let encode = |map: &Map<String, Value>| {
        serde_json::to_vec(map).map_err(|_| SignError {
            reason: "key proof is not serializable".to_owned(),
        })
    };
    let mut text = b64::encode(encode(&header)?);
    text.push('.');
    text.push_str(&b64::encode(encode(&payload)?));
    let signature = holder.sign(text.as_bytes())?;
    text.push('.');
    text.push_str(&b64::encode(signature));
    Ok(text)
}

/// Verifies a key proof: its `typ`, the signature with the header's `jwk`, `aud` equal to
/// `expected_aud`, and `iat` within `window` of `now`. Returns the holder key and the code;
/// checking the code (known, unexpired, unused) is the caller's job.
pub fn verify_key_proof(
    proof: &str,
    expected_aud: &str,
    now: u64,
    window: ProofWindow,
) -> Result<KeyProof, ProofError> {
    let proof = proof.trim();
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::TooLong);
    }
    let jws = CompactJws::parse(proof, MAX_JSON_DEPTH).map_err(ProofError::Malformed)?;
    if jws.header.typ.as_deref() != Some(KEY_PROOF_TYP) {
        return Err(ProofError::Typ);
    }
    let raw = &jws.header.raw;
    if raw.contains_key("kid") || raw.contains_key("x5c") {
        return Err(ProofError::KeyMissing);
    }
    let jwk = raw.get("jwk").ok_or(ProofError::KeyMissing)?;
    let holder_key = PublicKey::from_jwk(jwk).map_err(ProofError::Key)?;
    if holder_key.algorithm() != jws.header.alg {
        return Err(ProofError::AlgMismatch);
    }
    jws.verify(&holder_key, &[jws.header.alg])
        .map_err(|_| ProofError::Signature)?;
    let payload = jws
        .payload_object(MAX_JSON_DEPTH)
        .map_err(|_| ProofError::Claim("payload"))?;
    let aud_ok = match payload.get("aud") {
        Some(Value::String(aud)) => aud == expected_aud,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected_aud)),
        _ => return Err(ProofError::Claim("aud")),
    };
    if !aud_ok {
        return Err(ProofError::Audience);
    }
    let iat = payload
        .get("iat")
        .and_then(numeric_date)
        .ok_or(ProofError::Claim("iat"))?;
    if iat.saturating_add(window.max_age) < now {
        return Err(ProofError::Stale);
    }
    if iat > now.saturating_add(window.max_future) {
        return Err(ProofError::Future);
    }
    let nonce = payload
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or(ProofError::Claim("nonce"))?;
    let code = normalize_code(nonce).ok_or(ProofError::Nonce)?;
    Ok(KeyProof {
        holder_key,
        code,
        iat,
    })
}

/// Encodes 5-bit symbols (each `0..32`) as an enrollment code in groups of four:
/// `K7QM-3XTR-…`. The HR tool draws the symbols from a cryptographic RNG.
pub fn format_code(symbols: &[u8]) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / 4);
    for (i, s) in symbols.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(CROCKFORD[usize::from(*s & 31)]));
    }
    out
}

/// The canonical form of a typed or scanned code: upper case, without `-` and spaces, with the
/// Crockford look-alikes mapped (`O`→`0`, `I`/`L`→`1`). `None` unless it is exactly
/// [`CODE_SYMBOLS`] symbols of the alphabet.
pub fn normalize_code(text: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_SYMBOLS);
    for c in text.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_SYMBOLS).then_some(out)
}

/// What the staff member's phone scans to enroll: the issuer and a one-time code.
///
/// Payload: `GVE1:<CODE>:<issuer DID>`, e.g.
/// `GVE1:K7QM-3XTR-9D2F-HB6W-0PNA-V4YE-ZC8G:did:web:hr.ministry.example`. The code comes first
/// because it has no `:`; everything after the second `:` is the issuer DID.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentOffer {
    /// The issuer identifier (a DID): the proof's `aud`.
    pub issuer: String,
    /// The code as printed (grouped): the proof's `nonce`.
    pub code: String,
}

impl std::fmt::Debug for EnrollmentOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a one-time secret: keep it out of logs.
        f.debug_struct("EnrollmentOffer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Why an enrollment payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// It does not start with `GVE1:`.
    #[error("not a govid enrollment code (expected `GVE1:`)")]
    WrongPrefix,
    /// The code part is not a well-formed code.
    #[error("the enrollment code is malformed")]
    BadCode,
    /// The issuer part is not a DID.
    #[error("the issuer in the enrollment code is not a DID")]
    BadIssuer,
}

impl EnrollmentOffer {
    /// The QR payload text.
    pub fn to_payload(&self) -> String {
        format!("{OFFER_PREFIX}{}:{}", self.code, self.issuer)
    }

    /// Parses a scanned payload.
    pub fn parse(text: &str) -> Result<Self, OfferError> {
        let rest = text
            .trim()
            .strip_prefix(OFFER_PREFIX)
            .ok_or(OfferError::WrongPrefix)?;
        let (code, issuer) = rest.split_once(':').ok_or(OfferError::BadCode)?;
        normalize_code(code).ok_or(OfferError::BadCode)?;
        if !issuer.starts_with("did:") || issuer.len() > 512 || issuer.contains(char::is_whitespace)
        {
            return Err(OfferError::BadIssuer);
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            code: code.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, SoftwareSigner, WithKeyId};
    use rand_core::OsRng;

    const AUD: &str = "did:web:hr.ministry.example";
    const NOW: u64 = 1_800_000_000;

    fn code() -> String {
        format_code(&[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
            25, 26, 27, 31,
        ])
    }

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_both_algorithms() {
        for alg in Algorithm::ALL {
            let holder = SoftwareSigner::generate(alg, &mut OsRng);
            let proof = ok(make_key_proof(&code(), AUD, NOW, &holder));
            let checked = ok(verify_key_proof(
                &proof,
                AUD,
                NOW + 10,
                ProofWindow::default(),
            ));
            assert_eq!(checked.holder_key, holder.public_key());
            assert_eq!(Some(checked.code), normalize_code(&code()));
            assert_eq!(checked.iat, NOW);
        }
    }

    #[test]
    fn each_check_has_its_error() {
        let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let proof = ok(make_key_proof(&code(), AUD, NOW, &holder));
        let w = ProofWindow::default();
        assert_eq!(
            verify_key_proof(&proof, "did:web:other.example", NOW, w),
            Err(ProofError::Audience)
        );
        assert_eq!(
            verify_key_proof(&proof, AUD, NOW + w.max_age + 1, w),
            Err(ProofError::Stale)
        );
        assert_eq!(
            verify_key_proof(&proof, AUD, NOW - w.max_future - 1, w),
            Err(ProofError::Future)
        );
        let mut tampered = proof.clone();
        tampered.pop();
        tampered.push(if proof.ends_with('A') { 'B' } else { 'A' });
        assert!(matches!(
            verify_key_proof(&tampered, AUD, NOW, w),
            Err(ProofError::Signature | ProofError::Malformed(_))
        ));
        assert!(matches!(
            verify_key_proof("a.b", AUD, NOW, w),
            Err(ProofError::Malformed(_))
        ));
        assert_eq!(
            verify_key_proof(&"a".repeat(MAX_PROOF_LEN + 1), AUD, NOW, w),
            Err(ProofError::TooLong)
        );
    }

    #[test]
    fn refuses_wrong_typ_kid_and_swapped_key() {
        let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let other = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let sign = |header: Value, payload: Value, key: &SoftwareSigner| {
            let mut text = b64::encode(header.to_string());
            text.push('.');
            text.push_str(&b64::encode(payload.to_string()));
            let sig = ok(key.sign(text.as_bytes()));
            format!("{text}.{}", b64::encode(sig))
        };
        let payload = serde_json::json!({"aud": AUD, "iat": NOW, "nonce": code()});
        let jwk = holder.public_key().to_jwk();
        let w = ProofWindow::default();
        let wrong_typ = sign(
            serde_json::json!({"typ": "JWT", "alg": "EdDSA", "jwk": jwk}),
            payload.clone(),
            &holder,
        );
        assert_eq!(
            verify_key_proof(&wrong_typ, AUD, NOW, w),
            Err(ProofError::Typ)
        );
        let with_kid = sign(
            serde_json::json!({"typ": KEY_PROOF_TYP, "alg": "EdDSA", "jwk": jwk, "kid": "k"}),
            payload.clone(),
            &holder,
        );
        assert_eq!(
            verify_key_proof(&with_kid, AUD, NOW, w),
            Err(ProofError::KeyMissing)
        );
        let swapped = sign(
            serde_json::json!({"typ": KEY_PROOF_TYP, "alg": "EdDSA", "jwk": jwk}),
            payload.clone(),
            &other,
        );
        assert_eq!(
            verify_key_proof(&swapped, AUD, NOW, w),
            Err(ProofError::Signature)
        );
        let mismatch = sign(
            serde_json::json!({"typ": KEY_PROOF_TYP, "alg": "ES256", "jwk": jwk}),
            payload.clone(),
            &holder,
        );
        assert_eq!(
            verify_key_proof(&mismatch, AUD, NOW, w),
            Err(ProofError::AlgMismatch)
        );
        let private = sign(
            serde_json::json!({"typ": KEY_PROOF_TYP, "alg": "EdDSA", "jwk": holder.to_private_jwk()}),
            payload,
            &holder,
        );
        assert_eq!(
            verify_key_proof(&private, AUD, NOW, w),
            Err(ProofError::Key(JwkError::PrivateKeyMaterial))
        );
        let no_nonce = sign(
            serde_json::json!({"typ": KEY_PROOF_TYP, "alg": "EdDSA", "jwk": jwk}),
            serde_json::json!({"aud": AUD, "iat": NOW}),
            &holder,
        );
        assert_eq!(
            verify_key_proof(&no_nonce, AUD, NOW, w),
            Err(ProofError::Claim("nonce"))
        );
    }

    /// A key proof by `holder` with `iat` set to any JSON value.
    fn proof_with_iat(holder: &SoftwareSigner, iat: Value) -> String {
        let header = serde_json::json!({
            "typ": KEY_PROOF_TYP, "alg": "EdDSA", "jwk": holder.public_key().to_jwk(),
        });
        let payload = serde_json::json!({"aud": AUD, "iat": iat, "nonce": code()});
        let mut text = b64::encode(header.to_string());
        text.push('.');
        text.push_str(&b64::encode(payload.to_string()));
        let sig = ok(holder.sign(text.as_bytes()));
        format!("{text}.{}", b64::encode(sig))
    }

    #[test]
    fn a_fractional_iat_counts_by_its_whole_seconds() {
        let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let w = ProofWindow::default();
        let proof = proof_with_iat(&holder, serde_json::json!(NOW as f64 + 0.123_456));
        assert_eq!(ok(verify_key_proof(&proof, AUD, NOW, w)).iat, NOW);
        assert!(verify_key_proof(&proof, AUD, NOW + w.max_age, w).is_ok());
        assert_eq!(
            verify_key_proof(&proof, AUD, NOW + w.max_age + 1, w),
            Err(ProofError::Stale)
        );
        assert_eq!(
            verify_key_proof(&proof, AUD, NOW - w.max_future - 1, w),
            Err(ProofError::Future)
        );
    }

    #[test]
    fn an_iat_that_is_negative_huge_or_not_a_number_is_malformed() {
        let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        for iat in [
            serde_json::json!(-1),
            serde_json::json!(-0.5),
            serde_json::json!(crate::time::MAX_NUMERIC_DATE + 1),
            serde_json::json!(u64::MAX),
            serde_json::json!(1e300),
            serde_json::json!("1800000000"),
        ] {
            let proof = proof_with_iat(&holder, iat.clone());
            assert_eq!(
                verify_key_proof(&proof, AUD, NOW, ProofWindow::default()),
                Err(ProofError::Claim("iat")),
                "{iat}"
            );
        }
    }

    #[test]
    fn signer_kid_is_not_put_in_the_proof() {
        let holder = WithKeyId {
            signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
            kid: "phone-1".to_owned(),
        };
        let proof = ok(make_key_proof(&code(), AUD, NOW, &holder));
        assert!(verify_key_proof(&proof, AUD, NOW, ProofWindow::default()).is_ok());
    }

    #[test]
    fn codes_normalize_and_offers_round_trip() {
        let c = code();
        assert_eq!(c.len(), CODE_SYMBOLS + CODE_SYMBOLS / 4 - 1);
        let typed = c.to_lowercase().replace('-', " ");
        assert_eq!(normalize_code(&typed), normalize_code(&c));
        assert_eq!(normalize_code("O1"), None);
        assert_eq!(
            normalize_code(&"o".repeat(CODE_SYMBOLS)),
            Some("0".repeat(CODE_SYMBOLS))
        );
        assert_eq!(normalize_code(&"U".repeat(CODE_SYMBOLS)), None);
        let offer = EnrollmentOffer {
            issuer: AUD.to_owned(),
            code: c.clone(),
        };
        let payload = offer.to_payload();
        assert!(payload.starts_with("GVE1:"));
        assert_eq!(EnrollmentOffer::parse(&payload), Ok(offer.clone()));
        assert!(!format!("{offer:?}").contains(&c));
        assert_eq!(
            EnrollmentOffer::parse("GV1:abc"),
            Err(OfferError::WrongPrefix)
        );
        assert_eq!(
            EnrollmentOffer::parse(&format!("GVE1:{c}:https://x")),
            Err(OfferError::BadIssuer)
        );
        assert_eq!(
            EnrollmentOffer::parse("GVE1:SHORT:did:web:x"),
            Err(OfferError::BadCode)
        );
    }
}
