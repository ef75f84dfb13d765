//! Activities: links to goals and priority areas, validation and filters.

use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

/// The shipped policy's goals and priority areas.
pub async fn policy_goals(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let policy = app.policy().await;
    let all = app
        .get(
            &format!("/v1/goals?document_id={}&limit=500", id(&policy)),
            "reader",
        )
        .await
        .body["items"]
        .clone();
    let of = |k: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .filter(|g| g["kind"] == k)
            .map(id)
            .collect::<Vec<_>>()
    };
    (of("goal"), of("priority_area"))
}

pub async fn crud_links_and_filters(app: TestApp) {
    let (goals, areas) = policy_goals(&app).await;
    let plan = app.draft("action_plan", "Handlingsplan 2027").await;
    let p = id(&plan);
    let r = app
        .post(
            "/v1/activities",
            "officer",
            json!({"document_id": p, "kind": "eu_advocacy", "title": "Påverka sammanhållningspolitiken efter 2027",
                   "responsible_unit": "Regional utveckling", "prioritised": true,
                   "planned_start": "2027-01-01", "planned_end": "2027-12-31",
                   "goal_ids": [goals[0]], "priority_area_ids": [areas[0], areas[1]]}),
        )
        .await;
    r.expect(201);
    let a = r.body.clone();
    assert_eq!(a["status"], "planned");
    assert_eq!(a["goal_ids"], json!([goals[0]]));
    assert_eq!(a["priority_area_ids"], json!([areas[0], areas[1]]));
    assert_eq!(
        app.get(&format!("/v1/activities/{}", id(&a)), "reader")
            .await
            .body,
        a
    );
    let b = app
        .post("/v1/activities", "board", json!({"document_id": p, "kind": "international_project", "title": "Interreg Aurora-projekt", "status": "ongoing", "goal_ids": [goals[1]]}))
        .await;
    b.expect(201);
    // Filters.
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(
            &app.get(&format!("/v1/activities?document_id={p}"), "reader")
                .await
        ),
        2
    );
    assert_eq!(
        count(&app.get("/v1/activities?year=2027", "reader").await),
        2
    );
    assert_eq!(
        count(&app.get("/v1/activities?year=2026", "reader").await),
        0
    );
    assert_eq!(
        count(&app.get("/v1/activities?kind=eu_advocacy", "reader").await),
        1
    );
    assert_eq!(
        count(&app.get("/v1/activities?status=ongoing", "reader").await),
        1
    );
    assert_eq!(
        count(
            &app.get(&format!("/v1/activities?goal_id={}", goals[1]), "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/activities?priority_area_id={}", areas[1]),
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!(
                    "/v1/activities?priority_area_id={}&kind=international_project",
                    areas[1]
                ),
                "reader"
            )
            .await
        ),
        0
    );
    app.get("/v1/activities?status=done", "reader")
        .await
        .expect(422);
    app.get("/v1/activities?year=twenty", "reader")
        .await
        .expect(422);
    // Patch: links replaced, dates checked.
    let r = app.patch(&format!("/v1/activities/{}", id(&a)), "officer", json!({"status": "completed", "actual_end": "2027-06-01", "actual_start": "2027-01-10", "priority_area_ids": []})).await;
    r.expect(200);
    assert_eq!(r.body["priority_area_ids"], json!([]));
    assert_eq!(r.body["version"], 2);
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/activities?priority_area_id={}", areas[0]),
                "reader"
            )
            .await
        ),
        0
    );
    let r = app
        .delete(&format!("/v1/activities/{}", id(&a)), "officer")
        .await;
    assert_eq!(r.status, 204);
    app.get(&format!("/v1/activities/{}", id(&a)), "reader")
        .await
        .expect(404);
    assert_eq!(app.feed(&id(&a)).last().unwrap().0, "deleted");
}

pub async fn validation(app: TestApp) {
    let (goals, areas) = policy_goals(&app).await;
    let plan = app.draft("action_plan", "Plan").await;
    let programme = app.draft("programme", "Program").await;
    let before = app.snapshot();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"document_id": id(&programme), "kind": "eu_advocacy", "title": "x"}),
            vec!["document_id"],
        ),
        (
            json!({"document_id": "missing", "kind": "eu_advocacy", "title": "x"}),
            vec!["document_id"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "lobbying", "title": "x"}),
            vec!["kind"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "x", "status": "done"}),
            vec!["status"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "", "planned_start": "2027-05-01", "planned_end": "2027-04-01"}),
            vec!["planned_end", "title"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "x", "goal_ids": ["nope", areas[0]], "priority_area_ids": [goals[0]]}),
            vec!["goal_ids[0]", "goal_ids[1]", "priority_area_ids[0]"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "x", "goal_ids": [goals[0], goals[0]]}),
            vec!["goal_ids[1]"],
        ),
        (
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "x", "prioritised": "yes"}),
            vec!["prioritised"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.post("/v1/activities", "officer", body.clone()).await;
        r.expect(422);
        let mut f = r.error_fields();
        f.sort();
        assert_eq!(f, fields, "{body}: {}", r.text);
    }
    for role in ["council", "integrator", "reader"] {
        let r = app
            .post(
                "/v1/activities",
                role,
                json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "x"}),
            )
            .await;
        r.expect(403);
        assert_eq!(r.body["required_roles"], json!(["board", "officer"]));
    }
    assert_eq!(app.snapshot(), before);
}
