//! `/v1/organisations`: list, get, create, merge-patch, delete, and upsert by external id.

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
pub struct OrganisationListQuery {
    /// Only organisations of this kind.
    #[param(value_type = Option<OrganisationKind>)]
    kind: Option<String>,
    /// Only organisations in this country (ISO 3166-1 alpha-2).
    country: Option<String>,
    /// With `external_id_value`: the organisation holding this external id.
    external_id_scheme: Option<String>,
    external_id_value: Option<String>,
    /// Only organisations changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List organisations.
#[utoipa::path(
    tag = "organisations",
    security(("bearer" = [])),
    params(OrganisationListQuery),
    responses(
        (status = 200, description = "A page of organisations", body = Page<Organisation>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_organisations(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<OrganisationListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = Filter {
        kind: q
            .kind
            .as_deref()
            .map(|s| OrganisationKind::from_query("kind", s))
            .transpose()?,
        country: q.country,
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
        "organisations|{:?}|{:?}|{:?}|{:?}",
        filter.kind, filter.country, filter.external_id, q.updated_since
    );
    crud::list::<Organisation, _>(
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

/// Get one organisation.
#[utoipa::path(
    tag = "organisations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Organisation id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The organisation", body = Organisation,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_organisation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Organisation>(req, caller, state, id.into_inner()).await
}

/// Create an organisation.
#[utoipa::path(
    tag = "organisations",
    security(("bearer" = [])),
    request_body(content = OrganisationInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Organisation,
            headers(("Location" = String, description = "The new organisation's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_organisation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Organisation>(req, caller, state, Action::EditRunningWork, body).await
}

/// Change an organisation (JSON merge patch).
#[utoipa::path(
    tag = "organisations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Organisation id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the organisation still has this ETag")),
    request_body(content = OrganisationInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed organisation", body = Organisation,
            headers(("ETag" = String, description = "Strong ETag of the new version"),
                    ("Sync-Overwrites" = Option<String>, description = "On a synced organisation (one with `source_updated_at`): the source-owned fields this change set, comma-separated. The next sync from the source overwrites them; to keep a value, change it at the source"))),
        PatchErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_organisation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Organisation>(
        req,
        caller,
        state,
        Action::EditRunningWork,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete an organisation no membership or project points at.
#[utoipa::path(
    tag = "organisations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Organisation id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the organisation still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_organisation(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Organisation>(req, caller, state, Action::EditRunningWork, id.into_inner()).await
}

crate::upsert_routes! {
    record = Organisation, input = OrganisationInput, tag = "organisations",
    scheme = "External id scheme, e.g. `kohesio`",
    #[doc = " Create or replace an organisation by its external id (for integrators)."]
    #[doc = ""]
    #[doc = " The body is the source's record. A replace writes the source-owned fields and keeps the"]
    #[doc = " region-owned ones (each field's description says which), and of the external ids keeps those"]
    #[doc = " of other schemes. Identical source fields write nothing. A body whose `source_updated_at` is"]
    #[doc = " older than the stored one is refused (409) and changes nothing."]
    upsert_organisation,
    #[doc = " Create or replace up to 1000 organisations by external id, each on its own (207, a result per"]
    #[doc = " item), as `PUT .../by-external-id` does: the source-owned fields are written, the"]
    #[doc = " region-owned kept. Items whose source fields equal what is stored are `unchanged` and write"]
    #[doc = " nothing; an item older than the stored one (`source_updated_at`) fails with a 409 problem"]
    #[doc = " and writes nothing; with `?dry_run=true` nothing is written at all."]
    bulk_upsert_organisations,
}

/// The routes under `/v1/organisations`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_organisations)
        .service(create_organisation)
        .service(upsert_organisation)
        .service(bulk_upsert_organisations)
        .service(get_organisation)
        .service(patch_organisation)
        .service(delete_organisation);
}
