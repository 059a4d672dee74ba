//! Files: private files created 0600 from the start, and atomic replacement.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{CliError, CliResult};

/// Creates `path` with `mode` and writes `bytes`; refuses to overwrite.
pub(crate) fn create_new(path: &Path, bytes: &[u8], mode: u32) -> CliResult<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| CliError::io("cannot create", path, &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::io("cannot write", path, &e))
}

/// Replaces `path` atomically (write a temporary file beside it, then rename), with `mode`.
/// A crash leaves either the old or the new file, never half of one.
pub(crate) fn replace(path: &Path, bytes: &[u8], mode: u32) -> CliResult<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent, 0o755)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| CliError::io("cannot create", &tmp, &e))?;
    file.write_all(bytes)
        .map_err(|e| CliError::io("cannot write", &tmp, &e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| CliError::io("cannot replace", path, &e))
}

/// `mkdir -p` with `mode` for the directories it creates.
pub(crate) fn create_dir_all(path: &Path, mode: u32) -> CliResult<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| CliError::io("cannot create directory", path, &e))
}
