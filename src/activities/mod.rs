//! Activities: what is done to reach the goals, each in an action plan and of one of the
//! policy's kinds of international activity.

pub mod routes;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{activities, documents, resource_links},
        DbConnection,
    },
    documents::{DocumentKind, DocumentStatus},
    error::{ApiError, ApiResult, FieldError},
    goals, links,
    model::{new_id, now, utc, Checks},
    string_enum, versioned_store,
};

string_enum!(
    /// The policy's kinds of international activity (*Genomförande*), and competence development.
    ActivityKind {
        EuAdvocacy => "eu_advocacy",
        MedicalCooperation => "medical_cooperation",
        KnowledgeExchange => "knowledge_exchange",
        MonitoringAndInformation => "monitoring_and_information",
        InternationalProject => "international_project",
        PoliticalNetwork => "political_network",
        BusinessCooperation => "business_cooperation",
        CompetenceDevelopment => "competence_development",
    }
);

string_enum!(
    /// Where an activity stands.
    ActivityStatus {
        Planned => "planned",
        Ongoing => "ongoing",
        Completed => "completed",
        Delayed => "delayed",
        Cancelled => "cancelled",
    }
);

const GOAL: &str = "goal";
const PRIORITY_AREA: &str = "priority_area";

/// An activity of an action plan: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Activity {
    pub id: String,
    #[serde(flatten)]
    pub fields: ActivityInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Activity, ActivityInput);

impl Resource for Activity {
    crate::resource_keys!(Activity);
}

/// The writable fields of an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// The action plan (a document of kind `action_plan`) the activity belongs to.
    pub document_id: String,
    pub kind: ActivityKind,
    /// 1-500 characters.
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub responsible_unit: Option<String>,
    /// Prioritised in the action plan.
    #[serde(default)]
    pub prioritised: bool,
    /// Default `planned`.
    #[serde(default = "planned")]
    pub status: ActivityStatus,
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    #[serde(default)]
    pub planned_end: Option<NaiveDate>,
    #[serde(default)]
    pub actual_start: Option<NaiveDate>,
    #[serde(default)]
    pub actual_end: Option<NaiveDate>,
    /// Goals and sub-goals the activity works towards, at most 50.
    #[serde(default)]
    pub goal_ids: Vec<String>,
    /// Priority areas (goals of kind `priority_area`) it falls under, at most 20.
    #[serde(default)]
    pub priority_area_ids: Vec<String>,
}

