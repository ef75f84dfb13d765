//! Every error class of the conventions, as problem documents.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, TestApp};

pub async fn unknown_routes_and_methods(app: TestApp) {
    app.get("/v1/nothing-here", "reader").await.expect(404);
    app.send(app.request(Method::GET, "/nope", None))
        .await
        .expect(404);
    let d = app.draft("programme", "Program").await;
    app.get(&format!("/v1/documents/{}x", id(&d)), "reader")
        .await
        .expect(404);
    let r = app
        .send(app.request(Method::PUT, "/v1/documents", Some("board")))
        .await;
    r.expect(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST"));
    let r = app
        .send(app.request(
            Method::POST,
            &format!("/v1/documents/{}", id(&d)),
            Some("board"),
        ))
        .await;
    r.expect(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, PATCH, DELETE"));
}

pub async fn body_errors(app: TestApp) {
    let before = app.snapshot();
    // Malformed JSON.
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .header("content-type", "application/json")
                .body("{\"kind\": "),
        )
        .await;
    r.expect(400);
    // Invalid UTF-8.
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .header("content-type", "application/json")
                .body(vec![b'{', 0xff, b'}']),
        )
        .await;
    r.expect(400);
    // Wrong content type, and none.
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    r.expect(415);
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .body("{}"),
        )
        .await;
    r.expect(415);
    // Merge-patch content type only where a merge patch is taken.
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"kind":"programme","title":"x"}"#),
        )
        .await;
    r.expect(415);
    // Over 1 MiB.
    let big =
        json!({"kind": "programme", "title": "x", "description": "a".repeat(1024 * 1024 + 10)});
    let r = app.post("/v1/documents", "officer", big).await;
    r.expect(413);
    // Not an object, wrong types, unknown fields, unknown enum values.
    app.post("/v1/documents", "officer", json!([1, 2]))
        .await
        .expect(422);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": 5}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["title"]);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "manifesto", "title": "x"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "x", "colour": "red"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["colour"]);
    let r = app
        .post("/v1/documents", "officer", json!({"kind": "programme"}))
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["title"]);
    // Bad query parameters and cursors.
    let r = app.get("/v1/documents?limit=0", "reader").await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["limit"]);
    app.get("/v1/documents?limit=501", "reader")
        .await
        .expect(422);
    app.get("/v1/documents?kind=manifesto", "reader")
        .await
        .expect(422);
    app.get("/v1/documents?updated_since=yesterday", "reader")
        .await
        .expect(422);
    app.get("/v1/documents?cursor=forged.cursor", "reader")
        .await
        .expect(400);
    assert_eq!(
        app.snapshot(),
        before,
        "failed requests changed the database"
    );
}

pub async fn request_ids_are_the_services_own_and_the_clients_is_kept(app: TestApp) {
    // Each request gets a random (version 4) UUID of its own, whatever the client sends.
    let mut generated = std::collections::HashSet::new();
    for i in 0..20 {
        let mut b = app.request(Method::GET, "/v1/documents", Some("reader"));
        if i % 2 == 0 {
            b = b.header("x-request-id", "abc-123");
        }
        let r = app.send(b).await;
        let id = r.header("x-request-id").expect("a generated x-request-id");
        let uuid = uuid::Uuid::parse_str(&id).expect("the generated id is a UUID");
        assert_eq!(uuid.get_version_num(), 4, "{id}");
        assert!(generated.insert(id), "a request id was given twice");
    }
    // A problem carries the service's id, the one in the header and the log.
    let r = app
        .send(
            app.request(Method::GET, "/v1/documents/x", Some("reader"))
                .header("x-request-id", "trace-1"),
        )
        .await;
    r.expect(404);
    assert_eq!(
        r.body["request_id"].as_str(),
        r.header("x-request-id").as_deref()
    );
    assert_ne!(r.body["request_id"], "trace-1");
    assert_eq!(r.body["instance"], "/v1/documents/x");
    // The audit trail keeps both: the service's id and the client's correlation hint.
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", Some("officer"))
                .header("x-request-id", "trace-2")
                .json(&json!({"kind": "programme", "title": "Spårbar"})),
        )
        .await;
    r.expect(201);
    let ev = app
        .get(
            &format!("/v1/audit-events?resource_id={}", id(&r.body)),
            "board",
        )
        .await;
    ev.expect(200);
    assert_eq!(
        ev.body["items"][0]["request_id"].as_str(),
        r.header("x-request-id").as_deref()
    );
    assert_eq!(ev.body["items"][0]["correlation_id"], "trace-2");
}

