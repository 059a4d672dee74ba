//! Which issuer keys the wallet accepts credentials from: a pinned JWK, HR's published JWK Set
//! (`jwks.json`), a did:web DID document the app fetched, or a did:key/did:jwk DID. Nothing here
//! fetches anything: the app brings the documents.
//!
//! Also the refusal of a credential no trusted key fits, which names the credential's `iss` and
//! `kid` so the app developer sees which issuer to trust.

use govid_core::did::{self, DidDocument, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH};
use govid_core::jose::{CompactJws, PublicKey};
use govid_core::sdjwt::VerifyError;
use govid_core::trust::{PinnedKeys, ResolveError};
use serde_json::Value;

use crate::error::{guard, WalletError};

/// An issuer's transparency log policy (C2SP tlog-witness): the log's key and the witnesses
/// whose cosignatures count.
#[derive(Clone, Debug, uniffi::Record)]
pub struct IssuerLogPolicy {
    /// The log's signed-note verifier key (`<name>+<id>+<base64>`, HR's `log/log.vkey`).
    pub log_key: String,
    /// The witnesses' cosigner verifier keys.
    pub witness_keys: Vec<String>,
    /// How many distinct listed witnesses must have cosigned the checkpoint.
    pub min_cosignatures: u32,
}

/// Checks that `document` (its bytes) is the DID document `did` logged, by `proof`.
fn check_logged(
    did: &str,
    document: &[u8],
    proof: &[u8],
    policy: &IssuerLogPolicy,
) -> Result<(), WalletError> {
    use govid_core::tlog::{check_inclusion, Entry, LogKey, TlogProof, WitnessKey, WitnessPolicy};
    use sha2::Digest as _;
    let log = LogKey::parse(policy.log_key.trim())
        .map_err(|_| WalletError::input("log key: not a signed-note verifier key"))?;
    let witnesses = policy
        .witness_keys
        .iter()
        .map(|k| {
            WitnessKey::parse(k.trim())
                .map_err(|_| WalletError::input("witness key: not a cosigner verifier key"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if policy.min_cosignatures as usize > witnesses.len() {
        return Err(WalletError::input(
            "min_cosignatures is more than the witnesses listed",
        ));
    }
    let refused = |reason: String| WalletError::NotInIssuerLog {
        issuer: did.to_owned(),
        reason,
    };
    let policy = WitnessPolicy {
        log,
        witnesses,
        min_cosignatures: policy.min_cosignatures as usize,
    };
    let parsed = TlogProof::parse(proof).map_err(|e| refused(e.to_string()))?;
    let cosigned = policy
        .check(&parsed.checkpoint)
        .map_err(|e| refused(e.to_string()))?;
    let entry = Entry::DidDocument {
        did: did.to_owned(),
        sha256: sha2::Sha256::digest(document).into(),
    }
    .to_bytes()
    .map_err(|e| refused(e.to_string()))?;
    check_inclusion(&entry, &parsed, &cosigned.verified).map_err(|e| refused(e.to_string()))
}
use crate::records::TrustedIssuer;
use crate::store::IssuerRow;
use crate::wallet::Wallet;

/// The largest JWK Set or DID document the trust calls read, in bytes (64 KiB).
pub const MAX_TRUST_DOCUMENT_BYTES: usize = DEFAULT_MAX_DOCUMENT_BYTES;

/// Most characters of a credential's `iss` or `kid` quoted in an error.
const SHOWN_CHARS: usize = 200;

#[uniffi::export]
impl Wallet {
    /// Trusts an issuer's public key (JWK JSON text), for any `iss` or only for `issuer`.
    /// Credentials are accepted only from trusted issuers. The JWK's `kid`, if any, is kept: after
    /// HR rotates its key, pin every key of its published JWKS and credentials pick theirs by `kid`.
    pub fn trust_issuer(
        &self,
        jwk: String,
        issuer: Option<String>,
    ) -> Result<TrustedIssuer, WalletError> {
        guard(|| {
            let key = PublicKey::from_jwk_str(&jwk)
                .map_err(|e| WalletError::input(format!("issuer JWK: {e}")))?;
            let kid = serde_json::from_str::<Value>(&jwk)
                .ok()
                .and_then(|v| v.get("kid")?.as_str().map(str::to_owned))
                .filter(|kid| !kid.is_empty());
            let row = issuer_row(&key, issuer.filter(|i| !i.is_empty()), kid);
            self.store
                .add_issuers(None, std::slice::from_ref(&row), self.clock.now())?;
            Ok(row.into())
        })
    }

    /// Trusts the keys of an issuer's JWK Set (`{"keys": [...]}`), as HR publishes it next to its
    /// DID document (`https://<host>/.well-known/jwks.json`, written by `govid-issuer publish`),
    /// for credentials whose `iss` is `issuer` (HR's DID). The app fetches the file; the library
    /// does no networking.
    ///
    /// Each key keeps its `kid` (HR's are DID URLs, `did:web:<host>#key-1`), so after a key
    /// rotation every credential finds the key that signed it. A single JWK is accepted too (its
    /// `kid` is not read). The set replaces every key pinned for `issuer` before, so a key HR
    /// withdrew stops being trusted when the app fetches the file again; stored credentials stay.
    /// All or nothing: a key that is not a usable public Ed25519 or P-256 JWK, a key whose own
    /// `iss` member names another issuer, an empty `keys` array or more than 64 keys refuse the
    /// whole set with `InvalidInput`. Returns the keys now pinned for `issuer`.
    pub fn trust_issuer_jwks(
        &self,
        jwks: String,
        issuer: String,
    ) -> Result<Vec<TrustedIssuer>, WalletError> {
        guard(|| {
            let issuer = issuer.trim();
            if issuer.is_empty() {
                return Err(WalletError::input(
                    "the issuer (`iss`) the JWK Set is trusted for is empty",
                ));
            }
            if jwks.len() > MAX_TRUST_DOCUMENT_BYTES {
                return Err(WalletError::input(format!(
                    "issuer JWK Set: larger than {MAX_TRUST_DOCUMENT_BYTES} bytes"
                )));
            }
            let rows = jwks_rows(&jwks, issuer)?;
            self.store
                .add_issuers(Some(issuer), &rows, self.clock.now())?;
            Ok(rows.into_iter().map(TrustedIssuer::from).collect())
        })
    }

    /// Trusts a did:web issuer from its DID document, which the app fetched from the HTTPS URL
    /// the DID names (`did:web:hr.example` → `https://hr.example/.well-known/did.json`,
    /// `did:web:hr.example:ids` → `https://hr.example/ids/did.json`); the library does no
    /// networking.
    ///
    /// The document's `id` must be `did`. Its assertion methods (the keys it allows to sign
    /// credentials) with an Ed25519 or P-256 key are pinned for `iss` = `did`, each answering to
    /// its DID URL `kid` (`did:web:hr.example#key-1`). Like [`Wallet::trust_issuer_jwks`], they
    /// replace every key pinned for `did` before. Refused with `InvalidInput`: a DID that is not
    /// did:web, a document whose `id` is another DID, a malformed document (a method with a
    /// private or malformed key, a `controller` that is not `did`...), or one with no usable
    /// assertion method. Returns the keys now pinned for `did`.
    pub fn trust_issuer_did_document(
        &self,
        did: String,
        document: String,
    ) -> Result<Vec<TrustedIssuer>, WalletError> {
        guard(|| {
            let did = did.trim();
            if !did.starts_with("did:web:") {
                return Err(WalletError::input(
                    "issuer DID: only did:web issuers are trusted from a DID document; trust a \
                     did:key or did:jwk issuer with trust_issuer_did",
                ));
            }
            did::did_web_to_url(did).map_err(|e| WalletError::input(format!("issuer DID: {e}")))?;
            if document.len() > MAX_TRUST_DOCUMENT_BYTES {
                return Err(WalletError::input(format!(
                    "DID document is larger than {MAX_TRUST_DOCUMENT_BYTES} bytes"
                )));
            }
            let doc = DidDocument::parse(did, document.as_bytes(), DEFAULT_MAX_DOCUMENT_DEPTH)
                .map_err(|e| match e {
                    did::DidError::DocumentIdMismatch => WalletError::input(format!(
                        "the DID document's `id` is not {did}: it is another issuer's document"
                    )),
                    e => WalletError::input(format!("the DID document of {did}: {e}")),
                })?;
            let rows: Vec<IssuerRow> = doc
                .assertion_methods()
                .map(|m| issuer_row(&m.key, Some(did.to_owned()), Some(m.id.clone())))
                .collect();
            if rows.is_empty() {
                return Err(WalletError::input(format!(
                    "the DID document of {did} has no usable assertion method (an Ed25519 or \
                     P-256 key listed under `assertionMethod`)"
                )));
            }
            self.store.add_issuers(Some(did), &rows, self.clock.now())?;
            Ok(rows.into_iter().map(TrustedIssuer::from).collect())
        })
    }

    /// [`Wallet::trust_issuer_did_document`], only if the document is in the issuer's
    /// transparency log: `proof` is the `.tlog-proof` HR publishes beside the document
    /// (`…/.well-known/did.json.tlog-proof`), checked against `policy` (the log's key and the
    /// witnesses the app trusts, and how many must have cosigned). So the keys a phone trusts
    /// are the ones on public record, not a set shown to this phone alone. Refused with
    /// `NotInIssuerLog` naming the check; `InvalidInput` for a malformed policy.
    pub fn trust_issuer_did_document_logged(
        &self,
        did: String,
        document: String,
        proof: String,
        policy: IssuerLogPolicy,
    ) -> Result<Vec<TrustedIssuer>, WalletError> {
        guard(|| check_logged(did.trim(), document.as_bytes(), proof.as_bytes(), &policy))?;
        self.trust_issuer_did_document(did, document)
    }

    /// Trusts the issuer `did`, a `did:key` or `did:jwk` (which carry their key, so no document
    /// is needed): pins its key for that `iss`. For a `did:web` issuer use
    /// [`Wallet::trust_issuer_did_document`] or [`Wallet::trust_issuer_jwks`].
    pub fn trust_issuer_did(&self, did: String) -> Result<TrustedIssuer, WalletError> {
        guard(|| {
            let did = did.trim();
            let (key, kid) = if did.starts_with("did:key:") {
                let key = did::public_key_from_did_key(did)
                    .map_err(|e| WalletError::input(format!("issuer DID: {e}")))?;
                let kid = did::did_key_verification_method_id(&key);
                (key, kid)
            } else if did.starts_with("did:jwk:") {
                let key = did::public_key_from_did_jwk(did)
                    .map_err(|e| WalletError::input(format!("issuer DID: {e}")))?;
                let kid = did::did_jwk_verification_method_id(&key);
                (key, kid)
            } else {
                return Err(WalletError::input(
                    "only did:key and did:jwk issuers can be trusted by DID alone; trust a \
                     did:web issuer with trust_issuer_did_document or trust_issuer_jwks",
                ));
            };
            let row = issuer_row(&key, Some(did.to_owned()), Some(kid));
            self.store
                .add_issuers(None, std::slice::from_ref(&row), self.clock.now())?;
            Ok(row.into())
        })
    }

    /// The trusted issuer keys, oldest first.
    pub fn trusted_issuers(&self) -> Result<Vec<TrustedIssuer>, WalletError> {
        guard(|| {
            Ok(self
                .store
                .issuers()?
                .into_iter()
                .map(TrustedIssuer::from)
                .collect())
        })
    }

    /// Stops trusting the issuer key with this thumbprint (stored credentials stay). Returns
    /// whether a key was removed.
    pub fn remove_trusted_issuer(&self, thumbprint: String) -> Result<bool, WalletError> {
        guard(|| self.store.remove_issuer(&thumbprint))
    }
}

impl Wallet {
    /// The trusted issuer keys, for verifying a received credential.
    pub(crate) fn pinned_keys(&self) -> Result<PinnedKeys, WalletError> {
        let mut trusted = PinnedKeys::new();
        for row in self.store.issuers()? {
            let key = PublicKey::from_jwk_str(&row.jwk).map_err(WalletError::storage)?;
            trusted.add(key, row.iss, row.kid.into_iter().collect());
        }
        Ok(trusted)
    }
}

fn issuer_row(key: &PublicKey, iss: Option<String>, kid: Option<String>) -> IssuerRow {
    IssuerRow {
        thumbprint: key.thumbprint(),
        iss,
        jwk: key.to_jwk().to_string(),
        kid,
    }
}

impl From<IssuerRow> for TrustedIssuer {
    fn from(row: IssuerRow) -> Self {
        TrustedIssuer {
            issuer: row.iss,
            thumbprint: row.thumbprint,
            jwk: row.jwk,
            kid: row.kid,
        }
    }
}

/// The keys of a JWK or JWK Set text, for `issuer`. Core's reader decides what is accepted
/// (`PinnedKeys::add_jwk_text`: the same rules as the gate's `[[trust.jwks]]`); this only lists
/// the keys it accepted, for the wallet's table.
fn jwks_rows(text: &str, issuer: &str) -> Result<Vec<IssuerRow>, WalletError> {
    let refused = |e: &dyn std::fmt::Display| WalletError::input(format!("issuer JWK Set: {e}"));
    PinnedKeys::new()
        .add_jwk_text(text, Some(issuer))
        .map_err(|e| refused(&e))?;
    let value: Value = serde_json::from_str(text).map_err(|e| refused(&e))?;
    let (keys, read_kid) = match value.get("keys").and_then(Value::as_array) {
        Some(keys) => (keys.iter().collect::<Vec<_>>(), true),
        None => (vec![&value], false),
    };
    keys.into_iter()
        .map(|jwk| {
            let key = PublicKey::from_jwk(jwk).map_err(|e| refused(&e))?;
            let kid = read_kid
                .then(|| jwk.get("kid").and_then(Value::as_str).map(str::to_owned))
                .flatten()
                .filter(|kid| !kid.is_empty());
            Ok(issuer_row(&key, Some(issuer.to_owned()), kid))
        })
        .collect()
}

/// The error for a received credential that `HeldSdJwt::receive` refused. When no trusted key
/// fits, the reason names the credential's `iss` and `kid` as it claims them (read without
/// verifying: they are what the app developer must trust, not facts).
pub(crate) fn credential_refused(issued: &str, e: &VerifyError) -> WalletError {
    let VerifyError::Issuer(
        ResolveError::UntrustedIssuer | ResolveError::UnknownKey | ResolveError::AmbiguousKey,
    ) = e
    else {
        return WalletError::credential(e.rule(), e);
    };
    let (iss, kid) = claimed_issuer(issued);
    let iss = iss.map_or_else(
        || "no `iss`".to_owned(),
        |iss| format!("`iss` {}", shown(&iss)),
    );
    let kid = kid.map_or_else(
        || "no `kid`".to_owned(),
        |kid| format!("`kid` {}", shown(&kid)),
    );
    WalletError::credential(
        e.rule(),
        format!(
            "{e}: the credential has {iss} and {kid}; trust the keys this issuer publishes \
             (its JWK Set or DID document) first"
        ),
    )
}

/// [`WalletError::IssuerNotTrusted`] for a credential received from an offer that no trusted key
/// fits (`None` for any other refusal).
pub(crate) fn issuer_not_trusted(issued: &str, e: &VerifyError) -> Option<WalletError> {
    let VerifyError::Issuer(
        ResolveError::UntrustedIssuer | ResolveError::UnknownKey | ResolveError::AmbiguousKey,
    ) = e
    else {
        return None;
    };
    let (iss, kid) = claimed_issuer(issued);
    let issuer = iss.unwrap_or_default();
    let kid = kid.map_or_else(String::new, |kid| {
        format!(" (its `kid` is {})", shown(&kid))
    });
    Some(WalletError::IssuerNotTrusted {
        reason: format!(
            "{e}: the credential's issuer {}{kid} is not trusted; call trustIssuerJwks with its \
             JWK Set or trustIssuerDidDocument with its DID document, then receive the offer \
             again (nothing was stored)",
            shown(&issuer)
        ),
        issuer,
    })
}

/// Quoted, control characters escaped, at most 200 characters (for other modules' errors).
pub(crate) fn shown_text(text: &str) -> String {
    shown(text)
}

/// The `iss` claim and the `kid` header of an issued SD-JWT's issuer JWT, unverified.
fn claimed_issuer(issued: &str) -> (Option<String>, Option<String>) {
    let jwt = issued.split('~').next().unwrap_or_default();
    let Ok(jws) = CompactJws::parse(jwt, DEFAULT_MAX_DOCUMENT_DEPTH) else {
        return (None, None);
    };
    let iss = jws
        .payload_object(DEFAULT_MAX_DOCUMENT_DEPTH)
        .ok()
        .and_then(|p| p.get("iss")?.as_str().map(str::to_owned));
    (iss, jws.header.kid)
}

/// Quoted, control characters escaped, at most [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(SHOWN_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}
