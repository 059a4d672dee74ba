//! Group commit: the service's one writer to `issuer.db`.
//!
//! Every state change of a request (a redeemed code, a used `c_nonce` or DPoP `jti`, an
//! enrollment and issuance, a delivery, a notification) is a [`Writer::run`] job. One thread owns
//! the write connection; it takes every job queued while the previous batch was committing, runs
//! them one after the other in one `BEGIN IMMEDIATE` transaction, each inside a savepoint of its
//! own (a job that fails is rolled back alone), and commits once: with `synchronous=FULL` that is
//! one WAL fsync for the whole batch. Each request gets its job's answer only after that commit
//! returned, so nothing is acknowledged that a crash could lose; if the commit fails, every job
//! of the batch is answered with an error and nothing of it happened.
//!
//! The jobs run in sequence on one connection, so the audit chain and the status list's index
//! allocation see each other's writes as before; other processes (the CLI, a second instance)
//! take turns with whole batches through SQLite's write lock and busy timeout. A batch is at
//! most [`MAX_BATCH`] jobs, so the lock is held for a few milliseconds at a time.
//!
//! The WAL is copied back into the database file (checkpointed) by a thread of its own every
//! [`CHECKPOINT_EVERY`], in passive mode (it never holds up the writer or a reader), rather than
//! by the writer at the commit that fills it.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::db::Connection;
use axum::http::StatusCode;

use super::error::ApiError;
use crate::store::{self, Cached};

/// Most jobs in one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// Compiled statements the writer keeps.
const STATEMENT_CACHE: usize = 128;

/// How often the checkpointer runs.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How often the writer deletes used nonces, DPoP proof ids and tokens that expired.
const PURGE_EVERY: Duration = Duration::from_secs(30);

/// Rows are kept this long past their expiry before they are deleted, so a clock stepped back
/// by up to this much does not make a used nonce or proof id usable again.
pub(crate) const PURGE_GRACE_SECS: u64 = 300;

/// A queued job: runs in the batch's transaction, then is answered once the batch's fate is
/// known.
trait Job: Send {
    /// Runs the work; `true` if it succeeded (its savepoint is released, else rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Sends the answer: the work's own if the batch committed, else an error.
    fn answer(self: Box<Self>, committed: bool);
}

struct Typed<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, ApiError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, ApiError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(internal("a database step panicked")));
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, committed: bool) {
        let outcome = match (committed, self.outcome) {
            (true, Some(outcome)) => outcome,
            _ => Err(unavailable()),
        };
        // The request may have gone (client away, timeout): nothing to tell then.
        let _ = self.reply.send(outcome);
    }
}

fn internal(what: &str) -> ApiError {
    ApiError::internal(&crate::error::CliError::new("internal", what))
}

/// The answer to every job of a batch that did not commit.
fn unavailable() -> ApiError {
    ApiError::bad(
        "temporarily_unavailable",
        "the issuer could not record the request; try again",
    )
    .with_status(StatusCode::SERVICE_UNAVAILABLE)
}

/// What the writer did, reported when the service stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Jobs run (each request's step, whether it was kept or refused).
    pub(crate) steps: u64,
    /// Transactions committed.
    pub(crate) transactions: u64,
    /// Batches whose transaction could not begin or commit (their requests got an error).
    pub(crate) failed: u64,
    /// The most jobs in one transaction.
    pub(crate) largest: u64,
}

