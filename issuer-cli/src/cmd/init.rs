//! `init`: a new issuer directory.

use std::fs;
use std::path::Path;

use govid_core::jose::{Algorithm, Signer, SoftwareSigner, WithKeyId};
use rand_core::OsRng;
use serde_json::json;

use crate::audit;
use crate::clock;
use crate::did::{self, DidMethod, WebTarget};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::Issuer;
use crate::keys::{self, KEYS_DIR, OPERATOR_KEY_FILE};
use crate::output::{abs, Report};
use crate::store;

pub(crate) struct InitOptions {
    pub(crate) name: String,
    pub(crate) did_web: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) status_base_url: Option<String>,
    pub(crate) list_capacity: u32,
}

fn check_base_url(url: &str) -> CliResult<String> {
    let url = url.trim().trim_end_matches('/');
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && crate::statuslist::uri_path(&format!("{url}/1")).is_some()
        && !url.contains(char::is_whitespace)
        && !url.contains(['?', '#']);
    if ok {
        Ok(url.to_owned())
    } else {
        Err(CliError::usage(format!(
            "--status-base-url {url:?} is not usable: give an https:// URL with a path, e.g. \
             https://hr.ministry.example/status"
        )))
    }
}

pub(crate) fn run(dir: &Path, o: &InitOptions) -> CliResult<Report> {
    let name = o.name.trim();
    if name.is_empty() {
        return Err(CliError::usage("--name must not be empty"));
    }
    if !(1..=(1 << 24)).contains(&o.list_capacity) {
        return Err(CliError::usage("--list-capacity must be 1 to 16777216"));
    }
    let web = o.did_web.as_deref().map(WebTarget::parse).transpose()?;
    if let Some(web) = &web {
        // Core's did:web rules (host, port, path segments) are the ones resolvers apply.
        govid_core::did::did_web_to_url(&web.did()).map_err(|e| {
            CliError::usage(format!(
                "--did-web gives the DID {}, which is not valid: {e}",
                web.did()
            ))
        })?;
    }
    let status_base = match (&o.status_base_url, &web) {
        (Some(url), _) => check_base_url(url)?,
        (None, Some(web)) => web.default_status_base(),
        (None, None) => {
            return Err(CliError::usage(
                "--did-key needs --status-base-url (where the status lists will be published, \
                 e.g. https://hr.ministry.example/status)",
            ))
        }
    };
    let location = store::location(dir);
    // The SQLite file this init would make, or (with PostgreSQL) one left in the directory.
    let file = match &location {
        store::Location::Sqlite(path) => path.clone(),
        store::Location::Postgres(_) => store::db_path(dir),
    };
    if file.exists() {
        return Err(CliError::new(
            "already_initialized",
            format!(
                "an issuer already exists in {} ({} found); refusing to overwrite it. \
                 Choose another --dir.",
                dir.display(),
                file.file_name()
                    .map_or("issuer.db".into(), |n| n.to_string_lossy())
            ),
        ));
    }
    // A PostgreSQL database is checked (empty, reachable) before any key is made.
    let postgres = match &location {
        store::Location::Postgres(url) => Some(store::create_postgres(url)?),
        store::Location::Sqlite(_) => None,
    };
    if dir.join(KEYS_DIR).exists() {
        return Err(CliError::new(
            "already_initialized",
            format!(
                "{} already has a keys/ folder but no issuer.db (an earlier init was \
                 interrupted?); refusing to touch it. Move it away or choose another --dir.",
                dir.display()
            ),
        ));
    }
    fsutil::create_dir_all(dir, 0o700)?;
    fsutil::create_dir_all(&dir.join(KEYS_DIR), 0o700)?;
    let now = clock::now()?;

    let key = SoftwareSigner::generate(o.alg, &mut OsRng);
    let operator = SoftwareSigner::generate(o.alg, &mut OsRng);
    let (method, did, kid) = match &web {
        Some(web) => (DidMethod::Web, web.did(), format!("{}#key-1", web.did())),
        None => {
            let (did, kid) = did::did_key(&key.public_key());
            (DidMethod::Key, did, kid)
        }
    };
    let key_file = "keys/issuer-key-1.jwk";
    keys::write_private_key(dir, key_file, &key)?;
    keys::write_private_key(dir, OPERATOR_KEY_FILE, &operator)?;

    // A SQLite database is built under a temporary name and renamed when complete, so an
    // interrupted init never leaves a half-made issuer.db. (On PostgreSQL, the schema made
    // above and the rows below are one transaction each: an interrupted init leaves the schema
    // without an issuer, which the next init finds and fills.)
    let sqlite = match &location {
        store::Location::Sqlite(path) => {
            let mut tmp = path.clone().into_os_string();
            tmp.push(".init");
            let tmp = std::path::PathBuf::from(tmp);
            let _ = fs::remove_file(&tmp);
            // Staff records are personal data: the database (and its -wal/-shm files, which
            // SQLite creates with the database's mode) is 0600 from the start.
            fsutil::create_new(&tmp, b"", 0o600)?;
            Some((tmp, path.clone()))
        }
        store::Location::Postgres(_) => None,
    };
    {
        let mut conn = match (postgres, &sqlite) {
            (Some(conn), _) => conn,
            (None, Some((tmp, _))) => store::create(tmp)?,
            (None, None) => return Err(CliError::new("internal", "no database to create")),
        };
        let tx = store::write_tx(&mut conn)?;
        for (k, v) in [
            ("name", name.to_owned()),
            ("did", did.clone()),
            ("did_method", method.as_str().to_owned()),
            ("alg", o.alg.as_str().to_owned()),
            ("status_base_url", status_base.clone()),
            ("list_capacity", o.list_capacity.to_string()),
            ("bundle_seq", "0".to_owned()),
        ] {
            store::set_meta(&tx, k, &v)?;
        }
        tx.execute(
            "INSERT INTO keys(kid, alg, public_jwk, file, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            crate::db::params![
                kid,
                o.alg.as_str(),
                key.public_key().to_jwk().to_string(),
                key_file,
                now as i64
            ],
        )?;
        let signer = WithKeyId {
            signer: key,
            kid: kid.clone(),
        };
        audit::append(
            &tx,
            &signer,
            now,
            "init",
            &json!({"name": name, "did": did, "kid": kid, "status_base_url": status_base,
                    "operator_key": operator.public_key().thumbprint()}),
        )?;
        // The transparency log's own key (not the signing key) and origin.
        crate::tlog::ensure_key(dir, &tx)?;
        tx.commit()?;
        conn.pragma_update("journal_mode", "DELETE")?;
    }
    if let Some((tmp, path)) = &sqlite {
        fs::rename(tmp, path).map_err(|e| CliError::io("cannot create", path, &e))?;
    }
    let issuer = Issuer::open(dir)?;
    issuer.write_public_files()?;

    let where_doc = match &web {
        Some(web) => format!(
            "\nServe the DID document at https://{}/{} (publish writes it for you).",
            web.host,
            web.did_json_path()
        ),
        None => String::new(),
    };
    let text = format!(
        "Issuer created in {}\n  name:        {name}\n  identifier:  {did}\n  signing key: {kid} ({})\n  \
         status URLs: {status_base}/1, /2, ...\nNext: govid-issuer staff import roster.csv --dir {}{where_doc}",
        dir.display(),
        o.alg,
        dir.display(),
    );
    Ok(Report::new(
        json!({
            "dir": abs(dir),
            "name": name,
            "did": did,
            "kid": kid,
            "alg": o.alg.as_str(),
            "status_base_url": status_base,
            "did_document": abs(&dir.join("public/did.json")),
            "jwks": abs(&dir.join("public/jwks.json")),
        }),
        text,
    ))
}
