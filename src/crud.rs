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

pub trait Entity: Resource + Clone + Send + 'static {
    /// The writable fields: the body of a create, and the view a merge patch applies to.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The collection's path, e.g. `/v1/organisations`.
    const COLLECTION: &'static str;
    /// Fields a patch may not name.
    const READ_ONLY: &'static [&'static str];

    /// The live record, or 404.
    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self>;
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

pub async fn get<E: Entity>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let e = db::read(&state.pool, move |conn| E::load(conn, &id)).await?;
    Ok(http::single(&req, e.version(), &e))
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
    Ok(http::created(
        format!("{}/{}", E::COLLECTION, e.id()),
        e.version(),
        &e,
    ))
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
        let before = E::load(conn, &id)?;
        before.ensure_writable()?;
        let input = apply_patch::<E>(&before, &patch)?;
        if_match.check(before.version())?;
        E::update(conn, &actor, &before, input)
    })
    .await?;
    Ok(http::written(e.version(), &e))
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
            let n = diesel::update(
                $table::table
                    .filter($table::id.eq(&row.id))
                    .filter($table::version.eq(row.version - 1)),
            )
            .set(row)
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
            let n = diesel::update(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::version.eq(version - 1)),
            )
            .set((
                $table::deleted_at.eq(Some(now)),
                $table::version.eq(version),
                $table::updated_at.eq(now),
            ))
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
    c.text("value", Some(&value), true, 200);
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
    let (e, created) = db::write(&state.pool, move |conn| {
        match crate::links::find_by_external_id(conn, E::TYPE, &scheme, &value)? {
            Some(id) => {
                if create_only {
                    return Err(ApiError::PreconditionFailed(format!(
                        "{scheme}:{value} already exists ({id}) and If-None-Match: * asks to create only"
                    )));
                }
                let before = E::load(conn, &id)?;
                if_match.check(before.version())?;
                Ok((E::update(conn, &actor, &before, input)?, false))
            }
            None => {
                if if_match.is_present() {
                    return Err(ApiError::PreconditionFailed(format!("no record has {scheme}:{value}, so If-Match cannot match")));
                }
                Ok((E::create(conn, &actor, input)?, true))
            }
        }
    })
    .await?;
    Ok(if created {
        http::created(format!("{}/{}", E::COLLECTION, e.id()), e.version(), &e)
    } else {
        http::written(e.version(), &e)
    })
}

/// A page of a collection: checks the caller may read, parses `limit` and `cursor` (bound to
/// `scope`, the collection and its filters), runs `load(after, fetch)` and answers with the
/// page, `next_cursor` and a `Link` header.
pub async fn list<E, F>(
    req: &HttpRequest,
    caller: &Caller,
    state: &AppState,
    scope: String,
    limit: Option<&str>,
    cursor: Option<&str>,
    load: F,
) -> ApiResult<HttpResponse>
where
    E: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection, Option<String>, i64) -> ApiResult<Vec<E>> + Send + 'static,
{
    caller.require(Action::Read)?;
    let page = crate::pagination::PageRequest::parse(&state.cursor_key, scope, limit, cursor)?;
    let key = state.cursor_key.clone();
    let (items, next) = db::read(&state.pool, move |conn| {
        let rows = load(conn, page.after.clone(), page.fetch())?;
        Ok(page.finish(&key, rows, |e| e.id()))
    })
    .await?;
    Ok(crate::pagination::respond(req, items, next))
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
