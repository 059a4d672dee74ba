//! The PostgreSQL engine: a blocking `postgres` client, statements translated from the issuer's
//! SQLite-style parameters once and kept prepared, values bound by the type the server asks for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::types::{IsNull, ToSql as PgToSql, Type};

use super::value::{Params, ValueRef};
use super::{Error, Result};

/// The advisory lock every write transaction of an issuer takes (PostgreSQL's transaction-level
/// lock, released at commit or rollback): "govid-is" in ASCII.
pub const WRITE_LOCK: i64 = 0x676f_7669_642d_6973;

/// How long a prepared statement is kept. PostgreSQL plans a kept statement once, for the
/// tables as they were then: on a new database, a plan made while `credentials` was empty scans
/// it whole, and would go on doing so as it grows to thousands of rows (autovacuum's statistics
/// come later). Preparing again now and then lets the plans follow the tables.
const REPLAN_EVERY: Duration = Duration::from_secs(10);

/// A connection and its prepared statements.
pub(crate) struct Client {
    /// `None` only while dropping.
    client: Option<postgres::Client>,
    prepared: HashMap<String, Prepared>,
    /// When `prepared` was last emptied (see [`REPLAN_EVERY`]).
    prepared_since: Instant,
    /// SQLite's `data_version` on PostgreSQL: bumped when a write transaction finds that
    /// another connection wrote since this one's last write (see [`Client::begin_write`]).
    data_version: i64,
    /// The database's write counter (`meta.write_seq`) as this connection's last write
    /// transaction left it.
    last_write: Option<i64>,
    /// Inside `BEGIN` … `COMMIT`/`ROLLBACK`: a lost connection is not replaced then (what the
    /// transaction did is gone with it; its caller sees the error).
    in_transaction: bool,
    /// To connect again after the server closed the connection (a restart, a failover).
    url: String,
    lock_wait: Duration,
}

/// Runs `f`, which blocks on the `postgres` client's own runtime, out of any tokio runtime
/// the caller is on (`serve` looks rows up on its async workers; a runtime cannot be started or
/// dropped inside another one's worker).
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            off_runtime(|| drop(client));
        }
    }
}

/// A statement prepared on the server, with the names of its parameters in `$n` order (for
/// named parameters; empty for positional ones).
#[derive(Clone)]
pub(crate) struct Prepared {
    statement: postgres::Statement,
    names: Vec<String>,
    /// The issuer's SQL, to prepare it again on a new connection.
    sql: std::sync::Arc<str>,
}

impl Client {
    /// Connects to `url`. Waits for another writer's lock at most `lock_wait`.
    pub(crate) fn connect(url: &str, lock_wait: Duration) -> Result<Self, String> {
        Ok(Self {
            client: Some(open(url, lock_wait)?),
            prepared: HashMap::new(),
            prepared_since: Instant::now(),
            data_version: 0,
            last_write: None,
            in_transaction: false,
            url: url.to_owned(),
            lock_wait,
        })
    }

    /// The open client: connected again first if the server closed it between transactions
    /// (a long-running `serve` outlives a database restart).
    fn client(&mut self) -> Result<&mut postgres::Client> {
        let closed = self.client.as_ref().is_none_or(postgres::Client::is_closed);
        if closed && !self.in_transaction {
            let fresh = open(&self.url, self.lock_wait).map_err(Error::Unreachable)?;
            if let Some(old) = self.client.replace(fresh) {
                off_runtime(|| drop(old));
            }
            self.prepared.clear();
            // Another connection may have written meanwhile.
            self.last_write = None;
        }
        self.client
            .as_mut()
            .ok_or_else(|| Error::Unsupported("the connection is closed".to_owned()))
    }

    /// Sets how long a statement waits for another writer's lock.
    pub(crate) fn set_lock_wait(&mut self, wait: Duration) -> Result<()> {
        self.lock_wait = wait;
        self.batch(&format!("SET lock_timeout = {}", wait.as_millis().max(1)))
    }

