//! `?as_of=` on every single-resource GET: the record as it stood at a time, rebuilt from the
//! audit trail (`audit::state_at`); without it, the live record with its ETag.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    access::Action,
    audit::state_at,
    auth::Caller,
    changes::Resource,
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    http,
    model::parse_time_param,
    state::AppState,
};

/// `?as_of=` on a single-resource GET.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// Read the record as it stood at this time (RFC 3339), rebuilt from the audit trail: 404
    /// when it did not exist yet, 410 when it had been deleted by then.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub as_of: Option<String>,
}

/// A parent field the record must carry (a report-back's `membership_id`).
pub type Parent = Option<(&'static str, String)>;

/// The single-resource GET every resource shares: the live record with its ETag (304 when the
/// caller's copy is current), or with `?as_of=` the version that was current then.
pub async fn get_single<T, F>(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
    parent: Parent,
    load: F,
) -> ApiResult<HttpResponse>
where
    T: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection, &str) -> ApiResult<T> + Send + 'static,
{
    caller.require(Action::Read)?;
    let as_of = web::Query::<AsOfQuery>::from_query(req.query_string())
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?
        .into_inner()
        .as_of
        .map(|s| parse_time_param("as_of", &s))
        .transpose()?;
    match as_of {
        None => {
            let e = db::read(&state.pool, move |conn| load(conn, &id)).await?;
            Ok(http::single(&req, e.version(), &e))
        }
        Some(t) => {
            let (version, data) =
                db::read(&state.pool, move |conn| state_at(conn, T::TYPE, &id, t)).await?;
            if let Some((field, value)) = parent {
                if data.get(field).and_then(|v| v.as_str()) != Some(value.as_str()) {
                    return Err(ApiError::NotFound(format!(
                        "no such {} under {value}",
                        T::TYPE
                    )));
                }
            }
            Ok(http::single(&req, version, &data))
        }
    }
}
