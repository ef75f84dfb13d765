//! `/v1/evaluations`: list, get, create, merge-patch, delete, and the actions submit and approve.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    crud, db,
    error::ApiResult,
    http::{self, IfMatch},
    model::parse_time_param,
    pagination::Page,
    responses::errors::*,
    state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationListQuery {
    #[param(value_type = Option<SubjectType>)]
    subject_type: Option<String>,
    /// Only evaluations of this record.
    subject_id: Option<String>,
    #[param(value_type = Option<EvaluationStatus>)]
    status: Option<String>,
    /// Only evaluations changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List evaluations.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(EvaluationListQuery),
    responses(
        (status = 200, description = "A page of evaluations", body = Page<Evaluation>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_evaluations(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<EvaluationListQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let filter = Filter {
        subject_type: q
            .subject_type
            .as_deref()
            .map(|s| SubjectType::from_query("subject_type", s))
            .transpose()?,
        subject_id: q.subject_id,
        status: q
            .status
            .as_deref()
            .map(|s| EvaluationStatus::from_query("status", s))
            .transpose()?,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "evaluations|{:?}|{:?}|{:?}|{:?}",
        filter.subject_type, filter.subject_id, filter.status, q.updated_since
    );
    crud::list::<Evaluation, _>(
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

/// Get one evaluation.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The evaluation", body = Evaluation,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Evaluation>(req, caller, state, id.into_inner()).await
}

/// Draft an evaluation of a membership, project, activity, document or goal.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    request_body(content = EvaluationInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Evaluation,
            headers(("Location" = String, description = "The new evaluation's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Evaluation>(req, caller, state, Action::DraftEvaluation, body).await
}

/// Change an evaluation that is not approved (JSON merge patch).
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the evaluation still has this ETag")),
    request_body(content = EvaluationInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed evaluation", body = Evaluation,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Evaluation>(
        req,
        caller,
        state,
        Action::DraftEvaluation,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a draft evaluation.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the evaluation still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Evaluation>(req, caller, state, Action::DraftEvaluation, id.into_inner()).await
}

/// Submit a draft evaluation for the board's approval.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the evaluation still has this ETag")),
    request_body(content = Option<crate::http::EmptyBody>, content_type = "application/json",
        description = "None, or an empty object"),
    responses(
        (status = 200, description = "The submitted evaluation", body = Evaluation,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/submit")]
pub async fn submit_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::DraftEvaluation)?;
    http::no_body(&req, &body)?;
    step(req, caller, state, id.into_inner(), Step::Submit).await
}

/// Send a submitted evaluation back to draft (the board), so that it can be changed and
/// submitted again.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the evaluation still has this ETag")),
    request_body(content = Option<crate::http::EmptyBody>, content_type = "application/json",
        description = "None, or an empty object"),
    responses(
        (status = 200, description = "The evaluation, a draft again", body = Evaluation,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/send-back")]
pub async fn send_back_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::SendBackEvaluation)?;
    http::no_body(&req, &body)?;
    step(req, caller, state, id.into_inner(), Step::SendBack).await
}

/// Approve a submitted evaluation (the board), recording the decision. Approving an evaluation
/// of a membership moves its next review.
#[utoipa::path(
    tag = "evaluations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Evaluation id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the evaluation still has this ETag")),
    request_body(content = ApproveRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The approved evaluation", body = Evaluation,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/approve")]
pub async fn approve_evaluation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::ApproveEvaluation)?;
    let approve: ApproveRequest = http::from_value(http::json_value(&req, &body, false)?)?;
    let mut c = crate::model::Checks::default();
    c.text("reference", Some(&approve.reference), true, 200);
    c.finish()?;
    step(req, caller, state, id.into_inner(), Step::Approve(approve)).await
}

async fn step(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: String,
    next: Step,
) -> ApiResult<HttpResponse> {
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let e = db::write(&state.pool, move |conn| {
        let before = Evaluation::load(conn, &id)?;
        if_match.check(before.version)?;
        advance(conn, &actor, &before, next)
    })
    .await?;
    Ok(http::written(e.version, &e))
}

/// The routes under `/v1/evaluations`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_evaluations)
        .service(create_evaluation)
        .service(get_evaluation)
        .service(patch_evaluation)
        .service(delete_evaluation)
        .service(submit_evaluation)
        .service(send_back_evaluation)
        .service(approve_evaluation);
}
