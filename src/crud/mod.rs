//! The shape every resource shares: get, create, merge-patch and delete, written once.
//! A resource says how it loads, creates, updates and deletes (inside the transaction, through
//! the write path); the HTTP flow, preconditions and validation order live here.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    access::Action,
    auth::Caller,
    changes::{Actor, Resource},
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    http::{self, IfMatch},
    model::Checks,
    state::AppState,
};

mod bulk;
mod list;
mod upsert;
mod upsert_routes;

pub use bulk::*;
pub use list::*;
pub use upsert::*;

pub trait Entity: Resource + Clone + Send + 'static {
    /// The writable fields: the body of a create, and the view a merge patch applies to.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The collection's path, e.g. `/v1/organisations`.
    const COLLECTION: &'static str;
    /// Fields a patch may not name.
    const READ_ONLY: &'static [&'static str];
    /// For records integrators sync by external id: the fields the region owns (an upsert
    /// keeps them); every other field of the input is the source's. `None`: not synced.
    const REGION_OWNED: Option<&'static [&'static str]> = None;

    /// The live record, or 404.
    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self>;
    /// How the live record's version is looked up (`live_version!` writes it).
    const VERSIONS: db::VersionLookup;
    fn input(&self) -> Self::Input;
    /// A 409 when the record's state (or its parent's) forbids changes (adopted, approved,
    /// ended).
    fn ensure_writable(&self, _conn: &mut DbConnection) -> ApiResult<()> {
        Ok(())
    }
    /// Checks that need no database; every bad field at once.
    fn check(input: &Self::Input) -> ApiResult<()>;
    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        input: Self::Input,
    ) -> ApiResult<Self>;
    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()>;
}

/// A resource created on its own collection (not under a parent).
pub trait Creatable: Entity {
    fn create(conn: &mut DbConnection, actor: &Actor, input: Self::Input) -> ApiResult<Self>;
}

/// Fields that only the service or an action sets, common to every resource.
pub const RECORD_FIELDS: &[&str] = &["id", "version", "created_at", "updated_at"];

/// One record. Its current version is looked up first: when its rendering of that version is
/// in `state.renders`, that is the answer (one statement, on PostgreSQL sent from this worker
/// through `db::pipeline`); otherwise it is loaded on a snapshot and rendered. A query string
/// (`as_of`) takes the audit trail's way (`as_of::get_single`).
pub async fn get<E: Entity>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
) -> ApiResult<HttpResponse> {
    if !req.query_string().is_empty() {
        return crate::as_of::get_single(req, caller, state, id, None, |conn, id| {
            E::load(conn, id)
        })
        .await;
    }
    caller.require(Action::Read)?;
    // The version, looked up ahead of the pool when the reader can (pipelined on PostgreSQL).
    let ahead = match state.reader.live_version(E::TYPE, &E::VERSIONS, &id).await {
        Some(version) => {
            if let Some(version) = version? {
                if let Some(body) = state.renders.get(E::TYPE, &id, version) {
                    return Ok(http::single_raw(&req, version, body));
                }
            }
            true
        }
        None => false,
    };
    let cache = state.clone();
    let r = db::query(&state.pool, move |conn| {
        // Looked up here unless the reader did (and its rendering was not cached).
        let version = match ahead {
            true => None,
            false => (E::VERSIONS.one)(conn, &id)?,
        };
        // Not cached, changed or gone (the load says 404 in its own words).
        cache.renders.get_or_render(E::TYPE, &id, version, || {
            db::snapshot(conn, |conn| E::load(conn, &id))
        })
    })
    .await?;
    Ok(http::single_raw(&req, r.version, r.body))
}

pub async fn create<E: Creatable>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    action: Action,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(action)?;
    let input: E::Input = http::from_value(http::json_value(&req, &body, false)?)?;
    E::check(&input)?;
    let actor = state.actor(&req, &caller);
    let e = db::write(&state.pool, move |conn| E::create(conn, &actor, input)).await?;
    written(&state, &e, true)
}

