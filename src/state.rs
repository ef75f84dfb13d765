//! What every handler shares: the pool, the cursor key, the render cache, the metrics and the
//! version reader, built once by the app.

use actix_web::HttpRequest;

use crate::{auth::Caller, changes::Actor, db::Pool, http as h, pagination::CursorKey};

/// What every handler shares.
pub struct AppState {
    pub pool: Pool,
    pub cursor_key: CursorKey,
    /// Rendered records by version (`cache.rs`).
    pub renders: crate::cache::Renders,
    /// This instance's request counters and latency histograms.
    pub metrics: crate::metrics::Registry,
    /// Where GETs look up versions and lists their keys: the pool, or the workers'
    /// own PostgreSQL connections (`db::VersionReader`).
    pub reader: crate::db::VersionReader,
}

impl AppState {
    /// The audit trail's view of the caller of this request.
    pub fn actor(&self, req: &HttpRequest, caller: &Caller) -> Actor {
        Actor {
            sub: caller.sub.clone(),
            roles: caller.roles.clone(),
            request_id: h::request_id(req),
            correlation_id: h::correlation_id(req),
        }
    }
}
