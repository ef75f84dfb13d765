//! `/v1/activities`: list, get, create, merge-patch, delete.

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
pub struct ActivityListQuery {
    /// Only activities of this action plan.
    document_id: Option<String>,
    /// Only activities of action plans for this year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    #[param(value_type = Option<ActivityKind>)]
    kind: Option<String>,
    #[param(value_type = Option<ActivityStatus>)]
    status: Option<String>,
    /// Only activities linked to this goal.
    goal_id: Option<String>,
    /// Only activities in this priority area.
    priority_area_id: Option<String>,
    /// Only activities changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List activities.
#[utoipa::path(
    tag = "activities",
    security(("bearer" = [])),
    params(ActivityListQuery),
    responses(
        (status = 200, description = "A page of activities", body = Page<Activity>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_activities(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ActivityListQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let filter = Filter {
        document_id: q.document_id,
        year: crate::model::int_param("year", q.year.as_deref(), 1900, 2200)?.map(|y| y as i32),
        kind: q
            .kind
            .as_deref()
            .map(|s| ActivityKind::from_query("kind", s))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| ActivityStatus::from_query("status", s))
            .transpose()?,
        goal_id: q.goal_id,
        priority_area_id: q.priority_area_id,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "activities|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.document_id,
        filter.year,
        filter.kind,
        filter.status,
        filter.goal_id,
        filter.priority_area_id,
        q.updated_since
    );
    crud::list::<Activity, _>(
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

/// Get one activity.
#[utoipa::path(
    tag = "activities",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The activity", body = Activity,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_activity(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Activity>(req, caller, state, id.into_inner()).await
}

/// Create an activity in an action plan that is not adopted (an adopted plan's activities
/// change only through a revision: 409).
#[utoipa::path(
    tag = "activities",
    security(("bearer" = [])),
    request_body(content = ActivityInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Activity,
            headers(("Location" = String, description = "The new activity's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateStatefulErrors,
    )
)]
#[post("")]
pub async fn create_activity(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Activity>(req, caller, state, Action::EditRunningWork, body).await
}

/// Change an activity (JSON merge patch). In an adopted plan only follow-up fields change;
/// its plan, kind, title, `prioritised` and links change through a revision (409).
#[utoipa::path(
    tag = "activities",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the activity still has this ETag")),
    request_body(content = ActivityInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed activity", body = Activity,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_activity(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Activity>(
        req,
        caller,
        state,
        Action::EditRunningWork,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete an activity of a plan that is not adopted (409 otherwise).
#[utoipa::path(
    tag = "activities",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the activity still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_activity(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Activity>(req, caller, state, Action::EditRunningWork, id.into_inner()).await
}

/// The routes under `/v1/activities`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_activities)
        .service(create_activity)
        .service(get_activity)
        .service(patch_activity)
        .service(delete_activity);
}
