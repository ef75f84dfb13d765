//! Idempotency-Key on POST: replays, refusals, concurrency, per caller, across instances.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn, token_with, TestApp};

fn post(
    app: &TestApp,
    path: &str,
    sub: &str,
    key: &str,
    body: serde_json::Value,
) -> reqwest::RequestBuilder {
    app.request(Method::POST, path, None)
        .bearer_auth(token_with(
            json!({"sub": sub, "roles": ["officer", "board"]}),
        ))
        .header("idempotency-key", key)
        .json(&body)
}

pub async fn a_retry_replays_and_never_executes_twice(app: TestApp) {
    let body = json!({"name": "Nordregio", "kind": "ngo"});
    let first = app
        .send(post(&app, "/v1/organisations", "anna", "k-1", body.clone()))
        .await;
    first.expect(201);
    let counts = app.counts();
    let again = app
        .send(post(&app, "/v1/organisations", "anna", "k-1", body.clone()))
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.counts(), counts, "the repeat executed again");
    // The same key with another body is refused; another caller's key is its own.
    let r = app
        .send(post(
            &app,
            "/v1/organisations",
            "anna",
            "k-1",
            json!({"name": "Annat", "kind": "ngo"}),
        ))
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["Idempotency-Key"]);
    let other = app
        .send(post(
            &app,
            "/v1/organisations",
            "bertil",
            "k-1",
            body.clone(),
        ))
        .await;
    other.expect(201);
    assert_ne!(other.body["id"], first.body["id"]);
    // Bad keys.
    app.send(post(
        &app,
        "/v1/organisations",
        "anna",
        &"x".repeat(256),
        body.clone(),
    ))
    .await
    .expect(400);
    // Actions too: a retried propose replays instead of meeting a 409.
    let d = app.draft("programme", "Program").await;
    let path = format!("/v1/documents/{}/propose", id(&d));
    let p1 = app.send(post(&app, &path, "anna", "p-1", json!({}))).await;
    p1.expect(200);
    let p2 = app.send(post(&app, &path, "anna", "p-1", json!({}))).await;
    assert_eq!(p2.status, 200);
    assert_eq!(p2.body, p1.body);
    app.send(post(&app, &path, "anna", "p-2", json!({})))
        .await
        .expect(409);
    // A refused request is remembered as refused.
    let bad = app
        .send(post(
            &app,
            "/v1/organisations",
            "anna",
            "k-bad",
            json!({"name": "", "kind": "ngo"}),
        ))
        .await;
    bad.expect(422);
    let bad2 = app
        .send(post(
            &app,
            "/v1/organisations",
            "anna",
            "k-bad",
            json!({"name": "", "kind": "ngo"}),
        ))
        .await;
    assert_eq!(bad2.status, 422);
    assert_eq!(bad2.body["errors"], bad.body["errors"]);
    bad2.expect(422);
    // The key holds on another instance (it lives in the database).
    let other_instance = spawn(app.db.clone(), &[]).await;
    let r = other_instance
        .send(post(
            &other_instance,
            "/v1/organisations",
            "anna",
            "k-1",
            body.clone(),
        ))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body, first.body);
    other_instance.handle.stop(true).await;
}

pub async fn concurrent_requests_with_one_key_execute_once(app: TestApp) {
    let before = app.counts();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let req = post(
                &app,
                "/v1/projects",
                "anna",
                "same-key",
                json!({"title": "Samtidigt", "region_role": "partner"}),
            );
            actix_web::rt::spawn(async move {
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                (status, body)
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created.push(body["id"].as_str().unwrap().to_string()),
            409 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|c| *c == created[0]),
        "two executions: {created:?}"
    );
    let after = app.counts();
    let projects = |c: &Vec<(&str, i64)>| c.iter().find(|x| x.0 == "projects").unwrap().1;
    assert_eq!(projects(&after) - projects(&before), 1);
}

