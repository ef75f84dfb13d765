//! The database layer: one connection type over SQLite and PostgreSQL, the pool, migrations,
//! and the two ways handlers reach the database (`read` and `write`), both off the async workers;
//! beside them `pipeline`, PostgreSQL lookups a worker sends itself without blocking.

pub mod pipeline;
pub mod schema;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::web;
use diesel::{
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    prelude::*,
    r2d2::{self, ManageConnection},
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::{
    config::{is_postgres_url, SqliteSync},
    error::ApiError,
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

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Chooses the backend from the URL's scheme (never by trial, so a PostgreSQL URL whose server
/// is down is an error, not a SQLite file by that name), and sets SQLite's per-connection pragmas.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    synchronous: SqliteSync,
}

impl Manager {
    pub fn new(url: &str, synchronous: SqliteSync) -> Self {
        Manager {
            url: connection_url(url),
            synchronous,
        }
    }
}

/// The URL connections are made with: `url`, without TLS on loopback (`plain_on_loopback`).
pub fn connection_url(url: &str) -> String {
    let plain = plain_on_loopback(url, std::env::var_os("PGSSLMODE").is_some());
    if plain != url {
        log::debug!("PostgreSQL on a loopback address: TLS off (sslmode=disable)");
    }
    plain
}

/// A PostgreSQL URL whose hosts are all on this machine (loopback addresses, or a Unix socket's
/// directory) gets `sslmode=disable` unless it names an sslmode itself (or `PGSSLMODE` is set):
/// libpq's default, `prefer`, encrypts whenever the server offers TLS, and on loopback that
/// protects nothing yet cost both ends of every round trip (a sixth of a write's CPU: POST
/// 1 517 -> 1 816/s, docs/performance-history.md, 22). libpq never uses TLS on a Unix socket;
/// saying so lets `pipeline` (which makes no TLS connections) serve such a URL too. Any other
/// URL is kept as it is.
pub fn plain_on_loopback(url: &str, pgsslmode_set: bool) -> String {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return url.to_string();
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if pgsslmode_set || query.split('&').any(|p| p.starts_with("sslmode=")) {
        return url.to_string();
    }
    let authority = path.split('/').next().unwrap_or("");
    // libpq: a `host` parameter overrides the hosts before the path.
    let hosts = query
        .rsplit('&')
        .find_map(|p| p.strip_prefix("host="))
        .unwrap_or_else(|| authority.rsplit_once('@').map_or(authority, |(_, h)| h));
    let local = |host_port: &str| {
        if host_port.starts_with('/') || host_port.to_ascii_lowercase().starts_with("%2f") {
            return true; // a Unix socket's directory
        }
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host_port.split(':').next().unwrap_or(""),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    if hosts.is_empty() || !hosts.split(',').all(local) {
        return url.to_string();
    }
    match query {
        "" => format!("{}?sslmode=disable", url.trim_end_matches('?')),
        _ => format!("{url}&sslmode=disable"),
    }
}

/// Run on every PostgreSQL connection the service makes (the pool's and the pipeline's).
/// PostgreSQL's default cost of a random page read (4) is a spinning disk's: with it the planner
/// walks the primary key and filters (184 buffers for a page of 50 activities by status at
/// 100 000) instead of searching the (status, id) index (35). 1.1 is the usual figure for SSDs
/// or a working set in memory; a value the operator set (server, database, role or PGOPTIONS)
/// is kept.
pub const PG_SESSION: &str = "SELECT set_config('random_page_cost', '1.1', false) \
                              WHERE current_setting('random_page_cost') = '4'";

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        if is_postgres_url(&self.url) {
            let mut conn =
                diesel::PgConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
            conn.batch_execute(PG_SESSION)
                .map_err(r2d2::Error::QueryError)?;
            Ok(DbConnection::Postgresql(conn))
        } else {
            let mut conn = diesel::SqliteConnection::establish(&self.url)
                .map_err(r2d2::Error::ConnectionError)?;
            // WAL lets readers run beside the one writer; busy_timeout waits instead of failing;
            // `synchronous` as configured (`SqliteSync`, FULL unless chosen otherwise). A page
            // cache of 1 MB per connection instead of SQLite's 2: with rendered records cached
            // above it (`cache.rs`) the pages it keeps are mostly index pages, and eight
            // connections' caches were a third of the process's memory.
            conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -1024;",
                self.synchronous.pragma()
            ))
            .map_err(r2d2::Error::QueryError)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

/// How long a request waits for the database (a pooled connection, or a pipelined answer)
/// before it is answered 503.
pub const WAIT: Duration = Duration::from_secs(3);

/// A pool with SQLite's durable default (`SqliteSync::Full`); see `build_pool_with`.
pub fn build_pool(url: &str, size: u32) -> Pool {
    build_pool_with(url, size, SqliteSync::default())
}

/// Builds the pool without connecting, so the service starts (and answers 503) while the
/// database is away; connections are made on demand.
pub fn build_pool_with(url: &str, size: u32, synchronous: SqliteSync) -> Pool {
    if !is_postgres_url(url) {
        if let Some(dir) = std::path::Path::new(url).parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
    }
    let inner = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(WAIT)
        // No `SELECT 1` on every check-out (a round trip per request on PostgreSQL): a
        // connection the database dropped is found by the request that uses it, answered 503,
        // and thrown away (`run`), so the service recovers by itself.
        .test_on_check_out(false)
        .build_unchecked(Manager::new(url, synchronous));
    let writer = (!is_postgres_url(url)).then(|| Arc::new(Writer::default()));
    Pool { inner, writer }
}

/// How often SQLite's WAL is checkpointed beside the writers (`start_checkpointer`).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

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

/// Applies pending migrations for the connection's backend. On PostgreSQL an advisory lock
/// makes instances starting together take turns.
pub fn migrate(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgresql(c) => {
            c.batch_execute("SELECT pg_advisory_lock(727274001)")
                .map_err(|e| e.to_string())?;
            let r = c.run_pending_migrations(PG_MIGRATIONS).map(|_| ());
            let _ = c.batch_execute("SELECT pg_advisory_unlock(727274001)");
            r
        }
    };
    result.map_err(|e| format!("migrations failed: {e}"))
}

pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgresql(_))
}

fn checkout(pool: &Pool) -> Result<PooledConn, ApiError> {
    use std::sync::atomic::Ordering;
    crate::metrics::POOL_WAITING.fetch_add(1, Ordering::Relaxed);
    let conn = pool.get();
    crate::metrics::POOL_WAITING.fetch_sub(1, Ordering::Relaxed);
    conn.map_err(|e| {
        log::warn!("database connection unavailable: {e}");
        unavailable()
    })
}

/// The answer to a request the database could not serve in time.
fn unavailable() -> ApiError {
    ApiError::Unavailable(
        "the database cannot be reached or is overloaded; try again shortly".into(),
    )
}

/// Runs `f` with a pooled connection on a blocking thread (`query`'s way when no connection is
/// idle). A connection whose work failed with a database
/// error (unreachable, dropped, broken) is not given back to the pool: the next request gets a
/// fresh one.
async fn with_conn<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || run(&mut *checkout(&pool)?, f))
        .await
        .map_err(ApiError::internal)?
}

fn run<T>(
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
fn discard(conn: &mut DbConnection) {
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
    for (f, keep) in writes {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, ApiError>>(1);
        answers.push(rx);
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
            })
        }));
    }
    // Queued at once, so no other write comes between them and one turn takes them all.
    lock(&writer.waiting).extend(jobs);
    // When this returns the writes have been answered: by this turn, or by an earlier one that
    // found them waiting.
    web::block(move || writer.take_turn(&pool))
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
fn savepoint_if<T, F, K>(conn: &mut DbConnection, f: F, keep: K) -> Result<T, ApiError>
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// Waits for the turn, then runs every write waiting in one transaction.
    fn take_turn(&self, pool: &Pool) {
        let _turn = lock(&self.turn);
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
fn in_transaction<T, F, K>(
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

/// Filters a boxed query to rows whose `$column` is one of `$ids` (`&[&str]`), in a form that
/// is prepared once and kept. One id is `= ?`. On SQLite several are one JSON bind
/// ([`InJsonEach`]): diesel's `IN (?, ?, …)` changes its SQL with the count, and diesel
/// caches no such statement. On PostgreSQL fewer than [`IN_LIST_BELOW`] are [`InList`], one
/// kept statement per count; more are `= ANY($1)`. PostgreSQL costs the generic plan of an
/// array bind as if it held ten elements, so with fewer it planned every execution afresh
/// (pgbench, the links query with 3 ids: 15 000 statements/s against 31 700 as `IN`; with 20,
/// the same either way).
#[macro_export]
macro_rules! filter_ids {
    ($query:expr, $conn:expr, $column:expr, $ids:expr) => {{
        let ids: &[&str] = $ids;
        match ($crate::db::is_postgres($conn), ids.len()) {
            (_, 1) => $query.filter($column.eq(ids[0])),
            (false, _) => $query.filter($crate::db::InJsonEach::new($column, &ids)),
            (true, n) if n < $crate::db::IN_LIST_BELOW => $query.filter($crate::db::InList {
                column: $column,
                ids,
            }),
            _ => $query.filter($column.eq_any(ids)),
        }
    }};
}

/// Below this many ids, `filter_ids!` writes `IN ($1, …, $k)` on PostgreSQL (see there).
pub const IN_LIST_BELOW: usize = 16;

/// `column IN (SELECT value FROM json_each(?))`, the ids as one JSON array bound (SQLite). Its
/// SQL is the same whatever the ids, so the statement is prepared once and kept; written with
/// `dsl::sql` it was not (diesel never caches a statement holding a literal SQL fragment).
#[derive(Clone)]
pub struct InJsonEach<C> {
    column: C,
    json: String,
}

impl<C> InJsonEach<C> {
    pub fn new<T: serde::Serialize>(column: C, ids: &T) -> Self {
        InJsonEach {
            column,
            json: serde_json::to_string(ids).expect("ids serialise"),
        }
    }
}

impl<C: diesel::Expression> diesel::Expression for InJsonEach<C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::AppearsOnTable<QS>, QS> diesel::AppearsOnTable<QS> for InJsonEach<C> {}

impl<C: diesel::expression::ValidGrouping<GB>, GB> diesel::expression::ValidGrouping<GB>
    for InJsonEach<C>
{
    type IsAggregate = C::IsAggregate;
}

impl<C> diesel::query_builder::QueryId for InJsonEach<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> diesel::query_builder::QueryFragment<DB> for InJsonEach<C>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    C: diesel::query_builder::QueryFragment<DB>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// `column IN ($1, …, $k)`, one text bind per id: a statement per number of ids, which
/// PostgreSQL plans once each. Written as `= ANY($1)` (diesel's `eq_any`), the one statement's
/// generic plan is costed for ten ids, so PostgreSQL planned every execution of a few ids afresh:
/// `db::pipeline`'s batched version lookups (`live_version!`) answered a third fewer GETs. Used
/// there and, for small sets on PostgreSQL, by `filter_ids!`.
pub struct InList<'a, C> {
    pub column: C,
    pub ids: &'a [&'a str],
}

