//! Every read the service makes for a single record, a list page (each filter, with and without
//! a cursor), the change feed, the audit trail and the decision register is served by an index:
//! the statements the server actually runs are captured (diesel's instrumentation) and each is
//! explained on the same database: `EXPLAIN QUERY PLAN` on SQLite must not `SCAN` a table without
//! an index, and `EXPLAIN` on PostgreSQL with sequential scans disabled must not fall back to one
//! (it does only when no index can serve the query). A full scan fails the test.

use std::sync::Mutex;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use serde_json::json;

use crate::helpers::{id, spawn, TestApp};

/// Connections whose establishing URL contains one of these are watched.
static WATCHED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// (marker, SQL) of every statement a watched connection ran.
static CAPTURED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
/// (marker, SQL) of every statement a watched connection prepared and kept.
static KEPT: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn instrument() -> Option<Box<dyn Instrumentation>> {
    let mut marker: Option<String> = None;
    Some(Box::new(
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                marker = WATCHED
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|m| url.contains(m.as_str()))
                    .cloned();
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                if let Some(m) = &marker {
                    let text = query.to_string();
                    let sql = text.split(" -- binds: ").next().unwrap_or("").to_string();
                    CAPTURED.lock().unwrap().push((m.clone(), sql));
                }
            }
            InstrumentationEvent::CacheQuery { sql, .. } => {
                if let Some(m) = &marker {
                    KEPT.lock().unwrap().push((m.clone(), sql.to_string()));
                }
            }
            _ => {}
        },
    ))
}

/// The tables that grow with use; a full scan of any of them fails.
const LARGE: &[&str] = &[
    "documents",
    "goals",
    "goal_serves",
    "organisations",
    "programmes",
    "official_contacts",
    "positions",
    "activities",
    "projects",
    "project_partners",
    "memberships",
    "report_backs",
    "evaluations",
    "external_ids",
    "resource_links",
    "audit_events",
    "change_events",
    "decisions",
    "idempotency_keys",
];

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    id: i32,
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// Columns that tell kinds apart (a handful of values each): an index search on these alone
/// still reads a large share of the table.
const KIND_COLUMNS: &[&str] = &["deleted_at", "resource_type", "rel", "status", "body", "op"];

/// The columns of `table` in the statement's WHERE clause whose comparison (the text after the
/// column) passes `keep`.
fn filtered_columns(sql: &str, table: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let Some(where_) = sql.split(" WHERE ").nth(1) else {
        return Vec::new();
    };
    let where_ = where_.split(" ORDER BY ").next().unwrap_or("");
    where_
        .split(&format!("`{table}`.`"))
        .skip(1)
        .filter_map(|term| {
            let (column, rest) = term.split_once('`')?;
            keep(column, rest).then(|| column.to_string())
        })
        .collect()
}

/// The columns of `table` the statement filters by equality (`=` or `IN`), kind columns left out.
fn equality_filters(sql: &str, table: &str) -> Vec<String> {
    filtered_columns(sql, table, |column, rest| {
        (rest.starts_with(" = ") || rest.starts_with(" IN ")) && !KIND_COLUMNS.contains(&column)
    })
}

/// The columns of `table` (the keyset's `id` left out) the statement bounds from below
/// (`updated_since`, the audit trail's `since`: pages of recent changes, typically few rows).
/// Upper bounds are left out: `review_due_by` on memberships (tens per region) walks the key.
fn range_filters(sql: &str, table: &str) -> Vec<String> {
    filtered_columns(sql, table, |column, rest| {
        (rest.starts_with(" >= ") || rest.starts_with(" > ")) && column != "id"
    })
}

/// The columns an SQLite `SEARCH t USING INDEX i (a=? AND b>?)` line constrains.
fn searched_columns(detail: &str) -> Vec<&str> {
    let Some(inner) = detail.split_once('(').and_then(|(_, r)| r.rsplit_once(')')) else {
        return Vec::new();
    };
    inner
        .0
        .split(" AND ")
        .map(|c| c.trim_end_matches(|ch: char| "=<>?".contains(ch)))
        .collect()
}

