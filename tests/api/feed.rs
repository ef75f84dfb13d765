//! The change feed: a consumer that replays it rebuilds the current state exactly; concurrent
//! writers never make a polling reader skip or repeat an event; cursors survive restarts.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, spawn, TestApp};

/// Reads the feed from `after` to its end; returns the events and the cursor to poll from.
async fn drain(
    app: &TestApp,
    after: Option<String>,
    limit: usize,
    filter: &str,
) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let mut path = format!("/v1/changes?limit={limit}{filter}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&after={c}"));
        }
        let r = app.get(&path, "integrator").await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap().clone();
        let next = r.body["next_cursor"].as_str().unwrap().to_string();
        let n = items.len();
        events.extend(items);
        cursor = Some(next.clone());
        if n < limit {
            return (events, next);
        }
    }
}

/// Applies events into (type, id) -> record; deletes remove.
fn replay(events: &[Value]) -> BTreeMap<(String, String), Value> {
    let mut state = BTreeMap::new();
    let mut last_seq = 0;
    for e in events {
        let seq = e["seq"].as_i64().unwrap();
        assert!(seq > last_seq, "seq must increase: {seq} after {last_seq}");
        last_seq = seq;
        let key = (
            e["resource_type"].as_str().unwrap().to_string(),
            e["resource_id"].as_str().unwrap().to_string(),
        );
        match e["op"].as_str().unwrap() {
            "deleted" => {
                assert!(e["data"].is_null());
                state.remove(&key);
            }
            _ => {
                assert_eq!(e["data"]["version"], e["version"]);
                state.insert(key, e["data"].clone());
            }
        }
    }
    state
}

/// Every live record, read through the API.
async fn current(app: &TestApp) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (t, path) in [
        ("document", "/v1/documents"),
        ("goal", "/v1/goals"),
        ("organisation", "/v1/organisations"),
        ("activity", "/v1/activities"),
        ("project", "/v1/projects"),
        ("membership", "/v1/memberships"),
        ("evaluation", "/v1/evaluations"),
    ] {
        let items = app.get(&format!("{path}?limit=500"), "reader").await.body["items"]
            .as_array()
            .unwrap()
            .clone();
        for i in items {
            if t == "membership" {
                let rbs = app
                    .get(
                        &format!("/v1/memberships/{}/report-backs?limit=500", id(&i)),
                        "reader",
                    )
                    .await;
                for rb in rbs.body["items"].as_array().unwrap() {
                    out.insert(("report_back".to_string(), id(rb)), rb.clone());
                }
            }
            out.insert((t.to_string(), id(&i)), i);
        }
    }
    out
}