impl<C: diesel::Expression> diesel::Expression for InList<'_, C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::AppearsOnTable<QS>, QS> diesel::AppearsOnTable<QS> for InList<'_, C> {}

impl<C: diesel::expression::ValidGrouping<GB>, GB> diesel::expression::ValidGrouping<GB>
    for InList<'_, C>
{
    type IsAggregate = C::IsAggregate;
}

impl<C> diesel::query_builder::QueryId for InList<'_, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> diesel::query_builder::QueryFragment<DB> for InList<'_, C>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    C: diesel::query_builder::QueryFragment<DB>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (n, id) in self.ids.iter().enumerate() {
            if n > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<diesel::sql_types::Text, _>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A statement as diesel sends it to PostgreSQL: its SQL, and each bind's type (OID) and value
/// in PostgreSQL's binary format (`None`: NULL). `pipeline` sends such statements itself, so
/// every query is still written once, in diesel's query language.
#[derive(Debug, Clone)]
pub struct PgStatement {
    pub sql: String,
    pub types: Vec<u32>,
    pub binds: Vec<Option<Vec<u8>>>,
}

/// `query` as diesel's PostgreSQL connection would send it.
pub fn pg_statement<Q>(query: &Q) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let sql = pg_sql(query)?;
    pg_statement_of(query, sql)
}

/// `pg_statement` for a query whose SQL text is the same every time (no optional filters: only
/// its binds change), written once into `sql`: a GET's version lookup built its SQL per request.
pub fn pg_statement_once<Q>(
    query: &Q,
    sql: &std::sync::OnceLock<String>,
) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let text = match sql.get() {
        Some(text) => text.clone(),
        None => {
            let text = pg_sql(query)?;
            let _ = sql.set(text.clone());
            text
        }
    };
    pg_statement_of(query, text)
}

