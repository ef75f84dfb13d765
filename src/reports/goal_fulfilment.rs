//! `GET /v1/reports/goal-fulfilment?document=`: for every goal of a document (the policy, an
//! action plan, ...), the activities and projects linked to it with counts by status, the latest
//! approved evaluation's fulfilment, and the same rolled up the goal tree: a goal's roll-up
//! covers its sub-goals and the goals of other documents that serve it (an action plan's
//! sub-goals serving the policy's goals), each record counted once.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{membership_reviews::latest_approved, membership_reviews::EvaluationBrief, opt};
use super::{Format, Table};
use crate::{
    access::Action,
    activities::ActivityStatus,
    auth::Caller,
    db::{
        self,
        schema::{activities, goal_serves, goals, projects, resource_links},
        DbConnection,
    },
    documents::{self, DocumentKind, DocumentStatus},
    error::{ApiError, ApiResult},
    evaluations::GoalFulfilment,
    goals::GoalKind,
    projects::ProjectStatus,
    responses::errors::*,
    state::AppState,
};

/// Records counted by status; every status is present, zero or not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusCounts {
    pub total: i64,
    #[schema(example = json!({"planned": 1, "ongoing": 2, "completed": 0, "delayed": 0, "cancelled": 0}))]
    pub by_status: BTreeMap<String, i64>,
}

impl StatusCounts {
    fn new(statuses: &[&str]) -> Self {
        StatusCounts {
            total: 0,
            by_status: statuses.iter().map(|s| (s.to_string(), 0)).collect(),
        }
    }
    fn add(&mut self, status: &str) {
        self.total += 1;
        *self.by_status.entry(status.to_string()).or_default() += 1;
    }
}

/// A goal and what is rolled up beneath it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolledUp {
    /// Goals covered: this one, its sub-goals, and the goals serving any of them.
    pub goals: i64,
    pub activities: StatusCounts,
    pub projects: StatusCounts,
    /// The covered goals by the fulfilment of their latest approved evaluation
    /// (`not_evaluated` when they have none).
    #[schema(example = json!({"achieved": 0, "largely_achieved": 1, "partly_achieved": 0, "not_achieved": 0, "not_assessed": 0, "not_evaluated": 3}))]
    pub fulfilment: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalLine {
    pub goal_id: String,
    pub parent_id: Option<String>,
    /// 0 at the top of the document's tree.
    pub depth: i32,
    pub kind: GoalKind,
    pub code: Option<String>,
    pub title: String,
    /// Goals of other documents that serve this one directly.
    pub served_by: Vec<String>,
    /// Activities linked to this goal itself.
    pub activities: StatusCounts,
    /// Projects linked to this goal itself.
    pub projects: StatusCounts,
    /// The latest approved evaluation of this goal.
    pub fulfilment: Option<EvaluationBrief>,
    pub rolled_up: RolledUp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalFulfilmentReport {
    pub document_id: String,
    pub document_kind: DocumentKind,
    pub document_title: String,
    pub document_status: DocumentStatus,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// The document's goals, depth first in their order.
    pub goals: Vec<GoalLine>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GoalFulfilmentQuery {
    /// The document whose goals to report on (a policy, goal document or action plan).
    #[param(required = true, value_type = String)]
    document: Option<String>,
}

struct Node {
    parent_id: Option<String>,
    kind: String,
    code: Option<String>,
    title: String,
    position: i32,
}

type NodeRow = (String, Option<String>, String, Option<String>, String, i32);

/// Which goals `load_nodes` looks up.
#[derive(Clone, Copy)]
enum By {
    Document,
    Id,
    Parent,
}

/// The live goals whose document, id or parent is among `keys`.
fn load_nodes(conn: &mut DbConnection, by: By, keys: &[String]) -> ApiResult<Vec<(String, Node)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        let q = goals::table
            .filter(goals::deleted_at.is_null())
            .into_boxed();
        let q = match by {
            By::Document => q.filter(goals::document_id.eq_any(chunk)),
            By::Id => q.filter(goals::id.eq_any(chunk)),
            By::Parent => q.filter(goals::parent_id.eq_any(chunk)),
        };
        let rows: Vec<NodeRow> = q
            .select((
                goals::id,
                goals::parent_id,
                goals::kind,
                goals::code,
                goals::title,
                goals::position,
            ))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|(id, parent_id, kind, code, title, position)| {
                    let node = Node {
                        parent_id,
                        kind,
                        code,
                        title,
                        position,
                    };
                    (id, node)
                }),
        );
    }
    Ok(out)
}

