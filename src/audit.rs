//! The audit trail, read two ways: `GET /v1/audit-events` (council and board: who changed what,
//! when, with the record before and after), and point-in-time reads (`?as_of=` on every
//! single-resource GET: the record as it stood then). The trail is written only by the write
//! path (`changes::record`); the database refuses to update or delete it.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    access::{Action, Role},
    app::AppState,
    auth::Caller,
    changes::Resource,
    db::{self, schema::audit_events, DbConnection},
    error::{ApiError, ApiResult},
    http,
    model::{parse_time_param, utc, Checks},
    openapi::errors::*,
    pagination,
};

/// The steps the write path records.
pub const ACTIONS: &[&str] = &[
    "create",
    "update",
    "propose",
    "adopt",
    "supersede",
    "submit",
    "approve",
    "review",
    "end",
    "delete",
];

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    /// The token's `sub` (`system` for the service itself, `seed-demo` for demo data).
    pub sub: String,
    /// The roles the token carried.
    pub roles: Vec<Role>,
}

/// One change to one record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Increases with every event.
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: AuditActor,
    /// `create`, `update`, `propose`, `adopt`, `supersede`, `submit`, `approve`, `review`,
    /// `end` or `delete`.
    #[schema(example = "adopt")]
    pub action: String,
    #[schema(example = "document")]
    pub resource_type: String,
    pub resource_id: String,
    /// The record's version after the change (a delete's tombstone version).
    pub resource_version: i64,
    /// The record before the change; null for a create.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change; null for a delete.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The service's id of the request that made the change (its `X-Request-Id` response
    /// header).
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client sent with that request, if any: its own correlation hint.
    pub correlation_id: Option<String>,
}

/// A page of audit events (the list envelope, with the items' schema named).
#[derive(Serialize, ToSchema)]
pub struct AuditEventPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct Row {
    id: i64,
    at: NaiveDateTime,
    actor_sub: String,
    actor_roles: String,
    action: String,
    resource_type: String,
    resource_id: String,
    resource_version: i64,
    before_data: Option<String>,
    after_data: Option<String>,
    request_id: Option<String>,
    correlation_id: Option<String>,
}

fn parse_json(s: Option<String>) -> ApiResult<Option<serde_json::Value>> {
    s.map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(ApiError::internal)
}