/// The full scans in a statement's plan.
fn full_scans(conn: &mut intl_api::db::DbConnection, n: usize, sql: &str) -> Vec<String> {
    use intl_api::db::DbConnection;
    let mut bad = Vec::new();
    match conn {
        DbConnection::Sqlite(c) => {
            let plan: Vec<SqlitePlan> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load(c)
                .unwrap_or_else(|e| panic!("explain {sql}: {e}"));
            if std::env::var("EXPLAIN_SHOW").is_ok() {
                eprintln!("{sql}");
                for line in &plan {
                    eprintln!("    {}", line.detail);
                }
            }
            for line in plan {
                // `SCAN t` reads every row; `SCAN t USING INDEX` walks an index in order (the
                // unfiltered first page, stopped by LIMIT); `SEARCH` uses an index.
                // An ordered index walk that must test an equality filter on every row is a
                // full scan in disguise: an equality filter needs an index of its own.
                let words: Vec<&str> = line.detail.split_whitespace().collect();
                let Some(table) = words.get(1).filter(|t| LARGE.contains(*t)) else {
                    continue;
                };
                let filters = equality_filters(sql, table);
                let bad_line = match words.first() {
                    // So is a walk in key order under a range filter on another column: an
                    // empty page of `updated_since=<an hour ago>` walks the whole table.
                    Some(&"SCAN") => {
                        !line.detail.contains("USING")
                            || !filters.is_empty()
                            || !range_filters(sql, table).is_empty()
                    }
                    // A search on kind columns alone while the statement has a selective
                    // filter: the index narrows to one kind and the rest is read row by row
                    // (e.g. every project's external ids to find one project's).
                    Some(&"SEARCH") => {
                        let used = searched_columns(&line.detail);
                        !filters.is_empty() && used.iter().all(|c| KIND_COLUMNS.contains(c))
                    }
                    _ => false,
                };
                if bad_line {
                    bad.push(line.detail);
                }
            }
        }
        DbConnection::Postgresql(c) => {
            let params = (1..=99)
                .take_while(|i| sql.contains(&format!("${i}")))
                .count();
            diesel::sql_query("SET enable_seqscan = off")
                .execute(c)
                .unwrap();
            diesel::sql_query("SET plan_cache_mode = force_generic_plan")
                .execute(c)
                .unwrap();
            diesel::sql_query(format!("PREPARE explain_{n} AS {sql}"))
                .execute(c)
                .unwrap_or_else(|e| panic!("prepare {sql}: {e}"));
            let args = vec!["NULL"; params].join(", ");
            let exec = if params == 0 {
                format!("EXPLAIN EXECUTE explain_{n}")
            } else {
                format!("EXPLAIN EXECUTE explain_{n}({args})")
            };
            let plan: Vec<PgPlan> = diesel::sql_query(&exec)
                .load(c)
                .unwrap_or_else(|e| panic!("{exec} for {sql}: {e}"));
            for line in plan {
                if let Some(rest) = line.plan.split("Seq Scan on ").nth(1) {
                    let table = rest.split_whitespace().next().unwrap_or("");
                    if LARGE.contains(&table) {
                        bad.push(line.plan.trim().to_string());
                    }
                }
            }
        }
    }
    bad
}

/// A second server on `app`'s database whose connections are watched, and its marker.
async fn watched(app: &TestApp, env: &[(&str, &str)]) -> (TestApp, String) {
    let marker = if app.db.url.starts_with("postgres") {
        app.db.url.rsplit('/').next().unwrap().to_string()
    } else {
        app.db.dir.path().to_string_lossy().into_owned()
    };
    WATCHED.lock().unwrap().push(marker.clone());
    diesel::connection::set_default_instrumentation(instrument).unwrap();
    (spawn(app.db.clone(), env).await, marker)
}

/// The distinct statements of `store` captured on the connections watched under `marker`.
fn of(store: &Mutex<Vec<(String, String)>>, marker: &str) -> std::collections::BTreeSet<String> {
    let store = store.lock().unwrap();
    store
        .iter()
        .filter(|(m, _)| m == marker)
        .map(|(_, s)| s.clone())
        .collect()
}

