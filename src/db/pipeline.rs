//! PostgreSQL key reads sent from the async worker itself, pipelined on one connection per
//! worker (tokio-postgres).
//!
//! A cached GET needs one indexed statement (the record's live version), and so does a cached
//! list page (its records' keys). Through the pool it is handed to a blocking thread, which
//! sends it and sleeps until the answer, and hands the result back: four wake-ups per request,
//! most of the server's CPU in a `perf record -a` of the GET (docs/performance.md). Here the
//! worker writes the statement on its own connection and goes on serving; requests arriving
//! together share the connection's round trips. The statements are diesel's
//! (`db::pg_statement`): text and binds exactly as the pool's connection would send them.
//!
//! This path only ever answers what the pool's would: anything it cannot do (no TLS client, a
//! URL it cannot parse, a connection being made or lost, an error from the server) returns
//! `None` and the caller takes the pool's path, which reports failures in its own words. Only a
//! statement that gets no answer within the pool's own wait (3 s) is answered 503 here.

use std::{
    cell::RefCell,
    collections::HashMap,
    rc::Rc,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use tokio_postgres::{
    config::SslMode,
    types::{IsNull, ToSql, Type},
    Client, Config, NoTls, Row, Statement,
};

use super::{PgStatement, WAIT};
use crate::{config::is_postgres_url, error::ApiError};

/// How long a worker leaves the pipeline alone after failing to connect.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The `application_name` of the pipelined connections, unless the URL names one.
pub const APPLICATION_NAME: &str = "intl-pipelined-reads";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One instance's pipelined reads: the configuration each worker connects with, or `None`
/// where there is no pipeline (SQLite, or a PostgreSQL URL this path cannot honour).
pub struct Pipeline {
    id: u64,
    config: Option<Config>,
    answered: AtomicU64,
}

enum Slot {
    Connecting,
    Ready(Rc<Connection>),
    Down(Instant),
}

struct Connection {
    client: Client,
    /// Prepared statements by SQL text: one per distinct query shape (filters and page size).
    statements: RefCell<HashMap<String, Statement>>,
}

/// At most this many statements stay prepared on a connection (they are dropped all at once
/// beyond it): the filters and page sizes clients combine are bounded, but not small.
const MAX_PREPARED: usize = 1000;

thread_local! {
    /// Each worker's connection, by pipeline (tests run several servers in one process).
    static SLOTS: RefCell<HashMap<u64, Slot>> = RefCell::default();
}

/// The distinct SQL texts pipelines of this process have prepared (the first `MAX_PREPARED`):
/// diesel's instrumentation does not see these statements, so the EXPLAIN test reads them here.
static PREPARED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The statements pipelines of this process have prepared.
pub fn prepared() -> Vec<String> {
    PREPARED
        .lock()
        .map(|p| p.iter().cloned().collect())
        .unwrap_or_default()
}

/// A bind as diesel serialised it, passed through as it is.
#[derive(Debug)]
struct Bind<'a>(Option<&'a [u8]>);

impl ToSql for Bind<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match self.0 {
            Some(b) => {
                out.extend_from_slice(b);
                IsNull::No
            }
            None => IsNull::Yes,
        })
    }

    // The statement is prepared with the types diesel named for these bytes.
    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

impl Pipeline {
    /// A pipeline for `url` (as `db::connection_url` gives it). Only a connection without TLS is
    /// made here: a URL asking for TLS (or libpq's default, `prefer`) keeps every read on the
    /// pool, whose libpq honours it.
    pub fn new(url: &str) -> Self {
        let config = is_postgres_url(url)
            .then(|| match url.parse::<Config>() {
                Ok(mut c) if c.get_ssl_mode() == SslMode::Disable => {
                    if c.get_application_name().is_none() {
                        c.application_name(APPLICATION_NAME);
                    }
                    if c.get_connect_timeout().is_none() {
                        c.connect_timeout(WAIT);
                    }
                    Some(c)
                }
                Ok(_) => {
                    log::info!("PostgreSQL over TLS: every read goes through the pool");
                    None
                }
                Err(e) => {
                    log::info!("pipelined reads off ({e}): every read goes through the pool");
                    None
                }
            })
            .flatten();
        Pipeline {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            config,
            answered: AtomicU64::new(0),
        }
    }