    /// Runs statements without parameters.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        let client = self.client()?;
        let done = off_runtime(|| client.batch_execute(sql));
        let word = sql
            .trim_start()
            .get(..8)
            .unwrap_or(sql)
            .to_ascii_uppercase();
        if word.starts_with("BEGIN") {
            self.in_transaction = done.is_ok();
        } else if word.starts_with("COMMIT") || word.starts_with("ROLLBACK") {
            self.in_transaction = false;
        }
        Ok(done?)
    }

    /// `BEGIN`, the write lock, and the write counter: if it is not where this connection's
    /// last write left it, another connection wrote meanwhile, and [`Client::data_version`]
    /// changes (as SQLite's `PRAGMA data_version` does).
    pub(crate) fn begin_write(&mut self) -> Result<()> {
        self.begin_write_once(false)
    }

    fn begin_write_once(&mut self, retried: bool) -> Result<()> {
        let in_transaction = self.in_transaction;
        let client = self.client()?;
        let before: std::result::Result<i64, postgres::Error> = off_runtime(|| {
            client.batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
            ))?;
            let row = client.query_one(
                "UPDATE meta SET value = (value::BIGINT + 1)::TEXT WHERE key = 'write_seq'
                 RETURNING value::BIGINT - 1",
                &[],
            )?;
            row.try_get(0)
        });
        let before = match before {
            Ok(before) => before,
            Err(_) if client.is_closed() && !in_transaction && !retried => {
                // The server closed the connection since the last transaction: begin again on
                // a new one (nothing of this transaction happened).
                return self.begin_write_once(true);
            }
            Err(e) => {
                // Not left in an aborted transaction (a lock wait that timed out, say): the
                // next write begins afresh.
                let _ = off_runtime(|| client.batch_execute("ROLLBACK"));
                return Err(e.into());
            }
        };
        self.in_transaction = true;
        if self.last_write != Some(before) {
            self.data_version += 1;
        }
        // If this transaction rolls back, the counter stays at `before` and the next write
        // sees a change that was not there: a needless re-read, never a missed one.
        self.last_write = Some(before + 1);
        Ok(())
    }

    /// Changes when another connection has written since this one's last write transaction
    /// began (checked at each [`Client::begin_write`]).
    pub(crate) fn data_version(&self) -> i64 {
        self.data_version
    }

    /// The prepared statement for `sql` (translated and prepared at its first use).
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        if self.prepared_since.elapsed() > REPLAN_EVERY {
            self.prepared.clear();
            self.prepared_since = Instant::now();
        }
        if let Some(p) = self.prepared.get(sql) {
            return Ok(p.clone());
        }
        let (text, names) = translate(sql);
        let client = self.client()?;
        let statement = off_runtime(|| client.prepare(&text))?;
        let prepared = Prepared {
            statement,
            names,
            sql: sql.into(),
        };
        self.prepared.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    /// Runs `p`; the number of rows changed.
    pub(crate) fn execute<P: Params>(&mut self, p: &Prepared, params: &P) -> Result<usize> {
        let values = bind(p, params)?;
        let refs: Vec<&(dyn PgToSql + Sync)> =
            values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        let n = self.run(p, |client, statement| client.execute(statement, &refs))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Runs `p`; its rows.
    pub(crate) fn query<P: Params>(
        &mut self,
        p: &Prepared,
        params: &P,
    ) -> Result<Vec<postgres::Row>> {
        let values = bind(p, params)?;
        let refs: Vec<&(dyn PgToSql + Sync)> =
            values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        self.run(p, |client, statement| client.query(statement, &refs))
    }

    /// Runs `f` with `p`'s statement. Outside a transaction, a statement that fails because the
    /// server closed the connection (a database restart) runs once more on a new connection:
    /// there, every statement is a lookup or stands alone, so running it again is safe.
    fn run<T>(
        &mut self,
        p: &Prepared,
        f: impl Fn(&mut postgres::Client, &postgres::Statement) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let in_transaction = self.in_transaction;
        let client = self.client()?;
        match off_runtime(|| f(client, &p.statement)) {
            Err(_) if !in_transaction && client.is_closed() => {
                let again = self.prepare(&p.sql)?;
                let client = self.client()?;
                Ok(off_runtime(|| f(client, &again.statement))?)
            }
            done => Ok(done?),
        }
    }
}

/// The parameters in `$n` order.
fn bind<'a, P: Params>(p: &Prepared, params: &'a P) -> Result<Vec<Bound<'a>>> {
    let each = params.each();
    let wanted = p.statement.params().len();
    if p.names.is_empty() {
        if each.len() != wanted || each.iter().any(|(n, _)| n.is_some()) {
            return Err(Error::Unsupported(format!(
                "{} parameters given, {wanted} wanted",
                each.len()
            )));
        }
        return Ok(each.into_iter().map(|(_, v)| Bound(v)).collect());
    }
    p.names
        .iter()
        .map(|name| {
            each.iter()
                .find(|(n, _)| *n == Some(name.as_str()))
                .map(|(_, v)| Bound(*v))
                .ok_or_else(|| Error::Unsupported(format!("parameter {name} not given")))
        })
        .collect()
}

