//! `/metrics` in the Prometheus text format (version 0.0.4): requests by route template, method
//! and status; a latency histogram per route template; the database pool (in use, idle,
//! waiting); database errors; the change feed's head (its newest `seq` and that event's age,
//! from which a consumer's lag is its distance to the head). Counters live in memory per
//! instance; Prometheus sums the replicas.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{atomic::Ordering, Mutex},
    time::Instant,
};

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    get,
    middleware::Next,
    web, HttpResponse,
};

use crate::{db, error::ApiResult, state::AppState};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Series {
    /// (method, route, status) -> requests; every label from a bounded set (see `labels`).
    requests: BTreeMap<(&'static str, String, &'static str), u64>,
    /// route -> latency
    latency: BTreeMap<String, Histogram>,
    /// Requests that failed on the database: 503 (unreachable, pool exhausted) or 500.
    db_errors: u64,
}

/// One instance's metrics (kept in `AppState`).
#[derive(Default)]
pub struct Registry(Mutex<Series>);

/// Methods counted under their own name; any other is counted as `other`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The method label: one of `METHODS`, or `other`.
fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// The status label: the code for those the service answers with, else its class (`4xx`).
fn status_label(status: u16) -> &'static str {
    const KNOWN: [&str; 21] = [
        "200", "201", "204", "207", "304", "308", "400", "401", "403", "404", "405", "406", "409",
        "410", "412", "413", "415", "422", "429", "500", "503",
    ];
    let code = status.to_string();
    if let Some(known) = KNOWN.iter().find(|k| **k == code) {
        return known;
    }
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Counts the request under its method (a known one or `other`), its route template
/// (`/v1/projects/{id}`, never its raw path; `unmatched` for every path no route takes) and its
/// status (a known code or its class), so no request can add series without bound.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method().as_str());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(state) = state else {
        return Ok(res);
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let elapsed = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    let status_label = status_label(status);
    // 503 is the database unreachable or the pool exhausted; a 500 is logged with its cause.
    let db_error = status == 503 || status == 500;
    if let Ok(mut r) = state.metrics.0.lock() {
        r.db_errors += u64::from(db_error);
        *r.requests
            .entry((method, route.clone(), status_label))
            .or_default() += 1;
        let h = r.latency.entry(route).or_default();
        h.count += 1;
        h.sum += elapsed;
        for (i, b) in BUCKETS.iter().enumerate() {
            if elapsed <= *b {
                h.counts[i] += 1;
            }
        }
    }
    Ok(res)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_bounded_sets() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("get"), "other");
        assert_eq!(method_label("FROBNICATE"), "other");
        assert_eq!(status_label(201), "201");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(503), "503");
        assert_eq!(status_label(502), "5xx");
        assert_eq!(status_label(999), "5xx");
    }
}