pub async fn health_and_docs(app: TestApp) {
    let r = app.send(app.request(Method::GET, "/healthz", None)).await;
    assert_eq!(r.status, 200);
    let r = app.send(app.request(Method::GET, "/readyz", None)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ready");
    let r = app.send(app.request(Method::GET, "/docs/", None)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.to_lowercase().contains("swagger"),
        "{}",
        &r.text[..r.text.len().min(200)]
    );
    let r = app.send(app.request(Method::GET, "/docs", None)).await;
    assert!(r.status.is_redirection());
}

/// PostgreSQL behind a proxy the test controls: cut it, and the service answers 503 with
/// Retry-After (readiness fails, liveness holds); restore it, and the service recovers by itself.
pub async fn database_outage_gives_503_and_recovers(app: TestApp) {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };
    let admin = std::env::var("TEST_DATABASE_URL").unwrap();
    let db_name = app.db.name().to_string();
    let upstream = upstream_addr(&admin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let up = Arc::new(AtomicBool::new(true));
    let conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Default::default();
    {
        let (up, conns) = (up.clone(), conns.clone());
        actix_web::rt::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                conns.lock().unwrap().push(h.abort_handle());
            }
        });
    }
    let url = app
        .db
        .url
        .replacen(&upstream_addr(&admin), &format!("127.0.0.1:{port}"), 1);
    assert!(url.contains(&db_name));
    let proxied = crate::helpers::spawn(app.db.clone(), &[("DATABASE_URL", &url)]).await;
    let d = proxied.draft("programme", "Före avbrottet").await;
    proxied
        .get(&format!("/v1/documents/{}", id(&d)), "reader")
        .await
        .expect(200);

    up.store(false, Ordering::SeqCst);
    for h in conns.lock().unwrap().drain(..) {
        h.abort();
    }
    let r = proxied.get("/v1/documents", "reader").await;
    r.expect(503);
    assert!(r.header("retry-after").is_some());
    let r = proxied
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "programme", "title": "Under avbrottet"}),
        )
        .await;
    r.expect(503);
    let r = proxied
        .send(proxied.request(Method::GET, "/readyz", None))
        .await;
    assert_eq!(r.status, 503);
    let r = proxied
        .send(proxied.request(Method::GET, "/healthz", None))
        .await;
    assert_eq!(r.status, 200);
    // Metrics stay scrapeable and count the failures.
    let errors = proxied.metric("intl_db_errors_total").await;
    assert!(errors >= 2.0, "{errors} database failures counted");

    up.store(true, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..50 {
        let r = proxied
            .send(proxied.request(Method::GET, "/readyz", None))
            .await;
        if r.status == 200 {
            recovered = true;
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "the service did not recover after the database came back"
    );
    let r = proxied
        .get(&format!("/v1/documents/{}", id(&d)), "reader")
        .await;
    r.expect(200);
    assert_eq!(r.body["title"], "Före avbrottet");
    proxied.handle.stop(true).await;
}

fn upstream_addr(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let hostport = rest.split('/').next().unwrap();
    let hostport = hostport.rsplit('@').next().unwrap();
    if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:5432")
    }
}