/// The answer to a committed write (201 with `Location` for a new record, else 200), from the
/// record's rendering, which is kept in the render cache: only now, after the COMMIT, so a
/// version in the cache is one the database holds.
fn written<E: Entity>(state: &AppState, e: &E, created: bool) -> ApiResult<HttpResponse> {
    let r = state.renders.render(e)?;
    Ok(if created {
        http::created_raw(format!("{}/{}", E::COLLECTION, e.id()), r.version, r.body)
    } else {
        http::written_raw(r.version, r.body)
    })
}

pub async fn patch<E: Entity>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    action: Action,
    id: String,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(action)?;
    let patch = http::json_value(&req, &body, true)?;
    reject_read_only(&patch, E::READ_ONLY)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let e = db::write(&state.pool, move |conn| {
        // 404, then 409 (state), 422 (body), 412 (precondition): a bad body is reported as
        // such even when the ETag is stale too.
        // Loaded from the database, never from a rendering: it is the audit's before-image.
        let before = E::load(conn, &id)?;
        before.ensure_writable(conn)?;
        let input = apply_patch::<E>(&before, &patch)?;
        if_match.check(before.version())?;
        let overwritten = sync_overwrites::<E>(&before, &input)?;
        Ok((E::update(conn, &actor, &before, input)?, overwritten))
    })
    .await?;
    let (e, overwritten) = e;
    let mut response = written(&state, &e, false)?;
    if !overwritten.is_empty() {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(SYNC_OVERWRITES),
            actix_web::http::header::HeaderValue::from_str(&overwritten.join(", "))
                .map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}

/// The response header naming the source-owned fields a PATCH changed on a synced record:
/// the next sync from the source overwrites them.
pub const SYNC_OVERWRITES: &str = "sync-overwrites";

/// The source-owned fields that `input` changes on `before`, when `before` is a synced record
/// (its source said when it last changed it, `source_updated_at`).
fn sync_overwrites<E: Entity>(before: &E, input: &E::Input) -> ApiResult<Vec<String>> {
    let Some(region) = E::REGION_OWNED else {
        return Ok(vec![]);
    };
    let old = serde_json::to_value(before.input()).map_err(ApiError::internal)?;
    if old.get("source_updated_at").is_none_or(|t| t.is_null()) {
        return Ok(vec![]);
    }
    let new = serde_json::to_value(input).map_err(ApiError::internal)?;
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return Ok(vec![]);
    };
    Ok(new
        .iter()
        .filter(|(k, v)| {
            !region.contains(&k.as_str())
                && !["external_ids", "source_updated_at"].contains(&k.as_str())
                && old.get(*k) != Some(v)
        })
        .map(|(k, _)| k.clone())
        .collect())
}

/// The record's writable view with a merge patch applied, parsed and checked.
pub fn apply_patch<E: Entity>(before: &E, patch: &serde_json::Value) -> ApiResult<E::Input> {
    let mut current = serde_json::to_value(before.input()).map_err(ApiError::internal)?;
    http::merge_patch(&mut current, patch);
    let input: E::Input = http::from_value(current)?;
    E::check(&input)?;
    Ok(input)
}

