//! Goal trees: parents, cycles, what a goal may serve, and read-only adopted goals.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, TestApp};

pub async fn tree_rules(app: TestApp) {
    let plan = app.draft("action_plan", "Handlingsplan").await;
    let other = app.draft("programme", "Annat").await;
    let p = id(&plan);
    let a = app.goal(&p, None, "goal_area", "Område").await;
    let b = app.goal(&p, Some(&id(&a)), "sub_goal", "Delmål B").await;
    let c = app.goal(&p, Some(&id(&b)), "sub_goal", "Delmål C").await;
    assert_eq!(b["parent_id"], id(&a).as_str());
    let foreign = app.goal(&id(&other), None, "goal", "Främmande").await;
    let before = app.snapshot();
    // A missing parent, a parent in another document, and an unknown document are 422.
    let r = app
        .post(
            "/v1/goals",
            "officer",
            json!({"document_id": p, "parent_id": "nope", "kind": "goal", "title": "x"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["parent_id"]);
    let r = app
        .post(
            "/v1/goals",
            "officer",
            json!({"document_id": p, "parent_id": id(&foreign), "kind": "goal", "title": "x"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["parent_id"]);
    let r = app
        .post(
            "/v1/goals",
            "officer",
            json!({"document_id": "nope", "kind": "goal", "title": "x"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["document_id"]);
    let r = app
        .post(
            "/v1/goals",
            "officer",
            json!({"document_id": p, "kind": "wish", "title": ""}),
        )
        .await;
    r.expect(422);
    // Cycles: a goal under its own descendant, or under itself.
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&a)),
            "officer",
            json!({"parent_id": id(&c)}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["parent_id"]);
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&b)),
            "officer",
            json!({"parent_id": id(&b)}),
        )
        .await;
    r.expect(422);
    // Moving to another document is refused.
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&b)),
            "officer",
            json!({"document_id": id(&other)}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["document_id"]);
    assert_eq!(app.snapshot(), before);
    // A legal move: C up to the area, then B to the top.
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&c)),
            "officer",
            json!({"parent_id": id(&a)}),
        )
        .await;
    r.expect(200);
    let r = app
        .send(
            app.request(
                Method::PATCH,
                &format!("/v1/goals/{}", id(&b)),
                Some("board"),
            )
            .header("if-match", "\"1\"")
            .json(&json!({"parent_id": null, "code": "1.1"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["parent_id"], serde_json::Value::Null);
    assert_eq!(r.body["code"], "1.1");
    assert_eq!(r.etag(), "\"2\"");
}

pub async fn serves_rules(app: TestApp) {
    let policy = app.policy().await;
    let policy_goals = app
        .get(
            &format!("/v1/goals?document_id={}&kind=goal", id(&policy)),
            "reader",
        )
        .await;
    let targets: Vec<String> = policy_goals.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(targets.len(), 7);
    let plan = app.draft("action_plan", "Handlingsplan 2027").await;
    let p = id(&plan);
    let r = app
        .post("/v1/goals", "officer", json!({"document_id": p, "kind": "sub_goal", "title": "Fler EU-projekt", "serves": [targets[1], targets[0]]}))
        .await;
    r.expect(201);
    let mut expected = vec![targets[0].clone(), targets[1].clone()];
    expected.sort();
    assert_eq!(r.body["serves"], json!(expected));
    let sub = r.body.clone();
    let got = app.get(&format!("/v1/goals/{}", id(&sub)), "reader").await;
    assert_eq!(got.body["serves"], json!(expected));
    // What may not be served.
    let own = app.goal(&p, None, "sub_goal", "Eget").await;
    let other_plan = app.draft("action_plan", "Annan plan").await;
    let plan_goal = app.goal(&id(&other_plan), None, "sub_goal", "Annans").await;
    let before = app.snapshot();
    for (serves, field) in [
        (json!(["missing"]), "serves[0]"),
        (json!([id(&own)]), "serves[0]"),
        (json!([targets[0], id(&plan_goal)]), "serves[1]"),
        (json!([targets[0], targets[0]]), "serves[1]"),
    ] {
        let r = app
            .patch(
                &format!("/v1/goals/{}", id(&sub)),
                "officer",
                json!({"serves": serves}),
            )
            .await;
        r.expect(422);
        assert_eq!(r.error_fields(), vec![field], "{}", r.text);
    }
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&sub)),
            "officer",
            json!({"serves": "not a list"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["serves"]);
    assert_eq!(app.snapshot(), before);
    // Replacing and clearing the list.
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&sub)),
            "officer",
            json!({"serves": [targets[2]]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["serves"], json!([targets[2]]));
    let r = app
        .patch(
            &format!("/v1/goals/{}", id(&sub)),
            "officer",
            json!({"serves": []}),
        )
        .await;
    assert_eq!(r.body["serves"], json!([]));
    // A policy goal that is served is not deleted from under its server (in a draft goal document).
    let gd = app.draft("goal_document", "Måldokument").await;
    let gd_goal = app.goal(&id(&gd), None, "goal", "Gemensamt mål").await;
    app.patch(
        &format!("/v1/goals/{}", id(&sub)),
        "officer",
        json!({"serves": [id(&gd_goal)]}),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/goals/{}", id(&gd_goal)), "officer")
        .await
        .expect(409);
}

pub async fn adopted_goals_are_read_only(app: TestApp) {
    let policy = app.policy().await;
    let goals = app
        .get(&format!("/v1/goals?document_id={}", id(&policy)), "reader")
        .await;
    let g = id(&goals.body["items"][0]);
    let before = app.snapshot();
    let r = app
        .patch(
            &format!("/v1/goals/{g}"),
            "council",
            json!({"title": "Nytt"}),
        )
        .await;
    r.expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("revisions"));
    app.delete(&format!("/v1/goals/{g}"), "council")
        .await
        .expect(409);
    app.post(
        "/v1/goals",
        "council",
        json!({"document_id": id(&policy), "kind": "goal", "title": "Nytt"}),
    )
    .await
    .expect(409);
    assert_eq!(app.snapshot(), before);
}

