//! `/v1/programmes`: list, get, create, merge-patch, delete, and upsert by external id.

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action, auth::Caller, crud, error::ApiResult, model::parse_time_param,
    pagination::Page, responses::errors::*, state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgrammeListQuery {
    /// Only programmes financed by this fund.
    #[param(value_type = Option<Fund>)]
    fund: Option<String>,
    /// With `external_id_value`: the programme holding this external id (e.g. scheme `cci`
    /// and a CCI code).
    external_id_scheme: Option<String>,
    external_id_value: Option<String>,
    /// Only programmes changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List programmes.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(ProgrammeListQuery),
    responses(
        (status = 200, description = "A page of programmes", body = Page<Programme>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_programmes(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ProgrammeListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = Filter {
        fund: q
            .fund
            .as_deref()
            .map(|s| Fund::from_query("fund", s))
            .transpose()?,
        external_id: crud::external_id_param(q.external_id_scheme, q.external_id_value)?,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "programmes|{:?}|{:?}|{:?}",
        filter.fund, filter.external_id, q.updated_since
    );
    crud::list::<Programme, _>(
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

/// Get one programme.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Programme id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The programme", body = Programme,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_programme(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Programme>(req, caller, state, id.into_inner()).await
}

/// Create a programme.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    request_body(content = ProgrammeInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Programme,
            headers(("Location" = String, description = "The new programme's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_programme(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Programme>(req, caller, state, Action::EditRunningWork, body).await
}

/// Change a programme (JSON merge patch).
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Programme id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the programme still has this ETag")),
    request_body(content = ProgrammeInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed programme", body = Programme,
            headers(("ETag" = String, description = "Strong ETag of the new version"),
                    ("Sync-Overwrites" = Option<String>, description = "On a synced programme (one with `source_updated_at`): the source-owned fields this change set, comma-separated. The next sync from the source overwrites them; to keep a value, change it at the source"))),
        PatchErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_programme(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Programme>(
        req,
        caller,
        state,
        Action::EditRunningWork,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a programme no project is financed under.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Programme id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the programme still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_programme(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Programme>(req, caller, state, Action::EditRunningWork, id.into_inner()).await
}

crate::upsert_routes! {
    record = Programme, input = ProgrammeInput, tag = "programmes",
    scheme = "External id scheme: `cci` for the CCI code, e.g. `2021TC16RFTN001`",
    #[doc = " Create or replace a programme by its external id (for integrators), usually its CCI code:"]
    #[doc = " `PUT /v1/programmes/by-external-id/cci/2021TC16RFTN001`."]
    #[doc = ""]
    #[doc = " The body is the source's record. A replace writes the source-owned fields and keeps the"]
    #[doc = " region-owned ones (each field's description says which), and of the external ids keeps those"]
    #[doc = " of other schemes. Identical source fields write nothing. A body whose `source_updated_at` is"]
    #[doc = " older than the stored one is refused (409) and changes nothing."]
    upsert_programme,
    #[doc = " Create or replace up to 1000 programmes by external id, each on its own (207, a result per"]
    #[doc = " item), as `PUT .../by-external-id` does: the source-owned fields are written, the"]
    #[doc = " region-owned kept. Items whose source fields equal what is stored are `unchanged` and write"]
    #[doc = " nothing; an item older than the stored one (`source_updated_at`) fails with a 409 problem"]
    #[doc = " and writes nothing; with `?dry_run=true` nothing is written at all."]
    bulk_upsert_programmes,
}

/// The routes under `/v1/programmes`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_programmes)
        .service(create_programme)
        .service(upsert_programme)
        .service(bulk_upsert_programmes)
        .service(get_programme)
        .service(patch_programme)
        .service(delete_programme);
}
