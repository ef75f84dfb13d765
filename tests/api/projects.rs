//! Projects: partners, money, rates, NUTS codes, links, filters and integrators' upsert.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, spawn, TestApp};

async fn organisation(app: &TestApp, name: &str) -> String {
    id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": name, "kind": "region", "country": "FI"}),
        )
        .await
        .body)
}

pub async fn crud_money_partners_and_filters(app: TestApp) {
    let (goals, areas) = crate::activities::policy_goals(&app).await;
    let lapland = organisation(&app, "Regional Council of Lapland").await;
    let nordland = organisation(&app, "Nordland fylkeskommune").await;
    let aurora = id(&app
        .post(
            "/v1/programmes",
            "officer",
            json!({"name": "Interreg Aurora", "period": "2021-2027"}),
        )
        .await
        .body);
    let horizon = id(&app
        .post(
            "/v1/programmes",
            "officer",
            json!({"name": "Horisont Europa"}),
        )
        .await
        .body);
    let body = json!({
        "acronym": "NORDHEALTH", "title": "Nordisk samverkan kring glesbygdsvård",
        "programme_id": aurora, "call": "Call 1",
        "specific_objective": "RSO1.1", "status": "implementation", "region_role": "lead_partner",
        "partners": [{"organisation_id": lapland, "role": "partner", "budget_share": {"amount": "400000", "currency": "EUR"}},
                     {"organisation_id": nordland, "role": "associated_partner"}],
        "total_budget": {"amount": "1250000.5", "currency": "EUR"},
        "eu_funding": {"amount": "812500.00", "currency": "EUR"},
        "cofinancing_rate": "65", "planned_start": "2023-09-01", "planned_end": "2026-08-31",
        "nuts_codes": ["SE321", "FI1D7"], "goal_ids": [goals[1]], "priority_area_ids": [areas[1]],
        "external_ids": [{"scheme": "jems", "value": "AUR-0042"}]
    });
    let r = app.post("/v1/projects", "officer", body).await;
    r.expect(201);
    let p = r.body.clone();
    assert_eq!(
        p["total_budget"],
        json!({"amount": "1250000.50", "currency": "EUR"})
    );
    assert_eq!(p["cofinancing_rate"], "65.00");
    assert_eq!(
        p["partners"][0]["budget_share"],
        json!({"amount": "400000.00", "currency": "EUR"})
    );
    assert_eq!(p["partners"][1].get("budget_share"), None);
    assert_eq!(p["nuts_codes"], json!(["SE321", "FI1D7"]));
    assert_eq!(
        app.get(&format!("/v1/projects/{}", id(&p)), "integrator")
            .await
            .body,
        p
    );
    app.post(
        "/v1/projects",
        "board",
        json!({"title": "Annat projekt", "region_role": "partner", "programme_id": horizon}),
    )
    .await
    .expect(201);
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(
            &app.get("/v1/projects?status=implementation", "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(&app.get("/v1/projects?status=pipeline", "reader").await),
        1
    );
    assert_eq!(
        count(
            &app.get(&format!("/v1/projects?programme_id={aurora}"), "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(&app.get("/v1/projects?region_role=partner", "reader").await),
        1
    );
    assert_eq!(
        count(
            &app.get(&format!("/v1/projects?organisation_id={lapland}"), "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(&format!("/v1/projects?goal_id={}", goals[1]), "reader")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/v1/projects?priority_area_id={}", areas[1]),
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                "/v1/projects?external_id_scheme=jems&external_id_value=AUR-0042",
                "reader"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                "/v1/projects?external_id_scheme=jems&external_id_value=nope",
                "reader"
            )
            .await
        ),
        0
    );
    app.get("/v1/projects?region_role=owner", "reader")
        .await
        .expect(422);
    // An organisation a project points at cannot be deleted.
    app.delete(&format!("/v1/organisations/{lapland}"), "officer")
        .await
        .expect(409);
    // Patch partners away, then the organisation can go.
    let r = app
        .patch(
            &format!("/v1/projects/{}", id(&p)),
            "officer",
            json!({"partners": [], "eu_funding": null}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["partners"], json!([]));
    assert_eq!(r.body["eu_funding"], Value::Null);
    assert_eq!(
        app.delete(&format!("/v1/organisations/{lapland}"), "officer")
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&format!("/v1/projects/{}", id(&p)), "board")
            .await
            .status,
        204
    );
    app.get(&format!("/v1/projects/{}", id(&p)), "reader")
        .await
        .expect(404);
}

pub async fn validation(app: TestApp) {
    let org = organisation(&app, "Partner").await;
    app.post("/v1/projects", "officer", json!({"title": "Med id", "region_role": "partner", "external_ids": [{"scheme": "keep", "value": "1"}]})).await.expect(201);
    let before = app.snapshot();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"title": "x", "region_role": "partner", "total_budget": {"amount": "-5", "currency": "EUR"}}),
            vec!["total_budget.amount"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "total_budget": {"amount": "5.001", "currency": "eur"}}),
            vec!["total_budget.amount", "total_budget.currency"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "total_budget": {"amount": "100", "currency": "EUR"}, "eu_funding": {"amount": "101", "currency": "EUR"}}),
            vec!["eu_funding.amount"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "cofinancing_rate": "100.01"}),
            vec!["cofinancing_rate"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "cofinancing_rate": "abc"}),
            vec!["cofinancing_rate"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "total_budget": {"amount": 100, "currency": "EUR"}}),
            vec!["total_budget.amount"],
        ),
        (
            json!({"title": "x", "region_role": "boss"}),
            vec!["region_role"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "status": "dreaming"}),
            vec!["status"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "planned_start": "2025-01-01", "planned_end": "2024-01-01", "actual_start": "2025-01-01", "actual_end": "2024-12-31"}),
            vec!["actual_end", "planned_end"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "nuts_codes": ["se321", "SE321", "SE321"]}),
            vec!["nuts_codes[0]", "nuts_codes[2]"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "partners": [{"organisation_id": "ghost", "role": "partner"}]}),
            vec!["partners[0].organisation_id"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "partners": [{"organisation_id": org, "role": "partner"}, {"organisation_id": org, "role": "partner"}]}),
            vec!["partners[1].organisation_id"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "external_ids": [{"scheme": "keep", "value": "1"}]}),
            vec!["external_ids[0]"],
        ),
        (
            json!({"title": "x", "region_role": "partner", "goal_ids": ["ghost"]}),
            vec!["goal_ids[0]"],
        ),
        (
            json!({"title": "x".repeat(501), "region_role": "partner"}),
            vec!["title"],
        ),
        (json!({"region_role": "partner"}), vec!["title"]),
    ];
    for (body, fields) in cases {
        let r = app.post("/v1/projects", "officer", body.clone()).await;
        r.expect(422);
        let mut f = r.error_fields();
        f.sort();
        assert_eq!(f, fields, "{body}: {}", r.text);
    }
    for role in ["council", "integrator", "reader"] {
        app.post(
            "/v1/projects",
            role,
            json!({"title": "x", "region_role": "partner"}),
        )
        .await
        .expect(403);
    }
    assert_eq!(app.snapshot(), before);
}

