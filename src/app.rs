//! Wiring: routes, middleware, health endpoints, and the server itself.

use std::{net::TcpListener, sync::Arc};

use actix_web::{
    body::BoxBody,
    dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse},
    get,
    http::header,
    middleware::from_fn,
    web, App, HttpRequest, HttpResponse, HttpServer,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::{scope, service_config::ServiceConfig, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    activities, audit,
    auth::Verifier,
    config::Settings,
    db::{self, Pool},
    decisions, documents,
    error::{ApiError, ApiResult},
    evaluations, feed, goals,
    http::{self as h, MAX_BODY_BYTES},
    memberships, official_contacts, openapi, organisations,
    pagination::CursorKey,
    positions, programmes, projects, reports,
    responses::*,
    seed,
    state::AppState,
};

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the process is up (the database is not checked).
#[utoipa::path(
    tag = "health",
    security(()),
    responses((status = 200, description = "Alive", body = Health), (status = 400, response = BadRequest))
)]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 400, response = BadRequest),
        (status = 503, response = Unavailable),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    db::read(&state.pool, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1").map_err(|e| {
            log::warn!("readiness check failed: {e}");
            ApiError::Unavailable("the database cannot be reached".into())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
    }))
}

/// The routes, and the OpenAPI document they describe. Both come from the same registrations,
/// so the spec cannot drift from what is served.
pub fn routes_and_spec() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<BoxBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    use utoipa::OpenApi;
    let (app, spec) = App::new()
        .into_utoipa_app()
        .openapi(openapi::BaseDoc::openapi())
        .service(
            scope("/v1")
                .configure(resources)
                .service(feed::routes::list_changes)
                .service(audit::routes::list_audit_events)
                .service(decisions::routes::list_decisions)
                .service(reports::goal_fulfilment::goal_fulfilment)
                .service(reports::membership_reviews::membership_reviews)
                .service(reports::portfolio::project_portfolio)
                .service(reports::representatives::representatives),
        )
        .service(healthz)
        .service(readyz)
        .service(crate::metrics::metrics)
        .split_for_parts();
    (app, openapi::finish(spec))
}

/// A resource's `routes::routes`: its handlers, registered in the order the router tries them.
type Routes = fn(&mut ServiceConfig);

/// Every resource with a collection: its path under `/v1` and its routes (`routes::routes`).
/// A scope per resource: the router compares a request with a scope's static prefix before it
/// tries that resource's patterns (a regex each); one flat list ran ~17 regexes to reach a
/// project (callgrind: 17 % of a cached GET).
const RESOURCES: &[(&str, Routes)] = &[
    ("/documents", documents::routes::routes),
    ("/goals", goals::routes::routes),
    ("/organisations", organisations::routes::routes),
    ("/programmes", programmes::routes::routes),
    ("/official-contacts", official_contacts::routes::routes),
    ("/positions", positions::routes::routes),
    ("/activities", activities::routes::routes),
    ("/projects", projects::routes::routes),
    ("/memberships", memberships::routes::routes),
    ("/evaluations", evaluations::routes::routes),
];

fn resources(cfg: &mut ServiceConfig) {
    for (path, routes) in RESOURCES {
        cfg.service(scope(*path).configure(routes));
    }
}

/// Path templates and their methods, from the spec: tells 405 from 404.
struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segs = path.split('/').map(str::to_string).collect();
                let mut methods = Vec::new();
                for (m, op) in [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ] {
                    if op.is_some() {
                        methods.push(m);
                    }
                }
                (segs, methods)
            })
            .collect();
        RouteTable(routes)
    }

    fn methods_for(&self, path: &str) -> Option<&[&'static str]> {
        let segs: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(tpl, methods)| {
            let matches = tpl.len() == segs.len()
                && tpl
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            matches.then_some(methods.as_slice())
        })
    }
}

async fn fallback(req: HttpRequest, table: web::Data<RouteTable>) -> ApiResult<HttpResponse> {
    match table.methods_for(req.path()) {
        Some(methods) => {
            let allow = methods.join(", ");
            let mut res = ApiError::MethodNotAllowed(format!(
                "{} is not allowed on {}; allowed: {allow}",
                req.method(),
                req.path()
            ))
            .response(Some(req.path().to_string()), h::request_id(&req));
            res.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_str(&allow).unwrap(),
            );
            Ok(res)
        }
        None => Err(ApiError::NotFound(format!("no route for {}", req.path()))),
    }
}

pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Prepares the database (migrations, shipped data), then binds the server (port 0 works).
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let verifier = Arc::new(Verifier::new(&settings.jwt)?);
        let pool = db::build_pool_with(
            &settings.database_url,
            settings.pool_size,
            settings.sqlite_synchronous,
        );
        db::start_checkpointer(&pool, &settings.database_url);
        let cursor_key = {
            let pool = pool.clone();
            web::block(move || prepare_database(&pool))
                .await
                .map_err(|e| e.to_string())??
        };
        // The document is served from one shared copy: each worker holding its own (and
        // Swagger UI another) cost about 5 MB of memory per worker.
        let spec = web::Bytes::from(
            serde_json::to_vec(&openapi::spec_value()).map_err(|e| format!("the spec: {e}"))?,
        );
        let table = web::Data::new(RouteTable::from_spec(&openapi::spec()));
        let state = web::Data::new(AppState {
            pool,
            cursor_key,
            renders: crate::cache::Renders::new(settings.render_cache_bytes),
            metrics: Default::default(),
            reader: db::VersionReader::new(&db::connection_url(&settings.database_url)),
        });
        let verifier = web::Data::new(verifier);
        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        let server = HttpServer::new(move || {
            let (app, _) = routes_and_spec();
            app.app_data(state.clone())
                .app_data(verifier.clone())
                .app_data(table.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .config(utoipa_swagger_ui::Config::from("/openapi.json")),
                )
                .route("/openapi.json", {
                    let spec = spec.clone();
                    web::get().to(move || {
                        let spec = spec.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type(header::ContentType::json())
                                .body(spec)
                        }
                    })
                })
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header((header::LOCATION, "/docs/"))
                            .finish()
                    }),
                )
                .default_service(web::to(fallback))
                .wrap(from_fn(crate::idempotency::middleware))
                .wrap(from_fn(h::middleware))
                .wrap(from_fn(crate::metrics::middleware))
        })
        .workers(workers)
        // SIGTERM: stop accepting, let in-flight requests finish (up to 30 s).
        .shutdown_timeout(30)
        .listen(listener)
        .map_err(|e| e.to_string())?
        .run();
        Ok(Application { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A handle to stop the server (graceful when `true`).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Migrates, loads the shipped data once, and returns the key that signs list cursors.
pub fn prepare_database(pool: &Pool) -> Result<CursorKey, String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot reach the database: {e}"))?;
    db::migrate(&mut conn)?;
    seed::load_shipped(&mut conn).map_err(|e| format!("loading the shipped data failed: {e}"))?;
    let key = db::setting_or_insert(&mut conn, "cursor_key", || {
        let k: [u8; 32] = crate::model::secret_bytes();
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, k)
    })
    .map_err(|e| format!("cursor key: {e}"))?;
    Ok(CursorKey(key.into_bytes()))
}
