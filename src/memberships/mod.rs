//! Memberships: the region's membership of a body or network, or a representative's seat in
//! one of its groups. Officers prepare them; the board decides (records the decision, sets the
//! status, ends them). Each must be reviewed regularly: `next_review_due` follows the latest
//! approved evaluation (or the start date) plus the review interval.

pub mod report_backs;
pub mod routes;
mod rules;

use rules::{check_deciding, check_settled};

use chrono::{Months, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    access::{self, Action, DecidingBody, Decision},
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{
            memberships, organisations as organisations_table, report_backs as report_backs_table,
        },
        DbConnection,
    },
    error::{ApiError, ApiResult},
    model::{new_id, now, utc, Checks, Money},
    organisations, string_enum, versioned_store,
};

string_enum!(
    /// A membership of the region itself, or a named representative's seat.
    MembershipKind {
        Membership => "membership" / "medlemskap",
        Representation => "representation" / "representation",
    }
);

string_enum!(
    /// The region's (or representative's) role in the organisation.
    MembershipRole {
        Member => "member",
        BoardMember => "board_member",
        Delegate => "delegate",
        Substitute => "substitute",
        Observer => "observer",
        Chair => "chair",
    }
);

string_enum!(
    /// Where a membership stands. `ended` is reached only through `POST .../end`.
    MembershipStatus {
        Active => "active" / "aktiv",
        UnderReview => "under_review" / "under prövning",
        NoticeGiven => "notice_given" / "uppsagd",
        Ended => "ended" / "avslutad",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub id: String,
    pub kind: MembershipKind,
    pub organisation_id: String,
    pub role: Option<MembershipRole>,
    /// The representative (for representations).
    pub representative: Option<String>,
    /// The assignment the representative carries.
    pub mandate: Option<String>,
    /// The board's decision on the membership (joining, continuing, ending).
    pub decision: Option<Decision>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub annual_fee: Option<Money>,
    pub review_interval_months: i32,
    pub status: MembershipStatus,
    /// The decision date of the latest approved evaluation of this membership.
    pub last_reviewed_on: Option<NaiveDate>,
    /// The latest approved evaluation (or the start date, or the day it was recorded) plus the
    /// review interval.
    pub next_review_due: NaiveDate,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Resource for Membership {
    crate::resource_keys!(Membership);
    fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }
    fn decision_summary(
        &self,
        conn: &mut DbConnection,
        kind: crate::decisions::DecisionKind,
    ) -> ApiResult<String> {
        let name: String = organisations_table::table
            .filter(organisations_table::id.eq(&self.organisation_id))
            .select(organisations_table::name)
            .first(conn)?;
        Ok(match (kind, self.end_date, &self.decision) {
            (crate::decisions::DecisionKind::MembershipEnd, end, Some(d)) => format!(
                "Avslutade {} i \"{name}\" från {}",
                self.kind.sv(),
                end.unwrap_or(d.date)
            ),
            _ => format!(
                "Beslutade om {} i \"{name}\": status {}",
                self.kind.sv(),
                self.status.sv()
            ),
        })
    }
}

/// The writable fields of a membership. Fields marked *decided* are what a board decision
/// settles: officers may set them while preparing a membership (`under_review`, no decision
/// yet); once the board has decided, only the board changes them (403 for anyone else).
/// Fields marked *descriptive* are edited by the board and officers alike.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipInput {
    /// Decided.
    pub kind: MembershipKind,
    /// Decided: the organisation the membership is in.
    pub organisation_id: String,
    /// Descriptive: the region's role in the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MembershipRole>,
    /// Descriptive. Only for representations; at most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative: Option<String>,
    /// Descriptive. At most 5000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate: Option<String>,
    /// Decided: the board's decision; set by the board only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    /// Decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_fee: Option<Money>,
    /// Decided. 1-120 months, default 12.
    #[serde(default = "twelve")]
    pub review_interval_months: i32,
    /// Decided: set by the board only (`active`, `under_review`, `notice_given`); default
    /// `active` for the board, `under_review` for an officer. `ended` only through `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MembershipStatus>,
}

fn twelve() -> i32 {
    12
}

