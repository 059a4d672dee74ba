//! The one error type of the CLI: a stable code for scripts and a message a clerk can act on.
//!
//! Messages name files, employee numbers and rules; they never carry key material.

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub(crate) struct CliError {
    /// Stable short code (`busy`, `invalid_roster`, `no_such_staff`...), printed with `--json`.
    pub(crate) code: &'static str,
    /// What went wrong and, where possible, what to do.
    pub(crate) message: String,
    /// Extra JSON for `--json` (e.g. the list of bad roster rows).
    pub(crate) details: Option<serde_json::Value>,
    /// Process exit code: 1 for a refused or failed operation, 2 for a usage mistake.
    pub(crate) exit: u8,
}

impl CliError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            exit: 1,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: 2,
            ..Self::new("usage", message)
        }
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::new("io", format!("{what} {}: {e}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<rusqlite::Error> for CliError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => CliError::new(
                "busy",
                "the issuer database is busy: another govid-issuer command is running on this \
                 directory. Wait for it to finish and try again.",
            ),
            Some(ErrorCode::ReadOnly) => CliError::new(
                "read_only",
                "the issuer database is read-only: check the directory's permissions",
            ),
            Some(ErrorCode::DiskFull) => CliError::new("disk_full", "the disk is full"),
            Some(ErrorCode::NotADatabase) => CliError::new(
                "corrupt_database",
                "issuer.db is not a govid issuer database (or is damaged)",
            ),
            _ => CliError::new("database", format!("database error: {e}")),
        }
    }
}

impl From<crate::db::Error> for CliError {
    fn from(e: crate::db::Error) -> Self {
        use crate::db::Error;
        match e {
            Error::Sqlite(e) => e.into(),
            Error::Postgres(e) => match e.code().map(|c| c.code()) {
                // lock_not_available: the writers' lock (lock_timeout).
                Some("55P03") => CliError::new(
                    "busy",
                    "the issuer database is busy: another govid-issuer command is running on it \
                     (here or on another replica). Wait for it to finish and try again.",
                ),
                Some("53100") => CliError::new("disk_full", "the database server's disk is full"),
                Some("25006") => CliError::new(
                    "read_only",
                    "the issuer database is read-only (a standby?): give the primary",
                ),
                _ if e.is_closed() || e.as_db_error().is_none() => CliError::new(
                    "database_unreachable",
                    format!(
                        "lost the connection to the issuer database: {}",
                        Error::Postgres(e)
                    ),
                ),
                _ => CliError::new(
                    "database",
                    format!("database error: {}", Error::Postgres(e)),
                ),
            },
            Error::Unreachable(e) => CliError::new("database_unreachable", e),
            e => CliError::new("database", format!("database error: {e}")),
        }
    }
}

impl From<govid_core::jose::SignError> for CliError {
    fn from(e: govid_core::jose::SignError) -> Self {
        CliError::new("sign", e.to_string())
    }
}

pub(crate) type CliResult<T> = Result<T, CliError>;
