//! Positions: the board's decisions in the running work that adopt no document, each in the
//! decision register.

use serde_json::json;

use crate::helpers::{assert_problem, id, TestApp};

/// The register's entries about record `id`.
async fn register(app: &TestApp, id: &str) -> Vec<serde_json::Value> {
    app.get(&format!("/v1/decisions?resource_id={id}"), "reader")
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub async fn the_board_records_positions_in_the_register(app: TestApp) {
    let (goals, _) = crate::activities::policy_goals(&app).await;
    let body = json!({"title": "Sammanhållningspolitiken efter 2027",
        "text": "Regionen anser att sammanhållningspolitiken ska omfatta alla regioner.",
        "goal_ids": [goals[0]],
        "decision": {"body": "board", "date": "2026-11-03", "reference": "RS 2026-11-03 § 201"}});
    // Only the board takes a position; a refusal writes nothing.
    let before = app.snapshot();
    for role in ["council", "officer", "integrator", "reader"] {
        let r = app.post("/v1/positions", role, body.clone()).await;
        assert_problem(&r, 403);
        assert_eq!(r.body["required_roles"], json!(["board"]), "{role}");
    }
    for (bad, field) in [
        (
            json!({"body": "council", "date": "2026-11-03", "reference": "RF § 1"}),
            "decision.body",
        ),
        (
            json!({"body": "board", "date": "2026-11-03", "reference": " "}),
            "decision.reference",
        ),
    ] {
        let mut b = body.clone();
        b["decision"] = bad;
        let r = app.post("/v1/positions", "board", b).await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()]);
    }
    let r = app
        .post(
            "/v1/positions",
            "board",
            json!({"title": "T", "text": "", "goal_ids": ["no-such-goal"],
                   "decision": {"body": "board", "date": "2026-11-03", "reference": "RS § 1"}}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["text"]);
    let r = app
        .post(
            "/v1/positions",
            "board",
            json!({"title": "T", "text": "X", "goal_ids": ["no-such-goal"],
                   "decision": {"body": "board", "date": "2026-11-03", "reference": "RS § 1"}}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["goal_ids[0]"]);
    assert_eq!(app.snapshot(), before);

    let r = app.post("/v1/positions", "board", body.clone()).await;
    r.expect(201);
    let p = id(&r.body);
    let entries = register(&app, &p).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "position");
    assert_eq!(entries[0]["body"], "board");
    assert_eq!(entries[0]["reference"], "RS 2026-11-03 § 201");
    assert_eq!(
        entries[0]["summary"],
        "Tog ställning: \"Sammanhållningspolitiken efter 2027\""
    );
    // Everyone reads it; the list filters by goal.
    for role in ["council", "officer", "integrator", "reader"] {
        app.get(&format!("/v1/positions/{p}"), role)
            .await
            .expect(200);
    }
    let by_goal = app
        .get(&format!("/v1/positions?goal_id={}", goals[0]), "reader")
        .await;
    assert_eq!(by_goal.body["items"].as_array().unwrap().len(), 1);
    // Its text edited: no new decision. Its reference corrected: the register says so again.
    app.patch(
        &format!("/v1/positions/{p}"),
        "board",
        json!({"text": "Förtydligad."}),
    )
    .await
    .expect(200);
    assert_eq!(register(&app, &p).await.len(), 1);
    assert_problem(
        &app.patch(
            &format!("/v1/positions/{p}"),
            "officer",
            json!({"text": "Nej."}),
        )
        .await,
        403,
    );
    app.patch(
        &format!("/v1/positions/{p}"),
        "board",
        json!({"decision": {"body": "board", "date": "2026-11-03", "reference": "RS 2026-11-03 § 202"}}),
    )
    .await
    .expect(200);
    assert_eq!(register(&app, &p).await.len(), 2);
    // A decision stays: there is no delete.
    let r = app.delete(&format!("/v1/positions/{p}"), "board").await;
    assert_eq!(r.status, 405, "{}", r.text);
    let ops: Vec<String> = app.feed(&p).into_iter().map(|e| e.0).collect();
    assert_eq!(ops, ["created", "updated", "updated"]);
}
