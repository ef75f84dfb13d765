//! SQLite's writers: one turn at a time, the writes waiting when a turn begins committed
//! together (each in a savepoint of its own), and the checkpointer beside them. On PostgreSQL
//! a write is its own transaction.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use actix_web::web;
use diesel::{prelude::*, r2d2::ManageConnection};

use super::*;
use crate::{config::SqliteSync, error::ApiError};

/// How often SQLite's WAL is checkpointed beside the writers (`start_checkpointer`).
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

/// On SQLite, checkpoints the WAL from a thread of its own, so that writers no longer do it.
/// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1 000 pages,
/// and so inside the writers' turn: copying the pages back and two fsyncs, while every other
/// writer waited (4.5 % of a SQLite PATCH's profile, writers' turn idle 35-40 % of the time). A
/// passive checkpoint never blocks a writer or a reader; run often enough, the WAL is started
/// again from its beginning before it reaches the size at which a writer would checkpoint (the
/// automatic checkpoint stays as the backstop). The thread ends with the pool.
///
/// Once a checkpoint has copied back the whole WAL, the next waits for a turn's COMMIT: an idle
/// server does no SQLite work (it did 40 checkpoints a second, about 0.5 % of a core). Writes
/// made outside the turns (start-up, another process) are left to the automatic checkpoint.
pub fn start_checkpointer(pool: &Pool, url: &str) {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        checkpointed: i32,
    }
    let Some(writer) = &pool.writer else { return };
    let alive = Arc::downgrade(writer);
    let manager = Manager::new(url, SqliteSync::default());
    let started = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            // The turns' COMMITs counted when the last complete checkpoint began.
            let mut complete = None;
            loop {
                use std::sync::atomic::Ordering::Relaxed;
                std::thread::sleep(CHECKPOINT_EVERY);
                let Some(writer) = alive.upgrade() else { break };
                let commits = writer.commits.load(Relaxed);
                if complete == Some(commits) {
                    continue;
                }
                if conn.is_none() {
                    conn = manager.connect().ok();
                }
                if let Some(c) = conn.as_mut() {
                    match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                        .get_result::<Checkpoint>(c)
                    {
                        Ok(r) if r.busy == 0 && r.log == r.checkpointed => {
                            complete = Some(commits);
                            writer.checkpoints.fetch_add(1, Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            log::debug!("checkpoint failed: {e}");
                            conn = None;
                        }
                    }
                }
            }
        });
    if let Err(e) = started {
        log::warn!("no checkpoint thread ({e}): writers checkpoint SQLite's WAL themselves");
    }
}

/// Runs `f` as one write transaction on a blocking thread: all of it commits or none of it,
/// and it is answered only after its COMMIT. SQLite takes the write lock up front
/// (`BEGIN IMMEDIATE`) so writers queue instead of failing on a lock upgrade.
///
/// On SQLite the writes that wait while another holds the turn are committed together when
/// their turn comes, each in its own savepoint: one that fails is rolled back alone and the
/// others commit. Every write touches the same last pages of the audit and change-event tables
/// and their indexes (and of a table keyed by time-ordered ids); one COMMIT writes them to the
/// WAL once for all, not once each. PostgreSQL commits writers side by side by itself.
pub async fn write<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    write_if(pool, f, |_| true).await
}

/// Like `write`, but what `f` did is kept only when `keep` says so: a dry run, or an upsert that
/// turned out to change nothing, is rolled back (its savepoint, on SQLite) and still answered.
pub async fn write_if<T, F, K>(pool: &Pool, f: F, keep: K) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    K: FnOnce(&T) -> bool + Send + 'static,
    T: Send + 'static,
{
    write_each(pool, vec![(f, keep)])
        .await?
        .pop()
        .unwrap_or_else(|| Err(ApiError::internal("a write was not answered")))
}

