//! `Idempotency-Key` on every POST (actions included): the first request with a key runs; a
//! repeat with the same key and body gets the first response again (`Idempotent-Replayed:
//! true`); the same key with another body is a 422; a repeat while the first is still running
//! is a 409. Keys are per caller (the verified token's `sub` and roles: a replay goes only to
//! the caller that made the first request), kept 24 hours (then purged), in the database, so
//! they hold across instances. A key is claimed (a row inserted) before the request runs, so
//! two concurrent requests with one key can never both execute. A refusal (401, 403) or a
//! server failure is not kept: a retry runs again.

use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method, StatusCode},
    middleware::Next,
    web, HttpResponse,
};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::{
    auth::Caller,
    db::{self, schema::idempotency_keys as k, DbConnection},
    error::ApiError,
    model::now,
    state::AppState,
};

pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
const TTL_HOURS: i64 = 24;
/// A claim still unanswered after this long belongs to a request that died; it may be retried.
const ABANDONED_SECONDS: i64 = 120;
/// Response headers a replay repeats.
const KEPT_HEADERS: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::LINK,
];

/// A remembered key: request hash, status (none while running), headers, body.
type Stored = (String, Option<i32>, Option<String>, Option<String>);

enum Claim {
    New,
    Replay(u16, Vec<(String, String)>, String),
    InProgress,
    OtherRequest,
}

fn claim(conn: &mut DbConnection, sub: &str, key: &str, hash: &str) -> Result<Claim, ApiError> {
    let t = now();
    let expired = t - chrono::Duration::hours(TTL_HOURS);
    let abandoned = t - chrono::Duration::seconds(ABANDONED_SECONDS);
    // Every caller's expired keys go (an index range on created_at), so storage stays bounded
    // by a day of keys; this caller's abandoned claim of this key goes too.
    diesel::delete(k::table.filter(k::created_at.lt(expired))).execute(conn)?;
    diesel::delete(
        k::table
            .filter(k::caller_sub.eq(sub))
            .filter(k::idem_key.eq(key))
            .filter(k::status.is_null().and(k::created_at.lt(abandoned))),
    )
    .execute(conn)?;
    let existing: Option<Stored> = k::table
        .filter(k::caller_sub.eq(sub))
        .filter(k::idem_key.eq(key))
        .select((
            k::request_hash,
            k::status,
            k::response_headers,
            k::response_body,
        ))
        .first(conn)
        .optional()?;
    Ok(match existing {
        Some((h, _, _, _)) if h != hash => Claim::OtherRequest,
        Some((_, None, _, _)) => Claim::InProgress,
        Some((_, Some(status), headers, body)) => {
            let headers = headers
                .and_then(|h| serde_json::from_str(&h).ok())
                .unwrap_or_default();
            Claim::Replay(status as u16, headers, body.unwrap_or_default())
        }
        None => {
            diesel::insert_into(k::table)
                .values((
                    k::caller_sub.eq(sub),
                    k::idem_key.eq(key),
                    k::request_hash.eq(hash),
                    k::created_at.eq(t),
                ))
                .execute(conn)
                .map_err(|e| match e {
                    // Another request claimed the key between our look and our insert (on
                    // PostgreSQL the insert waits for it to commit): that one runs, this one waits.
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => ApiError::Conflict(
                        "a request with this Idempotency-Key is still being served; retry shortly"
                            .into(),
                    ),
                    e => e.into(),
                })?;
            Claim::New
        }
    })
}

/// Whose keys a request shares: the verified `sub` and roles, one line each (a verified `sub`
/// holds no control characters, so the join is unambiguous).
fn caller_key(caller: &Caller) -> String {
    let mut roles: Vec<&str> = caller.roles.iter().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    format!("{}\n{}", caller.sub, roles.join(","))
}

/// Responses a retry must not get again: refusals, which a later token may not get, and
/// server failures, which a retry may not hit.
fn is_kept(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN)
}

fn key_is_valid(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::POST {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(key) = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().unwrap_or("").to_string())
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let problem = |req: ServiceRequest, e: ApiError| {
        let path = req.path().to_string();
        let id = crate::http::request_id(req.request());
        Ok(req
            .into_response(e.response(Some(path), id))
            .map_into_boxed_body())
    };
    if !key_is_valid(&key) {
        return problem(
            req,
            ApiError::BadRequest("Idempotency-Key must be 1-255 visible ASCII characters".into()),
        );
    }
    // The caller, verified as every handler verifies it. An unauthenticated request goes on
    // to get its 401.
    let sub = crate::auth::authenticate(req.request())
        .ok()
        .map(|c| caller_key(&c));
    let (Some(sub), Some(state)) = (sub, req.app_data::<web::Data<AppState>>().cloned()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let bytes = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(_) => {
            return problem(
                req,
                ApiError::PayloadTooLarge(format!(
                    "the request body exceeds {} bytes",
                    crate::http::MAX_BODY_BYTES
                )),
            )
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(req.path().as_bytes());
    hasher.update([0]);
    hasher.update(req.query_string().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let hash = format!("{:x}", hasher.finalize());
    req.set_payload(actix_http::Payload::from(bytes));

    let (s, kk, h) = (sub.clone(), key.clone(), hash.clone());
    let claimed = match db::write(&state.pool, move |conn| claim(conn, &s, &kk, &h)).await {
        Ok(c) => c,
        Err(e) => return problem(req, e),
    };
    match claimed {
        Claim::OtherRequest => problem(
            req,
            ApiError::validation(
                "Idempotency-Key",
                "this key was used with another request; use a new key for a new request",
            ),
        ),
        Claim::InProgress => problem(
            req,
            ApiError::Conflict(
                "a request with this Idempotency-Key is still being served; retry shortly".into(),
            ),
        ),
        Claim::Replay(status, headers, body) => {
            let mut res =
                HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            for (name, value) in headers {
                res.insert_header((name, value));
            }
            res.insert_header(("Idempotent-Replayed", "true"));
            // A problem names this request, not the first one.
            let body = match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(serde_json::Value::Object(mut p)) if status >= 400 => {
                    p.insert("instance".into(), req.path().into());
                    if let Some(id) = crate::http::request_id(req.request()) {
                        p.insert("request_id".into(), id.into());
                    }
                    serde_json::Value::Object(p).to_string()
                }
                _ => body,
            };
            Ok(req.into_response(res.body(body)).map_into_boxed_body())
        }
        Claim::New => {
            let res = next.call(req).await?.map_into_boxed_body();
            let status = res.status();
            let (http_req, res) = res.into_parts();
            let (res, body) = res.into_parts();
            let bytes = body::to_bytes(body).await.unwrap_or_default();
            let headers: Vec<(String, String)> = KEPT_HEADERS
                .iter()
                .filter_map(|n| {
                    res.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| (n.to_string(), v.to_string()))
                })
                .collect();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let pool = state.pool.clone();
            let stored = db::write(&pool, move |conn| {
                let row = k::table
                    .filter(k::caller_sub.eq(&sub))
                    .filter(k::idem_key.eq(&key));
                if !is_kept(status) {
                    diesel::delete(row).execute(conn)?;
                } else {
                    diesel::update(row)
                        .set((
                            k::status.eq(Some(status.as_u16() as i32)),
                            k::response_headers
                                .eq(Some(serde_json::to_string(&headers).unwrap_or_default())),
                            k::response_body.eq(Some(text)),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await;
            if let Err(e) = stored {
                log::error!("could not record the response of an idempotent request: {e}");
            }
            Ok(ServiceResponse::new(
                http_req,
                res.set_body(BoxBody::new(bytes)),
            ))
        }
    }
}
