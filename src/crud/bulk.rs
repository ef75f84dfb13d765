//! Bulk upsert by external id: up to 1000 items, each with its own result (207), written in
//! turns of a few items.

use actix_web::{web, HttpRequest, HttpResponse};

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    http::{self},
    model::Checks,
    state::AppState,
};

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
pub(super) const BULK_ITEMS_PER_TURN: usize = 32;

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
    let mut pending = Vec::new();
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
        let (scheme, value) = (&external_id.scheme, &external_id.value);
        let ids = E::external_ids_mut(&mut input);
        match ids.iter().find(|e| &e.scheme == scheme) {
            Some(e) if &e.value != value => {
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
        pending.push((index, external_id, input, None));
    }
    // Items whose source fields equal what is stored (a nightly resend, mostly) are answered
    // from one read of them all, with no transaction, lock or write; so are those that read
    // shows to be refused. The rest are written one by one, each checked again in its own
    // transaction.
    let (settled, pending) = if pending.is_empty() {
        (vec![], pending)
    } else {
        db::query(&state.pool, move |conn| {
            db::snapshot(conn, |conn| settle_unchanged::<E>(conn, pending))
        })
        .await?
    };
    for (index, external_id, outcome) in settled {
        results[index] = Some(match outcome {
            Ok(e) => BulkResult {
                index,
                external_id: Some(external_id),
                result: BulkStatus::Unchanged,
                id: Some(e.id().to_string()),
                version: Some(e.version()),
                problem: None,
            },
            Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => return Err(e),
            Err(e) => failed(index, Some(external_id), e),
        });
    }
    let mut writes = Vec::with_capacity(pending.len());
    for (index, external_id, input, known) in pending {
        let (scheme, value) = (external_id.scheme.clone(), external_id.value.clone());
        let actor = actor.clone();
        writes.push((index, external_id, move |conn: &mut DbConnection| {
            upsert_item::<E>(
                conn,
                &actor,
                &scheme,
                &value,
                input,
                known,
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

/// Items waiting to be written: each one's position, external id and record, and the stored
/// record it replaces as a read before the write found it (the write checks it is still live).
type Pending<E> = Vec<(
    usize,
    crate::links::ExternalId,
    <E as Entity>::Input,
    Option<E>,
)>;

/// The items whose source fields equal the stored record's (`Ok`, with it), and those a read
/// shows to be refused (an older `source_updated_at`, an unknown partner); and the others, to
/// be written, with the region's fields merged in. Reads only: a record found and its items'
/// keys, a few statements for the whole request. An external id named by two items is left to
/// the writes, which take them in order.
#[allow(clippy::type_complexity)]
fn settle_unchanged<E: ExternallyKeyed>(
    conn: &mut DbConnection,
    pending: Pending<E>,
) -> ApiResult<(
    Vec<(usize, crate::links::ExternalId, ApiResult<E>)>,
    Pending<E>,
)> {
    let mut named: std::collections::HashMap<(String, String), usize> = Default::default();
    for (_, e, _, _) in &pending {
        *named
            .entry((e.scheme.clone(), e.value.clone()))
            .or_insert(0) += 1;
    }
    let keys: Vec<(&str, &str)> = named
        .keys()
        .map(|(s, v)| (s.as_str(), v.as_str()))
        .collect();
    let holders = crate::links::find_many_by_external_id(conn, E::TYPE, &keys)?;
    let mut ids: Vec<&str> = holders.values().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stored: std::collections::HashMap<String, E> = E::load_many(conn, &ids)?
        .into_iter()
        .map(|e| (e.id().to_string(), e))
        .collect();
    let (mut settled, mut rest) = (Vec::new(), Vec::new());
    for (index, external_id, mut input, _) in pending {
        let key = (external_id.scheme.clone(), external_id.value.clone());
        let before = match holders.get(&key).and_then(|id| stored.remove(id)) {
            Some(b) if named[&key] == 1 => b,
            _ => {
                rest.push((index, external_id, input, None));
                continue;
            }
        };
        if let Err(e) = E::resolve(conn, &mut input) {
            settled.push((index, external_id, Err(e)));
            continue;
        }
        match from_source(&before, input, &key.0) {
            Ok((_, true)) => settled.push((index, external_id, Ok(before))),
            Ok((merged, false)) => rest.push((index, external_id, merged, Some(before))),
            Err(e) => settled.push((index, external_id, Err(e))),
        }
    }
    Ok((settled, rest))
}

/// Field paths of an item's problem, from the request's root (`items[3].record.title`).
pub(super) fn prefixed(e: ApiError, index: usize) -> ApiError {
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
