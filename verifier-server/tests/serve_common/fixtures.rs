//! Test credentials for the gate server, made with core's own APIs: an HR issuer (software key),
//! worker IDs, holders' wallets that present them with key binding, status list tokens, and a
//! fake-camera video of a QR code. Shared by the `serve_*` tests and `examples/gate_demo.rs`.
// Test fixtures: a failure here is a broken test setup, reported by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use govid_core::credential::{
    issue_gate_pass, issue_worker_id, CredentialError, GateProfile, Organization, StatusListRef,
    Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::qr::{encode_presentation, render, Ecc};
use govid_core::sdjwt::{ClaimPath, Decoys, HeldSdJwt, IssuedSdJwt, KbRequest, VerifyPolicy};
use govid_core::status::{sign_status_list_token, StatusBits, StatusList, StatusTokenClaims};
use govid_core::trust::PinnedKeys;
use rand_core::{OsRng, RngCore as _};

/// The system clock in unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An HR office that issues worker IDs and signs status lists.
pub struct Issuer {
    pub iss: String,
    pub signer: SoftwareSigner,
}

impl Issuer {
    /// A new issuer with a fresh Ed25519 key.
    pub fn new(iss: &str) -> Self {
        Self {
            iss: iss.to_owned(),
            signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
        }
    }

    /// From a saved private JWK.
    pub fn from_private_jwk(iss: &str, jwk: &str) -> Self {
        let value: serde_json::Value = serde_json::from_str(jwk).unwrap();
        Self {
            iss: iss.to_owned(),
            signer: SoftwareSigner::from_private_jwk(&value).unwrap(),
        }
    }

    /// The public JWK, as JSON text.
    pub fn public_jwk(&self) -> String {
        self.signer.public_key().to_jwk().to_string()
    }

    /// Issues a worker ID to `holder`, valid `validity`, with status entry `status`.
    pub fn issue(
        &self,
        claims: &WorkerClaims,
        holder: &SoftwareSigner,
        validity: Validity,
        status: Option<(u64, &str)>,
    ) -> String {
        self.issue_with(claims, holder, validity, status, |c, p, s| {
            issue_worker_id(c, p, s, &mut OsRng)
        })
    }

    /// Issues a gate pass to `holder`, with the parameters of [`Issuer::issue`].
    pub fn issue_gate_pass(
        &self,
        claims: &WorkerClaims,
        holder: &SoftwareSigner,
        validity: Validity,
        status: Option<(u64, &str)>,
    ) -> String {
        self.issue_with(claims, holder, validity, status, |c, p, s| {
            issue_gate_pass(c, p, s, &mut OsRng)
        })
    }

    /// The parameters both kinds share, handed to `make`.
    fn issue_with(
        &self,
        claims: &WorkerClaims,
        holder: &SoftwareSigner,
        validity: Validity,
        status: Option<(u64, &str)>,
        make: impl Fn(
            &WorkerClaims,
            &WorkerIdParams<'_>,
            &SoftwareSigner,
        ) -> Result<IssuedSdJwt, CredentialError>,
    ) -> String {
        let holder_key = holder.public_key();
        let params = WorkerIdParams {
            issuer: &self.iss,
            holder_key: &holder_key,
            validity,
            status: status.map(|(idx, uri)| StatusListRef {
                idx,
                uri: uri.to_owned(),
            }),
            decoys: Decoys::NONE,
        };
        make(claims, &params, &self.signer).unwrap().compact()
    }

    /// A Status List Token for `uri` (2 bits per entry, `len` entries, all VALID but `set`).
    pub fn status_token(&self, uri: &str, iat: u64, len: usize, set: &[(usize, u8)]) -> String {
        let mut list = StatusList::new(StatusBits::try_from(2u8).unwrap(), len).unwrap();
        for &(idx, value) in set {
            list.set(idx, value).unwrap();
        }
        let claims = StatusTokenClaims::new(uri, iat).issuer(self.iss.clone());
        sign_status_list_token(&list, &claims, &self.signer).unwrap()
    }
}

