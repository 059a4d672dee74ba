//! What the CLI says when something fails, and its exit codes (listed in README.md). Every
//! wallet library error becomes one message saying what to do; none quotes a PIN, passphrase
//! or code (the library's own messages hold none either).

use std::fmt;
use std::process::ExitCode;

use govid_ffi::{KeyStoreError, KeyStoreFailure, WalletError};

/// The exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1: anything else (storage, a refused credential or status list, a protocol error...).
    Failed = 1,
    /// 2: wrong usage: a flag, a missing passphrase, an unreadable file.
    Usage = 2,
    /// 3: the issuer refused the PIN, or the offer needs one and none was given.
    Pin = 3,
    /// 4: the offer expired, was used already, or was ended by wrong PINs.
    OfferExpired = 4,
    /// 5: the wallet does not trust the issuer.
    NotTrusted = 5,
    /// 6: no answer from the network (down, refused, timeout, TLS).
    Network = 6,
    /// 7: the passphrase does not open the wallet's key store.
    Passphrase = 7,
    /// 8: no such credential (or the wallet holds none).
    NotFound = 8,
    /// 9: `login`: the wallet refused the login request (unsigned, signed by a key not in the
    /// verifier's DID document, expired, its answer going to another host, already answered…).
    LoginRefused = 9,
    /// 10: `login`: no ID answers the request (none of the type asked for, or one lacks a claim
    /// it asks for: named). Nothing was sent.
    NoMatchingId = 10,
    /// 11: `login`: the verifier answered with an error (it refused the presentation, or the
    /// request is unknown to it).
    VerifierRefused = 11,
}

/// A failed command: its message and exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<WalletError> for CliError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::WrongTxCode { tries_left, .. } => CliError::new(
                Exit::Pin,
                match tries_left {
                    Some(0) => "wrong PIN: no tries left, the offer has ended; ask HR for a new \
                                offer"
                        .to_owned(),
                    Some(1) => "wrong PIN: 1 try left before the offer ends; check the PIN HR \
                                gave you and run receive again"
                        .to_owned(),
                    Some(n) => format!(
                        "wrong PIN: {n} tries left before the offer ends; check the PIN HR gave \
                         you and run receive again"
                    ),
                    None => "wrong PIN; check the PIN HR gave you and run receive again".to_owned(),
                },
            ),
            WalletError::TxCodeRequired { reason } => {
                CliError::new(Exit::Pin, format!("{reason}: pass it with --pin"))
            }
            WalletError::OfferExpired { reason } => CliError::new(
                Exit::OfferExpired,
                format!("the offer is no longer valid: {reason}"),
            ),
            WalletError::IssuerNotTrusted { issuer, .. } => {
                // The credential's `iss` (HR's DID), or the offer's issuer URL when the wallet
                // trusted nothing for it and asked for no credential.
                let iss = if issuer.starts_with("did:") {
                    issuer.clone()
                } else {
                    "ISS".to_owned()
                };
                CliError::new(
                    Exit::NotTrusted,
                    format!(
                        "issuer not trusted: {issuer}. Nothing was stored. Trust its keys first \
                         (receive --trust-jwks FILE|URL --issuer {iss}, or govid-wallet trust \
                         jwks FILE|URL --issuer {iss}{hint}), then receive the offer again",
                        hint = if iss == "ISS" {
                            ", ISS being the `iss` its IDs carry: HR's DID"
                        } else {
                            ""
                        },
                    ),
                )
            }
            WalletError::Network { reason } => CliError::new(
                Exit::Network,
                format!("network: {reason} (check the connection and try again)"),
            ),
            WalletError::KeyStore {
                kind: KeyStoreFailure::WrongPassphrase,
                ..
            } => wrong_passphrase(),
            WalletError::NotFound { id } => {
                CliError::new(Exit::NotFound, format!("no credential with id {id}"))
            }
            WalletError::InvalidInput { reason } => {
                CliError::usage(format!("invalid input: {reason}"))
            }
            other => CliError::new(Exit::Failed, other.to_string()),
        }
    }
}

impl From<KeyStoreError> for CliError {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::WrongPassphrase { .. } => wrong_passphrase(),
            other => CliError::new(Exit::Failed, format!("key store: {other}")),
        }
    }
}

fn wrong_passphrase() -> CliError {
    CliError::new(
        Exit::Passphrase,
        "wrong passphrase: it does not open this wallet's key store",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_pin_says_how_many_tries_are_left_and_exits_3() {
        let e = CliError::from(WalletError::WrongTxCode {
            tries_left: Some(4),
            reason: "wrong tx_code".into(),
        });
        assert_eq!(e.exit, Exit::Pin);
        assert!(e.message.contains("4 tries left"), "{}", e.message);
        let last = CliError::from(WalletError::WrongTxCode {
            tries_left: Some(0),
            reason: String::new(),
        });
        assert!(last.message.contains("no tries left"), "{}", last.message);
    }

    #[test]
    fn an_untrusted_issuer_is_named_with_the_command_to_trust_it() {
        let e = CliError::from(WalletError::IssuerNotTrusted {
            issuer: "did:web:hr.example".into(),
            reason: String::new(),
        });
        assert_eq!(e.exit, Exit::NotTrusted);
        assert!(e
            .message
            .contains("trust jwks FILE|URL --issuer did:web:hr.example"));
    }
}
