//! A key store in files, for tests and for platforms without secure key hardware.
//!
//! Layout of its directory (created `0700`; every file `0600`, written to a temporary file and
//! renamed into place):
//!
//! - `keystore.json`: `{"v":1,"kdf":"argon2id","m_kib":…,"t":…,"p":…,"salt":…,"check":…}`. The
//!   32-byte key-encryption key is Argon2id(passphrase, salt); `check` is an XChaCha20-Poly1305
//!   box of a fixed text under it, so a wrong passphrase fails at open with `WrongPassphrase`.
//! - `key-<hex>.json` per key, `<hex>` the first 16 bytes of SHA-256(alias):
//!   `{"v":1,"alias":…,"alg":"ES256"|"EdDSA","public_jwk":{…},"nonce":…,"ct":…}`, `ct` the
//!   XChaCha20-Poly1305 box of the 32-byte private scalar or seed, with the associated data
//!   `govid-key-v1|<alg>|<alias>` so that a box moved to another alias or algorithm fails.
//!
//! Decrypted keys are cached in memory for the life of the object (zeroized on drop by their
//! crates); the key-encryption key is zeroized on drop. Nothing here logs or prints a key.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use govid_core::b64;
use govid_core::jose::{Algorithm, PublicKey, Signer, SoftwareSigner};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{guard_ks, KeyStoreError};
use crate::keystore::{KeyAlgorithm, KeyStore};

const META_FILE: &str = "keystore.json";
const CHECK_TEXT: &[u8] = b"govid-software-keystore-v1";
/// Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP password-storage minimum).
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

fn failed(reason: impl fmt::Display) -> KeyStoreError {
    KeyStoreError::Failed {
        reason: reason.to_string(),
    }
}

/// A [`KeyStore`] keeping keys encrypted at rest in a directory, under a passphrase.
#[derive(uniffi::Object)]
pub struct SoftwareKeyStore {
    dir: PathBuf,
    kek: Zeroizing<[u8; 32]>,
    cache: Mutex<HashMap<String, SoftwareSigner>>,
}

impl fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKeyStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl SoftwareKeyStore {
    /// Opens (creating if needed) the key store in `dir`, unlocked with `passphrase`.
    /// Throws `WrongPassphrase` if the store exists under another passphrase. Opening runs
    /// Argon2id once (tens of milliseconds): open once, keep the object.
    #[uniffi::constructor]
    pub fn open(dir: String, passphrase: String) -> Result<Arc<Self>, KeyStoreError> {
        guard_ks(|| {
            let passphrase = Zeroizing::new(passphrase);
            if passphrase.is_empty() {
                return Err(failed("the passphrase is empty"));
            }
            let dir = PathBuf::from(dir);
            create_private_dir(&dir)?;
            let meta_path = dir.join(META_FILE);
            let kek = if meta_path.exists() {
                let meta = read_json(&meta_path)?;
                let param = |name: &str| {
                    meta.get(name)
                        .and_then(Value::as_u64)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| failed("keystore.json is malformed"))
                };
                let salt = b64_field(&meta, "salt")?;
                let kek = derive_kek(
                    &passphrase,
                    &salt,
                    param("m_kib")?,
                    param("t")?,
                    param("p")?,
                )?;
                let check = b64_field(&meta, "check")?;
                match open_box(&kek, &check, b"govid-check") {
                    Some(text) if text.as_slice() == CHECK_TEXT => kek,
                    _ => return Err(KeyStoreError::WrongPassphrase),
                }
            } else {
                let mut salt = [0u8; 16];
                OsRng.fill_bytes(&mut salt);
                let kek = derive_kek(&passphrase, &salt, ARGON2_M_KIB, ARGON2_T, ARGON2_P)?;
                let check = seal_box(&kek, CHECK_TEXT, b"govid-check")?;
                let meta = json!({
                    "v": 1, "kdf": "argon2id",
                    "m_kib": ARGON2_M_KIB, "t": ARGON2_T, "p": ARGON2_P,
                    "salt": b64::encode(salt), "check": b64::encode(check),
                });
                write_private(&meta_path, &meta)?;
                kek
            };
            Ok(Arc::new(Self {
                dir,
                kek,
                cache: Mutex::new(HashMap::new()),
            }))
        })
    }

    /// This store as a [`KeyStore`], to pass to `Wallet.open`.
    pub fn as_key_store(self: Arc<Self>) -> Arc<dyn KeyStore> {
        self
    }

    /// The aliases of the keys in this store, sorted.
    pub fn aliases(&self) -> Result<Vec<String>, KeyStoreError> {
        guard_ks(|| {
            let mut out = Vec::new();
            for entry in fs::read_dir(&self.dir).map_err(failed)? {
                let name = entry.map_err(failed)?.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("key-") && name.ends_with(".json") {
                    let record = read_json(&self.dir.join(name.as_ref()))?;
                    if let Some(alias) = record.get("alias").and_then(Value::as_str) {
                        out.push(alias.to_owned());
                    }
                }
            }
            out.sort();
            Ok(out)
        })
    }
}