/// A write is refused only for the references it sets: a goal deleted after the project linked
/// it does not block a change to another field, while a reference being added is checked.
pub async fn a_patch_checks_only_the_references_it_sets(app: TestApp) {
    let gd = app.draft("goal_document", "Måldokument").await;
    let kept = id(&app.goal(&id(&gd), None, "goal", "Mål som tas bort").await);
    let other = id(&app.goal(&id(&gd), None, "goal", "Ett annat mål").await);
    let org = organisation(&app, "Partner").await;
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Länkat", "region_role": "partner", "goal_ids": [kept],
                   "partners": [{"organisation_id": org, "role": "partner"}]}),
        )
        .await;
    p.expect(201);
    let path = format!("/v1/projects/{}", id(&p.body));
    app.delete(&format!("/v1/goals/{kept}"), "officer")
        .await
        .expect(204);
    let r = app
        .patch(&path, "officer", json!({"description": "Ny text"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["goal_ids"], json!([kept]));
    assert_eq!(r.body["description"], "Ny text");
    // Adding references: each new one is checked, and named by its place in the new list.
    let before = app.snapshot();
    let r = app
        .patch(
            &path,
            "officer",
            json!({"goal_ids": [kept, "ghost"],
                   "partners": [{"organisation_id": org, "role": "partner"},
                                {"organisation_id": "nobody", "role": "partner"}]}),
        )
        .await;
    r.expect(422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(
        f,
        ["goal_ids[1]", "partners[1].organisation_id"],
        "{}",
        r.text
    );
    assert_eq!(app.snapshot(), before);
    let r = app
        .patch(&path, "officer", json!({"goal_ids": [kept, other]}))
        .await;
    r.expect(200);
    assert_eq!(r.body["goal_ids"], json!([kept, other]));
}

pub async fn integrator_upsert(app: TestApp) {
    let path = "/v1/projects/by-external-id/kohesio/SE-2023-777";
    let body = json!({"title": "Grön vätgas i Mittnorden", "region_role": "partner", "call": "Call 2",
                      "external_ids": [{"scheme": "jems", "value": "AUR-7"}]});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-none-match", "*")
                .json(&body),
        )
        .await;
    r.expect(201);
    let p = r.body.clone();
    assert_eq!(
        p["external_ids"],
        json!([{"scheme": "jems", "value": "AUR-7"}, {"scheme": "kohesio", "value": "SE-2023-777"}])
    );
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-match", "\"1\"")
                .json(&json!({"title": "Grön vätgas", "region_role": "lead_partner"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], p["id"]);
    assert_eq!(r.body["region_role"], "lead_partner");
    // The source's fields are replaced; the jems id, another scheme's, is the region's and
    // stays although not resent.
    assert_eq!(r.body["call"], Value::Null);
    assert_eq!(
        r.body["external_ids"],
        json!([{"scheme": "jems", "value": "AUR-7"}, {"scheme": "kohesio", "value": "SE-2023-777"}])
    );
    let before = app.snapshot();
    app.send(
        app.request(Method::PUT, path, Some("integrator"))
            .header("if-none-match", "*")
            .json(&body),
    )
    .await
    .expect(412);
    app.send(app.request(Method::PUT, path, Some("reader")).json(&body))
        .await
        .expect(403);
    app.send(
        app.request(Method::PUT, path, Some("integrator"))
            .json(&json!({"title": "", "region_role": "x"})),
    )
    .await
    .expect(422);
    app.patch(
        &format!("/v1/projects/{}", id(&p)),
        "integrator",
        json!({"title": "x"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/v1/projects/{}", id(&p)), "integrator")
        .await
        .expect(403);
    assert_eq!(app.snapshot(), before);
}

/// A GET or a list answers from its cache of rendered records only for the version the
/// database holds now: another instance's change (of the row, a link, a partner, an external
/// id, a delete) is seen at once, by the GET, by `If-None-Match` and in lists.
pub async fn no_stale_record_after_another_instance_writes(app: TestApp) {
    let other = spawn(app.db.clone(), &[]).await;
    let policy = app.policy().await;
    let goal = app
        .get(
            &format!("/v1/goals?document_id={}&limit=2", id(&policy)),
            "reader",
        )
        .await
        .body["items"]
        .clone();
    let org = organisation(&app, "Partner").await;
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Cached", "status": "pipeline", "region_role": "partner",
                   "goal_ids": [id(&goal[0])]}),
        )
        .await;
    p.expect(201);
    let path = format!("/v1/projects/{}", id(&p.body));
    // Read twice here, so the second is answered from this instance's cache.
    let first = app.get(&path, "reader").await;
    first.expect(200);
    assert_eq!(app.get(&path, "reader").await.body, first.body);
    app.get("/v1/projects?limit=500", "reader")
        .await
        .expect(200);

    let changes = [
        json!({"title": "Renamed"}),
        json!({"goal_ids": [id(&goal[1])]}),
        json!({"partners": [{"organisation_id": org, "role": "lead_partner"}]}),
        json!({"external_ids": [{"scheme": "kohesio", "value": "K-9"}]}),
    ];
    let mut etag = first.etag();
    for change in changes {
        let w = other
            .send(
                other
                    .request(Method::PATCH, &path, Some("officer"))
                    .header("If-Match", etag.clone())
                    .json(&change),
            )
            .await;
        w.expect(200);
        let mine = app.get(&path, "reader").await;
        mine.expect(200);
        assert_eq!(mine.body, w.body, "after {change}");
        // Lists render from the same cache: the page shows the new version too.
        let page = app.get("/v1/projects?limit=500", "reader").await;
        let listed = page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == w.body["id"])
            .cloned();
        assert_eq!(listed, Some(w.body.clone()), "listed after {change}");
        assert_ne!(mine.etag(), etag);
        // The old ETag no longer matches: a 200 with the new copy, not a 304.
        let cond = app
            .send(
                app.request(Method::GET, &path, Some("reader"))
                    .header("If-None-Match", etag.clone()),
            )
            .await;
        cond.expect(200);
        etag = mine.etag();
        let same = app
            .send(
                app.request(Method::GET, &path, Some("reader"))
                    .header("If-None-Match", etag.clone()),
            )
            .await;
        same.expect(304);
    }
    other
        .send(
            other
                .request(Method::DELETE, &path, Some("board"))
                .header("If-Match", etag),
        )
        .await
        .expect(204);
    app.get(&path, "reader").await.expect(404);
    other.handle.stop(true).await;
}

