//! Organisations: CRUD, validation, external ids and upsert by external id.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, TestApp};

pub async fn crud_and_validation(app: TestApp) {
    let r = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "North Sweden European Office", "short_name": "NSEO", "kind": "eu_office", "country": "BE",
                   "website": "https://northsweden.eu", "external_ids": [{"scheme": "keep", "value": "K-1"}]}),
        )
        .await;
    r.expect(201);
    let o = r.body.clone();
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/organisations/{}", id(&o))
    );
    assert_eq!(
        o["external_ids"],
        json!([{"scheme": "keep", "value": "K-1"}])
    );
    let got = app
        .get(&format!("/v1/organisations/{}", id(&o)), "integrator")
        .await;
    assert_eq!(got.body, o);
    let before = app.snapshot();
    let r = app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": " ", "kind": "club", "country": "Sweden", "website": "ftp://x",
                   "external_ids": [{"scheme": "Keep!", "value": ""}, {"scheme": "jems", "value": "1"}, {"scheme": "jems", "value": "2"}]}),
        )
        .await;
    r.expect(422);
    // The enum fails first (serde), so check the others separately.
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": " ", "kind": "network", "country": "Sweden", "website": "ftp://x",
                   "external_ids": [{"scheme": "Keep!", "value": ""}, {"scheme": "jems", "value": "1"}, {"scheme": "jems", "value": "2"}]}),
        )
        .await;
    r.expect(422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            "country",
            "external_ids[0].scheme",
            "external_ids[0].value",
            "external_ids[2].scheme",
            "name",
            "website"
        ]
    );
    // A scheme/value pair already used by another organisation.
    let r = app
        .post("/v1/organisations", "officer", json!({"name": "Other", "kind": "network", "external_ids": [{"scheme": "keep", "value": "K-1"}]}))
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["external_ids[0]"]);
    assert_eq!(app.snapshot(), before);
    // Patch, filters, delete.
    let r = app
        .patch(
            &format!("/v1/organisations/{}", id(&o)),
            "officer",
            json!({"short_name": null, "country": "SE"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["short_name"], serde_json::Value::Null);
    assert_eq!(r.body["version"], 2);
    app.post(
        "/v1/organisations",
        "officer",
        json!({"name": "Mittuniversitetet", "kind": "university", "country": "SE"}),
    )
    .await
    .expect(201);
    let by_kind = app.get("/v1/organisations?kind=university", "reader").await;
    assert_eq!(by_kind.body["items"].as_array().unwrap().len(), 1);
    let by_ext = app
        .get(
            "/v1/organisations?external_id_scheme=keep&external_id_value=K-1",
            "reader",
        )
        .await;
    assert_eq!(by_ext.body["items"][0]["id"], o["id"]);
    app.get("/v1/organisations?external_id_scheme=keep", "reader")
        .await
        .expect(422);
    app.get("/v1/organisations?kind=club", "reader")
        .await
        .expect(422);
    let r = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/organisations/{}", id(&o)),
                Some("officer"),
            )
            .header("if-match", "\"1\""),
        )
        .await;
    r.expect(412);
    let r = app
        .delete(&format!("/v1/organisations/{}", id(&o)), "officer")
        .await;
    assert_eq!(r.status, 204);
    // Its external id is free again.
    app.post("/v1/organisations", "officer", json!({"name": "Ny", "kind": "network", "external_ids": [{"scheme": "keep", "value": "K-1"}]}))
        .await
        .expect(201);
}

