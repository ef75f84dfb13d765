//! Traceability: the audit trail read API (council and board), its append-only tables, the
//! decision register, and point-in-time reads built from the audit trail.

use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, id, TestApp};

const ALL_ROLES: [&str; 5] = ["council", "board", "officer", "integrator", "reader"];

fn items(r: &crate::helpers::Resp) -> Vec<Value> {
    r.body["items"].as_array().expect("items").clone()
}

pub async fn audit_trail_read_filters_and_refusals(app: TestApp) {
    let r = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "North Sweden European Office", "kind": "eu_office", "country": "BE"}),
        )
        .await;
    r.expect(201);
    let org = id(&r.body);
    let path = format!("/v1/organisations/{org}");
    app.patch(&path, "board", json!({"short_name": "NSEO"}))
        .await
        .expect(200);
    app.delete(&path, "officer").await.expect(204);

    // Everything about the record, oldest first, with who, before and after.
    let r = app
        .get(&format!("/v1/audit-events?resource_id={org}"), "council")
        .await;
    r.expect(200);
    let ev = items(&r);
    assert_eq!(ev.len(), 3, "{}", r.text);
    let actions: Vec<&str> = ev.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(ev[0]["actor"]["sub"], "officer-user");
    assert_eq!(ev[0]["actor"]["roles"], json!(["officer"]));
    assert_eq!(ev[0]["before"], Value::Null);
    assert_eq!(ev[0]["after"]["name"], "North Sweden European Office");
    assert_eq!(ev[1]["actor"]["sub"], "board-user");
    assert_eq!(ev[1]["before"]["short_name"], Value::Null);
    assert_eq!(ev[1]["after"]["short_name"], "NSEO");
    assert_eq!(ev[1]["resource_version"], 2);
    assert_eq!(ev[2]["after"], Value::Null);
    assert_eq!(ev[2]["resource_version"], 3);
    assert!(ev[0]["request_id"].is_string());
    assert!(ev[0]["id"].as_i64().unwrap() < ev[1]["id"].as_i64().unwrap());

    // Filters: actor, action, resource type, time range.
    let r = app
        .get(
            &format!("/v1/audit-events?resource_id={org}&actor=board-user"),
            "board",
        )
        .await;
    assert_eq!(items(&r).len(), 1);
    assert_eq!(items(&r)[0]["action"], "update");
    let r = app
        .get(
            "/v1/audit-events?action=delete&resource_type=organisation",
            "board",
        )
        .await;
    assert_eq!(items(&r).len(), 1);
    assert_eq!(items(&r)[0]["resource_id"], org.as_str());
    let r = app.get("/v1/audit-events?action=adopt", "board").await;
    assert!(items(&r)
        .iter()
        .all(|e| e["action"] == "adopt" && e["resource_type"] == "document"));
    assert_eq!(items(&r).len(), 1, "the shipped policy's adoption");
    let second_at = ev[1]["at"].as_str().unwrap().to_string();
    let r = app
        .send(
            app.request(Method::GET, "/v1/audit-events", Some("board"))
                .query(&[("resource_id", org.as_str()), ("since", second_at.as_str())]),
        )
        .await;
    let got: Vec<Value> = items(&r).iter().map(|e| e["action"].clone()).collect();
    assert_eq!(got, [json!("update"), json!("delete")]);
    let r = app
        .send(
            app.request(Method::GET, "/v1/audit-events", Some("board"))
                .query(&[("resource_id", org.as_str()), ("until", second_at.as_str())]),
        )
        .await;
    assert_eq!(items(&r).len(), 1);
    assert_eq!(items(&r)[0]["action"], "create");

    // Pages of one, following the cursor, give the same events.
    let mut seen = Vec::new();
    let mut url = format!("/v1/audit-events?resource_id={org}&limit=1");
    loop {
        let r = app.get(&url, "council").await;
        r.expect(200);
        seen.extend(items(&r).iter().map(|e| e["id"].clone()));
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/audit-events?resource_id={org}&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ev.iter().map(|e| e["id"].clone()).collect::<Vec<_>>());

    // Refusals: every role but council and board, no token, bad filters, forged cursors.
    let before = app.snapshot();
    for role in ["officer", "integrator", "reader"] {
        let r = app.get("/v1/audit-events", role).await;
        assert_problem(&r, 403);
        assert_eq!(r.body["required_roles"], json!(["council", "board"]));
    }
    assert_problem(
        &app.send(app.request(Method::GET, "/v1/audit-events", None))
            .await,
        401,
    );
    for (q, field) in [
        ("action=vote", "action"),
        ("resource_type=people", "resource_type"),
        ("since=yesterday", "since"),
        ("until=", "until"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (
            "since=2026-11-28T10:00:00Z&until=2026-11-27T10:00:00Z",
            "until",
        ),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let r = app.get(&format!("/v1/audit-events?{q}"), "board").await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{q}");
    }
    let r = app
        .get(
            "/v1/audit-events?cursor=MTA.AAAAAAAAAAAAAAAAAAAAAA",
            "board",
        )
        .await;
    assert_problem(&r, 400);
    // A cursor made for another filter is refused too.
    let r = app
        .get(
            &format!("/v1/audit-events?resource_id={org}&limit=1"),
            "board",
        )
        .await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    assert_problem(
        &app.get(&format!("/v1/audit-events?limit=1&cursor={c}"), "board")
            .await,
        400,
    );
    // The trail cannot be written through the API.
    for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let r = app
            .send(
                app.request(m.clone(), "/v1/audit-events", Some("board"))
                    .json(&json!({})),
            )
            .await;
        assert_problem(&r, 405);
        assert_eq!(r.header("allow").as_deref(), Some("GET"), "{m}");
    }
    assert_eq!(app.snapshot(), before);
}

