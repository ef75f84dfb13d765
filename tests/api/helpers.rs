//! A real server on port 0 with its own fresh database, and an HTTP client for it.

use std::{future::Future, pin::Pin};

use diesel::prelude::*;
use intl_api::{config::Settings, db, Application};
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{header::HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

pub const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";
pub const ISS: &str = "rvn-intl-api";
pub const AUD: &str = "rvn-intl-api";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Row counts of every table and the version of every record.
pub type Snapshot = (Vec<(&'static str, i64)>, Vec<(String, i64)>);

pub type TestFn = fn(TestApp) -> Pin<Box<dyn Future<Output = ()>>>;

/// A fresh database for one test: a SQLite file in a temporary folder, or a new PostgreSQL
/// database created from `TEST_DATABASE_URL` and dropped afterwards.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: dir
                    .path()
                    .join("test.sqlite3")
                    .to_string_lossy()
                    .into_owned(),
                dir,
                admin_url: None,
                name: String::new(),
            },
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL")
                    .expect("TEST_DATABASE_URL for PostgreSQL tests");
                let name = format!("intl_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("cannot reach TEST_DATABASE_URL: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create database");
                TestDb {
                    url: with_database(&admin_url, &name),
                    dir,
                    admin_url: Some(admin_url),
                    name,
                }
            }
        }
    }
}

impl TestDb {
    /// The PostgreSQL database's name (empty on SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(admin_url) = &self.admin_url {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin);
            }
        }
    }
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

pub fn settings_for(db_url: &str, data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db_url.into()),
        ("BIND".into(), "127.0.0.1:0".into()),
        ("JWT_SECRET".into(), SECRET.into()),
        ("DATA_DIR".into(), data_dir.to_string_lossy().into_owned()),
        ("DB_POOL_SIZE".into(), "4".into()),
        ("WORKERS".into(), "2".into()),
    ];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("settings")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: std::rc::Rc<TestDb>,
    pub handle: actix_web::dev::ServerHandle,
}

/// Runs one test on a backend: fresh database, real server, then a graceful stop.
pub fn run(backend: Backend, test: TestFn) -> Result<(), libtest_mimic::Failed> {
    actix_web::rt::System::new().block_on(async move {
        let db = std::rc::Rc::new(TestDb::new(backend));
        let app = spawn(db.clone(), &[]).await;
        let handle = app.handle.clone();
        test(app).await;
        handle.stop(true).await;
    });
    Ok(())
}

/// Starts a server on a database (used again by tests that restart it).
pub async fn spawn(db: std::rc::Rc<TestDb>, extra: &[(&str, &str)]) -> TestApp {
    let settings = settings_for(&db.url, db.dir.path(), extra);
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let port = app.port();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
        handle,
    }
}

/// Signs a token with the test secret; `claims` are merged over valid defaults.
pub fn token_with(claims: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut c =
        json!({"sub": "tester", "roles": ["reader"], "iss": ISS, "aud": AUD, "exp": now + 600});
    for (k, v) in claims.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn token(role: &str) -> String {
    token_with(json!({"sub": format!("{role}-user"), "roles": [role]}))
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("ETag")
    }

    /// Asserts the status and, for errors, the problem shape.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert_problem(self, status);
        }
        self
    }

    /// The `field`s of a 422's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[track_caller]
pub fn assert_problem(r: &Resp, status: u16) {
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct} for {}",
        r.text
    );
    assert_eq!(r.body["status"], status, "{}", r.text);
    for f in ["type", "title", "detail", "instance"] {
        assert!(r.body[f].is_string(), "problem lacks {f}: {}", r.text);
    }
}

impl TestApp {
    pub fn request(
        &self,
        method: Method,
        path: &str,
        role: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut b = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(role) = role {
            b = b.bearer_auth(token(role));
        }
        b
    }

    pub async fn send(&self, b: reqwest::RequestBuilder) -> Resp {
        let res = b.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, role: &str) -> Resp {
        self.send(self.request(Method::GET, path, Some(role))).await
    }