impl SoftwareKeyStore {
    fn key_path(&self, alias: &str) -> PathBuf {
        let digest = Sha256::digest(alias.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("key-{hex}.json"))
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<String, SoftwareSigner>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads (decrypting once) the signer under `alias`.
    fn signer(&self, alias: &str) -> Result<SoftwareSigner, KeyStoreError> {
        if let Some(signer) = self.cached().get(alias) {
            return Ok(signer.clone());
        }
        let path = self.key_path(alias);
        if !path.exists() {
            return Err(KeyStoreError::KeyNotFound {
                alias: alias.to_owned(),
            });
        }
        let record = read_json(&path)?;
        if record.get("alias").and_then(Value::as_str) != Some(alias) {
            return Err(failed("key file does not belong to this alias"));
        }
        let alg = record
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
            .ok_or_else(|| failed("key file has no valid `alg`"))?;
        let nonce_ct = [b64_field(&record, "nonce")?, b64_field(&record, "ct")?].concat();
        let secret = open_box(&self.kek, &nonce_ct, &aad(alg, alias))
            .map(Zeroizing::new)
            .ok_or_else(|| failed("key file does not decrypt (corrupted or tampered)"))?;
        let secret: &[u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| failed("key file holds a key of the wrong size"))?;
        let signer = match alg {
            Algorithm::EdDSA => {
                SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(secret))
            }
            Algorithm::ES256 => SoftwareSigner::P256(
                p256::ecdsa::SigningKey::from_slice(secret)
                    .map_err(|_| failed("key file holds an invalid P-256 key"))?,
            ),
        };
        let recorded = record
            .get("public_jwk")
            .map(PublicKey::from_jwk)
            .and_then(Result::ok);
        if recorded.as_ref() != Some(&signer.public_key()) {
            return Err(failed(
                "key file's public key does not match its private key",
            ));
        }
        self.cached().insert(alias.to_owned(), signer.clone());
        Ok(signer)
    }
}

impl KeyStore for SoftwareKeyStore {
    fn create_key(&self, alias: String, alg: KeyAlgorithm) -> Result<String, KeyStoreError> {
        guard_ks(|| {
            let path = self.key_path(&alias);
            if path.exists() {
                return Err(KeyStoreError::KeyExists { alias });
            }
            let alg = alg.jose();
            let signer = SoftwareSigner::generate(alg, &mut OsRng);
            let secret = Zeroizing::new(match &signer {
                SoftwareSigner::Ed25519(k) => k.to_bytes().to_vec(),
                SoftwareSigner::P256(k) => k.to_bytes().to_vec(),
            });
            let sealed = seal_box(&self.kek, &secret, &aad(alg, &alias))?;
            let (nonce, ct) = sealed.split_at(24);
            let public = signer.public_key().to_jwk();
            let record = json!({
                "v": 1, "alias": alias, "alg": alg.as_str(), "public_jwk": public,
                "nonce": b64::encode(nonce), "ct": b64::encode(ct),
            });
            write_private(&path, &record)?;
            self.cached().insert(alias, signer);
            Ok(public.to_string())
        })
    }

    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        guard_ks(|| {
            self.signer(&alias)?
                .sign(&message)
                .map_err(|e| failed(e.reason))
        })
    }

    fn public_jwk(&self, alias: String) -> Result<String, KeyStoreError> {
        guard_ks(|| Ok(self.signer(&alias)?.public_key().to_jwk().to_string()))
    }

    fn delete_key(&self, alias: String) -> Result<(), KeyStoreError> {
        guard_ks(|| {
            self.cached().remove(&alias);
            match fs::remove_file(self.key_path(&alias)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(failed(e)),
            }
        })
    }
}

