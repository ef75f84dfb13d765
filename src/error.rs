//! One error type for every handler, rendered as `application/problem+json` (RFC 9457).
//! A 500 is logged once, with its cause and the request id, where it is rendered for the
//! request (`response`); the caller is told only that it failed.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Role;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One bad field in a 422.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `title` or `serves[1]`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path the problem occurred on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// For 422: each bad field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 403: the roles any one of which would be allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_roles: Option<Vec<Role>>,
    /// The request id, also in the `X-Request-Id` header; quote it when reporting a 500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Clone: one failed statement answers every request whose lookup it carried (`db::pipeline`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("requires one of the roles {0:?}")]
    Forbidden(Vec<Role>, String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// An `Accept` header the resource cannot satisfy.
    #[error("{0}")]
    NotAcceptable(String),
    /// A point-in-time read of a record that had been deleted by then.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("validation failed: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unavailable(String),
    /// Never shown to the caller; logged with the request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(..) => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            ApiError::NotAcceptable(_) => ("not-acceptable", "Not acceptable"),
            ApiError::Gone(_) => ("gone", "Gone"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Validation(_) => ("validation-error", "Validation failed"),
            ApiError::Unavailable(_) => ("service-unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal-error", "Internal server error"),
        }
    }

    /// The problem document; `instance` and `request_id` come from the request when known.
    pub fn to_problem(&self, instance: Option<String>, request_id: Option<String>) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            ApiError::Forbidden(roles, action) => format!(
                "{action} requires the role {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            ApiError::Validation(errors) => format!(
                "{} field{} failed validation: {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors
                    .iter()
                    .map(|e| e.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ApiError::Internal(_) => {
                "The request failed on the server; it has been logged with the request id.".into()
            }
            other => other.to_string(),
        };
        Problem {
            type_: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            instance,
            errors: match self {
                ApiError::Validation(e) => Some(e.clone()),
                _ => None,
            },
            required_roles: match self {
                ApiError::Forbidden(r, _) => Some(r.clone()),
                _ => None,
            },
            request_id,
        }
    }

    /// The response for a request; a 500's cause is logged here with the request's id.
    pub fn response(&self, instance: Option<String>, request_id: Option<String>) -> HttpResponse {
        if let (ApiError::Internal(cause), Some(id)) = (self, &request_id) {
            log::error!("request_id={id} internal error: {cause}");
        }
        self.render(instance, request_id)
    }

    fn render(&self, instance: Option<String>, request_id: Option<String>) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(PROBLEM_JSON);
        match self {
            ApiError::Unauthorized(detail) => {
                let desc = detail.replace('"', "'");
                res.insert_header((
                    "WWW-Authenticate",
                    format!("Bearer realm=\"intl-api\", error=\"invalid_token\", error_description=\"{desc}\""),
                ));
            }
            ApiError::Unavailable(_) => {
                res.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        res.json(self.to_problem(instance, request_id))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(..) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Fallback rendering, not logged: the request middleware renders the error again with
    /// `instance` and the request id (`http::normalise_error`), and logs a 500 then.
    fn error_response(&self) -> HttpResponse {
        self.render(None, None)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => ApiError::NotFound("no such record".into()),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => {
                log::warn!("database unreachable: {e}");
                ApiError::Unavailable("the database cannot be reached; try again shortly".into())
            }
            // Two requests racing to write the same unique value (an external id, a key): the
            // loser is told to retry, never given a 500.
            E::DatabaseError(K::UniqueViolation, _) => ApiError::Conflict(
                "a concurrent request wrote the same unique value; fetch and retry".into(),
            ),
            E::DatabaseError(K::SerializationFailure, _) => {
                ApiError::Conflict("the record was changed concurrently; retry the request".into())
            }
            E::DatabaseError(_, info) if is_sqlite_busy(info.message()) => {
                ApiError::Unavailable("the database is busy; try again shortly".into())
            }
            E::BrokenTransactionManager => {
                ApiError::Unavailable("the database connection failed; try again shortly".into())
            }
            E::DatabaseError(kind, info) => ApiError::Internal(format!(
                "database: {kind:?}: {}{}",
                info.message(),
                [
                    ("details", info.details()),
                    ("hint", info.hint()),
                    ("table", info.table_name()),
                    ("column", info.column_name()),
                    ("constraint", info.constraint_name()),
                ]
                .iter()
                .filter_map(|(k, v)| v.map(|v| format!("; {k}: {v}")))
                .collect::<String>()
            )),
            _ => ApiError::Internal(format!("database: {}", chain(&e))),
        }
    }
}

/// An error with every cause beneath it (`a: b: c`), so the one log line of a 500 keeps them.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn is_sqlite_busy(msg: &str) -> bool {
    msg.contains("database is locked") || msg.contains("database is busy")
}

/// The error payload each documented error response carries.
pub type ProblemBody = Problem;

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("writing the WAL")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_chain_keeps_every_cause() {
        let e = Wrapped(std::io::Error::other("disk full"));
        assert_eq!(chain(&e), "writing the WAL: disk full");
    }
}
