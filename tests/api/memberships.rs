//! Memberships: who prepares and who decides, review dates, ending, report-backs.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

async fn organisation(app: &TestApp) -> String {
    id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Assembly of European Regions", "short_name": "AER", "kind": "network"}),
        )
        .await
        .body)
}

pub async fn officers_prepare_the_board_decides(app: TestApp) {
    let org = organisation(&app).await;
    // An officer prepares: under review, no decision.
    let r = app
        .post(
            "/v1/memberships",
            "officer",
            json!({"kind": "membership", "organisation_id": org, "role": "member",
            "annual_fee": {"amount": "52000", "currency": "SEK"}, "start_date": "2024-01-01"}),
        )
        .await;
    r.expect(201);
    let m = r.body.clone();
    assert_eq!(m["status"], "under_review");
    assert_eq!(m["decision"], Value::Null);
    assert_eq!(m["review_interval_months"], 12);
    assert_eq!(m["next_review_due"], "2025-01-01");
    assert_eq!(
        m["annual_fee"],
        json!({"amount": "52000.00", "currency": "SEK"})
    );
    let before = app.snapshot();
    // Deciding steps are the board's.
    for body in [
        json!({"kind": "membership", "organisation_id": org, "status": "active"}),
        json!({"kind": "membership", "organisation_id": org, "decision": {"body": "board", "date": "2026-01-10", "reference": "RS § 3"}}),
    ] {
        let r = app.post("/v1/memberships", "officer", body).await;
        r.expect(403);
        assert_eq!(r.body["required_roles"], json!(["board"]));
    }
    app.patch(
        &format!("/v1/memberships/{}", id(&m)),
        "officer",
        json!({"status": "active"}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/v1/memberships/{}/end", id(&m)),
        "officer",
        json!({"date": "2026-01-01", "reference": "x"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/v1/memberships/{}", id(&m)), "officer")
        .await
        .expect(403);
    for role in ["council", "integrator", "reader"] {
        app.post(
            "/v1/memberships",
            role,
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await
        .expect(403);
    }
    assert_eq!(app.snapshot(), before);
    // The officer may still edit what is not a decision.
    let r = app
        .patch(
            &format!("/v1/memberships/{}", id(&m)),
            "officer",
            json!({"mandate": "Bevaka regionalpolitiken", "review_interval_months": 24}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["next_review_due"], "2026-01-01");
    // The board decides.
    let r = app
        .patch(
            &format!("/v1/memberships/{}", id(&m)),
            "board",
            json!({"status": "active",
            "decision": {"body": "board", "date": "2024-01-10", "reference": "RS 2024-01-10 § 4"}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "active");
    // A board member creating one directly: active by default.
    let r = app.post("/v1/memberships", "board", json!({"kind": "representation", "organisation_id": org, "role": "delegate", "representative": "Anna Andersson"})).await;
    r.expect(201);
    assert_eq!(r.body["status"], "active");
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        r.body["next_review_due"],
        (today + chrono::Months::new(12)).to_string()
    );
}

pub async fn validation_and_end(app: TestApp) {
    let org = organisation(&app).await;
    let before = app.snapshot();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"kind": "club", "organisation_id": org}),
            vec!["kind"],
        ),
        (
            json!({"kind": "membership", "organisation_id": "ghost"}),
            vec!["organisation_id"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "representative": "Anna"}),
            vec!["representative"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "role": "king"}),
            vec!["role"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "start_date": "2025-01-01", "end_date": "2024-01-01", "review_interval_months": 0}),
            vec!["end_date", "review_interval_months"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "annual_fee": {"amount": "-1", "currency": "SEK"}}),
            vec!["annual_fee.amount"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "status": "ended"}),
            vec!["status"],
        ),
        (
            json!({"kind": "membership", "organisation_id": org, "decision": {"body": "council", "date": "2024-01-01", "reference": "x"}}),
            vec!["decision.body"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.post("/v1/memberships", "board", body.clone()).await;
        r.expect(422);
        let mut f = r.error_fields();
        f.sort();
        assert_eq!(f, fields, "{body}: {}", r.text);
    }
    assert_eq!(app.snapshot(), before);
    let m = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org, "start_date": "2019-01-01"}),
        )
        .await
        .body;
    // The organisation cannot go while the membership points at it.
    app.delete(&format!("/v1/organisations/{org}"), "board")
        .await
        .expect(409);
    let r = app
        .post(
            &format!("/v1/memberships/{}/end", id(&m)),
            "board",
            json!({"date": "2018-01-01", "reference": "RS § 9"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["end_date"]);
    let r = app
        .send(
            app.request(
                Method::POST,
                &format!("/v1/memberships/{}/end", id(&m)),
                Some("board"),
            )
            .header("if-match", "\"9\"")
            .json(&json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 14"})),
        )
        .await;
    r.expect(412);
    let r = app
        .post(&format!("/v1/memberships/{}/end", id(&m)), "board", json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 14", "end_date": "2026-12-31"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "ended");
    assert_eq!(r.body["end_date"], "2026-12-31");
    assert_eq!(
        r.body["decision"],
        json!({"body": "board", "date": "2026-11-20", "reference": "RS 2026-11-20 § 14"})
    );
    app.post(
        &format!("/v1/memberships/{}/end", id(&m)),
        "board",
        json!({"date": "2026-11-21", "reference": "x"}),
    )
    .await
    .expect(409);
    app.patch(
        &format!("/v1/memberships/{}", id(&m)),
        "board",
        json!({"mandate": "x"}),
    )
    .await
    .expect(409);
    // Filters.
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(&app.get("/v1/memberships?status=ended", "reader").await),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/memberships?organisation_id={org}&kind=membership"),
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get("/v1/memberships?review_due_by=2020-01-02", "reader")
                .await
        ),
        // This one, and the four shipped ones, due since 2019-06-21.
        5
    );
    app.get("/v1/memberships?review_due_by=soon", "reader")
        .await
        .expect(422);
}

pub async fn report_backs(app: TestApp) {
    let org = organisation(&app).await;
    let m = app.post("/v1/memberships", "board", json!({"kind": "representation", "organisation_id": org, "representative": "Per Persson"})).await.body;
    let base = format!("/v1/memberships/{}/report-backs", id(&m));
    let r = app
        .post(&base, "officer", json!({"date": "2026-10-02", "meeting": "Övervakningskommittén, Luleå", "summary": "Beslut om andra utlysningen.", "reported_to": "board", "author": "Per Persson"}))
        .await;
    r.expect(201);
    let rb = r.body.clone();
    assert_eq!(r.header("location").unwrap(), format!("{base}/{}", id(&rb)));
    assert_eq!(
        app.get(&format!("{base}/{}", id(&rb)), "reader").await.body,
        rb
    );
    let list = app.get(&base, "reader").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let r = app.post(&base, "officer", json!({"date": "2026-10-02", "meeting": "", "summary": "x", "reported_to": "parliament"})).await;
    r.expect(422);
    let r = app
        .post(
            &base,
            "officer",
            json!({"date": "2026-10-02", "meeting": "", "summary": "x", "reported_to": "council"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["meeting"]);
    app.post(
        &base,
        "integrator",
        json!({"date": "2026-10-02", "meeting": "m", "summary": "x", "reported_to": "council"}),
    )
    .await
    .expect(403);
    app.post(
        "/v1/memberships/ghost/report-backs",
        "officer",
        json!({"date": "2026-10-02", "meeting": "m", "summary": "x", "reported_to": "council"}),
    )
    .await
    .expect(404);
    app.get("/v1/memberships/ghost/report-backs", "reader")
        .await
        .expect(404);
    let r = app
        .patch(
            &format!("{base}/{}", id(&rb)),
            "board",
            json!({"summary": "Beslut om andra och tredje utlysningen."}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["version"], 2);
    app.patch(
        &format!("{base}/{}", id(&rb)),
        "board",
        json!({"membership_id": "other"}),
    )
    .await
    .expect(422);
    // A report-back is only reached under its own membership.
    let other = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await
        .body;
    app.get(
        &format!("/v1/memberships/{}/report-backs/{}", id(&other), id(&rb)),
        "reader",
    )
    .await
    .expect(404);
    // A membership with a history is not deleted.
    app.delete(&format!("/v1/memberships/{}", id(&m)), "board")
        .await
        .expect(409);
    assert_eq!(
        app.delete(&format!("{base}/{}", id(&rb)), "officer")
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&format!("/v1/memberships/{}", id(&m)), "board")
            .await
            .status,
        204
    );
}