/// The body of `end`: the board's decision and the end date.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    /// The date of the decision.
    pub date: NaiveDate,
    /// The decision's reference, e.g. `RS 2026-11-20 § 14`.
    pub reference: String,
    /// When the membership ends; defaults to the decision date.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = memberships, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    kind: String,
    organisation_id: String,
    role: Option<String>,
    representative: Option<String>,
    mandate: Option<String>,
    decision_body: Option<String>,
    decision_date: Option<NaiveDate>,
    decision_reference: Option<String>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    annual_fee_minor: Option<i64>,
    annual_fee_currency: Option<String>,
    review_interval_months: i32,
    status: String,
    last_reviewed_on: Option<NaiveDate>,
    next_review_due: NaiveDate,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(memberships, Row);

impl Row {
    fn of(m: &Membership) -> Self {
        let (annual_fee_minor, annual_fee_currency) = Money::columns(&m.annual_fee);
        let (decision_body, decision_date, decision_reference) = Decision::columns(&m.decision);
        Row {
            id: m.id.clone(),
            kind: m.kind.as_str().into(),
            organisation_id: m.organisation_id.clone(),
            role: m.role.map(|r| r.as_str().into()),
            representative: m.representative.clone(),
            mandate: m.mandate.clone(),
            decision_body,
            decision_date,
            decision_reference,
            start_date: m.start_date,
            end_date: m.end_date,
            annual_fee_minor,
            annual_fee_currency,
            review_interval_months: m.review_interval_months,
            status: m.status.as_str().into(),
            last_reviewed_on: m.last_reviewed_on,
            next_review_due: m.next_review_due,
            version: m.version,
            created_at: m.created_at.naive_utc(),
            updated_at: m.updated_at.naive_utc(),
            deleted_at: None,
        }
    }

