//! The part of `govid-issuer` its tests share: the issuer database's interface over SQLite and
//! PostgreSQL ([`db`]). Everything else is the binary's.

pub mod db;
