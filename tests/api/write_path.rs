//! The one write path: every change gives exactly one audit event and one change event, in
//! the same transaction; a failed request leaves nothing anywhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

pub async fn one_audit_and_one_change_event_per_change(app: TestApp) {
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", None)
                .bearer_auth(crate::helpers::token_with(
                    json!({"sub": "anna", "roles": ["officer", "reader"]}),
                ))
                .header("x-request-id", "req-create-1")
                .json(&json!({"kind": "action_plan", "title": "Plan", "year": 2027})),
        )
        .await;
    r.expect(201);
    let d = id(&r.body);
    let audit = app.audit(&d);
    assert_eq!(audit.len(), 1);
    let (action, sub, roles, before, after, request_id) = &audit[0];
    assert_eq!(action, "create");
    assert_eq!(sub, "anna");
    assert_eq!(
        serde_json::from_str::<Value>(roles).unwrap(),
        json!(["officer", "reader"])
    );
    assert!(before.is_none());
    assert_eq!(
        serde_json::from_str::<Value>(after.as_ref().unwrap()).unwrap(),
        r.body
    );
    assert_eq!(request_id.as_deref(), Some("req-create-1"));
    let feed = app.feed(&d);
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].0, "created");
    assert_eq!(feed[0].1, 1);
    assert_eq!(
        serde_json::from_str::<Value>(feed[0].2.as_ref().unwrap()).unwrap(),
        r.body
    );

    let counts = app.counts();
    let p = app
        .patch(
            &format!("/v1/documents/{d}"),
            "board",
            json!({"title": "Plan 2027"}),
        )
        .await;
    p.expect(200);
    let after_patch = app.counts();
    let delta = |a: &Vec<(&str, i64)>, b: &Vec<(&str, i64)>, t: &str| {
        b.iter().find(|x| x.0 == t).unwrap().1 - a.iter().find(|x| x.0 == t).unwrap().1
    };
    assert_eq!(delta(&counts, &after_patch, "audit_events"), 1);
    assert_eq!(delta(&counts, &after_patch, "change_events"), 1);
    let audit = app.audit(&d);
    assert_eq!(audit[1].0, "update");
    assert_eq!(audit[1].1, "board-user");
    assert_eq!(
        serde_json::from_str::<Value>(audit[1].3.as_ref().unwrap()).unwrap(),
        r.body
    );
    assert_eq!(
        serde_json::from_str::<Value>(audit[1].4.as_ref().unwrap()).unwrap(),
        p.body
    );
    assert_eq!(app.feed(&d)[1].1, 2);

    app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
        .await
        .expect(200);
    app.post(
        &format!("/v1/documents/{d}/adopt"),
        "board",
        json!({"date": "2026-11-28", "reference": "RS § 1"}),
    )
    .await
    .expect(200);
    let actions: Vec<String> = app.audit(&d).into_iter().map(|a| a.0).collect();
    assert_eq!(actions, vec!["create", "update", "propose", "adopt"]);
    let versions: Vec<i64> = app.feed(&d).into_iter().map(|f| f.1).collect();
    assert_eq!(versions, vec![1, 2, 3, 4]);

    // A goal: created, changed, deleted; the tombstone has no data.
    let g = app
        .goal(&id(&app.draft("programme", "P").await), None, "goal", "Mål")
        .await;
    app.patch(
        &format!("/v1/goals/{}", id(&g)),
        "officer",
        json!({"title": "Mål 2"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/goals/{}", id(&g)), "officer")
        .await;
    let feed = app.feed(&id(&g));
    let ops: Vec<&str> = feed.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(ops, vec!["created", "updated", "deleted"]);
    assert!(feed[2].2.is_none());
    assert_eq!(feed[2].1, 3);
    assert_eq!(app.audit(&id(&g)).len(), 3);
}

pub async fn failed_requests_leave_no_trace(app: TestApp) {
    let plan = app.draft("action_plan", "Plan").await;
    let d = id(&plan);
    let g = app.goal(&d, None, "goal_area", "Område").await;
    let policy = app.policy().await;
    let before = app.snapshot();
    let attempts = vec![
        app.post(
            "/v1/documents",
            "reader",
            json!({"kind": "programme", "title": "x"}),
        )
        .await,
        app.post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": ""}),
        )
        .await,
        app.patch(
            &format!("/v1/documents/{d}"),
            "integrator",
            json!({"title": "x"}),
        )
        .await,
        app.patch(
            &format!("/v1/documents/{}", id(&policy)),
            "council",
            json!({"title": "x"}),
        )
        .await,
        app.post(
            &format!("/v1/documents/{d}/adopt"),
            "board",
            json!({"date": "2026-01-01", "reference": "x"}),
        )
        .await,
        app.post(
            &format!("/v1/documents/{}/adopt", id(&policy)),
            "council",
            json!({"date": "2026-01-01", "reference": "x"}),
        )
        .await,
        app.delete(&format!("/v1/goals/{}", id(&g)), "reader").await,
        app.post(
            "/v1/goals",
            "officer",
            json!({"document_id": d, "kind": "goal", "title": "x", "serves": ["nope"]}),
        )
        .await,
        app.patch(
            &format!("/v1/goals/{}", id(&g)),
            "officer",
            json!({"parent_id": id(&g)}),
        )
        .await,
        app.send(
            app.request(
                Method::PATCH,
                &format!("/v1/goals/{}", id(&g)),
                Some("officer"),
            )
            .header("if-match", "\"5\"")
            .json(&json!({"title": "x"})),
        )
        .await,
    ];
    for r in &attempts {
        assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    }
    assert_eq!(app.snapshot(), before);
}

pub async fn swedish_and_special_text_round_trips(app: TestApp) {
    let texts = [
        "Åtgärder för ökad sysselsättning i Västernorrland – § 135",
        "'; DROP TABLE documents; --",
        "<script>alert(\"x\")</script> & <b>fet</b>",
        "emoji 🇸🇪 och \\ backslash \t tab\nny rad",
        "%_ LIKE-tecken",
    ];
    for t in texts {
        let r = app
            .post(
                "/v1/documents",
                "officer",
                json!({"kind": "programme", "title": t, "description": t}),
            )
            .await;
        r.expect(201);
        let got = app
            .get(&format!("/v1/documents/{}", id(&r.body)), "reader")
            .await;
        assert_eq!(got.body["title"], t);
        assert_eq!(got.body["description"], t);
    }
    let long = "å".repeat(500);
    app.post(
        "/v1/documents",
        "officer",
        json!({"kind": "programme", "title": long}),
    )
    .await
    .expect(201);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "å".repeat(501)}),
        )
        .await;
    r.expect(422);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "x", "description": "y".repeat(100_000)}),
        )
        .await;
    r.expect(422);
}