fn pg_sql<Q>(query: &Q) -> Result<String, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    use diesel::query_builder::QueryBuilder;
    let mut sql = diesel::pg::PgQueryBuilder::new();
    query.to_sql(&mut sql, &diesel::pg::Pg)?;
    Ok(sql.finish())
}

fn pg_statement_of<Q>(query: &Q, sql: String) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    use diesel::query_builder::bind_collector::RawBytesBindCollector;
    let mut binds = RawBytesBindCollector::<diesel::pg::Pg>::new();
    query.collect_binds(&mut binds, &mut NoTypeLookup, &diesel::pg::Pg)?;
    let types = binds
        .metadata
        .iter()
        .map(|m| m.oid().map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    Ok(PgStatement {
        sql,
        types,
        binds: binds.binds,
    })
}

/// The schema uses PostgreSQL's built-in types only, whose OIDs diesel knows: a type looked up
/// by name (an enum or extension type) is an error, not a query to the database.
struct NoTypeLookup;

impl diesel::pg::PgMetadataLookup for NoTypeLookup {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> diesel::pg::PgTypeMetadata {
        diesel::pg::PgTypeMetadata::from_result(Err(diesel::pg::FailedToLookupTypeError::new(
            diesel::pg::PgMetadataCacheKey::new(
                schema.map(|s| s.to_string().into()),
                type_name.to_string().into(),
            ),
        )))
    }
}

/// A page query's `LIMIT`, in the form each backend keeps prepared and planned once.
///
/// SQLite (`LIMIT (SELECT ?)`): SQLite reads a bound LIMIT's value while planning and so marks
/// the statement expired whenever the value is bound again, which diesel does on every
/// execution: the page query was parsed and planned anew for every list request (a uprobe on
/// sqlite3Prepare: one per request). A subquery's value is not read by the planner.
///
/// PostgreSQL (`LIMIT 21`, written into the SQL): with `LIMIT $1` the generic plan is costed
/// for a tenth of the table, so PostgreSQL kept choosing a custom plan, planning the query again
/// on every execution; with the number in the text the generic plan is the right one and is
/// reused (list of 20 projects 9 620 -> 12 433 req/s, with a cursor 6 265 -> 11 566). One
/// prepared statement per distinct limit a client asks for (1 to 500 by the API's bounds).
#[derive(Debug, Clone, Copy)]
pub struct PageLimit<Q> {
    query: Q,
    limit: i64,
    literal: bool,
}

/// No static id: the SQL text differs with a literal limit, so diesel must key its statement
/// cache by the text.
impl<Q> diesel::query_builder::QueryId for PageLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for PageLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> diesel::query_dsl::RunQueryDsl<C> for PageLimit<Q> {}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for PageLimit<Q>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    Q: diesel::query_builder::QueryFragment<DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        if self.literal {
            // An i64, so nothing but digits reaches the SQL.
            out.push_sql(&format!(" LIMIT {}", self.limit));
        } else {
            out.push_sql(" LIMIT (SELECT ");
            out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.limit)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// `UPDATE table SET values WHERE filter`, kept prepared on its connection. diesel never caches
/// an UPDATE's statement (`UpdateStatement` marks itself unsafe to cache: a changeset may skip
/// `None` fields, so its SQL can vary); ours set every column (`treat_none_as_null`), so each
/// has one text, by which the cache is keyed (no static id). Before, every PATCH's UPDATE was
/// parsed and planned again (`<unnamed>` in PostgreSQL's log, `sqlite3RunParser` in a SQLite
/// PATCH's profile). The same SQL as diesel's `update(table.filter(filter)).set(values)`.
///
/// INSERTs need no such wrapper, only the row structs' `treat_none_as_default_value = false`:
/// diesel wrote an empty optional field as `DEFAULT`, so an INSERT's text changed with the
/// fields left empty and diesel never kept it prepared. No nullable column has a default, so
/// NULL is what `DEFAULT` stored (test `explain::writes_keep_their_statements_prepared`).
pub struct PreparedUpdate<T, V, W> {
    table: T,
    values: V,
    filter: W,
}

pub fn prepared_update<T, C, W>(
    table: T,
    values: C,
    filter: W,
) -> PreparedUpdate<T, C::Changeset, W>
where
    T: diesel::Table,
    C: diesel::AsChangeset<Target = T>,
{
    PreparedUpdate {
        table,
        values: values.as_changeset(),
        filter,
    }
}

