//! Presenting a stored credential at a gate: profile or claim selection, rotating codes,
//! challenges, and the QR code (`GV1:` payload, PNG, SVG). Choosing between the worker ID and
//! the gate pass is in `gate.rs`.

use govid_core::credential::GateProfile;
use govid_core::qr::{self, Ecc};
use govid_core::sdjwt::{ClaimPath, KbRequest, PresentError};
use govid_core::time::numeric_date;

use serde_json::{Map, Value};

use crate::error::{guard, WalletError};
use crate::records::CredentialKind;
use crate::store::CredentialRow;
use crate::wallet::{claims_of, kind_of, random_token, Wallet};

/// How often (seconds) an app in rotating mode asks for a fresh code by default. Short enough
/// that a photo of the screen is stale by the time it reaches a gate, long enough for a scan;
/// well inside a gate's KB-JWT `iat` window (300 s by default).
pub const DEFAULT_ROTATION_SECONDS: u32 = 20;

/// The longest `aud` or `nonce` the wallet binds a presentation to, in bytes.
const MAX_BINDING_LEN: usize = 256;

/// The claims a built-in gate profile discloses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum GateProfileKind {
    /// A building entrance: given name, family name, organization name and code.
    Entry,
    /// A service counter: `Entry` plus position and employee number.
    Counter,
}

impl GateProfileKind {
    fn core(self) -> GateProfile {
        match self {
            GateProfileKind::Entry => GateProfile::Entry,
            GateProfileKind::Counter => GateProfile::Counter,
        }
    }

    /// The claim paths the profile discloses.
    pub(crate) fn claims(self) -> Vec<ClaimPath> {
        self.core().claims()
    }
}

/// What a presentation discloses.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ClaimSelection {
    /// A built-in gate profile.
    Profile {
        /// The profile.
        profile: GateProfileKind,
    },
    /// These claim paths, slash-separated: `given_name`, `organization/code`,
    /// `access_zones/0`; a `*` segment selects every element of an array.
    // (No slash-star in these docs: it would open a nested comment in the generated Kotlin.)
    Claims {
        /// The paths.
        paths: Vec<String>,
    },
}

/// A presentation ready to show.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Presentation {
    /// The QR payload: `GV1:` + Base45, QR alphanumeric characters only. Render it with
    /// `qrPng`/`qrSvg`, or with the platform's QR library in alphanumeric mode.
    pub payload: String,
    /// The compact SD-JWT presentation with its KB-JWT (for other transports).
    pub presentation: String,
    /// The verifier the KB-JWT is bound to.
    pub aud: String,
    /// The KB-JWT nonce.
    pub nonce: String,
    /// The KB-JWT `iat`, unix seconds.
    pub issued_at: u64,
    /// The disclosed claim paths.
    pub disclosed: Vec<String>,
    /// In rotating mode: ask for a fresh code after this many seconds. `None` otherwise.
    pub refresh_after_seconds: Option<u32>,
    /// The id of the credential presented: the one asked for, or with the `*_best` calls the
    /// one the wallet chose.
    pub credential_id: String,
    /// Whether a worker ID or a gate pass was presented.
    pub kind: CredentialKind,
}

/// What a scanned gate challenge asks for, to show the holder before answering.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ChallengeRequest {
    /// The gate (verifier) asking.
    pub aud: String,
    /// The claim paths it asks to see.
    pub claims: Vec<String>,
    /// When the challenge expires, unix seconds.
    pub expires_at: u64,
}

/// QR error-correction level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, uniffi::Enum)]
pub enum QrEcc {
    /// ~7% recoverable.
    L,
    /// ~15% recoverable (the default).
    #[default]
    M,
    /// ~25% recoverable.
    Q,
    /// ~30% recoverable.
    H,
}

impl QrEcc {
    fn core(self) -> Ecc {
        match self {
            QrEcc::L => Ecc::L,
            QrEcc::M => Ecc::M,
            QrEcc::Q => Ecc::Q,
            QrEcc::H => Ecc::H,
        }
    }
}

fn qr_error(e: impl std::fmt::Display) -> WalletError {
    WalletError::Qr {
        reason: e.to_string(),
    }
}

/// The default rotation period in seconds ([`DEFAULT_ROTATION_SECONDS`], 20).
#[uniffi::export]
pub fn default_rotation_seconds() -> u32 {
    DEFAULT_ROTATION_SECONDS
}

/// Renders a QR payload as a PNG (1-bit grayscale): `module_px` pixels per module, 4-module
/// quiet zone. 8 px per module is a good start for a phone screen.
#[uniffi::export]
pub fn qr_png(payload: String, module_px: u32, ecc: QrEcc) -> Result<Vec<u8>, WalletError> {
    guard(|| {
        qr::render(&payload, ecc.core())
            .map_err(qr_error)?
            .to_png(module_px, 4)
            .map_err(qr_error)
    })
}

/// Renders a QR payload as an SVG document (8 units per module, 4-module quiet zone).
#[uniffi::export]
pub fn qr_svg(payload: String, ecc: QrEcc) -> Result<String, WalletError> {
    guard(|| Ok(qr::render(&payload, ecc.core()).map_err(qr_error)?.to_svg()))
}

/// A scanned credential: a `GV1:` payload is decoded, anything else is taken as it is.
pub(crate) fn decode_scanned(text: &str) -> Result<String, WalletError> {
    if text.trim_start().starts_with(qr::PREFIX) {
        qr::decode_payload(text).map_err(qr_error)
    } else {
        Ok(text.to_owned())
    }
}