impl Row {
    fn into_api(self) -> ApiResult<AuditEvent> {
        Ok(AuditEvent {
            id: self.id,
            at: utc(self.at),
            actor: AuditActor {
                sub: self.actor_sub,
                roles: serde_json::from_str(&self.actor_roles).map_err(ApiError::internal)?,
            },
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            resource_version: self.resource_version,
            before: parse_json(self.before_data)?,
            after: parse_json(self.after_data)?,
            request_id: self.request_id,
            correlation_id: self.correlation_id,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about records of this type.
    #[param(value_type = Option<String>, example = "document")]
    resource_type: Option<String>,
    /// Only events about this record.
    resource_id: Option<String>,
    /// Only changes made by this caller (the token's `sub`).
    actor: Option<String>,
    /// Only this step.
    #[param(value_type = Option<String>, example = "adopt")]
    action: Option<String>,
    /// Only events at or after this time (RFC 3339); the page is then ordered by time.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    until: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

struct AuditFilter {
    resource_type: Option<String>,
    resource_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
}

impl AuditFilter {
    fn parse(q: AuditQuery) -> ApiResult<(Self, Option<String>, Option<String>)> {
        let mut c = Checks::default();
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        let resource_type = non_empty(q.resource_type);
        if let Some(t) = &resource_type {
            if !crate::feed::RESOURCE_TYPES.contains(&t.as_str()) {
                c.add(
                    "resource_type",
                    format!(
                        "unknown resource type {t:?}; expected one of {}",
                        crate::feed::RESOURCE_TYPES.join(", ")
                    ),
                );
            }
        }
        let action = non_empty(q.action);
        if let Some(a) = &action {
            if !ACTIONS.contains(&a.as_str()) {
                c.add(
                    "action",
                    format!(
                        "unknown action {a:?}; expected one of {}",
                        ACTIONS.join(", ")
                    ),
                );
            }
        }
        let mut time = |field: &str, v: Option<String>| match v {
            None => None,
            Some(s) => match parse_time_param(field, &s) {
                Ok(t) => Some(t),
                Err(_) => {
                    c.add(field, "must be an RFC 3339 time, e.g. 2026-11-28T07:00:00Z");
                    None
                }
            },
        };
        let since = time("since", q.since);
        let until = time("until", q.until);
        if let (Some(s), Some(u)) = (since, until) {
            if u < s {
                c.add("until", "must not be before since");
            }
        }
        c.finish()?;
        Ok((
            AuditFilter {
                resource_type,
                resource_id: non_empty(q.resource_id),
                actor: non_empty(q.actor),
                action,
                since,
                until,
            },
            q.limit,
            q.cursor,
        ))
    }

    fn scope(&self) -> String {
        format!(
            "audit-events|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.resource_type, self.resource_id, self.actor, self.action, self.since, self.until
        )
    }
}

/// The audit trail: every change to every record, oldest first, with who made it and the
/// record before and after. Council and board only.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit events", body = AuditEventPage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::ReadAuditTrail)?;
    let (f, limit, cursor) = AuditFilter::parse(q.into_inner())?;
    let by_time = f.since.is_some();
    pagination::list(
        &req,
        &caller,
        &state,
        Action::ReadAuditTrail,
        f.scope(),
        limit.as_deref(),
        cursor.as_deref(),
        // Under `since`, oldest first by (at, id), so the `at` index finds the recent events
        // (see `keyset!`); otherwise by id.
        move |e: &AuditEvent| match by_time {
            true => pagination::time_key(e.at.naive_utc(), &e.id.to_string()),
            false => e.id.to_string(),
        },
        move |conn, after, limit| {
            let bad = || ApiError::BadRequest("the cursor is not valid for this query".into());
            let mut q = audit_events::table.select(Row::as_select()).into_boxed();
            if let Some(t) = f.resource_type {
                q = q.filter(audit_events::resource_type.eq(t));
            }
            if let Some(r) = f.resource_id {
                q = q.filter(audit_events::resource_id.eq(r));
            }
            if let Some(a) = f.actor {
                q = q.filter(audit_events::actor_sub.eq(a));
            }
            if let Some(a) = f.action {
                q = q.filter(audit_events::action.eq(a));
            }
            if let Some(t) = f.until {
                q = q.filter(audit_events::at.lt(t));
            }
            match (f.since, after) {
                (None, after) => {
                    let after = after
                        .map(|a| a.parse::<i64>())
                        .transpose()
                        .map_err(|_| bad())?;
                    q = q
                        .filter(audit_events::id.gt(after.unwrap_or(0)))
                        .order(audit_events::id.asc());
                }
                (Some(t), after) => {
                    q = q
                        .filter(audit_events::at.ge(t))
                        .order((audit_events::at.asc(), audit_events::id.asc()));
                    if let Some(a) = after {
                        let (at, id) = pagination::split_updated_key(&a)?;
                        let id = id.parse::<i64>().map_err(|_| bad())?;
                        q = q
                            .filter(audit_events::at.ge(at))
                            .filter(audit_events::at.gt(at).or(audit_events::id.gt(id)));
                    }
                }
            }
            crate::load_page!(q, conn, limit)?
                .into_iter()
                .map(Row::into_api)
                .collect()
        },
    )
    .await
}

/// `?as_of=` on a single-resource GET.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// Read the record as it stood at this time (RFC 3339), rebuilt from the audit trail: 404
    /// when it did not exist yet, 410 when it had been deleted by then.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub as_of: Option<String>,
}

/// A parent field the record must carry (a report-back's `membership_id`).
pub type Parent = Option<(&'static str, String)>;

/// The single-resource GET every resource shares: the live record with its ETag (304 when the
/// caller's copy is current), or with `?as_of=` the version that was current then.
pub async fn get_single<T, F>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
    parent: Parent,
    load: F,
) -> ApiResult<HttpResponse>
where
    T: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection, &str) -> ApiResult<T> + Send + 'static,
{
    caller.require(Action::Read)?;
    let as_of = web::Query::<AsOfQuery>::from_query(req.query_string())
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?
        .into_inner()
        .as_of
        .map(|s| parse_time_param("as_of", &s))
        .transpose()?;
    match as_of {
        None => {
            let e = db::read(&state.pool, move |conn| load(conn, &id)).await?;
            Ok(http::single(&req, e.version(), &e))
        }
        Some(t) => {
            let (version, data) =
                db::read(&state.pool, move |conn| state_at(conn, T::TYPE, &id, t)).await?;
            if let Some((field, value)) = parent {
                if data.get(field).and_then(|v| v.as_str()) != Some(value.as_str()) {
                    return Err(ApiError::NotFound(format!(
                        "no such {} under {value}",
                        T::TYPE
                    )));
                }
            }
            Ok(http::single(&req, version, &data))
        }
    }
}

/// The record as it stood at `t`: its latest audit event at or before then.
pub fn state_at(
    conn: &mut DbConnection,
    resource_type: &str,
    id: &str,
    t: NaiveDateTime,
) -> ApiResult<(i64, serde_json::Value)> {
    let latest: Option<(i64, Option<String>)> = audit_events::table
        .filter(audit_events::resource_type.eq(resource_type))
        .filter(audit_events::resource_id.eq(id))
        .filter(audit_events::at.le(t))
        .order((
            audit_events::resource_version.desc(),
            audit_events::id.desc(),
        ))
        .select((audit_events::resource_version, audit_events::after_data))
        .first(conn)
        .optional()?;
    let when = utc(t).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    match latest {
        Some((version, Some(data))) => Ok((
            version,
            serde_json::from_str(&data).map_err(ApiError::internal)?,
        )),
        Some((_, None)) => Err(ApiError::Gone(format!(
            "{resource_type} {id} had been deleted by {when}"
        ))),
        None => {
            let later: i64 = audit_events::table
                .filter(audit_events::resource_type.eq(resource_type))
                .filter(audit_events::resource_id.eq(id))
                .count()
                .get_result(conn)?;
            Err(ApiError::NotFound(if later > 0 {
                format!("{resource_type} {id} did not exist yet at {when}")
            } else {
                format!("no such {resource_type}")
            }))
        }
    }
}
