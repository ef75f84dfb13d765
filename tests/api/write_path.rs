//! The one write path: every change gives exactly one audit event and one change event, in
//! the same transaction; a failed request leaves nothing anywhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, spawn, TestApp};

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
    // The service's own id, not the client's (which the audit trail keeps beside it).
    assert_eq!(request_id.as_deref(), r.header("x-request-id").as_deref());
    assert_ne!(request_id.as_deref(), Some("req-create-1"));
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
        // A title is one line; running text keeps its tabs and line breaks.
        let title = t.replace(['\t', '\n'], " ");
        let r = app
            .post(
                "/v1/documents",
                "officer",
                json!({"kind": "programme", "title": title, "description": t}),
            )
            .await;
        r.expect(201);
        let got = app
            .get(&format!("/v1/documents/{}", id(&r.body)), "reader")
            .await;
        assert_eq!(got.body["title"], title);
        assert_eq!(got.body["description"], t);
    }
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "två\nrader"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["title".to_string()]);
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

const CACHE_HIT: &str = "intl_render_cache_lookups_total{result=\"hit\"}";
const CACHE_MISS: &str = "intl_render_cache_lookups_total{result=\"miss\"}";

/// A write keeps the record it wrote in the render cache, and a GET of that version answers
/// from it: so the copy must be exactly what loading gives. The next write loads its record
/// from the database (it is the audit's before-image), never from the copy. Each
/// resource written through the shared path is created, patched twice and deleted on a server
/// with the cache, and read after each step by one without it (`RENDER_CACHE_MB=0`) on the same
/// database. Lists are given out of order, money and rates in short forms, so that what a write
/// normalises is compared too.
pub async fn a_write_starts_from_the_record_it_last_wrote(app: TestApp) {
    let plain = spawn(app.db.clone(), &[("RENDER_CACHE_MB", "0")]).await;
    let (goals, areas) = crate::activities::policy_goals(&app).await;
    let org = |name: &str| {
        json!({"name": name, "kind": "network", "country": "BE",
               "external_ids": [{"scheme": "zeta", "value": name}, {"scheme": "alfa", "value": name}]})
    };
    let o1 = id(&app
        .post("/v1/organisations", "board", org("Ett"))
        .await
        .body);
    let o2 = id(&app
        .post("/v1/organisations", "board", org("Två"))
        .await
        .body);
    let plan = id(&app.draft("action_plan", "Plan").await);
    let policy = id(&app.policy().await);
    let cases = [
        (
            "/v1/documents",
            json!({"kind": "guideline", "title": "Riktlinje", "year": 2027}),
            json!({"description": "Om resor", "valid_from": "2027-01-01"}),
            json!({"applies_to": "Regiongemensamt", "description": null}),
        ),
        (
            "/v1/goals",
            json!({"document_id": plan, "kind": "goal", "title": "Mål", "serves": [goals[1], goals[0]]}),
            json!({"code": "1.2", "serves": [goals[0]]}),
            json!({"position": 3, "code": null}),
        ),
        (
            "/v1/organisations",
            org("Nätverk Ö"),
            json!({"name": "Nätverk Ä", "external_ids": [{"scheme": "beta", "value": "2"}, {"scheme": "alfa", "value": "Nätverk Ö"}]}),
            json!({"country": null, "website": "https://example.eu"}),
        ),
        (
            "/v1/projects",
            json!({"title": "Glesbygdsvård", "status": "implementation", "region_role": "lead_partner",
                   "partners": [{"organisation_id": o2, "role": "partner", "budget_share": {"amount": "400000", "currency": "EUR"}},
                                {"organisation_id": o1, "role": "associated_partner"}],
                   "total_budget": {"amount": "1250000.5", "currency": "EUR"}, "cofinancing_rate": "65",
                   "nuts_codes": ["SE321", "FI1D7"], "goal_ids": [goals[2], goals[0]],
                   "priority_area_ids": [areas[1], areas[0]],
                   "external_ids": [{"scheme": "jems", "value": "AUR-1"}, {"scheme": "cordis", "value": "7"}]}),
            json!({"cofinancing_rate": "70.5", "goal_ids": [goals[0], goals[1]],
                   "partners": [{"organisation_id": o1, "role": "partner", "budget_share": {"amount": "1", "currency": "SEK"}}]}),
            json!({"description": "Ny beskrivning", "nuts_codes": [], "external_ids": []}),
        ),
        (
            "/v1/activities",
            json!({"document_id": plan, "kind": "eu_advocacy", "title": "Påverkan",
                   "goal_ids": [goals[1], goals[0]], "priority_area_ids": [areas[0]]}),
            json!({"status": "ongoing", "prioritised": true, "planned_start": "2027-01-01"}),
            json!({"goal_ids": [], "description": "Ändrad"}),
        ),
        (
            "/v1/memberships",
            json!({"kind": "membership", "organisation_id": o1, "role": "member",
                   "annual_fee": {"amount": "52000", "currency": "SEK"}, "start_date": "2024-01-01"}),
            json!({"annual_fee": {"amount": "1.5", "currency": "SEK"}, "end_date": "2030-12-31"}),
            json!({"review_interval_months": 24, "role": null}),
        ),
        (
            "/v1/evaluations",
            json!({"subject_type": "document", "subject_id": policy, "goal_fulfilment": "partly_achieved"}),
            json!({"benefit_region": 4, "findings": "Tidig kunskap"}),
            json!({"recommendation": "continue", "benefit_region": null}),
        ),
    ];
    for (collection, create, first, second) in cases {
        let created = app.post(collection, "board", create).await;
        created.expect(201);
        let path = format!("{collection}/{}", id(&created.body));
        let mut last = created;
        for patch in [first, second] {
            // What the write answered (and kept) is what a load gives.
            let loaded = plain.get(&path, "reader").await;
            loaded.expect(200);
            assert_eq!(loaded.body, last.body, "{path}");
            assert_eq!(loaded.etag(), last.etag(), "{path}");
            let hits = app.metric(CACHE_HIT).await;
            let w = app
                .send(
                    app.request(Method::PATCH, &path, Some("board"))
                        .header("If-Match", last.etag())
                        .json(&patch),
                )
                .await;
            w.expect(200);
            assert_eq!(
                app.metric(CACHE_HIT).await,
                hits,
                "{path}: a write's record before comes from the database, not a rendering"
            );
            // The audit event's `before` is the record as loaded.
            let audit = app.audit(&id(&w.body));
            let before = audit.last().unwrap().3.as_deref().unwrap();
            assert_eq!(serde_json::from_str::<Value>(before).unwrap(), loaded.body);
            last = w;
        }
        let loaded = plain.get(&path, "reader").await;
        assert_eq!(loaded.body, last.body, "{path}");
        assert_eq!(app.get(&path, "reader").await.body, last.body, "{path}");
        app.send(
            app.request(Method::DELETE, &path, Some("board"))
                .header("If-Match", last.etag()),
        )
        .await
        .expect(204);
        plain.get(&path, "reader").await.expect(404);
        let audit = app.audit(&id(&last.body));
        let before = audit.last().unwrap().3.as_deref().unwrap();
        assert_eq!(serde_json::from_str::<Value>(before).unwrap(), last.body);
    }
    // Changed by another instance since this one cached it: the write loads the record, so the
    // other instance's change is kept (and the stale copy is not even looked at).
    let r = plain.post("/v1/organisations", "board", org("Tre")).await;
    let path = format!("/v1/organisations/{}", id(&r.body));
    app.get(&path, "reader").await.expect(200);
    let theirs = plain
        .patch(&path, "board", json!({"short_name": "T"}))
        .await;
    theirs.expect(200);
    let misses = app.metric(CACHE_MISS).await;
    let mine = app
        .send(
            app.request(Method::PATCH, &path, Some("board"))
                .header("If-Match", theirs.etag())
                .json(&json!({"name": "Tre AB"})),
        )
        .await;
    mine.expect(200);
    assert_eq!(app.metric(CACHE_MISS).await, misses);
    assert_eq!(mine.body["short_name"], "T");
    assert_eq!(mine.body["name"], "Tre AB");
    assert_eq!(mine.body["version"], 3);
    assert_eq!(plain.get(&path, "reader").await.body, mine.body);
    plain.handle.stop(true).await;
}
