//! PostgreSQL lookups sent from the workers on their own connections (`db::pipeline`): they
//! answer exactly as the pool's path would, the pool takes over whenever a pipelined connection
//! is lost, and a URL asking for TLS keeps every read on the pool.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn, TestApp};

/// `intl_db_pipelined_reads_total` of `app`.
async fn pipelined(app: &TestApp) -> f64 {
    app.metric("intl_db_pipelined_reads_total").await
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

/// GETs made on a worker at the same time share one statement for their versions: each still
/// gets its own record, a deleted or unknown one its 404, whatever else the statement carried.
pub async fn postgres_gets_at_once_share_a_statement_and_each_gets_its_own(app: TestApp) {
    let mut live = Vec::new();
    for i in 0..6 {
        let p = project(&app, &format!("Samtidig {i}")).await;
        live.push((format!("/v1/projects/{}", id(&p)), p));
    }
    let o = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Samtidig org", "kind": "network", "country": "SE"}),
        )
        .await;
    o.expect(201);
    live.push((format!("/v1/organisations/{}", id(&o.body)), o.body.clone()));
    let deleted = format!(
        "/v1/projects/{}",
        id(&project(&app, "Samtidig borttagen").await)
    );
    app.delete(&deleted, "board").await.expect(204);
    until_pipelined(&app, &live[0].0).await;

    // Every record twice, the deleted and an unknown one, all at once; again until some of
    // them went together (fewer statements than reads), which two workers and sixteen
    // requests at a time make happen within a few rounds.
    let mut shared = false;
    for _ in 0..50 {
        let (reads, statements) = (
            pipelined(&app).await,
            app.metric("intl_db_pipelined_statements_total").await,
        );
        let mut paths: Vec<(&str, Option<&serde_json::Value>)> = live
            .iter()
            .chain(&live)
            .map(|(path, body)| (path.as_str(), Some(body)))
            .collect();
        paths.push((&deleted, None));
        paths.push(("/v1/projects/01a24d94-0000-7000-8000-000000000000", None));
        let answers =
            futures_util::future::join_all(paths.iter().map(|(path, _)| app.get(path, "reader")))
                .await;
        for ((path, want), r) in paths.iter().zip(&answers) {
            match want {
                Some(body) => {
                    r.expect(200);
                    assert_eq!(&r.body, *body, "{path}");
                }
                None => crate::helpers::assert_problem(r, 404),
            }
        }
        let (reads, statements) = (
            pipelined(&app).await - reads,
            app.metric("intl_db_pipelined_statements_total").await - statements,
        );
        assert!(
            statements <= reads,
            "{statements} statements, {reads} reads"
        );
        if statements < reads {
            shared = true;
            break;
        }
    }
    assert!(shared, "no two GETs at once shared a statement");
}

/// PostgreSQL on this machine reached over its Unix socket: the pool (libpq) and the pipelined
/// reads both use it (no TLS is ever used there, so the URL is served as a loopback one is).
pub async fn postgres_over_a_unix_socket_pipelines(app: TestApp) {
    #[derive(QueryableByName)]
    struct Dirs {
        #[diesel(sql_type = diesel::sql_types::Text)]
        unix_socket_directories: String,
    }
    let mut admin = diesel::PgConnection::establish(&app.db.url).unwrap();
    let dirs: Dirs = diesel::sql_query("SHOW unix_socket_directories")
        .get_result(&mut admin)
        .unwrap();
    let dir = dirs
        .unix_socket_directories
        .split(',')
        .next()
        .unwrap()
        .trim();
    assert!(dir.starts_with('/'), "PostgreSQL listens on a Unix socket");
    let user = app
        .db
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map_or("postgres", |(user, _)| user);
    let url = format!("postgres://{user}@/{}?host={dir}", app.db.name());
    let local = spawn(app.db.clone(), &[("DATABASE_URL", &url)]).await;
    let created = project(&local, "Via uttaget").await;
    let path = format!("/v1/projects/{}", id(&created));
    let (body, _) = until_pipelined(&local, &path).await;
    assert_eq!(body, created);
    // A Unix socket's client has no port (-1).
    let on_socket = diesel::sql_query(format!(
        "SELECT 1 FROM pg_stat_activity WHERE datname = '{}' AND application_name = '{}' \
         AND client_port = -1",
        app.db.name(),
        intl_api::db::pipeline::APPLICATION_NAME
    ))
    .execute(&mut admin)
    .unwrap();
    assert!(on_socket >= 1, "the pipelined reads use the socket");
    local.handle.stop(true).await;
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

/// Every page of `path` (from the first, following `next_cursor`) as `app` answers it.
async fn pages(app: &TestApp, path: &str) -> Vec<serde_json::Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(p) = next {
        let r = app.get(&p, "reader").await;
        r.expect(200);
        next = r.body["next_cursor"]
            .as_str()
            .map(|c| format!("{path}{sep}cursor={c}"));
        out.push(r.body.clone());
    }
    out
}