/// The metrics text.
pub fn render(state: &AppState, feed_head: Option<(i64, f64)>) -> String {
    let (pool, renders) = (&state.pool, &state.renders);
    let (pipelined, statements) = state.reader.counts();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP intl_http_requests_total Requests by method, route template and status.\n\
         # TYPE intl_http_requests_total counter"
    );
    let r = state.metrics.0.lock().unwrap_or_else(|e| e.into_inner());
    let db_errors = r.db_errors;
    for ((method, route, status), n) in &r.requests {
        let _ = writeln!(
            out,
            "intl_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
            escape(route)
        );
    }
    let _ = writeln!(
        out,
        "# HELP intl_http_request_duration_seconds Time to answer, by route template.\n\
         # TYPE intl_http_request_duration_seconds histogram"
    );
    for (route, h) in &r.latency {
        let route = escape(route);
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "intl_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "intl_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
             intl_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
             intl_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
            h.count, h.sum, h.count
        );
    }
    drop(r);
    let state = pool.state();
    let _ = writeln!(
        out,
        "# HELP intl_db_pool_connections Database connections by state.\n\
         # TYPE intl_db_pool_connections gauge\n\
         intl_db_pool_connections{{state=\"in_use\"}} {}\n\
         intl_db_pool_connections{{state=\"idle\"}} {}\n\
         # HELP intl_db_pool_max Largest number of database connections this instance opens.\n\
         # TYPE intl_db_pool_max gauge\n\
         intl_db_pool_max {}\n\
         # HELP intl_db_pool_waiting Requests waiting for a database connection.\n\
         # TYPE intl_db_pool_waiting gauge\n\
         intl_db_pool_waiting {}\n\
         # HELP intl_db_pipelined_reads_total Key reads (a GET's version, a list page's keys) sent from the workers on their own PostgreSQL connections instead of through the pool.\n\
         # TYPE intl_db_pipelined_reads_total counter\n\
         intl_db_pipelined_reads_total {}\n\
         # HELP intl_db_pipelined_statements_total Statements that answered those reads: a GET's version lookups made on one worker at the same time go as one statement.\n\
         # TYPE intl_db_pipelined_statements_total counter\n\
         intl_db_pipelined_statements_total {}\n\
         # HELP intl_db_errors_total Requests that failed on the database (503: unreachable or pool exhausted) or unexpectedly (500).\n\
         # TYPE intl_db_errors_total counter\n\
         intl_db_errors_total {}",
        state.connections - state.idle_connections,
        state.idle_connections,
        pool.max_size(),
        db::POOL_WAITING.load(Ordering::Relaxed).max(0),
        pipelined,
        statements,
        db_errors,
    );
    let (hits, misses) = renders.counts();
    let _ = writeln!(
        out,
        "# HELP intl_render_cache_lookups_total Lookups of a record's rendering at its live version (GETs, list pages, and the record a write starts from), by whether it was there.\n\
         # TYPE intl_render_cache_lookups_total counter\n\
         intl_render_cache_lookups_total{{result=\"hit\"}} {hits}\n\
         intl_render_cache_lookups_total{{result=\"miss\"}} {misses}"
    );
    if let Some((commits, writes)) = pool.group_commits() {
        let _ = writeln!(
            out,
            "# HELP intl_db_write_commits_total SQLite: COMMITs of the writers' turns (the writes waiting for a turn commit together).\n\
             # TYPE intl_db_write_commits_total counter\n\
             intl_db_write_commits_total {commits}\n\
             # HELP intl_db_writes_committed_total SQLite: writes answered by those COMMITs.\n\
             # TYPE intl_db_writes_committed_total counter\n\
             intl_db_writes_committed_total {writes}"
        );
    }
    if let Some(checkpoints) = pool.checkpoints() {
        let _ = writeln!(
            out,
            "# HELP intl_db_checkpoints_total SQLite: checkpoints that copied the whole WAL back into the database (none while nothing is written).\n\
             # TYPE intl_db_checkpoints_total counter\n\
             intl_db_checkpoints_total {checkpoints}"
        );
    }
    if let Some((seq, age)) = feed_head {
        let _ = writeln!(
            out,
            "# HELP intl_change_feed_head_seq The newest change event's seq a consumer can read now; its lag is this minus the seq it has read.\n\
             # TYPE intl_change_feed_head_seq gauge\n\
             intl_change_feed_head_seq {seq}\n\
             # HELP intl_change_feed_head_age_seconds Seconds since the newest change event was written.\n\
             # TYPE intl_change_feed_head_age_seconds gauge\n\
             intl_change_feed_head_age_seconds {age}"
        );
    }
    out
}

/// Metrics for Prometheus (no token needed, like the health endpoints).
#[utoipa::path(
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain; version=0.0.4",
            body = String),
        (status = 400, response = crate::responses::BadRequest),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    // The feed's head needs the database; without it the rest is still worth scraping.
    let head = db::query(&state.pool, crate::feed::readable_head)
        .await
        .ok()
        .flatten()
        .map(|(seq, at)| {
            let age = (crate::model::now() - at).num_microseconds().unwrap_or(0) as f64 / 1e6;
            (seq, age.max(0.0))
        });
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render(&state, head)))
}