/// `?N`, `?` and `:name` parameters as PostgreSQL's `$N` (outside quoted text and comments),
/// and the names in `$N` order.
pub(crate) fn translate(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut names: Vec<String> = Vec::new();
    let mut next_bare = 0usize;
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for (_, d) in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek().is_some_and(|&(_, d)| d == '-') => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    next_bare += 1;
                    digits = next_bare.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            ':' if chars.peek().is_some_and(|&(_, d)| d == ':') => {
                out.push_str("::");
                chars.next();
            }
            ':' if chars
                .peek()
                .is_some_and(|&(_, d)| d.is_ascii_alphabetic() || d == '_') =>
            {
                let mut name = String::from(":");
                while let Some(&(_, d)) = chars
                    .peek()
                    .filter(|(_, d)| d.is_ascii_alphanumeric() || *d == '_')
                {
                    name.push(d);
                    chars.next();
                }
                let at = match names.iter().position(|n| *n == name) {
                    Some(at) => at,
                    None => {
                        names.push(name);
                        names.len() - 1
                    }
                };
                out.push('$');
                out.push_str(&(at + 1).to_string());
            }
            c => out.push(c),
        }
    }
    (out, names)
}

/// A new connection to `url`, in UTC, waiting at most `lock_wait` for a lock.
fn open(url: &str, lock_wait: Duration) -> Result<postgres::Client, String> {
    let (config, _, connector) =
        govid_pg_connect::config(url, "govid-issuer", Duration::from_secs(10))
            .map_err(|e| format!("--db {e}"))?;
    off_runtime(|| {
        let mut client = postgres::Config::from(config)
            .connect(connector)
            .map_err(|e| format!("cannot connect to the issuer database: {}", Error::from(e)))?;
        client
            .batch_execute(&format!(
                "SET lock_timeout = {}; SET TIME ZONE 'UTC'",
                lock_wait.as_millis().max(1)
            ))
            .map_err(|e| format!("the issuer database: {}", Error::from(e)))?;
        Ok(client)
    })
}

/// A value bound as the type the server inferred for its parameter.
#[derive(Debug)]
struct Bound<'a>(ValueRef<'a>);

impl PgToSql for Bound<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self.0, ty) {
            (ValueRef::Null, _) => Ok(IsNull::Yes),
            (ValueRef::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
            (ValueRef::Integer(i), &Type::TEXT | &Type::VARCHAR) => i.to_string().to_sql(ty, out),
            (ValueRef::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (ValueRef::Text(t), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => {
                t.to_sql(ty, out)
            }
            (ValueRef::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (v, ty) => Err(format!("cannot bind {} as {ty}", kind(v)).into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn kind(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "an integer",
        ValueRef::Real(_) => "a real",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "a blob",
    }
}

/// Column `idx` of `row`, as SQLite would give it.
pub(crate) fn value(row: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    let Some(column) = row.columns().get(idx) else {
        return Err(Error::Unsupported(format!("no column {idx}")));
    };
    let ty = column.type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(idx)?
            .map_or(ValueRef::Null, |i| ValueRef::Integer(i.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(idx)?
            .map_or(ValueRef::Null, |i| ValueRef::Integer(i.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(idx)?
            .map_or(ValueRef::Null, |b| ValueRef::Integer(b.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<&str>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Text),
        Type::BYTEA => row
            .try_get::<_, Option<&[u8]>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Blob),
        other => {
            return Err(Error::Unsupported(format!(
                "column {idx} has type {other}, which the issuer does not read"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn parameters_become_dollar_numbers_outside_text_and_comments() {
        let (sql, names) =
            translate("SELECT '?1', \"a?\" FROM t WHERE a = ?2 AND b = ?1 -- c = ?3\n AND d = ?");
        assert_eq!(
            sql,
            "SELECT '?1', \"a?\" FROM t WHERE a = $2 AND b = $1 \n AND d = $1"
        );
        assert!(names.is_empty());
    }

    #[test]
    fn named_parameters_are_numbered_by_first_use() {
        let (sql, names) =
            translate("SELECT 1 WHERE (:only IS NULL OR n = :only) AND t > :today AND x = ':no'");
        assert_eq!(
            sql,
            "SELECT 1 WHERE ($1 IS NULL OR n = $1) AND t > $2 AND x = ':no'"
        );
        assert_eq!(names, [":only", ":today"]);
    }

    #[test]
    fn casts_are_not_parameters() {
        let (sql, names) = translate("SELECT a::BIGINT FROM t WHERE b = ?1");
        assert_eq!(sql, "SELECT a::BIGINT FROM t WHERE b = $1");
        assert!(names.is_empty());
    }
}
