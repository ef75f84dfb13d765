//! Reaching the database off the async workers: `read` (a snapshot), `query` (a plain
//! connection), and the transactions a write runs in (`transaction`, `transaction_if`), with the
//! pool's check-out and its 503 when the database is away.

use actix_web::web;
use diesel::{
    connection::{AnsiTransactionManager, TransactionManager},
    prelude::*,
};

use super::*;
use crate::error::ApiError;

/// Requests waiting for a database connection right now, in this process (`/metrics`).
pub static POOL_WAITING: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

pub(super) fn checkout(pool: &Pool) -> Result<PooledConn, ApiError> {
    use std::sync::atomic::Ordering;
    POOL_WAITING.fetch_add(1, Ordering::Relaxed);
    let conn = pool.get();
    POOL_WAITING.fetch_sub(1, Ordering::Relaxed);
    conn.map_err(|e| {
        log::warn!("database connection unavailable: {e}");
        unavailable()
    })
}

/// The answer to a request the database could not serve in time.
pub(super) fn unavailable() -> ApiError {
    ApiError::Unavailable(
        "the database cannot be reached or is overloaded; try again shortly".into(),
    )
}

/// Runs `f` with a pooled connection on a blocking thread (`query`'s way when no connection is
/// idle). A connection whose work failed with a database
/// error (unreachable, dropped, broken) is not given back to the pool: the next request gets a
/// fresh one.
pub(super) async fn with_conn<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || run(&mut *checkout(&pool)?, f))
        .await
        .map_err(ApiError::internal)?
}

pub(super) fn run<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = f(conn);
    if matches!(
        result,
        Err(ApiError::Unavailable(_) | ApiError::Internal(_))
    ) {
        discard(conn);
    }
    result
}

/// Marks a PostgreSQL connection broken, so the pool drops it on return (`has_broken`).
/// SQLite connections are a file handle: nothing to drop.
pub(super) fn discard(conn: &mut DbConnection) {
    use diesel::connection::TransactionManager;
    if let DbConnection::Postgresql(c) = conn {
        AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
    }
}

/// Runs read-only work on a blocking thread, on one consistent snapshot: a record and its
/// links, or a page and its children, come from the same committed state, never half of a
/// concurrent write. A deferred transaction on SQLite (one read lock for all the queries);
/// `REPEATABLE READ, READ ONLY` on PostgreSQL, begun in one statement.
pub async fn read<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    query(pool, move |conn| snapshot(conn, f)).await
}

/// Read-only work on one consistent snapshot, on a connection already held.
pub fn snapshot<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    in_transaction(
        conn,
        "BEGIN",
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        f,
        |_| true,
    )
}

/// Like `read`, without the snapshot: for work whose first statement alone may answer (a
/// statement is its own snapshot), and which takes `snapshot` itself when it needs more.
pub async fn query<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    // An SQLite read in WAL mode never waits for a lock and takes microseconds: with an idle
    // connection at hand it runs right here, sparing the hand-off to a blocking thread and
    // back (a fifth of the CPU of a single-record GET). Otherwise, and always on PostgreSQL
    // (a network round trip), it goes to the blocking pool.
    match pool.try_get() {
        Some(mut conn) if matches!(*conn, DbConnection::Sqlite(_)) => run(&mut conn, f),
        Some(mut conn) => web::block(move || run(&mut conn, f))
            .await
            .map_err(ApiError::internal)?,
        None => with_conn(pool, f).await,
    }
}

/// One write transaction on a connection already held (start-up work, seeding, tests).
pub fn transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    transaction_if(conn, f, |_| true)
}

/// Like `transaction`, but commits only when `keep` says so: a dry run, or a write that turned
/// out to change nothing, rolls back and still returns its result.
pub fn transaction_if<T, F, K>(conn: &mut DbConnection, f: F, keep: K) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    K: FnOnce(&T) -> bool,
{
    in_transaction(conn, "BEGIN IMMEDIATE", "BEGIN", f, keep)
}

/// Runs `f` in a transaction begun with the backend's statement; commits when `keep` says so.
pub(super) fn in_transaction<T, F, K>(
    conn: &mut DbConnection,
    begin_sqlite: &str,
    begin_pg: &str,
    f: F,
    keep: K,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    K: FnOnce(&T) -> bool,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, begin_sqlite)?,
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction_sql(c, begin_pg)?,
    }
    match f(conn) {
        Ok(value) if keep(&value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                log::warn!("rollback failed: {rollback}");
            }
            Err(e)
        }
    }
}

/// Reads a stored setting, creating it with `make()` the first time. Safe when several
/// instances start at once: the first insert wins and everyone reads what it wrote.
pub fn setting_or_insert(
    conn: &mut DbConnection,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, ApiError> {
    use schema::app_settings::dsl as s;
    let found = s::app_settings
        .filter(s::name.eq(name))
        .select(s::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(v) = found {
        return Ok(v);
    }
    let inserted = diesel::insert_into(s::app_settings)
        .values((s::name.eq(name), s::value.eq(make())))
        .execute(conn);
    match inserted {
        Ok(_)
        | Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(s::app_settings
        .filter(s::name.eq(name))
        .select(s::value)
        .first::<String>(conn)?)
}
