//! HTTP plumbing shared by every endpoint: request ids, the access log, turning every error
//! into a problem document, JSON bodies, and ETag preconditions.

use std::time::Instant;

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    middleware::Next,
    web, HttpMessage, HttpRequest, HttpResponse,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError, PROBLEM_JSON};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The id the service gave the request being served: in the access line, problems, the
/// audit trail and the `X-Request-Id` response header.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The client's own `X-Request-Id`, when well-formed: a correlation hint, logged and kept in
/// the audit trail beside the service's id, never in its place (a client could repeat it).
#[derive(Clone, Debug)]
pub struct CorrelationId(pub String);

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

pub fn correlation_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<CorrelationId>().map(|r| r.0.clone())
}

/// What Swagger UI (vendored, served from `/docs/`) needs and nothing more: its own scripts
/// and styles, the inline styles it sets, its data: icons, and the spec and API on this origin.
pub const DOCS_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Headers every response carries: `nosniff`; `no-store` on the API's answers (all of them
/// are per caller) unless a handler chose its caching; the content security policy on `/docs`.
fn security_headers(res: &mut HttpResponse, path: &str, authorised: bool) {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if (authorised || path.starts_with("/v1/")) && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if path == "/docs" || path.starts_with("/docs/") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        );
    }
}

fn accept_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_string())
}

/// Request id, one access-log line per request, and problem documents for every error,
/// including those actix itself produces (bad query strings, oversized bodies, ...).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // From the thread's CSPRNG: `Uuid::new_v4` asks the kernel (a getrandom call per request).
    let id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string();
    let correlation = req
        .headers()
        .get("x-request-id")
        .and_then(accept_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    if let Some(c) = &correlation {
        req.extensions_mut().insert(CorrelationId(c.clone()));
    }
    let authorised = req.headers().contains_key(header::AUTHORIZATION);
    let method = req.method().to_string();
    let path = req.path().to_string();
    // No stored text can hold NUL (PostgreSQL refuses it), so no id or filter can either: a
    // path with one names nothing (404), a query parameter with one is an invalid value (422).
    let nul = if has_nul(req.uri().path()) {
        Some(ApiError::NotFound(
            "no resource has a NUL character in its path".into(),
        ))
    } else {
        req.uri()
            .query()
            .and_then(nul_parameter)
            .map(|name| ApiError::validation(name, "must not contain NUL characters"))
    };
    let res = if let Some(e) = nul {
        let res = e.response(Some(path.clone()), Some(id.clone()));
        req.into_response(res).map_into_boxed_body()
    } else {
        // Handlers and extractors report errors inside the response, rendered below.
        next.call(req).await?.map_into_boxed_body()
    };
    let mut res = normalise_error(res, &path, &id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    security_headers(res.response_mut(), &path, authorised);
    log::info!(
        target: "access",
        "{method} {path} {} {:.2}ms request_id={id}{}{}",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
        if correlation.is_some() { " correlation_id=" } else { "" },
        correlation.as_deref().unwrap_or("")
    );
    Ok(res)
}

fn has_nul(s: &str) -> bool {
    s.contains("%00") || s.contains('\0')
}

/// The name of the first query parameter whose name or value holds a NUL character.
fn nul_parameter(query: &str) -> Option<String> {
    query.split('&').find(|pair| has_nul(pair)).map(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        if has_nul(name) {
            "query".to_string()
        } else {
            name.to_string()
        }
    })
}

fn normalise_error(
    res: ServiceResponse<BoxBody>,
    path: &str,
    id: &str,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let api_error = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(api) => Some(api.clone()),
            None => Some(from_foreign(status, &e.to_string())),
        },
        None => {
            let is_problem = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
            (!is_problem).then(|| from_foreign(status, ""))
        }
    };
    match api_error {
        None => res,
        Some(err) => {
            let mut new = err.response(Some(path.to_string()), Some(id.to_string()));
            // Keep headers the inner response set for the caller (Allow on 405, ...).
            for name in [header::ALLOW] {
                if let Some(v) = res.headers().get(&name) {
                    new.headers_mut().insert(name.clone(), v.clone());
                }
            }
            res.into_response(new)
        }
    }
}

/// An error actix produced (extractors, routing) mapped onto the service's problem classes.
fn from_foreign(status: StatusCode, text: &str) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge(format!("the request body exceeds {MAX_BODY_BYTES} bytes"))
        }
        StatusCode::NOT_FOUND => ApiError::NotFound("no such resource".into()),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed("method not allowed here".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text.into()),
        StatusCode::NOT_ACCEPTABLE => ApiError::NotAcceptable(text.into()),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(text.into()),
        s if s.is_client_error() => ApiError::BadRequest(if text.is_empty() {
            "the request is malformed".into()
        } else {
            text.to_string()
        }),
        _ => ApiError::Internal(text.to_string()),
    }
}

