//! A PostgreSQL cluster of the test's own (initdb on a spare port under a temporary folder): the
//! service under write load, the cluster stopped, 503s with `Retry-After`, `/readyz` failing and
//! `/healthz` up; the cluster started again, the service recovering without a restart, and every
//! write acknowledged before the outage still there.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    cli::serve,
    helpers::{token, TestApp, SECRET},
};

fn pg_bin(name: &str) -> PathBuf {
    let dirs = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL server binaries");
    let mut versions: Vec<PathBuf> = dirs.map(|d| d.unwrap().path()).collect();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name)
}

/// Runs a PostgreSQL tool as the `postgres` user when the test runs as root (initdb refuses root).
fn pg(tool: &str, args: &[&str]) -> std::process::Output {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let bin = pg_bin(tool);
    let out = if is_root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&bin)
            .args(args)
            .output()
    } else {
        Command::new(&bin).args(args).output()
    }
    .expect("PostgreSQL tool runs");
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Cluster {
    data: String,
    port: u16,
    log: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.path().join("data").to_string_lossy().into_owned();
        let log = dir.path().join("pg.log").to_string_lossy().into_owned();
        pg(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster {
            data,
            port,
            log,
            _dir: dir,
        };
        c.start();
        c
    }

    fn start(&self) {
        let socket_dir = Path::new(&self.data)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {socket_dir}",
            self.port
        );
        pg(
            "pg_ctl",
            &[
                "-D", &self.data, "-l", &self.log, "-o", &opts, "-w", "start",
            ],
        );
    }

    /// Stops at once, as a crash would (no shutdown checkpoint; recovery replays the WAL).
    fn stop(&self) {
        pg(
            "pg_ctl",
            &["-D", &self.data, "-m", "immediate", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .args(["-D", &self.data, "-m", "immediate", "stop"])
            .output();
    }
}

pub async fn own_cluster_outage_under_load(app: TestApp) {
    let cluster = Cluster::new();
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve(
        dir.path(),
        &[
            ("DATABASE_URL", &cluster.url()),
            ("JWT_SECRET", SECRET),
            ("DB_POOL_SIZE", "4"),
            ("RUST_LOG", "warn,intl_api=info"),
        ],
    );
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(child);

    // Writers that keep going through the outage, recording what was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, stop) = (app.client.clone(), base.clone(), stop.clone());
        writers.push(actix_web::rt::spawn(async move {
            let (mut acked, mut unavailable) = (Vec::new(), 0);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let r = client
                    .post(format!("{base}/v1/organisations"))
                    .bearer_auth(token("officer"))
                    .json(&json!({"name": format!("Org {w}-{n}"), "kind": "network"}))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.push(v["id"].as_str().unwrap().to_string());
                    }
                    503 => {
                        assert!(r.headers().contains_key("retry-after"));
                        let v: Value = r.json().await.unwrap();
                        assert_eq!(v["status"], 503);
                        unavailable += 1;
                        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                    }
                    s => panic!("unexpected {s}"),
                }
            }
            (acked, unavailable)
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    cluster.stop();
    // Down: requests get 503 problems, readiness fails, liveness stays.
    let mut saw_503 = false;
    for _ in 0..100 {
        let r = app
            .send(
                app.client
                    .get(format!("{base}/v1/organisations?limit=1"))
                    .bearer_auth(token("reader")),
            )
            .await;
        if r.status == 503 {
            assert!(r.header("retry-after").is_some());
            assert_eq!(r.body["status"], 503);
            saw_503 = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_503, "no 503 while the database was down");
    let r = app.send(app.client.get(format!("{base}/readyz"))).await;
    assert_eq!(r.status, 503);
    let r = app.send(app.client.get(format!("{base}/healthz"))).await;
    r.expect(200);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    // Up again: the same process recovers by itself.
    cluster.start();
    let mut ready = false;
    for _ in 0..150 {
        if app
            .send(app.client.get(format!("{base}/readyz")))
            .await
            .status
            == 200
        {
            ready = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the service did not recover without a restart");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut acked, mut unavailable) = (Vec::new(), 0);
    for w in writers {
        let (a, u) = w.await.unwrap();
        acked.extend(a);
        unavailable += u;
    }
    assert!(unavailable > 0, "the writers never met the outage");
    assert!(acked.len() > 10);
    for id in &acked {
        let r = app
            .send(
                app.client
                    .get(format!("{base}/v1/organisations/{id}"))
                    .bearer_auth(token("reader")),
            )
            .await;
        r.expect(200);
    }
}
