//! The shape every resource shares: get, create, merge-patch and delete, written once.
//! A resource says how it loads, creates, updates and deletes (inside the transaction, through
//! the write path); the HTTP flow, preconditions and validation order live here.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    access::Action,
    app::AppState,
    auth::Caller,
    changes::{Actor, Resource},
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    http::{self, IfMatch},
    model::Checks,
};

pub trait Entity: Resource + Clone + DeserializeOwned + Send + 'static {
    /// The writable fields: the body of a create, and the view a merge patch applies to.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The collection's path, e.g. `/v1/organisations`.
    const COLLECTION: &'static str;
    /// Fields a patch may not name.
    const READ_ONLY: &'static [&'static str];

    /// The live record, or 404.
    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self>;
    /// The live record's version, or `None`: one indexed lookup (`live_version!` makes it).
    fn live_version(conn: &mut DbConnection, id: &str) -> ApiResult<Option<i64>>;
    /// The same lookup for several records at once, as a PostgreSQL statement for
    /// `db::pipeline`: the id and version of each live record among `ids`.
    fn live_versions_pg(ids: &[&str]) -> ApiResult<db::PgStatement>;
    fn input(&self) -> Self::Input;
    /// A 409 when the record's state forbids changes (adopted, approved, ended).
    fn ensure_writable(&self) -> ApiResult<()> {
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
/// (`as_of`) takes the audit trail's way (`audit::get_single`).
pub async fn get<E: Entity>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
) -> ApiResult<HttpResponse> {
    if !req.query_string().is_empty() {
        return crate::audit::get_single(req, caller, state, id, None, |conn, id| {
            E::load(conn, id)
        })
        .await;
    }
    caller.require(Action::Read)?;
    // The lookup, sent by this worker when the pipeline can (`None`: the pool's path does it).
    let looked_up = match state
        .pipeline
        .live_version(E::TYPE, E::live_versions_pg, &id)
        .await
    {
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
        if !looked_up {
            if let Some(version) = E::live_version(conn, &id)? {
                if let Some(body) = cache.renders.get(E::TYPE, &id, version) {
                    return Ok(crate::cache::Rendered { version, body });
                }
            }
        }
        // Not here, changed or gone (the load says 404 in its own words).
        let e = db::snapshot(conn, |conn| E::load(conn, &id))?;
        cache.renders.render(&e)
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
    let cache = state.clone();
    let e = db::write(&state.pool, move |conn| {
        // 404, then 409 (state), 422 (body), 412 (precondition): a bad body is reported as
        // such even when the ETag is stale too.
        let before = current::<E>(conn, &cache.renders, &id)?;
        before.ensure_writable()?;
        let input = apply_patch::<E>(&before, &patch)?;
        if_match.check(before.version())?;
        E::update(conn, &actor, &before, input)
    })
    .await?;
    written(&state, &e, false)
}

/// The live record, for a write: read back from its rendering when `renders` holds its live
/// version (one indexed lookup instead of loading its links and children; a version's JSON is
/// the whole record, see `cache.rs`), loaded otherwise. The write's own guard on the version
/// (`versioned_store!`) still refuses it if another writer got there first.
fn current<E: Entity>(
    conn: &mut DbConnection,
    renders: &crate::cache::Renders,
    id: &str,
) -> ApiResult<E> {
    if renders.enabled() {
        if let Some(version) = E::live_version(conn, id)? {
            if let Some(body) = renders.get(E::TYPE, id, version) {
                match serde_json::from_slice::<E>(&body) {
                    Ok(e) if e.version() == version => return Ok(e),
                    Ok(_) => log::warn!("{} {id}: cached rendering of another version", E::TYPE),
                    Err(err) => log::warn!("{} {id}: cached rendering unreadable: {err}", E::TYPE),
                }
            }
        }
    }
    E::load(conn, id)
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
    let cache = state.clone();
    db::write(&state.pool, move |conn| {
        let before = current::<E>(conn, &cache.renders, &id)?;
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

/// `Entity::live_version` and `Entity::live_version_pg` for a resource stored in `$table`
/// (inside its `impl Entity`): one query, run by diesel on the pool or by `db::pipeline`.
#[macro_export]
macro_rules! live_version {
    ($table:ident) => {
        // `load`, not `first`: SQLite expires a statement whose bound LIMIT is bound again
        // (see `db::PageLimit`), so `first` was parsed on every GET (a uprobe on
        // sqlite3Prepare counted 100 for 100 GETs, 0 after); the id is the primary key.
        fn live_version(
            conn: &mut $crate::db::DbConnection,
            id: &str,
        ) -> $crate::error::ApiResult<Option<i64>> {
            use diesel::prelude::*;
            Ok($crate::native!(conn, |c| $crate::live_version!(query $table, id).load::<i64>(c))?.pop())
        }

        fn live_versions_pg(
            ids: &[&str],
        ) -> $crate::error::ApiResult<$crate::db::PgStatement> {
            use diesel::prelude::*;
            use $crate::db::pipeline::MAX_BATCH;
            // The SQL of each number of ids, written once.
            static SQL: [std::sync::OnceLock<String>; MAX_BATCH] =
                [const { std::sync::OnceLock::new() }; MAX_BATCH];
            let query = $table::table
                .filter($crate::db::InList { column: $table::id, ids })
                .filter($table::deleted_at.is_null())
                .select(($table::id, $table::version));
            match ids.len().checked_sub(1).and_then(|n| SQL.get(n)) {
                Some(sql) => $crate::db::pg_statement_once(&query, sql),
                None => $crate::db::pg_statement(&query),
            }
        }
    };
    (query $table:ident, $id:expr) => {{
        use diesel::prelude::*;
        $table::table
            .filter($table::id.eq($id))
            .filter($table::deleted_at.is_null())
            .select($table::version)
    }};
}

/// A resource integrators write by an id of theirs (`PUT .../by-external-id/{scheme}/{value}`).
pub trait ExternallyKeyed: Creatable {
    fn external_ids_mut(input: &mut Self::Input) -> &mut Vec<crate::links::ExternalId>;
}

/// Create or replace by external id: the body is the whole record; the path's id is added to
/// its `external_ids` when missing. `If-None-Match: *` means create only; `If-Match` guards a
/// replace. 201 when created, 200 when replaced.
pub async fn upsert<E: ExternallyKeyed>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    scheme: String,
    value: String,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::UpsertByExternalId)?;
    let mut c = Checks::default();
    if !crate::links::is_scheme(&scheme) {
        c.add("scheme", "must be 1-32 lowercase letters, digits, - or _");
    }
    c.external_id_value("value", &value);
    c.finish()?;
    let mut input: E::Input = http::from_value(http::json_value(&req, &body, false)?)?;
    {
        let ids = E::external_ids_mut(&mut input);
        match ids.iter().position(|e| e.scheme == scheme) {
            Some(i) if ids[i].value != value => {
                return Err(ApiError::validation(
                    format!("external_ids[{i}].value"),
                    format!(
                        "the path says {scheme}:{value}; the body says {scheme}:{}",
                        ids[i].value
                    ),
                ))
            }
            Some(_) => {}
            None => ids.push(crate::links::ExternalId {
                scheme: scheme.clone(),
                value: value.clone(),
            }),
        }
    }
    E::check(&input)?;
    let create_only = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == b"*");
    let if_match = IfMatch::of(&req);
    let actor = state.actor(&req, &caller);
    let pre = Preconditions {
        create_only,
        if_match,
    };
    let outcome = db::write_if(
        &state.pool,
        move |conn| upsert_item::<E>(conn, &actor, &scheme, &value, input, &pre),
        |o| o.changes(),
    )
    .await?;
    match outcome {
        Outcome::Created(e) => written(&state, &e, true),
        Outcome::Updated(e) | Outcome::Unchanged(e) => written(&state, &e, false),
    }
}

/// What an upsert did.
pub enum Outcome<E> {
    Created(E),
    Updated(E),
    /// The record already said exactly this: nothing is written (no version, audit or feed event).
    Unchanged(E),
}

impl<E> Outcome<E> {
    /// Whether the transaction has anything to commit.
    pub fn changes(&self) -> bool {
        !matches!(self, Outcome::Unchanged(_))
    }
}

/// Conditions a caller put on an upsert.
#[derive(Default)]
pub struct Preconditions {
    pub create_only: bool,
    pub if_match: IfMatch,
}

/// Creates or replaces the record holding `scheme:value`, inside the caller's transaction.
pub fn upsert_item<E: ExternallyKeyed>(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme: &str,
    value: &str,
    input: E::Input,
    pre: &Preconditions,
) -> ApiResult<Outcome<E>> {
    // On PostgreSQL, upserts of one external id take turns (a lock held to the end of the
    // transaction): one that waited finds the record the first created and replaces it, where
    // it would have found the id taken by a record it could not see yet. SQLite has one writer.
    if let DbConnection::Postgresql(pg) = conn {
        let lock =
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 727274003))")
                .bind::<diesel::sql_types::Text, _>(format!("{}\n{scheme}\n{value}", E::TYPE));
        diesel::RunQueryDsl::execute(lock, pg)?;
    }
    match crate::links::find_by_external_id(conn, E::TYPE, scheme, value)? {
        Some(id) => {
            if pre.create_only {
                return Err(ApiError::PreconditionFailed(format!(
                    "{scheme}:{value} already exists ({id}) and If-None-Match: * asks to create only"
                )));
            }
            let before = E::load(conn, &id)?;
            pre.if_match.check(before.version())?;
            let after = E::update(conn, actor, &before, input)?;
            // Compare what the record says, not its bookkeeping.
            let content = |e: &E| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    for f in ["version", "updated_at"] {
                        o.remove(f);
                    }
                }
                v
            };
            Ok(if content(&after) == content(&before) {
                Outcome::Unchanged(before)
            } else {
                Outcome::Updated(after)
            })
        }
        None => {
            if pre.if_match.is_present() {
                return Err(ApiError::PreconditionFailed(format!(
                    "no record has {scheme}:{value}, so If-Match cannot match"
                )));
            }
            Ok(Outcome::Created(E::create(conn, actor, input)?))
        }
    }
}