/// With the cache turned off (`RENDER_CACHE_MB=0`) a GET loads the record every time.
pub async fn render_cache_can_be_turned_off(app: TestApp) {
    let plain = spawn(app.db.clone(), &[("RENDER_CACHE_MB", "0")]).await;
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Uncached", "status": "pipeline", "region_role": "partner"}),
        )
        .await;
    p.expect(201);
    let path = format!("/v1/projects/{}", id(&p.body));
    let a = app.get(&path, "reader").await;
    let b = plain.get(&path, "reader").await;
    b.expect(200);
    assert_eq!(a.body, b.body);
    assert_eq!(a.etag(), b.etag());
    plain.handle.stop(true).await;
}

/// Each page holds exactly `limit` records, whatever limits came before on the same pooled
/// connections: on PostgreSQL the limit is written into the statement's text, so a statement
/// prepared for one limit must never answer for another (and the pages must join up).
pub async fn every_limit_gets_its_own_page(app: TestApp) {
    for n in 0..5 {
        app.post(
            "/v1/projects",
            "officer",
            json!({"title": format!("Projekt {n}"), "region_role": "partner"}),
        )
        .await
        .expect(201);
    }
    let all = app.get("/v1/projects?limit=5", "reader").await;
    all.expect(200);
    let ids: Vec<String> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(all.body["next_cursor"].is_null());
    for limit in [1, 3, 1, 2, 4, 1, 5, 2] {
        // Twice each: the second is answered from cached renderings on the key query.
        for _ in 0..2 {
            let mut seen = Vec::new();
            let mut path = format!("/v1/projects?limit={limit}");
            loop {
                let r = app.get(&path, "reader").await;
                r.expect(200);
                let items = r.body["items"].as_array().unwrap();
                let more = !r.body["next_cursor"].is_null();
                let want = if more { limit } else { 5 - seen.len() };
                assert_eq!(items.len(), want, "limit {limit}, after {}", seen.len());
                seen.extend(items.iter().map(id));
                if !more {
                    break;
                }
                path = format!(
                    "/v1/projects?limit={limit}&cursor={}",
                    r.body["next_cursor"].as_str().unwrap()
                );
            }
            assert_eq!(seen, ids, "limit {limit}");
        }
    }
}
