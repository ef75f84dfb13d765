//! `/v1/projects`: list, get, create, merge-patch, delete, and upsert by external id.

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
pub struct ProjectListQuery {
    #[param(value_type = Option<ProjectStatus>)]
    status: Option<String>,
    /// Only projects financed under this programme (its id).
    programme_id: Option<String>,
    /// Only projects where the region has this role.
    #[param(value_type = Option<PartnerRole>)]
    region_role: Option<String>,
    /// Only projects linked to this goal.
    goal_id: Option<String>,
    /// Only projects in this priority area.
    priority_area_id: Option<String>,
    /// Only projects with this partner organisation.
    organisation_id: Option<String>,
    /// With `external_id_value`: the project holding this external id.
    external_id_scheme: Option<String>,
    external_id_value: Option<String>,
    /// Only projects changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List projects.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(ProjectListQuery),
    responses(
        (status = 200, description = "A page of projects", body = Page<Project>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_projects(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ProjectListQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let filter = Filter {
        status: q
            .status
            .as_deref()
            .map(|s| ProjectStatus::from_query("status", s))
            .transpose()?,
        programme_id: q.programme_id,
        region_role: q
            .region_role
            .as_deref()
            .map(|s| PartnerRole::from_query("region_role", s))
            .transpose()?,
        goal_id: q.goal_id,
        priority_area_id: q.priority_area_id,
        organisation_id: q.organisation_id,
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
        "projects|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.status,
        filter.programme_id,
        filter.region_role,
        filter.goal_id,
        filter.priority_area_id,
        filter.organisation_id,
        filter.external_id,
        q.updated_since
    );
    crud::list::<Project, _>(
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

/// Get one project.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The project", body = Project,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_project(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Project>(req, caller, state, id.into_inner()).await
}

/// Create a project.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    request_body(content = ProjectInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Project,
            headers(("Location" = String, description = "The new project's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_project(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Project>(req, caller, state, Action::EditRunningWork, body).await
}

/// Change a project (JSON merge patch).
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the project still has this ETag")),
    request_body(content = ProjectInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed project", body = Project,
            headers(("ETag" = String, description = "Strong ETag of the new version"),
                    ("Sync-Overwrites" = Option<String>, description = "On a synced project (one with `source_updated_at`): the source-owned fields this change set, comma-separated. The next sync from the source overwrites them; to keep a value, change it at the source"))),
        PatchErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_project(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Project>(
        req,
        caller,
        state,
        Action::EditRunningWork,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a project.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the project still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        DeleteErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_project(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Project>(req, caller, state, Action::EditRunningWork, id.into_inner()).await
}

crate::upsert_routes! {
    record = Project, input = ProjectInput, tag = "projects",
    scheme = "External id scheme, e.g. `kohesio`",
    #[doc = " Create or replace a project by its external id (for integrators)."]
    #[doc = ""]
    #[doc = " The body is the source's record. A replace writes the source-owned fields and keeps the"]
    #[doc = " region-owned ones (each field's description says which), and of the external ids keeps those"]
    #[doc = " of other schemes. Identical source fields write nothing. A body whose `source_updated_at` is"]
    #[doc = " older than the stored one is refused (409) and changes nothing."]
    upsert_project,
    #[doc = " Create or replace up to 1000 projects by external id, each on its own (207, a result per"]
    #[doc = " item), as `PUT .../by-external-id` does: the source-owned fields are written, the"]
    #[doc = " region-owned kept. Items whose source fields equal what is stored are `unchanged` and write"]
    #[doc = " nothing; an item older than the stored one (`source_updated_at`) fails with a 409 problem"]
    #[doc = " and writes nothing; with `?dry_run=true` nothing is written at all."]
    bulk_upsert_projects,
}

/// The routes under `/v1/projects`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_projects)
        .service(create_project)
        .service(upsert_project)
        .service(bulk_upsert_projects)
        .service(get_project)
        .service(patch_project)
        .service(delete_project);
}
