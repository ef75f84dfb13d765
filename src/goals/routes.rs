//! `/v1/goals`: list, get, create, merge-patch, delete.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action, auth::Caller, crud, error::ApiResult, model::parse_time_param,
    pagination::Page, responses::errors::*, state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GoalListQuery {
    /// Only goals of this document.
    document_id: Option<String>,
    /// Only the direct children of this goal.
    parent_id: Option<String>,
    /// Only goals of this kind.
    #[param(value_type = Option<GoalKind>)]
    kind: Option<String>,
    /// Only goals changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List goals.
#[utoipa::path(
    tag = "goals",
    security(("bearer" = [])),
    params(GoalListQuery),
    responses(
        (status = 200, description = "A page of goals", body = Page<Goal>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_goals(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<GoalListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = Filter {
        kind: q
            .kind
            .as_deref()
            .map(|s| GoalKind::from_query("kind", s))
            .transpose()?,
        document_id: q.document_id,
        parent_id: q.parent_id,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "goals|{:?}|{:?}|{:?}|{:?}",
        filter.document_id, filter.parent_id, filter.kind, q.updated_since
    );
    crud::list::<Goal, _>(
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

/// Get one goal.
#[utoipa::path(
    tag = "goals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Goal id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The goal", body = Goal,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_goal(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Goal>(req, caller, state, id.into_inner()).await
}

/// Create a goal in a document that is not adopted.
#[utoipa::path(
    tag = "goals",
    security(("bearer" = [])),
    request_body(content = GoalInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Goal,
            headers(("Location" = String, description = "The new goal's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateStatefulErrors,
    )
)]
#[post("")]
pub async fn create_goal(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Goal>(req, caller, state, Action::DraftDocument, body).await
}

/// Change a goal of a document that is not adopted (JSON merge patch).
#[utoipa::path(
    tag = "goals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Goal id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the goal still has this ETag")),
    request_body(content = GoalInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed goal", body = Goal,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_goal(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Goal>(
        req,
        caller,
        state,
        Action::DraftDocument,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a goal of a document that is not adopted.
#[utoipa::path(
    tag = "goals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Goal id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the goal still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_goal(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Goal>(req, caller, state, Action::DraftDocument, id.into_inner()).await
}

/// The routes under `/v1/goals`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_goals)
        .service(create_goal)
        .service(get_goal)
        .service(patch_goal)
        .service(delete_goal);
}
