//! Documents: CRUD, ETags, the life cycle and who may decide.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, TestApp};

pub async fn create_get_and_conditional_get(app: TestApp) {
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "action_plan", "title": "Internationell handlingsplan 2027", "year": 2027,
                   "description": "Delmål och prioriterade aktiviteter", "valid_from": "2027-01-01"}),
        )
        .await;
    r.expect(201);
    let doc = r.body.clone();
    let d = id(&doc);
    assert_eq!(r.header("location").unwrap(), format!("/v1/documents/{d}"));
    assert_eq!(r.etag(), "\"1\"");
    assert_eq!(doc["status"], "draft");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["decision"], serde_json::Value::Null);
    assert!(doc["created_at"].as_str().unwrap().ends_with('Z'));
    let got = app.get(&format!("/v1/documents/{d}"), "reader").await;
    got.expect(200);
    assert_eq!(got.body, doc);
    assert_eq!(got.etag(), "\"1\"");
    let r = app
        .send(
            app.request(Method::GET, &format!("/v1/documents/{d}"), Some("reader"))
                .header("if-none-match", "\"1\""),
        )
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.etag(), "\"1\"");
    let r = app
        .send(
            app.request(Method::GET, &format!("/v1/documents/{d}"), Some("reader"))
                .header("if-none-match", "\"7\""),
        )
        .await;
    assert_eq!(r.status, 200);
}

