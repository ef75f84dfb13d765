//! PostgreSQL key lookups sent from the async worker itself, pipelined on one connection per
//! worker (tokio-postgres).
//!
//! A cached GET needs one indexed statement (the record's live version). Through the pool it is
//! handed to a blocking thread, which sends it and sleeps until the answer, and hands the result
//! back: four wake-ups per request, most of the server's CPU in a `perf record -a` of the GET
//! (docs/performance.md). Here the worker writes the statement on its own connection and goes on
//! serving; requests arriving together share the connection's round trips.
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

use tokio_postgres::{config::SslMode, types::Type, Client, Config, NoTls, Statement};

use super::WAIT;
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
    statements: RefCell<HashMap<&'static str, Statement>>,
}

thread_local! {
    /// Each worker's connection, by pipeline (tests run several servers in one process).
    static SLOTS: RefCell<HashMap<u64, Slot>> = RefCell::default();
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

    /// The first column (a bigint) of the row `sql` finds for `key`, its one parameter (text):
    /// `Some(Ok(None))` when there is no row, `None` when the caller must ask the pool instead.
    pub async fn bigint(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Option<Result<Option<i64>, ApiError>> {
        let conn = self.connection()?;
        let answer = tokio::time::timeout(WAIT, async {
            let statement = conn.statement(sql).await?;
            conn.client.query_opt(&statement, &[&key]).await
        })
        .await;
        match answer {
            Ok(Ok(row)) => {
                self.answered.fetch_add(1, Ordering::Relaxed);
                Some(
                    row.map(|r| r.try_get::<_, i64>(0))
                        .transpose()
                        .map_err(ApiError::internal),
                )
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
                let slot = match config.connect(NoTls).await {
                    Ok((client, connection)) => {
                        // Drives the socket; it ends when the client is dropped or the
                        // server goes away (then `is_closed`).
                        actix_web::rt::spawn(async move {
                            if let Err(e) = connection.await {
                                log::debug!("pipelined connection ended: {e}");
                            }
                        });
                        Slot::Ready(Rc::new(Connection {
                            client,
                            statements: RefCell::default(),
                        }))
                    }
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

impl Connection {
    /// `sql` prepared on this connection (once; its parameter is text).
    async fn statement(&self, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare_typed(sql, &[Type::TEXT]).await?;
        self.statements.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }
}