/// A page of a few records reads their links, external ids and partners with one statement
/// each, kept prepared, and on PostgreSQL in a form it plans once: `IN ($2, $3, $4)`. As
/// `= ANY($2)`, PostgreSQL costed the generic plan for ten ids and so planned every execution
/// with fewer afresh (custom plans only).
pub async fn a_small_page_reads_with_statements_planned_once(app: TestApp) {
    for n in 0..3 {
        app.post(
            "/v1/projects",
            "officer",
            json!({"title": format!("Litet {n}"), "region_role": "partner",
                   "external_ids": [{"scheme": "ems", "value": format!("S{n}")}]}),
        )
        .await
        .expect(201);
    }
    // Watched from here, so that only the page's statements are captured. Uncached
    // (RENDER_CACHE_MB=0): the page is assembled from the database.
    let (watched, marker) = watched(&app, &[("RENDER_CACHE_MB", "0")]).await;
    let page = watched.get("/v1/projects?limit=3", "reader").await;
    page.expect(200);
    let ids: Vec<String> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    watched.handle.stop(true).await;
    let (ran, kept) = (of(&CAPTURED, &marker), of(&KEPT, &marker));
    WATCHED.lock().unwrap().retain(|m| m != &marker);
    let pool = intl_api::db::build_pool(&app.db.url, 1);
    let mut conn = pool.get().unwrap();
    for table in ["resource_links", "external_ids", "project_partners"] {
        let texts: Vec<&String> = ran
            .iter()
            .filter(|s| {
                ['"', '`']
                    .iter()
                    .any(|q| s.starts_with("SELECT") && s.contains(&format!("FROM {q}{table}{q}")))
            })
            .collect();
        assert_eq!(texts.len(), 1, "one read of {table}: {texts:#?}");
        let sql = texts[0];
        assert!(
            kept.contains(sql),
            "{table}'s read not kept prepared: {sql}"
        );
        let intl_api::db::DbConnection::Postgresql(c) = &mut *conn else {
            continue;
        };
        // Run it as the server's connection would, eight times, and ask PostgreSQL how it
        // planned: the first five are custom plans whatever the form; after them, the generic
        // plan, unless PostgreSQL finds it costlier than the custom ones.
        let mut args: Vec<String> = Vec::new();
        if sql.contains("\"resource_type\" = $1") {
            args.push("'project'".into());
        }
        let quoted = ids.iter().map(|i| format!("'{i}'"));
        if sql.contains("= ANY($") {
            args.push(format!("ARRAY[{}]", quoted.collect::<Vec<_>>().join(", ")));
        } else {
            args.extend(quoted);
        }
        diesel::sql_query(format!("PREPARE small_page AS {sql}"))
            .execute(c)
            .unwrap();
        for _ in 0..8 {
            diesel::sql_query(format!("EXECUTE small_page({})", args.join(", ")))
                .execute(c)
                .unwrap_or_else(|e| panic!("execute {sql}: {e}"));
        }
        #[derive(QueryableByName)]
        struct Plans {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            generic_plans: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            custom_plans: i64,
        }
        let plans: Plans = diesel::sql_query(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE name = 'small_page'",
        )
        .get_result(c)
        .unwrap();
        assert!(
            plans.generic_plans >= 3 && plans.custom_plans <= 5,
            "{table}'s read planned {} times afresh, {} times from its kept plan: {sql}",
            plans.custom_plans,
            plans.generic_plans
        );
        diesel::sql_query("DEALLOCATE small_page")
            .execute(c)
            .unwrap();
    }
}

