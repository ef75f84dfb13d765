//! Beyond one process: two servers on one PostgreSQL database behave as one service; three
//! starting at once against an empty database migrate it once; `kill -9` under write load on
//! SQLite loses no acknowledged write and leaves an intact database.

use std::{
    process::Child,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    cli::serve,
    helpers::{token, Backend, TestApp, TestDb, SECRET},
};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, database_url: &str) -> Server {
    let (child, base) = serve(
        dir,
        &[
            ("DATABASE_URL", database_url),
            ("JWT_SECRET", SECRET),
            ("RUST_LOG", "warn,intl_api=info"),
        ],
    );
    Server { child, base }
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    url: String,
    role: &str,
    body: Option<Value>,
    headers: &[(&str, String)],
) -> crate::helpers::Resp {
    let mut b = app.client.request(method, url).bearer_auth(token(role));
    if let Some(body) = body {
        b = b
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
    }
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    app.send(b).await
}

async fn feed(app: &TestApp, base: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut url = format!("{base}/v1/changes?limit=1000");
    loop {
        let r = call(app, reqwest::Method::GET, url.clone(), "reader", None, &[]).await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap().clone();
        let done = items.len() < 1000;
        events.extend(items);
        if done {
            return events;
        }
        url = format!(
            "{base}/v1/changes?limit=1000&after={}",
            r.body["next_cursor"].as_str().unwrap()
        );
    }
}

/// Two servers on one PostgreSQL database: conditional writes through both lose nothing, an
/// idempotency key used on one is honoured on the other, and the feed is the same through either.
pub async fn two_instances_behave_as_one(app: TestApp) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<Server> = dirs.iter().map(|d| start(d.path(), &app.db.url)).collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    // One record, eight clients, alternating instances, read-modify-write with If-Match.
    let r = app
        .send(
            app.client
                .post(format!("{}/v1/projects", bases[0]))
                .bearer_auth(token("officer"))
                .json(&json!({"title": "Delad", "status": "pipeline", "region_role": "partner", "description": ""})),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for c in 0..8usize {
        let (app_client, bases, id) = (app.client.clone(), bases.clone(), id.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..6 {
                let mark = format!("[{c}.{n}]");
                loop {
                    let base = &bases[(c + n) % 2];
                    let url = format!("{base}/v1/projects/{id}");
                    let cur = app_client
                        .get(&url)
                        .bearer_auth(token("reader"))
                        .send()
                        .await
                        .unwrap();
                    let etag = cur.headers()["etag"].to_str().unwrap().to_string();
                    let body: Value = cur.json().await.unwrap();
                    let desc = format!("{}{mark}", body["description"].as_str().unwrap_or(""));
                    let other = &bases[(c + n + 1) % 2];
                    let res = app_client
                        .patch(format!("{other}/v1/projects/{id}"))
                        .bearer_auth(token("officer"))
                        .header("if-match", etag)
                        .header("content-type", "application/merge-patch+json")
                        .body(json!({"description": desc}).to_string())
                        .send()
                        .await
                        .unwrap();
                    match res.status().as_u16() {
                        200 => {
                            acked.push(mark);
                            break;
                        }
                        412 => continue,
                        s => panic!("unexpected {s}"),
                    }
                }
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let r = app
        .send(
            app.client
                .get(format!("{}/v1/projects/{id}", bases[1]))
                .bearer_auth(token("reader")),
        )
        .await;
    let desc = r.body["description"].as_str().unwrap().to_string();
    assert_eq!(acked.len(), 48);
    for m in &acked {
        assert!(desc.contains(m.as_str()), "lost {m}");
    }
    assert_eq!(r.body["version"], 1 + acked.len() as i64);

    // An idempotency key used on one instance is honoured on the other.
    let post = |base: &str| {
        app.client
            .post(format!("{base}/v1/organisations"))
            .bearer_auth(token("officer"))
            .header("idempotency-key", "replica-key-1")
            .json(&json!({"name": "Replikerad", "kind": "network"}))
    };
    let first = app.send(post(&bases[0])).await;
    first.expect(201);
    let again = app.send(post(&bases[1])).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);

    // The feed is the same and complete through either instance.
    let a = feed(&app, &bases[0]).await;
    let b = feed(&app, &bases[1]).await;
    assert_eq!(a, b);
    let updates = a
        .iter()
        .filter(|e| e["resource_id"] == id.as_str() && e["op"] == "updated")
        .count();
    assert_eq!(updates, acked.len());
    let seqs: Vec<i64> = a.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let orgs = a
        .iter()
        .filter(|e| e["resource_id"] == first.body["id"])
        .count();
    assert_eq!(orgs, 1, "the replayed create wrote nothing");
}

/// Three servers started at the same moment against an empty database: all come up, the
/// migrations ran once and the shipped data was loaded once.
pub async fn three_instances_migrate_an_empty_database_once(app: TestApp) {
    let empty = TestDb::new(Backend::Postgres);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let url = empty.url.clone();
    let handles: Vec<_> = dirs
        .iter()
        .map(|d| {
            let (p, url) = (d.path().to_path_buf(), url.clone());
            std::thread::spawn(move || start(&p, &url))
        })
        .collect();
    let servers: Vec<Server> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for s in &servers {
        let r = app.send(app.client.get(format!("{}/readyz", s.base))).await;
        r.expect(200);
    }
    use diesel::prelude::*;
    let mut c = diesel::PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count =
        |c: &mut PgConnection, sql: &str| diesel::sql_query(sql).get_result::<N>(c).unwrap().n;
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) AS n FROM __diesel_schema_migrations"
        ),
        migrations
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) AS n FROM documents WHERE kind = 'policy'"
        ),
        1
    );
    // The policy's adoption, and the same decision under each of its four memberships.
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM decisions"), 5);
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) AS n FROM app_settings WHERE name = 'cursor_key'"
        ),
        1
    );
    // Every instance signs cursors with the one key: a cursor from one works on another.
    let r = app
        .send(
            app.client
                .get(format!("{}/v1/goals?limit=1", servers[0].base))
                .bearer_auth(token("reader")),
        )
        .await;
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = app
        .send(
            app.client
                .get(format!(
                    "{}/v1/goals?limit=1&cursor={cursor}",
                    servers[2].base
                ))
                .bearer_auth(token("reader")),
        )
        .await;
    r.expect(200);
    drop(servers);
    drop(c);
}

/// `kill -9` under write load on SQLite: every acknowledged write is there after a restart and
/// `PRAGMA integrity_check` passes.
pub async fn kill_9_under_write_load_loses_nothing_acknowledged(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite3");
    let db_url = db.to_string_lossy().into_owned();
    let server = start(dir.path(), &db_url);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (client, base, stop) = (app.client.clone(), server.base.clone(), stop.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let r = client
                    .post(format!("{base}/v1/organisations"))
                    .bearer_auth(token("officer"))
                    .json(&json!({"name": format!("Org {w}-{n}"), "kind": "network"}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.push(v["id"].as_str().unwrap().to_string());
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.child.id();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    drop(server);
    assert!(
        acked.len() > 20,
        "only {} writes before the kill",
        acked.len()
    );
    // The database is intact, then every acknowledged write is served after a restart.
    {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let mut c = diesel::SqliteConnection::establish(&db_url).unwrap();
        let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut c)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].integrity_check, "ok");
    }
    let again = start(dir.path(), &db_url);
    for id in &acked {
        let r = app
            .send(
                app.client
                    .get(format!("{}/v1/organisations/{id}", again.base))
                    .bearer_auth(token("reader")),
            )
            .await;
        r.expect(200);
    }
}