/// Amira Haddad of the Ministry of Transport.
pub fn amira() -> WorkerClaims {
    WorkerClaims {
        given_name: "Amira".into(),
        family_name: "Haddad".into(),
        employee_number: "E-10442".into(),
        organization: Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
        department: None,
        position: Some("Senior Inspector".into()),
        grade: None,
        clearance: None,
        birthdate: Some("1986-04-12".into()),
        portrait: None,
        access_zones: Vec::new(),
    }
}

/// A validity period around `now`: issued a day ago, valid for a year.
pub fn valid_now(now: u64) -> Validity {
    Validity {
        issued_at: now - 86_400,
        not_before: now - 86_400,
        expires_at: now + 365 * 86_400,
    }
}

/// A holder's wallet: its key and its checked credential.
pub struct Wallet {
    pub holder: SoftwareSigner,
    pub held: HeldSdJwt,
}

impl Wallet {
    /// A new holder key.
    pub fn holder_key() -> SoftwareSigner {
        SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng)
    }

    /// A new holder key of `alg` (phones hold P-256 keys: ES256).
    pub fn holder_key_of(alg: Algorithm) -> SoftwareSigner {
        SoftwareSigner::generate(alg, &mut OsRng)
    }

    /// Receives `issued` from `issuer` as of `at` (unix seconds).
    pub fn receive(holder: SoftwareSigner, issued: &str, issuer: &Issuer, at: u64) -> Self {
        let policy = VerifyPolicy {
            sd_jwt_vc: true,
            ..VerifyPolicy::default()
        };
        let trust = PinnedKeys::single(issuer.signer.public_key());
        let held = HeldSdJwt::receive(issued, &policy, &trust, at).unwrap();
        Self { holder, held }
    }

    /// A compact presentation disclosing `paths`, bound to `aud`, `nonce`, `iat`.
    pub fn present(&self, paths: &[ClaimPath], aud: &str, nonce: &str, iat: u64) -> String {
        let request = KbRequest {
            aud: aud.to_owned(),
            nonce: nonce.to_owned(),
            iat,
        };
        self.held
            .present(paths, Some((&request, &self.holder)))
            .unwrap()
    }

    /// A rotating gate code (`GV1:`) for an `entry` gate: fresh random nonce, `iat` now.
    pub fn code(&self, aud: &str) -> String {
        let compact = self.present(&GateProfile::Entry.claims(), aud, &random_nonce(), now());
        encode_presentation(&compact).unwrap()
    }
}

/// `compact` (a JWS, or a presentation ending in a KB-JWT) with the ES256 signature at its end
/// replaced by its twin `(r, n − s)`: equally valid, made without any key, different bytes.
pub fn malleate_es256(compact: &str) -> String {
    let (head, sig) = compact.rsplit_once('.').unwrap();
    let bytes = govid_core::b64::decode(sig).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&bytes).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    format!("{head}.{}", govid_core::b64::encode(twin.to_bytes()))
}

/// 128 random bits, base64url.
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    govid_core::b64::encode(bytes)
}

/// A YUV4MPEG2 (I420, 640x480) video of `frames` identical frames showing `payload` as a QR
/// code, black on white, centred: Chromium's fake camera input.
pub fn qr_y4m(payload: &str, frames: usize) -> Vec<u8> {
    const W: usize = 640;
    const H: usize = 480;
    let code = render(payload, Ecc::M).unwrap();
    let modules = code.width() + 8;
    let px = (440 / modules).max(1);
    let side = modules * px;
    let (x0, y0) = ((W - side) / 2, (H - side) / 2);
    let mut y_plane = vec![255u8; W * H];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = ((x / px).checked_sub(4), (y / px).checked_sub(4));
            if let (Some(mx), Some(my)) = (mx, my) {
                if code.is_dark(mx, my) {
                    y_plane[(y0 + y) * W + x0 + x] = 0;
                }
            }
        }
    }
    let chroma = vec![128u8; (W / 2) * (H / 2) * 2];
    let mut out = format!("YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&y_plane);
        out.extend_from_slice(&chroma);
    }
    out
}
