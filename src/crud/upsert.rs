//! Create or replace by an external id (the integrators' `PUT .../by-external-id/{scheme}/{value}`),
//! one item at a time.

use actix_web::{web, HttpRequest, HttpResponse};

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    changes::Actor,
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    http::{self, IfMatch},
    model::Checks,
    state::AppState,
};

/// A resource integrators write by an id of theirs (`PUT .../by-external-id/{scheme}/{value}`).
pub trait ExternallyKeyed: Creatable {
    fn external_ids_mut(input: &mut Self::Input) -> &mut Vec<crate::links::ExternalId>;
    /// The live records among `ids` (in any order), loaded together: a bulk upsert compares its
    /// items with them before writing.
    fn load_many(conn: &mut DbConnection, ids: &[&str]) -> ApiResult<Vec<Self>>;
    /// Replaces what the input names by external id with internal ids (a project's partners),
    /// so that an unchanged record compares equal; 422 naming each unknown one.
    fn resolve(_conn: &mut DbConnection, _input: &mut Self::Input) -> ApiResult<()> {
        Ok(())
    }
}

/// Create or replace by external id: the body is the source's whole record; the path's id is
/// added to its `external_ids` when missing. A replace writes the source-owned fields only and
/// keeps the region's (`from_source`). `If-None-Match: *` means create only; `If-Match` guards
/// a replace. 201 when created, 200 when replaced.
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
        move |conn| upsert_item::<E>(conn, &actor, &scheme, &value, input, None, &pre),
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
/// `known` is the record as a read before this transaction found it (a bulk upsert's): when it
/// is still the live version, it is the write's before-image, and is not loaded again.
pub fn upsert_item<E: ExternallyKeyed>(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme: &str,
    value: &str,
    mut input: E::Input,
    known: Option<E>,
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
    E::resolve(conn, &mut input)?;
    match crate::links::find_by_external_id(conn, E::TYPE, scheme, value)? {
        Some(id) => {
            if pre.create_only {
                return Err(ApiError::PreconditionFailed(format!(
                    "{scheme}:{value} already exists ({id}) and If-None-Match: * asks to create only"
                )));
            }
            let before = match known {
                // The version moves with every change of the record or its children.
                Some(k) if k.id() == id && (E::VERSIONS.one)(conn, &id)? == Some(k.version()) => k,
                _ => E::load(conn, &id)?,
            };
            pre.if_match.check(before.version())?;
            let (input, same) = from_source(&before, input, scheme)?;
            if same {
                return Ok(Outcome::Unchanged(before));
            }
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

/// What an upsert of `incoming` writes over `before`: the source's fields from `incoming`,
/// the region's as stored (`Entity::REGION_OWNED`), and of the external ids the stored ones of
/// other schemes beside the source's (`scheme`). With it, whether that is what is stored
/// already. 409 when `incoming` is older than what is stored (`source_updated_at`).
pub(super) fn from_source<E: ExternallyKeyed>(
    before: &E,
    incoming: E::Input,
    scheme: &str,
) -> ApiResult<(E::Input, bool)> {
    let mut stored = before.input();
    let mut v = serde_json::to_value(incoming).map_err(ApiError::internal)?;
    let old = serde_json::to_value(&stored).map_err(ApiError::internal)?;
    let time = |v: &serde_json::Value| {
        v.get("source_updated_at")
            .and_then(|t| t.as_str())
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .map(crate::model::stored_time)
    };
    if let (Some(new), Some(old)) = (time(&v), time(&old)) {
        if new < old {
            return Err(ApiError::Conflict(format!(
                "source_updated_at {} is older than the stored {}: this is not the source's \
                 latest version of the record, and nothing was written",
                new.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                old.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )));
        }
    }
    for f in E::REGION_OWNED.unwrap_or_default() {
        v[*f] = old[*f].clone();
    }
    let mut input: E::Input = serde_json::from_value(v).map_err(ApiError::internal)?;
    let kept: Vec<_> = E::external_ids_mut(&mut stored)
        .drain(..)
        .filter(|e| e.scheme != scheme)
        .collect();
    let ids = E::external_ids_mut(&mut input);
    ids.retain(|e| e.scheme == scheme);
    ids.extend(kept);
    ids.sort();
    let same = serde_json::to_value(&input).map_err(ApiError::internal)? == old;
    Ok((input, same))
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