pub async fn postgres_list_pages_skip_the_pool_and_agree_with_it(app: TestApp) {
    // The same database through the pool only (a URL asking for TLS has no pipeline).
    let url = format!("{}?sslmode=prefer", app.db.url);
    let pool_only = spawn(app.db.clone(), &[("DATABASE_URL", &url)]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = project_body(&format!("Lista {i}"));
        body["external_ids"] = json!([{"scheme": "crm", "value": format!("l{i}")}]);
        if i % 2 == 1 {
            body["status"] = json!("implementation");
        }
        let r = app.post("/v1/projects", "officer", body).await;
        r.expect(201);
        ids.push(id(&r.body).to_string());
    }
    let lists = [
        "/v1/projects?limit=2",
        "/v1/projects?status=pipeline&limit=2",
        "/v1/projects?region_role=partner&limit=3",
        "/v1/projects?external_id_scheme=crm&external_id_value=l3",
        "/v1/projects?updated_since=2000-01-01T00:00:00Z&limit=2",
    ];
    // The pipelined connections are made by the first requests; the pool answers meanwhile.
    for _ in 0..100 {
        let before = pipelined(&app).await;
        app.get(lists[0], "reader").await.expect(200);
        if pipelined(&app).await > before {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let check = |want: usize| {
        let (app, pool_only) = (&app, &pool_only);
        async move {
            for path in lists {
                let before = pipelined(app).await;
                // Twice: the first reading may render records, the second finds them cached.
                let (first, second, pool) = (
                    pages(app, path).await,
                    pages(app, path).await,
                    pages(pool_only, path).await,
                );
                assert_eq!(first, pool, "{path}: the pipelined pages are the pool's");
                assert_eq!(second, pool, "{path}: the pipelined pages are the pool's");
                let seen: usize = pool
                    .iter()
                    .map(|p| p["items"].as_array().unwrap().len())
                    .sum();
                assert!(seen <= want, "{path}: {seen} records");
                assert!(
                    pipelined(app).await >= before + pool.len() as f64,
                    "{path}: the pages' keys were pipelined"
                );
            }
        }
    };
    check(5).await;
    assert_eq!(pages(&app, lists[0]).await.len(), 3, "5 records, 2 a page");
    assert_eq!(
        pages(&app, lists[3]).await[0]["items"][0]["id"],
        json!(ids[3]),
        "the external id finds its project"
    );

    // A change and a deletion are seen by the next page.
    let path = format!("/v1/projects/{}", ids[0]);
    let etag = app.get(&path, "reader").await.etag();
    app.send(
        app.request(Method::PATCH, &path, Some("officer"))
            .header("If-Match", &etag)
            .header("Content-Type", "application/merge-patch+json")
            .body(json!({"title": "Lista ändrad"}).to_string()),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/projects/{}", ids[1]), "board")
        .await
        .expect(204);
    check(4).await;
    let first = &pages(&app, lists[0]).await[0]["items"];
    assert_eq!(first[0]["title"], "Lista ändrad");
    assert_ne!(first[1]["id"], json!(ids[1]), "the deleted project is gone");

    // Refused as the pool refuses: no token, a forged cursor, a bad filter.
    app.send(app.request(Method::GET, lists[0], None))
        .await
        .expect(401);
    for bad in [
        "/v1/projects?limit=2&cursor=bm8.AAAA",
        "/v1/projects?updated_since=2000-01-01T00:00:00Z&cursor=bm8.AAAA",
        "/v1/projects?status=nonsense",
        "/v1/projects?limit=0",
    ] {
        let (r, p) = (
            app.get(bad, "reader").await,
            pool_only.get(bad, "reader").await,
        );
        crate::helpers::assert_problem(&r, p.status.as_u16());
        for field in ["status", "title", "detail", "errors"] {
            assert_eq!(r.body[field], p.body[field], "{bad}: {field}");
        }
    }
    pool_only.handle.stop(true).await;
}