fn planned() -> ActivityStatus {
    ActivityStatus::Planned
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = activities, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    document_id: String,
    kind: String,
    title: String,
    description: Option<String>,
    responsible_unit: Option<String>,
    prioritised: bool,
    status: String,
    planned_start: Option<NaiveDate>,
    planned_end: Option<NaiveDate>,
    actual_start: Option<NaiveDate>,
    actual_end: Option<NaiveDate>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(activities, Row);

impl Row {
    fn of(a: &Activity) -> Self {
        Row {
            id: a.id.clone(),
            document_id: a.document_id.clone(),
            kind: a.kind.as_str().into(),
            title: a.title.clone(),
            description: a.description.clone(),
            responsible_unit: a.responsible_unit.clone(),
            prioritised: a.prioritised,
            status: a.status.as_str().into(),
            planned_start: a.planned_start,
            planned_end: a.planned_end,
            actual_start: a.actual_start,
            actual_end: a.actual_end,
            version: a.version,
            created_at: a.created_at.naive_utc(),
            updated_at: a.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Activity>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut links = links::links_of(conn, Activity::TYPE, &ids)?;
    rows.into_iter()
        .map(|r| {
            Ok(Activity {
                fields: ActivityInput {
                    kind: ActivityKind::from_db(&r.kind)?,
                    status: ActivityStatus::from_db(&r.status)?,
                    goal_ids: links.take(GOAL, &r.id),
                    priority_area_ids: links.take(PRIORITY_AREA, &r.id),
                    document_id: r.document_id,
                    title: r.title,
                    description: r.description,
                    responsible_unit: r.responsible_unit,
                    prioritised: r.prioritised,
                    planned_start: r.planned_start,
                    planned_end: r.planned_end,
                    actual_start: r.actual_start,
                    actual_end: r.actual_end,
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
    pub document_id: Option<String>,
    pub year: Option<i32>,
    pub kind: Option<ActivityKind>,
    pub status: Option<ActivityStatus>,
    pub goal_id: Option<String>,
    pub priority_area_id: Option<String>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

// A page of the list (`crud::PageQuery`, `crud::Listed`): the filters narrow the query `q`.
crate::page_query!(Filter, activities, Row, |q, f| {
    if let Some(d) = &f.document_id {
        q = q.filter(activities::document_id.eq(d.clone()));
    }
    if let Some(y) = f.year {
        q = q.filter(
            activities::document_id.eq_any(
                documents::table
                    .filter(documents::year.eq(y))
                    .select(documents::id),
            ),
        );
    }
    if let Some(k) = f.kind {
        q = q.filter(activities::kind.eq(k.as_str()));
    }
    if let Some(s) = f.status {
        q = q.filter(activities::status.eq(s.as_str()));
    }
    for (rel, target) in [(GOAL, &f.goal_id), (PRIORITY_AREA, &f.priority_area_id)] {
        if let Some(t) = target {
            q = q.filter(
                activities::id.eq_any(
                    resource_links::table
                        .filter(resource_links::resource_type.eq(Activity::TYPE))
                        .filter(resource_links::rel.eq(rel))
                        .filter(resource_links::target.eq(t.clone()))
                        .select(resource_links::resource_id),
                ),
            );
        }
    }
});

/// The rules that need the database: the action plan exists, every goal and priority area too.
/// The references `i` sets that `before` (the activity before an update) did not hold.
fn check_refs(
    conn: &mut DbConnection,
    i: &ActivityInput,
    before: Option<&Activity>,
) -> ApiResult<()> {
    let mut errors: Vec<FieldError> = Vec::new();
    if before.is_none_or(|b| b.document_id != i.document_id) {
        let kind: Option<String> = documents::table
            .filter(documents::id.eq(&i.document_id))
            .filter(documents::deleted_at.is_null())
            .select(documents::kind)
            .first(conn)
            .optional()?;
        match kind.as_deref() {
            None => errors.push(FieldError::new("document_id", "no document with this id")),
            Some(k) if k != DocumentKind::ActionPlan.as_str() => errors.push(FieldError::new(
                "document_id",
                format!("must be an action plan (this is a {k})"),
            )),
            Some(_) => {}
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

/// The activity's links, from those of `before` (`None`: a new activity, which has none).
fn write_links(conn: &mut DbConnection, a: &Activity, before: Option<&Activity>) -> ApiResult<()> {
    let none: &[String] = &[];
    links::set_links(
        conn,
        Activity::TYPE,
        &a.id,
        GOAL,
        before.map_or(none, |b| &b.goal_ids),
        &a.goal_ids,
    )?;
    links::set_links(
        conn,
        Activity::TYPE,
        &a.id,
        PRIORITY_AREA,
        before.map_or(none, |b| &b.priority_area_ids),
        &a.priority_area_ids,
    )
}

impl crate::crud::Listed for Activity {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

impl Entity for Activity {
    crate::live_version!(activities);
    type Input = ActivityInput;
    const COLLECTION: &'static str = "/v1/activities";
    const READ_ONLY: &'static [&'static str] = &[];

    crate::load_live!(activities, "activity");

    fn check(i: &ActivityInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("document_id", Some(&i.document_id), true, 64);
        c.text("title", Some(&i.title), true, 500);
        c.text("description", i.description.as_deref(), false, 20_000);
        c.text(
            "responsible_unit",
            i.responsible_unit.as_deref(),
            false,
            200,
        );
        c.date_order("planned_end", i.planned_start, i.planned_end);
        c.date_order("actual_end", i.actual_start, i.actual_end);
        c.id_list("goal_ids", &i.goal_ids, 50);
        c.id_list("priority_area_ids", &i.priority_area_ids, 20);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: ActivityInput,
    ) -> ApiResult<Self> {
        if changes_fixed_fields(before, &i) {
            ensure_plan_open(conn, &before.document_id, "change what its adoption fixed")?;
            if i.document_id != before.document_id {
                ensure_plan_open(conn, &i.document_id, "add an activity to it")?;
            }
        }
        check_refs(conn, &i, Some(before))?;
        let after = Activity {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after))?;
        write_links(conn, &after, Some(before))?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        ensure_plan_open(conn, &before.document_id, "remove an activity from it")?;
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

impl crate::crud::Creatable for Activity {
    fn create(conn: &mut DbConnection, actor: &Actor, i: ActivityInput) -> ApiResult<Self> {
        check_refs(conn, &i, None)?;
        ensure_plan_open(conn, &i.document_id, "add an activity to it")?;
        insert(conn, actor, i)
    }
}

fn insert(conn: &mut DbConnection, actor: &Actor, i: ActivityInput) -> ApiResult<Activity> {
    let t = utc(now());
    let a = Activity {
        id: new_id(),
        fields: i,
        version: 1,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(activities::table)
        .values(Row::of(&a))
        .execute(conn)?;
    write_links(conn, &a, None)?;
    changes::record(conn, actor, Change::Created(&a))?;
    Ok(a)
}

/// The fields an action plan's adoption fixes for each of its activities.
const FIXED_BY_ADOPTION: &str =
    "document_id, kind, title, prioritised, goal_ids and priority_area_ids";

/// 409 pointing at `revisions` when the action plan `document_id` is adopted or superseded:
/// its set of activities, and what the adoption fixed for each, change only through a revision.
fn ensure_plan_open(conn: &mut DbConnection, document_id: &str, what: &str) -> ApiResult<()> {
    let status: Option<String> = documents::table
        .filter(documents::id.eq(document_id))
        .select(documents::status)
        .first(conn)
        .optional()?;
    match status.as_deref().map(DocumentStatus::from_db).transpose()? {
        Some(s) if s.is_fixed() => Err(ApiError::Conflict(format!(
            "action plan {document_id} is {}: to {what}, make a revision with \
             POST /v1/documents/{document_id}/revisions (it copies the activities) and have the \
             board adopt it; follow-up fields (status, actual dates, description, responsible \
             unit, planned dates) stay writable, {FIXED_BY_ADOPTION} do not",
            s.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Whether `after` changes a field that an action plan's adoption fixes.
fn changes_fixed_fields(before: &Activity, after: &ActivityInput) -> bool {
    before.document_id != after.document_id
        || before.kind != after.kind
        || before.title != after.title
        || before.prioritised != after.prioritised
        || !same_set(&before.goal_ids, &after.goal_ids)
        || !same_set(&before.priority_area_ids, &after.priority_area_ids)
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// Deletes the activities of a draft action plan that is being deleted.
pub fn delete_all_of_plan(
    conn: &mut DbConnection,
    actor: &Actor,
    document_id: &str,
) -> ApiResult<()> {
    let rows = activities::table
        .filter(activities::document_id.eq(document_id))
        .filter(activities::deleted_at.is_null())
        .select(Row::as_select())
        .load(conn)?;
    for a in assemble(conn, rows)? {
        let version = a.version + 1;
        store_tombstone(conn, &a.id, version)?;
        changes::record(
            conn,
            actor,
            Change::Deleted {
                before: &a,
                version,
            },
        )?;
    }
    Ok(())
}

/// Copies the live activities of action plan `from` (only the open ones, neither completed nor
/// cancelled, when `open_only`) into the plan `to` (its revision, or next year's plan), with
/// links to the plan's own goals moved to their copies (`goal_copies`, from `goals::copy_tree`).
pub fn copy_to_plan(
    conn: &mut DbConnection,
    actor: &Actor,
    from: &str,
    to: &str,
    goal_copies: &std::collections::HashMap<String, String>,
    open_only: bool,
) -> ApiResult<()> {
    let mut q = activities::table
        .filter(activities::document_id.eq(from))
        .filter(activities::deleted_at.is_null())
        .into_boxed();
    if open_only {
        q = q.filter(activities::status.ne_all([
            ActivityStatus::Completed.as_str(),
            ActivityStatus::Cancelled.as_str(),
        ]));
    }
    let rows = q
        .order(activities::id)
        .select(Row::as_select())
        .load(conn)?;
    let moved = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|g| goal_copies.get(g).unwrap_or(g).clone())
            .collect()
    };
    for a in assemble(conn, rows)? {
        let mut input = a.input();
        input.document_id = to.to_string();
        input.goal_ids = moved(&a.goal_ids);
        input.priority_area_ids = moved(&a.priority_area_ids);
        insert(conn, actor, input)?;
    }
    Ok(())
}