/// Reads a JSON object body: checks the content type (415), the size (413), the encoding and
/// syntax (400) and that it is an object (422). `merge_patch` also accepts
/// `application/merge-patch+json`.
pub fn json_value(
    req: &HttpRequest,
    body: &web::Bytes,
    merge_patch: bool,
) -> Result<Value, ApiError> {
    let value = json_any(req, body, merge_patch)?;
    if !value.is_object() {
        return Err(ApiError::validation("", "the body must be a JSON object"));
    }
    Ok(value)
}

/// Any JSON value, with the same checks of type, size, encoding and syntax.
fn json_any(req: &HttpRequest, body: &web::Bytes, merge_patch: bool) -> Result<Value, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = mime == "application/json" || (merge_patch && mime == "application/merge-patch+json");
    if !ok {
        let wanted = if merge_patch {
            "application/merge-patch+json or application/json"
        } else {
            "application/json"
        };
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be {wanted} (got {})",
            if ct.is_empty() { "no Content-Type" } else { ct }
        )));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "the request body exceeds {MAX_BODY_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid UTF-8 ({e})")))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::Deserialize::deserialize(&mut de)
        .and_then(|StrictValue(v)| de.end().map(|_| v))
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// The body of an action that takes none: nothing, `null` or `{}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EmptyBody {}

/// Actions that take no body accept none, `null` or an empty JSON object; anything else is refused
/// like any bad body, so a client's mistake is never silently ignored.
pub fn no_body(req: &HttpRequest, body: &web::Bytes) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let value = json_any(req, body, false)?;
    match value.as_object() {
        None if value.is_null() => Ok(()),
        Some(map) if map.is_empty() => Ok(()),
        Some(map) => Err(ApiError::Validation(
            map.keys()
                .map(|k| FieldError::new(k.as_str(), "this action takes no fields"))
                .collect(),
        )),
        None => Err(ApiError::validation("", "this action takes no body")),
    }
}

/// A JSON value that refuses an object naming the same key twice (which `serde_json::Value`
/// would quietly resolve to the last), so a body means one thing only.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // `3.0` is the integer 3 (as JSON Schema reads it), so integer fields accept it.
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            return Ok(Value::from(v as i64));
        }
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if out.insert(key.clone(), v).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Turns a JSON value into a typed input, naming the field a type error is in.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names an unknown or missing field in backticks; point at it, not at its parent.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| inner.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        let field = match (named, path.as_str()) {
            (Some(name), ".") => name.to_string(),
            (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
            (Some(name), p) => format!("{p}.{name}"),
            (None, ".") => String::new(),
            (None, _) => path,
        };
        let message = match inner.find(", expected one of") {
            Some(i) if inner.starts_with("unknown field") => {
                format!("{}; not a field of this resource", &inner[..i])
            }
            _ => inner,
        };
        ApiError::Validation(vec![FieldError::new(field, message)])
    })
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// A strong ETag from the record's version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn etag_list(req: &HttpRequest, name: header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = req
        .headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// The `If-Match` of a request, taken out so it can travel into the database work.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    pub fn of(req: &HttpRequest) -> Self {
        IfMatch(etag_list(req, header::IF_MATCH))
    }

    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// Strong comparison; `*` matches any existing record. A stale tag is 412.
    pub fn check(&self, version: i64) -> Result<(), ApiError> {
        let Some(tags) = &self.0 else {
            return Ok(());
        };
        let current = etag(version);
        if tags.iter().any(|t| t == "*" || *t == current) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed(format!(
                "If-Match {} does not match the current ETag {current}; fetch the record again",
                tags.join(", ")
            )))
        }
    }
}

/// `If-None-Match` on GET: weak comparison, as RFC 9110 asks.
pub fn not_modified(req: &HttpRequest, version: i64) -> bool {
    let Some(tags) = etag_list(req, header::IF_NONE_MATCH) else {
        return false;
    };
    let current = etag(version);
    tags.iter()
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == current)
}

/// A single resource with its ETag, or 304 when the caller's copy is current.
pub fn single<T: serde::Serialize>(req: &HttpRequest, version: i64, body: &T) -> HttpResponse {
    if not_modified(req, version) {
        return single_raw(req, version, web::Bytes::new());
    }
    match serde_json::to_vec(body) {
        Ok(json) => single_raw(req, version, json.into()),
        Err(e) => ApiError::internal(e).response(Some(req.path().into()), request_id(req)),
    }
}

/// `single` for a body already rendered.
pub fn single_raw(req: &HttpRequest, version: i64, body: web::Bytes) -> HttpResponse {
    if not_modified(req, version) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag(version)))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .insert_header(header::ContentType::json())
        .body(body)
}

/// 201 with `Location` and `ETag`.
pub fn created<T: serde::Serialize>(location: String, version: i64, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// `created` for a record already rendered (`cache::Renders::render`).
pub fn created_raw(location: String, version: i64, body: web::Bytes) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(version)))
        .insert_header(header::ContentType::json())
        .body(body)
}

/// 200 after a write, with the new `ETag`.
pub fn written<T: serde::Serialize>(version: i64, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// `written` for a record already rendered.
pub fn written_raw(version: i64, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .insert_header(header::ContentType::json())
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
    }
}