pub async fn replay_rebuilds_the_current_state(app: TestApp) {
    // A deterministic mix of creates, updates and deletes across every resource.
    let mut seed: u64 = 20261128;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let plan = app.draft("action_plan", "Plan").await;
    let mut orgs = Vec::new();
    let mut projects = Vec::new();
    let mut activities = Vec::new();
    let mut goals = Vec::new();
    for i in 0..60 {
        match next() % 9 {
            0 => orgs.push(id(&app.post("/v1/organisations", "officer", json!({"name": format!("Org {i}"), "kind": "ngo"})).await.body)),
            1 => projects.push(id(&app.post("/v1/projects", "officer", json!({"title": format!("Projekt {i}"), "region_role": "partner"})).await.body)),
            2 => activities.push(id(&app.post("/v1/activities", "officer", json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": format!("A {i}")})).await.body)),
            3 => goals.push(id(&app.goal(&id(&plan), None, "sub_goal", &format!("Delmål {i}")).await)),
            4 if !projects.is_empty() => {
                let p = &projects[next() % projects.len()];
                app.patch(&format!("/v1/projects/{p}"), "board", json!({"status": "implementation", "title": format!("Ändrat {i}")})).await.expect(200);
            }
            5 if !activities.is_empty() => {
                let a = activities.remove(next() % activities.len());
                assert_eq!(app.delete(&format!("/v1/activities/{a}"), "officer").await.status, 204);
            }
            6 if !orgs.is_empty() => {
                let o = orgs.remove(next() % orgs.len());
                let r = app.delete(&format!("/v1/organisations/{o}"), "officer").await;
                assert_eq!(r.status, 204, "{}", r.text);
            }
            7 if !orgs.is_empty() => {
                // The organisation is pointed at from now on, so it leaves the deletable pool.
                let o = orgs.remove(next() % orgs.len());
                let m = app.post("/v1/memberships", "board", json!({"kind": "representation", "organisation_id": o})).await.body;
                app.post(&format!("/v1/memberships/{}/report-backs", id(&m)), "officer", json!({"date": "2026-01-01", "meeting": "M", "summary": "S", "reported_to": "board"})).await.expect(201);
            }
            _ if !goals.is_empty() => {
                let g = goals.remove(next() % goals.len());
                assert_eq!(app.delete(&format!("/v1/goals/{g}"), "officer").await.status, 204);
            }
            _ => {}
        }
    }
    // Replay in small pages: the result is exactly what the API shows now.
    let (events, _) = drain(&app, None, 7, "").await;
    assert!(events.len() > 60);
    assert_eq!(replay(&events), current(&app).await);
    // An event's time is its record's `updated_at` as written (SQLite's text read by hand).
    for e in events.iter().filter(|e| e["op"] != "deleted") {
        let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        assert_eq!(at(&e["at"]), at(&e["data"]["updated_at"]), "{e}");
    }
    // A filtered feed carries only that type.
    let (projects_only, _) = drain(&app, None, 50, "&resource_type=project").await;
    assert!(
        !projects_only.is_empty()
            && projects_only
                .iter()
                .all(|e| e["resource_type"] == "project")
    );
}

pub async fn concurrent_writers_and_a_polling_reader(app: TestApp) {
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = app.client.clone();
            let base = app.base.clone();
            actix_web::rt::spawn(async move {
                let token = crate::helpers::token("officer");
                for i in 0..20 {
                    let r = client
                        .post(format!("{base}/v1/organisations"))
                        .bearer_auth(&token)
                        .json(&json!({"name": format!("W{w} {i}"), "kind": "ngo"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    let o: Value = r.json().await.unwrap();
                    let r = client
                        .patch(format!(
                            "{base}/v1/organisations/{}",
                            o["id"].as_str().unwrap()
                        ))
                        .bearer_auth(&token)
                        .json(&json!({"short_name": format!("w{w}-{i}")}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    // Poll while they write.
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        let (events, next) = drain(&app, cursor.clone(), 25, "").await;
        seen.extend(events.iter().map(|e| e["seq"].as_i64().unwrap()));
        cursor = Some(next);
    }
    for w in writers {
        w.await.unwrap();
    }
    let (events, _) = drain(&app, cursor, 25, "").await;
    seen.extend(events.iter().map(|e| e["seq"].as_i64().unwrap()));
    // Nothing repeated, nothing skipped: exactly the committed events, in order.
    let all: Vec<i64> = {
        use diesel::prelude::*;
        use intl_api::db::schema::change_events::dsl as c;
        let pool = intl_api::db::build_pool(&app.db.url, 1);
        let mut conn = pool.get().unwrap();
        c::change_events
            .select(c::seq)
            .order(c::seq.asc())
            .load(&mut conn)
            .unwrap()
    };
    assert_eq!(seen, all);
    assert!(seen.len() >= 160);
}

pub async fn cursors_are_checked_and_survive_restarts(app: TestApp) {
    let (events, cursor) = drain(&app, None, 1000, "").await;
    assert!(!events.is_empty(), "the shipped data is in the feed");
    assert!(events
        .iter()
        .any(|e| e["resource_type"] == "document" && e["data"]["document_number"] == "320944"));
    app.get("/v1/changes?after=forged.cursor", "reader")
        .await
        .expect(400);
    app.get(
        &format!("/v1/changes?after={cursor}&resource_type=project"),
        "reader",
    )
    .await
    .expect(400);
    app.get("/v1/changes?resource_type=person", "reader")
        .await
        .expect(422);
    app.get("/v1/changes?limit=1001", "reader")
        .await
        .expect(422);
    app.send(app.request(Method::GET, "/v1/changes", None))
        .await
        .expect(401);
    // A page that is full says where the next one is.
    let r = app.get("/v1/changes?limit=2", "reader").await;
    assert!(r.header("link").unwrap().contains("rel=\"next\""));
    // The same cursor works on another instance (the key is in the database).
    let o = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Efter", "kind": "ngo"}),
        )
        .await
        .body;
    let again = spawn(app.db.clone(), &[]).await;
    let r = again
        .get(&format!("/v1/changes?after={cursor}"), "reader")
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["resource_id"], o["id"]);
    assert_eq!(items[0]["op"], "created");
    again.handle.stop(true).await;
}

/// `intl_change_feed_head_seq` of `app`.
async fn feed_head(app: &TestApp) -> i64 {
    app.metric("intl_change_feed_head_seq").await as i64
}

/// PostgreSQL's writers commit side by side. A transaction whose change event has drawn its
/// seq but is not yet visible holds back the events after it, filtered or not, and no other
/// writer: when it commits its event comes first; when it rolls back its seq is never shown.
pub async fn a_commit_in_flight_holds_back_later_events(app: TestApp) {
    use diesel::connection::{Connection, SimpleConnection};
    let (_, mut start) = drain(&app, None, 1000, "").await;
    for outcome in ["COMMIT", "ROLLBACK"] {
        let head = feed_head(&app).await;
        let mut raw = diesel::PgConnection::establish(&app.db.url).unwrap();
        let held = format!("o-in-flight-{}", outcome.to_lowercase());
        // A change as the write path records it, with its deferred trigger run now instead of
        // at COMMIT: the change event has its seq and the transaction stays open.
        raw.batch_execute(&format!(
            "BEGIN; INSERT INTO audit_events (at, actor_sub, actor_roles, action, resource_type, \
             resource_id, resource_version, after_data) VALUES (now(), 'test', '[]', 'create', \
             'organisation', '{held}', 1, '{{\"id\": \"{held}\", \"version\": 1}}'); \
             SET CONSTRAINTS ALL IMMEDIATE"
        ))
        .unwrap();
        let o = app
            .post(
                "/v1/organisations",
                "officer",
                json!({"name": format!("After {outcome}"), "kind": "ngo"}),
            )
            .await;
        o.expect(201);
        let created = id(&o.body);
        let (events, next) = drain(&app, Some(start.clone()), 100, "").await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(
            next, start,
            "the cursor stays below the transaction in flight"
        );
        let (events, _) = drain(&app, None, 1000, "&resource_type=organisation").await;
        assert!(!events.is_empty() && events.iter().all(|e| e["resource_id"] != created));
        assert_eq!(
            feed_head(&app).await,
            head,
            "the metrics' head is what a consumer can read"
        );
        raw.batch_execute(outcome).unwrap();
        let (events, next) = drain(&app, Some(start.clone()), 100, "").await;
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e["resource_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            Some(feed_head(&app).await),
            events.last().and_then(|e| e["seq"].as_i64())
        );
        if outcome == "COMMIT" {
            assert_eq!(ids, [held.as_str(), created.as_str()]);
            assert!(events[0]["seq"].as_i64() < events[1]["seq"].as_i64());
        } else {
            assert_eq!(ids, [created.as_str()]);
        }
        start = next;
    }
}
