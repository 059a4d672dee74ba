//! The issuer database's one interface, over its two engines: SQLite (`issuer.db` in the issuer
//! directory, the default) and PostgreSQL (`--db postgres://…`, for replicas of `serve` and the
//! CLI on one database).
//!
//! The interface is rusqlite's own shape (`execute`, `query_row`, `prepare`, `query_map`,
//! transactions, `params!`), so the issuer's SQL is written once: SQLite's `?N` and `:name`
//! parameters, and the SQL both engines share (`ON CONFLICT`, `RETURNING`, `COUNT(*) FILTER`,
//! `COLLATE NOCASE`, for which the PostgreSQL schema makes a `nocase` collation). Where the
//! engines differ (schema, pragmas, locking), callers ask [`Connection::sqlite`].
//!
//! One rule the SQL keeps for PostgreSQL, which types a parameter where it first appears: a
//! parameter's first use gives its type (`col = ?1 OR ?1 IS NULL`, not `?1 IS NULL OR …`).
//!
//! Written here rather than taken from a crate: `sqlx` and `diesel` abstract over both engines,
//! but are async-first or need their own schema DSL and migrations, and would mean rewriting every
//! statement of the issuer. `rusqlite` (the issuer's driver already) and `postgres` (the blocking
//! client over `tokio-postgres`, which the gates' fleet store uses) are each engine's well-kept
//! driver; this module only routes between them. The issuer needs no pool crate: its database
//! work runs on threads of its own (the CLI's, `serve`'s writer thread and its idle readers), so
//! blocking connections fit, as with SQLite.

mod pg;
mod value;

use std::cell::RefCell;

pub use pg::WRITE_LOCK;
pub use value::{FromSql, Params, ToSql, ValueRef};

/// A database error: the engine's own, or a value of the wrong type in a row.
#[derive(Debug)]
pub enum Error {
    /// `query_row` found no row.
    NoRows,
    /// From SQLite.
    Sqlite(rusqlite::Error),
    /// From PostgreSQL (including a lost connection).
    Postgres(postgres::Error),
    /// A column held another type than the one asked for (`column`, what was asked).
    Type(usize, &'static str),
    /// Something this interface does not do on the engine (a bug of the caller's SQL).
    Unsupported(String),
    /// The PostgreSQL server could not be reached again after it closed the connection.
    Unreachable(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoRows => f.write_str("no row"),
            Error::Sqlite(e) => write!(f, "{e}"),
            Error::Postgres(e) => match e.as_db_error() {
                // The server's message and code, not the statement (it may hold a value).
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                // The cause too ("Connection refused"): it never holds the URL.
                None => match std::error::Error::source(e) {
                    Some(cause) => write!(f, "{e}: {cause}"),
                    None => write!(f, "{e}"),
                },
            },
            Error::Type(column, want) => write!(f, "column {column} is not {want}"),
            Error::Unsupported(what) | Error::Unreachable(what) => f.write_str(what),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NoRows,
            e => Error::Sqlite(e),
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Postgres(e)
    }
}

/// A database result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `.optional()` on a `query_row`: no row is `None`, as in rusqlite.
pub trait OptionalExtension<T> {
    /// `Ok(None)` for [`Error::NoRows`].
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Positional parameters: `params![a, b]`, as rusqlite's.
#[doc(hidden)]
#[macro_export]
macro_rules! __db_params {
    () => { &[] as &[&dyn $crate::db::ToSql] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::db::ToSql),+] as &[&dyn $crate::db::ToSql] };
}
pub use crate::__db_params as params;

/// Named parameters: `named_params! {":a": x}`, as rusqlite's.
#[doc(hidden)]
#[macro_export]
macro_rules! __db_named_params {
    ($($n:literal : $p:expr),+ $(,)?) => {
        &[$(($n, &$p as &dyn $crate::db::ToSql)),+] as &[(&str, &dyn $crate::db::ToSql)]
    };
}
pub use crate::__db_named_params as named_params;

/// Which engine a connection is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `issuer.db`.
    Sqlite,
    /// `postgres://…`.
    Postgres,
}

/// A connection to the issuer database.
pub struct Connection {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<pg::Client>>),
}

impl Connection {
    /// A connection over an open SQLite connection.
    pub fn from_sqlite(conn: rusqlite::Connection) -> Self {
        Self {
            inner: Inner::Sqlite(conn),
        }
    }

