//! `GET /v1/audit-events`: the audit trail for council and board, filtered and keyset-paged.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    db::schema::audit_events,
    error::{ApiError, ApiResult},
    model::{parse_time_param, Checks, ResourceType},
    pagination,
    responses::errors::*,
    state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about records of this type.
    #[param(value_type = Option<ResourceType>, example = "document")]
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
            if let Err(ApiError::Validation(mut e)) = ResourceType::from_query("resource_type", t) {
                c.0.append(&mut e);
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