pub async fn list_and_delete(app: TestApp) {
    let plan = app.draft("action_plan", "Plan").await;
    let p = id(&plan);
    let area = app.goal(&p, None, "goal_area", "Område").await;
    let mut subs = Vec::new();
    for i in 0..3 {
        subs.push(
            app.goal(&p, Some(&id(&area)), "sub_goal", &format!("Delmål {i}"))
                .await,
        );
    }
    let r = app
        .get(&format!("/v1/goals?document_id={p}"), "integrator")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 4);
    let r = app
        .get(&format!("/v1/goals?parent_id={}", id(&area)), "reader")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let r = app
        .get(
            &format!("/v1/goals?document_id={p}&kind=goal_area"),
            "reader",
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    app.get("/v1/goals?kind=wish", "reader").await.expect(422);
    // Paging through goals of the policy and the plan.
    let page1 = app.get("/v1/goals?limit=10", "reader").await;
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 10);
    let c = page1.body["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(&format!("/v1/goals?limit=10&cursor={c}"), "reader")
        .await;
    assert_eq!(page2.body["items"].as_array().unwrap().len(), 9);
    assert_eq!(page2.body["next_cursor"], serde_json::Value::Null);
    // A goal with sub-goals stays; leaves go first.
    app.delete(&format!("/v1/goals/{}", id(&area)), "officer")
        .await
        .expect(409);
    for s in &subs {
        let r = app
            .send(
                app.request(
                    Method::DELETE,
                    &format!("/v1/goals/{}", id(s)),
                    Some("officer"),
                )
                .header("if-match", "\"1\""),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let r = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/goals/{}", id(&area)),
                Some("officer"),
            )
            .header("if-match", "\"9\""),
        )
        .await;
    r.expect(412);
    let r = app
        .delete(&format!("/v1/goals/{}", id(&area)), "officer")
        .await;
    assert_eq!(r.status, 204);
    app.get(&format!("/v1/goals/{}", id(&area)), "reader")
        .await
        .expect(404);
    let r = app
        .get(&format!("/v1/goals?document_id={p}"), "reader")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
}