    pub async fn post(&self, path: &str, role: &str, body: Value) -> Resp {
        self.send(self.request(Method::POST, path, Some(role)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, role: &str, body: Value) -> Resp {
        self.send(
            self.request(Method::PATCH, path, Some(role))
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, path: &str, role: &str) -> Resp {
        self.send(self.request(Method::DELETE, path, Some(role)))
            .await
    }

    /// The value of the series `name` (without labels) in this server's `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let r = self.send(self.request(Method::GET, "/metrics", None)).await;
        r.expect(200);
        r.text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{}", r.text))
    }

    /// A new draft document of `kind`, created by an officer.
    /// A draft document. An action plan covers the year its title names, or else a year of
    /// its own (one adopted plan a year is in force); the other kinds say 2027.
    pub async fn draft(&self, kind: &str, title: &str) -> Value {
        static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
        let named = title
            .split(' ')
            .find_map(|w| w.parse::<i32>().ok().filter(|y| (1900..=2200).contains(y)));
        let year = match (kind, named) {
            ("action_plan", Some(y)) => y,
            ("action_plan", None) => {
                1901 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 299
            }
            _ => 2027,
        };
        let r = self
            .post(
                "/v1/documents",
                "officer",
                json!({"kind": kind, "title": title, "year": year}),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }

    /// A document taken through propose and adopt by the body that decides it.
    pub async fn adopted(&self, kind: &str, title: &str) -> Value {
        let d = self.draft(kind, title).await;
        let id = d["id"].as_str().unwrap();
        self.post(&format!("/v1/documents/{id}/propose"), "officer", json!({}))
            .await
            .expect(200);
        let body = if kind == "policy" || kind == "goal_document" {
            "council"
        } else {
            "board"
        };
        let r = self
            .post(
                &format!("/v1/documents/{id}/adopt"),
                body,
                json!({"date": "2026-11-20", "reference": "RS 2026-11-20 § 1"}),
            )
            .await;
        r.expect(200);
        r.body.clone()
    }

    pub async fn goal(
        &self,
        document_id: &str,
        parent: Option<&str>,
        kind: &str,
        title: &str,
    ) -> Value {
        let r = self
            .post(
                "/v1/goals",
                "officer",
                json!({"document_id": document_id, "parent_id": parent, "kind": kind, "title": title}),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }

    /// The shipped 2018 policy.
    pub async fn policy(&self) -> Value {
        let r = self
            .get("/v1/documents?kind=policy&status=adopted", "reader")
            .await;
        r.expect(200);
        r.body["items"][0].clone()
    }

    /// Row counts of every table, to prove a failed request left nothing behind.
    pub fn counts(&self) -> Vec<(&'static str, i64)> {
        use intl_api::db::schema::*;
        let pool = db::build_pool(&self.db.url, 1);
        let mut c = pool.get().expect("db");
        macro_rules! counts {
            ($($t:ident),+) => { vec![$((stringify!($t), $t::table.count().get_result(&mut c).unwrap())),+] };
        }
        counts!(
            documents,
            goals,
            goal_serves,
            organisations,
            programmes,
            official_contacts,
            positions,
            activities,
            projects,
            project_partners,
            memberships,
            report_backs,
            evaluations,
            external_ids,
            resource_links,
            audit_events,
            change_events,
            decisions,
            app_settings
        )
    }

    /// Versions of every record, to prove nothing changed.
    pub fn versions(&self) -> Vec<(String, i64)> {
        use intl_api::db::schema::*;
        let pool = db::build_pool(&self.db.url, 1);
        let mut c = pool.get().expect("db");
        let mut v: Vec<(String, i64)> = Vec::new();
        macro_rules! versions {
            ($($t:ident),+) => { $(v.extend($t::table.select(($t::id, $t::version)).load::<(String, i64)>(&mut c).unwrap());)+ };
        }
        versions!(
            documents,
            goals,
            organisations,
            programmes,
            official_contacts,
            positions,
            activities,
            projects,
            memberships,
            report_backs,
            evaluations
        );
        v.sort();
        v
    }

    pub fn snapshot(&self) -> Snapshot {
        (self.counts(), self.versions())
    }

    /// Audit events for a resource: (action, actor_sub, actor_roles, before, after, request_id).
    #[allow(clippy::type_complexity)]
    pub fn audit(
        &self,
        resource_id: &str,
    ) -> Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    )> {
        use intl_api::db::schema::audit_events::dsl as a;
        let pool = db::build_pool(&self.db.url, 1);
        let mut c = pool.get().expect("db");
        a::audit_events
            .filter(a::resource_id.eq(resource_id))
            .order(a::id.asc())
            .select((
                a::action,
                a::actor_sub,
                a::actor_roles,
                a::before_data,
                a::after_data,
                a::request_id,
            ))
            .load(&mut c)
            .unwrap()
    }

    /// Runs SQL on the test's database directly (to set up what the API cannot write).
    pub fn exec(&self, sql: &str) -> usize {
        let pool = db::build_pool(&self.db.url, 1);
        let mut c = pool.get().expect("db");
        diesel::sql_query(sql).execute(&mut c).expect(sql)
    }

    /// Change events for a resource: (op, version, data).
    pub fn feed(&self, resource_id: &str) -> Vec<(String, i64, Option<String>)> {
        use intl_api::db::schema::change_events::dsl as c;
        let pool = db::build_pool(&self.db.url, 1);
        let mut conn = pool.get().expect("db");
        c::change_events
            .filter(c::resource_id.eq(resource_id))
            .order(c::seq.asc())
            .select((c::op, c::version, c::data))
            .load(&mut conn)
            .unwrap()
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// The test functions of `tests/api/` (`pub async fn name(app: TestApp)` in `module.rs`, as
/// `module::name`) that are not in `registered`.
pub fn unregistered_tests(registered: &[&str]) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/api").flatten() {
        let path = entry.path();
        let Some(module) = path.file_stem().and_then(|m| m.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("pub async fn ") else {
                continue;
            };
            let Some((name, args)) = rest.split_once('(') else {
                continue;
            };
            if args.contains(": TestApp)") {
                let full = format!("{module}::{name}");
                if !registered.contains(&full.as_str()) {
                    missing.push(full);
                }
            }
        }
    }
    missing.sort();
    missing
}
