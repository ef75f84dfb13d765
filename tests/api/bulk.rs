//! Bulk upsert by external id: a result per item, unchanged items write nothing, dry runs write
//! nothing, one bad item does not stop the others.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn bulk(app: &TestApp, path: &str, items: Value) -> crate::helpers::Resp {
    app.send(
        app.request(Method::POST, path, Some("integrator"))
            .json(&json!({"items": items})),
    )
    .await
}

pub async fn projects_nightly_resend_is_quiet(app: TestApp) {
    let items = json!([
        {"external_id": {"scheme": "jems", "value": "A-1"}, "record": {"title": "Ett", "region_role": "partner", "total_budget": {"amount": "100", "currency": "EUR"}}},
        {"external_id": {"scheme": "jems", "value": "A-2"}, "record": {"title": "Två", "region_role": "lead_partner"}},
        {"external_id": {"scheme": "jems", "value": "A-3"}, "record": {"title": "", "region_role": "partner"}},
        {"external_id": {"scheme": "jems", "value": "A-4"}, "record": {"title": "Fyra", "region_role": "boss"}},
    ]);
    // A dry run reports and writes nothing.
    let before = app.snapshot();
    let r = app
        .send(
            app.request(
                Method::POST,
                "/v1/projects/bulk-upsert?dry_run=true",
                Some("integrator"),
            )
            .json(&json!({"items": items})),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.body["dry_run"], true);
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["created", "created", "failed", "failed"]);
    assert_eq!(app.snapshot(), before);
    // For real: the bad items fail with their problem, the good ones land.
    let sqlite = !app.db.url.starts_with("postgres");
    let answered = if sqlite {
        app.metric("intl_db_writes_committed_total").await
    } else {
        0.0
    };
    let r = bulk(&app, "/v1/projects/bulk-upsert", items.clone()).await;
    assert_eq!(r.status, 207);
    if sqlite {
        // Each item that reached the database was a write in the writers' turn, as any other.
        assert_eq!(
            app.metric("intl_db_writes_committed_total").await,
            answered + 2.0
        );
    }
    let res = r.body["results"].as_array().unwrap().clone();
    assert_eq!(res[0]["result"], "created");
    assert_eq!(res[1]["result"], "created");
    assert_eq!(res[2]["result"], "failed");
    assert_eq!(res[2]["problem"]["status"], 422);
    assert_eq!(
        res[2]["problem"]["errors"][0]["field"],
        "items[2].record.title"
    );
    assert_eq!(
        res[3]["problem"]["errors"][0]["field"],
        "items[3].record.region_role"
    );
    let id0 = res[0]["id"].as_str().unwrap().to_string();
    let p = app.get(&format!("/v1/projects/{id0}"), "reader").await;
    assert_eq!(
        p.body["external_ids"],
        json!([{"scheme": "jems", "value": "A-1"}])
    );
    // The nightly resend of the same data: unchanged, and no version, audit or feed event.
    let counts = app.counts();
    let feed_before = app.feed(&id0).len();
    let r = bulk(&app, "/v1/projects/bulk-upsert", items.clone()).await;
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["unchanged", "unchanged", "failed", "failed"]);
    assert_eq!(app.counts(), counts);
    assert_eq!(app.feed(&id0).len(), feed_before);
    assert_eq!(
        app.get(&format!("/v1/projects/{id0}"), "reader").await.body["version"],
        1
    );
    // A changed item updates; the amount written differently but equal is still unchanged.
    let changed = json!([
        {"external_id": {"scheme": "jems", "value": "A-1"}, "record": {"title": "Ett", "region_role": "partner", "total_budget": {"amount": "100.00", "currency": "EUR"}}},
        {"external_id": {"scheme": "jems", "value": "A-2"}, "record": {"title": "Två (ändrad)", "region_role": "lead_partner"}},
    ]);
    let r = bulk(&app, "/v1/projects/bulk-upsert", changed).await;
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["unchanged", "updated"]);
    assert_eq!(r.body["results"][1]["version"], 2);
    // The single PUT is quiet too.
    let r = app
        .send(app.request(Method::PUT, "/v1/projects/by-external-id/jems/A-1", Some("integrator")).json(&json!({"title": "Ett", "region_role": "partner", "total_budget": {"amount": "100", "currency": "EUR"}})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], 1);
}

pub async fn refusals(app: TestApp) {
    let before = app.snapshot();
    for role in ["council", "reader"] {
        let r = app
            .send(
                app.request(Method::POST, "/v1/organisations/bulk-upsert", Some(role))
                    .json(&json!({"items": []})),
            )
            .await;
        r.expect(403);
    }
    let r = bulk(&app, "/v1/organisations/bulk-upsert", json!("nope")).await;
    r.expect(422);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"external_id": {"scheme": "keep", "value": i.to_string()}, "record": {"name": "x", "kind": "ngo"}})).collect();
    bulk(&app, "/v1/organisations/bulk-upsert", json!(too_many))
        .await
        .expect(422);
    app.send(
        app.request(
            Method::POST,
            "/v1/organisations/bulk-upsert?dry_run=maybe",
            Some("integrator"),
        )
        .json(&json!({"items": []})),
    )
    .await
    .expect(422);
    app.send(
        app.request(
            Method::POST,
            "/v1/organisations/bulk-upsert",
            Some("integrator"),
        )
        .json(&json!({"items": [], "extra": 1})),
    )
    .await
    .expect(422);
    assert_eq!(app.snapshot(), before);
    // Organisations: two items, one whose record names another value for the scheme.
    let r = bulk(
        &app,
        "/v1/organisations/bulk-upsert",
        json!([
            {"external_id": {"scheme": "keep", "value": "K-1"}, "record": {"name": "Ett", "kind": "ngo"}},
            {"external_id": {"scheme": "keep", "value": "K-2"}, "record": {"name": "Två", "kind": "ngo", "external_ids": [{"scheme": "keep", "value": "K-9"}]}},
        ]),
    )
    .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["results"][0]["result"], "created");
    assert_eq!(r.body["results"][1]["result"], "failed");
}
