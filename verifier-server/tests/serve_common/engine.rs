//! The store the gate tests run their gates on: `GOVID_TEST_ENGINE`.
//!
//! - unset, empty or `sqlite`: each gate keeps its replay keys and log as its config and flags
//!   say (a SQLite file with `[log] db`, else memory);
//! - `postgres`: every gate a test starts gets a PostgreSQL database of its own
//!   (`CREATE DATABASE govid_t_<random>` on the cluster at `GOVID_TEST_PG_URL`, e.g.
//!   `postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable`) as its `[store] url`, unless
//!   the test names a store itself (`[store] url` in its config, `--store`, `GOVID_STORE_URL`) or
//!   starts the gate [`super::StoreUse::AsConfigured`].
//!
//! Any other value, or `postgres` without `GOVID_TEST_PG_URL`, fails the test: a pass never
//! falls back to SQLite. `scripts/test.d/46-gate-postgres` runs the suite on `postgres`.
//!
//! A gate started again from the same config file (a restart) gets the database and spool it
//! had before, as a real gate would; a second gate started from that file while the first still
//! runs gets a database and spool of its own. Databases are dropped once their config file's
//! directory is gone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rand_core::{OsRng, RngCore as _};

/// Which store the tests' gates run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// As each gate's config says: a SQLite gate log file, or memory.
    Sqlite,
    /// A database of its own per gate on this cluster (its URL, reaching a database that may
    /// create databases).
    Postgres { cluster: String },
}

impl Engine {
    /// Reads `GOVID_TEST_ENGINE` and `GOVID_TEST_PG_URL`.
    fn from_env() -> Result<Self, String> {
        let engine = match std::env::var("GOVID_TEST_ENGINE") {
            Err(std::env::VarError::NotPresent) => return Ok(Engine::Sqlite),
            Err(std::env::VarError::NotUnicode(v)) => {
                return Err(format!(
                    "GOVID_TEST_ENGINE={v:?}: the gate tests run on `sqlite` (the default) or \
                     `postgres`"
                ))
            }
            Ok(v) => v,
        };
        match engine.as_str() {
            // Empty counts as unset, as in the issuer's and the end-to-end suites.
            "" | "sqlite" => Ok(Engine::Sqlite),
            "postgres" => {
                let cluster = std::env::var("GOVID_TEST_PG_URL").unwrap_or_default();
                if cluster.is_empty() {
                    return Err(
                        "GOVID_TEST_ENGINE=postgres needs GOVID_TEST_PG_URL: the URL of \
                         a throwaway PostgreSQL cluster where the tests may create databases, \
                         e.g. postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable \
                         (scripts/pg-test-cluster start DIR prints one)"
                            .to_owned(),
                    );
                }
                if !(cluster.starts_with("postgres://") || cluster.starts_with("postgresql://")) {
                    return Err(format!(
                        "GOVID_TEST_PG_URL={cluster}: not a postgres:// URL"
                    ));
                }
                Ok(Engine::Postgres { cluster })
            }
            other => Err(format!(
                "GOVID_TEST_ENGINE={other:?}: the gate tests run on `sqlite` (the default) or \
                 `postgres`"
            )),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres { .. } => "postgres",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Engine::Postgres { .. })
    }
}

fn read_engine() -> &'static Result<Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE.get_or_init(Engine::from_env)
}

/// The engine of this run; a bad `GOVID_TEST_ENGINE` fails every test that asks.
pub fn engine() -> &'static Engine {
    match read_engine() {
        Ok(engine) => engine,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `f` on a connection to `url` (no TLS: the test cluster is on loopback).
fn with_client<T>(
    url: &str,
    f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let task = tokio::spawn(connection);
        let out = f(&client).await.map_err(|e| format!("{url}: {e}"));
        drop(client);
        let _ = task.await;
        out
    })
}

/// The rows `sql` returns on the database at `url`, each column as text (`None`: NULL).
pub fn pg_query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    with_client(url, async |client| {
        let messages = client.simple_query(sql).await?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A new empty database on `cluster`; its URL.
fn create_database(cluster: &str) -> String {
    let name = format!("govid_t_{:016x}", OsRng.next_u64());
    with_client(cluster, async |client| {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
    })
    .unwrap_or_else(|e| {
        panic!("GOVID_TEST_ENGINE=postgres: cannot create a database on GOVID_TEST_PG_URL: {e}")
    });
    with_database(cluster, &name)
}

/// Drops the database at `url` (its connections are closed first). Errors are ignored: this
/// runs in destructors, and the cluster is thrown away anyway.
fn drop_database(cluster: &str, url: &str) {
    let Some(name) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split('?').next())
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, name)| name.to_owned())
    else {
        return;
    };
    let _ = with_client(cluster, async |client| {
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
    });
}

/// A gate's store on the cluster: its database and spool, and whether a running gate holds it.
struct Slot {
    url: String,
    spool: PathBuf,
    busy: bool,
}

