//! Official contacts: the board's and the officers' record of visits, delegations and meetings
//! in the region's name.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, id, TestApp};

pub async fn crud_filters_and_validation(app: TestApp) {
    let (goals, _) = crate::activities::policy_goals(&app).await;
    let org = id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Trøndelag fylkeskommune", "kind": "region", "country": "NO"}),
        )
        .await
        .body);
    let body = json!({"date": "2026-10-14", "kind": "delegation",
        "title": "Delegation från Trøndelag fylkeskommune", "organisation_id": org, "country": "NO",
        "participants": ["regionstyrelsens ordförande", "internationell strateg"],
        "purpose": "Samarbete om vätgas längs E14.", "goal_ids": [goals[0]],
        "follow_up": "Gemensam ansökan till Interreg Aurora under våren."});
    let r = app.post("/v1/official-contacts", "board", body).await;
    r.expect(201);
    let c = r.body.clone();
    assert_eq!(c["participants"][0], "regionstyrelsens ordförande");
    assert_eq!(c["goal_ids"], json!([goals[0]]));
    assert_eq!(
        app.get(&format!("/v1/official-contacts/{}", id(&c)), "reader")
            .await
            .body,
        c
    );
    app.post(
        "/v1/official-contacts",
        "officer",
        json!({"date": "2026-11-02", "kind": "meeting", "title": "Möte på ambassaden",
               "counterpart": "Finlands ambassad i Stockholm", "country": "FI"}),
    )
    .await
    .expect(201);
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(&app.get("/v1/official-contacts", "integrator").await),
        2
    );
    assert_eq!(
        count(
            &app.get("/v1/official-contacts?kind=delegation", "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/official-contacts?organisation_id={org}"),
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/official-contacts?goal_id={}", goals[0]),
                "reader"
            )
            .await
        ),
        1
    );
    assert_problem(
        &app.get("/v1/official-contacts?kind=party", "reader").await,
        422,
    );

    // Every bad field at once, and nothing written.
    let before = app.snapshot();
    let r = app
        .post(
            "/v1/official-contacts",
            "officer",
            json!({"date": "2026-10-14", "kind": "visit", "title": " ", "country": "Norge",
                   "organisation_id": "no-such-org", "participants": ["", "x".repeat(201)],
                   "goal_ids": ["no-such-goal"], "purpose": "p".repeat(5001)}),
        )
        .await;
    assert_problem(&r, 422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            "country",
            "participants[0]",
            "participants[1]",
            "purpose",
            "title"
        ]
    );
    let r = app
        .post(
            "/v1/official-contacts",
            "officer",
            json!({"date": "2026-10-14", "kind": "visit", "title": "Besök",
                   "organisation_id": "no-such-org", "goal_ids": ["no-such-goal"]}),
        )
        .await;
    assert_problem(&r, 422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(f, vec!["goal_ids[0]", "organisation_id"]);
    for (body, field) in [
        (json!({"kind": "visit", "title": "Utan datum"}), "date"),
        (
            json!({"date": "2026-13-01", "kind": "visit", "title": "Fel datum"}),
            "date",
        ),
        (
            json!({"date": "2026-10-14", "kind": "party", "title": "Fel slag"}),
            "kind",
        ),
        (
            json!({"date": "2026-10-14", "kind": "visit", "title": "T", "names": ["Anna"]}),
            "names",
        ),
    ] {
        let r = app.post("/v1/official-contacts", "officer", body).await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()]);
    }
    assert_eq!(app.snapshot(), before);

    // Follow-up written later, guarded by the ETag; then deleted, the feed keeps its life.
    let path = format!("/v1/official-contacts/{}", id(&c));
    let r = app
        .send(
            app.request(Method::PATCH, &path, Some("officer"))
                .header("if-match", "\"1\"")
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"follow_up": "Ansökan inlämnad 2027-02-15.", "goal_ids": []}"#),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["goal_ids"], json!([]));
    let stale = app
        .send(
            app.request(Method::PATCH, &path, Some("officer"))
                .header("if-match", "\"1\"")
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"title": "Sent"}"#),
        )
        .await;
    assert_problem(&stale, 412);
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/official-contacts?goal_id={}", goals[0]),
                "reader"
            )
            .await
        ),
        0
    );
    app.delete(&path, "board").await.expect(204);
    app.get(&path, "reader").await.expect(404);
    let ops: Vec<String> = app.feed(&id(&c)).into_iter().map(|e| e.0).collect();
    assert_eq!(ops, ["created", "updated", "deleted"]);
    let changes = app
        .get("/v1/changes?resource_type=official_contact", "integrator")
        .await;
    changes.expect(200);
    assert_eq!(changes.body["items"].as_array().unwrap().len(), 4);
    // As it was before its follow-up.
    let created_at = c["updated_at"].as_str().unwrap();
    let old = app
        .get(&format!("{path}?as_of={created_at}"), "reader")
        .await;
    old.expect(200);
    assert_eq!(old.body["follow_up"], c["follow_up"]);
    let _: Value = old.body;
}
