//! The witness's state folder: per log, the last checkpoint it cosigned; and the evidence of
//! refused checkpoints.
//!
//! ```text
//! STATE/<sha256(origin) hex>.checkpoint      the last cosigned checkpoint, with the cosignature
//! STATE/evidence/<origin hash>-<time>-<n>.txt  the cosigned checkpoint and the refused request
//! ```
//!
//! Files are written to a temporary file, synced and renamed, so a crash leaves the old state
//! or the new one. One process serves a state folder (the caller holds a lock around
//! check-and-store; two processes on one folder are not supported).

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use govid_core::tlog::{add_signature_lines, parse_checkpoint_unverified, Checkpoint};
use sha2::{Digest as _, Sha256};

/// The last checkpoint cosigned for one log.
pub(crate) struct Stored {
    pub(crate) checkpoint: Checkpoint,
    /// The note as stored: the log's signature and this witness's cosignature.
    pub(crate) note: Vec<u8>,
}

/// A state folder.
pub(crate) struct WitnessState {
    dir: PathBuf,
}

/// The origin hash of tlog-witness' monitoring path: SHA-256 of the origin, lowercase hex.
pub(crate) fn origin_hash(origin: &str) -> String {
    Sha256::digest(origin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    // The rename is durable once the folder is synced.
    fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

impl WitnessState {
    /// Opens (creating) the state folder.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir.join("evidence"))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(format!("{}.checkpoint", origin_hash(origin)))
    }

    /// The stored note for the origin whose hash is `hash`, for the monitoring endpoint.
    pub(crate) fn read_by_hash(&self, hash: &str) -> Option<Vec<u8>> {
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        fs::read(self.dir.join(format!("{hash}.checkpoint"))).ok()
    }

    /// The last checkpoint cosigned for `origin`, if any.
    pub(crate) fn load(&self, origin: &str) -> io::Result<Option<Stored>> {
        let note = match fs::read(self.path(origin)) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let checkpoint = parse_checkpoint_unverified(&note)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "corrupt state file"))?;
        if checkpoint.origin() != origin {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "corrupt state file",
            ));
        }
        Ok(Some(Stored { checkpoint, note }))
    }

    /// Stores `note` with the cosignature `line` as the last cosigned checkpoint of `origin`.
    pub(crate) fn store(&self, origin: &str, note: &[u8], line: &str) -> io::Result<()> {
        let cosigned = add_signature_lines(note, line.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "note too large"))?;
        write_atomic(&self.path(origin), &cosigned)
    }

    /// Writes the evidence of a refused checkpoint: the stored note and the request body.
    pub(crate) fn record_evidence(
        &self,
        origin: &str,
        now: u64,
        reason: &str,
        stored: &[u8],
        request: &[u8],
    ) -> io::Result<PathBuf> {
        let mut text = format!(
            "origin: {origin}\nrefused at: {now}\nreason: {reason}\n\n\
             --- the checkpoint this witness cosigned last\n"
        )
        .into_bytes();
        text.extend_from_slice(stored);
        text.extend_from_slice(b"--- the refused add-checkpoint request\n");
        text.extend_from_slice(request);
        let hash = origin_hash(origin);
        for n in 0u32.. {
            let path = self
                .dir
                .join("evidence")
                .join(format!("{hash}-{now}-{n}.txt"));
            if !path.exists() {
                write_atomic(&path, &text)?;
                return Ok(path);
            }
        }
        Err(io::Error::other("no free evidence file name"))
    }
}
