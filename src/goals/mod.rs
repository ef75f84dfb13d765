//! Goals: a tree inside one document (goal areas, goals, sub-goals, priority areas). An action
//! plan's sub-goals name the policy goals they serve. Goals follow their document: editable
//! while it is not adopted.

pub mod routes;

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    db::{
        schema::{documents, goal_serves, goals},
        DbConnection,
    },
    documents::{self as docs, DocumentKind},
    error::{ApiError, ApiResult, FieldError},
    model::{new_id, now, utc, Checks},
    string_enum,
};

string_enum!(
    /// What a node of the goal tree is.
    GoalKind {
        GoalArea => "goal_area",
        Goal => "goal",
        SubGoal => "sub_goal",
        PriorityArea => "priority_area",
    }
);

/// A goal, goal area, sub-goal or priority area of a document: its writable fields and the
/// service's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Goal {
    pub id: String,
    #[serde(flatten)]
    pub fields: GoalInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Goal, GoalInput);

impl Resource for Goal {
    crate::resource_keys!(Goal);
}

/// The fields a caller writes when creating a goal, and may change with a merge patch while
/// its document is not adopted (`document_id` is fixed once created).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalInput {
    pub document_id: String,
    /// The goal above this one in the same document; null at the top.
    #[serde(default)]
    pub parent_id: Option<String>,
    pub kind: GoalKind,
    /// An optional short label, e.g. `1.2`; at most 20 characters.
    #[serde(default)]
    pub code: Option<String>,
    /// 1-1000 characters.
    pub title: String,
    /// At most 20 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Order among siblings, 0-10 000 (default 0).
    #[serde(default)]
    pub position: i32,
    /// Ids of goals in a policy or goal document that this goal serves (for an action plan's
    /// sub-goals; at most 50).
    #[serde(default)]
    pub serves: Vec<String>,
}