/// The caller is the verified token's, read as auth reads it: `bearer` in any case shares a key
/// with `Bearer`, so a retry with either is replayed, never run twice.
pub async fn the_scheme_in_any_case_names_one_caller(app: TestApp) {
    let t = token_with(json!({"sub": "anna", "roles": ["officer"]}));
    let body = json!({"name": "Skiftläge", "kind": "ngo"});
    let send = |scheme: &'static str| {
        app.request(Method::POST, "/v1/organisations", None)
            .header("authorization", format!("{scheme} {t}"))
            .header("idempotency-key", "case-1")
            .json(&body)
    };
    let first = app.send(send("bearer")).await;
    first.expect(201);
    let counts = app.counts();
    for scheme in ["bearer", "Bearer", "BEARER"] {
        let again = app.send(send(scheme)).await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
        assert_eq!(again.body, first.body);
    }
    assert_eq!(app.counts(), counts, "a retry ran again");
}

/// A key is replayed only to the caller with the same sub and roles; a refusal is not kept.
pub async fn a_key_replays_only_to_the_same_sub_and_roles(app: TestApp) {
    let as_ = |roles: serde_json::Value| {
        app.request(Method::POST, "/v1/organisations", None)
            .bearer_auth(token_with(json!({"sub": "olle", "roles": roles})))
            .header("idempotency-key", "roles-1")
            .json(&json!({"name": "Rollbunden", "kind": "ngo"}))
    };
    let first = app.send(as_(json!(["officer"]))).await;
    first.expect(201);
    // The same sub with only the reader role is refused, not handed the officer's 201.
    let r = app.send(as_(json!(["reader"]))).await;
    r.expect(403);
    assert!(r.header("idempotent-replayed").is_none());
    // The refusal was not stored: the same reader's retry is refused again, not replayed.
    let r = app.send(as_(json!(["reader"]))).await;
    r.expect(403);
    assert!(r.header("idempotent-replayed").is_none());
    assert_eq!(stored_keys(&app), 1, "only the officer's 201 is kept");
    // The officer's own retry still replays.
    let again = app.send(as_(json!(["officer"]))).await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
}

fn stored_keys(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use intl_api::db::schema::idempotency_keys as k;
    let pool = intl_api::db::build_pool(&app.db.url, 1);
    let mut c = pool.get().unwrap();
    k::table.count().get_result(&mut c).unwrap()
}

/// Keys older than 24 hours are purged, whoever sent them, not only when their caller repeats
/// them.
pub async fn keys_are_purged_after_24_hours(app: TestApp) {
    use diesel::prelude::*;
    use intl_api::db::schema::idempotency_keys as k;
    {
        let pool = intl_api::db::build_pool(&app.db.url, 1);
        let mut c = pool.get().unwrap();
        let old = chrono::Utc::now().naive_utc() - chrono::Duration::hours(25);
        let recent = chrono::Utc::now().naive_utc() - chrono::Duration::hours(23);
        for (caller, at) in [("gone\nofficer", old), ("kept\nofficer", recent)] {
            diesel::insert_into(k::table)
                .values((
                    k::caller_sub.eq(caller),
                    k::idem_key.eq("old-key"),
                    k::request_hash.eq("x"),
                    k::status.eq(Some(201)),
                    k::response_body.eq(Some("{}")),
                    k::created_at.eq(at),
                ))
                .execute(&mut c)
                .unwrap();
        }
    }
    app.send(post(
        &app,
        "/v1/organisations",
        "someone-else",
        "new-key",
        json!({"name": "Rensning", "kind": "ngo"}),
    ))
    .await
    .expect(201);
    let pool = intl_api::db::build_pool(&app.db.url, 1);
    let mut c = pool.get().unwrap();
    let callers: Vec<String> = k::table
        .filter(k::idem_key.eq("old-key"))
        .select(k::caller_sub)
        .load(&mut c)
        .unwrap();
    assert_eq!(callers, vec!["kept\nofficer".to_string()]);
}