fn check_binding(name: &str, value: &str) -> Result<(), WalletError> {
    if value.is_empty() || value.len() > MAX_BINDING_LEN || value.chars().any(char::is_control) {
        return Err(WalletError::input(format!(
            "`{name}` must be 1 to {MAX_BINDING_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

pub(crate) fn parse_paths(paths: &[String]) -> Result<Vec<ClaimPath>, WalletError> {
    if paths.is_empty() {
        return Err(WalletError::input("no claims selected"));
    }
    paths
        .iter()
        .map(|p| {
            ClaimPath::parse(p).map_err(|e| WalletError::input(format!("claim path `{p}`: {e}")))
        })
        .collect()
}

#[uniffi::export]
impl Wallet {
    /// Presents the stored credential `credential_id` (exactly that one, worker ID or gate
    /// pass) to the verifier `aud`, bound to `nonce`, disclosing `selection`. To let the wallet
    /// show the gate pass where it can, see [`Wallet::present_best`].
    pub fn present(
        &self,
        credential_id: String,
        aud: String,
        nonce: String,
        selection: ClaimSelection,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            let paths = selection.paths()?;
            self.make_presentation(&credential_id, aud, nonce, &paths, None)
        })
    }

    /// A fresh gate code for rotating (one-way) mode from the stored credential `credential_id`
    /// (exactly that one): a new random nonce and `iat` = now on every call. Call it again every
    /// `refresh_after_seconds` (see [`default_rotation_seconds`]); a gate accepts each code
    /// once. [`Wallet::present_rotating_best`] shows the gate pass where it can.
    pub fn present_rotating(
        &self,
        credential_id: String,
        aud: String,
        profile: GateProfileKind,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            self.make_presentation(
                &credential_id,
                aud,
                random_token(),
                &profile.claims(),
                Some(DEFAULT_ROTATION_SECONDS),
            )
        })
    }

    /// Reads a scanned gate challenge (`GVC1:`), checking it and its expiry, so the app can show
    /// the holder which gate asks for what before answering.
    pub fn read_challenge(&self, challenge: String) -> Result<ChallengeRequest, WalletError> {
        guard(|| {
            let c = self.scanned_challenge(&challenge)?;
            Ok(ChallengeRequest {
                aud: c.aud,
                claims: c.claims,
                expires_at: c.exp,
            })
        })
    }

    /// Answers a scanned gate challenge (`GVC1:`) from the stored credential `credential_id`
    /// (exactly that one): discloses the claims it asks for, bound to its `aud` and `nonce`.
    /// [`Wallet::present_for_challenge_best`] answers from the gate pass where it can.
    pub fn present_for_challenge(
        &self,
        credential_id: String,
        challenge: String,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            let c = self.scanned_challenge(&challenge)?;
            let paths = parse_paths(&c.claims)?;
            self.make_presentation(&credential_id, c.aud, c.nonce, &paths, None)
        })
    }
}

impl Wallet {
    /// A scanned gate challenge (`GVC1:`), checked and not expired.
    pub(crate) fn scanned_challenge(&self, text: &str) -> Result<qr::GateChallenge, WalletError> {
        qr::decode_challenge(text, self.clock.now()).map_err(|e| WalletError::InvalidChallenge {
            reason: e.to_string(),
        })
    }

    /// Presents the stored credential `credential_id`, refusing an expired one.
    pub(crate) fn make_presentation(
        &self,
        credential_id: &str,
        aud: String,
        nonce: String,
        paths: &[ClaimPath],
        refresh_after_seconds: Option<u32>,
    ) -> Result<Presentation, WalletError> {
        let (presentation, request, row, claims) =
            self.key_bound_presentation(credential_id, aud, nonce, paths)?;
        let payload = qr::encode_presentation(&presentation).map_err(qr_error)?;
        Ok(Presentation {
            payload,
            presentation,
            aud: request.aud,
            nonce: request.nonce,
            issued_at: request.iat,
            disclosed: paths.iter().map(ToString::to_string).collect(),
            refresh_after_seconds,
            credential_id: row.id,
            kind: kind_of(&claims),
        })
    }

    /// The compact SD-JWT presentation of the stored credential `credential_id` disclosing
    /// exactly `paths`, with a KB-JWT (`aud`, `nonce`, `iat` now) signed by its holder key in the
    /// key store; an expired credential is refused. Also returns the KB-JWT's binding, the row
    /// and its claims.
    pub(crate) fn key_bound_presentation(
        &self,
        credential_id: &str,
        aud: String,
        nonce: String,
        paths: &[ClaimPath],
    ) -> Result<(String, KbRequest, CredentialRow, Map<String, Value>), WalletError> {
        check_binding("aud", &aud)?;
        check_binding("nonce", &nonce)?;
        let row = self.row(credential_id)?;
        let now = self.clock.now();
        let claims = claims_of(&row)?;
        let exp = claims.get("exp").and_then(numeric_date);
        if exp.is_some_and(|exp| exp <= now) {
            return Err(WalletError::credential(
                "expired",
                "the credential has expired",
            ));
        }
        let held = self.held(&row)?;
        let signer = self.signer(&row)?;
        let request = KbRequest {
            aud,
            nonce,
            iat: now,
        };
        let presentation = held
            .present(paths, Some((&request, &signer)))
            .map_err(|e| match e {
                PresentError::NoSuchClaim(path) => WalletError::MissingClaim { path },
                PresentError::Sign(e) => signer.take_error(e),
                other => WalletError::Internal {
                    reason: other.to_string(),
                },
            })?;
        Ok((presentation, request, row, claims))
    }
}
