//! The binary itself: start-up checks, the `token` subcommand with the generated secret, and a
//! graceful stop on SIGTERM that loses no acknowledged write.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::json;

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_intl-api");

/// The binary under test: `INTL_API_BIN` (CI points it at the release build), else this
/// build's own.
pub fn bin() -> String {
    std::env::var("INTL_API_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| BIN.to_string())
}

/// Starts `intl-api serve` on a free port; returns the child and its base URL.
pub fn serve(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> (Child, String) {
    let (child, base, _) = serve_logged(data_dir, extra);
    (child, base)
}

/// The lines the server has written to stderr so far.
pub type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// `serve`, keeping what the server writes to stderr (a pipe: the batched log of
/// `src/logsink.rs`).
pub fn serve_logged(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> (Child, String, Log) {
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("WORKERS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = Log::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(port) = line.split("listening on port ").nth(1) {
                    tx.send(port.trim().to_string()).ok();
                    sent = true;
                }
            }
            assert!(
                !line.contains("JWT_SECRET=") && !line.contains(crate::helpers::SECRET),
                "a secret reached the log"
            );
            kept.lock().unwrap().push(line);
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server reports its port");
    (child, format!("http://127.0.0.1:{port}"), log)
}

/// Waits up to 10 s for a line of `log` holding `needle`.
fn wait_for_line(log: &Log, needle: &str) -> bool {
    for _ in 0..200 {
        if log.lock().unwrap().iter().any(|l| l.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The access log goes to a pipe in batches: a line still comes out while the server is idle
/// after it, and the lines of the last requests before a SIGTERM are written before the exit.
pub async fn access_lines_come_out_when_idle_and_before_exit(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, log) = serve_logged(dir.path(), &[]);
    let t = token(dir.path(), "reader");
    let get = |id: String| {
        app.client
            .get(format!("{base}/v1/projects?limit=1"))
            .bearer_auth(&t)
            .header("x-request-id", id)
    };
    app.send(get("idle-line-0001".into())).await.expect(200);
    // Nothing else is asked: the flusher must write the line on its own.
    assert!(
        wait_for_line(&log, "correlation_id=idle-line-0001"),
        "the access line of a request followed by silence never came out"
    );
    let access = log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("correlation_id=idle-line-0001"))
        .cloned()
        .unwrap();
    assert!(
        access.contains("GET /v1/projects 200 "),
        "one whole line per request: {access}"
    );

    // Many lines at once, then a stop straight away: all are written, whole, in order.
    for i in 0..50 {
        app.send(get(format!("last-lines-{i:04}")))
            .await
            .expect(200);
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(
        wait_for_line(&log, "correlation_id=last-lines-0049"),
        "the last access lines before the stop were lost"
    );
    let lines = log.lock().unwrap();
    let order: Vec<usize> = (0..50)
        .map(|i| {
            let needle = format!("correlation_id=last-lines-{i:04}");
            let found: Vec<usize> = (0..lines.len())
                .filter(|&n| lines[n].contains(&needle))
                .collect();
            assert_eq!(found.len(), 1, "one line for {needle}");
            assert!(
                lines[found[0]].ends_with(&needle),
                "a whole line: {}",
                lines[found[0]]
            );
            found[0]
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "lines out of order");
}

pub fn token(data_dir: &std::path::Path, role: &str) -> String {
    let out = Command::new(bin())
        .args(["token", "--role", role, "--sub", "cli-user", "--ttl", "600"])
        .env_clear()
        .env("DATA_DIR", data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub async fn startup_checks_and_token_subcommand(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    // A short secret, a bad bind address and an unknown algorithm stop the service at start.
    for (k, v, says) in [
        ("JWT_SECRET", "short", "at least 32 bytes"),
        ("BIND", "everywhere", "BIND"),
        ("JWT_ALGORITHM", "none", "JWT_ALGORITHM"),
        ("DB_POOL_SIZE", "-1", "DB_POOL_SIZE"),
    ] {
        let out = Command::new(bin())
            .arg("serve")
            .env_clear()
            .env("DATA_DIR", dir.path())
            .env(k, v)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{k}={v} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{k}: {err}");
        assert!(
            !err.contains(v) || k != "JWT_SECRET",
            "the secret was printed"
        );
    }
    // No secret configured: one is generated (mode 0600) and `token` signs with it.
    let (mut child, base) = serve(dir.path(), &[]);
    let secret = dir.path().join("jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(std::fs::read(&secret).unwrap().len() >= 32);
    let t = token(dir.path(), "reader");
    let r = app
        .send(
            app.client
                .get(format!("{base}/v1/documents"))
                .bearer_auth(&t),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["document_number"], "320944");
    let _ = child.kill();
    let _ = child.wait();
}

pub async fn sigterm_finishes_in_flight_requests(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path(), &[]);
    let t = token(dir.path(), "officer");
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..80u64 {
        let client = app.client.clone();
        let (base, t, answered) = (base.clone(), t.clone(), answered.clone());
        tasks.push(actix_web::rt::spawn(async move {
            actix_web::rt::time::sleep(Duration::from_millis(i * 10)).await;
            let r = client
                .post(format!("{base}/v1/documents"))
                .bearer_auth(&t)
                .json(&json!({"kind": "programme", "title": format!("Program {i}")}))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 201 => {
                    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Some(id)
                }
                _ => None,
            }
        }));
    }
    // Stop while requests are still arriving: once a few have been answered.
    for _ in 0..400 {
        if answered.load(std::sync::atomic::Ordering::SeqCst) >= 5 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut acknowledged = Vec::new();
    for task in tasks {
        if let Some(id) = task.await.unwrap() {
            acknowledged.push(id);
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(
        !acknowledged.is_empty(),
        "no request was answered before the stop"
    );
    // Every acknowledged write is there after a restart.
    let (mut again, base) = serve(dir.path(), &[]);
    let reader = token(dir.path(), "reader");
    for id in &acknowledged {
        let r = app
            .send(
                app.client
                    .get(format!("{base}/v1/documents/{id}"))
                    .bearer_auth(&reader),
            )
            .await;
        r.expect(200);
    }
    let _ = again.kill();
    let _ = again.wait();
}

fn seed_demo(
    data_dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    Command::new(bin())
        .arg("seed-demo")
        .args(args)
        .env_clear()
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn titles(data_dir: &std::path::Path) -> Vec<String> {
    titles_at(&data_dir.join("intl.sqlite3").to_string_lossy())
}

fn titles_at(url: &str) -> Vec<String> {
    use diesel::prelude::*;
    use intl_api::db::schema::{activities, organisations, projects};
    let pool = intl_api::db::build_pool(url, 1);
    let mut c = pool.get().unwrap();
    let mut t: Vec<String> = projects::table
        .select(projects::title)
        .load(&mut c)
        .unwrap();
    t.extend(
        activities::table
            .select(activities::title)
            .load::<String>(&mut c)
            .unwrap(),
    );
    t.extend(
        organisations::table
            .select(organisations::name)
            .load::<String>(&mut c)
            .unwrap(),
    );
    t.sort();
    t
}

pub async fn seed_demo_is_marked_deterministic_and_careful(app: TestApp) {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for dir in [&a, &b] {
        let out = seed_demo(dir.path(), &["--scale", "40", "--seed", "7"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("projects: 40"));
    }
    let ta = titles(a.path());
    assert_eq!(ta, titles(b.path()), "the same seed gives the same data");
    assert!(ta.iter().filter(|t| t.contains("[DEMO]")).count() >= 80);
    let out = seed_demo(c.path(), &["--scale", "40", "--seed", "8"], &[]);
    assert!(out.status.success());
    assert_ne!(ta, titles(c.path()), "another seed gives other data");
    // The same seed again is refused; another seed adds more.
    let out = seed_demo(a.path(), &["--scale", "40", "--seed", "7"], &[]);
    assert!(!out.status.success());
    assert!(seed_demo(a.path(), &["--scale", "5", "--seed", "9"], &[])
        .status
        .success());
    // A database with real records is refused unless forced.
    let (mut child, base) = serve(b.path(), &[]);
    let officer = token(b.path(), "officer");
    let r = app
        .send(
            app.client
                .post(format!("{base}/v1/organisations"))
                .bearer_auth(&officer)
                .json(&json!({"name": "Riktig", "kind": "ngo"})),
        )
        .await;
    r.expect(201);
    let _ = child.kill();
    let _ = child.wait();
    let out = seed_demo(b.path(), &["--scale", "5", "--seed", "10"], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not demo data"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        seed_demo(b.path(), &["--scale", "5", "--seed", "10", "--force"], &[])
            .status
            .success()
    );
}

/// On PostgreSQL `seed-demo` writes batches on several connections at once: the records are
/// still those of the seed (the batches are made in order), every one has its audit and change
/// event, and the feed's sequence has no gap whatever order the batches committed in.
pub async fn seed_demo_on_postgres_writes_batches_side_by_side(app: TestApp) {
    use diesel::prelude::*;
    let seed = |url: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = seed_demo(
            dir.path(),
            &["--scale", "1200", "--seed", "5"],
            &[("DATABASE_URL", url)],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("projects: 1200"));
    };
    // Three batches of projects and of activities: more than one writer has work.
    let other = crate::helpers::TestDb::new(crate::helpers::Backend::Postgres);
    seed(&app.db.url);
    seed(&other.url);
    assert_eq!(
        titles_at(&app.db.url),
        titles_at(&other.url),
        "the same seed gives the same data"
    );
    let mut c = diesel::PgConnection::establish(&app.db.url).unwrap();
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        projects: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        audit: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        changes: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        max_seq: i64,
    }
    let n: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM projects) AS projects, \
                (SELECT count(*) FROM audit_events) AS audit, \
                (SELECT count(*) FROM change_events) AS changes, \
                (SELECT coalesce(max(seq), 0) FROM change_events) AS max_seq",
    )
    .get_result(&mut c)
    .unwrap();
    assert_eq!(n.projects, 1200);
    assert_eq!(n.audit, n.changes, "one change event per audit event");
    assert_eq!(n.changes, n.max_seq, "the feed's sequence has no gap");
}

/// `intl-api healthcheck`, the container health check: 0 while the server is ready, 1 after.
pub async fn healthcheck_subcommand(_app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path(), &[]);
    let port = base.rsplit(':').next().unwrap().to_string();
    let check = |port: &str| {
        Command::new(bin())
            .args(["healthcheck", "--port", port])
            .env_clear()
            .output()
            .unwrap()
    };
    let ok = check(&port);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // BIND names the port when --port is not given.
    let by_bind = Command::new(bin())
        .arg("healthcheck")
        .env_clear()
        .env("BIND", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    assert!(by_bind.status.success());
    let _ = child.kill();
    let _ = child.wait();
    let down = check(&port);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("not ready"));
}

/// `token` is an operator's tool: it obeys JWT_MAX_TTL, and warns on stderr when it signs with
/// a configured secret (whose tokens every instance sharing it accepts).
pub async fn token_subcommand_obeys_max_ttl_and_warns_on_a_configured_secret(_app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)], ttl: &str| {
        let mut cmd = Command::new(bin());
        cmd.args(["token", "--role", "reader", "--ttl", ttl])
            .env_clear()
            .env("DATA_DIR", dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // Generated secret: no warning; 12 hours is the default maximum.
    let out = run(&[], "43200");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    let out = run(&[], "43201");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_MAX_TTL"));
    let out = run(&[("JWT_MAX_TTL", "600")], "601");
    assert!(!out.status.success());
    // Configured secret: signed, with a warning.
    let out = run(&[("JWT_SECRET", crate::helpers::SECRET)], "600");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("JWT_SECRET"),
        "{err}"
    );
    assert!(
        !err.contains(crate::helpers::SECRET),
        "the secret was printed"
    );
}

/// A 500's cause is logged once, on the line that names the request's own id, and the access
/// line carries that id with the client's X-Request-Id beside it.
pub async fn a_500_is_logged_once_with_its_request_id(app: TestApp) {
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, log) = serve_logged(dir.path(), &[("RENDER_CACHE_MB", "0")]);
    let t = token(dir.path(), "officer");
    let r = app
        .send(
            app.client
                .post(format!("{base}/v1/projects"))
                .bearer_auth(&t)
                .json(&json!({"title": "Trasig", "region_role": "partner"})),
        )
        .await;
    r.expect(201);
    let pid = r.body["id"].as_str().unwrap().to_string();
    // A stored value the code does not know: a server fault.
    let mut c =
        diesel::SqliteConnection::establish(&dir.path().join("intl.sqlite3").to_string_lossy())
            .unwrap();
    diesel::sql_query("UPDATE projects SET status = 'bogus'")
        .execute(&mut c)
        .unwrap();
    let r = app
        .send(
            app.client
                .get(format!("{base}/v1/projects/{pid}"))
                .bearer_auth(&t)
                .header("x-request-id", "corr-500"),
        )
        .await;
    r.expect(500);
    let id = r.header("x-request-id").unwrap();
    assert_eq!(r.body["request_id"].as_str(), Some(id.as_str()));
    assert!(wait_for_line(
        &log,
        &format!("request_id={id} correlation_id=corr-500")
    ));
    let lines = log.lock().unwrap().clone();
    let errors: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("internal error"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("request_id={id} ")),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("bogus"), "the cause: {}", errors[0]);
    assert!(
        !lines.iter().any(|l| l.contains("request_id=-")),
        "{lines:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
