//! PostgreSQL key reads sent from the async worker itself, pipelined on one connection per
//! worker (tokio-postgres).
//!
//! A cached GET needs one indexed statement (the record's live version), and so does a cached
//! list page (its records' keys). Through the pool it is handed to a blocking thread, which
//! sends it and sleeps until the answer, and hands the result back: four wake-ups per request,
//! most of the server's CPU in a `perf record -a` of the GET (docs/performance-history.md, 28).
//! Here the worker writes the statement on its own connection and goes on serving; requests
//! arriving together share the connection's round trips. The statements are diesel's
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
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tokio_postgres::{
    config::SslMode,
    types::{IsNull, ToSql, Type},
    Client, Config, NoTls, Row, Statement,
};

use tokio::sync::oneshot;

use super::{PgStatement, WAIT};
use crate::{config::is_postgres_url, error::ApiError};

/// How long a worker leaves the pipeline alone after failing to connect.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The `application_name` of the pipelined connections, unless the URL names one.
pub const APPLICATION_NAME: &str = "intl-pipelined-reads";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One instance's pipelined reads: the configuration each worker connects with.
pub struct Pipeline {
    id: u64,
    config: Config,
    /// Reads answered, and the statements that answered them (fewer: `live_version`).
    answered: Arc<AtomicU64>,
    statements: Arc<AtomicU64>,
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

/// At most this many version lookups go in one statement (`Pipeline::live_version`); more
/// waiting at once are sent as several.
pub const MAX_BATCH: usize = 32;

/// Version lookups made on this worker and not yet sent: each one's id and where its answer goes.
type Waiting = Vec<(
    String,
    oneshot::Sender<Option<Result<Option<i64>, ApiError>>>,
)>;

thread_local! {
    /// Each worker's connection, by pipeline (tests run several servers in one process).
    static SLOTS: RefCell<HashMap<u64, Slot>> = RefCell::default();
    /// Each worker's version lookups waiting to be sent, by pipeline and record type.
    static WAITING: RefCell<HashMap<(u64, &'static str), Waiting>> = RefCell::default();
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
    /// A pipeline for `url` (as `db::connection_url` gives it), or `None` when every read
    /// stays on the pool: not PostgreSQL, or a URL asking for TLS (or libpq's default,
    /// `prefer`), which the pool's libpq honours.
    pub fn new(url: &str) -> Option<Self> {
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
        Some(Pipeline {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            config: config?,
            answered: Arc::default(),
            statements: Arc::default(),
        })
    }

    /// Reads this pipeline has answered (`/metrics`).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Statements that answered them (`/metrics`).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
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
        let answer = conn.run(statement, self.id).await;
        if let Some(Ok(_)) = answer {
            self.answered.fetch_add(1, Ordering::Relaxed);
            self.statements.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    /// The live version of record `id` of type `kind` (inside, `None`: no such live record), or
    /// `None` when the caller must ask the pool instead (as `query`).
    ///
    /// The lookups of one type that this worker makes while serving the requests at hand go
    /// as one statement, `versions` of their ids (rows of id and version): PostgreSQL answers
    /// a handful of ids in one statement for little more than the cost of one, and its
    /// backend shares the two cores with the workers. The statement is sent by a task of its
    /// own, queued behind the requests already read, so a lone request waits for nothing.
    pub async fn live_version(
        &self,
        kind: &'static str,
        versions: fn(&[&str]) -> Result<PgStatement, ApiError>,
        id: &str,
    ) -> Option<Result<Option<i64>, ApiError>> {
        let conn = self.connection()?;
        let (tx, rx) = oneshot::channel();
        let key = (self.id, kind);
        let first = WAITING.with(|w| {
            let mut w = w.borrow_mut();
            let waiting = w.entry(key).or_default();
            waiting.push((id.to_owned(), tx));
            waiting.len() == 1
        });
        if first {
            let (answered, statements) = (self.answered.clone(), self.statements.clone());
            actix_web::rt::spawn(async move {
                let mut waiting = WAITING
                    .with(|w| w.borrow_mut().remove(&key))
                    .unwrap_or_default();
                let mut batches = Vec::new();
                while waiting.len() > MAX_BATCH {
                    let rest = waiting.split_off(MAX_BATCH);
                    batches.push(std::mem::replace(&mut waiting, rest));
                }
                batches.push(waiting);
                let sent = batches
                    .into_iter()
                    .map(|batch| send_versions(&conn, key.0, versions, batch));
                for n in futures_util::future::join_all(sent).await {
                    if n > 0 {
                        statements.fetch_add(1, Ordering::Relaxed);
                        answered.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            });
        }
        // The sending task gone (its worker stopping): the pool's path answers.
        rx.await.ok().flatten()
    }

    /// This worker's connection when it is ready; otherwise `None`, and one is being made
    /// unless the last attempt failed less than `RETRY_AFTER` ago.
    fn connection(&self) -> Option<Rc<Connection>> {
        let config = &self.config;
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
}

/// Sends one statement, `versions` of the ids in `batch` (at most `MAX_BATCH`), on `conn` (of
/// pipeline `pipeline`) and hands each lookup its record's version, or none; a failure goes to
/// every lookup alike. The number of lookups answered (0: the pool's path answers them).
async fn send_versions(
    conn: &Connection,
    pipeline: u64,
    versions: fn(&[&str]) -> Result<PgStatement, ApiError>,
    batch: Waiting,
) -> usize {
    let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
    let answer = match versions(&ids) {
        Ok(statement) => conn.run(statement, pipeline).await,
        Err(e) => Some(Err(e)),
    };
    let found = answer.as_ref().map(|rows| match rows {
        Ok(rows) => rows
            .iter()
            .map(|r| Ok((r.try_get::<_, &str>(0)?, r.try_get::<_, i64>(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(ApiError::internal),
        Err(e) => Err(e.clone()),
    });
    let answered = match found {
        Some(Ok(_)) => batch.len(),
        _ => 0,
    };
    for (id, tx) in batch {
        let _ = tx.send(found.as_ref().map(|found| match found {
            Ok(found) => Ok(found.iter().find(|(f, _)| *f == id).map(|(_, v)| *v)),
            Err(e) => Err(e.clone()),
        }));
    }
    answered
}

/// Drops the connection of pipeline `id` on this worker after an error; the next request makes
/// a new one.
fn drop_connection(id: u64, e: &dyn std::fmt::Display) {
    log::warn!("pipelined read failed, the pool takes over: {e}");
    SLOTS.with(|slots| slots.borrow_mut().insert(id, Slot::Down(Instant::now())));
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
    /// The rows of `statement`, or `None` when the pool's path must answer (a type this path
    /// does not know, an error: the connection of pipeline `id` is dropped then).
    async fn run(&self, statement: PgStatement, id: u64) -> Option<Result<Vec<Row>, ApiError>> {
        let types = statement
            .types
            .iter()
            .map(|oid| Type::from_oid(*oid))
            .collect::<Option<Vec<_>>>()?;
        let binds: Vec<Bind> = statement.binds.iter().map(|b| Bind(b.as_deref())).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let answer = tokio::time::timeout(WAIT, async {
            let prepared = self.statement(statement.sql, &types).await?;
            self.client.query(&prepared, &params).await
        })
        .await;
        match answer {
            Ok(Ok(rows)) => Some(Ok(rows)),
            // The pool's path answers the request, or reports the error in its own words.
            Ok(Err(e)) => {
                drop_connection(id, &e);
                None
            }
            Err(_) => {
                drop_connection(id, &format!("no answer within {} s", WAIT.as_secs()));
                Some(Err(super::unavailable()))
            }
        }
    }

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