pub async fn audit_trail_and_register_are_append_only_in_the_database(app: TestApp) {
    // Something in both tables.
    app.adopted("action_plan", "Handlingsplan 2027").await;
    let before = app.counts();
    let pool = intl_api::db::build_pool(&app.db.url, 1);
    let mut conn = pool.get().unwrap();
    let postgres = app.db.url.starts_with("postgres");
    for table in ["audit_events", "decisions"] {
        for sql in [
            format!("UPDATE {table} SET resource_id = 'forged'"),
            format!("DELETE FROM {table}"),
        ] {
            let r = diesel::sql_query(&sql).execute(&mut *conn);
            let e = r.expect_err(&sql).to_string();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
        if postgres {
            let sql = format!("TRUNCATE {table}");
            let e = diesel::sql_query(&sql)
                .execute(&mut *conn)
                .expect_err(&sql)
                .to_string();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
    }
    drop(conn);
    assert_eq!(app.counts(), before);
}

pub async fn decision_register(app: TestApp) {
    // The shipped policy's adoption is there from the start, and the same decision as the one
    // the shipped memberships and representations rest on.
    let r = app.get("/v1/decisions", "reader").await;
    r.expect(200);
    let shipped = items(&r);
    assert_eq!(shipped.len(), 5, "{}", r.text);
    for m in &shipped[1..] {
        assert_eq!(m["kind"], "membership_decision");
        assert_eq!(m["body"], "council");
        assert_eq!(m["reference"], "RF 2018-06-21 § 135");
        assert_eq!(m["resource_type"], "membership");
    }
    assert_eq!(shipped[0]["kind"], "adoption");
    assert_eq!(shipped[0]["body"], "council");
    assert_eq!(shipped[0]["date"], "2018-06-21");
    assert_eq!(shipped[0]["reference"], "RF 2018-06-21 § 135");
    assert_eq!(shipped[0]["resource_type"], "document");
    assert_eq!(
        shipped[0]["summary"],
        "Antog policy \"Internationell policy\""
    );

    // A board adoption, a membership joined by decision, an approval, an end.
    let plan = app.adopted("action_plan", "Handlingsplan 2027").await;
    let org = id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Assembly of European Regions", "short_name": "AER", "kind": "network"}),
        )
        .await
        .body);
    // An officer's draft membership decides nothing.
    let m = app
        .post(
            "/v1/memberships",
            "officer",
            json!({"kind": "membership", "organisation_id": org, "start_date": "2024-01-01"}),
        )
        .await;
    m.expect(201);
    let mid = id(&m.body);
    assert_eq!(items(&app.get("/v1/decisions", "reader").await).len(), 6);
    app.patch(
        &format!("/v1/memberships/{mid}"),
        "board",
        json!({"status": "active", "decision": {"body": "board", "date": "2024-01-15", "reference": "RS 2024-01-15 § 4"}}),
    )
    .await
    .expect(200);
    // Editing something else keeps the decision and registers nothing new.
    app.patch(
        &format!("/v1/memberships/{mid}"),
        "officer",
        json!({"mandate": "Bevaka regionala frågor i AER"}),
    )
    .await
    .expect(200);
    let e = app
        .post(
            "/v1/evaluations",
            "officer",
            json!({"subject_type": "membership", "subject_id": mid, "goal_fulfilment": "partly_achieved", "recommendation": "terminate"}),
        )
        .await;
    let eid = id(&e.body);
    app.post(
        &format!("/v1/evaluations/{eid}/submit"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    // A refused approval registers nothing.
    let before = app.snapshot();
    app.post(
        &format!("/v1/evaluations/{eid}/approve"),
        "council",
        json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 9"}),
    )
    .await
    .expect(403);
    assert_eq!(app.snapshot(), before);
    app.post(
        &format!("/v1/evaluations/{eid}/approve"),
        "board",
        json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 9"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/memberships/{mid}/end"),
        "board",
        json!({"date": "2026-11-25", "reference": "RS 2026-11-25 § 12", "end_date": "2026-12-31"}),
    )
    .await
    .expect(200);

    let r = app.get("/v1/decisions", "integrator").await;
    r.expect(200);
    let mut all = items(&r);
    // Past the shipped memberships' decisions (checked above).
    all.drain(1..5);
    let kinds: Vec<&str> = all.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "adoption",
            "adoption",
            "membership_decision",
            "approval",
            "membership_end"
        ],
        "{}",
        r.text
    );
    assert_eq!(all[1]["resource_id"], plan["id"]);
    assert_eq!(all[1]["body"], "board");
    assert_eq!(all[1]["reference"], "RS 2026-11-20 § 1");
    // The register speaks Swedish, as the rest of the content.
    assert_eq!(
        all[1]["summary"],
        "Antog handlingsplan \"Handlingsplan 2027\""
    );
    assert_eq!(
        all[2]["summary"],
        "Beslutade om medlemskap i \"Assembly of European Regions\": status aktiv"
    );
    assert_eq!(all[2]["date"], "2024-01-15");
    assert_eq!(
        all[3]["summary"],
        format!("Godkände utvärderingen av medlemskap {mid}: måluppfyllelse delvis uppnådd, rekommendation avveckla")
    );
    assert_eq!(
        all[4]["summary"],
        "Avslutade medlemskap i \"Assembly of European Regions\" från 2026-12-31"
    );
    assert_eq!(all[4]["reference"], "RS 2026-11-25 § 12");
    // The record as the decision left it can be read back at the time it was recorded.
    let at = all[4]["recorded_at"].as_str().unwrap();
    let r = app
        .send(
            app.request(
                Method::GET,
                &format!("/v1/memberships/{mid}"),
                Some("reader"),
            )
            .query(&[("as_of", at)]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "ended");
    assert_eq!(r.body["version"], all[4]["resource_version"]);

    // Filters.
    let shipped_kinds = [
        "adoption",
        "membership_decision",
        "membership_decision",
        "membership_decision",
        "membership_decision",
    ];
    assert_eq!(kinds_of(&app, "body=council").await, shipped_kinds);
    assert_eq!(kinds_of(&app, "year=2018").await, shipped_kinds);
    assert_eq!(kinds_of(&app, "year=2024").await, ["membership_decision"]);
    assert_eq!(
        kinds_of(&app, "body=board&year=2026").await,
        ["adoption", "approval", "membership_end"]
    );
    assert_eq!(kinds_of(&app, "kind=approval").await, ["approval"]);
    assert_eq!(
        kinds_of(&app, &format!("resource_id={mid}")).await,
        ["membership_decision", "membership_end"]
    );
    assert!(kinds_of(&app, "year=1999").await.is_empty());
    // Pages.
    let r = app.get("/v1/decisions?limit=5", "reader").await;
    assert_eq!(items(&r).len(), 5);
    let c = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(&format!("/v1/decisions?limit=2&cursor={c}"), "reader")
        .await;
    assert_eq!(items(&r)[0]["resource_id"], plan["id"]);
    assert_eq!(items(&r)[1]["kind"], "membership_decision");

    // Every role reads it; bad filters are 422 naming the field; no token is 401.
    for role in ALL_ROLES {
        app.get("/v1/decisions", role).await.expect(200);
    }
    for (q, field) in [
        ("body=parliament", "body"),
        ("year=twenty", "year"),
        ("year=3000", "year"),
        ("kind=veto", "kind"),
        ("limit=9999", "limit"),
    ] {
        let r = app.get(&format!("/v1/decisions?{q}"), "reader").await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{q}");
    }
    assert_problem(
        &app.send(app.request(Method::GET, "/v1/decisions", None))
            .await,
        401,
    );
}

