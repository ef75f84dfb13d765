//! Projects: international project cooperation, usually EU co-financed, with partners,
//! budgets, NUTS regions, goal links and external ids for the systems integrators sync with.

mod input;
pub mod legacy_programme;
mod partners;
pub mod routes;

pub use crate::programmes::Fund;
pub use input::{ProjectInput, REGION_OWNED};
pub use partners::{LegalStatus, Partner};

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    crud::{Entity, ExternallyKeyed},
    db::{
        schema::{project_partners, projects, resource_links},
        DbConnection,
    },
    error::{ApiError, ApiResult, FieldError},
    goals,
    links::{self, ExternalId},
    model::{new_id, now, utc, Checks, Money},
    organisations,
    programmes::{self, Programme},
    string_enum, versioned_store,
};

string_enum!(
    /// Where a project is in its life.
    ProjectStatus {
        Pipeline => "pipeline",
        Implementation => "implementation",
        Finalisation => "finalisation",
        Closed => "closed",
        Cancelled => "cancelled",
        Suspended => "suspended",
    }
);

string_enum!(
    /// A partner's role in a project (the region's own too).
    PartnerRole {
        LeadPartner => "lead_partner",
        Partner => "partner",
        AssociatedPartner => "associated_partner",
    }
);

const GOAL: &str = "goal";
const PRIORITY_AREA: &str = "priority_area";
const NUTS: &str = "nuts";

/// A project: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Project {
    pub id: String,
    #[serde(flatten)]
    pub fields: ProjectInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Project, ProjectInput);

impl Resource for Project {
    crate::resource_keys!(Project);
}

/// Percent as a decimal string to basis points (hundredths of a percent).
fn rate_bp(s: &str) -> Option<i32> {
    let m = Money {
        amount: s.to_string(),
        currency: "XXX".into(),
    };
    m.minor_units()
        .ok()
        .filter(|v| *v <= 10_000)
        .map(|v| v as i32)
}