/// A record's INSERT and UPDATE are one statement each, whichever optional fields are empty,
/// kept prepared on the connection: an optional field left empty was written as `DEFAULT`
/// (diesel's default for `Insertable`), so the INSERT's text changed with the empty fields and
/// diesel parsed and planned it on every create. diesel reports each statement it keeps.
pub async fn writes_keep_their_statements_prepared(app: TestApp) {
    let (watched, marker) = watched(&app, &[]).await;
    let goal = crate::activities::policy_goals(&app).await.0[0].clone();
    let plan = id(&app.draft("action_plan", "Handlingsplan 2028").await).to_string();
    let bodies = [
        (
            "/v1/projects",
            json!({"title": "Tom", "status": "pipeline", "region_role": "partner"}),
            json!({"title": "Full", "status": "implementation", "region_role": "lead_partner",
                   "acronym": "FULL", "description": "Beskrivning", "call": "Utlysning 1",
                   "planned_start": "2027-01-01", "planned_end": "2028-12-31"}),
            "description",
        ),
        (
            "/v1/organisations",
            json!({"name": "Tom org", "kind": "network"}),
            json!({"name": "Full org", "kind": "network", "country": "SE",
                   "website": "https://example.org"}),
            "website",
        ),
        (
            "/v1/activities",
            json!({"document_id": plan, "kind": "eu_advocacy", "title": "Tom", "status": "planned"}),
            json!({"document_id": plan, "kind": "eu_advocacy", "title": "Full", "status": "planned",
                   "description": "Beskrivning", "responsible_unit": "Enheten",
                   "planned_start": "2027-01-01", "planned_end": "2027-06-30",
                   "goal_ids": [goal]}),
            "description",
        ),
    ];
    // Each record once with its optional fields empty and once set; each patch sets one or
    // empties it.
    for (path, empty, full, field) in &bodies {
        for (body, value) in [(empty, json!("https://example.se")), (full, json!(null))] {
            let patch = json!({ *field: value });
            let r = watched.post(path, "officer", body.clone()).await;
            r.expect(201);
            let at = format!("{path}/{}", id(&r.body));
            watched
                .send(
                    watched
                        .request(reqwest::Method::PATCH, &at, Some("officer"))
                        .header("If-Match", r.etag())
                        .header("Content-Type", "application/merge-patch+json")
                        .body(patch.to_string()),
                )
                .await
                .expect(200);
        }
    }
    let (ran, kept) = (of(&CAPTURED, &marker), of(&KEPT, &marker));
    WATCHED.lock().unwrap().retain(|m| m != &marker);
    for table in ["projects", "organisations", "activities"] {
        for verb in ["INSERT INTO", "UPDATE"] {
            // diesel quotes names with " on PostgreSQL and ` on SQLite.
            let texts: Vec<&String> = ran
                .iter()
                .filter(|s| {
                    ['"', '`']
                        .iter()
                        .any(|q| s.starts_with(&format!("{verb} {q}{table}{q}")))
                })
                .collect();
            assert_eq!(
                texts.len(),
                1,
                "one {verb} {table} for two records: {texts:#?}"
            );
            assert!(
                kept.contains(texts[0]),
                "{verb} {table} not kept prepared: {}",
                texts[0]
            );
        }
    }
    watched.handle.stop(true).await;
}

