//! A staff member's phone: the real wallet library (`govid-ffi`, what the Android and iOS apps
//! call through uniffi) with a software key store, each phone in its own folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use govid_ffi::{
    qr_png, CredentialKind, CredentialSummary, GateProfileKind, HttpClient, KeyAlgorithm,
    Presentation, QrEcc, ReceivedCredentials, SoftwareKeyStore, Wallet,
};

use crate::DemoError;

/// The demo phones' key store passphrase. A real app keeps keys in the phone's secure hardware
/// (Android Keystore, iOS Secure Enclave) through its own `KeyStore`.
const PASSPHRASE: &str = "govid demo phone: not a secret";
/// Pixels per QR module in the PNG files.
const QR_MODULE_PX: u32 = 4;

/// One phone with its wallet.
pub(crate) struct Phone {
    wallet: Arc<Wallet>,
    dir: PathBuf,
}

impl Phone {
    /// Opens (creating on first use) the phone kept in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, DemoError> {
        let keys = SoftwareKeyStore::open(path_text(&dir.join("keys"))?, PASSPHRASE.to_owned())
            .map_err(|e| DemoError(format!("phone key store {}: {e}", dir.display())))?;
        let wallet = Wallet::open(path_text(&dir.join("wallet"))?, keys.as_key_store())
            .map_err(|e| DemoError(format!("wallet {}: {e}", dir.display())))?;
        Ok(Self {
            wallet,
            dir: dir.to_owned(),
        })
    }

    /// Trusts HR's issuer key for `did` (the app ships it, or learns it from HR's DID document).
    pub(crate) fn trust_issuer(&self, jwk: &str, did: &str) -> Result<(), DemoError> {
        self.wallet
            .trust_issuer(jwk.to_owned(), Some(did.to_owned()))
            .map(drop)
            .map_err(|e| DemoError(format!("trust issuer: {e}")))
    }

    /// Scans HR's enrollment QR payload: makes a new P-256 key (as phone hardware would) and
    /// writes the key proof HR needs into the phone's folder. Returns the proof file.
    pub(crate) fn enroll(&self, offer: &str) -> Result<PathBuf, DemoError> {
        let request = self
            .wallet
            .enroll_from_offer(offer.to_owned(), KeyAlgorithm::Es256)
            .map_err(|e| DemoError(format!("enrollment: {e}")))?;
        let file = self.dir.join("key-proof.jwt");
        fs::write(&file, request.key_proof)
            .map_err(|e| DemoError(format!("{}: {e}", file.display())))?;
        Ok(file)
    }

    /// Receives the IDs of HR's OpenID4VCI offer (the scanned link and the PIN typed in) from
    /// the issuer service over `http`.
    pub(crate) fn receive(
        &self,
        offer: &str,
        pin: &str,
        http: Arc<dyn HttpClient>,
    ) -> Result<ReceivedCredentials, DemoError> {
        self.wallet
            .receive_offer(offer.to_owned(), Some(pin.to_owned()), http)
            .map_err(|e| DemoError(format!("wallet: receive over OpenID4VCI: {e}")))
    }

    /// Accepts a credential file HR issued.
    pub(crate) fn accept(&self, file: &Path) -> Result<CredentialSummary, DemoError> {
        self.wallet
            .accept_credential_file(path_text(file)?)
            .map_err(|e| DemoError(format!("wallet: accept {}: {e}", file.display())))
    }

    /// The phone's worker ID.
    pub(crate) fn worker_id(&self) -> Result<CredentialSummary, DemoError> {
        let held = self
            .wallet
            .list_credentials()
            .map_err(|e| DemoError(format!("wallet: {e}")))?;
        held.into_iter()
            .find(|c| c.kind == CredentialKind::WorkerId)
            .ok_or_else(|| DemoError(format!("the phone in {} holds no ID", self.dir.display())))
    }

    /// A fresh rotating gate code for `aud` (entry profile), also written as a QR PNG to `png`.
    /// The wallet shows its lean gate pass when it holds one (a smaller QR code), else the
    /// worker ID.
    pub(crate) fn gate_code(&self, aud: &str, png: &Path) -> Result<Presentation, DemoError> {
        let id = self.worker_id()?.id;
        let code = self
            .wallet
            .present_rotating_best(id, aud.to_owned(), GateProfileKind::Entry)
            .map_err(|e| DemoError(format!("wallet: present: {e}")))?;
        let image = qr_png(code.payload.clone(), QR_MODULE_PX, QrEcc::M)
            .map_err(|e| DemoError(format!("QR code: {e}")))?;
        fs::write(png, image).map_err(|e| DemoError(format!("{}: {e}", png.display())))?;
        Ok(code)
    }
}

/// The wallet API takes paths as text.
fn path_text(path: &Path) -> Result<String, DemoError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| DemoError(format!("{}: not UTF-8", path.display())))
}
