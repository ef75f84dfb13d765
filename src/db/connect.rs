//! Connections and their URLs: the backend chosen by the URL's scheme, TLS left off on
//! loopback, SQLite's pragmas and PostgreSQL's session settings on every connection, the pool,
//! and the migrations.

use std::{sync::Arc, time::Duration};

use diesel::{
    connection::SimpleConnection,
    prelude::*,
    r2d2::{self, ManageConnection},
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::*;
use crate::config::{is_postgres_url, SqliteSync};

pub(super) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(super) const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

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

#[cfg(test)]
mod tests {
    use super::plain_on_loopback;
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
