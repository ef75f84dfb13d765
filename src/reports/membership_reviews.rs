//! `GET /v1/reports/membership-reviews?as_of=`: the memberships and representations whose
//! review (the policy's "regularly evaluated and reconsidered") is due or overdue on a date, with
//! their last approved evaluation, its recommendation, and the annual fee.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{opt, Table};
use crate::{
    access::Action,
    auth::Caller,
    db::{
        self,
        schema::{evaluations, organisations},
        DbConnection,
    },
    error::ApiResult,
    evaluations::{GoalFulfilment, Recommendation},
    memberships::{self, MembershipKind, MembershipStatus},
    model::{Checks, Money},
    responses::errors::*,
    state::AppState,
};

/// An approved evaluation, in brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluationBrief {
    pub id: String,
    /// The board's approval date.
    pub decision_date: Option<NaiveDate>,
    pub goal_fulfilment: GoalFulfilment,
    pub recommendation: Option<Recommendation>,
}

/// One membership whose review is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipReview {
    pub membership_id: String,
    pub kind: MembershipKind,
    pub organisation_id: String,
    pub organisation_name: String,
    pub representative: Option<String>,
    pub status: MembershipStatus,
    pub review_interval_months: i32,
    pub next_review_due: NaiveDate,
    /// `overdue` when the review was due before `as_of`, `due` otherwise.
    #[schema(example = "overdue")]
    pub review_state: String,
    /// Days from `next_review_due` to `as_of`; negative when it falls due later.
    pub days_overdue: i64,
    pub annual_fee: Option<Money>,
    /// The latest approved evaluation of this membership.
    pub last_evaluation: Option<EvaluationBrief>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipReviewReport {
    pub as_of: NaiveDate,
    pub within_days: i64,
    /// Ordered by `next_review_due`, the most overdue first.
    pub items: Vec<MembershipReview>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// The date to judge by (default today, UTC), in the years 1900-2200.
    #[param(value_type = Option<NaiveDate>)]
    as_of: Option<String>,
    /// Also list reviews falling due within this many days after `as_of` (0-366, default 0).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 366)]
    within_days: Option<String>,
    /// Only memberships or only representations.
    #[param(value_type = Option<MembershipKind>)]
    kind: Option<String>,
}

/// The latest approved evaluation of each subject of `subject_type` among `ids`.
pub fn latest_approved(
    conn: &mut DbConnection,
    subject_type: &str,
    ids: &[String],
) -> ApiResult<HashMap<String, EvaluationBrief>> {
    type EvalRow = (String, String, Option<NaiveDate>, String, Option<String>);
    let mut latest: HashMap<String, EvaluationBrief> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<EvalRow> = evaluations::table
            .filter(evaluations::subject_type.eq(subject_type))
            .filter(evaluations::subject_id.eq_any(chunk))
            .filter(evaluations::status.eq("approved"))
            .filter(evaluations::deleted_at.is_null())
            .order((evaluations::decision_date.asc(), evaluations::id.asc()))
            .select((
                evaluations::subject_id,
                evaluations::id,
                evaluations::decision_date,
                evaluations::goal_fulfilment,
                evaluations::recommendation,
            ))
            .load(conn)?;
        // Ascending, so the last one seen for a subject is the latest.
        for (subject, id, date, fulfilment, rec) in rows {
            latest.insert(
                subject,
                EvaluationBrief {
                    id,
                    decision_date: date,
                    goal_fulfilment: GoalFulfilment::from_db(&fulfilment)?,
                    recommendation: rec.as_deref().map(Recommendation::from_db).transpose()?,
                },
            );
        }
    }
    Ok(latest)
}