pub async fn merge_patch_and_if_match(app: TestApp) {
    let doc = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "Program", "description": "Text"}),
        )
        .await
        .body;
    let d = id(&doc);
    // A merge patch: a field changed, one removed with null, the rest kept.
    let r = app
        .send(
            app.request(Method::PATCH, &format!("/v1/documents/{d}"), Some("board"))
                .header("content-type", "application/merge-patch+json")
                .header("if-match", "\"1\"")
                .body(
                    r#"{"title": "Program för EU-samarbete", "description": null, "year": 2026}"#,
                ),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["title"], "Program för EU-samarbete");
    assert_eq!(r.body["description"], serde_json::Value::Null);
    assert_eq!(r.body["year"], 2026);
    assert_eq!(r.body["kind"], "programme");
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.etag(), "\"2\"");
    // Plain JSON is accepted too.
    let r = app
        .send(
            app.request(
                Method::PATCH,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .json(&json!({"applies_to": "Regiongemensamt"})),
        )
        .await;
    r.expect(200);
    // A stale If-Match is 412 and changes nothing.
    let before = app.snapshot();
    let r = app
        .send(
            app.request(
                Method::PATCH,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .header("if-match", "\"1\"")
            .json(&json!({"title": "Lost update"})),
        )
        .await;
    r.expect(412);
    assert_eq!(app.snapshot(), before);
    let r = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .header("if-match", "\"2\""),
        )
        .await;
    r.expect(412);
    // Weak tags never match If-Match.
    let r = app
        .send(
            app.request(
                Method::PATCH,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .header("if-match", "W/\"3\"")
            .json(&json!({"title": "y"})),
        )
        .await;
    r.expect(412);
    assert_eq!(app.snapshot(), before);
    // Read-only fields are named.
    let r = app
        .patch(
            &format!("/v1/documents/{d}"),
            "officer",
            json!({"status": "adopted", "version": 9}),
        )
        .await;
    r.expect(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["status", "version"]);
    // Removing a required field is a validation error.
    let r = app
        .patch(
            &format!("/v1/documents/{d}"),
            "officer",
            json!({"title": null}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["title"]);
    // `*` matches any current version.
    let r = app
        .send(
            app.request(
                Method::PATCH,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .header("if-match", "*")
            .json(&json!({"title": "z"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["version"], 4);
    app.patch("/v1/documents/unknown", "officer", json!({"title": "x"}))
        .await
        .expect(404);
}

pub async fn delete_only_drafts(app: TestApp) {
    let doc = app.draft("guideline", "Riktlinje").await;
    let d = id(&doc);
    let g = app.goal(&d, None, "goal", "Mål").await;
    let r = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/documents/{d}"),
                Some("officer"),
            )
            .header("if-match", "\"1\""),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&format!("/v1/documents/{d}"), "reader")
        .await
        .expect(404);
    app.get(&format!("/v1/goals/{}", id(&g)), "reader")
        .await
        .expect(404);
    app.delete(&format!("/v1/documents/{d}"), "officer")
        .await
        .expect(404);
    // The tombstones are in the feed.
    assert_eq!(app.feed(&d).last().unwrap().0, "deleted");
    assert_eq!(app.feed(&id(&g)).last().unwrap().0, "deleted");
    // Proposed and adopted documents are not deleted.
    let p = app.draft("guideline", "Föreslagen").await;
    app.post(
        &format!("/v1/documents/{}/propose", id(&p)),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/documents/{}", id(&p)), "officer")
        .await
        .expect(409);
    let policy = app.policy().await;
    app.delete(&format!("/v1/documents/{}", id(&policy)), "council")
        .await
        .expect(409);
}

pub async fn lifecycle_propose_adopt_and_conflicts(app: TestApp) {
    let doc = app.draft("action_plan", "Handlingsplan 2027").await;
    let d = id(&doc);
    // Not proposed yet: adopting is a conflict.
    app.post(
        &format!("/v1/documents/{d}/adopt"),
        "board",
        json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 5"}),
    )
    .await
    .expect(409);
    let r = app
        .send(
            app.request(
                Method::POST,
                &format!("/v1/documents/{d}/propose"),
                Some("officer"),
            )
            .header("if-match", "\"1\""),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "proposed");
    assert_eq!(r.etag(), "\"2\"");
    app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
        .await
        .expect(409);
    // Still editable while proposed.
    app.patch(
        &format!("/v1/documents/{d}"),
        "officer",
        json!({"description": "Reviderad"}),
    )
    .await
    .expect(200);
    // Stale If-Match on an action.
    let r = app
        .send(
            app.request(
                Method::POST,
                &format!("/v1/documents/{d}/adopt"),
                Some("board"),
            )
            .header("if-match", "\"2\"")
            .json(&json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 5"})),
        )
        .await;
    r.expect(412);
    let r = app
        .post(
            &format!("/v1/documents/{d}/adopt"),
            "board",
            json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 5"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "adopted");
    assert_eq!(
        r.body["decision"],
        json!({"body": "board", "date": "2026-12-01", "reference": "RS 2026-12-01 § 5"})
    );
    assert_eq!(r.body["valid_from"], "2026-12-01");
    // Adopting again, or changing an adopted document, is a conflict that points at revisions.
    app.post(
        &format!("/v1/documents/{d}/adopt"),
        "board",
        json!({"date": "2026-12-02", "reference": "x"}),
    )
    .await
    .expect(409);
    let r = app
        .patch(
            &format!("/v1/documents/{d}"),
            "board",
            json!({"title": "Ändrad"}),
        )
        .await;
    r.expect(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("revision"),
        "{}",
        r.text
    );
    app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
        .await
        .expect(409);
    // Bad adopt bodies.
    let p = app.draft("guideline", "Riktlinje").await;
    app.post(
        &format!("/v1/documents/{}/propose", id(&p)),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/v1/documents/{}/adopt", id(&p)),
            "board",
            json!({"date": "not a date", "reference": "x"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["date"]);
    let r = app
        .post(
            &format!("/v1/documents/{}/adopt", id(&p)),
            "board",
            json!({"date": "2026-12-01", "reference": "  "}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["reference"]);
    let r = app
        .post(
            &format!("/v1/documents/{}/adopt", id(&p)),
            "board",
            json!({"date": "2026-12-01"}),
        )
        .await;
    r.expect(422);
    app.post(
        "/v1/documents/missing/adopt",
        "board",
        json!({"date": "2026-12-01", "reference": "x"}),
    )
    .await
    .expect(404);
}

pub async fn decision_authority(app: TestApp) {
    for (kind, decider, other) in [
        ("policy", "council", "board"),
        ("goal_document", "council", "board"),
        ("guideline", "board", "council"),
        ("programme", "board", "council"),
        ("action_plan", "board", "council"),
    ] {
        let d = app.draft(kind, "Dokument").await;
        let p = format!("/v1/documents/{}", id(&d));
        app.post(&format!("{p}/propose"), "officer", json!({}))
            .await
            .expect(200);
        let body = json!({"date": "2026-11-30", "reference": "§ 12"});
        let r = app.post(&format!("{p}/adopt"), other, body.clone()).await;
        r.expect(403);
        assert_eq!(r.body["required_roles"], json!([decider]), "{kind}");
        app.post(&format!("{p}/adopt"), "officer", body.clone())
            .await
            .expect(403);
        // Naming the wrong body is refused even for the right role.
        let r = app
            .post(
                &format!("{p}/adopt"),
                decider,
                json!({"date": "2026-11-30", "reference": "§ 12", "body": other}),
            )
            .await;
        r.expect(422);
        assert_eq!(r.error_fields(), vec!["body"]);
        let r = app
            .post(
                &format!("{p}/adopt"),
                decider,
                json!({"date": "2026-11-30", "reference": "§ 12", "body": decider}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["decision"]["body"], decider);
    }
}

pub async fn revision_supersedes_original(app: TestApp) {
    let policy = app.policy().await;
    let pid = id(&policy);
    // Only adopted documents are revised.
    let draft = app.draft("programme", "Utkast").await;
    app.post(
        &format!("/v1/documents/{}/revisions", id(&draft)),
        "officer",
        json!({}),
    )
    .await
    .expect(409);
    let r = app
        .post(
            &format!("/v1/documents/{pid}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    r.expect(201);
    let rev = r.body.clone();
    let rid = id(&rev);
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/documents/{rid}")
    );
    assert_eq!(rev["status"], "draft");
    assert_eq!(rev["revision_of"], pid.as_str());
    assert_eq!(rev["document_number"], "320944");
    assert_eq!(rev["document_version"], 2);
    assert_eq!(rev["decision"], serde_json::Value::Null);
    // One open revision at a time.
    app.post(
        &format!("/v1/documents/{pid}/revisions"),
        "officer",
        json!({}),
    )
    .await
    .expect(409);
    // The goal tree is copied with the same shape.
    let old_goals = app
        .get(&format!("/v1/goals?document_id={pid}&limit=500"), "reader")
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    let new_goals = app
        .get(&format!("/v1/goals?document_id={rid}&limit=500"), "reader")
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(old_goals.len(), new_goals.len());
    assert_eq!(new_goals.len(), 15);
    let titles = |gs: &Vec<serde_json::Value>| {
        let mut t: Vec<String> = gs
            .iter()
            .map(|g| g["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    assert_eq!(titles(&old_goals), titles(&new_goals));
    for g in &new_goals {
        if let Some(parent) = g["parent_id"].as_str() {
            assert!(
                new_goals.iter().any(|p| p["id"] == parent),
                "parent in the revision"
            );
        }
    }
    // The revision is edited, then adopted by the council: the original is superseded.
    let goal = &new_goals[0];
    app.patch(
        &format!("/v1/goals/{}", id(goal)),
        "officer",
        json!({"description": "Förtydligad"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/documents/{rid}/propose"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/v1/documents/{rid}/adopt"),
            "council",
            json!({"date": "2026-12-10", "reference": "RF 2026-12-10 § 200"}),
        )
        .await;
    r.expect(200);
    let old = app.get(&format!("/v1/documents/{pid}"), "reader").await;
    assert_eq!(old.body["status"], "superseded");
    assert_eq!(old.body["superseded_by"], rid.as_str());
    assert_eq!(old.body["decision"]["reference"], "RF 2018-06-21 § 135");
    // A superseded document is read-only and not revised again.
    app.post(
        &format!("/v1/documents/{pid}/revisions"),
        "officer",
        json!({}),
    )
    .await
    .expect(409);
    app.patch(
        &format!("/v1/documents/{pid}"),
        "council",
        json!({"title": "x"}),
    )
    .await
    .expect(409);
    let superseded = app.get("/v1/documents?status=superseded", "reader").await;
    assert_eq!(superseded.body["items"].as_array().unwrap().len(), 1);
}

pub async fn list_filters_and_pagination(app: TestApp) {
    let mut since = String::new();
    for i in 0..5 {
        let r = app
            .post(
                "/v1/documents",
                "officer",
                json!({"kind": "action_plan", "title": format!("Plan {i}"), "year": 2020 + i}),
            )
            .await;
        r.expect(201);
        if i == 0 {
            since = r.body["updated_at"].as_str().unwrap().to_string();
        }
    }
    app.post(
        "/v1/documents",
        "officer",
        json!({"kind": "guideline", "title": "Riktlinje"}),
    )
    .await
    .expect(201);
    let all = app.get("/v1/documents?limit=500", "reader").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 7);
    assert_eq!(all.body["next_cursor"], serde_json::Value::Null);
    assert!(all.header("link").is_none());
    let plans = app.get("/v1/documents?kind=action_plan", "reader").await;
    assert_eq!(plans.body["items"].as_array().unwrap().len(), 5);
    let y = app
        .get("/v1/documents?kind=action_plan&year=2022", "reader")
        .await;
    assert_eq!(y.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(y.body["items"][0]["title"], "Plan 2");
    let drafts = app.get("/v1/documents?status=draft", "reader").await;
    assert_eq!(drafts.body["items"].as_array().unwrap().len(), 6);
    let recent = app
        .get(
            &format!("/v1/documents?updated_since={}", since.replace('+', "%2B")),
            "reader",
        )
        .await;
    recent.expect(200);
    assert_eq!(recent.body["items"].as_array().unwrap().len(), 6);
    let future = app
        .get("/v1/documents?updated_since=2100-01-01T00:00:00Z", "reader")
        .await;
    assert_eq!(future.body["items"].as_array().unwrap().len(), 0);
    // Walk with limit 2: every document once, in order, following Link headers.
    let mut seen = Vec::new();
    let mut path = "/v1/documents?limit=2".to_string();
    let mut cursor_for_other_query = None;
    loop {
        let page = app.get(&path, "reader").await;
        page.expect(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(id));
        match page.header("link") {
            Some(link) => {
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                let next = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string();
                assert!(
                    next.contains(&format!(
                        "cursor={}",
                        page.body["next_cursor"].as_str().unwrap()
                    )) || next.contains("cursor=")
                );
                cursor_for_other_query = page.body["next_cursor"].as_str().map(str::to_string);
                path = next;
            }
            None => {
                assert_eq!(page.body["next_cursor"], serde_json::Value::Null);
                break;
            }
        }
    }
    let all_ids: Vec<String> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(seen, all_ids);
    // A cursor from one query is refused on another, and a tampered one is refused.
    let c = cursor_for_other_query.unwrap();
    app.get(
        &format!("/v1/documents?limit=2&kind=guideline&cursor={c}"),
        "reader",
    )
    .await
    .expect(400);
    let mut tampered = c.clone();
    tampered.insert(0, 'A');
    app.get(
        &format!("/v1/documents?limit=2&cursor={tampered}"),
        "reader",
    )
    .await
    .expect(400);
}

pub async fn validation_names_fields(app: TestApp) {
    let before = app.snapshot();
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "", "year": 1200, "document_version": 0,
                   "description": "x".repeat(20_001), "case_officer": "a\u{0000}b"}),
        )
        .await;
    r.expect(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "case_officer",
            "description",
            "document_version",
            "title",
            "year"
        ]
    );
    for e in r.body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "x", "valid_from": "2026-02-30"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["valid_from"]);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "x", "year": 99999999999i64}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["year"]);
    assert_eq!(app.snapshot(), before);
}
