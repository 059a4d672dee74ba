//! The passphrase and the PIN: read from a file, the environment, or a prompt without echo;
//! never printed.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::CliError;

/// The environment variable holding the key store's passphrase.
const PASSPHRASE_ENV: &str = "GOVID_WALLET_PASSPHRASE";
/// The longest passphrase file read, in bytes.
const MAX_PASSPHRASE_FILE: u64 = 4096;

/// The key store's passphrase: the first line of `file`, else `$GOVID_WALLET_PASSPHRASE`, else
/// asked for when standard input is a terminal.
pub(crate) fn passphrase(file: Option<&Path>) -> Result<Zeroizing<String>, CliError> {
    let passphrase = if let Some(path) = file {
        let opened = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("passphrase file {}: {e}", path.display())))?;
        let mut line = Zeroizing::new(String::new());
        std::io::BufReader::new(std::io::Read::take(opened, MAX_PASSPHRASE_FILE))
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("passphrase file {}: {e}", path.display())))?;
        Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
    } else if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        Zeroizing::new(
            value
                .into_string()
                .map_err(|_| CliError::usage(format!("{PASSPHRASE_ENV} is not valid UTF-8")))?,
        )
    } else if std::io::stdin().is_terminal() {
        prompt("Wallet passphrase: ")?
    } else {
        return Err(CliError::usage(format!(
            "no passphrase: pass --passphrase-file FILE or set {PASSPHRASE_ENV}"
        )));
    };
    if passphrase.is_empty() {
        return Err(CliError::usage("the passphrase is empty"));
    }
    Ok(passphrase)
}

/// The PIN HR gave separately, asked for without echo; `None` when standard input is not a
/// terminal (then `--pin` is the only way).
pub(crate) fn prompt_pin() -> Result<Option<Zeroizing<String>>, CliError> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let pin = prompt("PIN (from HR): ")?;
    Ok(Some(Zeroizing::new(pin.trim().to_owned())))
}

fn prompt(text: &str) -> Result<Zeroizing<String>, CliError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| CliError::usage(format!("reading from the terminal: {e}")))
}