/// `/metrics`: Prometheus text with requests by route template and status, latency
/// histograms, the pool, database errors and the change feed's head; no token needed.
pub async fn metrics_in_prometheus_format(app: TestApp) {
    let project = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Mätbar", "status": "pipeline", "region_role": "partner"}),
        )
        .await;
    project.expect(201);
    let pid = id(&project.body);
    app.get(&format!("/v1/projects/{pid}"), "reader")
        .await
        .expect(200);
    app.get("/v1/projects/nope", "reader").await.expect(404);
    app.get("/v1/no-such-thing", "reader").await.expect(404);
    let r = app.send(app.request(Method::GET, "/metrics", None)).await;
    r.expect(200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = &r.text;
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
    };
    // Route templates, never raw ids.
    assert_eq!(
        value(
            "intl_http_requests_total{method=\"GET\",route=\"/v1/projects/{id}\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            "intl_http_requests_total{method=\"GET\",route=\"/v1/projects/{id}\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        value("intl_http_requests_total{method=\"POST\",route=\"/v1/projects\",status=\"201\"}"),
        1.0
    );
    assert!(
        value("intl_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}") >= 1.0
    );
    assert!(!text.contains(&pid), "no raw ids in series");
    assert_eq!(
        value("intl_http_request_duration_seconds_count{route=\"/v1/projects/{id}\"}"),
        2.0
    );
    assert_eq!(
        value("intl_http_request_duration_seconds_bucket{route=\"/v1/projects/{id}\",le=\"+Inf\"}"),
        2.0
    );
    assert!(value("intl_db_pool_connections{state=\"idle\"}") >= 0.0);
    assert_eq!(value("intl_db_pool_max"), 4.0);
    assert!(value("intl_db_pool_waiting") >= 0.0);
    assert!(value("intl_db_errors_total") >= 0.0);
    assert!(value("intl_change_feed_head_seq") >= 1.0);
    assert!(value("intl_change_feed_head_age_seconds") >= 0.0);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, v) = line.rsplit_once(' ').expect("series and value");
        assert!(v.parse::<f64>().is_ok(), "{line}");
        assert!(series.starts_with("intl_"), "{line}");
    }
}

/// Every label of the request series takes its values from a bounded set: invented methods,
/// unknown paths and odd statuses fold into one value each, so no client can grow `/metrics`.
pub async fn metrics_labels_stay_bounded(app: TestApp) {
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("intl_http_request"))
            .count()
    };
    let noise = |round: usize| {
        let app = &app;
        async move {
            for i in 0..60 {
                let tag = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
                let method =
                    Method::from_bytes(format!("X{}{round}", &tag[..8]).as_bytes()).unwrap();
                let path = match i % 3 {
                    0 => format!("/v1/projects/{tag}"),
                    1 => format!("/{tag}/{i}"),
                    _ => "/v1/projects".to_string(),
                };
                let r = app.send(app.request(method, &path, Some("reader"))).await;
                assert!(r.status.is_client_error(), "{}", r.text);
                let r = app.get(&format!("/v1/{tag}?x={i}"), "reader").await;
                r.expect(404);
            }
        }
    };
    // A first round, and a scrape, make every series this test can make.
    noise(0).await;
    app.send(app.request(Method::GET, "/metrics", None)).await;
    noise(1).await;
    let first = app.send(app.request(Method::GET, "/metrics", None)).await;
    noise(2).await;
    let second = app.send(app.request(Method::GET, "/metrics", None)).await;
    assert_eq!(series(&second.text), series(&first.text), "{}", second.text);
    assert!(second.text.contains(r#"method="other""#), "{}", second.text);
}

/// `nosniff` on every response, `no-store` on the API's, and a content security policy on
/// Swagger UI that allows what its page loads: its own scripts, no inline ones.
pub async fn security_headers(app: TestApp) {
    for r in [
        app.get("/v1/documents", "reader").await,
        app.send(app.request(Method::GET, "/v1/documents", None))
            .await,
        app.get("/v1/reports/project-portfolio", "reader").await,
    ] {
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            r.text
        );
    }
    let r = app.send(app.request(Method::GET, "/healthz", None)).await;
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let page = app.send(app.request(Method::GET, "/docs/", None)).await;
    assert_eq!(page.status, 200);
    let csp = page
        .header("content-security-policy")
        .expect("a CSP on /docs/");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    // Every script the page runs is a file of its own origin, which script-src 'self' allows.
    let scripts: Vec<&str> = page.text.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for s in scripts {
        let tag = &s[..s.find('>').unwrap()];
        let src = tag
            .split("src=\"")
            .nth(1)
            .expect("no inline script")
            .split('"')
            .next()
            .unwrap();
        assert!(!src.contains("://") && !src.starts_with("//"), "{src}");
        let js = app
            .send(app.request(
                Method::GET,
                &format!("/docs/{}", src.trim_start_matches("./")),
                None,
            ))
            .await;
        assert_eq!(js.status, 200, "{src}");
        assert!(js.header("content-security-policy").is_some());
    }
}