/// Writes independent of each other, in order, each all or nothing on its own as with
/// `write_if` (a bulk request's items). On SQLite they wait for the writers' turn together, so
/// they share its COMMIT instead of taking a turn each (if that COMMIT fails, all of them
/// answer 503). On PostgreSQL they run one after another on one connection; after one fails on
/// the database itself (503, 500), the connection is dropped and the ones after it answer 503
/// without being run.
pub async fn write_each<T, F, K>(
    pool: &Pool,
    writes: Vec<(F, K)>,
) -> Result<Vec<Result<T, ApiError>>, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    K: FnOnce(&T) -> bool + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let Some(writer) = pool.writer.clone() else {
        return web::block(move || {
            let mut conn = checkout(&pool)?;
            let mut broken = false;
            Ok(writes
                .into_iter()
                .map(|(f, keep)| {
                    if broken {
                        return Err(unavailable());
                    }
                    let r = run(&mut conn, |conn| transaction_if(conn, f, keep));
                    broken = matches!(r, Err(ApiError::Unavailable(_) | ApiError::Internal(_)));
                    r
                })
                .collect())
        })
        .await
        .map_err(ApiError::internal)?;
    };
    let mut answers = Vec::with_capacity(writes.len());
    let mut jobs: Vec<Job> = Vec::with_capacity(writes.len());
    // How many of these writes have been answered; a turn's taker whose writes an earlier turn
    // answered leaves the turn to the writes still waiting.
    let answered = Arc::new(AtomicUsize::new(0));
    let count = writes.len();
    for (f, keep) in writes {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, ApiError>>(1);
        answers.push(rx);
        let answered = answered.clone();
        jobs.push(Box::new(move |conn| {
            let result = match conn {
                Some(conn) => savepoint_if(conn, f, keep),
                None => Err(unavailable()),
            };
            Box::new(move |committed| {
                let _ = tx.send(match result {
                    Ok(_) if !committed => Err(unavailable()),
                    result => result,
                });
                answered.fetch_add(1, Ordering::Release);
            })
        }));
    }
    // Queued at once, so no other write comes between them and one turn takes them all.
    lock(&writer.waiting).extend(jobs);
    // When this returns the writes have been answered: by this turn, or by an earlier one that
    // found them waiting.
    web::block(move || writer.take_turn(&pool, || answered.load(Ordering::Acquire) == count))
        .await
        .map_err(ApiError::internal)?;
    Ok(answers
        .into_iter()
        .map(|rx| {
            rx.try_recv()
                .map_err(|_| ApiError::internal("a write was not answered"))?
        })
        .collect())
}

/// `f` in a savepoint of the turn's transaction, released when `keep` says so and rolled
/// back otherwise (diesel's nested transaction rolls back on an error, so a result not kept
/// leaves as one).
pub(super) fn savepoint_if<T, F, K>(conn: &mut DbConnection, f: F, keep: K) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    K: FnOnce(&T) -> bool,
{
    enum Undo<T> {
        Failed(ApiError),
        NotKept(T),
    }
    impl<T> From<diesel::result::Error> for Undo<T> {
        fn from(e: diesel::result::Error) -> Self {
            Undo::Failed(e.into())
        }
    }
    let r = conn.transaction(|conn| match f(conn) {
        Ok(value) if keep(&value) => Ok(value),
        Ok(value) => Err(Undo::NotKept(value)),
        Err(e) => Err(Undo::Failed(e)),
    });
    match r {
        Ok(value) | Err(Undo::NotKept(value)) => Ok(value),
        Err(Undo::Failed(e)) => Err(e),
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// Waits for the turn, then runs every write waiting in one transaction, unless the
    /// caller's writes were answered meanwhile (`done`): then the writes queued since are left
    /// to a caller still waiting for them, so they gather into one turn (one COMMIT, one sync)
    /// instead of each caller that queued behind a turn running a turn of its own.
    fn take_turn(&self, pool: &Pool, done: impl Fn() -> bool) {
        if done() {
            return;
        }
        let _turn = lock(&self.turn);
        if done() {
            return;
        }
        let jobs = std::mem::take(&mut *lock(&self.waiting));
        if jobs.is_empty() {
            return;
        }
        // The turn's transaction is `transaction`'s (BEGIN IMMEDIATE; diesel rolls back a
        // COMMIT that fails); writes it could not run (no connection, no BEGIN) answer 503.
        let mut jobs = jobs.into_iter();
        let mut answers = Vec::with_capacity(jobs.len());
        let committed = checkout(pool)
            .and_then(|mut conn| {
                transaction(&mut conn, |conn| {
                    answers.extend(jobs.by_ref().map(|job| job(Some(&mut *conn))));
                    Ok(())
                })
            })
            .map_err(|e| log::warn!("a turn of {} writes failed: {e}", answers.len()))
            .is_ok();
        answers.extend(jobs.map(|job| job(None)));
        if committed {
            use std::sync::atomic::Ordering::Relaxed;
            self.commits.fetch_add(1, Relaxed);
            self.committed.fetch_add(answers.len() as u64, Relaxed);
        }
        for answer in answers {
            answer(committed);
        }
    }
}
