//! `GET /v1/reports/representatives`: the representations (a representative's seat with a
//! mandate) with their latest report-back, and which of them have not reported back for longer
//! than a given number of months (the policy asks for continuous reporting back).

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{Months, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{opt, Table};
use crate::{
    access::Action,
    auth::Caller,
    db::{self, schema::report_backs, DbConnection},
    error::ApiResult,
    memberships::{self, MembershipKind, MembershipRole, MembershipStatus},
    model::Checks,
    responses::errors::*,
    state::AppState,
};

/// A report-back, in brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportBackBrief {
    pub id: String,
    pub date: NaiveDate,
    pub meeting: String,
    /// `council` or `board`.
    pub reported_to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepresentativeLine {
    pub membership_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub representative: Option<String>,
    pub role: Option<MembershipRole>,
    pub mandate: Option<String>,
    pub status: MembershipStatus,
    pub start_date: Option<NaiveDate>,
    pub latest_report_back: Option<ReportBackBrief>,
    /// Whole months from the latest report-back to `as_of`; null when there is none.
    pub months_since_report_back: Option<u32>,
    /// No report-back within `no_report_back_months` before `as_of` (false when that is not
    /// given).
    pub overdue: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepresentativesReport {
    pub as_of: NaiveDate,
    /// The threshold asked for, if any; then only the overdue representations are listed.
    pub no_report_back_months: Option<i64>,
    pub items: Vec<RepresentativeLine>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepresentativesQuery {
    /// List only representations with no report-back for longer than this many months before
    /// `as_of` (1-120), including those that never reported back.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 120)]
    no_report_back_months: Option<String>,
    /// The date to judge by (default today, UTC), in the years 1900-2200.
    #[param(value_type = Option<NaiveDate>)]
    as_of: Option<String>,
}

fn build(
    conn: &mut DbConnection,
    as_of: NaiveDate,
    months: Option<i64>,
) -> ApiResult<RepresentativesReport> {
    let reps: Vec<_> = memberships::list(
        conn,
        &memberships::Filter {
            kind: Some(MembershipKind::Representation),
            status: None,
            organisation_id: None,
            review_due_by: None,
            updated_since: None,
            after: None,
            limit: i64::MAX,
        },
    )?
    .into_iter()
    .filter(|m| m.status != MembershipStatus::Ended)
    .collect();
    let ids: Vec<String> = reps.iter().map(|m| m.id.clone()).collect();
    let mut latest: HashMap<String, ReportBackBrief> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String, NaiveDate, String, String)> = report_backs::table
            .filter(report_backs::membership_id.eq_any(chunk))
            .filter(report_backs::deleted_at.is_null())
            .filter(report_backs::date.le(as_of))
            .order((report_backs::date.asc(), report_backs::id.asc()))
            .select((
                report_backs::membership_id,
                report_backs::id,
                report_backs::date,
                report_backs::meeting,
                report_backs::reported_to,
            ))
            .load(conn)?;
        for (mid, id, date, meeting, reported_to) in rows {
            latest.insert(
                mid,
                ReportBackBrief {
                    id,
                    date,
                    meeting,
                    reported_to,
                },
            );
        }
    }
    let org_ids: Vec<String> = reps.iter().map(|m| m.organisation_id.clone()).collect();
    let names = super::membership_reviews::organisation_names(conn, &org_ids)?;
    let cutoff = months.map(|m| {
        as_of
            .checked_sub_months(Months::new(m as u32))
            .unwrap_or(NaiveDate::MIN)
    });
    let items = reps
        .into_iter()
        .map(|m| {
            let last = latest.remove(&m.id);
            let since = last.as_ref().map(|r| whole_months(r.date, as_of));
            let overdue = match (cutoff, &last) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(c), Some(r)) => r.date < c,
            };
            RepresentativeLine {
                organisation_name: names.get(&m.organisation_id).cloned().unwrap_or_default(),
                membership_id: m.id,
                organisation_id: m.organisation_id,
                representative: m.representative,
                role: m.role,
                mandate: m.mandate,
                status: m.status,
                start_date: m.start_date,
                latest_report_back: last,
                months_since_report_back: since,
                overdue,
            }
        })
        .filter(|l| months.is_none() || l.overdue)
        .collect();
    Ok(RepresentativesReport {
        as_of,
        no_report_back_months: months,
        items,
    })
}

/// Whole calendar months from `from` to `to` (0 when `to` is earlier).
fn whole_months(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    while from
        .checked_add_months(Months::new(n + 1))
        .is_some_and(|d| d <= to)
    {
        n += 1;
    }
    n
}

fn table(r: &RepresentativesReport) -> Table {
    let mut t = Table::new(&[
        "membership_id",
        "organisation_id",
        "organisation_name",
        "representative",
        "role",
        "mandate",
        "status",
        "start_date",
        "latest_report_back_id",
        "latest_report_back_date",
        "latest_report_back_meeting",
        "latest_report_back_reported_to",
        "months_since_report_back",
        "overdue",
    ]);
    for i in &r.items {
        let l = i.latest_report_back.as_ref();
        t.rows.push(vec![
            i.membership_id.clone(),
            i.organisation_id.clone(),
            i.organisation_name.clone(),
            opt(&i.representative),
            opt(&i.role.map(|r| r.as_str())),
            opt(&i.mandate),
            i.status.as_str().into(),
            opt(&i.start_date),
            opt(&l.map(|l| l.id.clone())),
            opt(&l.map(|l| l.date)),
            opt(&l.map(|l| l.meeting.clone())),
            opt(&l.map(|l| l.reported_to.clone())),
            opt(&i.months_since_report_back),
            i.overdue.to_string(),
        ]);
    }
    t
}

/// Representations (not ended) with their mandate and latest report-back; with
/// `no_report_back_months`, only those silent for longer than that.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(RepresentativesQuery),
    responses(
        (status = 200, description = "The representations",
            content((RepresentativesReport = "application/json"),
                    (String = "text/csv", example = "membership_id,organisation_id,organisation_name,...\r\n")),
            headers(("Vary" = String, description = "`Accept`: JSON or CSV"))),
        ReportErrors,
    )
)]
#[get("/reports/representatives")]
pub async fn representatives(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<RepresentativesQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let mut c = Checks::default();
    let as_of = c.date_param("as_of", q.as_of.as_deref());
    let months = c.int_param(
        "no_report_back_months",
        q.no_report_back_months.as_deref(),
        1,
        120,
    );
    c.finish()?;
    let format = super::negotiate(&req)?;
    let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = db::read(&state.pool, move |conn| build(conn, as_of, months)).await?;
    Ok(super::respond(format, "representatives", &report, table))
}

#[cfg(test)]
mod tests {
    use super::whole_months;
    use chrono::NaiveDate;

    #[test]
    fn whole_calendar_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(whole_months(d("2026-01-31"), d("2026-02-27")), 0);
        // A month after the 31st is the last day of a shorter month.
        assert_eq!(whole_months(d("2026-01-31"), d("2026-02-28")), 1);
        assert_eq!(whole_months(d("2026-01-15"), d("2026-07-15")), 6);
        assert_eq!(whole_months(d("2026-07-15"), d("2026-01-15")), 0);
    }
}
