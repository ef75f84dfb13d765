//! The audit trail: who changed what, when, with the record before and after. It is written
//! only by the write path (`changes::record`), and the database refuses to update or delete it.
//! Read at `GET /v1/audit-events` (`routes`) and by point-in-time reads (`state_at`, for
//! `?as_of=` on every single-resource GET).

pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    access::Role,
    db::{schema::audit_events, DbConnection},
    error::{ApiError, ApiResult},
    model::utc,
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
