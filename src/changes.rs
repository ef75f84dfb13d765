//! The one write path. Every change to a resource goes through `record`, inside the same
//! transaction as the change itself: it checks the version moved by exactly one, and writes the
//! audit event (who, what, before, after) and the change-feed event. No resource can forget either.

use diesel::prelude::*;
use serde::Serialize;

use crate::{
    access::Role,
    db::{schema, DbConnection},
    error::ApiError,
    model::now,
};

/// Who is writing, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub sub: String,
    pub roles: Vec<Role>,
    /// The service's id of the request.
    pub request_id: Option<String>,
    /// The client's own `X-Request-Id`, when it sent one.
    pub correlation_id: Option<String>,
}

impl Actor {
    /// The service itself (shipped data, migrations).
    pub fn system() -> Self {
        Actor {
            sub: "system".into(),
            roles: vec![],
            request_id: None,
            correlation_id: None,
        }
    }
}

/// A record the write path can log.
pub trait Resource: Serialize {
    /// The `resource_type` in audit and change events.
    const KIND: crate::model::ResourceType;
    /// `KIND` as text, e.g. `document`.
    const TYPE: &'static str = Self::KIND.as_str();
    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// When the record last changed. Audit and change events carry this very time, so a
    /// point-in-time read at a record's `updated_at` finds that version.
    fn updated_at(&self) -> chrono::DateTime<chrono::Utc>;
    /// The decision the record carries (adoption, approval, the board's membership decision).
    fn decision(&self) -> Option<&crate::access::Decision> {
        None
    }
    /// What a decision on this record decided, in a Swedish sentence (as the rest of the
    /// content), for the decision register.
    fn decision_summary(
        &self,
        _conn: &mut DbConnection,
        kind: crate::decisions::DecisionKind,
    ) -> Result<String, ApiError> {
        Ok(format!(
            "Beslut ({}) om {} {}",
            kind.as_str(),
            Self::TYPE,
            self.id()
        ))
    }
}

/// What happened to a record.
pub enum Change<'a, R> {
    Created(&'a R),
    /// `action` names the step: `update`, `propose`, `adopt`, `supersede`, ...
    Updated {
        action: &'a str,
        before: &'a R,
        after: &'a R,
    },
    /// The record as it was, and the version its tombstone carries.
    Deleted {
        before: &'a R,
        version: i64,
    },
}

/// Records the shared flow's update (`action` "update") of `before` into `after`.
pub fn record_update<R: Resource>(
    conn: &mut DbConnection,
    actor: &Actor,
    before: &R,
    after: &R,
) -> Result<(), ApiError> {
    record(
        conn,
        actor,
        Change::Updated {
            action: "update",
            before,
            after,
        },
    )
}

pub fn record<R: Resource>(
    conn: &mut DbConnection,
    actor: &Actor,
    change: Change<'_, R>,
) -> Result<(), ApiError> {
    let (action, id, version, before, after, at) = match &change {
        Change::Created(r) => {
            if r.version() != 1 {
                return Err(ApiError::internal(format!(
                    "{} created at version {}",
                    R::TYPE,
                    r.version()
                )));
            }
            (
                "create",
                r.id(),
                r.version(),
                None,
                Some(to_json(*r)?),
                r.updated_at().naive_utc(),
            )
        }
        Change::Updated {
            action,
            before,
            after,
        } => {
            // The feed's `op` is read from the action ("create", "delete" or an update).
            if matches!(*action, "create" | "delete") {
                return Err(ApiError::internal(format!("an update named {action}")));
            }
            if after.version() != before.version() + 1 || after.id() != before.id() {
                return Err(ApiError::internal(format!(
                    "{} {} version did not move by one",
                    R::TYPE,
                    before.id()
                )));
            }
            (
                *action,
                after.id(),
                after.version(),
                Some(to_json(*before)?),
                Some(to_json(*after)?),
                after.updated_at().naive_utc(),
            )
        }
        Change::Deleted { before, version } => {
            if *version != before.version() + 1 {
                return Err(ApiError::internal(format!(
                    "{} {} tombstone version",
                    R::TYPE,
                    before.id()
                )));
            }
            (
                "delete",
                before.id(),
                *version,
                Some(to_json(*before)?),
                None,
                now(),
            )
        }
    };
    let roles = serde_json::to_string(&actor.roles).map_err(ApiError::internal)?;
    match &change {
        Change::Created(r) => crate::decisions::register::<R>(conn, action, None, r, at)?,
        Change::Updated { before, after, .. } => {
            crate::decisions::register(conn, action, Some(*before), *after, at)?
        }
        Change::Deleted { .. } => {}
    }
    {
        use schema::audit_events::dsl as a;
        diesel::insert_into(a::audit_events)
            .values((
                a::at.eq(at),
                a::actor_sub.eq(&actor.sub),
                a::actor_roles.eq(&roles),
                a::action.eq(action),
                a::resource_type.eq(R::TYPE),
                a::resource_id.eq(id),
                a::resource_version.eq(version),
                a::before_data.eq(&before),
                a::after_data.eq(&after),
                a::request_id.eq(&actor.request_id),
                a::correlation_id.eq(&actor.correlation_id),
            ))
            .execute(conn)?;
    }
    // The change event is written by the database from this audit event (a trigger on each
    // backend, the same mapping of action to op), so that its seq is the order in which changes
    // became visible: PostgreSQL's runs inside COMMIT and first takes the lock that holds the
    // feed's readers below its seq until the commit is visible (migrations change_event_at_commit
    // and feed_order_without_commit_lock); SQLite has one writer at a time
    // (change_event_from_audit).
    Ok(())
}

fn to_json<R: Serialize>(r: &R) -> Result<String, ApiError> {
    serde_json::to_string(r).map_err(ApiError::internal)
}