    fn into_api(self) -> ApiResult<Membership> {
        let decision = Decision::from_columns((
            self.decision_body,
            self.decision_date,
            self.decision_reference,
        ))?;
        Ok(Membership {
            kind: MembershipKind::from_db(&self.kind)?,
            role: self
                .role
                .as_deref()
                .map(MembershipRole::from_db)
                .transpose()?,
            status: MembershipStatus::from_db(&self.status)?,
            annual_fee: Money::from_columns(self.annual_fee_minor, self.annual_fee_currency),
            decision,
            id: self.id,
            organisation_id: self.organisation_id,
            representative: self.representative,
            mandate: self.mandate,
            start_date: self.start_date,
            end_date: self.end_date,
            review_interval_months: self.review_interval_months,
            last_reviewed_on: self.last_reviewed_on,
            next_review_due: self.next_review_due,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// The review rule: from the latest approved evaluation, else the start date, else the date of
/// the decision it rests on, else the day the membership was recorded, plus the interval.
pub fn review_due(m: &Membership) -> NaiveDate {
    let base = m
        .last_reviewed_on
        .or(m.start_date)
        .or(m.decision.as_ref().map(|d| d.date))
        .unwrap_or(m.created_at.date_naive());
    base.checked_add_months(Months::new(m.review_interval_months.max(0) as u32))
        .unwrap_or(base)
}

#[derive(Clone)]
pub struct Filter {
    pub kind: Option<MembershipKind>,
    pub status: Option<MembershipStatus>,
    pub organisation_id: Option<String>,
    /// Review due on or before this date.
    pub review_due_by: Option<NaiveDate>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &Filter) -> ApiResult<Vec<Membership>> {
    crate::crud::PageQuery::load(f, conn, crate::crud::Columns::Rows)?
        .into_rows()?
        .into_iter()
        .map(Row::into_api)
        .collect()
}

// A page of the list (`crud::PageQuery`, `crud::Listed`): the filters narrow the query `q`.
crate::page_query!(Filter, memberships, Row, |q, f| {
    if let Some(k) = f.kind {
        q = q.filter(memberships::kind.eq(k.as_str()));
    }
    if let Some(s) = f.status {
        q = q.filter(memberships::status.eq(s.as_str()));
    }
    if let Some(o) = &f.organisation_id {
        q = q.filter(memberships::organisation_id.eq(o.clone()));
    }
    if let Some(d) = f.review_due_by {
        q = q.filter(memberships::next_review_due.le(d));
    }
});

fn with_input(base: Membership, i: MembershipInput, status: MembershipStatus) -> Membership {
    let mut m = Membership {
        kind: i.kind,
        organisation_id: i.organisation_id,
        role: i.role,
        representative: i.representative,
        mandate: i.mandate,
        decision: i.decision.map(|d| Decision {
            reference: d.reference.trim().to_string(),
            ..d
        }),
        start_date: i.start_date,
        end_date: i.end_date,
        annual_fee: i.annual_fee.map(Money::normalised),
        review_interval_months: i.review_interval_months,
        status,
        ..base
    };
    m.next_review_due = review_due(&m);
    m
}

/// The organisation `i` names, unless `before` (the membership before an update) already did.
fn check_refs(
    conn: &mut DbConnection,
    i: &MembershipInput,
    before: Option<&Membership>,
) -> ApiResult<()> {
    let held = before.is_some_and(|b| b.organisation_id == i.organisation_id);
    if !held && !organisations::exists(conn, &i.organisation_id)? {
        return Err(ApiError::validation(
            "organisation_id",
            "no organisation with this id",
        ));
    }
    Ok(())
}

/// Only the board decides: recording a decision or moving the status needs the board's role.
pub fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Membership> {
    memberships::table
        .filter(memberships::id.eq(id))
        .filter(memberships::deleted_at.is_null())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound(format!("no membership with id {id}")))?
        .into_api()
}

impl crate::crud::Listed for Membership {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(_: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        rows.into_iter().map(Row::into_api).collect()
    }
}

impl Entity for Membership {
    crate::live_version!(memberships);
    type Input = MembershipInput;
    const COLLECTION: &'static str = "/v1/memberships";
    const READ_ONLY: &'static [&'static str] = &["last_reviewed_on", "next_review_due"];

    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self> {
        load(conn, id)
    }

    fn input(&self) -> MembershipInput {
        MembershipInput {
            kind: self.kind,
            organisation_id: self.organisation_id.clone(),
            role: self.role,
            representative: self.representative.clone(),
            mandate: self.mandate.clone(),
            decision: self.decision.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            annual_fee: self.annual_fee.clone(),
            review_interval_months: self.review_interval_months,
            status: Some(self.status),
        }
    }

    fn ensure_writable(&self, _conn: &mut DbConnection) -> ApiResult<()> {
        if self.status == MembershipStatus::Ended {
            return Err(ApiError::Conflict(format!(
                "membership {} has ended and is read-only",
                self.id
            )));
        }
        Ok(())
    }

    fn check(i: &MembershipInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("organisation_id", Some(&i.organisation_id), true, 64);
        c.text("representative", i.representative.as_deref(), false, 200);
        if i.representative.is_some() && i.kind == MembershipKind::Membership {
            c.add(
                "representative",
                "is for representations; a membership is the region's own",
            );
        }
        c.text("mandate", i.mandate.as_deref(), false, 5000);
        if let Some(d) = &i.decision {
            c.text("decision.reference", Some(&d.reference), true, 200);
        }
        c.date_order("end_date", i.start_date, i.end_date);
        c.money("annual_fee", i.annual_fee.as_ref());
        c.range(
            "review_interval_months",
            Some(i.review_interval_months.into()),
            1,
            120,
        );
        if i.status == Some(MembershipStatus::Ended) {
            c.add("status", "a membership is ended with POST /v1/memberships/{id}/end, which records the decision");
        }
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: MembershipInput,
    ) -> ApiResult<Self> {
        before.ensure_writable(conn)?;
        let status = i.status.unwrap_or(before.status);
        check_deciding(
            actor,
            i.decision.as_ref(),
            i.decision != before.decision,
            status != before.status,
        )?;
        check_settled(actor, before, &i)?;
        check_refs(conn, &i, Some(before))?;
        let mut after = with_input(before.clone(), i, status);
        after.version = before.version + 1;
        after.updated_at = utc(now());
        store_update(conn, &Row::of(&after))?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        if before.decision.is_some() || before.status == MembershipStatus::Ended {
            return Err(ApiError::Conflict(format!(
                "membership {} carries the board's decision; a decided membership is ended with \
                 POST /v1/memberships/{}/end, not deleted",
                before.id, before.id
            )));
        }
        let report: Option<String> = report_backs_table::table
            .filter(report_backs_table::membership_id.eq(&before.id))
            .filter(report_backs_table::deleted_at.is_null())
            .select(report_backs_table::id)
            .first(conn)
            .optional()?;
        if let Some(r) = report {
            return Err(ApiError::Conflict(format!(
                "report-back {r} belongs to this membership; a membership with a history is ended, not deleted"
            )));
        }
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

/// Ends a membership by the board's decision.
pub fn end(
    conn: &mut DbConnection,
    actor: &Actor,
    before: &Membership,
    req: EndRequest,
) -> ApiResult<Membership> {
    if before.status == MembershipStatus::Ended {
        return Err(ApiError::Conflict(format!(
            "membership {} has already ended",
            before.id
        )));
    }
    let end_date = req.end_date.unwrap_or(req.date);
    if let Some(start) = before.start_date {
        if end_date < start {
            return Err(ApiError::validation(
                "end_date",
                format!("must not be before the start ({start})"),
            ));
        }
    }
    let after = Membership {
        status: MembershipStatus::Ended,
        end_date: Some(end_date),
        decision: Some(Decision {
            body: DecidingBody::Board,
            date: req.date,
            reference: req.reference.trim().to_string(),
        }),
        version: before.version + 1,
        updated_at: utc(now()),
        ..before.clone()
    };
    store_update(conn, &Row::of(&after))?;
    changes::record(
        conn,
        actor,
        Change::Updated {
            action: "end",
            before,
            after: &after,
        },
    )?;
    Ok(after)
}

/// Records that an evaluation of the membership was approved on `date`: the next review is due
/// one interval later.
pub fn mark_reviewed(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    date: NaiveDate,
) -> ApiResult<()> {
    let before = load(conn, id)?;
    if before.last_reviewed_on.is_some_and(|d| d >= date) {
        return Ok(());
    }
    let mut after = Membership {
        last_reviewed_on: Some(date),
        version: before.version + 1,
        updated_at: utc(now()),
        ..before.clone()
    };
    after.next_review_due = review_due(&after);
    store_update(conn, &Row::of(&after))?;
    changes::record(
        conn,
        actor,
        Change::Updated {
            action: "review",
            before: &before,
            after: &after,
        },
    )
}

/// Creates a membership for the shipped data (the service itself writes it).
pub fn seed(
    conn: &mut DbConnection,
    actor: &Actor,
    input: MembershipInput,
) -> ApiResult<Membership> {
    let status = input.status.unwrap_or(MembershipStatus::Active);
    insert(conn, actor, input, status)
}

fn insert(
    conn: &mut DbConnection,
    actor: &Actor,
    i: MembershipInput,
    status: MembershipStatus,
) -> ApiResult<Membership> {
    let t = utc(now());
    let base = Membership {
        id: new_id(),
        kind: i.kind,
        organisation_id: String::new(),
        role: None,
        representative: None,
        mandate: None,
        decision: None,
        start_date: None,
        end_date: None,
        annual_fee: None,
        review_interval_months: 12,
        status,
        last_reviewed_on: None,
        next_review_due: t.date_naive(),
        version: 1,
        created_at: t,
        updated_at: t,
    };
    let m = with_input(base, i, status);
    diesel::insert_into(memberships::table)
        .values(Row::of(&m))
        .execute(conn)?;
    changes::record(conn, actor, Change::Created(&m))?;
    Ok(m)
}

impl crate::crud::Creatable for Membership {
    fn create(conn: &mut DbConnection, actor: &Actor, i: MembershipInput) -> ApiResult<Self> {
        let board = access::is_allowed(&actor.roles, Action::DecideMembership);
        let default_status = if board {
            MembershipStatus::Active
        } else {
            MembershipStatus::UnderReview
        };
        let status = i.status.unwrap_or(default_status);
        check_deciding(
            actor,
            i.decision.as_ref(),
            i.decision.is_some(),
            status != MembershipStatus::UnderReview,
        )?;
        check_refs(conn, &i, None)?;
        insert(conn, actor, i, status)
    }
}
