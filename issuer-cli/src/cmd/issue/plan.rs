//! Planning a batch of `issue`: the next eligible staff (by employee number) and their random
//! status list indices (core's `IndexAllocator::allocate_many`), in the writer's transaction.

use std::collections::HashSet;

use crate::db::{params, Connection, OptionalExtension};
use govid_core::status::{IndexAllocator, StatusError};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};

use super::sign::{Row, Slot};
use crate::error::{CliError, CliResult};
use crate::issuer::{list_uri, Staff};
use crate::store::Cached;

/// The list being filled and its used indices (reloaded when another process wrote). `serve`
/// keeps one across credential requests ([`super::issue_one`]), so an issuance does not reload
/// every used index of the list.
#[derive(Debug)]
pub(crate) struct ListCache {
    list_id: i64,
    capacity: u32,
    used: HashSet<usize>,
    data_version: i64,
}

/// Walks the eligible staff in batches and allocates their status entries.
pub(super) struct Planner<'a> {
    /// `SELECT <staff columns>, holder_jwk ... WHERE employee_number > :cursor ... LIMIT :limit`.
    pub(super) select: &'a str,
    pub(super) today: &'a str,
    pub(super) only: Option<&'a str>,
    pub(super) reissue: bool,
    pub(super) now: u64,
    pub(super) batch: usize,
    pub(super) status_base: &'a str,
    pub(super) list_capacity: usize,
    /// The last employee number planned.
    pub(super) cursor: String,
    cache: Option<ListCache>,
}

impl<'a> Planner<'a> {
    #[allow(clippy::too_many_arguments)] // the run's settings, each named at the one call site
    pub(super) fn new(
        select: &'a str,
        today: &'a str,
        only: Option<&'a str>,
        reissue: bool,
        now: u64,
        batch: usize,
        (status_base, list_capacity): (&'a str, usize),
    ) -> Self {
        Self {
            select,
            today,
            only,
            reissue,
            now,
            batch,
            status_base,
            list_capacity,
            cursor: String::new(),
            cache: None,
        }
    }

    /// Starts from `cache` (a previous planner's), checked against the database as usual.
    pub(super) fn with_cache(mut self, cache: Option<ListCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache, for the next planner.
    pub(super) fn into_cache(self) -> Option<ListCache> {
        self.cache
    }

    /// Forgets the cached used indices (after another command wrote, or a batch was given up).
    pub(super) fn forget(&mut self) {
        self.cache = None;
    }

    /// The next batch after the cursor, with its allocated entries; `None` when nobody is left.
    pub(super) fn next(&mut self, tx: &Connection) -> CliResult<Option<(Vec<Row>, Vec<Slot>)>> {
        let rows: Vec<Row> = {
            let mut stmt = tx.prepare_cached(self.select)?;
            let rows = stmt.query_map(
                crate::db::named_params! {":cursor": self.cursor, ":today": self.today,
                ":only": self.only, ":reissue": self.reissue, ":now": self.now as i64,
                ":limit": self.batch as i64},
                |r| Ok(Row::new(Staff::from_row(r)?, r.get::<_, String>(12)?)),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.cursor = last.claims.employee_number.clone();
        let slots = self.allocate(tx, rows.len())?;
        Ok(Some((rows, slots)))
    }

    /// Allocates `count` entries, filling the newest list and starting new ones as needed.
    fn allocate(&mut self, tx: &Connection, count: usize) -> CliResult<Vec<Slot>> {
        let dv = tx.data_version()?;
        let newest: Option<(i64, u32)> = tx
            .cached_row(
                "SELECT id, capacity FROM status_lists ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let fresh = match (&self.cache, newest) {
            (Some(c), Some((id, _))) => c.list_id != id || c.data_version != dv,
            _ => true,
        };
        if fresh {
            self.cache = match newest {
                Some((list_id, capacity)) => {
                    let mut stmt =
                        tx.prepare_cached("SELECT idx FROM credentials WHERE list_id = ?1")?;
                    let used = stmt
                        .query_map([list_id], |r| r.get::<_, usize>(0))?
                        .collect::<Result<HashSet<usize>, _>>()?;
                    Some(ListCache {
                        list_id,
                        capacity,
                        used,
                        data_version: dv,
                    })
                }
                None => None,
            };
        }
        // One OS RNG read per batch seeds the index draws.
        let mut rng = ChaCha20Rng::from_rng(OsRng)
            .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let full = self
                .cache
                .as_ref()
                .is_none_or(|c| c.used.len() >= c.capacity as usize);
            if full {
                let list_id = self.cache.as_ref().map_or(1, |c| c.list_id + 1);
                let capacity = u32::try_from(self.list_capacity).unwrap_or(u32::MAX);
                tx.execute(
                    "INSERT INTO status_lists(id, uri, capacity, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        list_id,
                        list_uri(self.status_base, list_id),
                        capacity,
                        self.now as i64
                    ],
                )?;
                self.cache = Some(ListCache {
                    list_id,
                    capacity,
                    used: HashSet::new(),
                    data_version: dv,
                });
            }
            let Some(c) = self.cache.as_mut() else {
                break;
            };
            let uri = list_uri(self.status_base, c.list_id);
            let allocator = IndexAllocator::new(c.capacity as usize).map_err(bad_capacity)?;
            let picked = match allocator.allocate_many(&c.used, count - out.len(), &mut rng) {
                Ok(picked) => picked,
                // Counted as full above unless `used` holds stray indices: start the next list.
                Err(StatusError::ListFull { .. }) => {
                    c.used.extend(0..c.capacity as usize);
                    continue;
                }
                Err(e) => return Err(bad_capacity(e)),
            };
            for idx in picked {
                c.used.insert(idx);
                // idx < capacity ≤ u32::MAX
                out.push((c.list_id, uri.clone(), idx as u32));
            }
        }
        Ok(out)
    }
}

fn bad_capacity(e: StatusError) -> CliError {
    CliError::new(
        "corrupt_database",
        format!("bad status list capacity in issuer.db: {e}"),
    )
}
