//! `GET /v1/reports/project-portfolio`: total budget and EU funding of the live projects by
//! programme, status, priority area and the region's role, per currency. Sums are exact and
//! cannot overflow: minor units, summed by the database in two parts (see `breakdown`) and
//! joined in 128 bits.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Text},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{opt, Format, Table};
use crate::{
    access::Action,
    auth::Caller,
    db::{
        self,
        schema::{goals, programmes},
        DbConnection,
    },
    error::ApiResult,
    model::Money,
    responses::errors::*,
    state::AppState,
};

/// The sums in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyTotals {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Sum of the total budgets given in this currency.
    pub total_budget: Money,
    /// Sum of the EU funding given in this currency.
    pub eu_funding: Money,
}

/// One value of a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortfolioGroup {
    /// The programme id, status, priority area id or role; null for projects without one.
    pub key: Option<String>,
    /// The programme's name or the priority area's title (those two only).
    pub label: Option<String>,
    /// Live projects in this group.
    pub projects: i64,
    /// One entry per currency used; projects without amounts add none.
    pub amounts: Vec<CurrencyTotals>,
}

/// The portfolio. A project linked to several priority areas counts in each of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortfolioReport {
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// All live projects.
    pub total: PortfolioGroup,
    pub by_programme: Vec<PortfolioGroup>,
    pub by_status: Vec<PortfolioGroup>,
    pub by_priority_area: Vec<PortfolioGroup>,
    pub by_region_role: Vec<PortfolioGroup>,
}

#[derive(QueryableByName)]
struct Agg {
    #[diesel(sql_type = Nullable<Text>)]
    k: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    bc: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ec: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    /// Sums of the amounts' high parts (minor units / `SPLIT`) and low parts (the remainder).
    #[diesel(sql_type = Nullable<BigInt>)]
    bh: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bl: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    eh: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    el: Option<i64>,
}

/// An accepted amount is below 10^15 minor units (13 digits and 2 decimals), so its high part
/// is below 10^6 and its low part below 10^9: a 64-bit SUM of either part cannot overflow
/// (SQLite fails on overflow, PostgreSQL's bigint cast would) for fewer than 9 * 10^9 rows,
/// and the whole sum is joined exactly in 128 bits.
const SPLIT: i128 = 1_000_000_000;

fn joined(high: Option<i64>, low: Option<i64>) -> Option<i128> {
    Some(i128::from(high?) * SPLIT + i128::from(low?))
}

/// Minor units by currency: (total budget, EU funding).
type Sums = BTreeMap<String, (i128, i128)>;
/// Group key -> (projects, sums).
type Groups = BTreeMap<Option<String>, (i64, Sums)>;

/// Groups by `key` (a column of `projects p`, or `l.target` of the priority-area links).
fn breakdown(conn: &mut DbConnection, key: &str) -> ApiResult<Groups> {
    let join = if key == "l.target" {
        "LEFT JOIN resource_links l ON l.resource_type = 'project' AND l.rel = 'priority_area' \
         AND l.resource_id = p.id"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {key} AS k, p.total_budget_currency AS bc, p.eu_funding_currency AS ec, \
         COUNT(*) AS n, \
         CAST(SUM(p.total_budget_minor / {SPLIT}) AS BIGINT) AS bh, \
         CAST(SUM(p.total_budget_minor % {SPLIT}) AS BIGINT) AS bl, \
         CAST(SUM(p.eu_funding_minor / {SPLIT}) AS BIGINT) AS eh, \
         CAST(SUM(p.eu_funding_minor % {SPLIT}) AS BIGINT) AS el \
         FROM projects p {join} WHERE p.deleted_at IS NULL \
         GROUP BY {key}, p.total_budget_currency, p.eu_funding_currency"
    );
    let rows: Vec<Agg> = diesel::sql_query(sql).load(conn)?;
    let mut groups = Groups::new();
    for r in rows {
        let g = groups.entry(r.k).or_default();
        g.0 += r.n;
        if let (Some(c), Some(b)) = (r.bc, joined(r.bh, r.bl)) {
            g.1.entry(c).or_default().0 += b;
        }
        if let (Some(c), Some(e)) = (r.ec, joined(r.eh, r.el)) {
            g.1.entry(c).or_default().1 += e;
        }
    }
    Ok(groups)
}