pub async fn every_read_uses_an_index(app: TestApp) {
    // A second server on this database whose connections are watched.
    let (watched, marker) = watched(&app, &[]).await;

    // Two of everything, so that every list has a second page.
    let policy = app.policy().await;
    let policy_goal = app
        .get(
            &format!("/v1/goals?document_id={}&limit=1", id(&policy)),
            "reader",
        )
        .await
        .body["items"][0]
        .clone();
    let plan = app.draft("action_plan", "Handlingsplan 2027").await;
    let plan_id = id(&plan);
    let mut orgs = Vec::new();
    let mut projects = Vec::new();
    let mut memberships = Vec::new();
    let mut programmes = Vec::new();
    let mut contacts = Vec::new();
    let mut positions = Vec::new();
    for i in 0..2 {
        let p = app
            .post(
                "/v1/programmes",
                "officer",
                json!({"name": format!("Program {i}"), "fund": "erdf",
            "external_ids": [{"scheme": "cci", "value": format!("2021TC16RFTN00{i}")}]}),
            )
            .await;
        p.expect(201);
        programmes.push(id(&p.body));
        let c = app
            .post(
                "/v1/official-contacts",
                "officer",
                json!({"date": "2026-10-14", "kind": "meeting", "title": format!("Möte {i}"),
            "goal_ids": [id(&policy_goal)]}),
            )
            .await;
        c.expect(201);
        contacts.push(id(&c.body));
        let p = app
            .post(
                "/v1/positions",
                "board",
                json!({"title": format!("Hållning {i}"), "text": "T.", "goal_ids": [id(&policy_goal)],
            "decision": {"body": "board", "date": "2026-11-03", "reference": format!("RS § {i}")}}),
            )
            .await;
        p.expect(201);
        positions.push(id(&p.body));
        let o = app
            .post(
                "/v1/organisations",
                "officer",
                json!({"name": format!("Org {i}"), "kind": "network", "country": "SE",
            "external_ids": [{"scheme": "crm", "value": format!("o{i}")}]}),
            )
            .await;
        o.expect(201);
        orgs.push(id(&o.body));
        app.post(
            "/v1/activities",
            "officer",
            json!({"document_id": plan_id, "kind": "eu_advocacy", "title": format!("A{i}"),
            "status": "planned", "goal_ids": [id(&policy_goal)]}),
        )
        .await
        .expect(201);
        let p = app.post("/v1/projects", "officer", json!({"title": format!("P{i}"), "status": "implementation", "region_role": "partner",
            "programme_id": programmes[i], "goal_ids": [id(&policy_goal)], "partners": [{"organisation_id": orgs[i], "role": "partner"}],
            "external_ids": [{"scheme": "kohesio", "value": format!("p{i}")}]})).await;
        p.expect(201);
        projects.push(id(&p.body));
        let m = app.post("/v1/memberships", "board", json!({"kind": "membership", "organisation_id": orgs[i], "start_date": "2025-01-01"})).await;
        m.expect(201);
        memberships.push(id(&m.body));
        app.post(&format!("/v1/memberships/{}/report-backs", memberships[i]), "officer",
            json!({"date": "2026-01-01", "meeting": "Möte", "summary": "Kort.", "reported_to": "board"})).await.expect(201);
        app.post("/v1/evaluations", "officer", json!({"subject_type": "project", "subject_id": projects[i], "goal_fulfilment": "not_assessed"}))
            .await
            .expect(201);
    }
    let (org, project, membership) = (&orgs[0], &projects[0], &memberships[0]);
    let goal = id(&policy_goal);
    let since = "2000-01-01T00:00:00Z";
    let lists: Vec<String> = vec![
        "/v1/documents".into(),
        "/v1/documents?kind=action_plan".into(),
        "/v1/documents?status=adopted".into(),
        "/v1/documents?year=2027".into(),
        format!("/v1/documents?updated_since={since}"),
        "/v1/goals".into(),
        format!("/v1/goals?document_id={}", id(&policy)),
        format!("/v1/goals?parent_id={goal}"),
        "/v1/goals?kind=priority_area".into(),
        format!("/v1/goals?updated_since={since}"),
        "/v1/organisations".into(),
        "/v1/organisations?kind=network".into(),
        "/v1/organisations?country=SE".into(),
        "/v1/organisations?external_id_scheme=crm&external_id_value=o1".into(),
        format!("/v1/organisations?updated_since={since}"),
        "/v1/programmes".into(),
        "/v1/programmes?fund=erdf".into(),
        "/v1/programmes?external_id_scheme=cci&external_id_value=2021TC16RFTN001".into(),
        format!("/v1/programmes?updated_since={since}"),
        "/v1/official-contacts".into(),
        "/v1/official-contacts?kind=meeting".into(),
        format!("/v1/official-contacts?organisation_id={org}"),
        format!("/v1/official-contacts?goal_id={goal}"),
        format!("/v1/official-contacts?updated_since={since}"),
        "/v1/positions".into(),
        format!("/v1/positions?goal_id={goal}"),
        format!("/v1/positions?updated_since={since}"),
        "/v1/activities".into(),
        format!("/v1/activities?document_id={plan_id}"),
        "/v1/activities?year=2027".into(),
        "/v1/activities?kind=eu_advocacy".into(),
        "/v1/activities?status=planned".into(),
        format!("/v1/activities?goal_id={goal}"),
        format!("/v1/activities?priority_area_id={goal}"),
        format!("/v1/activities?updated_since={since}"),
        "/v1/projects".into(),
        "/v1/projects?status=implementation".into(),
        format!("/v1/projects?programme_id={}", programmes[0]),
        "/v1/projects?region_role=partner".into(),
        format!("/v1/projects?goal_id={goal}"),
        format!("/v1/projects?priority_area_id={goal}"),
        format!("/v1/projects?organisation_id={org}"),
        "/v1/projects?external_id_scheme=kohesio&external_id_value=p0".into(),
        format!("/v1/projects?updated_since={since}"),
        "/v1/memberships".into(),
        "/v1/memberships?kind=membership".into(),
        "/v1/memberships?status=active".into(),
        format!("/v1/memberships?organisation_id={org}"),
        "/v1/memberships?review_due_by=2030-01-01".into(),
        format!("/v1/memberships?updated_since={since}"),
        format!("/v1/memberships/{membership}/report-backs"),
        "/v1/evaluations".into(),
        "/v1/evaluations?subject_type=project".into(),
        format!("/v1/evaluations?subject_id={project}"),
        "/v1/evaluations?status=draft".into(),
        format!("/v1/evaluations?updated_since={since}"),
        "/v1/changes".into(),
        "/v1/changes?resource_type=project".into(),
        "/v1/audit-events".into(),
        "/v1/audit-events?resource_type=project".into(),
        format!("/v1/audit-events?resource_id={project}"),
        "/v1/audit-events?actor=officer-user".into(),
        "/v1/audit-events?action=update".into(),
        format!("/v1/audit-events?since={since}"),
        "/v1/decisions".into(),
        "/v1/decisions?body=board".into(),
        "/v1/decisions?year=2026".into(),
        "/v1/decisions?kind=adoption".into(),
        format!("/v1/decisions?resource_id={plan_id}"),
    ];
    // Only this run's statements: the other backend's run of this test captures at the same
    // time, and clearing everything lost its statements (a flaky "got 31").
    CAPTURED.lock().unwrap().retain(|(m, _)| m != &marker);
    for path in &lists {
        // The first page, then the second through its cursor.
        let sep = if path.contains('?') { '&' } else { '?' };
        let (limit, cursor_param) = if path.starts_with("/v1/changes") {
            ("limit=1", "after")
        } else {
            ("limit=1", "cursor")
        };
        let r = watched.get(&format!("{path}{sep}{limit}"), "council").await;
        r.expect(200);
        if let Some(c) = r.body["next_cursor"].as_str() {
            watched
                .get(&format!("{path}{sep}{limit}&{cursor_param}={c}"), "council")
                .await
                .expect(200);
        }
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for path in [
        format!("/v1/documents/{plan_id}"),
        format!("/v1/goals/{goal}"),
        format!("/v1/organisations/{org}"),
        format!("/v1/programmes/{}", programmes[0]),
        format!("/v1/official-contacts/{}", contacts[0]),
        format!("/v1/positions/{}", positions[0]),
        format!("/v1/projects/{project}"),
        format!("/v1/memberships/{membership}"),
    ] {
        watched.get(&path, "reader").await.expect(200);
        watched
            .get(&format!("{path}?as_of={now}"), "reader")
            .await
            .expect(200);
    }
    watched.handle.stop(true).await;

    let mut statements: Vec<String> = {
        let mut seen = std::collections::BTreeSet::new();
        CAPTURED
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == &marker)
            .map(|(_, s)| s.clone())
            .filter(|s| s.trim_start().to_ascii_uppercase().starts_with("SELECT"))
            .filter(|s| seen.insert(s.clone()))
            .collect()
    };
    WATCHED.lock().unwrap().retain(|m| m != &marker);
    assert!(
        statements.len() > 40,
        "expected the lists' statements to be captured, got {}",
        statements.len()
    );
    // On PostgreSQL a GET's version lookup and a list page's keys go through `db::pipeline`
    // (tokio-postgres), which diesel's instrumentation does not see: the statements it has
    // prepared are explained too.
    if app.db.url.starts_with("postgres") {
        let mut seen: std::collections::BTreeSet<String> = statements.iter().cloned().collect();
        let pipelined: Vec<String> = intl_api::db::pipeline::prepared()
            .into_iter()
            .filter(|s| seen.insert(s.clone()))
            .collect();
        assert!(
            pipelined.iter().any(|s| s.contains("LIMIT")),
            "expected pipelined list statements, got {pipelined:?}"
        );
        statements.extend(pipelined);
    }
    let pool = intl_api::db::build_pool(&app.db.url, 1);
    let mut conn = pool.get().unwrap();
    let mut failures = Vec::new();
    for (n, sql) in statements.iter().enumerate() {
        for scan in full_scans(&mut conn, n, sql) {
            failures.push(format!("{scan}\n    in: {sql}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} full scan(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// PostgreSQL connections plan with a random page read costed as on an SSD (1.1, not the
/// spinning-disk default 4: with 4 a filtered page walked the primary key and filtered), unless
/// the operator set a value of their own, which is kept.
pub async fn postgres_random_page_cost_unless_set(app: TestApp) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let setting = |url: &str| {
        let pool = intl_api::db::build_pool(url, 1);
        let mut conn = pool.get().unwrap();
        diesel::sql_query("SELECT current_setting('random_page_cost') AS value")
            .get_result::<Setting>(&mut *conn)
            .unwrap()
            .value
    };
    assert_eq!(setting(&app.db.url), "1.1");
    let other = crate::helpers::TestDb::new(crate::helpers::Backend::Postgres);
    let mut admin = diesel::PgConnection::establish(&other.url).unwrap();
    diesel::sql_query(format!(
        "ALTER DATABASE {} SET random_page_cost = 2",
        other.name()
    ))
    .execute(&mut admin)
    .unwrap();
    assert_eq!(setting(&other.url), "2", "the operator's value is kept");
}
