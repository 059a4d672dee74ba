//! `log verify`: rebuilds the transparency log from `issuer.db` and checks it against the last
//! checkpoint recorded and, with `--out`, against the published files (checkpoint signature,
//! root hash, every tile and entry bundle), naming the first difference.

use std::path::{Path, PathBuf};

use govid_core::tlog::{self, verify_checkpoint, Entry, LogKey, MemoryTree, Tile, TILE_HEIGHT};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::output::{abs, Report};
use crate::tlog::{entries, last_checkpoint, load_signer, LOG_DIR};

fn differs(what: String) -> CliError {
    CliError::new(
        "log_mismatch",
        format!(
            "the transparency log does not match issuer.db: {what}. Do not publish over it: \
             tell your security officer."
        ),
    )
    .with_details(json!({"first_difference": what}))
}

/// `log verify [--out OUT]`.
pub(crate) fn verify(dir: &Path, out: Option<&Path>) -> CliResult<Report> {
    let issuer = Issuer::open(dir)?;
    let Some((db_size, db_note)) = last_checkpoint(&issuer.conn)? else {
        return Err(CliError::new(
            "no_log",
            "the transparency log is empty: `govid-issuer publish` starts it",
        ));
    };
    let signer = load_signer(dir, &issuer.conn)?;
    let key = LogKey::parse(&signer.verifier_key())
        .map_err(|e| CliError::new("log_error", e.to_string()))?;

    let rows = entries(&issuer.conn)?;
    let mut leaves = Vec::with_capacity(rows.len());
    for (i, (idx, bytes)) in rows.into_iter().enumerate() {
        if idx != i as i64 {
            return Err(differs(format!(
                "entry {i} is missing from issuer.db (the next is {idx})"
            )));
        }
        if let Err(e) = Entry::from_bytes(&bytes) {
            return Err(differs(format!(
                "entry {i} in issuer.db is not an entry: {e}"
            )));
        }
        leaves.push(bytes);
    }
    let tree = MemoryTree::from_entries(leaves.iter().map(Vec::as_slice));

    let check = |note: &[u8], name: &str| -> CliResult<u64> {
        let cp = verify_checkpoint(note, &key)
            .map_err(|e| differs(format!("{name}: {e}")))?
            .checkpoint;
        let Some(root) = tree.root_at(cp.size()) else {
            return Err(differs(format!(
                "{name} is of {} entries, issuer.db has {}",
                cp.size(),
                tree.size()
            )));
        };
        if *cp.hash() != root {
            return Err(differs(format!(
                "{name}'s root hash is not that of the first {} entries in issuer.db",
                cp.size()
            )));
        }
        Ok(cp.size())
    };
    check(db_note.as_bytes(), "the last checkpoint in issuer.db")?;
    if db_size as u64 != tree.size() {
        return Err(differs(format!(
            "issuer.db has {} entries, its last checkpoint {db_size}",
            tree.size()
        )));
    }

    let mut tiles_checked = 0usize;
    if let Some(out) = out {
        let log_dir = out.join(LOG_DIR);
        let path = log_dir.join("checkpoint");
        let note = std::fs::read(&path).map_err(|e| CliError::io("cannot read", &path, &e))?;
        let size = check(&note, &format!("{}", path.display()))?;
        tiles_checked = check_tiles(&log_dir, &tree, &leaves)?;
        for t in Tile::new_tiles(TILE_HEIGHT, 0, size) {
            let mut bundle = t;
            bundle.set_is_data();
            for need in [t, bundle] {
                if need.is_data() && need.level() != 0 {
                    continue;
                }
                let p = tlog::tile_path(&need);
                if !log_dir.join(&p).is_file() {
                    return Err(differs(format!("{p} is missing in {}", log_dir.display())));
                }
            }
        }
    }
    let root = tree.root().to_string();
    let mut text = format!(
        "Transparency log intact: {} entries, root {root}, checkpoint signed by {}.\n",
        tree.size(),
        signer.name()
    );
    if let Some(out) = out {
        text.push_str(&format!(
            "The files in {} match issuer.db ({tiles_checked} tiles and entry bundles).",
            out.join(LOG_DIR).display()
        ));
    }
    Ok(Report::new(
        json!({"entries": tree.size(), "root": root, "origin": signer.name(),
               "vkey": signer.verifier_key(), "tiles_checked": tiles_checked,
               "out": out.map(abs)}),
        text,
    ))
}

/// Checks every file under `log_dir/tile/` against the tree; returns how many.
fn check_tiles(log_dir: &Path, tree: &MemoryTree, leaves: &[Vec<u8>]) -> CliResult<usize> {
    let mut files = Vec::new();
    collect(&log_dir.join("tile"), &mut files)?;
    files.sort();
    for file in &files {
        let rel = file
            .strip_prefix(log_dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let Some(tile) = tlog::parse_tile_path(&rel) else {
            return Err(differs(format!("{rel} is not a tile path")));
        };
        let data = std::fs::read(file).map_err(|e| CliError::io("cannot read", file, &e))?;
        let expected = if tile.is_data() {
            let end = tile.level_index() * 256 + u64::from(tile.width());
            (end <= tree.size()).then(|| tlog::entry_bundle(leaves, &tile))
        } else {
            tree.hash_tile(&tile)
        };
        match expected {
            None => return Err(differs(format!("{rel} is beyond the entries in issuer.db"))),
            Some(e) if e != data => {
                return Err(differs(format!(
                    "{rel} does not hold what issuer.db gives for it"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(files.len())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> CliResult<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CliError::io("cannot read", dir, &e)),
    };
    for item in rd {
        let item = item.map_err(|e| CliError::io("cannot read", dir, &e))?;
        let path = item.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