async fn kinds_of(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/v1/decisions?{query}"), "reader").await;
    r.expect(200);
    items(&r)
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn at(app: &TestApp, path: &str, t: &str) -> crate::helpers::Resp {
    app.send(
        app.request(Method::GET, path, Some("reader"))
            .query(&[("as_of", t)]),
    )
    .await
}

/// `GET ...?as_of=` on every kind of single resource.
pub async fn point_in_time_reads(app: TestApp) {
    let t_before = "2000-01-01T00:00:00Z";
    // A project through create, two patches and a delete.
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Aurora Hälsa", "status": "pipeline", "region_role": "partner"}),
        )
        .await;
    p.expect(201);
    let pid = id(&p.body);
    let path = format!("/v1/projects/{pid}");
    let v1 = p.body.clone();
    let v2 = app
        .patch(&path, "officer", json!({"status": "implementation"}))
        .await
        .body
        .clone();
    let v3 = app
        .patch(&path, "officer", json!({"acronym": "AH"}))
        .await
        .body
        .clone();
    // At each version's own time, and between versions, the version then current.
    for v in [&v1, &v2, &v3] {
        let r = at(&app, &path, v["updated_at"].as_str().unwrap()).await;
        r.expect(200);
        assert_eq!(&r.body, v);
        assert_eq!(r.etag(), format!("\"{}\"", v["version"]));
    }
    let r = at(&app, &path, t_before).await;
    assert_problem(&r, 404);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("did not exist yet"));
    // If-None-Match with the historical ETag: 304.
    let r = app
        .send(
            app.request(Method::GET, &path, Some("reader"))
                .query(&[("as_of", v2["updated_at"].as_str().unwrap())])
                .header("if-none-match", "\"2\""),
        )
        .await;
    r.expect(304);
    app.delete(&path, "officer").await.expect(204);
    // Now gone: a plain GET is 404, a read as of now is 410, a read of the past still works.
    app.get(&path, "reader").await.expect(404);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    assert_problem(&at(&app, &path, &now).await, 410);
    assert_eq!(
        at(&app, &path, v3["updated_at"].as_str().unwrap())
            .await
            .body,
        v3
    );
    // An offset other than Z means the same instant.
    let t = chrono::DateTime::parse_from_rfc3339(v2["updated_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    assert_eq!(at(&app, &path, &t).await.body["version"], 2);

    // A document read before its adoption shows the draft.
    let plan = app.adopted("action_plan", "Handlingsplan 2028").await;
    let plan_id = id(&plan);
    let audit = app
        .get(
            &format!("/v1/audit-events?resource_id={plan_id}&action=propose"),
            "board",
        )
        .await;
    let proposed_at = items(&audit)[0]["at"].as_str().unwrap().to_string();
    let r = at(&app, &format!("/v1/documents/{plan_id}"), &proposed_at).await;
    assert_eq!(r.body["status"], "proposed");
    assert_eq!(r.body["decision"], Value::Null);

    // Every single-resource GET answers as_of with what a plain GET says now.
    let draft = app.draft("action_plan", "Handlingsplan 2029").await;
    let goal = app.goal(&id(&draft), None, "sub_goal", "Delmål").await;
    let org = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "CPMR", "kind": "network"}),
        )
        .await
        .body
        .clone();
    let act = app.post("/v1/activities", "officer", json!({"document_id": id(&draft), "kind": "eu_advocacy", "title": "Bevaka EU:s sammanhållningspolitik", "status": "planned"})).await;
    act.expect(201);
    let m = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "representation", "organisation_id": id(&org), "representative": "Ledamot A"}),
        )
        .await
        .body
        .clone();
    let mid = id(&m);
    let rb = app
        .post(
            &format!("/v1/memberships/{mid}/report-backs"),
            "officer",
            json!({"date": "2026-11-01", "meeting": "Styrgruppsmöte", "summary": "Inget att rapportera.", "reported_to": "board"}),
        )
        .await;
    rb.expect(201);
    let ev = app
        .post(
            "/v1/evaluations",
            "officer",
            json!({"subject_type": "goal", "subject_id": id(&goal), "goal_fulfilment": "not_assessed"}),
        )
        .await;
    ev.expect(201);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let paths = [
        format!("/v1/documents/{plan_id}"),
        format!("/v1/goals/{}", id(&goal)),
        format!("/v1/organisations/{}", id(&org)),
        format!("/v1/activities/{}", id(&act.body)),
        format!("/v1/memberships/{mid}"),
        format!("/v1/memberships/{mid}/report-backs/{}", id(&rb.body)),
        format!("/v1/evaluations/{}", id(&ev.body)),
    ];
    for p in &paths {
        let current = app.get(p, "reader").await;
        current.expect(200);
        let then = at(&app, p, &now).await;
        then.expect(200);
        assert_eq!(then.body, current.body, "{p}");
        assert_problem(&at(&app, p, t_before).await, 404);
    }
    // A report-back is found only under its own membership, then as now.
    let other = id(&app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": id(&org)}),
        )
        .await
        .body);
    let wrong = format!("/v1/memberships/{other}/report-backs/{}", id(&rb.body));
    assert_problem(&app.get(&wrong, "reader").await, 404);
    assert_problem(&at(&app, &wrong, &now).await, 404);
    // A goal id asked for as a document is no document.
    assert_problem(
        &at(&app, &format!("/v1/documents/{}", id(&goal)), &now).await,
        404,
    );
    // Bad times are 422 naming as_of; every role may read the past; no token is 401.
    for bad in ["yesterday", "2026-11-28", "2026-11-28T25:00:00Z", "1e9", ""] {
        let r = at(&app, &paths[0], bad).await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec!["as_of".to_string()], "{bad}");
    }
    for role in ALL_ROLES {
        app.send(
            app.request(Method::GET, &paths[0], Some(role))
                .query(&[("as_of", now.as_str())]),
        )
        .await
        .expect(200);
    }
    assert_problem(
        &app.send(
            app.request(Method::GET, &paths[0], None)
                .query(&[("as_of", now.as_str())]),
        )
        .await,
        401,
    );
}
