//! The database layer: one connection type over SQLite and PostgreSQL, the pool, migrations,
//! and the two ways handlers reach the database (`read` and `write`), both off the async workers;
//! beside them `pipeline`, PostgreSQL lookups a worker sends itself without blocking, chosen
//! once at start behind `VersionReader`.

mod connect;
mod fragments;
pub mod pipeline;
pub mod schema;
mod statements;
mod timestamp;
mod transactions;
mod versions;
mod writers;

pub use connect::*;
pub use fragments::*;
pub use statements::*;
pub use timestamp::*;
pub use transactions::*;
pub use versions::*;
pub use writers::*;

use std::sync::{Arc, Mutex};

use diesel::{
    connection::{SimpleConnection, TransactionManager},
    prelude::*,
    r2d2::{self},
};

/// One connection type for both backends; queries written once against it run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection (the body is compiled once for
/// each backend). A query sent through `DbConnection` is wrapped by diesel's `MultiConnection`,
/// whose wrapper writes the statement's SQL text afresh every time it runs (twice: once to find
/// the cached statement, once to bind), even when the statement is prepared already; sent on the
/// backend's own connection, a query of fixed type finds its prepared statement by type, with no
/// SQL written. For the statements every request runs (callgrind: the SQL writing was 17 % of a
/// cached GET's instructions on SQLite).
#[macro_export]
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// The connection pool, and on SQLite the turn its writers take.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    /// SQLite has one writer at a time. Writers that wait for the database's lock sleep in
    /// growing steps (its busy handler), which made the p99 of 16 concurrent writers half a
    /// second; waiting here instead, before taking a connection, hands the lock straight on and
    /// leaves the idle connections to readers. Other processes on the same file still meet
    /// the busy handler. `None` on PostgreSQL, where writers run side by side.
    writer: Option<Arc<Writer>>,
}

/// SQLite's writers: one turn at a time, and the writes waiting when a turn begins are committed
/// together (`write`).
#[derive(Default)]
pub struct Writer {
    turn: Mutex<()>,
    waiting: Mutex<Vec<Job>>,
    /// COMMITs of turns, and the writes they committed (`/metrics`).
    commits: std::sync::atomic::AtomicU64,
    committed: std::sync::atomic::AtomicU64,
    /// Checkpoints that copied back the whole WAL (`start_checkpointer`, `/metrics`).
    checkpoints: std::sync::atomic::AtomicU64,
}

/// A write waiting for its turn. Given a connection in the turn's transaction it runs in a
/// savepoint of its own and gives back what answers it once the COMMIT has succeeded or failed
/// (`true`: committed); given none (no connection, no transaction) it answers 503.
type Job = Box<dyn FnOnce(Option<&mut DbConnection>) -> Answer + Send>;
type Answer = Box<dyn FnOnce(bool) + Send>;

impl Pool {
    /// On SQLite, the writers' COMMITs so far and the writes they committed (a write refused
    /// inside its savepoint counts too: it was answered by that COMMIT).
    pub fn group_commits(&self) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let w = self.writer.as_ref()?;
        Some((w.commits.load(Relaxed), w.committed.load(Relaxed)))
    }

    /// On SQLite, the checkpoints that copied back the whole WAL.
    pub fn checkpoints(&self) -> Option<u64> {
        let w = self.writer.as_ref()?;
        Some(w.checkpoints.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<Manager>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;