/// Organisation names by id.
pub fn organisation_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> ApiResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(500) {
        names.extend(
            organisations::table
                .filter(organisations::id.eq_any(chunk))
                .select((organisations::id, organisations::name))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(names)
}

fn build(
    conn: &mut DbConnection,
    as_of: NaiveDate,
    within_days: i64,
    kind: Option<MembershipKind>,
) -> ApiResult<MembershipReviewReport> {
    let horizon = as_of + chrono::Duration::days(within_days);
    let mut due: Vec<_> = memberships::list(
        conn,
        &memberships::Filter {
            kind,
            status: None,
            organisation_id: None,
            review_due_by: Some(horizon),
            updated_since: None,
            after: None,
            limit: i64::MAX,
        },
    )?
    .into_iter()
    .filter(|m| m.status != MembershipStatus::Ended)
    .collect();
    due.sort_by(|a, b| (a.next_review_due, &a.id).cmp(&(b.next_review_due, &b.id)));
    let ids: Vec<String> = due.iter().map(|m| m.id.clone()).collect();
    let mut evaluations = latest_approved(conn, "membership", &ids)?;
    let org_ids: Vec<String> = due.iter().map(|m| m.organisation_id.clone()).collect();
    let names = organisation_names(conn, &org_ids)?;
    let items = due
        .into_iter()
        .map(|m| {
            let days = (as_of - m.next_review_due).num_days();
            MembershipReview {
                last_evaluation: evaluations.remove(&m.id),
                organisation_name: names.get(&m.organisation_id).cloned().unwrap_or_default(),
                membership_id: m.id,
                kind: m.kind,
                organisation_id: m.organisation_id,
                representative: m.representative,
                status: m.status,
                review_interval_months: m.review_interval_months,
                next_review_due: m.next_review_due,
                review_state: if days > 0 { "overdue" } else { "due" }.into(),
                days_overdue: days,
                annual_fee: m.annual_fee,
            }
        })
        .collect();
    Ok(MembershipReviewReport {
        as_of,
        within_days,
        items,
    })
}

fn table(r: &MembershipReviewReport) -> Table {
    let mut t = Table::new(&[
        "membership_id",
        "kind",
        "organisation_id",
        "organisation_name",
        "representative",
        "status",
        "review_interval_months",
        "next_review_due",
        "review_state",
        "days_overdue",
        "annual_fee",
        "annual_fee_currency",
        "last_evaluation_id",
        "last_evaluation_decision_date",
        "last_evaluation_goal_fulfilment",
        "last_evaluation_recommendation",
    ]);
    for i in &r.items {
        let e = i.last_evaluation.as_ref();
        t.rows.push(vec![
            i.membership_id.clone(),
            i.kind.as_str().into(),
            i.organisation_id.clone(),
            i.organisation_name.clone(),
            opt(&i.representative),
            i.status.as_str().into(),
            i.review_interval_months.to_string(),
            i.next_review_due.to_string(),
            i.review_state.clone(),
            i.days_overdue.to_string(),
            opt(&i.annual_fee.as_ref().map(|m| m.amount.clone())),
            opt(&i.annual_fee.as_ref().map(|m| m.currency.clone())),
            opt(&e.map(|e| e.id.clone())),
            opt(&e.and_then(|e| e.decision_date)),
            opt(&e.map(|e| e.goal_fulfilment.as_str())),
            opt(&e.and_then(|e| e.recommendation.map(|r| r.as_str()))),
        ]);
    }
    t
}

/// Memberships and representations whose review is due or overdue on `as_of` (not ended ones),
/// with the last approved evaluation, its recommendation and the annual fee.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(ReviewQuery),
    responses(
        (status = 200, description = "The reviews due",
            content((MembershipReviewReport = "application/json"),
                    (String = "text/csv", example = "membership_id,kind,organisation_id,organisation_name,...\r\n")),
            headers(("Vary" = String, description = "`Accept`: JSON or CSV"))),
        ReportErrors,
    )
)]
#[get("/reports/membership-reviews")]
pub async fn membership_reviews(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ReviewQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let mut c = Checks::default();
    let as_of = c.date_param("as_of", q.as_of.as_deref());
    let within_days = c
        .int_param("within_days", q.within_days.as_deref(), 0, 366)
        .unwrap_or(0);
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => {
            let p = MembershipKind::parse(k);
            if p.is_none() {
                c.add("kind", "must be membership or representation");
            }
            p
        }
    };
    c.finish()?;
    let format = super::negotiate(&req)?;
    let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = db::read(&state.pool, move |conn| {
        build(conn, as_of, within_days, kind)
    })
    .await?;
    Ok(super::respond(format, "membership-reviews", &report, table))
}
