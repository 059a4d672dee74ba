//! Key files: private JWKs in `keys/`, created 0600, never printed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::db::Connection;
use govid_core::jose::{PublicKey, Signer, SoftwareSigner, WithKeyId};

use crate::error::{CliError, CliResult};
use crate::fsutil;

/// The key directory inside the issuer directory.
pub(crate) const KEYS_DIR: &str = "keys";

/// The operator key file: signs the offline trust bundle for gates.
pub(crate) const OPERATOR_KEY_FILE: &str = "keys/operator.jwk";

/// An issuer key as recorded in the database.
#[derive(Clone, Debug)]
pub(crate) struct KeyRecord {
    pub(crate) kid: String,
    pub(crate) public: PublicKey,
    /// Path relative to the issuer directory.
    pub(crate) file: String,
    pub(crate) retired_at: Option<i64>,
}

/// The issuer's signer: the current key with its `kid`.
pub(crate) type IssuerSigner = WithKeyId<SoftwareSigner>;

/// Writes a private key file, 0600 from creation; refuses to overwrite.
pub(crate) fn write_private_key(dir: &Path, file: &str, key: &SoftwareSigner) -> CliResult<()> {
    let text = key.to_private_jwk().to_string();
    fsutil::create_new(&dir.join(file), text.as_bytes(), 0o600)
}

/// Reads a private key file. Refuses files others can read, and never echoes the content.
pub(crate) fn read_private_key(dir: &Path, file: &str) -> CliResult<SoftwareSigner> {
    let path = dir.join(file);
    let meta = fs::metadata(&path).map_err(|e| CliError::io("cannot read key file", &path, &e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(CliError::new(
            "key_permissions",
            format!(
                "key file {} is readable by other users; run `chmod 600 {}` and check who \
                 could have copied it",
                path.display(),
                path.display()
            ),
        ));
    }
    let bad = || {
        CliError::new(
            "bad_key_file",
            format!("key file {} is not a valid private JWK", path.display()),
        )
    };
    let text =
        fs::read_to_string(&path).map_err(|e| CliError::io("cannot read key file", &path, &e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    SoftwareSigner::from_private_jwk(&value).map_err(|_| bad())
}

fn record(
    row: &crate::db::Row<'_>,
) -> crate::db::Result<(i64, String, String, String, i64, Option<i64>)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_record(
    (_id, kid, jwk, file, _created_at, retired_at): (i64, String, String, String, i64, Option<i64>),
) -> CliResult<KeyRecord> {
    let public = PublicKey::from_jwk_str(&jwk).map_err(|_| {
        CliError::new(
            "corrupt_database",
            format!("key {kid} in issuer.db is not a valid public key"),
        )
    })?;
    Ok(KeyRecord {
        kid,
        public,
        file,
        retired_at,
    })
}

/// Every issuer key, oldest first.
pub(crate) fn all_keys(conn: &Connection) -> CliResult<Vec<KeyRecord>> {
    let mut stmt = conn.prepare(
        "SELECT id, kid, public_jwk, file, created_at, retired_at FROM keys ORDER BY id",
    )?;
    let rows = stmt.query_map([], record)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(to_record).collect()
}

/// The current (newest unretired) key.
pub(crate) fn current_key(conn: &Connection) -> CliResult<KeyRecord> {
    all_keys(conn)?
        .into_iter()
        .rev()
        .find(|k| k.retired_at.is_none())
        .ok_or_else(|| CliError::new("corrupt_database", "issuer.db has no current issuer key"))
}

/// Loads the signer of `record`, checking the file holds the key the database names.
pub(crate) fn load_signer(dir: &Path, record: &KeyRecord) -> CliResult<IssuerSigner> {
    let signer = read_private_key(dir, &record.file)?;
    if signer.public_key() != record.public {
        return Err(CliError::new(
            "key_mismatch",
            format!(
                "key file {} does not hold the key issuer.db records for {}",
                record.file, record.kid
            ),
        ));
    }
    Ok(WithKeyId {
        signer,
        kid: record.kid.clone(),
    })
}

/// The operator key (trust bundle signer).
pub(crate) fn load_operator(dir: &Path) -> CliResult<SoftwareSigner> {
    read_private_key(dir, OPERATOR_KEY_FILE)
}
