//! The records and enums the wallet hands to apps.

use govid_core::credential::{GATE_PASS_VCT, WORKER_ID_VCT};

use crate::keystore::KeyAlgorithm;

/// An issuer key the wallet trusts.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TrustedIssuer {
    /// The only `iss` this key may sign for, or `None` for any.
    pub issuer: Option<String>,
    /// The key's RFC 7638 thumbprint (its id in the wallet).
    pub thumbprint: String,
    /// The public JWK, as JSON text.
    pub jwk: String,
    /// The extra key id credentials may name this key by (the JWK Set's `kid`, a DID URL such
    /// as `did:web:hr.example#key-1`), besides its thumbprint; `None` if it has none.
    pub kid: Option<String>,
}

/// What the app sends to HR to enroll (HR's `govid-issuer enroll` reads `key_proof`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentRequest {
    /// The issuer id the proof is addressed to (its `aud`).
    pub issuer_id: String,
    /// The `openid4vci-proof+jwt` key proof: a compact JWS.
    pub key_proof: String,
    /// The key store alias of the new holder key.
    pub key_alias: String,
    /// The new holder key's public JWK, as JSON text.
    pub holder_jwk: String,
}

/// A credential's status as last learnt from its issuer's Status List Token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CredentialStatus {
    /// Never checked (or the credential has no status list entry).
    Unknown,
    /// Valid (status list value 0).
    Valid,
    /// Revoked by the issuer (status list value 1, `INVALID`): it will not open gates again.
    Revoked,
    /// Suspended by the issuer (status list value 2): may become valid again.
    Suspended,
    /// Another, application-specific status list value.
    Other {
        /// The value.
        value: u8,
    },
}

impl CredentialStatus {
    pub(crate) fn from_value(value: Option<u8>) -> Self {
        match value {
            None => CredentialStatus::Unknown,
            Some(0) => CredentialStatus::Valid,
            Some(1) => CredentialStatus::Revoked,
            Some(2) => CredentialStatus::Suspended,
            Some(value) => CredentialStatus::Other { value },
        }
    }
}

/// Which govid credential a stored credential is. HR issues both to the same holder key with the
/// same status list entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CredentialKind {
    /// The full worker ID (`vct` `https://govid.example/vct/worker-id/v1`): every worker claim,
    /// for counters and anything that asks for more than name and organization.
    WorkerId,
    /// The lean gate pass (`vct` `https://govid.example/vct/worker-gate-pass/v1`): name,
    /// organization and, when the holder has them, clearance and access zones. Its `entry`
    /// presentation fits a much smaller QR code than the worker ID's.
    GatePass,
}

impl CredentialKind {
    /// The kind of a credential with this `vct`, or `None` for any other credential type.
    pub(crate) fn from_vct(vct: &str) -> Option<Self> {
        match vct {
            WORKER_ID_VCT => Some(CredentialKind::WorkerId),
            GATE_PASS_VCT => Some(CredentialKind::GatePass),
            _ => None,
        }
    }
}

/// A stored worker ID or gate pass, for display in the wallet.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CredentialSummary {
    /// The wallet's id for the credential (base64url of a SHA-256 prefix of the issuer JWT: the
    /// same credential accepted twice has the same id).
    pub id: String,
    /// `iss`.
    pub issuer: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Employee number.
    pub employee_number: Option<String>,
    /// Organization name.
    pub organization_name: Option<String>,
    /// Organization code.
    pub organization_code: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position or title.
    pub position: Option<String>,
    /// Grade.
    pub grade: Option<String>,
    /// Access zones.
    pub access_zones: Vec<String>,
    /// Whether the credential carries a portrait (see `Wallet.portrait`).
    pub has_portrait: bool,
    /// `iat`, unix seconds.
    pub issued_at: Option<u64>,
    /// `nbf`, unix seconds.
    pub valid_from: Option<u64>,
    /// `exp`, unix seconds.
    pub expires_at: Option<u64>,
    /// Whether `exp` has passed now.
    pub expired: bool,
    /// Whether the credential has a status list entry (`refresh_status` applies).
    pub has_status_list: bool,
    /// The status list URI to fetch for `refresh_status`.
    pub status_list_uri: Option<String>,
    /// Status as last known.
    pub status: CredentialStatus,
    /// When the status was last refreshed, unix seconds.
    pub status_checked_at: Option<u64>,
    /// When the wallet accepted the credential, unix seconds.
    pub received_at: u64,
    /// The holder key's algorithm.
    pub key_algorithm: KeyAlgorithm,
    /// Worker ID or gate pass. A gate pass has no employee number, department, position, grade,
    /// birth date or portrait: those fields are `None` (or `false`) for it.
    pub kind: CredentialKind,
}