pub async fn delete<E: Entity>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    action: Action,
    id: String,
) -> ApiResult<HttpResponse> {
    caller.require(action)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    db::write(&state.pool, move |conn| {
        let before = E::load(conn, &id)?;
        if_match.check(before.version())?;
        E::delete(conn, &actor, &before)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// 422 for fields a merge patch may not touch, naming each.
pub fn reject_read_only(patch: &serde_json::Value, read_only: &[&str]) -> ApiResult<()> {
    let mut c = Checks::default();
    if let Some(map) = patch.as_object() {
        for key in map.keys() {
            if read_only.contains(&key.as_str()) || RECORD_FIELDS.contains(&key.as_str()) {
                c.add(
                    key.as_str(),
                    "is read-only; it is set by the service or by an action",
                );
            }
        }
    }
    c.finish()
}

/// `Entity::load` and `Entity::input` (inside its `impl Entity`) for a resource whose live
/// record is its row in `$table` (not deleted) put together by the module's `assemble`, and
/// whose input is its record's `fields`: 404 naming `$name` when there is none.
#[macro_export]
macro_rules! load_live {
    ($table:ident, $name:literal) => {
        fn load(conn: &mut $crate::db::DbConnection, id: &str) -> $crate::error::ApiResult<Self> {
            use diesel::prelude::*;
            let rows = $table::table
                .filter($table::id.eq(id))
                .filter($table::deleted_at.is_null())
                .select(Row::as_select())
                .load(conn)?;
            assemble(conn, rows)?.pop().ok_or_else(|| {
                $crate::error::ApiError::NotFound(format!(concat!("no ", $name, " with id {}"), id))
            })
        }

        fn input(&self) -> Self::Input {
            self.fields.clone()
        }
    };
}

/// Writes a record's row over the stored one only if the stored version is the one before
/// (so a concurrent writer is never overwritten), and soft-deletes with a version bump.
#[macro_export]
macro_rules! versioned_store {
    ($table:ident, $row:ty) => {
        fn store_update(
            conn: &mut $crate::db::DbConnection,
            row: &$row,
        ) -> $crate::error::ApiResult<()> {
            use diesel::prelude::*;
            let n = $crate::db::prepared_update(
                $table::table,
                row,
                $table::id
                    .eq(&row.id)
                    .and($table::version.eq(row.version - 1)),
            )
            .execute(conn)?;
            if n != 1 {
                return Err($crate::error::ApiError::PreconditionFailed(format!(
                    "{} was changed concurrently; fetch it again",
                    row.id
                )));
            }
            Ok(())
        }

        /// Marks the record deleted at `version`; returns nothing when it was already changed.
        /// (A resource that is never deleted, a position, has no use for it.)
        #[allow(dead_code)]
        fn store_tombstone(
            conn: &mut $crate::db::DbConnection,
            id: &str,
            version: i64,
        ) -> $crate::error::ApiResult<()> {
            use diesel::prelude::*;
            let now = $crate::model::now();
            let n = $crate::db::prepared_update(
                $table::table,
                (
                    $table::deleted_at.eq(Some(now)),
                    $table::version.eq(version),
                    $table::updated_at.eq(now),
                ),
                $table::id.eq(id).and($table::version.eq(version - 1)),
            )
            .execute(conn)?;
            if n != 1 {
                return Err($crate::error::ApiError::PreconditionFailed(format!(
                    "{id} was changed concurrently; fetch it again"
                )));
            }
            Ok(())
        }
    };
}

/// `Entity::VERSIONS` for a resource stored in `$table` (inside its `impl Entity`): the
/// lookup of one id, run by diesel on the pool, and of several, sent by `db::pipeline`.
#[macro_export]
macro_rules! live_version {
    ($table:ident) => {
        const VERSIONS: $crate::db::VersionLookup = {
            // `load`, not `first`: SQLite expires a statement whose bound LIMIT is bound again
            // (see `db::PageLimit`), so `first` was parsed on every GET; the id is the key.
            fn one(
                conn: &mut $crate::db::DbConnection,
                id: &str,
            ) -> $crate::error::ApiResult<Option<i64>> {
                use diesel::prelude::*;
                Ok(
            $crate::native!(conn, |c| $crate::live_version!(query $table, id)
                        .load::<i64>(c))?
                    .pop(),
                )
            }

            fn many(ids: &[&str]) -> $crate::error::ApiResult<$crate::db::PgStatement> {
                use diesel::prelude::*;
                use $crate::db::pipeline::MAX_BATCH;
                // The SQL of each number of ids, written once.
                static SQL: [std::sync::OnceLock<String>; MAX_BATCH] =
                    [const { std::sync::OnceLock::new() }; MAX_BATCH];
                let query = $table::table
                    .filter($crate::db::InList {
                        column: $table::id,
                        ids,
                    })
                    .filter($table::deleted_at.is_null())
                    .select(($table::id, $table::version));
                match ids.len().checked_sub(1).and_then(|n| SQL.get(n)) {
                    Some(sql) => $crate::db::pg_statement_once(&query, sql),
                    None => $crate::db::pg_statement(&query),
                }
            }

            $crate::db::VersionLookup { one, many }
        };
    };
    (query $table:ident, $id:expr) => {{
        use diesel::prelude::*;
        $table::table
            .filter($table::id.eq($id))
            .filter($table::deleted_at.is_null())
            .select($table::version)
    }};
}
