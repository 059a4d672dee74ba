//! Reading command inputs: bounded stdin, and arguments that are a file path or inline JSON.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use govid_core::jose::PublicKey;

/// Most bytes read from stdin for one presentation: far above any real presentation, and a
/// bound on memory for anything else.
pub(crate) const MAX_STDIN_BYTES: u64 = 1024 * 1024;

/// Reads all of stdin up to [`MAX_STDIN_BYTES`].
pub(crate) fn read_stdin() -> Result<String, String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    if buf.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!("input is larger than {MAX_STDIN_BYTES} bytes"));
    }
    String::from_utf8(buf).map_err(|_| "input is not UTF-8".to_owned())
}

/// An argument that is inline JSON (starts with `{`) or the path of a file holding it.
pub(crate) fn json_arg(arg: &str) -> Result<String, String> {
    if arg.trim_start().starts_with('{') {
        Ok(arg.to_owned())
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("cannot read {arg}: {e}"))
    }
}

/// A `--trust-jwk` / `--issuer-jwk` value: `ISS=KEY` pins KEY (a file, or inline JSON) for the
/// issuer ISS only; a plain KEY for any issuer (or the issuers its JWK Set names). A value that
/// is an existing file, or inline JSON, is never split, so a path holding `=` still works.
pub(crate) fn split_issuer(arg: &str) -> (Option<&str>, &str) {
    if arg.trim_start().starts_with('{') || std::path::Path::new(arg).exists() {
        return (None, arg);
    }
    match arg.split_once('=') {
        Some((iss, key)) if !iss.is_empty() && !key.is_empty() => (Some(iss), key),
        _ => (None, arg),
    }
}

/// A public JWK from a file or inline JSON.
pub(crate) fn public_jwk_arg(arg: &str) -> Result<PublicKey, String> {
    let text = json_arg(arg)?;
    PublicKey::from_jwk_str(&text).map_err(|e| format!("issuer JWK: {e}"))
}

/// The system clock in unix seconds.
pub(crate) fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