    /// Statements this pipeline has answered (`/metrics`).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// The rows of the statement `make` gives (made only when this worker has a connection
    /// ready), or `None` when the caller must ask the pool instead: no connection, a
    /// statement it cannot send (`make` gives `None`, or a type it does not know), an error.
    pub async fn query(
        &self,
        make: impl FnOnce() -> Result<Option<PgStatement>, ApiError>,
    ) -> Option<Result<Vec<Row>, ApiError>> {
        let conn = self.connection()?;
        let statement = match make() {
            Ok(s) => s?,
            Err(e) => return Some(Err(e)),
        };
        let types = statement
            .types
            .iter()
            .map(|oid| Type::from_oid(*oid))
            .collect::<Option<Vec<_>>>()?;
        let binds: Vec<Bind> = statement.binds.iter().map(|b| Bind(b.as_deref())).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let answer = tokio::time::timeout(WAIT, async {
            let prepared = conn.statement(statement.sql, &types).await?;
            conn.client.query(&prepared, &params).await
        })
        .await;
        match answer {
            Ok(Ok(rows)) => {
                self.answered.fetch_add(1, Ordering::Relaxed);
                Some(Ok(rows))
            }
            // The pool's path answers the request, or reports the error in its own words.
            Ok(Err(e)) => {
                self.drop_connection(&e);
                None
            }
            Err(_) => {
                self.drop_connection(&format!("no answer within {} s", WAIT.as_secs()));
                Some(Err(super::unavailable()))
            }
        }
    }

    /// This worker's connection when it is ready; otherwise `None`, and one is being made
    /// unless the last attempt failed less than `RETRY_AFTER` ago.
    fn connection(&self) -> Option<Rc<Connection>> {
        let config = self.config.as_ref()?;
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            match slots.get(&self.id) {
                Some(Slot::Ready(c)) if !c.client.is_closed() => return Some(c.clone()),
                Some(Slot::Connecting) => return None,
                Some(Slot::Down(at)) if at.elapsed() < RETRY_AFTER => return None,
                _ => {}
            }
            slots.insert(self.id, Slot::Connecting);
            let (id, config) = (self.id, config.clone());
            actix_web::rt::spawn(async move {
                let slot = match connect(&config).await {
                    Ok(client) => Slot::Ready(Rc::new(Connection {
                        client,
                        statements: RefCell::default(),
                    })),
                    Err(e) => {
                        log::debug!("pipelined connection failed: {e}");
                        Slot::Down(Instant::now())
                    }
                };
                SLOTS.with(|slots| slots.borrow_mut().insert(id, slot));
            });
            None
        })
    }

    /// Drops this worker's connection after an error; the next request makes a new one.
    fn drop_connection(&self, e: &dyn std::fmt::Display) {
        log::warn!("pipelined read failed, the pool takes over: {e}");
        SLOTS.with(|slots| {
            slots
                .borrow_mut()
                .insert(self.id, Slot::Down(Instant::now()))
        });
    }
}

/// A pipelined connection, set up as the pool's are (`db::PG_SESSION`): its statements are
/// planned with the same costs as theirs.
async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    // Drives the socket; it ends when the client is dropped or the server goes away (then
    // `is_closed`).
    actix_web::rt::spawn(async move {
        if let Err(e) = connection.await {
            log::debug!("pipelined connection ended: {e}");
        }
    });
    client.batch_execute(super::PG_SESSION).await?;
    Ok(client)
}

impl Connection {
    /// `sql` prepared on this connection (once) with its parameters' types.
    async fn statement(
        &self,
        sql: String,
        types: &[Type],
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.borrow().get(&sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare_typed(&sql, types).await?;
        if let Ok(mut p) = PREPARED.lock() {
            if p.len() < MAX_PREPARED {
                p.insert(sql.clone());
            }
        }
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= MAX_PREPARED {
            statements.clear();
        }
        statements.insert(sql, s.clone());
        Ok(s)
    }
}