/// A resource listed through `list`: its page query gives rows, and the records are assembled
/// from them (links and children loaded for the whole page at once).
pub trait Listed: Resource + Sized + Send + 'static {
    type Row;
    /// The row's id, version and `updated_at`.
    fn key(row: &Self::Row) -> (&str, i64, chrono::NaiveDateTime);
    /// The records of `rows`, in their order.
    fn assemble(conn: &mut DbConnection, rows: Vec<Self::Row>) -> ApiResult<Vec<Self>>;
}

/// What a page query selects: only each record's key, or whole rows.
#[derive(Clone, Copy)]
pub enum Columns {
    Keys,
    Rows,
}

/// A listed record's position and version: all a page needs when every record's rendering
/// of its version is cached.
#[derive(diesel::Queryable)]
pub struct Key {
    pub id: String,
    pub version: i64,
    /// Only a list by `updated_since` needs it (for its cursor); the others do not read it.
    pub updated_at: Option<crate::db::FastTimestamp>,
}

/// The answer of a page query, as `Columns` asked.
pub enum Fetched<R> {
    Keys(Vec<Key>),
    Rows(Vec<R>),
}

impl<R> Fetched<R> {
    /// The keys, from a query asked for `Columns::Keys`.
    pub fn into_keys(self) -> ApiResult<Vec<Key>> {
        match self {
            Fetched::Keys(keys) => Ok(keys),
            Fetched::Rows(_) => Err(ApiError::internal("a page query gave rows for keys")),
        }
    }