fn build(conn: &mut DbConnection, document_id: &str) -> ApiResult<GoalFulfilmentReport> {
    let doc = documents::load(conn, document_id)?;
    let own = load_nodes(conn, By::Document, std::slice::from_ref(&doc.id))?;
    let own_ids: Vec<String> = own.iter().map(|(id, _)| id.clone()).collect();
    let mut nodes: HashMap<String, Node> = own.into_iter().collect();
    // Goals elsewhere that serve these, with their sub-goals, then what serves those, until
    // nothing new appears (each goal is looked up once, so cycles end).
    let mut served_by: HashMap<String, Vec<String>> = HashMap::new();
    let mut frontier = own_ids.clone();
    while !frontier.is_empty() {
        let mut serving: Vec<(String, String)> = Vec::new();
        for chunk in frontier.chunks(500) {
            serving.extend(
                goal_serves::table
                    .filter(goal_serves::serves_goal_id.eq_any(chunk))
                    .select((goal_serves::goal_id, goal_serves::serves_goal_id))
                    .load::<(String, String)>(conn)?,
            );
        }
        let serving_ids: Vec<String> = serving.iter().map(|(g, _)| g.clone()).collect();
        let live = load_nodes(conn, By::Id, &serving_ids)?;
        let live_ids: HashSet<String> = live.iter().map(|(id, _)| id.clone()).collect();
        for (g, target) in serving {
            if live_ids.contains(&g) {
                served_by.entry(target).or_default().push(g);
            }
        }
        let mut added: Vec<String> = Vec::new();
        let mut level = live;
        while !level.is_empty() {
            let mut fresh = Vec::new();
            for (id, node) in level {
                if !nodes.contains_key(&id) {
                    nodes.insert(id.clone(), node);
                    fresh.push(id);
                }
            }
            added.extend(fresh.iter().cloned());
            level = load_nodes(conn, By::Parent, &fresh)?;
        }
        frontier = added;
    }
    let all_ids: Vec<String> = nodes.keys().cloned().collect();
    // What is linked to each goal, and the status of each linked record.
    let mut linked: HashMap<String, Vec<(bool, String)>> = HashMap::new();
    let mut activity_ids = Vec::new();
    let mut project_ids = Vec::new();
    for chunk in all_ids.chunks(500) {
        let rows: Vec<(String, String, String)> = resource_links::table
            .filter(resource_links::rel.eq("goal"))
            .filter(resource_links::resource_type.eq_any(["activity", "project"]))
            .filter(resource_links::target.eq_any(chunk))
            .select((
                resource_links::resource_type,
                resource_links::resource_id,
                resource_links::target,
            ))
            .load(conn)?;
        for (t, id, target) in rows {
            let is_activity = t == "activity";
            if is_activity {
                activity_ids.push(id.clone());
            } else {
                project_ids.push(id.clone());
            }
            linked.entry(target).or_default().push((is_activity, id));
        }
    }
    activity_ids.sort();
    activity_ids.dedup();
    project_ids.sort();
    project_ids.dedup();
    let mut status: HashMap<(bool, String), String> = HashMap::new();
    for chunk in activity_ids.chunks(500) {
        for (id, s) in activities::table
            .filter(activities::id.eq_any(chunk))
            .filter(activities::deleted_at.is_null())
            .select((activities::id, activities::status))
            .load::<(String, String)>(conn)?
        {
            status.insert((true, id), s);
        }
    }
    for chunk in project_ids.chunks(500) {
        for (id, s) in projects::table
            .filter(projects::id.eq_any(chunk))
            .filter(projects::deleted_at.is_null())
            .select((projects::id, projects::status))
            .load::<(String, String)>(conn)?
        {
            status.insert((false, id), s);
        }
    }
    let evaluations = latest_approved(conn, "goal", &all_ids)?;

    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for (id, n) in &nodes {
        if let Some(p) = &n.parent_id {
            children.entry(p.clone()).or_default().push(id.clone());
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|id| (nodes[id].position, id.clone()));
    }
    let activity_statuses: Vec<&str> = ActivityStatus::ALL.iter().map(|s| s.as_str()).collect();
    let project_statuses: Vec<&str> = ProjectStatus::ALL.iter().map(|s| s.as_str()).collect();
    let count = |goals: &mut dyn Iterator<Item = &String>| {
        let mut a = StatusCounts::new(&activity_statuses);
        let mut p = StatusCounts::new(&project_statuses);
        let mut seen = HashSet::new();
        for g in goals {
            for key in linked.get(g).into_iter().flatten() {
                if let Some(s) = status.get(key) {
                    if seen.insert(key) {
                        if key.0 {
                            a.add(s)
                        } else {
                            p.add(s)
                        }
                    }
                }
            }
        }
        (a, p)
    };

    // The document's tree, depth first.
    let own_set: HashSet<&String> = own_ids.iter().collect();
    let mut roots: Vec<&String> = own_ids
        .iter()
        .filter(|id| {
            nodes[*id]
                .parent_id
                .as_ref()
                .is_none_or(|p| !own_set.contains(p))
        })
        .collect();
    roots.sort_by_key(|id| (nodes[*id].position, (*id).clone()));
    let mut order: Vec<(String, i32)> = Vec::new();
    let mut stack: Vec<(String, i32)> = roots.into_iter().rev().map(|r| (r.clone(), 0)).collect();
    let mut placed = HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        if !placed.insert(id.clone()) {
            continue;
        }
        for c in children.get(&id).into_iter().flatten().rev() {
            if own_set.contains(c) {
                stack.push((c.clone(), depth + 1));
            }
        }
        order.push((id, depth));
    }

    let mut lines = Vec::new();
    for (id, depth) in order {
        // The goal, its sub-goals, and whatever serves any of them, each once.
        let mut covered: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo = vec![id.clone()];
        while let Some(g) = todo.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            todo.extend(children.get(&g).into_iter().flatten().cloned());
            todo.extend(served_by.get(&g).into_iter().flatten().cloned());
            covered.push(g);
        }
        let (direct_a, direct_p) = count(&mut std::iter::once(&id));
        let (rolled_a, rolled_p) = count(&mut covered.iter());
        let mut fulfilment: BTreeMap<String, i64> = GoalFulfilment::ALL
            .iter()
            .map(|f| (f.as_str().to_string(), 0))
            .chain(std::iter::once(("not_evaluated".to_string(), 0)))
            .collect();
        for g in &covered {
            let key = evaluations
                .get(g)
                .map(|e| e.goal_fulfilment.as_str())
                .unwrap_or("not_evaluated");
            *fulfilment.entry(key.to_string()).or_default() += 1;
        }
        let n = &nodes[&id];
        let mut served = served_by.get(&id).cloned().unwrap_or_default();
        served.sort();
        lines.push(GoalLine {
            goal_id: id.clone(),
            parent_id: n.parent_id.clone(),
            depth,
            kind: GoalKind::from_db(&n.kind)?,
            code: n.code.clone(),
            title: n.title.clone(),
            served_by: served,
            activities: direct_a,
            projects: direct_p,
            fulfilment: evaluations.get(&id).cloned(),
            rolled_up: RolledUp {
                goals: covered.len() as i64,
                activities: rolled_a,
                projects: rolled_p,
                fulfilment,
            },
        });
    }
    Ok(GoalFulfilmentReport {
        document_kind: doc.kind,
        document_title: doc.fields.title,
        document_id: doc.id,
        document_status: doc.status,
        generated_at: crate::model::utc(crate::model::now()),
        goals: lines,
    })
}

