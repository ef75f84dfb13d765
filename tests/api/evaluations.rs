//! Evaluations: subjects must exist, draft -> submitted -> approved, the board approves, and an
//! approved evaluation of a membership moves its next review.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

pub async fn lifecycle_and_membership_review(app: TestApp) {
    let org = id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Europaforum Norra Sverige", "kind": "network"}),
        )
        .await
        .body);
    let m = app.post("/v1/memberships", "board", json!({"kind": "membership", "organisation_id": org, "start_date": "2020-01-01", "review_interval_months": 24})).await.body;
    assert_eq!(m["next_review_due"], "2022-01-01");
    let r = app
        .post("/v1/evaluations", "officer", json!({"subject_type": "membership", "subject_id": id(&m),
            "period_start": "2024-01-01", "period_end": "2025-12-31", "benefit_region": 4, "benefit_organisation": 3,
            "benefit_residents": 2, "efficiency": 4, "goal_fulfilment": "largely_achieved",
            "findings": "Nätverket ger tidig kunskap om EU:s sammanhållningspolitik.", "recommendation": "continue"}))
        .await;
    r.expect(201);
    let e = r.body.clone();
    let path = format!("/v1/evaluations/{}", id(&e));
    assert_eq!(e["status"], "draft");
    assert_eq!(e["decision"], Value::Null);
    // Not yet submitted: approving is a conflict; officers never approve.
    app.post(
        &format!("{path}/approve"),
        "board",
        json!({"date": "2026-11-20", "reference": "RS § 15"}),
    )
    .await
    .expect(409);
    app.patch(&path, "officer", json!({"benefit_residents": 3}))
        .await
        .expect(200);
    app.patch(&path, "officer", json!({"status": "approved"}))
        .await
        .expect(422);
    let r = app
        .send(
            app.request(Method::POST, &format!("{path}/submit"), Some("officer"))
                .header("if-match", "\"2\""),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "submitted");
    app.post(&format!("{path}/submit"), "officer", json!({}))
        .await
        .expect(409);
    let before = app.snapshot();
    for role in ["council", "officer", "integrator", "reader"] {
        let r = app
            .post(
                &format!("{path}/approve"),
                role,
                json!({"date": "2026-11-20", "reference": "RS § 15"}),
            )
            .await;
        r.expect(403);
        assert_eq!(r.body["required_roles"], json!(["board"]));
    }
    app.post(
        &format!("{path}/approve"),
        "board",
        json!({"date": "2026-11-20"}),
    )
    .await
    .expect(422);
    app.post(
        &format!("{path}/approve"),
        "board",
        json!({"date": "2026-11-20", "reference": " "}),
    )
    .await
    .expect(422);
    assert_eq!(app.snapshot(), before);
    let r = app
        .post(
            &format!("{path}/approve"),
            "board",
            json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 15"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(
        r.body["decision"],
        json!({"body": "board", "date": "2026-11-20", "reference": "RS 2026-11-20 § 15"})
    );
    // Read-only now.
    app.patch(&path, "board", json!({"findings": "x"}))
        .await
        .expect(409);
    app.delete(&path, "board").await.expect(409);
    app.post(
        &format!("{path}/approve"),
        "board",
        json!({"date": "2026-11-21", "reference": "x"}),
    )
    .await
    .expect(409);
    // The membership's review moved: approved 2026-11-20 plus 24 months.
    let m2 = app
        .get(&format!("/v1/memberships/{}", id(&m)), "reader")
        .await;
    assert_eq!(m2.body["last_reviewed_on"], "2026-11-20");
    assert_eq!(m2.body["next_review_due"], "2028-11-20");
    assert_eq!(m2.body["version"], 2);
    assert_eq!(app.audit(&id(&m)).last().unwrap().0, "review");
    // Filters.
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(
            &app.get(
                &format!(
                    "/v1/evaluations?subject_type=membership&subject_id={}",
                    id(&m)
                ),
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(&app.get("/v1/evaluations?status=approved", "reader").await),
        1
    );
    assert_eq!(
        count(&app.get("/v1/evaluations?status=draft", "reader").await),
        0
    );
    app.get("/v1/evaluations?subject_type=person", "reader")
        .await
        .expect(422);
}

pub async fn validation(app: TestApp) {
    let policy = app.policy().await;
    let before = app.snapshot();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"subject_type": "project", "subject_id": "ghost"}),
            vec!["subject_id"],
        ),
        (
            json!({"subject_type": "membership", "subject_id": id(&policy)}),
            vec!["subject_id"],
        ),
        (
            json!({"subject_type": "person", "subject_id": "x"}),
            vec!["subject_type"],
        ),
        (
            json!({"subject_type": "document", "subject_id": id(&policy), "benefit_region": 0, "efficiency": 6, "period_start": "2025-01-01", "period_end": "2024-01-01"}),
            vec!["benefit_region", "efficiency", "period_end"],
        ),
        (
            json!({"subject_type": "document", "subject_id": id(&policy), "goal_fulfilment": "perfect"}),
            vec!["goal_fulfilment"],
        ),
        (
            json!({"subject_type": "document", "subject_id": id(&policy), "recommendation": "ignore"}),
            vec!["recommendation"],
        ),
        (
            json!({"subject_type": "document", "subject_id": id(&policy), "benefit_region": 2.5}),
            vec!["benefit_region"],
        ),
        (
            json!({"subject_type": "document", "subject_id": id(&policy), "benefit_region": 3000000000i64}),
            vec!["benefit_region"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.post("/v1/evaluations", "officer", body.clone()).await;
        r.expect(422);
        let mut f = r.error_fields();
        f.sort();
        assert_eq!(f, fields, "{body}: {}", r.text);
    }
    for role in ["council", "integrator", "reader"] {
        app.post(
            "/v1/evaluations",
            role,
            json!({"subject_type": "document", "subject_id": id(&policy)}),
        )
        .await
        .expect(403);
    }
    assert_eq!(app.snapshot(), before);
    // A policy evaluation, then deleted while a draft.
    let e = app.post("/v1/evaluations", "board", json!({"subject_type": "document", "subject_id": id(&policy), "goal_fulfilment": "partly_achieved"})).await;
    e.expect(201);
    assert_eq!(
        app.delete(&format!("/v1/evaluations/{}", id(&e.body)), "officer")
            .await
            .status,
        204
    );
}