impl<T, V, W> diesel::query_builder::QueryId for PreparedUpdate<T, V, W> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T, V, W, C> diesel::query_dsl::RunQueryDsl<C> for PreparedUpdate<T, V, W> {}

impl<T, V, W, DB> diesel::query_builder::QueryFragment<DB> for PreparedUpdate<T, V, W>
where
    DB: diesel::backend::Backend,
    T: diesel::query_builder::QueryFragment<DB>,
    V: diesel::query_builder::QueryFragment<DB>,
    W: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("UPDATE ");
        self.table.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

/// A timestamp column read as `chrono::NaiveDateTime` (a list's keys' `updated_at`). SQLite
/// keeps timestamps as text, and diesel reads them by trying chrono's format strings one after
/// another: about 2 000 instructions a value, a third of a cached page of 50 (callgrind). The
/// text the service writes (`%F %T%.f`) is read here by hand; anything else falls back to
/// diesel. PostgreSQL's binary timestamps are diesel's.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct FastTimestamp(pub chrono::NaiveDateTime);

impl From<FastTimestamp> for chrono::NaiveDateTime {
    fn from(t: FastTimestamp) -> Self {
        t.0
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite>
    for FastTimestamp
{
    fn from_sql(
        mut value: diesel::sqlite::SqliteValue<'_, '_, '_>,
    ) -> diesel::deserialize::Result<Self> {
        let fast = match value.value_type() {
            Some(diesel::sqlite::SqliteType::Text) => parse_timestamp(value.read_text()),
            _ => None,
        };
        match fast {
            Some(t) => Ok(FastTimestamp(t)),
            None => <chrono::NaiveDateTime as diesel::deserialize::FromSql<
                diesel::sql_types::Timestamp,
                diesel::sqlite::Sqlite,
            >>::from_sql(value)
            .map(FastTimestamp),
        }
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::pg::Pg> for FastTimestamp {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <chrono::NaiveDateTime as diesel::deserialize::FromSql<
            diesel::sql_types::Timestamp,
            diesel::pg::Pg,
        >>::from_sql(value)
        .map(FastTimestamp)
    }
}

/// Through `DbConnection` (the feed's rows): each backend's own impl above.
impl
    diesel::deserialize::FromSql<
        diesel::sql_types::Timestamp,
        <DbConnection as diesel::Connection>::Backend,
    > for FastTimestamp
{
    fn from_sql(
        value: <<DbConnection as diesel::Connection>::Backend as diesel::backend::Backend>::RawValue<'_>,
    ) -> diesel::deserialize::Result<Self> {
        value.from_sql::<Self, diesel::sql_types::Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits; `None` for anything else.
fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20..b.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?.and_hms_nano_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        nanos,
    )
}

/// `query` limited to `limit` rows as [`PageLimit`] describes (`literal` on PostgreSQL).
pub fn page_limit<Q>(query: Q, limit: i64, literal: bool) -> PageLimit<Q> {
    PageLimit {
        query,
        limit,
        literal,
    }
}

/// Loads at most `$limit` rows of a page query (boxed, without a limit of its own), with the
/// limit as [`PageLimit`] writes it for the connection's backend.
#[macro_export]
macro_rules! load_page {
    ($query:expr, $conn:expr, $limit:expr) => {{
        let (query, limit) = ($query, $limit);
        let literal = $crate::db::is_postgres($conn);
        $crate::db::page_limit(query, limit, literal).load($conn)
    }};
}

#[cfg(test)]
mod tests {
    use super::plain_on_loopback;

    #[test]
    fn timestamps_read_by_hand_as_chrono_reads_them() {
        use chrono::NaiveDateTime;
        for s in [
            "2026-12-06 19:46:26.141035",
            "2026-12-06 19:46:26",
            "2026-01-31 00:00:00.5",
            "1999-12-31 23:59:59.123456789",
            "2024-02-29 12:00:00.000",
        ] {
            let chrono = NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
            assert_eq!(super::parse_timestamp(s), Some(chrono), "{s}");
        }
        for s in [
            "",
            "2026-12-06",
            "2026-12-06T19:46:26",
            "2026-12-06 19:46:26.",
            "2026-12-06 19:46:26.1234567890",
            "2026-12-06 19:46:26+01:00",
            "2026-02-30 19:46:26",
            "2026-12-06 24:00:00",
            "2026-1a-06 19:46:26",
            "+026-12-06 19:46:26",
        ] {
            assert_eq!(super::parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn pg_statement_is_what_diesel_sends() {
        use crate::crud::Entity;
        let s = crate::projects::Project::live_versions_pg(&["p-1"]).unwrap();
        let sql = |ids: &str| {
            format!(
                "SELECT \"projects\".\"id\", \"projects\".\"version\" FROM \"projects\" \
                 WHERE (\"projects\".\"id\" IN ({ids}) AND (\"projects\".\"deleted_at\" IS NULL))"
            )
        };
        assert_eq!(s.sql, sql("$1"));
        // text (25), in PostgreSQL's binary format (its bytes)
        assert_eq!(s.types, [25]);
        assert_eq!(s.binds, [Some(b"p-1".to_vec())]);
        // The second time from the SQL kept the first time, with this call's binds; another
        // number of ids, another statement.
        let again = crate::projects::Project::live_versions_pg(&["p-2"]).unwrap();
        assert_eq!(again.sql, s.sql);
        assert_eq!(again.binds, [Some(b"p-2".to_vec())]);
        let three = crate::projects::Project::live_versions_pg(&["a", "b", "c"]).unwrap();
        assert_eq!(three.sql, sql("$1, $2, $3"));
        assert_eq!(three.types, [25, 25, 25]);
        assert_eq!(
            three.binds,
            [
                Some(b"a".to_vec()),
                Some(b"b".to_vec()),
                Some(b"c".to_vec())
            ]
        );
        // Beyond the batches the pipeline sends, still right, only not kept.
        let ids: Vec<String> = (0..=super::pipeline::MAX_BATCH)
            .map(|n| n.to_string())
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let many = crate::projects::Project::live_versions_pg(&ids).unwrap();
        assert_eq!(many.binds.len(), ids.len());
        assert!(many.sql.contains(&format!("${})", ids.len())));
    }

    #[test]
    fn loopback_postgres_urls_go_without_tls() {
        for (url, want) in [
            (
                "postgres://postgres@127.0.0.1:5432/intl",
                "postgres://postgres@127.0.0.1:5432/intl?sslmode=disable",
            ),
            (
                "postgresql://u:p@localhost/intl?application_name=x",
                "postgresql://u:p@localhost/intl?application_name=x&sslmode=disable",
            ),
            (
                "postgres://u@[::1]:5432/intl",
                "postgres://u@[::1]:5432/intl?sslmode=disable",
            ),
            (
                "postgres://u@127.0.0.2,localhost:5433/intl",
                "postgres://u@127.0.0.2,localhost:5433/intl?sslmode=disable",
            ),
            // Unix sockets: a `host` parameter, or a percent-encoded path before the database.
            (
                "postgres://u@/intl?host=/var/run/postgresql",
                "postgres://u@/intl?host=/var/run/postgresql&sslmode=disable",
            ),
            (
                "postgres://u@db.example.org/intl?host=/run/pg",
                "postgres://u@db.example.org/intl?host=/run/pg&sslmode=disable",
            ),
            (
                "postgres://%2Fvar%2Frun%2Fpostgresql/intl",
                "postgres://%2Fvar%2Frun%2Fpostgresql/intl?sslmode=disable",
            ),
        ] {
            assert_eq!(plain_on_loopback(url, false), want, "{url}");
        }
    }

    #[test]
    fn other_urls_and_chosen_sslmodes_are_kept() {
        for url in [
            "postgres://u@db.example.org/intl",
            "postgres://u@10.0.0.5:5432/intl",
            "postgres://u@127.0.0.1,10.0.0.5/intl",
            "postgres://u@127.0.0.1/intl?host=db.example.org",
            "postgres://u@/intl?host=/var/run/postgresql,db.example.org",
            "postgres://u@127.0.0.1/intl?sslmode=require",
            "postgres:///intl",
            "data/intl.sqlite3",
            "sqlite://127.0.0.1.db",
        ] {
            assert_eq!(plain_on_loopback(url, false), url);
        }
        assert_eq!(
            plain_on_loopback("postgres://u@127.0.0.1/intl", true),
            "postgres://u@127.0.0.1/intl"
        );
    }
}
