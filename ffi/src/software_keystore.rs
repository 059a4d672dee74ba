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
//! Every field is checked before it is used (see [`format`]): Argon2id parameters between the
//! ones the store writes and a ceiling (64 MiB, 8 passes, 8 lanes), salt, nonce and box lengths,
//! files at most 16 KiB. A corrupted or tampered file fails `open` with `Failed("key store file is
//! corrupted: …")`, promptly, and cannot downgrade the key derivation.
//!
//! Decrypted keys are cached in memory for the life of the object (zeroized on drop by their
//! crates); the key-encryption key is zeroized on drop. Nothing here logs or prints a key.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{Read as _, Write as _};
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

mod format;
use format::{
    bytes_field, corrupted, KdfParams, MAX_FILE_LEN, MAX_SALT_LEN, NONCE_LEN, SEALED_KEY_LEN,
    TAG_LEN, WRITTEN_SALT_LEN,
};

const META_FILE: &str = "keystore.json";
const CHECK_TEXT: &[u8] = b"govid-software-keystore-v1";
/// The `check` box: nonce, [`CHECK_TEXT`], tag.
const CHECK_BOX_LEN: usize = NONCE_LEN + CHECK_TEXT.len() + TAG_LEN;

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
                // Every field is checked before Argon2 runs with them.
                let params = KdfParams::from_meta(&meta)?;
                let salt = bytes_field(&meta, "salt", WRITTEN_SALT_LEN, MAX_SALT_LEN)?;
                let check = bytes_field(&meta, "check", CHECK_BOX_LEN, CHECK_BOX_LEN)?;
                let kek = derive_kek(&passphrase, &salt, params)?;
                match open_box(&kek, &check, b"govid-check") {
                    Some(text) if text.as_slice() == CHECK_TEXT => kek,
                    _ => return Err(KeyStoreError::wrong_passphrase()),
                }
            } else {
                let mut salt = [0u8; WRITTEN_SALT_LEN];
                OsRng.fill_bytes(&mut salt);
                let params = KdfParams::WRITTEN;
                let kek = derive_kek(&passphrase, &salt, params)?;
                let check = seal_box(&kek, CHECK_TEXT, b"govid-check")?;
                let meta = json!({
                    "v": 1, "kdf": "argon2id",
                    "m_kib": params.m_kib, "t": params.t, "p": params.p,
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
        let nonce_ct = [
            bytes_field(&record, "nonce", NONCE_LEN, NONCE_LEN)?,
            bytes_field(&record, "ct", SEALED_KEY_LEN, SEALED_KEY_LEN)?,
        ]
        .concat();
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
            let (nonce, ct) = sealed.split_at(NONCE_LEN);
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
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
    let params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(failed)?;
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
    let mut nonce = [0u8; NONCE_LEN];
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
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
        .ok()
}

/// Reads a key store file of at most [`MAX_FILE_LEN`] bytes as JSON.
fn read_json(path: &Path) -> Result<Value, KeyStoreError> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(corrupted(format_args!("larger than {MAX_FILE_LEN} bytes")));
    }
    serde_json::from_slice(&bytes).map_err(|_| corrupted("not JSON"))
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
            Err(KeyStoreError::WrongPassphrase { .. })
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

    /// A new store in a fresh directory, and that directory.
    fn new_store() -> (tempfile::TempDir, String) {
        let dir = must(tempfile::tempdir());
        let path = dir.path().join("ks").to_string_lossy().into_owned();
        let store = must(SoftwareKeyStore::open(path.clone(), "pw".into()));
        must(store.create_key("k".into(), KeyAlgorithm::EdDsa));
        (dir, path)
    }

    /// Opens the store at `path` with its passphrase; the reason it fails and how long that took.
    fn open_failure(path: &str) -> (String, std::time::Duration) {
        let started = std::time::Instant::now();
        let result = SoftwareKeyStore::open(path.to_owned(), "pw".into());
        let took = started.elapsed();
        match result {
            Err(KeyStoreError::Failed { reason }) => (reason, took),
            Err(e) => panic!("expected Failed, got {e:?}"),
            Ok(_) => panic!("opened"),
        }
    }

    fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
        let mut value = must(read_json(path));
        let Some(map) = value.as_object_mut() else {
            panic!("not an object")
        };
        edit(map);
        must(fs::write(path, value.to_string()));
    }

    #[test]
    fn a_tampered_kdf_is_refused_promptly_with_the_field_named() {
        let cases: [(&str, Value, &str); 8] = [
            // 4 GiB: the allocation used to abort the process.
            (
                "m_kib",
                json!(4_194_304),
                "argon2 memory 4194304 KiB exceeds 65536 KiB",
            ),
            // 2^32-1 passes: open used to run for days.
            ("t", json!(u32::MAX), "argon2 passes 4294967295 exceeds 8"),
            ("p", json!(0), "argon2 lanes 0 is below 1"),
            // A downgrade to trivially weak parameters.
            ("m_kib", json!(8), "argon2 memory 8 KiB is below 19456 KiB"),
            ("t", json!(1), "argon2 passes 1 is below 2"),
            (
                "m_kib",
                json!("19456"),
                "`m_kib` is missing or not an integer",
            ),
            (
                "salt",
                json!(b64::encode([0u8; 4])),
                "`salt` is 4 bytes, not 16 to 64",
            ),
            (
                "salt",
                json!(b64::encode([0u8; 4096])),
                "`salt` is 4096 bytes, not 16 to 64",
            ),
        ];
        let (_dir, path) = new_store();
        let meta = Path::new(&path).join(META_FILE);
        let original = must(fs::read(&meta));
        for (field, value, expected) in cases {
            must(fs::write(&meta, &original));
            edit_json(&meta, |m| {
                m.insert(field.to_owned(), value.clone());
            });
            let (reason, took) = open_failure(&path);
            assert_eq!(
                reason,
                format!("key store file is corrupted: {expected}"),
                "{field}: {value}"
            );
            assert!(took.as_secs() < 2, "{field}: {value}: took {took:?}");
        }
    }

    #[test]
    fn truncated_or_missing_fields_are_corruption_not_a_wrong_passphrase() {
        let truncate = |m: &mut serde_json::Map<String, Value>, name: &str| {
            let text = m.get(name).and_then(Value::as_str).unwrap_or_default();
            let half = text[..text.len() / 2].to_owned();
            m.insert(name.to_owned(), Value::String(half));
        };
        let (_dir, path) = new_store();
        let meta = Path::new(&path).join(META_FILE);
        let original = must(fs::read(&meta));
        edit_json(&meta, |m| truncate(m, "check"));
        assert_eq!(
            open_failure(&path).0,
            "key store file is corrupted: `check` is 33 bytes, not 66"
        );
        must(fs::write(&meta, &original));
        edit_json(&meta, |m| {
            m.remove("p");
        });
        assert_eq!(
            open_failure(&path).0,
            "key store file is corrupted: `p` is missing or not an integer"
        );
        must(fs::write(&meta, r#"{"v":1,"kdf":"argon2id","m_kib":19456"#));
        assert_eq!(
            open_failure(&path).0,
            "key store file is corrupted: not JSON"
        );
        must(fs::write(&meta, " ".repeat(1 << 20)));
        assert_eq!(
            open_failure(&path).0,
            "key store file is corrupted: larger than 16384 bytes"
        );
    }

    #[test]
    fn a_key_file_with_truncated_fields_is_corruption() {
        let (_dir, path) = new_store();
        let store = must(SoftwareKeyStore::open(path.clone(), "pw".into()));
        let key_file = store.key_path("k");
        drop(store);
        for (field, expected) in [
            ("nonce", "`nonce` is 12 bytes, not 24"),
            ("ct", "`ct` is 24 bytes, not 48"),
        ] {
            let original = must(fs::read(&key_file));
            edit_json(&key_file, |m| {
                let text = m.get(field).and_then(Value::as_str).unwrap_or_default();
                let bytes = b64::decode(text).unwrap_or_default();
                m.insert(
                    field.to_owned(),
                    json!(b64::encode(&bytes[..bytes.len() / 2])),
                );
            });
            let store = must(SoftwareKeyStore::open(path.clone(), "pw".into()));
            assert_eq!(
                store.sign("k".into(), b"abc".to_vec()),
                Err(KeyStoreError::Failed {
                    reason: format!("key store file is corrupted: {expected}")
                }),
                "{field}"
            );
            must(fs::write(&key_file, original));
        }
    }

    #[test]
    fn a_wrong_passphrase_has_a_clear_message() {
        let (_dir, path) = new_store();
        let err = match SoftwareKeyStore::open(path, "not pw".into()) {
            Err(e) => e,
            Ok(_) => panic!("opened with a wrong passphrase"),
        };
        assert_eq!(err, KeyStoreError::wrong_passphrase());
        assert_eq!(
            err.to_string(),
            "wrong passphrase for the software key store"
        );
        let wallet = crate::WalletError::from(err);
        assert_eq!(
            wallet,
            crate::WalletError::KeyStore {
                kind: crate::KeyStoreFailure::WrongPassphrase,
                reason: "wrong passphrase for the software key store".to_owned(),
            }
        );
        assert_eq!(
            wallet.to_string(),
            "key store (WrongPassphrase): wrong passphrase for the software key store"
        );
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