impl GoalInput {
    /// Checks that need no database.
    pub fn validate_fields(&self) -> Result<(), ApiError> {
        let mut c = Checks::default();
        c.text("document_id", Some(&self.document_id), true, 64);
        c.text("parent_id", self.parent_id.as_deref(), false, 64);
        c.text("code", self.code.as_deref(), false, 20);
        c.text("title", Some(&self.title), true, 1000);
        c.text("description", self.description.as_deref(), false, 20_000);
        c.range("position", Some(self.position.into()), 0, 10_000);
        if self.serves.len() > 50 {
            c.add("serves", "at most 50 goals");
        }
        let mut seen = HashSet::new();
        for (i, s) in self.serves.iter().enumerate() {
            c.text(&format!("serves[{i}]"), Some(s), true, 64);
            if !seen.insert(s) {
                c.add(format!("serves[{i}]"), "is listed twice");
            }
        }
        c.finish()
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = goals, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct GoalRow {
    id: String,
    document_id: String,
    parent_id: Option<String>,
    kind: String,
    code: Option<String>,
    title: String,
    description: Option<String>,
    position: i32,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

impl GoalRow {
    fn into_api(self, serves: Vec<String>) -> Result<Goal, ApiError> {
        Ok(Goal {
            fields: GoalInput {
                kind: GoalKind::from_db(&self.kind)?,
                document_id: self.document_id,
                parent_id: self.parent_id,
                code: self.code,
                title: self.title,
                description: self.description,
                position: self.position,
                serves,
            },
            id: self.id,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }

    fn from_api(g: &Goal) -> Self {
        GoalRow {
            id: g.id.clone(),
            document_id: g.document_id.clone(),
            parent_id: g.parent_id.clone(),
            kind: g.kind.as_str().into(),
            code: g.code.clone(),
            title: g.title.clone(),
            description: g.description.clone(),
            position: g.position,
            version: g.version,
            created_at: g.created_at.naive_utc(),
            updated_at: g.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

/// Goals with their `serves` lists, from rows (one query for all the links).
fn with_serves(conn: &mut DbConnection, rows: Vec<GoalRow>) -> Result<Vec<Goal>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let pairs: Vec<(String, String)> = crate::filter_ids!(
            goal_serves::table.into_boxed(),
            conn,
            goal_serves::goal_id,
            &ids
        )
        .select((goal_serves::goal_id, goal_serves::serves_goal_id))
        .order((goal_serves::goal_id, goal_serves::serves_goal_id))
        .load(conn)?;
        for (g, s) in pairs {
            links.entry(g).or_default().push(s);
        }
    }
    rows.into_iter()
        .map(|r| {
            let serves = links.remove(&r.id).unwrap_or_default();
            r.into_api(serves)
        })
        .collect()
}

/// The filters of `GET /v1/goals`.
#[derive(Clone)]
pub struct Filter {
    pub document_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: Option<GoalKind>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, goals, GoalRow, |q, f| {
    if let Some(d) = &f.document_id {
        q = q.filter(goals::document_id.eq(d.clone()));
    }
    if let Some(p) = &f.parent_id {
        q = q.filter(goals::parent_id.eq(p.clone()));
    }
    if let Some(k) = f.kind {
        q = q.filter(goals::kind.eq(k.as_str()));
    }
});

impl crate::crud::Listed for Goal {
    type Row = GoalRow;
    fn key(row: &GoalRow) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<GoalRow>) -> ApiResult<Vec<Self>> {
        with_serves(conn, rows)
    }
}

/// A live goal, or 404.
pub fn load(conn: &mut DbConnection, id: &str) -> Result<Goal, ApiError> {
    find(conn, id)?.ok_or_else(|| ApiError::NotFound(format!("no goal with id {id}")))
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Goal>, ApiError> {
    let row = goals::table
        .filter(goals::id.eq(id))
        .filter(goals::deleted_at.is_null())
        .select(GoalRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(r) => with_serves(conn, vec![r])?.pop(),
        None => None,
    })
}

/// The document a goal input names, which must exist and be editable.
pub fn editable_document(
    conn: &mut DbConnection,
    document_id: &str,
) -> Result<docs::Document, ApiError> {
    let doc = match docs::load(conn, document_id) {
        Ok(d) => d,
        Err(ApiError::NotFound(_)) => {
            return Err(ApiError::validation(
                "document_id",
                "no document with this id",
            ))
        }
        Err(e) => return Err(e),
    };
    docs::ensure_editable(&doc)?;
    Ok(doc)
}

/// The rules that need the database: the parent is in the same document and makes no cycle;
/// each served goal belongs to a policy or goal document other than this one.
fn check_links(
    conn: &mut DbConnection,
    id: Option<&str>,
    input: &GoalInput,
) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(parent_id) = &input.parent_id {
        match find(conn, parent_id)? {
            None => errors.push(FieldError::new("parent_id", "no goal with this id")),
            Some(p) if p.document_id != input.document_id => errors.push(FieldError::new(
                "parent_id",
                "the parent must be a goal of the same document",
            )),
            Some(_) => {
                if let Some(id) = id {
                    // Walk up from the new parent; meeting this goal would close a cycle.
                    let mut cursor = Some(parent_id.clone());
                    let mut steps = 0;
                    while let Some(c) = cursor {
                        if c == id {
                            errors.push(FieldError::new(
                                "parent_id",
                                "would make the goal its own ancestor",
                            ));
                            break;
                        }
                        steps += 1;
                        if steps > 10_000 {
                            break;
                        }
                        cursor = goals::table
                            .filter(goals::id.eq(&c))
                            .select(goals::parent_id)
                            .first::<Option<String>>(conn)
                            .optional()?
                            .flatten();
                    }
                }
            }
        }
    }
    for (i, target) in input.serves.iter().enumerate() {
        let field = format!("serves[{i}]");
        let found: Option<(String, String)> = goals::table
            .inner_join(documents::table)
            .filter(goals::id.eq(target))
            .filter(goals::deleted_at.is_null())
            .select((goals::document_id, documents::kind))
            .first(conn)
            .optional()?;
        match found {
            None => errors.push(FieldError::new(field, "no goal with this id")),
            Some((doc, _)) if doc == input.document_id => errors.push(FieldError::new(
                field,
                "a goal cannot serve a goal of its own document",
            )),
            Some((_, kind)) => {
                let kind = DocumentKind::from_db(&kind)?;
                if !matches!(kind, DocumentKind::Policy | DocumentKind::GoalDocument) {
                    errors.push(FieldError::new(
                        field,
                        "must be a goal of a policy or goal document",
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn write_serves(conn: &mut DbConnection, goal_id: &str, serves: &[String]) -> Result<(), ApiError> {
    diesel::delete(goal_serves::table.filter(goal_serves::goal_id.eq(goal_id))).execute(conn)?;
    for s in serves {
        diesel::insert_into(goal_serves::table)
            .values((
                goal_serves::goal_id.eq(goal_id),
                goal_serves::serves_goal_id.eq(s),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Creates a goal in an editable document.
pub fn create(conn: &mut DbConnection, actor: &Actor, input: GoalInput) -> Result<Goal, ApiError> {
    input.validate_fields()?;
    editable_document(conn, &input.document_id)?;
    check_links(conn, None, &input)?;
    insert(conn, actor, new_id(), input)
}

fn insert(
    conn: &mut DbConnection,
    actor: &Actor,
    id: String,
    input: GoalInput,
) -> Result<Goal, ApiError> {
    let t = utc(now());
    let goal = Goal {
        id,
        fields: GoalInput {
            serves: sorted(input.serves),
            ..input
        },
        version: 1,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(goals::table)
        .values(GoalRow::from_api(&goal))
        .execute(conn)?;
    write_serves(conn, &goal.id, &goal.serves)?;
    changes::record(conn, actor, Change::Created(&goal))?;
    Ok(goal)
}

impl crate::crud::Entity for Goal {
    type Input = GoalInput;
    const COLLECTION: &'static str = "/v1/goals";
    const READ_ONLY: &'static [&'static str] = &[];
    crate::live_version!(goals);

    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self> {
        load(conn, id)
    }
    fn input(&self) -> GoalInput {
        self.fields.clone()
    }
    /// A goal follows its document: editable while the document is not adopted.
    fn ensure_writable(&self, conn: &mut DbConnection) -> ApiResult<()> {
        editable_document(conn, &self.document_id).map(|_| ())
    }
    fn check(input: &GoalInput) -> ApiResult<()> {
        input.validate_fields()
    }
    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        input: GoalInput,
    ) -> ApiResult<Self> {
        if input.document_id != before.document_id {
            return Err(ApiError::validation(
                "document_id",
                "a goal cannot move to another document",
            ));
        }
        check_links(conn, Some(&before.id), &input)?;
        let after = Goal {
            fields: GoalInput {
                serves: sorted(input.serves),
                ..input
            },
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &GoalRow::from_api(&after))?;
        if after.serves != before.serves {
            write_serves(conn, &after.id, &after.serves)?;
        }
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }
    /// One with sub-goals, or served by another goal, stays (409).
    fn delete(conn: &mut DbConnection, actor: &Actor, goal: &Self) -> ApiResult<()> {
        let id = &goal.id;
        editable_document(conn, &goal.document_id)?;
        let child: Option<String> = goals::table
            .filter(goals::parent_id.eq(id))
            .filter(goals::deleted_at.is_null())
            .select(goals::id)
            .first(conn)
            .optional()?;
        if let Some(child) = child {
            return Err(ApiError::Conflict(format!(
                "goal {id} has sub-goals (e.g. {child}); delete or move them first"
            )));
        }
        let server: Option<String> = goal_serves::table
            .inner_join(goals::table.on(goals::id.eq(goal_serves::goal_id)))
            .filter(goal_serves::serves_goal_id.eq(id))
            .filter(goals::deleted_at.is_null())
            .select(goals::id)
            .first(conn)
            .optional()?;
        if let Some(server) = server {
            return Err(ApiError::Conflict(format!(
                "goal {server} serves goal {id}; change it first"
            )));
        }
        tombstone(conn, actor, goal)
    }
}

impl crate::crud::Creatable for Goal {
    fn create(conn: &mut DbConnection, actor: &Actor, input: GoalInput) -> ApiResult<Self> {
        create(conn, actor, input)
    }
}

crate::versioned_store!(goals, GoalRow);

fn tombstone(conn: &mut DbConnection, actor: &Actor, goal: &Goal) -> Result<(), ApiError> {
    let version = goal.version + 1;
    store_tombstone(conn, &goal.id, version)?;
    changes::record(
        conn,
        actor,
        Change::Deleted {
            before: goal,
            version,
        },
    )
}

fn all_of_document(conn: &mut DbConnection, document_id: &str) -> Result<Vec<Goal>, ApiError> {
    let rows = goals::table
        .filter(goals::document_id.eq(document_id))
        .filter(goals::deleted_at.is_null())
        .select(GoalRow::as_select())
        .order(goals::id.asc())
        .load(conn)?;
    with_serves(conn, rows)
}

/// Deletes every goal of a document being deleted.
pub fn delete_all_of_document(
    conn: &mut DbConnection,
    actor: &Actor,
    document_id: &str,
) -> Result<(), ApiError> {
    for goal in all_of_document(conn, document_id)? {
        tombstone(conn, actor, &goal)?;
    }
    Ok(())
}

/// Copies a document's goal tree into a revision: new ids, the same shape and links. Returns
/// the copy's id of each goal.
pub fn copy_tree(
    conn: &mut DbConnection,
    actor: &Actor,
    from: &str,
    to: &str,
) -> Result<HashMap<String, String>, ApiError> {
    let mut pending = all_of_document(conn, from)?;
    let mut new_ids: HashMap<String, String> = HashMap::new();
    // Parents first, so every parent exists when its children are inserted.
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for g in pending {
            let parent = match &g.parent_id {
                None => None,
                Some(p) => match new_ids.get(p) {
                    Some(np) => Some(np.clone()),
                    None => {
                        rest.push(g);
                        continue;
                    }
                },
            };
            let id = new_id();
            new_ids.insert(g.id.clone(), id.clone());
            let input = GoalInput {
                document_id: to.to_string(),
                parent_id: parent,
                ..g.fields.clone()
            };
            insert(conn, actor, id, input)?;
        }
        if rest.len() == before {
            return Err(ApiError::internal(format!(
                "goal tree of document {from} has a dangling parent"
            )));
        }
        pending = rest;
    }
    Ok(new_ids)
}

/// Creates a goal for the shipped data (no access check: the service itself writes it).
pub fn seed(conn: &mut DbConnection, actor: &Actor, input: GoalInput) -> Result<Goal, ApiError> {
    insert(conn, actor, new_id(), input)
}

/// Checks links from other records to goals: each must be a live goal, and for
/// `priority_areas` a goal of kind `priority_area` (and for `goals` not one). Ids in `held`
/// (the record's links before this write) are not checked again: a write is refused only for
/// the references it sets.
fn check_refs(
    conn: &mut DbConnection,
    field: &str,
    ids: &[String],
    held: &[String],
    priority_areas: bool,
) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    let new: Vec<&String> = ids.iter().filter(|id| !held.contains(id)).collect();
    if new.is_empty() {
        return Ok(errors);
    }
    let found: HashMap<String, String> = goals::table
        .filter(goals::id.eq_any(new))
        .filter(goals::deleted_at.is_null())
        .select((goals::id, goals::kind))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for (i, id) in ids.iter().enumerate().filter(|(_, id)| !held.contains(id)) {
        let f = format!("{field}[{i}]");
        match found.get(id).map(String::as_str) {
            None => errors.push(FieldError::new(f, "no goal with this id")),
            Some("priority_area") if !priority_areas => errors.push(FieldError::new(
                f,
                "is a priority area; list it under priority_areas",
            )),
            Some(k) if priority_areas && k != "priority_area" => {
                errors.push(FieldError::new(f, "must be a goal of kind priority_area"))
            }
            Some(_) => {}
        }
    }
    Ok(errors)
}

/// A record's links to goals (`goal_ids`) and to priority areas (`priority_area_ids`), checked as
/// `check_refs` does; `held` are the record's own before an update.
pub fn check_goal_links(
    conn: &mut DbConnection,
    goal_ids: &[String],
    priority_area_ids: &[String],
    held: Option<(&[String], &[String])>,
) -> Result<Vec<FieldError>, ApiError> {
    let (held_goals, held_areas) = held.unwrap_or_default();
    let mut errors = check_refs(conn, "goal_ids", goal_ids, held_goals, false)?;
    errors.extend(check_refs(
        conn,
        "priority_area_ids",
        priority_area_ids,
        held_areas,
        true,
    )?);
    Ok(errors)
}

/// Ids of the goals and the priority areas of the adopted policy (links for demo data).
pub fn policy_targets(conn: &mut DbConnection) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let rows: Vec<(String, String)> = goals::table
        .inner_join(documents::table)
        .filter(documents::kind.eq(DocumentKind::Policy.as_str()))
        .filter(documents::status.eq(docs::DocumentStatus::Adopted.as_str()))
        .filter(goals::deleted_at.is_null())
        .select((goals::id, goals::kind))
        .order(goals::id)
        .load(conn)?;
    let of = |k: GoalKind| {
        rows.iter()
            .filter(|(_, kind)| kind == k.as_str())
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    };
    let (goal_ids, areas) = (of(GoalKind::Goal), of(GoalKind::PriorityArea));
    if goal_ids.is_empty() || areas.is_empty() {
        return Err(ApiError::Conflict(
            "no adopted policy with goals and priority areas to link to".into(),
        ));
    }
    Ok((goal_ids, areas))
}