    /// The rows, from a query asked for `Columns::Rows`.
    pub fn into_rows(self) -> ApiResult<Vec<R>> {
        match self {
            Fetched::Rows(rows) => Ok(rows),
            Fetched::Keys(_) => Err(ApiError::internal("a page query gave keys for rows")),
        }
    }
}

/// A page of a collection readable by every role: `limit` and `cursor` as in `pagination`,
/// the rest of the query in `filters` (`by_updated` when the list is filtered by
/// `updated_since`, see `keyset!`). First only the keys are loaded, in one statement (its own
/// snapshot), on PostgreSQL sent from this worker through `db::pipeline` when it can: when
/// every record's rendering of that version is in `state.renders`, that is the page. Otherwise
/// the page is loaded again on one snapshot, and only the records not cached are assembled
/// (their links and children loaded).
#[allow(clippy::too_many_arguments)]
pub async fn list<E, Q>(
    req: &HttpRequest,
    caller: &Caller,
    state: &web::Data<AppState>,
    scope: String,
    by_updated: bool,
    limit: Option<&str>,
    cursor: Option<&str>,
    filters: Q,
) -> ApiResult<HttpResponse>
where
    E: Listed<Row = Q::Row>,
    Q: PageQuery,
{
    caller.require(Action::Read)?;
    let page = crate::pagination::PageRequest::parse(&state.cursor_key, scope, limit, cursor)?;
    let query = filters.at(page.after.clone(), page.fetch());
    // Whether the keys need no (more) reading: nothing is cached, or the pipeline read them.
    let mut skip_keys = !state.renders.enabled();
    if !skip_keys {
        if let Some(rows) = state.pipeline.query(|| query.pg_keys()).await {
            let keys = rows?
                .iter()
                .map(|r| {
                    Ok(Key {
                        id: r.try_get(0)?,
                        version: r.try_get(1)?,
                        updated_at: r.try_get::<_, Option<_>>(2)?.map(crate::db::FastTimestamp),
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(ApiError::internal)?;
            if let Some((bodies, next)) = cached_page::<E>(state, &page, keys, by_updated) {
                return Ok(crate::pagination::respond_rendered(req, &bodies, next));
            }
            skip_keys = true;
        }
    }
    let st = state.clone();
    let (bodies, next) = db::query(&state.pool, move |conn| {
        if !skip_keys {
            let keys = query.load(conn, Columns::Keys)?.into_keys()?;
            if let Some(found) = cached_page::<E>(&st, &page, keys, by_updated) {
                return Ok(found);
            }
        }
        db::snapshot(conn, |conn| {
            let rows = query.load(conn, Columns::Rows)?.into_rows()?;
            let (rows, next) = page.finish(&st.cursor_key, rows, |r| {
                let (id, _, updated_at) = E::key(r);
                crate::pagination::row_key(id, updated_at, by_updated)
            });
            let mut bodies: Vec<Option<web::Bytes>> = rows
                .iter()
                .map(|r| {
                    let (id, version, _) = E::key(r);
                    st.renders.get(E::TYPE, id, version)
                })
                .collect();
            let misses: Vec<E::Row> = rows
                .into_iter()
                .zip(&bodies)
                .filter(|(_, b)| b.is_none())
                .map(|(r, _)| r)
                .collect();
            let mut fresh = E::assemble(conn, misses)?.into_iter();
            for body in bodies.iter_mut().filter(|b| b.is_none()) {
                let record = fresh
                    .next()
                    .ok_or_else(|| ApiError::internal("assemble lost a record"))?;
                *body = Some(st.renders.render(&record)?.body);
            }
            Ok((bodies.into_iter().flatten().collect::<Vec<_>>(), next))
        })
    })
    .await?;
    Ok(crate::pagination::respond_rendered(req, &bodies, next))
}

/// The page of `keys` (a page query's, one more than the page) and its next cursor, when every
/// record's rendering of that version is in `state.renders`.
fn cached_page<E: Listed>(
    state: &AppState,
    page: &crate::pagination::PageRequest,
    keys: Vec<Key>,
    by_updated: bool,
) -> Option<(Vec<web::Bytes>, Option<String>)> {
    if by_updated && keys.iter().any(|k| k.updated_at.is_none()) {
        return None; // (not when `updated_since` selects it) the rows' way has it
    }
    let (keys, next) = page.finish(&state.cursor_key, keys, |k| {
        let updated_at = k.updated_at.as_ref().map_or_else(Default::default, |t| t.0);
        crate::pagination::row_key(&k.id, updated_at, by_updated)
    });
    let bodies = keys
        .iter()
        .map(|k| state.renders.get(E::TYPE, &k.id, k.version))
        .collect::<Option<Vec<_>>>()?;
    Some((bodies, next))
}

/// A list's filters, and how its page query runs: on the pool's connection (`load`), and,
/// when one statement gives the page's keys, as the PostgreSQL statement `db::pipeline` sends
/// (`pg_keys`). `page_query!` writes both from one description of the filters.
pub trait PageQuery: Send + 'static {
    type Row: Send + 'static;
    /// These filters, for `fetch` rows after the key `after` (a `pagination::record_key`).
    fn at(&self, after: Option<String>, fetch: i64) -> Self;
    /// The page: the records' keys or their rows, as `columns` asks.
    fn load(&self, conn: &mut DbConnection, columns: Columns) -> ApiResult<Fetched<Self::Row>>;
    /// The keys' statement, as `load` would run it for `Columns::Keys` on PostgreSQL; `None`
    /// when the page needs more than that one statement.
    fn pg_keys(&self) -> ApiResult<Option<db::PgStatement>> {
        Ok(None)
    }
}

/// `PageQuery` for `$filter` (a struct with `after` and `limit`, `updated_since` fields), a
/// list of the live records of `$table` loaded as `$row`: `$body` narrows the boxed query `$q`
/// by the filters in `$f`. It is written once and compiled twice: for the pool's connection
/// type and for PostgreSQL, so the pipelined statement is the one the pool would run.
/// `first |conn, f| { … }` runs before the page on the pool (a parent's lookup, say); such a
/// page is not pipelined.
#[macro_export]
macro_rules! page_query {
    ($filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block) => {
        $crate::page_query!(@impl $filter, $table, $row, |$q, $f| $body, |_conn, _f| {}, pipelined);
    };
    ($filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block,
     first |$c:ident, $cf:ident| $first:block) => {
        $crate::page_query!(@impl $filter, $table, $row, |$q, $f| $body, |$c, $cf| $first, pool);
    };
    (@impl $filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block,
     |$c:ident, $cf:ident| $first:block, $way:ident) => {
        impl $crate::crud::PageQuery for $filter {
            type Row = $row;

            fn at(&self, after: Option<String>, limit: i64) -> Self {
                Self {
                    after,
                    limit,
                    ..self.clone()
                }
            }

            fn load(
                &self,
                conn: &mut $crate::db::DbConnection,
                columns: $crate::crud::Columns,
            ) -> $crate::error::ApiResult<$crate::crud::Fetched<$row>> {
                {
                    let ($c, $cf) = (&mut *conn, self);
                    $first
                }
                if let $crate::crud::Columns::Keys = columns {
                    // Every list asks for its keys: on the backend's own connection, as `native!` runs
                    // a query, with the key statement built for that backend.
                    use $crate::db::DbConnection as D;
                    let keys = match conn {
                        D::Sqlite(c) => $crate::page_query!(@keys diesel::sqlite::Sqlite, c, false, $table, self, $q, $f, $body),
                        D::Postgresql(c) => $crate::page_query!(@keys diesel::pg::Pg, c, true, $table, self, $q, $f, $body),
                    };
                    return Ok($crate::crud::Fetched::Keys(keys?));
                }
                let q = $crate::page_query!(@query $crate::db::MultiBackend, $table, self, $q, $f, $body)
                    .select(<$row>::as_select());
                Ok($crate::crud::Fetched::Rows($crate::load_page!(q, conn, self.limit)?))
            }

            $crate::page_query!(@pg_keys $way, $table, |$q, $f| $body);
        }
    };
    (@pg_keys pipelined, $table:ident, |$q:ident, $f:ident| $body:block) => {
        fn pg_keys(&self) -> $crate::error::ApiResult<Option<$crate::db::PgStatement>> {
            let q = $crate::page_query!(@key_query diesel::pg::Pg, $table, self, $q, $f, $body);
            $crate::db::pg_statement(&$crate::db::page_limit(q, self.limit, true)).map(Some)
        }
    };
    (@pg_keys pool, $($rest:tt)*) => {};
    (@keys $db:ty, $conn:expr, $literal:expr, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        let q = $crate::page_query!(@key_query $db, $table, $self, $q, $f, $body);
        $crate::db::page_limit(q, $self.limit, $literal).load::<$crate::crud::Key>($conn)
    }};
    // The keys' statement (a `Key` per row), on the pool's connection and through the pipeline.
    (@key_query $db:ty, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        use diesel::{sql_types::{Nullable, Timestamp}, IntoSql};
        let q = $crate::page_query!(@query $db, $table, $self, $q, $f, $body);
        // `updated_at` only for the cursor of a list by `updated_since`: reading a timestamp
        // costs more than the rest of a key on SQLite.
        if $self.updated_since.is_some() {
            q.select(($table::id, $table::version, $table::updated_at.nullable()))
        } else {
            // A bound NULL: a literal (`dsl::sql`) would make SQLite parse the statement anew
            // each time, as diesel does not cache a statement holding SQL it cannot see into.
            q.select(($table::id, $table::version, None::<chrono::NaiveDateTime>.into_sql::<Nullable<Timestamp>>()))
        }
    }};
    (@query $db:ty, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        let $f = $self;
        #[allow(unused_mut)]
        let mut $q = $table::table
            .filter($table::deleted_at.is_null())
            .into_boxed::<$db>();
        $body
        $crate::keyset!($q, $table, $f.updated_since, $f.after.as_deref())
    }};
}