    /// A connection to the PostgreSQL database at `url` (`sslmode` and `sslrootcert` as in
    /// [`govid_pg_connect`]); `lock_wait` bounds the wait for another writer.
    pub fn open_postgres(url: &str, lock_wait: std::time::Duration) -> Result<Self, String> {
        Ok(Self {
            inner: Inner::Postgres(Box::new(RefCell::new(pg::Client::connect(url, lock_wait)?))),
        })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Postgres(_) => Engine::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, checkpoints, query plans).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// A SQLite pragma; nothing on PostgreSQL (the pragmas the issuer sets tune SQLite's file
    /// and cache, which the server does for itself).
    pub fn pragma_update<V: rusqlite::ToSql>(&self, name: &str, value: V) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.pragma_update(None, name, value)?),
            Inner::Postgres(_) => Ok(()),
        }
    }

    /// How long a statement waits for another writer (SQLite's busy timeout, PostgreSQL's
    /// `lock_timeout`).
    pub fn busy_timeout(&self, wait: std::time::Duration) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.busy_timeout(wait)?),
            Inner::Postgres(c) => c.borrow_mut().set_lock_wait(wait),
        }
    }

    /// How many statements SQLite keeps compiled; PostgreSQL keeps every one.
    pub fn set_prepared_statement_cache_capacity(&self, n: usize) {
        if let Inner::Sqlite(c) = &self.inner {
            c.set_prepared_statement_cache_capacity(n);
        }
    }

    /// Runs one statement; the number of rows changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// Runs statements without parameters (schema, transaction control).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.borrow_mut().batch(sql),
        }
    }

    /// The first row of a query, mapped by `f`; [`Error::NoRows`] if there is none.
    pub fn query_row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    /// A statement (compiled once per connection and kept: both engines cache it by its text).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match &self.inner {
                Inner::Sqlite(c) => StatementInner::Sqlite(c.prepare_cached(sql)?),
                Inner::Postgres(c) => {
                    let prepared = c.borrow_mut().prepare(sql)?;
                    StatementInner::Postgres(c, prepared)
                }
            },
        })
    }

    /// [`Connection::prepare`]: kept for the callers that say the statement is hot.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare(sql)
    }

    /// Changes when another connection commits a write (SQLite's `PRAGMA data_version`; on
    /// PostgreSQL, checked when this connection's next write transaction begins).
    pub fn data_version(&self) -> Result<i64> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?),
            Inner::Postgres(c) => Ok(c.borrow().data_version()),
        }
    }

    /// Starts a write transaction now, waiting for any other writer (SQLite: `BEGIN IMMEDIATE`;
    /// PostgreSQL: `BEGIN` and the issuer's advisory lock, so that writers of all replicas take
    /// turns as they do on one SQLite file: status indices and the audit chain stay one sequence).
    pub fn write_transaction(&mut self) -> Result<Transaction<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Inner::Postgres(c) => c.borrow_mut().begin_write()?,
        }
        Ok(Transaction {
            conn: self,
            open: true,
        })
    }
}

/// A write transaction, rolled back unless committed (as rusqlite's).
pub struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl Transaction<'_> {
    /// Commits.
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT")
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // A failed rollback leaves a connection that is dropped or fails its next statement.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    inner: StatementInner<'c>,
}

enum StatementInner<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Postgres(&'c RefCell<pg::Client>, pg::Prepared),
}

impl Statement<'_> {
    /// Runs it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StatementInner::Sqlite(s) => {
                value::bind_sqlite(s, &params)?;
                Ok(s.raw_execute()?)
            }
            StatementInner::Postgres(c, p) => c.borrow_mut().execute(p, &params),
        }
    }

    /// The first row, mapped by `f`; [`Error::NoRows`] if there is none.
    pub fn query_row<T, P: Params>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::NoRows),
        }
    }

    /// Every row, mapped by `f`.
    pub fn query_map<T, P: Params>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(f(&row));
        }
        Ok(out.into_iter())
    }

    /// The rows, one at a time.
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        Ok(Rows {
            inner: match &mut self.inner {
                StatementInner::Sqlite(s) => {
                    value::bind_sqlite(s, &params)?;
                    RowsInner::Sqlite(s.raw_query())
                }
                StatementInner::Postgres(c, p) => {
                    RowsInner::Postgres(c.borrow_mut().query(p, &params)?.into_iter(), None)
                }
            },
        })
    }
}

/// The rows of a query.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(std::vec::IntoIter<postgres::Row>, Option<postgres::Row>),
}

impl Rows<'_> {
    /// The next row, or `None`.
    #[allow(clippy::should_implement_trait)] // Fallible, and lends the row, as rusqlite's.
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row {
                inner: RowInner::Sqlite(r),
            })),
            RowsInner::Postgres(rows, current) => {
                *current = rows.next();
                Ok(current.as_ref().map(|r| Row {
                    inner: RowInner::Postgres(r),
                }))
            }
        }
    }
}

/// One row.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

/// A column number (rusqlite's `get::<_, T>(i)` shape).
pub trait RowIndex {
    /// The column number.
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    /// Column `idx` as a `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let idx = idx.index();
        let value = match &self.inner {
            RowInner::Sqlite(r) => ValueRef::from(r.get_ref(idx)?),
            RowInner::Postgres(r) => pg::value(r, idx)?,
        };
        T::from_sql(value).map_err(|want| Error::Type(idx, want))
    }
}

macro_rules! row_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> TryFrom<&Row<'_>> for ($($t,)+) {
            type Error = Error;
            fn try_from(row: &Row<'_>) -> Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
row_tuple!(A 0, B 1);
row_tuple!(A 0, B 1, C 2);
row_tuple!(A 0, B 1, C 2, D 3);
row_tuple!(A 0, B 1, C 2, D 3, E 4);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
