//! The seam a GET's version lookup goes through. A record's rendering is a function of its
//! version (`cache.rs`), so a GET first asks for the live version; how it is asked is chosen
//! once at start: on PostgreSQL without TLS, by the worker itself through `pipeline` (lookups
//! of the same type batched into one statement); otherwise on the pool's connection, in the
//! same checkout that loads the record when its rendering is not cached.

use super::{pipeline::Pipeline, DbConnection, PgStatement};
use crate::error::ApiResult;

/// How one kind of record's live version is looked up (`live_version!` writes it for a table).
pub struct VersionLookup {
    /// One id, on the pool's connection (either backend): `None` when no live record has it.
    pub one: fn(&mut DbConnection, &str) -> ApiResult<Option<i64>>,
    /// Several ids as one PostgreSQL statement giving (id, version) rows, for the pipeline.
    pub many: fn(&[&str]) -> ApiResult<PgStatement>,
}

/// Where version lookups (and a list page's keys) are read.
// One per instance, built at start: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum VersionReader {
    /// On the pool's connection, by the caller's blocking closure.
    Pool,
    /// Sent from the worker on its own PostgreSQL connection.
    Pipelined(Pipeline),
}

impl VersionReader {
    /// The reader for the database at `url` (as `connection_url` gives it): pipelined on
    /// PostgreSQL unless the URL asks for TLS (see `Pipeline::new`).
    pub fn new(url: &str) -> Self {
        match Pipeline::new(url) {
            Some(p) => VersionReader::Pipelined(p),
            None => VersionReader::Pool,
        }
    }

    /// The live version of `id`, when this reader answers it ahead of the pool (inside,
    /// `None`: no live record); `None` when the pool's closure must look it up itself (the
    /// pool reader, or a pipeline without a connection ready).
    pub async fn live_version(
        &self,
        kind: &'static str,
        lookup: &VersionLookup,
        id: &str,
    ) -> Option<ApiResult<Option<i64>>> {
        match self {
            VersionReader::Pool => None,
            VersionReader::Pipelined(p) => p.live_version(kind, lookup.many, id).await,
        }
    }

    /// The rows of the statement `make` gives, when this reader sends it ahead of the pool
    /// (as `Pipeline::query`).
    pub async fn query(
        &self,
        make: impl FnOnce() -> ApiResult<Option<PgStatement>>,
    ) -> Option<ApiResult<Vec<tokio_postgres::Row>>> {
        match self {
            VersionReader::Pool => None,
            VersionReader::Pipelined(p) => p.query(make).await,
        }
    }

    /// (reads answered, statements that answered them), for `/metrics`.
    pub fn counts(&self) -> (u64, u64) {
        match self {
            VersionReader::Pool => (0, 0),
            VersionReader::Pipelined(p) => (p.answered(), p.statements()),
        }
    }
}