/// Parses an optional whole-number query parameter within a range, naming it in the 422.
pub fn int_param(field: &str, value: Option<&str>, min: i64, max: i64) -> ApiResult<Option<i64>> {
    match value {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::validation(
                field,
                format!("must be a whole number from {min} to {max}"),
            )),
        },
    }
}

/// `external_id_scheme` and `external_id_value` filter together or not at all.
pub fn external_id_param(
    scheme: Option<String>,
    value: Option<String>,
) -> ApiResult<Option<(String, String)>> {
    match (scheme, value) {
        (Some(s), Some(v)) => Ok(Some((s, v))),
        (None, None) => Ok(None),
        _ => Err(ApiError::validation(
            "external_id_scheme",
            "external_id_scheme and external_id_value go together",
        )),
    }
}

/// One item of a bulk upsert: the integrator's id and the whole record.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem<T> {
    pub external_id: crate::links::ExternalId,
    pub record: T,
}

/// Up to 1000 records keyed by external id.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest<T> {
    #[schema(max_items = 1000)]
    pub items: Vec<BulkItem<T>>,
}

crate::string_enum!(
    /// What happened to one item.
    BulkStatus {
        Created => "created",
        Updated => "updated",
        Unchanged => "unchanged",
        Failed => "failed",
    }
);

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    /// The item's position in the request.
    pub index: usize,
    pub external_id: Option<crate::links::ExternalId>,
    pub result: BulkStatus,
    pub id: Option<String>,
    pub version: Option<i64>,
    /// Why the item failed; nothing of it was written.
    pub problem: Option<crate::error::Problem>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BulkResponse {
    /// True when nothing was written (`?dry_run=true`).
    pub dry_run: bool,
    pub results: Vec<BulkResult>,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulkQuery {
    /// Report what would happen and write nothing.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
}

pub const MAX_BULK_ITEMS: usize = 1000;
/// A bulk request's items written in one turn of SQLite's writers, at most.
const BULK_ITEMS_PER_TURN: usize = 32;

/// Upserts each item in its own transaction: one bad item does not stop the others, and each
/// item is all or nothing. An item identical to what is stored is `unchanged` and writes
/// nothing (no version, audit or feed event). 207 with a result per item.
pub async fn bulk_upsert<E: ExternallyKeyed>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    query: BulkQuery,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::UpsertByExternalId)?;
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::validation("dry_run", "must be true or false")),
    };
    let mut value = http::json_value(&req, &body, false)?;
    let items = match value.as_object_mut().and_then(|o| o.remove("items")) {
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(ApiError::validation("items", "must be a list")),
        None => return Err(ApiError::validation("items", "is required")),
    };
    if let Some(extra) = value.as_object().and_then(|o| o.keys().next()) {
        return Err(ApiError::validation(
            extra.as_str(),
            "not a field of this request",
        ));
    }
    if items.len() > MAX_BULK_ITEMS {
        return Err(ApiError::validation(
            "items",
            format!("at most {MAX_BULK_ITEMS} items"),
        ));
    }
    let actor = state.actor(&req, &caller);
    let request_id = http::request_id(&req);
    let instance = req.path().to_string();
    let failed = |index: usize, external_id: Option<crate::links::ExternalId>, e: ApiError| {
        BulkResult {
            index,
            // Echoed only when it is a well-formed id (the response schema says what one is).
            external_id: external_id.filter(|x| {
                let mut c = Checks::default();
                c.external_ids("", std::slice::from_ref(x));
                c.finish().is_ok()
            }),
            result: BulkStatus::Failed,
            id: None,
            version: None,
            problem: Some(
                prefixed(e, index).to_problem(Some(instance.clone()), request_id.clone()),
            ),
        }
    };
    // Items that fail on their own are answered now; the others are written, in order.
    let mut results: Vec<Option<BulkResult>> = Vec::with_capacity(items.len());
    let mut writes = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let parsed: BulkItem<E::Input> = match http::from_value(item) {
            Ok(p) => p,
            Err(e) => {
                results.push(Some(failed(index, None, e)));
                continue;
            }
        };
        let BulkItem {
            external_id,
            record: mut input,
        } = parsed;
        let (scheme, value) = (external_id.scheme.clone(), external_id.value.clone());
        let ids = E::external_ids_mut(&mut input);
        match ids.iter().find(|e| e.scheme == scheme) {
            Some(e) if e.value != value => {
                let e = ApiError::validation(
                    "record.external_ids",
                    format!(
                        "names {scheme}:{} but the item is {scheme}:{value}",
                        e.value
                    ),
                );
                results.push(Some(failed(index, Some(external_id), e)));
                continue;
            }
            Some(_) => {}
            None => ids.push(external_id.clone()),
        }
        let mut c = Checks::default();
        c.external_ids("external_id", std::slice::from_ref(&external_id));
        if let Err(e) = c.finish().and_then(|_| E::check(&input)) {
            results.push(Some(failed(index, Some(external_id), e)));
            continue;
        }
        results.push(None);
        let actor = actor.clone();
        writes.push((index, external_id, move |conn: &mut DbConnection| {
            upsert_item::<E>(
                conn,
                &actor,
                &scheme,
                &value,
                input,
                &Preconditions::default(),
            )
        }));
    }
    // Each item is a write of its own, all or nothing, so one bad item stops nothing. On SQLite
    // a chunk of them shares the writers' turn (and its COMMIT) with the other writes waiting,
    // a chunk at a time so that those never wait for the whole request.
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let chunk: Vec<_> = writes.by_ref().take(BULK_ITEMS_PER_TURN).collect();
        let mut keys = Vec::with_capacity(chunk.len());
        let mut jobs = Vec::with_capacity(chunk.len());
        for (index, external_id, job) in chunk {
            keys.push((index, external_id));
            jobs.push((job, move |o: &Outcome<E>| o.changes() && !dry_run));
        }
        for ((index, external_id), outcome) in keys
            .into_iter()
            .zip(db::write_each(&state.pool, jobs).await?)
        {
            results[index] = Some(match outcome {
                Ok(o) => {
                    let (result, e) = match o {
                        Outcome::Created(e) => (BulkStatus::Created, e),
                        Outcome::Updated(e) => (BulkStatus::Updated, e),
                        Outcome::Unchanged(e) => (BulkStatus::Unchanged, e),
                    };
                    // A dry run's new record was never written: it has no id to show.
                    let written = !(dry_run && result == BulkStatus::Created);
                    BulkResult {
                        index,
                        external_id: Some(external_id),
                        result,
                        id: written.then(|| e.id().to_string()),
                        version: written.then(|| e.version()),
                        problem: None,
                    }
                }
                Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => return Err(e),
                Err(e) => failed(index, Some(external_id), e),
            });
        }
    }
    let results: Vec<BulkResult> = results.into_iter().flatten().collect();
    Ok(
        HttpResponse::build(actix_web::http::StatusCode::MULTI_STATUS)
            .json(BulkResponse { dry_run, results }),
    )
}

/// Field paths of an item's problem, from the request's root (`items[3].record.title`).
fn prefixed(e: ApiError, index: usize) -> ApiError {
    match e {
        ApiError::Validation(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|f| {
                    let field =
                        if f.field.starts_with("external_id") || f.field.starts_with("record") {
                            format!("items[{index}].{}", f.field)
                        } else if f.field.is_empty() {
                            format!("items[{index}]")
                        } else {
                            format!("items[{index}].record.{}", f.field)
                        };
                    crate::error::FieldError::new(field, f.message)
                })
                .collect(),
        ),
        other => other,
    }
}