/// The slots of each config file (by path); gates started from flags only have a slot of their
/// own, under their scratch directory.
fn slots() -> &'static Mutex<HashMap<PathBuf, Vec<Slot>>> {
    static SLOTS: OnceLock<Mutex<HashMap<PathBuf, Vec<Slot>>>> = OnceLock::new();
    SLOTS.get_or_init(Mutex::default)
}

/// A running gate's hold on its database and spool; released on drop.
pub struct Lease {
    key: PathBuf,
    index: usize,
    /// The database URL (`[store] url`).
    pub url: String,
    /// The spool file (`[store] spool`).
    pub spool: PathBuf,
    /// For a gate from flags only: the directory of its generated config, removed with it.
    scratch: Option<super::TempDir>,
}

impl Lease {
    /// A free slot of `key` (the config file), or a new one with a new database and the spool
    /// `spool_for(index)`.
    pub fn take(
        cluster: &str,
        key: &Path,
        spool_for: impl Fn(usize) -> PathBuf,
        scratch: Option<super::TempDir>,
    ) -> Self {
        {
            let mut all = slots().lock().unwrap();
            let list = all.entry(key.to_owned()).or_default();
            if let Some((index, slot)) = list.iter_mut().enumerate().find(|(_, s)| !s.busy) {
                slot.busy = true;
                return Lease {
                    key: key.to_owned(),
                    index,
                    url: slot.url.clone(),
                    spool: slot.spool.clone(),
                    scratch,
                };
            }
        }
        let url = create_database(cluster);
        let mut all = slots().lock().unwrap();
        let list = all.entry(key.to_owned()).or_default();
        let index = list.len();
        let spool = spool_for(index);
        list.push(Slot {
            url: url.clone(),
            spool: spool.clone(),
            busy: true,
        });
        Lease {
            key: key.to_owned(),
            index,
            url,
            spool,
            scratch,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Ok(Engine::Postgres { cluster }) = read_engine() else {
            return;
        };
        // A gate from flags only is never started again; nor is one whose config is gone.
        let gone = self.scratch.is_some() || !self.key.exists();
        let mut all = slots().lock().unwrap();
        let Some(list) = all.get_mut(&self.key) else {
            return;
        };
        if let Some(slot) = list.get_mut(self.index) {
            slot.busy = false;
        }
        if gone && list.iter().all(|s| !s.busy) {
            let list = all.remove(&self.key).unwrap_or_default();
            drop(all);
            for slot in list {
                drop_database(cluster, &slot.url);
            }
        }
    }
}

/// A new database on the engine's cluster for a test that names the store itself (`--store`);
/// dropped with `dir`. Only with `postgres`.
pub fn database_in(dir: &Path) -> String {
    let Engine::Postgres { cluster } = engine() else {
        panic!(
            "a PostgreSQL database asked for with GOVID_TEST_ENGINE={}",
            engine().name()
        );
    };
    let url = create_database(cluster);
    let mut all = slots().lock().unwrap();
    let key = dir.join(format!(".database-{}", all.len()));
    all.entry(key).or_default().push(Slot {
        url: url.clone(),
        spool: PathBuf::new(),
        busy: false,
    });
    url
}

/// Drops the databases of the config files under `dir` that no gate holds (`dir` is being
/// removed: nothing can start from them again).
pub fn release_under(dir: &Path) {
    let Ok(Engine::Postgres { cluster }) = read_engine() else {
        return;
    };
    let mut all = slots().lock().unwrap();
    let keys: Vec<PathBuf> = all
        .iter()
        .filter(|(k, list)| k.starts_with(dir) && list.iter().all(|s| !s.busy))
        .map(|(k, _)| k.clone())
        .collect();
    let gone: Vec<Slot> = keys
        .iter()
        .filter_map(|k| all.remove(k))
        .flatten()
        .collect();
    drop(all);
    for slot in gone {
        drop_database(cluster, &slot.url);
    }
}

/// The `[store]` table the engine adds to a config file, after this line.
pub const BLOCK_MARK: &str = "# GOVID_TEST_ENGINE=postgres: this gate's own database\n";

/// `toml` without the engine's `[store]` table (it is always last).
pub fn strip_block(toml: &str) -> &str {
    match toml.find(BLOCK_MARK) {
        Some(at) => &toml[..at],
        None => toml,
    }
}

/// The engine's `[store]` table for `lease`.
pub fn block(lease: &Lease) -> String {
    format!(
        "\n{BLOCK_MARK}[store]\nurl = {}\nspool = {}\n",
        toml_string(&lease.url),
        toml_string(&lease.spool.display().to_string()),
    )
}

/// A TOML basic string (JSON's escapes are TOML's).
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Whether the config text names a store of its own (`[store] url`). Text that is not TOML
/// names none: the gate refuses it whatever is added.
pub fn names_a_store(toml: &str) -> bool {
    let Ok(config) = toml::from_str::<toml::Table>(toml) else {
        return false;
    };
    match config.get("store") {
        None => false,
        Some(store) if store.get("url").is_some() => true,
        // A second [store] table would make the file invalid.
        Some(_) => panic!(
            "a [store] table without url: the PostgreSQL engine cannot add its database to it"
        ),
    }
}