/// The handle requests queue their jobs on (cheap to share: a channel sender).
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn` (the service's write connection, `synchronous=FULL`)
    /// and the checkpointer on `side` (another connection to the same database). The threads
    /// end when the last [`Writer`] is dropped and the queue is empty; join the handle to wait
    /// for the last batch.
    pub(crate) fn start(
        conn: Connection,
        side: Connection,
    ) -> crate::error::CliResult<(Self, std::thread::JoinHandle<Stats>)> {
        conn.pragma_update("wal_autocheckpoint", 0)?;
        // Every job's savepoint keeps the pages it changes in a statement journal: in memory,
        // not in a temporary file.
        conn.pragma_update("temp_store", "MEMORY")?;
        // The jobs' statements (about 40 distinct) stay compiled; rusqlite's default of 16
        // would compile most of them again at every use.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        side.pragma_update("synchronous", "FULL")?;
        let spawn_failed = |e: std::io::Error| {
            crate::error::CliError::new("runtime", format!("cannot start: {e}"))
        };
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("issuer-db-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(&side, &stopped))
            .map_err(spawn_failed)?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let handle = std::thread::Builder::new()
            .name("issuer-db-writer".to_owned())
            .spawn(move || {
                let stats = writer_loop(conn, &queue);
                drop(stop);
                stats
            })
            .map_err(spawn_failed)?;
        Ok((Self { jobs }, handle))
    }

    /// Runs `work` in the next batch's transaction and returns its result once that batch is
    /// on disk. `work` returning `Err` undoes its own writes only (its savepoint is rolled
    /// back); to keep some writes and still answer with an error, return `Ok(Err(..))`.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Box::new(Typed {
            work: Some(work),
            outcome: None,
            reply,
        });
        if self.jobs.send(job).is_err() {
            return Err(unavailable());
        }
        answer.await.unwrap_or_else(|_| Err(unavailable()))
    }

    /// Queues `work` without waiting for it (a record nobody waits on, such as a delivery).
    pub(crate) fn queue<F>(&self, work: F)
    where
        F: FnOnce(&Connection) -> Result<(), ApiError> + Send + 'static,
    {
        let (reply, _) = tokio::sync::oneshot::channel();
        let _ = self.jobs.send(Box::new(Typed {
            work: Some(work),
            outcome: None,
            reply,
        }));
    }
}

fn writer_loop(mut conn: Connection, queue: &mpsc::Receiver<Box<dyn Job>>) -> Stats {
    let mut stats = Stats::default();
    let mut last_purge: Option<Instant> = None;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let purge = last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY);
        let size = batch.len() as u64;
        stats.steps += size;
        let committed = match commit_batch(&mut conn, &mut batch, purge) {
            Ok(()) => {
                if purge {
                    last_purge = Some(Instant::now());
                }
                stats.transactions += 1;
                stats.largest = stats.largest.max(size);
                true
            }
            Err(e) => {
                stats.failed += 1;
                eprintln!(
                    "serve: a batch of {} requests was not recorded: {}: {}",
                    batch.len(),
                    e.code,
                    e.message
                );
                false
            }
        };
        for job in batch {
            job.answer(committed);
        }
    }
    stats
}

/// Checkpoints every [`CHECKPOINT_EVERY`] until `stop` closes, then once more.
fn checkpoint_loop(conn: &Connection, stop: &mpsc::Receiver<()>) {
    if conn.sqlite().is_none() {
        // PostgreSQL checkpoints by itself.
        return;
    }
    loop {
        let last = !matches!(
            stop.recv_timeout(CHECKPOINT_EVERY),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        // PASSIVE: copies what no reader still needs, waits for nobody; a busy or failed
        // checkpoint is tried again next time (the WAL only grows meanwhile).
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if last {
            return;
        }
    }
}

/// One transaction for `batch`: each job in a savepoint, then one commit.
fn commit_batch(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
    purge: bool,
) -> crate::error::CliResult<()> {
    let tx = store::write_tx(conn)?;
    if purge {
        purge_expired(&tx)?;
    }
    for job in batch.iter_mut() {
        tx.cached_exec("SAVEPOINT job", [])?;
        if !job.run(&tx) {
            tx.cached_exec("ROLLBACK TO job", [])?;
        }
        tx.cached_exec("RELEASE job", [])?;
    }
    tx.commit()?;
    Ok(())
}

/// Deletes used nonces, DPoP proof ids and access tokens that expired more than
/// [`PURGE_GRACE_SECS`] ago (indexed by expiry).
fn purge_expired(conn: &Connection) -> crate::error::CliResult<()> {
    let now = crate::clock::now()?;
    let before = now.saturating_sub(PURGE_GRACE_SECS) as i64;
    conn.execute(
        "DELETE FROM vci_used_nonces WHERE expires_at <= ?1",
        [before],
    )?;
    conn.execute("DELETE FROM vci_used_jtis WHERE expires_at <= ?1", [before])?;
    conn.execute(
        "DELETE FROM vci_tokens WHERE expires_at <= ?1",
        [now as i64],
    )?;
    Ok(())
}

/// Runs `f` in a savepoint of its own inside a job: its writes are kept when it returns `Ok`
/// and undone when it returns `Err` (the job's earlier writes stay).
pub(crate) fn savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let sql = |e: crate::db::Error| ApiError::from(crate::error::CliError::from(e));
    conn.cached_exec("SAVEPOINT step", []).map_err(sql)?;
    let result = f(conn);
    if result.is_err() {
        conn.cached_exec("ROLLBACK TO step", []).map_err(sql)?;
    }
    conn.cached_exec("RELEASE step", []).map_err(sql)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection, what: &str) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM meta WHERE key = ?1", [what], |r| {
            r.get(0)
        })
        .unwrap_or(-1)
    }

    /// Concurrent jobs share transactions; a job that fails is undone alone, one that keeps its
    /// writes and answers an error keeps them, and every answer comes after the commit.
    #[test]
    fn jobs_share_transactions_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let conn = store::create(&store::db_path(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let side = store::open_side(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let (writer, thread) = Writer::start(conn, side).unwrap_or_else(|e| panic!("{e:?}"));
        let writer = std::sync::Arc::new(writer);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let reader = store::open_side(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        // A first job holds the writer until the 64 are queued: they then share one batch.
        let (running, is_running) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let blocker = {
            let writer = writer.clone();
            runtime.spawn(async move {
                writer
                    .run(move |_| {
                        let _ = running.send(());
                        let _ = released.recv();
                        Ok(())
                    })
                    .await
            })
        };
        let _ = is_running.recv();
        let answers = runtime.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..64u32 {
                let writer = writer.clone();
                tasks.push(tokio::spawn(async move {
                    writer
                        .run(move |tx| {
                            let sql = |e: crate::db::Error| {
                                ApiError::from(crate::error::CliError::from(e))
                            };
                            tx.execute(
                                "INSERT INTO meta(key, value) VALUES (?1, 'x')",
                                [format!("job-{i}")],
                            )
                            .map_err(sql)?;
                            match i % 8 {
                                // Undone: its row goes.
                                3 => Err(ApiError::bad("invalid_request", "refused")),
                                // Kept, answered with an error.
                                5 => Ok(Err(ApiError::bad("invalid_grant", "kept"))),
                                // A step of it undone, the rest kept.
                                6 => {
                                    let inner = savepoint(tx, |tx| {
                                        tx.execute(
                                            "INSERT INTO meta(key, value) VALUES (?1, 'y')",
                                            [format!("inner-{i}")],
                                        )
                                        .map_err(sql)?;
                                        Err::<(), _>(ApiError::bad("invalid_request", "inner"))
                                    });
                                    Ok(inner.map(|()| i))
                                }
                                _ => Ok(Ok(i)),
                            }
                        })
                        .await
                }));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = release.send(());
            let _ = blocker.await;
            let mut answers = Vec::new();
            for t in tasks {
                answers.push(t.await.unwrap_or_else(|e| panic!("{e}")));
            }
            answers
        });
        for (i, answer) in answers.iter().enumerate() {
            let key = format!("job-{i}");
            let stored = count(&reader, &key);
            match (i % 8, answer) {
                (3, Err(_)) => assert_eq!(stored, 0, "{key}"),
                (5 | 6, Ok(Err(_))) => assert_eq!(stored, 1, "{key}"),
                (_, Ok(Ok(n))) => {
                    assert_eq!(*n as usize, i);
                    assert_eq!(stored, 1, "{key}");
                }
                (_, other) => panic!("{key}: {other:?}"),
            }
            assert_eq!(count(&reader, &format!("inner-{i}")), 0);
        }
        drop(writer);
        drop(runtime);
        let stats = thread.join().unwrap_or_default();
        assert_eq!(
            stats,
            Stats {
                steps: 65,
                transactions: 2,
                failed: 0,
                largest: 64
            }
        );
    }

    /// While another connection holds the write lock past the busy timeout, the batch fails
    /// whole: every request of it is answered "temporarily unavailable" and nothing is kept.
    #[test]
    fn a_batch_that_cannot_commit_answers_every_request_with_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let conn = store::create(&store::db_path(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        conn.busy_timeout(Duration::from_millis(50))
            .unwrap_or_else(|e| panic!("{e}"));
        let side = store::open_side(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let (writer, thread) = Writer::start(conn, side).unwrap_or_else(|e| panic!("{e:?}"));
        let other = store::open_side(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        other
            .execute_batch("BEGIN IMMEDIATE")
            .unwrap_or_else(|e| panic!("{e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = runtime.block_on(writer.run(|tx| {
            tx.execute("INSERT INTO meta(key, value) VALUES ('lost', 'x')", [])
                .map_err(|e| ApiError::from(crate::error::CliError::from(e)))?;
            Ok(1)
        }));
        assert!(
            format!("{answer:?}").contains("temporarily_unavailable"),
            "{answer:?}"
        );
        other
            .execute_batch("ROLLBACK")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&other, "lost"), 0);
        // The next batch goes through.
        let answer = runtime.block_on(writer.run(|_| Ok(2)));
        assert!(matches!(answer, Ok(2)), "{answer:?}");
        drop(writer);
        let stats = thread.join().unwrap_or_default();
        assert_eq!((stats.steps, stats.transactions, stats.failed), (2, 1, 1));
    }
}
