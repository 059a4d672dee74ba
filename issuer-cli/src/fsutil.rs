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
    let tmp = path.with_file_name(temp_name(&name, std::process::id()));
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

/// The temporary file [`replace`] writes beside `name` in process `pid`: `.<name>.tmp-<pid>`.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}{TEMP_INFIX}{pid}")
}

const TEMP_INFIX: &str = ".tmp-";

/// A temporary file left after this long is stale whatever its process (its number may have
/// been reused).
const STALE_TEMP_SECS: u64 = 24 * 3600;

/// Removes the temporary files [`replace`] left in `dir` for files named `*<suffix>` when a
/// run was killed between writing and renaming: only names of the form `.<name><suffix>.tmp-<pid>`
/// whose process is gone (or which are older than a day). Returns how many were removed.
pub(crate) fn remove_stale_temp_files(dir: &Path, suffix: &str) -> CliResult<u64> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(CliError::io("cannot read folder", dir, &e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io("cannot read folder", dir, &e))?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| temp_file_pid(n, suffix)) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .map_or(0, |d| d.as_secs());
        let stale = !meta.is_dir()
            && pid != std::process::id()
            && (!process_alive(pid) || age > STALE_TEMP_SECS);
        if stale {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                // Another run cleaned it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CliError::io("cannot remove", &path, &e)),
            }
        }
    }
    Ok(removed)
}

/// The process number in a temporary file name `.<name><suffix>.tmp-<pid>` (`<name>` not empty).
fn temp_file_pid(file_name: &str, suffix: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    let (target, pid) = rest.rsplit_once(TEMP_INFIX)?;
    let name = target.strip_suffix(suffix)?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if name.is_empty() || !digits {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` runs (Linux: `/proc/<pid>`; where there is no `/proc`, assumed so and
/// only the age counts).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// `mkdir -p` with `mode` for the directories it creates.
pub(crate) fn create_dir_all(path: &Path, mode: u32) -> CliResult<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| CliError::io("cannot create directory", path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tools_own_temp_names_match() {
        assert_eq!(temp_file_pid(".E-1.sd-jwt.tmp-4242", ".sd-jwt"), Some(4242));
        assert_eq!(
            temp_file_pid(".E-1.gate-pass.sd-jwt.tmp-7", ".sd-jwt"),
            Some(7)
        );
        assert_eq!(
            temp_file_pid(&temp_name("E-1.sd-jwt", 99), ".sd-jwt"),
            Some(99)
        );
        for other in [
            "E-1.sd-jwt",
            ".E-1.sd-jwt",
            ".sd-jwt.tmp-1",
            ".E-1.sd-jwt.tmp-",
            ".E-1.sd-jwt.tmp-12a",
            ".E-1.jwt.tmp-12",
            "E-1.sd-jwt.tmp-12",
            ".notes.txt.tmp-12",
        ] {
            assert_eq!(temp_file_pid(other, ".sd-jwt"), None, "{other}");
        }
    }
}
