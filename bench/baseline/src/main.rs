//! The ceiling: actix-web 4 answering a small JSON object, no database, no auth, no logging.
//! `BIND` (default 127.0.0.1:8090) and `WORKERS` (default: one per core), like the service.
use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "id": "0190f5a2-7c1e-7b33-9a1d-2f4e5c6d7e8f",
        "title": "Bench",
        "status": "ongoing",
        "version": 1
    }))
}

async fn ready() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    HttpServer::new(|| {
        App::new()
            .route("/hello", web::get().to(hello))
            .route("/readyz", web::get().to(ready))
    })
    .workers(workers)
    .bind(bind)?
    .run()
    .await
}