fn table(r: &GoalFulfilmentReport) -> Table {
    let mut header: Vec<String> = [
        "goal_id",
        "parent_id",
        "depth",
        "kind",
        "code",
        "title",
        "served_by",
        "fulfilment",
        "fulfilment_evaluation_id",
        "fulfilment_decision_date",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let counts = |prefix: &str, c: &StatusCounts| {
        std::iter::once(format!("{prefix}_total"))
            .chain(c.by_status.keys().map(|k| format!("{prefix}_{k}")))
            .collect::<Vec<_>>()
    };
    let values = |c: &StatusCounts| {
        std::iter::once(c.total.to_string())
            .chain(c.by_status.values().map(|v| v.to_string()))
            .collect::<Vec<_>>()
    };
    if let Some(first) = r.goals.first() {
        header.extend(counts("activities", &first.activities));
        header.extend(counts("projects", &first.projects));
        header.push("rolled_up_goals".into());
        header.extend(counts("rolled_up_activities", &first.rolled_up.activities));
        header.extend(counts("rolled_up_projects", &first.rolled_up.projects));
        header.extend(
            first
                .rolled_up
                .fulfilment
                .keys()
                .map(|k| format!("rolled_up_fulfilment_{k}")),
        );
    }
    let mut t = Table {
        header,
        rows: Vec::new(),
    };
    for g in &r.goals {
        let f = g.fulfilment.as_ref();
        let mut row = vec![
            g.goal_id.clone(),
            opt(&g.parent_id),
            g.depth.to_string(),
            g.kind.as_str().into(),
            opt(&g.code),
            g.title.clone(),
            g.served_by.join(" "),
            opt(&f.map(|f| f.goal_fulfilment.as_str())),
            opt(&f.map(|f| f.id.clone())),
            opt(&f.and_then(|f| f.decision_date)),
        ];
        row.extend(values(&g.activities));
        row.extend(values(&g.projects));
        row.push(g.rolled_up.goals.to_string());
        row.extend(values(&g.rolled_up.activities));
        row.extend(values(&g.rolled_up.projects));
        row.extend(g.rolled_up.fulfilment.values().map(|v| v.to_string()));
        t.rows.push(row);
    }
    t
}

/// Goal fulfilment of a document: each goal's linked activities and projects by status, its
/// latest approved evaluation, and the roll-up over its sub-goals and the goals serving it.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(GoalFulfilmentQuery),
    responses(
        (status = 200, description = "The report",
            content((GoalFulfilmentReport = "application/json"),
                    (String = "text/csv", example = "goal_id,parent_id,depth,kind,code,title,...\r\n")),
            headers(("Vary" = String, description = "`Accept`: JSON or CSV"))),
        RecordReportErrors,
    )
)]
#[get("/reports/goal-fulfilment")]
pub async fn goal_fulfilment(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<GoalFulfilmentQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let Some(document) = q.into_inner().document.filter(|d| !d.is_empty()) else {
        return Err(ApiError::validation(
            "document",
            "is required: the id of the document whose goals to report on",
        ));
    };
    let format: Format = super::negotiate(&req)?;
    let report = db::read(&state.pool, move |conn| build(conn, &document)).await?;
    Ok(super::respond(format, "goal-fulfilment", &report, table))
}
