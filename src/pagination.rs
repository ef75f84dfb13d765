//! Keyset pagination: `limit` and an opaque, tamper-evident `cursor` bound to the query it came
//! from. A page is "rows with id greater than the last one seen", so its cost does not grow with
//! depth. Ids are UUIDv7, so id order is creation order.

use actix_web::{http::header, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// The key cursors are signed with; kept in the database so every instance shares it.
#[derive(Clone)]
pub struct CursorKey(pub Vec<u8>);

/// A page of a collection.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A validated `limit` and the id to continue after.
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
    scope: String,
}

impl PageRequest {
    /// `scope` names the collection and its filters, so a cursor from another query is refused.
    pub fn parse(
        key: &CursorKey,
        scope: String,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode(key, &scope, c)?),
        };
        Ok(PageRequest {
            limit,
            after,
            scope,
        })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the next cursor.
    pub fn finish<T>(
        &self,
        key: &CursorKey,
        mut rows: Vec<T>,
        id: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = if more {
            rows.last().map(|r| encode(key, &self.scope, &id(r)))
        } else {
            None
        };
        (rows, next)
    }
}

/// A page of a collection: checks the caller may do `action`, parses `limit` and `cursor`
/// (bound to `scope`, the collection and its filters), runs `load(after, fetch)` (rows after the
/// key `after`, in key order) and answers with the page, `next_cursor` and a `Link` header.
#[allow(clippy::too_many_arguments)]
pub async fn list<T, K, F>(
    req: &HttpRequest,
    caller: &crate::auth::Caller,
    state: &crate::state::AppState,
    action: crate::access::Action,
    scope: String,
    limit: Option<&str>,
    cursor: Option<&str>,
    key_of: K,
    load: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    K: Fn(&T) -> String + Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection, Option<String>, i64) -> Result<Vec<T>, ApiError>
        + Send
        + 'static,
{
    caller.require(action)?;
    let page = PageRequest::parse(&state.cursor_key, scope, limit, cursor)?;
    let key = state.cursor_key.clone();
    let (items, next) = crate::db::read(&state.pool, move |conn| {
        let rows = load(conn, page.after.clone(), page.fetch())?;
        Ok(page.finish(&key, rows, key_of))
    })
    .await?;
    Ok(respond(req, items, next))
}

/// The key a page of records continues after: the id; or, in a list filtered by
/// `updated_since` (ordered by when records changed, see [`keyset!`](crate::keyset)),
/// `updated_at|id`.
pub fn record_key<R: crate::changes::Resource>(r: &R, by_updated: bool) -> String {
    row_key(r.id(), r.updated_at().naive_utc(), by_updated)
}

/// `record_key` from a stored row's id and `updated_at`.
pub fn row_key(id: &str, updated_at: chrono::NaiveDateTime, by_updated: bool) -> String {
    if by_updated {
        time_key(updated_at, id)
    } else {
        id.to_string()
    }
}

const KEY_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// A key of a list ordered by a time, then an id: `time|id`.
pub fn time_key(t: chrono::NaiveDateTime, id: &str) -> String {
    format!("{}|{id}", t.format(KEY_TIME))
}

/// The `(time, id)` a `time_key` carries.
pub fn split_updated_key(key: &str) -> Result<(chrono::NaiveDateTime, String), ApiError> {
    key.split_once('|')
        .and_then(|(t, id)| {
            let t = chrono::NaiveDateTime::parse_from_str(t, KEY_TIME).ok()?;
            Some((t, id.to_string()))
        })
        .ok_or_else(|| {
            ApiError::BadRequest(
                "the cursor is not valid for this query; start again without one".into(),
            )
        })
}

/// Orders a boxed list query of `$table` by its keyset and continues it after the key `$after`
/// (a [`record_key`]): by id; or, under `updated_since` (`$since`), by `(updated_at, id)`.
/// The second order lets the `(updated_at, id)` index find the recently changed rows: ordered
/// by id, SQLite walks the primary key past every older row to fill the page (a second for an
/// empty page at 100 000 rows, growing with the table).
#[macro_export]
macro_rules! keyset {
    ($query:expr, $table:ident, $since:expr, $after:expr) => {{
        let query = $query;
        let after: Option<&str> = $after;
        match $since {
            None => {
                let query = query.order($table::id.asc());
                match after {
                    Some(a) => query.filter($table::id.gt(a.to_string())),
                    None => query,
                }
            }
            Some(t) => {
                let query = query
                    .filter($table::updated_at.ge(t))
                    .order(($table::updated_at.asc(), $table::id.asc()));
                match after {
                    Some(a) => {
                        let (at, id) = $crate::pagination::split_updated_key(a)?;
                        query
                            .filter($table::updated_at.ge(at))
                            .filter($table::updated_at.gt(at).or($table::id.gt(id)))
                    }
                    None => query,
                }
            }
        }
    }};
}