pub async fn upsert_by_external_id(app: TestApp) {
    let path = "/v1/organisations/by-external-id/kohesio/ORG-77";
    let body = json!({"name": "Interreg Aurora", "kind": "programme_body", "country": "SE"});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&body),
        )
        .await;
    r.expect(201);
    let o = r.body.clone();
    assert_eq!(
        o["external_ids"],
        json!([{"scheme": "kohesio", "value": "ORG-77"}])
    );
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/organisations/{}", id(&o))
    );
    // The same again replaces (200), with a new version.
    let body2 =
        json!({"name": "Interreg Aurora 2021-2027", "kind": "programme_body", "country": "SE"});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&body2),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], o["id"]);
    assert_eq!(r.body["version"], 2);
    // Create-only and stale replace are refused; a mismatched body id is 422.
    let before = app.snapshot();
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-none-match", "*")
                .json(&body2),
        )
        .await;
    r.expect(412);
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-match", "\"1\"")
                .json(&body2),
        )
        .await;
    r.expect(412);
    let r = app
        .send(
            app.request(
                Method::PUT,
                "/v1/organisations/by-external-id/kohesio/NEW-1",
                Some("integrator"),
            )
            .header("if-match", "\"1\"")
            .json(&body2),
        )
        .await;
    r.expect(412);
    let bad = json!({"name": "x", "kind": "network", "external_ids": [{"scheme": "kohesio", "value": "OTHER"}]});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&bad),
        )
        .await;
    r.expect(422);
    let r = app
        .send(
            app.request(
                Method::PUT,
                "/v1/organisations/by-external-id/BAD!/x",
                Some("integrator"),
            )
            .json(&body),
        )
        .await;
    r.expect(422);
    // Integrators write only through this door; readers not at all.
    app.post("/v1/organisations", "integrator", body.clone())
        .await
        .expect(403);
    app.patch(
        &format!("/v1/organisations/{}", id(&o)),
        "integrator",
        json!({"name": "x"}),
    )
    .await
    .expect(403);
    app.send(app.request(Method::PUT, path, Some("reader")).json(&body))
        .await
        .expect(403);
    app.send(app.request(Method::PUT, path, Some("council")).json(&body))
        .await
        .expect(403);
    assert_eq!(app.snapshot(), before);
    let r = app
        .send(
            app.request(Method::PUT, path, Some("officer"))
                .header("if-match", "\"2\"")
                .json(&body),
        )
        .await;
    r.expect(200);
}

/// `updated_since` pages come in the order records changed, so a sync client resumes where it
/// stopped: a record changed while the client pages is seen again at the end, never missed.
/// The audit trail under `since` pages the same way.
pub async fn updated_since_pages_in_change_order(app: TestApp) {
    let t0 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut ids = Vec::new();
    for i in 0..5 {
        let o = app
            .post(
                "/v1/organisations",
                "officer",
                json!({"name": format!("O{i}"), "kind": "network", "country": "SE"}),
            )
            .await;
        o.expect(201);
        ids.push(id(&o.body));
    }
    app.patch(
        &format!("/v1/organisations/{}", ids[1]),
        "officer",
        json!({"short_name": "one"}),
    )
    .await
    .expect(200);

    let walk = |path: String, touch: Option<String>| {
        let app = &app;
        async move {
            let mut names = Vec::new();
            let mut next = Some(path.clone());
            let mut touched = false;
            while let Some(p) = next.take() {
                let page = app.get(&p, "council").await;
                page.expect(200);
                for item in page.body["items"].as_array().unwrap() {
                    names.push(item["name"].as_str().unwrap_or("").to_string());
                }
                if let (Some(t), false) = (&touch, touched) {
                    // Changed after the client has seen it: it moves to the end.
                    app.patch(
                        &format!("/v1/organisations/{t}"),
                        "officer",
                        json!({"short_name": "zero"}),
                    )
                    .await
                    .expect(200);
                    touched = true;
                }
                if let Some(c) = page.body["next_cursor"].as_str() {
                    next = Some(format!("{path}&cursor={c}"));
                }
            }
            names
        }
    };
    let names = walk(
        format!("/v1/organisations?updated_since={t0}&limit=2"),
        Some(ids[0].clone()),
    )
    .await;
    assert_eq!(names, ["O0", "O2", "O3", "O4", "O1", "O0"]);
    // Nothing changed since the last change: an empty page.
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    let empty = app
        .get(
            &format!(
                "/v1/organisations?updated_since={}",
                later.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ),
            "reader",
        )
        .await;
    empty.expect(200);
    assert_eq!(empty.body["items"], json!([]));
    assert!(empty.body["next_cursor"].is_null());

    // The audit trail since t0: the five creations and three updates, oldest first, each once,
    // across pages of two.
    let mut events = Vec::new();
    let mut next = Some(format!("/v1/audit-events?since={t0}&limit=2"));
    while let Some(p) = next.take() {
        let page = app.get(&p, "council").await;
        page.expect(200);
        for e in page.body["items"].as_array().unwrap() {
            events.push((
                chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap(),
                e["id"].as_i64().unwrap(),
                e["action"].as_str().unwrap().to_string(),
            ));
        }
        if let Some(c) = page.body["next_cursor"].as_str() {
            next = Some(format!("/v1/audit-events?since={t0}&limit=2&cursor={c}"));
        }
    }
    let actions: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(
        actions,
        ["create", "create", "create", "create", "create", "update", "update"]
    );
    let mut sorted = events.clone();
    sorted.sort();
    assert_eq!(events, sorted, "oldest first");
    // A cursor of the id-ordered trail is refused under `since` (another query).
    let plain = app.get("/v1/audit-events?limit=1", "council").await;
    let c = plain.body["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/v1/audit-events?since={t0}&cursor={c}"),
        "council",
    )
    .await
    .expect(400);
}
