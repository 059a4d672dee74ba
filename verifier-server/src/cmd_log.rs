//! `govid-verifier log check`: are two checkpoints of an issuer's transparency log consistent?
//!
//! Same size: the roots must be equal. Different sizes: a consistency proof from the smaller to
//! the larger is computed from the larger tree's tiles (each tile checked against its root as it
//! is read) and checked. A fork is printed with both signed checkpoints, as evidence.
//!
//! Exit codes: 0 consistent; 1 a fork (same size and different roots, or an inconsistent pair);
//! 2 no verdict (usage, an unreadable or unsigned checkpoint, missing or wrong tiles).

use std::path::PathBuf;
use std::time::Duration;

use govid_core::tlog::{
    compare_checkpoints, parse_checkpoint_unverified, verify_checkpoint, Checkpoint, Consistency,
    LogKey, TileSet,
};

use crate::fetch;

/// Check an issuer's transparency log.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LogCommand {
    Check(CheckArgs),
}

/// Tell whether two checkpoints of one log are consistent; a fork is printed with both signed
/// checkpoints as evidence.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints CONSISTENT (exit 0) or FORK with both checkpoints (exit 1). No verdict \
    (unreadable or unsigned checkpoint, missing tiles, usage) exits 2."
)]
struct CheckArgs {
    /// A signed checkpoint file (give exactly two).
    #[arg(long = "checkpoint", value_name = "FILE", required = true)]
    checkpoints: Vec<PathBuf>,
    /// The log's verifier key (`<origin>+<id>+<key>`, as in log/log.vkey), or a file holding it.
    /// Without it, signatures are not checked and the output says so.
    #[arg(long, value_name = "VKEY|FILE")]
    log_key: Option<String>,
    /// Where the larger checkpoint's tiles are: the log's URL prefix (…/log) or a folder holding
    /// its `tile/` directory. Needed when the sizes differ.
    #[arg(long, value_name = "URL|DIR")]
    tiles: Option<String>,
}

/// Largest tile: 256 hashes.
const TILE_LIMIT: u64 = 256 * 32;

struct Loaded {
    checkpoint: Checkpoint,
    note: Vec<u8>,
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: LogArgs) -> u8 {
    let LogCommand::Check(args) = args.command;
    match check(&args) {
        Ok(code) => code,
        Err(line) => {
            eprintln!("error: {line}");
            2
        }
    }
}

fn check(args: &CheckArgs) -> Result<u8, String> {
    let [a, b] = args.checkpoints.as_slice() else {
        return Err("give exactly two --checkpoint files".to_owned());
    };
    let key = match &args.log_key {
        None => None,
        Some(arg) => {
            let text = if arg.contains('+') {
                arg.clone()
            } else {
                std::fs::read_to_string(arg)
                    .map_err(|e| format!("cannot read --log-key {arg}: {e}"))?
            };
            Some(LogKey::parse(&text).map_err(|e| format!("--log-key: {e}"))?)
        }
    };
    let load = |path: &PathBuf| -> Result<Loaded, String> {
        let note =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let checkpoint = match &key {
            Some(key) => verify_checkpoint(&note, key)
                .map(|v| v.checkpoint)
                .map_err(|e| format!("{}: {e}", path.display()))?,
            None => parse_checkpoint_unverified(&note)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        };
        Ok(Loaded { checkpoint, note })
    };
    let (a, b) = (load(a)?, load(b)?);
    let larger = if a.checkpoint.size() >= b.checkpoint.size() {
        &a
    } else {
        &b
    };
    let mut tiles = TileSet::new();
    let smaller = a.checkpoint.size().min(b.checkpoint.size());
    if a.checkpoint.size() != b.checkpoint.size() && smaller > 0 {
        let Some(source) = &args.tiles else {
            return Err(
                "the sizes differ: give --tiles (URL or folder of the larger one's tiles)"
                    .to_owned(),
            );
        };
        read_tiles(source, larger.checkpoint.size(), &mut tiles);
    }
    let verdict =
        compare_checkpoints(&a.checkpoint, &b.checkpoint, &tiles).map_err(|e| e.to_string())?;
    let signed = if key.is_some() {
        "both signed by the log key"
    } else {
        "SIGNATURES NOT CHECKED (no --log-key)"
    };
    let sizes = format!(
        "{} at sizes {} and {}",
        a.checkpoint.origin(),
        a.checkpoint.size(),
        b.checkpoint.size()
    );
    match verdict {
        Consistency::Consistent => {
            println!("CONSISTENT: {sizes} ({signed})");
            Ok(0)
        }
        fork => {
            let why = if fork == Consistency::ForkSameSize {
                "same size, different root hashes"
            } else {
                "the larger tree does not extend the smaller one"
            };
            println!("FORK: {sizes}: {why} ({signed}). Evidence, both checkpoints:");
            for l in [&a, &b] {
                println!("\n{}", String::from_utf8_lossy(&l.note).trim_end());
            }
            Ok(1)
        }
    }
}

/// Reads every hash tile of the tree of `size` that `source` has (a missing one is left out:
/// the comparison then says the tiles do not match).
fn read_tiles(source: &str, size: u64, tiles: &mut TileSet) {
    let remote = source.starts_with("https://") || source.starts_with("http://");
    for path in TileSet::paths_for_tree(size) {
        let data = if remote {
            fetch::get_bounded(
                &format!("{}/{path}", source.trim_end_matches('/')),
                TILE_LIMIT,
                Duration::from_secs(10),
                "application/octet-stream",
                false,
            )
            .ok()
        } else {
            std::fs::read(PathBuf::from(source).join(&path)).ok()
        };
        if let Some(data) = data {
            tiles.insert(path, data);
        }
    }
}