/// A signed position for other kinds of cursor (the change feed's `seq`).
pub fn sign_position(key: &CursorKey, scope: &str, position: &str) -> String {
    encode(key, scope, position)
}

/// The position a signed cursor carries, or 400 when it was forged or made for another query.
pub fn verify_position(key: &CursorKey, scope: &str, cursor: &str) -> Result<String, ApiError> {
    decode(key, scope, cursor)
}

fn mac(key: &CursorKey, scope: &str, last_id: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(&key.0).expect("any key length");
    m.update(scope.as_bytes());
    m.update(&[0]);
    m.update(last_id.as_bytes());
    m.finalize().into_bytes()[..16].to_vec()
}

fn encode(key: &CursorKey, scope: &str, last_id: &str) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(last_id),
        URL_SAFE_NO_PAD.encode(mac(key, scope, last_id))
    )
}

fn decode(key: &CursorKey, scope: &str, cursor: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "the cursor is not valid for this query; start again without one".into(),
        )
    };
    let (id, sig) = cursor.split_once('.').ok_or_else(bad)?;
    let id =
        String::from_utf8(URL_SAFE_NO_PAD.decode(id).map_err(|_| bad())?).map_err(|_| bad())?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
    let mut m = Hmac::<Sha256>::new_from_slice(&key.0).expect("any key length");
    m.update(scope.as_bytes());
    m.update(&[0]);
    m.update(id.as_bytes());
    m.verify_truncated_left(&sig).map_err(|_| bad())?;
    if sig.len() != 16 {
        return Err(bad());
    }
    Ok(id)
}

/// The list response: the page as JSON and, when there is more, a `Link: rel="next"` header
/// carrying the same query with the new cursor.
pub fn respond<T: Serialize>(
    req: &HttpRequest,
    items: Vec<T>,
    next_cursor: Option<String>,
) -> HttpResponse {
    let mut res = next_link(req, next_cursor.as_deref());
    res.json(Page { items, next_cursor })
}

/// `respond` for items already rendered as JSON: the same `Page` document, put together.
pub fn respond_rendered(
    req: &HttpRequest,
    items: &[actix_web::web::Bytes],
    next_cursor: Option<String>,
) -> HttpResponse {
    let mut body = Vec::with_capacity(items.iter().map(|b| b.len() + 1).sum::<usize>() + 64);
    body.extend_from_slice(b"{\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut body, &next_cursor).expect("a string serialises");
    body.push(b'}');
    next_link(req, next_cursor.as_deref())
        .insert_header(header::ContentType::json())
        .body(body)
}

/// A 200 with, when another page follows, its `Link`.
fn next_link(req: &HttpRequest, next_cursor: Option<&str>) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    if let Some(c) = next_cursor {
        let mut pairs: Vec<(String, String)> = url_pairs(req.query_string())
            .into_iter()
            .filter(|(k, _)| k != "cursor")
            .collect();
        pairs.push(("cursor".into(), c.to_string()));
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        res.insert_header((
            header::LINK,
            format!("<{}?{}>; rel=\"next\"", req.path(), query),
        ));
    }
    res
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering_and_other_queries() {
        let key = CursorKey(b"k".repeat(32));
        let c = encode(&key, "documents|kind=policy", "abc");
        assert_eq!(decode(&key, "documents|kind=policy", &c).unwrap(), "abc");
        assert!(decode(&key, "documents|kind=programme", &c).is_err());
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("abd"),
            c.split_once('.').unwrap().1
        );
        assert!(decode(&key, "documents|kind=policy", &forged).is_err());
        assert!(decode(&key, "documents|kind=policy", "garbage").is_err());
    }

    #[test]
    fn query_components_round_trip() {
        assert_eq!(decode_component(&encode_component("a b&c=å")), "a b&c=å");
    }
}