fn aad(alg: Algorithm, alias: &str) -> Vec<u8> {
    format!("govid-key-v1|{}|{alias}", alg.as_str()).into_bytes()
}

fn derive_kek(
    passphrase: &str,
    salt: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
    let params = argon2::Params::new(m_kib, t, p, Some(32)).map_err(failed)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(failed)?;
    Ok(out)
}

/// `nonce(24) ‖ ciphertext`.
fn seal_box(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| failed("encryption failed"))?;
    Ok([nonce.as_slice(), &ct].concat())
}

fn open_box(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 24 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().ok()?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
        .ok()
}

fn b64_field(value: &Value, name: &str) -> Result<Vec<u8>, KeyStoreError> {
    value
        .get(name)
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or_else(|| failed(format!("key store file has no valid `{name}`")))
}

fn read_json(path: &Path) -> Result<Value, KeyStoreError> {
    let bytes = fs::read(path).map_err(failed)?;
    serde_json::from_slice(&bytes).map_err(|_| failed("key store file is not JSON"))
}

fn create_private_dir(dir: &Path) -> Result<(), KeyStoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(failed)
}

/// Writes `value` to `path` readable by the owner only, atomically (temp file + rename).
fn write_private(path: &Path, value: &Value) -> Result<(), KeyStoreError> {
    let tmp = path.with_extension(format!("tmp{}", OsRng.next_u32()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(value.to_string().as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn must<T, E: fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_survive_reopen_and_need_the_passphrase() {
        let dir = must(tempfile::tempdir());
        let path = dir.path().join("ks").to_string_lossy().into_owned();
        let store = must(SoftwareKeyStore::open(path.clone(), "correct horse".into()));
        let jwk = must(store.create_key("holder".into(), KeyAlgorithm::Es256));
        assert!(matches!(
            store.create_key("holder".into(), KeyAlgorithm::EdDsa),
            Err(KeyStoreError::KeyExists { .. })
        ));
        drop(store);

        assert!(matches!(
            SoftwareKeyStore::open(path.clone(), "wrong".into()),
            Err(KeyStoreError::WrongPassphrase)
        ));
        let store = must(SoftwareKeyStore::open(path, "correct horse".into()));
        assert_eq!(must(store.public_jwk("holder".into())), jwk);
        let sig = must(store.sign("holder".into(), b"abc".to_vec()));
        let key = must(PublicKey::from_jwk_str(&jwk));
        assert!(govid_core::jose::verify_signature(Algorithm::ES256, &key, b"abc", &sig).is_ok());
        assert_eq!(must(store.aliases()), vec!["holder".to_owned()]);
        must(store.delete_key("holder".into()));
        must(store.delete_key("holder".into()));
        assert!(matches!(
            store.sign("holder".into(), vec![]),
            Err(KeyStoreError::KeyNotFound { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only_and_hold_no_plain_key() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = must(tempfile::tempdir());
        let store = must(SoftwareKeyStore::open(
            dir.path().to_string_lossy().into_owned(),
            "pw".into(),
        ));
        must(store.create_key("k".into(), KeyAlgorithm::EdDsa));
        let signer = must(store.signer("k"));
        let SoftwareSigner::Ed25519(key) = signer else {
            panic!("wrong key type")
        };
        let seed_b64 = b64::encode(key.to_bytes());
        for entry in must(fs::read_dir(dir.path())) {
            let path = must(entry).path();
            let mode = must(fs::metadata(&path)).permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            let text = must(fs::read_to_string(&path));
            assert!(!text.contains(&seed_b64));
        }
        assert!(!format!("{store:?}").contains(&seed_b64));
    }
}
