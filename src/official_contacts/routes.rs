//! `/v1/official-contacts`: list, get, create, merge-patch, delete.

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
pub struct OfficialContactListQuery {
    /// Only contacts of this kind.
    #[param(value_type = Option<ContactKind>)]
    kind: Option<String>,
    /// Only contacts with this counterpart organisation.
    organisation_id: Option<String>,
    /// Only contacts that served this goal.
    goal_id: Option<String>,
    /// Only contacts changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List official contacts.
#[utoipa::path(
    tag = "official-contacts",
    security(("bearer" = [])),
    params(OfficialContactListQuery),
    responses(
        (status = 200, description = "A page of official contacts", body = Page<OfficialContact>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_official_contacts(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<OfficialContactListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = Filter {
        kind: q
            .kind
            .as_deref()
            .map(|s| ContactKind::from_query("kind", s))
            .transpose()?,
        organisation_id: q.organisation_id,
        goal_id: q.goal_id,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "official-contacts|{:?}|{:?}|{:?}|{:?}",
        filter.kind, filter.organisation_id, filter.goal_id, q.updated_since
    );
    crud::list::<OfficialContact, _>(
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

/// Get one official contact.
#[utoipa::path(
    tag = "official-contacts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Official contact id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The official contact", body = OfficialContact,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_official_contact(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<OfficialContact>(req, caller, state, id.into_inner()).await
}

/// Create an official contact.
#[utoipa::path(
    tag = "official-contacts",
    security(("bearer" = [])),
    request_body(content = OfficialContactInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = OfficialContact,
            headers(("Location" = String, description = "The new official contact's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_official_contact(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<OfficialContact>(req, caller, state, Action::RecordOfficialContact, body).await
}

/// Change an official contact (JSON merge patch).
#[utoipa::path(
    tag = "official-contacts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Official contact id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the official contact still has this ETag")),
    request_body(content = OfficialContactInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed official contact", body = OfficialContact,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_official_contact(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<OfficialContact>(
        req,
        caller,
        state,
        Action::RecordOfficialContact,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete an official contact.
#[utoipa::path(
    tag = "official-contacts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Official contact id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the official contact still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        DeleteErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_official_contact(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<OfficialContact>(
        req,
        caller,
        state,
        Action::RecordOfficialContact,
        id.into_inner(),
    )
    .await
}

/// The routes under `/v1/official-contacts`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_official_contacts)
        .service(create_official_contact)
        .service(get_official_contact)
        .service(patch_official_contact)
        .service(delete_official_contact);
}
