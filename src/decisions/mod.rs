//! The decision register: every decision the service records (adoptions, approvals, the board's
//! decisions on memberships and their ends), written by the one write path when a record's
//! decision appears or changes, and read at `GET /v1/decisions`. The table is append-only; the
//! database refuses updates and deletes.

pub mod routes;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    access::DecidingBody,
    changes::Resource,
    db::{schema::decisions, DbConnection},
    error::{ApiError, ApiResult},
    model::{new_id, utc},
    string_enum,
};

string_enum!(
    /// What was decided: `adoption` of a governing document (council or board, by its kind),
    /// `approval` of an evaluation (board), `membership_decision` (the board joins, continues
    /// or changes a membership or representation), `membership_end` (the board ends one),
    /// `position` (the board takes a position in the running work).
    DecisionKind {
        Adoption => "adoption",
        Approval => "approval",
        MembershipDecision => "membership_decision",
        MembershipEnd => "membership_end",
        Position => "position",
    }
);

impl DecisionKind {
    /// The kind of a decision that appeared on a record of `resource_type` through `action`.
    pub fn of(resource_type: &str, action: &str) -> Self {
        match (resource_type, action) {
            ("membership", "end") => DecisionKind::MembershipEnd,
            ("membership", _) => DecisionKind::MembershipDecision,
            ("evaluation", _) => DecisionKind::Approval,
            ("position", _) => DecisionKind::Position,
            _ => DecisionKind::Adoption,
        }
    }
}

/// One entry of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionEntry {
    pub id: String,
    pub kind: DecisionKind,
    pub body: DecidingBody,
    pub date: NaiveDate,
    /// E.g. `RF 2018-06-21 § 135`.
    pub reference: String,
    /// What was decided, in a Swedish sentence (entries recorded before 2026-12-08 are in
    /// English).
    #[schema(example = "Antog policy \"Internationell policy\"")]
    pub summary: String,
    /// The record the decision is about: `document`, `evaluation` or `membership`.
    #[schema(example = "document")]
    pub resource_type: String,
    pub resource_id: String,
    /// The record's version the decision produced; read it with `?as_of=<recorded_at>`.
    pub resource_version: i64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

/// A page of decisions (the list envelope, with the items' schema named).
#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub items: Vec<DecisionEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = decisions)]
struct Row {
    id: String,
    kind: String,
    body: String,
    date: NaiveDate,
    year: i32,
    reference: String,
    summary: String,
    resource_type: String,
    resource_id: String,
    resource_version: i64,
    recorded_at: chrono::NaiveDateTime,
}

impl Row {
    fn into_api(self) -> ApiResult<DecisionEntry> {
        Ok(DecisionEntry {
            kind: DecisionKind::from_db(&self.kind)?,
            body: DecidingBody::parse(&self.body)
                .ok_or_else(|| ApiError::internal(format!("stored body {:?}", self.body)))?,
            id: self.id,
            date: self.date,
            reference: self.reference,
            summary: self.summary,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            resource_version: self.resource_version,
            recorded_at: utc(self.recorded_at),
        })
    }
}

/// Called by the write path for every change: registers the record's decision when it is new
/// or differs from the one before.
pub fn register<R: Resource>(
    conn: &mut DbConnection,
    action: &str,
    before: Option<&R>,
    after: &R,
    at: chrono::NaiveDateTime,
) -> ApiResult<()> {
    let Some(d) = after.decision() else {
        return Ok(());
    };
    if before.and_then(|b| b.decision()) == Some(d) && action != "end" {
        return Ok(());
    }
    let kind = DecisionKind::of(R::TYPE, action);
    let row = Row {
        id: new_id(),
        kind: kind.as_str().into(),
        body: d.body.as_str().into(),
        date: d.date,
        year: d.date.year(),
        reference: d.reference.clone(),
        summary: after.decision_summary(conn, kind)?,
        resource_type: R::TYPE.into(),
        resource_id: after.id().into(),
        resource_version: after.version(),
        recorded_at: at,
    };
    diesel::insert_into(decisions::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}