fn groups(groups: Groups) -> Vec<PortfolioGroup> {
    groups
        .into_iter()
        .map(|(key, (projects, sums))| PortfolioGroup {
            key,
            label: None,
            projects,
            amounts: amounts(sums),
        })
        .collect()
}

/// Sums in minor units by currency, as money.
fn amounts(sums: Sums) -> Vec<CurrencyTotals> {
    sums.into_iter()
        .map(|(currency, (b, e))| CurrencyTotals {
            total_budget: Money::from_minor(b, currency.clone()),
            eu_funding: Money::from_minor(e, currency.clone()),
            currency,
        })
        .collect()
}

fn build(conn: &mut DbConnection) -> ApiResult<PortfolioReport> {
    let by_status = breakdown(conn, "p.status")?;
    // Every project has exactly one status, so the total is the sum of the status groups.
    let (mut projects, mut sums) = (0, Sums::new());
    for (n, group) in by_status.values() {
        projects += n;
        for (currency, (b, e)) in group {
            let s = sums.entry(currency.clone()).or_default();
            s.0 += b;
            s.1 += e;
        }
    }
    let total = PortfolioGroup {
        key: None,
        label: None,
        projects,
        amounts: amounts(sums),
    };
    let mut by_priority_area = groups(breakdown(conn, "l.target")?);
    let titles = goals::table
        .filter(goals::id.eq_any(keys(&by_priority_area)))
        .select((goals::id, goals::title))
        .load::<(String, String)>(conn)?;
    label(&mut by_priority_area, titles);
    let mut by_programme = groups(breakdown(conn, "p.programme_id")?);
    let names = programmes::table
        .filter(programmes::id.eq_any(keys(&by_programme)))
        .select((programmes::id, programmes::name))
        .load::<(String, String)>(conn)?;
    label(&mut by_programme, names);
    Ok(PortfolioReport {
        generated_at: crate::model::utc(crate::model::now()),
        total,
        by_programme,
        by_status: groups(by_status),
        by_priority_area,
        by_region_role: groups(breakdown(conn, "p.region_role")?),
    })
}

fn keys(groups: &[PortfolioGroup]) -> Vec<String> {
    groups.iter().filter_map(|g| g.key.clone()).collect()
}

/// Labels each group with the name its key has in `names`.
fn label(groups: &mut [PortfolioGroup], names: Vec<(String, String)>) {
    let names: BTreeMap<String, String> = names.into_iter().collect();
    for g in groups {
        g.label = g.key.as_ref().and_then(|k| names.get(k).cloned());
    }
}

fn table(r: &PortfolioReport) -> Table {
    let mut t = Table::new(&[
        "dimension",
        "key",
        "label",
        "projects",
        "currency",
        "total_budget",
        "eu_funding",
    ]);
    let groups = std::iter::once(("total", &r.total))
        .chain(r.by_programme.iter().map(|g| ("programme", g)))
        .chain(r.by_status.iter().map(|g| ("status", g)))
        .chain(r.by_priority_area.iter().map(|g| ("priority_area", g)))
        .chain(r.by_region_role.iter().map(|g| ("region_role", g)));
    for (dimension, g) in groups {
        let head = |t: &mut Table, currency: String, b: String, e: String| {
            t.rows.push(vec![
                dimension.to_string(),
                opt(&g.key),
                opt(&g.label),
                g.projects.to_string(),
                currency,
                b,
                e,
            ])
        };
        if g.amounts.is_empty() {
            head(&mut t, String::new(), String::new(), String::new());
        }
        for a in &g.amounts {
            head(
                &mut t,
                a.currency.clone(),
                a.total_budget.amount.clone(),
                a.eu_funding.amount.clone(),
            );
        }
    }
    t
}

/// The project portfolio: budgets and EU funding by programme, status, priority area and the
/// region's role, per currency. `Accept: text/csv` gives one row per group and currency.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The portfolio",
            content((PortfolioReport = "application/json"),
                    (String = "text/csv", example = "dimension,key,label,projects,currency,total_budget,eu_funding\r\ntotal,,,2,EUR,2500000.00,1625000.00\r\n")),
            headers(("Vary" = String, description = "`Accept`: JSON or CSV"))),
        ReportErrors,
    )
)]
#[get("/reports/project-portfolio")]
pub async fn project_portfolio(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let format: Format = super::negotiate(&req)?;
    let report = db::read(&state.pool, build).await?;
    Ok(super::respond(format, "project-portfolio", &report, table))
}
