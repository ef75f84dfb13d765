//! `/v1/positions`: list, get, record (the board), merge-patch (the board). A position is a
//! decision in the register: it is not deleted.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action, auth::Caller, crud, error::ApiResult, model::parse_time_param,
    pagination::Page, responses::errors::*, state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PositionListQuery {
    /// Only positions concerning this goal.
    goal_id: Option<String>,
    /// Only positions changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List positions.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(PositionListQuery),
    responses(
        (status = 200, description = "A page of positions", body = Page<Position>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_positions(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<PositionListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = Filter {
        goal_id: q.goal_id,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!("positions|{:?}|{:?}", filter.goal_id, q.updated_since);
    crud::list::<Position, _>(
        &req,
        &caller,
        &state,
        scope,
        filter.updated_since.is_some(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
        filter,
    )
    .await
}

/// Get one position.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Official contact id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The position", body = Position,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_position(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Position>(req, caller, state, id.into_inner()).await
}

/// Record a position: a decision of the board, entered in the decision register.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    request_body(content = PositionInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Position,
            headers(("Location" = String, description = "The new position's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_position(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Position>(req, caller, state, Action::RecordPosition, body).await
}

/// Change a position (JSON merge patch); a changed decision enters the register again.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Official contact id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the position still has this ETag")),
    request_body(content = PositionInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed position", body = Position,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_position(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Position>(
        req,
        caller,
        state,
        Action::RecordPosition,
        id.into_inner(),
        body,
    )
    .await
}

/// The routes under `/v1/positions`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_positions)
        .service(create_position)
        .service(get_position)
        .service(patch_position);
}
