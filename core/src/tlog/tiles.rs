//! C2SP tlog-tiles: tile paths, tile and entry-bundle contents, and reading a tree from tiles.
//!
//! Hashing, stored-hash indexes, tile coordinates and tile contents come from `tlog_tiles`
//! (a port of Go's `sumdb/tlog`). Written here because `tlog_tiles` 0.2 lacks them: the C2SP
//! path form (`tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`; the crate writes Go
//! sumdb's `tile/8/<L>/…` and `tile/8/data/…`), entry bundles (u16-length-prefixed entries), and
//! a [`TileReader`] that checks each tile's length instead of trusting it.

use std::collections::BTreeMap;

use tlog_tiles::{Hash, HashReader, Tile, TileReader, HASH_SIZE};

/// C2SP tiles are 2^8 = 256 hashes wide.
pub const TILE_HEIGHT: u8 = 8;

/// The C2SP path of a hash tile or (for a data tile) an entry bundle, relative to the log prefix.
pub fn tile_path(tile: &Tile) -> String {
    let go = tile.path();
    // `Tile::path` is `tile/<H>/<L or data>/<N>[.p/<W>]`; C2SP drops `<H>` and says `entries`.
    let rest = go.strip_prefix("tile/8/").unwrap_or(go.as_str()).to_owned();
    match rest.strip_prefix("data/") {
        Some(n) => format!("tile/entries/{n}"),
        None => format!("tile/{rest}"),
    }
}

/// Parses a C2SP tile or entry-bundle path; `None` for anything else.
pub fn parse_tile_path(path: &str) -> Option<Tile> {
    let rest = path.strip_prefix("tile/")?;
    // `Tile::from_path` (0.2.0) panics on a level over 63 or a width of 0 (its `Tile::new`
    // asserts them): refuse those first.
    if let Some((_, w)) = rest.rsplit_once(".p/") {
        if !matches!(w.parse::<u16>(), Ok(1..=255)) {
            return None;
        }
    }
    let level = rest.split('/').next()?;
    if level != "entries" && !matches!(level.parse::<u8>(), Ok(0..=63)) {
        return None;
    }
    let go = match rest.strip_prefix("entries/") {
        Some(n) => format!("tile/8/data/{n}"),
        None => format!("tile/8/{rest}"),
    };
    let tile = Tile::from_path(&go).ok()?;
    // Round-trips only for a canonical path (no leading zeroes, no `.p/256`...).
    (tile_path(&tile) == path).then_some(tile)
}

/// An in-memory tree: every stored hash of a log, in `tlog_tiles` order.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MemoryTree {
    /// A tree of the given leaves (entry bytes).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut tree = Self::default();
        for e in entries {
            tree.push(e);
        }
        tree
    }

    /// Appends one leaf.
    pub fn push(&mut self, entry: &[u8]) {
        // `stored_hashes` only reads hashes already stored for indexes below `size`.
        if let Ok(new) = tlog_tiles::stored_hashes(self.size, entry, self) {
            self.hashes.extend(new);
            self.size += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash (RFC 6962 Merkle Tree Hash).
    pub fn root(&self) -> Hash {
        tlog_tiles::tree_hash(self.size, self).unwrap_or(tlog_tiles::EMPTY_HASH)
    }

    /// The root hash of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.size)
            .then(|| tlog_tiles::tree_hash(size, self).ok())
            .flatten()
    }

    /// Inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, size: u64, index: u64) -> Option<Vec<Hash>> {
        (index < size && size <= self.size)
            .then(|| tlog_tiles::prove_record(size, index, self).ok())
            .flatten()
    }

    /// Consistency proof from size `old` to size `new`.
    pub fn consistency_proof(&self, new: u64, old: u64) -> Option<Vec<Hash>> {
        (old <= new && new <= self.size)
            .then(|| tlog_tiles::prove_tree(new, old, self).ok())
            .flatten()
    }

    /// The hash tiles to publish when the tree grows from `old` leaves to its size, with their
    /// contents (a partial tile for each level's right edge).
    pub fn new_hash_tiles(&self, old: u64) -> Vec<(Tile, Vec<u8>)> {
        Tile::new_tiles(TILE_HEIGHT, old.min(self.size), self.size)
            .into_iter()
            .filter_map(|t| t.read_data(self).ok().map(|d| (t, d)))
            .collect()
    }

    /// The hash tile `tile`'s contents in this tree, if the tree has that tile.
    pub fn hash_tile(&self, tile: &Tile) -> Option<Vec<u8>> {
        if tile.is_data() {
            return None;
        }
        let shift = u32::from(tile.level()) * u32::from(TILE_HEIGHT);
        let level_width = self.size.checked_shr(shift).unwrap_or(0);
        let start = tile.level_index().checked_mul(256)?;
        let end = start.checked_add(u64::from(tile.width()))?;
        if end > level_width {
            return None;
        }
        tile.read_data(self).ok()
    }
}

/// The entry-bundle tiles (`tile/entries/…`) to publish when the log grows from `old` entries to
/// `entries.len()`, with their contents: each entry as a big-endian u16 length and its bytes.
pub fn new_entry_bundles(entries: &[Vec<u8>], old: u64) -> Vec<(Tile, Vec<u8>)> {
    let size = entries.len() as u64;
    let mut out = Vec::new();
    for t in Tile::new_tiles(TILE_HEIGHT, old.min(size), size) {
        if t.level() != 0 {
            continue;
        }
        let mut data_tile = t;
        data_tile.set_is_data();
        out.push((data_tile, entry_bundle(entries, &t)));
    }
    out
}

/// The contents of the entry bundle at `tile`'s level-0 position.
pub fn entry_bundle(entries: &[Vec<u8>], tile: &Tile) -> Vec<u8> {
    let start = usize::try_from(tile.level_index() * 256).unwrap_or(usize::MAX);
    let end = start.saturating_add(tile.width() as usize);
    let mut data = Vec::new();
    for e in entries.iter().take(end).skip(start) {
        // Entries are at most `MAX_ENTRY_LEN` bytes (checked when encoded).
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(e);
    }
    data
}

/// Splits an entry bundle into its entries; `None` if the lengths do not add up.
pub fn split_entry_bundle(mut data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        if rest.len() < len {
            return None;
        }
        out.push(rest[..len].to_vec());
        data = &rest[len..];
    }
    Some(out)
}

/// Tiles held in memory, by C2SP path: what a client fetched or read from a directory.
/// Implements `tlog_tiles`' [`TileReader`]; a tile missing or of the wrong length is an error,
/// and `tlog_tiles::TileHashReader` then checks every tile against the checkpoint's root.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: BTreeMap<String, Vec<u8>>,
}

impl TileSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the tile at C2SP `path`.
    pub fn insert(&mut self, path: String, data: Vec<u8>) {
        self.tiles.insert(path, data);
    }

    /// The tile paths a consistency proof ending at a tree of `size` may need (every hash tile
    /// of that tree): for a fetcher to know what to get.
    pub fn paths_for_tree(size: u64) -> Vec<String> {
        Tile::new_tiles(TILE_HEIGHT, 0, size)
            .iter()
            .map(tile_path)
            .collect()
    }
}

impl TileReader for TileSet {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let data = self
                    .tiles
                    .get(&tile_path(t))
                    .ok_or(tlog_tiles::Error::InvalidTile)?;
                if data.len() != t.width() as usize * HASH_SIZE {
                    return Err(tlog_tiles::Error::InvalidTile);
                }
                Ok(data.clone())
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}
