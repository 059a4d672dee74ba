//! `rotate-key`: a new issuer key; the old one stays published for the IDs it signed.

use std::path::Path;

use crate::db::params;
use govid_core::jose::{Algorithm, Signer, SoftwareSigner};
use rand_core::OsRng;
use serde_json::json;

use crate::audit;
use crate::clock;
use crate::confirm;
use crate::did::DidMethod;
use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys;
use crate::output::Report;
use crate::store;

/// `rotate-key`; asks first on a terminal unless `yes`.
pub(crate) fn run(dir: &Path, yes: bool) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    if issuer.method == DidMethod::Key {
        return Err(CliError::new(
            "cannot_rotate_did_key",
            "this issuer is a did:key: its identifier IS its key, so the key cannot be rotated. \
             Set up a did:web issuer to be able to rotate keys.",
        ));
    }
    let old = issuer.signer()?;
    let name = store::meta(&issuer.conn, "name")?;
    let signed: i64 = issuer.conn.query_row(
        "SELECT COUNT(*) FROM credentials WHERE kid = ?1",
        [&old.kid],
        |r| r.get(0),
    )?;
    confirm::ask(
        &format!(
            "Replace the signing key {} of {name} with a new one? New IDs will be signed with the \
             new key; the {signed} ID(s) signed with the old key keep working. Publish right after.",
            old.kid
        ),
        yes,
    )?;
    let now = clock::now()?;
    let alg = Algorithm::from_name(&store::meta(&issuer.conn, "alg")?).unwrap_or(Algorithm::EdDSA);
    let next: i64 =
        issuer
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM keys", [], |r| {
                r.get(0)
            })?;
    let file = format!("keys/issuer-key-{next}.jwk");
    let kid = format!("{}#key-{next}", issuer.did);
    // A file left by an interrupted rotation was never recorded or used: replace it.
    let path = dir.join(&file);
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| CliError::io("cannot remove", &path, &e))?;
    }
    let key = SoftwareSigner::generate(alg, &mut OsRng);
    keys::write_private_key(dir, &file, &key)?;
    let thumbprint = key.public_key().thumbprint();
    let tx = store::write_tx(&mut issuer.conn)?;
    tx.execute(
        "UPDATE keys SET retired_at = ?1 WHERE retired_at IS NULL",
        [now as i64],
    )?;
    tx.execute(
        "INSERT INTO keys(id, kid, alg, public_jwk, file, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![next, kid, alg.as_str(), key.public_key().to_jwk().to_string(), file, now as i64],
    )?;
    // Signed by the old key: the chain vouches for the new one.
    audit::append(
        &tx,
        &old,
        now,
        "rotate_key",
        &json!({"old_kid": old.kid, "new_kid": kid, "new_key": thumbprint}),
    )?;
    tx.commit()?;
    issuer.write_public_files()?;
    Ok(Report::new(
        json!({"old_kid": old.kid, "kid": kid, "thumbprint": thumbprint,
               "issuer_name": name, "ids_signed_by_old_key": signed}),
        format!(
            "New signing key {kid} for {name}.\nThe old key {} (which signed {signed} ID(s)) stays in the DID document so IDs it signed keep \
             working. Run `govid-issuer publish` and copy the files to the web server now.",
            old.kid
        ),
    ))
}
