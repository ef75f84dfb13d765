//! PostgreSQL lookups sent from the workers on their own connections (`db::pipeline`): they
//! answer exactly as the pool's path would, the pool takes over whenever a pipelined connection
//! is lost, and a URL asking for TLS keeps every read on the pool.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn, TestApp};

/// `intl_db_pipelined_reads_total` of `app`.
async fn pipelined(app: &TestApp) -> f64 {
    let r = app.send(app.request(Method::GET, "/metrics", None)).await;
    r.expect(200);
    r.text
        .lines()
        .find_map(|l| l.strip_prefix("intl_db_pipelined_reads_total "))
        .and_then(|v| v.parse().ok())
        .expect("intl_db_pipelined_reads_total")
}

/// GETs `path` until a pipeline has answered (its connections are made by the first requests
/// and meanwhile the pool answers); every answer is 200 with the same body and ETag.
async fn until_pipelined(app: &TestApp, path: &str) -> (serde_json::Value, String) {
    let before = pipelined(app).await;
    let first = app.get(path, "reader").await;
    first.expect(200);
    for _ in 0..100 {
        let r = app.get(path, "reader").await;
        r.expect(200);
        assert_eq!(r.body, first.body);
        assert_eq!(r.etag(), first.etag());
        if pipelined(app).await > before {
            return (first.body.clone(), first.etag());
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no GET of {path} went through the pipeline");
}

fn project_body(title: &str) -> serde_json::Value {
    json!({"title": title, "status": "pipeline", "region_role": "partner", "description": ""})
}

async fn project(app: &TestApp, title: &str) -> serde_json::Value {
    let r = app
        .post("/v1/projects", "officer", project_body(title))
        .await;
    r.expect(201);
    r.body.clone()
}

pub async fn postgres_reads_skip_the_pool_and_agree_with_it(app: TestApp) {
    let p = app
        .post("/v1/projects", "officer", project_body("Rörledning"))
        .await;
    p.expect(201);
    let path = format!("/v1/projects/{}", id(&p.body));
    let (body, etag) = until_pipelined(&app, &path).await;
    assert_eq!(
        body, p.body,
        "the pipelined GET serves what the create answered"
    );
    assert_eq!(etag, p.etag());

    // A change is seen by the next GET, and the old ETag no longer answers 304.
    let r = app
        .send(
            app.request(Method::PATCH, &path, Some("officer"))
                .header("If-Match", &etag)
                .header("Content-Type", "application/merge-patch+json")
                .body(json!({"title": "Rörledning 2"}).to_string()),
        )
        .await;
    r.expect(200);
    let before = pipelined(&app).await;
    for _ in 0..5 {
        let g = app.get(&path, "reader").await;
        g.expect(200);
        assert_eq!(g.body["title"], "Rörledning 2");
        assert_eq!(g.etag(), r.etag());
        let stale = app
            .send(
                app.request(Method::GET, &path, Some("reader"))
                    .header("If-None-Match", &etag),
            )
            .await;
        stale.expect(200);
        let fresh = app
            .send(
                app.request(Method::GET, &path, Some("reader"))
                    .header("If-None-Match", r.etag()),
            )
            .await;
        fresh.expect(304);
    }
    assert!(
        pipelined(&app).await >= before + 15.0,
        "the GETs were pipelined"
    );

    // The lookup refuses as the pool's path does: no token, a role without read, gone, unknown.
    app.send(app.request(Method::GET, &path, None))
        .await
        .expect(401);
    app.delete(&path, "board").await.expect(204);
    let gone = app.get(&path, "reader").await;
    crate::helpers::assert_problem(&gone, 404);
    let unknown = app.get("/v1/projects/no-such-id", "reader").await;
    crate::helpers::assert_problem(&unknown, 404);

    // Its connections ended by the server: the pool answers meanwhile, then they are made anew.
    let other = format!(
        "/v1/projects/{}",
        id(&project(&app, "Efter avbrottet").await)
    );
    until_pipelined(&app, &other).await;
    let mut admin = diesel::PgConnection::establish(&app.db.url).unwrap();
    let ended = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND application_name = '{}'",
        app.db.name(),
        intl_api::db::pipeline::APPLICATION_NAME
    ))
    .execute(&mut admin)
    .unwrap();
    assert!(ended >= 1, "the pipelined connections are named");
    for _ in 0..20 {
        app.get(&other, "reader").await.expect(200);
    }
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    until_pipelined(&app, &other).await;
}

pub async fn postgres_over_tls_reads_through_the_pool(app: TestApp) {
    let url = format!("{}?sslmode=prefer", app.db.url);
    let tls = spawn(app.db.clone(), &[("DATABASE_URL", &url)]).await;
    let path = format!("/v1/projects/{}", id(&project(&tls, "Krypterad").await));
    for _ in 0..20 {
        tls.get(&path, "reader").await.expect(200);
    }
    assert_eq!(pipelined(&tls).await, 0.0);
    tls.handle.stop(true).await;
}