fn rate_text(bp: i32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

fn is_nuts(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=5).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = projects, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    acronym: Option<String>,
    title: String,
    description: Option<String>,
    programme_id: Option<String>,
    call: Option<String>,
    specific_objective: Option<String>,
    status: String,
    region_role: String,
    total_budget_minor: Option<i64>,
    total_budget_currency: Option<String>,
    eu_funding_minor: Option<i64>,
    eu_funding_currency: Option<String>,
    cofinancing_rate_bp: Option<i32>,
    planned_start: Option<NaiveDate>,
    planned_end: Option<NaiveDate>,
    actual_start: Option<NaiveDate>,
    actual_end: Option<NaiveDate>,
    responsible_unit: Option<String>,
    notes: Option<String>,
    source_updated_at: Option<chrono::NaiveDateTime>,
    fund: Option<String>,
    intervention_field: Option<String>,
    project_url: Option<String>,
    title_en: Option<String>,
    summary_sv: Option<String>,
    summary_en: Option<String>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(projects, Row);

impl Row {
    fn of(p: &Project) -> Self {
        let (total_budget_minor, total_budget_currency) = Money::columns(&p.total_budget);
        let (eu_funding_minor, eu_funding_currency) = Money::columns(&p.eu_funding);
        Row {
            id: p.id.clone(),
            acronym: p.acronym.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            programme_id: p.programme_id.clone(),
            call: p.call.clone(),
            specific_objective: p.specific_objective.clone(),
            status: p.status.as_str().into(),
            region_role: p.region_role.as_str().into(),
            total_budget_minor,
            total_budget_currency,
            eu_funding_minor,
            eu_funding_currency,
            cofinancing_rate_bp: p.cofinancing_rate.as_deref().and_then(rate_bp),
            planned_start: p.planned_start,
            planned_end: p.planned_end,
            actual_start: p.actual_start,
            actual_end: p.actual_end,
            responsible_unit: p.responsible_unit.clone(),
            notes: p.notes.clone(),
            source_updated_at: p.source_updated_at.map(|t| t.naive_utc()),
            fund: p.fund.map(|f| f.as_str().into()),
            intervention_field: p.intervention_field.clone(),
            project_url: p.project_url.clone(),
            title_en: p.title_en.clone(),
            summary_sv: p.summary_sv.clone(),
            summary_en: p.summary_en.clone(),
            version: p.version,
            created_at: p.created_at.naive_utc(),
            updated_at: p.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

/// A partner as stored: project, organisation, role, budget, then country, NUTS code, legal
/// status and EU funding.
type PartnerRow = (
    (String, String, String, Option<i64>, Option<String>),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    ),
);

fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Project>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut links = links::links_of(conn, Project::TYPE, &ids)?;
    let mut ext = links::external_ids_of(conn, Project::TYPE, &ids)?;
    let mut partners: HashMap<String, Vec<Partner>> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<PartnerRow> = crate::filter_ids!(
            project_partners::table.into_boxed(),
            conn,
            project_partners::project_id,
            &ids
        )
        .order((project_partners::project_id, project_partners::position))
        .select((
            (
                project_partners::project_id,
                project_partners::organisation_id,
                project_partners::role,
                project_partners::budget_minor,
                project_partners::budget_currency,
            ),
            (
                project_partners::country,
                project_partners::nuts_code,
                project_partners::legal_status,
                project_partners::eu_funding_minor,
                project_partners::eu_funding_currency,
            ),
        ))
        .load(conn)?;
        for ((pid, org, role, minor, currency), (country, nuts, legal, eu_minor, eu_currency)) in
            rows
        {
            partners.entry(pid).or_default().push(Partner {
                organisation_id: org,
                organisation_external_id: None,
                role: PartnerRole::from_db(&role)?,
                budget_share: Money::from_columns(minor, currency),
                country,
                nuts_code: nuts,
                legal_status: legal.as_deref().map(LegalStatus::from_db).transpose()?,
                eu_funding: Money::from_columns(eu_minor, eu_currency),
            });
        }
    }
    rows.into_iter()
        .map(|r| {
            Ok(Project {
                fields: ProjectInput {
                    status: ProjectStatus::from_db(&r.status)?,
                    region_role: PartnerRole::from_db(&r.region_role)?,
                    partners: partners.remove(&r.id).unwrap_or_default(),
                    total_budget: Money::from_columns(
                        r.total_budget_minor,
                        r.total_budget_currency,
                    ),
                    eu_funding: Money::from_columns(r.eu_funding_minor, r.eu_funding_currency),
                    cofinancing_rate: r.cofinancing_rate_bp.map(rate_text),
                    nuts_codes: links.take(NUTS, &r.id),
                    goal_ids: links.take(GOAL, &r.id),
                    priority_area_ids: links.take(PRIORITY_AREA, &r.id),
                    external_ids: ext.remove(&r.id).unwrap_or_default(),
                    acronym: r.acronym,
                    title: r.title,
                    description: r.description,
                    programme_id: r.programme_id,
                    programme_external_id: None,
                    call: r.call,
                    specific_objective: r.specific_objective,
                    planned_start: r.planned_start,
                    planned_end: r.planned_end,
                    actual_start: r.actual_start,
                    actual_end: r.actual_end,
                    responsible_unit: r.responsible_unit,
                    notes: r.notes,
                    source_updated_at: r.source_updated_at.map(utc),
                    fund: r.fund.as_deref().map(Fund::from_db).transpose()?,
                    intervention_field: r.intervention_field,
                    project_url: r.project_url,
                    title_en: r.title_en,
                    summary_sv: r.summary_sv,
                    summary_en: r.summary_en,
                },
                id: r.id,
                version: r.version,
                created_at: utc(r.created_at),
                updated_at: utc(r.updated_at),
            })
        })
        .collect()
}

#[derive(Clone)]
pub struct Filter {
    pub status: Option<ProjectStatus>,
    pub programme_id: Option<String>,
    pub region_role: Option<PartnerRole>,
    pub goal_id: Option<String>,
    pub priority_area_id: Option<String>,
    pub organisation_id: Option<String>,
    pub external_id: Option<(String, String)>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

// A page of the list (`crud::PageQuery`, `crud::Listed`): the filters narrow the query `q`.
crate::page_query!(Filter, projects, Row, |q, f| {
    if let Some(s) = f.status {
        q = q.filter(projects::status.eq(s.as_str()));
    }
    if let Some(p) = &f.programme_id {
        q = q.filter(projects::programme_id.eq(p.clone()));
    }
    if let Some(r) = f.region_role {
        q = q.filter(projects::region_role.eq(r.as_str()));
    }
    for (rel, target) in [(GOAL, &f.goal_id), (PRIORITY_AREA, &f.priority_area_id)] {
        if let Some(t) = target {
            q = q.filter(
                projects::id.eq_any(
                    resource_links::table
                        .filter(resource_links::resource_type.eq(Project::TYPE))
                        .filter(resource_links::rel.eq(rel))
                        .filter(resource_links::target.eq(t.clone()))
                        .select(resource_links::resource_id),
                ),
            );
        }
    }
    if let Some(o) = &f.organisation_id {
        q = q.filter(
            projects::id.eq_any(
                project_partners::table
                    .filter(project_partners::organisation_id.eq(o.clone()))
                    .select(project_partners::project_id),
            ),
        );
    }
    if let Some((scheme, value)) = &f.external_id {
        q = q.filter(projects::id.eq_any(links::holders_of(
            Project::TYPE.to_string(),
            scheme.clone(),
            value.clone(),
        )));
    }
});

/// What the input names by external id (partners, the programme), given by internal id: 422
/// naming each unknown one.
fn resolve(conn: &mut DbConnection, i: &mut ProjectInput) -> ApiResult<()> {
    let programme = match i.programme_external_id.take() {
        Some(e) => match links::find_by_external_id(conn, Programme::TYPE, &e.scheme, &e.value)? {
            Some(id) => {
                i.programme_id = Some(id);
                None
            }
            None => Some(FieldError::new(
                "programme_external_id",
                format!(
                    "no programme has {}:{}; upsert it first (PUT /v1/programmes/by-external-id/{}/{})",
                    e.scheme, e.value, e.scheme, e.value
                ),
            )),
        },
        None => None,
    };
    match (partners::resolve(conn, i), programme) {
        (r, None) => r,
        (Ok(()), Some(e)) => Err(ApiError::Validation(vec![e])),
        (Err(ApiError::Validation(mut errors)), Some(e)) => {
            errors.insert(0, e);
            Err(ApiError::Validation(errors))
        }
        (Err(e), Some(_)) => Err(e),
    }
}

/// The references `i` sets that `before` (the record before an update) did not hold.
fn check_refs(
    conn: &mut DbConnection,
    i: &ProjectInput,
    before: Option<&Project>,
) -> ApiResult<()> {
    let mut errors: Vec<FieldError> = Vec::new();
    let held =
        |org: &str| before.is_some_and(|b| b.partners.iter().any(|p| p.organisation_id == org));
    for (n, p) in i.partners.iter().enumerate() {
        if !held(&p.organisation_id) && !organisations::exists(conn, &p.organisation_id)? {
            errors.push(FieldError::new(
                format!("partners[{n}].organisation_id"),
                "no organisation with this id",
            ));
        }
    }
    let same_programme = before.is_some_and(|b| {
        b.programme_id == i.programme_id && b.specific_objective == i.specific_objective
    });
    if let (Some(id), false) = (&i.programme_id, same_programme) {
        match programmes::find(conn, id)? {
            None => errors.push(FieldError::new("programme_id", "no programme with this id")),
            Some(p) => {
                if let Some(code) = &i.specific_objective {
                    let listed = p
                        .priorities
                        .iter()
                        .any(|p| !p.specific_objectives.is_empty());
                    if listed && !p.has_objective(code) {
                        errors.push(FieldError::new(
                            "specific_objective",
                            format!("programme {id} lists no specific objective {code}"),
                        ));
                    }
                }
            }
        }
    }
    errors.extend(goals::check_goal_links(
        conn,
        &i.goal_ids,
        &i.priority_area_ids,
        before.map(|b| (&b.goal_ids[..], &b.priority_area_ids[..])),
    )?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The project's links and children, from those of `before` (`None`: a new project, which has
/// none, so a list that stays empty costs no statement).
fn write_children(conn: &mut DbConnection, p: &Project, before: Option<&Project>) -> ApiResult<()> {
    let none: &[String] = &[];
    for (rel, old, new) in [
        (GOAL, before.map_or(none, |b| &b.goal_ids), &p.goal_ids),
        (
            PRIORITY_AREA,
            before.map_or(none, |b| &b.priority_area_ids),
            &p.priority_area_ids,
        ),
        (NUTS, before.map_or(none, |b| &b.nuts_codes), &p.nuts_codes),
    ] {
        links::set_links(conn, Project::TYPE, &p.id, rel, old, new)?;
    }
    let same = |field: &dyn Fn(&Project) -> bool, empty: bool| before.map_or(empty, field);
    if !same(
        &|b| b.external_ids == p.external_ids,
        p.external_ids.is_empty(),
    ) {
        links::set_external_ids(conn, Project::TYPE, &p.id, &p.external_ids, "external_ids")?;
    }
    if !same(&|b| b.partners == p.partners, p.partners.is_empty()) {
        diesel::delete(project_partners::table.filter(project_partners::project_id.eq(&p.id)))
            .execute(conn)?;
        for (n, partner) in p.partners.iter().enumerate() {
            let (minor, currency) = Money::columns(&partner.budget_share);
            let (eu_minor, eu_currency) = Money::columns(&partner.eu_funding);
            diesel::insert_into(project_partners::table)
                .values((
                    (
                        project_partners::project_id.eq(&p.id),
                        project_partners::organisation_id.eq(&partner.organisation_id),
                        project_partners::role.eq(partner.role.as_str()),
                        project_partners::budget_minor.eq(minor),
                        project_partners::budget_currency.eq(currency),
                        project_partners::position.eq(n as i32),
                    ),
                    (
                        project_partners::country.eq(&partner.country),
                        project_partners::nuts_code.eq(&partner.nuts_code),
                        project_partners::legal_status.eq(partner.legal_status.map(|l| l.as_str())),
                        project_partners::eu_funding_minor.eq(eu_minor),
                        project_partners::eu_funding_currency.eq(eu_currency),
                    ),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The input as the record keeps it: money and rates in their normal form, external ids
/// sorted.
fn normalised(mut i: ProjectInput) -> ProjectInput {
    i.external_ids.sort();
    for p in &mut i.partners {
        p.budget_share = p.budget_share.take().map(Money::normalised);
        p.eu_funding = p.eu_funding.take().map(Money::normalised);
    }
    i.total_budget = i.total_budget.map(Money::normalised);
    i.eu_funding = i.eu_funding.map(Money::normalised);
    i.cofinancing_rate = i
        .cofinancing_rate
        .as_deref()
        .and_then(rate_bp)
        .map(rate_text);
    i
}

impl crate::crud::Listed for Project {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

impl Entity for Project {
    crate::live_version!(projects);
    type Input = ProjectInput;
    const COLLECTION: &'static str = "/v1/projects";
    const READ_ONLY: &'static [&'static str] = &[];
    const REGION_OWNED: Option<&'static [&'static str]> = Some(REGION_OWNED);

    crate::load_live!(projects, "project");

    fn check(i: &ProjectInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("acronym", i.acronym.as_deref(), false, 50);
        c.text("title", Some(&i.title), true, 500);
        c.text("description", i.description.as_deref(), false, 20_000);
        c.text(
            "responsible_unit",
            i.responsible_unit.as_deref(),
            false,
            200,
        );
        c.text("notes", i.notes.as_deref(), false, 20_000);
        match (&i.programme_id, &i.programme_external_id) {
            (Some(_), Some(_)) => c.add(
                "programme_id",
                "give programme_id or programme_external_id, not both",
            ),
            (Some(id), None) => c.text("programme_id", Some(id), true, 64),
            (None, Some(e)) => c.external_id("programme_external_id", e),
            (None, None) => {}
        }
        c.text("call", i.call.as_deref(), false, 200);
        c.text(
            "specific_objective",
            i.specific_objective.as_deref(),
            false,
            20,
        );
        c.money("total_budget", i.total_budget.as_ref());
        c.money("eu_funding", i.eu_funding.as_ref());
        if let (Some(t), Some(e)) = (&i.total_budget, &i.eu_funding) {
            if let (Ok(tm), Ok(em)) = (t.minor_units(), e.minor_units()) {
                if t.currency == e.currency && em > tm {
                    c.add("eu_funding.amount", "must not exceed the total budget");
                }
            }
        }
        if let Some(r) = &i.cofinancing_rate {
            if rate_bp(r).is_none() {
                c.add(
                    "cofinancing_rate",
                    "must be a percentage from 0 to 100 with at most two decimals, e.g. 65.00",
                );
            }
        }
        c.date_order("planned_end", i.planned_start, i.planned_end);
        c.date_order("actual_end", i.actual_start, i.actual_end);
        partners::check(&mut c, &i.partners);
        c.text("title_en", i.title_en.as_deref(), false, 500);
        c.text("summary_sv", i.summary_sv.as_deref(), false, 5_000);
        c.text("summary_en", i.summary_en.as_deref(), false, 5_000);
        c.url("project_url", i.project_url.as_deref());
        if let Some(f) = &i.intervention_field {
            if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) {
                c.add(
                    "intervention_field",
                    "must be a code of one to three digits, e.g. 021",
                );
            }
        }
        c.id_list("nuts_codes", &i.nuts_codes, 50);
        for (n, code) in i.nuts_codes.iter().enumerate() {
            if !is_nuts(code) {
                c.add(
                    format!("nuts_codes[{n}]"),
                    "must be a NUTS code such as SE321",
                );
            }
        }
        c.id_list("goal_ids", &i.goal_ids, 50);
        c.id_list("priority_area_ids", &i.priority_area_ids, 20);
        c.external_ids("external_ids", &i.external_ids);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        mut i: ProjectInput,
    ) -> ApiResult<Self> {
        resolve(conn, &mut i)?;
        check_refs(conn, &i, Some(before))?;
        let after = Project {
            fields: normalised(i),
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after))?;
        write_children(conn, &after, Some(before))?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        links::clear_external_ids(conn, Project::TYPE, &before.id)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

impl ExternallyKeyed for Project {
    fn load_many(conn: &mut DbConnection, ids: &[&str]) -> ApiResult<Vec<Self>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = crate::filter_ids!(
            projects::table
                .filter(projects::deleted_at.is_null())
                .select(Row::as_select())
                .into_boxed(),
            conn,
            projects::id,
            ids
        )
        .load(conn)?;
        assemble(conn, rows)
    }

    fn external_ids_mut(input: &mut ProjectInput) -> &mut Vec<ExternalId> {
        &mut input.external_ids
    }
    fn resolve(conn: &mut DbConnection, input: &mut ProjectInput) -> ApiResult<()> {
        resolve(conn, input)
    }
}

impl crate::crud::Creatable for Project {
    fn create(conn: &mut DbConnection, actor: &Actor, mut i: ProjectInput) -> ApiResult<Self> {
        resolve(conn, &mut i)?;
        check_refs(conn, &i, None)?;
        let t = utc(now());
        let p = Project {
            id: new_id(),
            fields: normalised(i),
            version: 1,
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(projects::table)
            .values(Row::of(&p))
            .execute(conn)?;
        write_children(conn, &p, None)?;
        changes::record(conn, actor, Change::Created(&p))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests;
