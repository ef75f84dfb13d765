//! `/v1/memberships` with `end`, and `/v1/memberships/{id}/report-backs`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    report_backs::{self, load_of, ReportBack, ReportBackInput},
    *,
};
use crate::{
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
pub struct MembershipListQuery {
    #[param(value_type = Option<MembershipKind>)]
    kind: Option<String>,
    #[param(value_type = Option<MembershipStatus>)]
    status: Option<String>,
    /// Only memberships of this organisation.
    organisation_id: Option<String>,
    /// Only memberships whose review is due on or before this date.
    #[param(value_type = Option<String>, format = Date)]
    review_due_by: Option<String>,
    /// Only memberships changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List memberships and representations.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(MembershipListQuery),
    responses(
        (status = 200, description = "A page of memberships", body = Page<Membership>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_memberships(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<MembershipListQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let review_due_by = match q.review_due_by.as_deref() {
        None => None,
        Some(s) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| ApiError::validation("review_due_by", "must be a date, YYYY-MM-DD"))?,
        ),
    };
    let filter = Filter {
        kind: q
            .kind
            .as_deref()
            .map(|s| MembershipKind::from_query("kind", s))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| MembershipStatus::from_query("status", s))
            .transpose()?,
        organisation_id: q.organisation_id,
        review_due_by,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "memberships|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.kind, filter.status, filter.organisation_id, filter.review_due_by, q.updated_since
    );
    crud::list::<Membership, _>(
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

/// Get one membership.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The membership", body = Membership,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_membership(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Membership>(req, caller, state, id.into_inner()).await
}

/// Record a membership or representation. Officers prepare (status `under_review`, no
/// decision); the board decides.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    request_body(content = MembershipInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Membership,
            headers(("Location" = String, description = "The new membership's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_membership(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Membership>(req, caller, state, Action::DraftMembership, body).await
}

/// Change a membership (JSON merge patch). Changing its decision or status is the board's.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the membership still has this ETag")),
    request_body(content = MembershipInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed membership", body = Membership,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_membership(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Membership>(
        req,
        caller,
        state,
        Action::DraftMembership,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a membership recorded by mistake (board only; one with report-backs is ended instead).
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the membership still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_membership(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Membership>(
        req,
        caller,
        state,
        Action::DecideMembership,
        id.into_inner(),
    )
    .await
}

/// End a membership by the board's decision (records the decision and the end date).
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the membership still has this ETag")),
    request_body(content = EndRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The ended membership", body = Membership,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/end")]
pub async fn end_membership(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::DecideMembership)?;
    let end_req: EndRequest = http::from_value(http::json_value(&req, &body, false)?)?;
    let mut c = Checks::default();
    c.text("reference", Some(&end_req.reference), true, 200);
    c.finish()?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let id = id.into_inner();
    let m = db::write(&state.pool, move |conn| {
        let before = load(conn, &id)?;
        if_match.check(before.version)?;
        end(conn, &actor, &before, end_req)
    })
    .await?;
    Ok(http::written(m.version, &m))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportBackListQuery {
    /// Only report-backs changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List a membership's report-backs.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"), ReportBackListQuery),
    responses(
        (status = 200, description = "A page of report-backs", body = Page<ReportBack>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        NestedListErrors,
    )
)]
#[get("/{id}/report-backs")]
pub async fn list_report_backs(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ReportBackListQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let id = id.into_inner();
    let q = q.into_inner();
    let since = q
        .updated_since
        .as_deref()
        .map(|s| parse_time_param("updated_since", s))
        .transpose()?;
    let scope = format!("report_backs|{id}|{:?}", q.updated_since);
    crud::list::<ReportBack, _>(
        &req,
        &caller,
        &state,
        scope,
        since.is_some(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
        report_backs::Filter {
            membership_id: id,
            updated_since: since,
            after: None,
            limit: 0,
        },
    )
    .await
}

/// Write a report-back under a membership.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    request_body(content = ReportBackInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ReportBack,
            headers(("Location" = String, description = "The new report-back's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        NestedCreateErrors,
    )
)]
#[post("/{id}/report-backs")]
pub async fn create_report_back(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::WriteReportBack)?;
    let input: ReportBackInput = http::from_value(http::json_value(&req, &body, false)?)?;
    ReportBack::check(&input)?;
    let actor = state.actor(&req, &caller);
    let id = id.into_inner();
    let r = db::write(&state.pool, move |conn| {
        report_backs::create(conn, &actor, &id, input)
    })
    .await?;
    Ok(http::created(
        format!("/v1/memberships/{}/report-backs/{}", r.membership_id, r.id),
        r.version,
        &r,
    ))
}

/// Get one report-back.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("report_back_id" = String, Path, description = "Report-back id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The report-back", body = ReportBack,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}/report-backs/{report_back_id}")]
pub async fn get_report_back(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (mid, rid) = path.into_inner();
    let parent = Some(("membership_id", mid.clone()));
    crate::as_of::get_single(req, caller, state, rid, parent, move |conn, rid| {
        load_of(conn, &mid, rid)
    })
    .await
}

/// Change a report-back (JSON merge patch).
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("report_back_id" = String, Path, description = "Report-back id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the report-back still has this ETag")),
    request_body(content = ReportBackInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed report-back", body = ReportBack,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchErrors,
    )
)]
#[patch("/{id}/report-backs/{report_back_id}")]
pub async fn patch_report_back(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::WriteReportBack)?;
    let patch = http::json_value(&req, &body, true)?;
    crud::reject_read_only(&patch, ReportBack::READ_ONLY)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let (mid, rid) = path.into_inner();
    let r = db::write(&state.pool, move |conn| {
        let before = load_of(conn, &mid, &rid)?;
        let input = crud::apply_patch(&before, &patch)?;
        if_match.check(before.version)?;
        ReportBack::update(conn, &actor, &before, input)
    })
    .await?;
    Ok(http::written(r.version, &r))
}

/// Delete a report-back.
#[utoipa::path(
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id"),
           ("report_back_id" = String, Path, description = "Report-back id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the report-back still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        DeleteErrors,
    )
)]
#[delete("/{id}/report-backs/{report_back_id}")]
pub async fn delete_report_back(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::WriteReportBack)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let (mid, rid) = path.into_inner();
    db::write(&state.pool, move |conn| {
        let before = load_of(conn, &mid, &rid)?;
        if_match.check(before.version)?;
        ReportBack::delete(conn, &actor, &before)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The routes under `/v1/memberships`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_memberships)
        .service(create_membership)
        .service(get_membership)
        .service(patch_membership)
        .service(delete_membership)
        .service(end_membership)
        .service(list_report_backs)
        .service(create_report_back)
        .service(get_report_back)
        .service(patch_report_back)
        .service(delete_report_back);
}
