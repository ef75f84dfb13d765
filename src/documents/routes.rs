//! `/v1/documents`: list, get, create, merge-patch, delete, and the actions propose, adopt,
//! revisions and an action plan's next year.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    crud,
    db::{self, schema::documents},
    error::ApiResult,
    goals,
    http::{self, IfMatch},
    model::{parse_time_param, Checks},
    pagination::Page,
    responses::errors::*,
    state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentListQuery {
    /// Only documents of this kind.
    #[param(value_type = Option<DocumentKind>)]
    kind: Option<String>,
    /// Only documents in this status.
    #[param(value_type = Option<DocumentStatus>)]
    status: Option<String>,
    /// Only documents for this year (action plans).
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    /// Only documents changed at or after this RFC 3339 time. The page is then ordered by
    /// when they changed (oldest change first): one changed while you page comes again later.
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List governing documents.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(DocumentListQuery),
    responses(
        (status = 200, description = "A page of documents", body = Page<Document>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_documents(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<DocumentListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let year = match q.year.as_deref() {
        None => None,
        Some(s) => match s.parse::<i32>() {
            Ok(y) if (1900..=2200).contains(&y) => Some(y),
            _ => {
                return Err(ApiError::validation(
                    "year",
                    "must be a year from 1900 to 2200",
                ))
            }
        },
    };
    let filter = Filter {
        kind: q
            .kind
            .as_deref()
            .map(|s| DocumentKind::from_query("kind", s))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| DocumentStatus::from_query("status", s))
            .transpose()?,
        year,
        updated_since: q
            .updated_since
            .as_deref()
            .map(|s| parse_time_param("updated_since", s))
            .transpose()?,
        after: None,
        limit: 0,
    };
    let scope = format!(
        "documents|{:?}|{:?}|{:?}|{:?}",
        filter.kind, filter.status, filter.year, q.updated_since
    );
    crud::list::<Document, _>(
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

/// Get one document.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the caller holds"),
           crate::as_of::AsOfQuery),
    responses(
        (status = 200, description = "The document", body = Document,
            headers(("ETag" = String, description = "Strong ETag of this version"))),
        (status = 304, description = "The caller's copy is current"),
        GetErrors,
    )
)]
#[get("/{id}")]
pub async fn get_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::get::<Document>(req, caller, state, id.into_inner()).await
}

/// Create a draft document.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    request_body(content = DocumentInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created as a draft", body = Document,
            headers(("Location" = String, description = "The new document's URL"),
                    ("ETag" = String, description = "Strong ETag of this version"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::create::<Document>(req, caller, state, Action::DraftDocument, body).await
}

/// Change a document that is not adopted (JSON merge patch).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id"),
           ("If-Match" = Option<String>, Header, description = "Apply only if the document still has this ETag")),
    request_body(content = DocumentInput, content_type = "application/merge-patch+json",
        description = "Any subset of the writable fields; null removes an optional field"),
    responses(
        (status = 200, description = "The changed document", body = Document,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[patch("/{id}")]
pub async fn patch_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crud::patch::<Document>(
        req,
        caller,
        state,
        Action::DraftDocument,
        id.into_inner(),
        body,
    )
    .await
}

/// Delete a draft document (and its goals, and an action plan's activities).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the document still has this ETag")),
    responses(
        (status = 204, description = "Deleted; a tombstone stays in the change feed"),
        StatefulErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    crud::delete::<Document>(req, caller, state, Action::DraftDocument, id.into_inner()).await
}

/// Propose a draft document for decision (draft -> proposed).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the document still has this ETag")),
    request_body(content = Option<crate::http::EmptyBody>, content_type = "application/json",
        description = "None, or an empty object"),
    responses(
        (status = 200, description = "The proposed document", body = Document,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/propose")]
pub async fn propose_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::ProposeDocument)?;
    http::no_body(&req, &body)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let id = id.into_inner();
    let doc = db::write(&state.pool, move |conn| {
        let before = load(conn, &id)?;
        if_match.check(before.version)?;
        if before.status != DocumentStatus::Draft {
            return Err(ApiError::Conflict(format!(
                "only a draft can be proposed; this document is {}",
                before.status.as_str()
            )));
        }
        let after = Document {
            status: DocumentStatus::Proposed,
            ..before.clone()
        };
        update(conn, &actor, "propose", &before, after)
    })
    .await?;
    Ok(http::written(doc.version, &doc))
}

/// Adopt a proposed document, recording the decision. The council adopts `policy` and
/// `goal_document`; the board adopts `guideline`, `programme` and `action_plan`. Adopting a
/// revision marks the document it revises `superseded`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id"),
           ("If-Match" = Option<String>, Header, description = "Act only if the document still has this ETag")),
    request_body(content = AdoptRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The adopted document", body = Document,
            headers(("ETag" = String, description = "Strong ETag of the new version"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/adopt")]
pub async fn adopt_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    // The kind, and so the deciding body, is checked once the document is loaded.
    caller.require(Action::AdoptSomeDocument)?;
    let adopt: AdoptRequest = http::from_value(http::json_value(&req, &body, false)?)?;
    let mut c = Checks::default();
    c.text("reference", Some(&adopt.reference), true, 200);
    c.finish()?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let id = id.into_inner();
    let doc = db::write(&state.pool, move |conn| {
        let before = load(conn, &id)?;
        // A revision is decided by the body that decides its original (the kinds agree, as a
        // kind never changes; both are checked so that no path can move a decision).
        let original = before
            .revision_of
            .as_deref()
            .map(|o| load(conn, o))
            .transpose()?;
        caller.require(Action::AdoptDocument(before.kind.deciding_body()))?;
        if let Some(o) = &original {
            caller.require(Action::AdoptDocument(o.kind.deciding_body()))?;
        }
        if_match.check(before.version)?;
        if before.status != DocumentStatus::Proposed {
            return Err(ApiError::Conflict(format!(
                "only a proposed document can be adopted; this one is {}",
                before.status.as_str()
            )));
        }
        ensure_one_plan_in_force(conn, &before, original.as_ref())?;
        let body = before.kind.deciding_body();
        if adopt.body.is_some_and(|b| b != body) {
            return Err(ApiError::validation(
                "body",
                format!(
                    "a {} is adopted by the {}",
                    before.kind.as_str(),
                    body.as_str()
                ),
            ));
        }
        let mut after = Document {
            status: DocumentStatus::Adopted,
            decision: Some(Decision {
                body,
                date: adopt.date,
                reference: adopt.reference.trim().to_string(),
            }),
            ..before.clone()
        };
        after.fields.valid_from = adopt.valid_from.or(before.valid_from).or(Some(adopt.date));
        let adopted = update(conn, &actor, "adopt", &before, after)?;
        if let Some(old) = original {
            if old.status == DocumentStatus::Adopted {
                let superseded = Document {
                    status: DocumentStatus::Superseded,
                    superseded_by: Some(adopted.id.clone()),
                    ..old.clone()
                };
                update(conn, &actor, "supersede", &old, superseded)?;
            }
        }
        Ok(adopted)
    })
    .await?;
    Ok(http::written(doc.version, &doc))
}

/// Which activities of an action plan a copy of it takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarryOver {
    /// Every activity.
    #[default]
    All,
    /// The open ones: neither `completed` nor `cancelled`.
    Open,
}

/// The body of `revisions` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionRequest {
    /// For an action plan: its activities the revision takes (default `all`).
    #[serde(default)]
    pub activities: CarryOver,
}

/// The body of `next-year`: the new plan's year and title, when not the defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextYearRequest {
    /// Default: the plan's year plus one.
    #[serde(default)]
    #[schema(example = 2028)]
    pub year: Option<i32>,
    /// Default: the plan's title with its year replaced by the new one.
    #[serde(default)]
    #[schema(example = "Internationell handlingsplan 2028")]
    pub title: Option<String>,
}

/// A new draft copy of `original` as `input` says, with its goal tree and, for an action plan,
/// its activities (`carry`), linked to the copied goals.
fn copy_document(
    conn: &mut crate::db::DbConnection,
    actor: &crate::changes::Actor,
    original: &Document,
    input: DocumentInput,
    revision_of: Option<String>,
    carry: CarryOver,
) -> ApiResult<Document> {
    let copy = insert(conn, actor, input, revision_of)?;
    let goal_copies = goals::copy_tree(conn, actor, &original.id, &copy.id)?;
    if original.kind == DocumentKind::ActionPlan {
        crate::activities::copy_to_plan(
            conn,
            actor,
            &original.id,
            &copy.id,
            &goal_copies,
            carry == CarryOver::Open,
        )?;
    }
    Ok(copy)
}

/// A body that may be absent, `null` or `{}` (the default).
fn optional_body<T: Default + serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> ApiResult<T> {
    if http::no_body(req, body).is_ok() {
        return Ok(T::default());
    }
    http::from_value(http::json_value(req, body, false)?)
}

/// Start a revision: a new draft copy of an adopted document and its goals (and, for an action
/// plan, its activities, linked to the copied goals: all of them, or with `{"activities":
/// "open"}` those neither completed nor cancelled). Adopting the revision supersedes the
/// original; it is adopted by the body that decides the original's kind.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Id of the adopted document to revise"),
           ("If-Match" = Option<String>, Header, description = "Act only if the document still has this ETag")),
    request_body(content = Option<RevisionRequest>, content_type = "application/json",
        description = "None, an empty object, or which activities of an action plan to take"),
    responses(
        (status = 201, description = "The new draft revision", body = Document,
            headers(("Location" = String, description = "The revision's URL"),
                    ("ETag" = String, description = "Strong ETag of the revision"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/revisions")]
pub async fn revise_document(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::ReviseDocument)?;
    let request: RevisionRequest = optional_body(&req, &body)?;
    let actor = state.actor(&req, &caller);
    let if_match = IfMatch::of(&req);
    let id = id.into_inner();
    let doc = db::write(&state.pool, move |conn| {
        let original = load(conn, &id)?;
        if_match.check(original.version)?;
        match original.status {
            DocumentStatus::Adopted => {}
            DocumentStatus::Superseded => {
                return Err(ApiError::Conflict(format!(
                    "this document is superseded by {}; revise that one",
                    original.superseded_by.as_deref().unwrap_or("a later version")
                )))
            }
            s => {
                return Err(ApiError::Conflict(format!(
                    "only an adopted document can be revised; this one is {} and can be edited directly",
                    s.as_str()
                )))
            }
        }
        let open: Option<String> = documents::table
            .filter(documents::revision_of.eq(&original.id))
            .filter(documents::deleted_at.is_null())
            .filter(documents::status.eq_any([DocumentStatus::Draft.as_str(), DocumentStatus::Proposed.as_str()]))
            .select(documents::id)
            .first(conn)
            .optional()?;
        if let Some(open) = open {
            return Err(ApiError::Conflict(format!(
                "revision {open} of this document is already open; continue that one"
            )));
        }
        let mut input = original.fields.clone();
        input.document_version = original.document_version.map(|v| v + 1);
        input.valid_from = None;
        let revision_of = Some(original.id.clone());
        copy_document(conn, &actor, &original, input, revision_of, request.activities)
    })
    .await?;
    Ok(http::created(
        format!("/v1/documents/{}", doc.id),
        doc.version,
        &doc,
    ))
}

/// Start next year's action plan from this one: a new draft plan for the year after (or
/// `year`), with this plan's goal tree (its sub-goals) copied, and its open activities (neither
/// completed nor cancelled) carried over with their goal links, in one request. The new plan
/// is a plan of its own, not a revision: it supersedes nothing when adopted.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Id of the action plan to start from")),
    request_body(content = Option<NextYearRequest>, content_type = "application/json",
        description = "None, an empty object, or the new plan's year and title"),
    responses(
        (status = 201, description = "The new draft plan", body = Document,
            headers(("Location" = String, description = "The new plan's URL"),
                    ("ETag" = String, description = "Strong ETag of the new plan"))),
        PatchStatefulErrors,
    )
)]
#[post("/{id}/next-year")]
pub async fn start_next_year(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Action::DraftDocument)?;
    let request: NextYearRequest = optional_body(&req, &body)?;
    let actor = state.actor(&req, &caller);
    let id = id.into_inner();
    let doc = db::write(&state.pool, move |conn| {
        let plan = load(conn, &id)?;
        if plan.kind != DocumentKind::ActionPlan {
            return Err(ApiError::Conflict(format!(
                "only an action plan starts a next year's plan; this is a {}",
                plan.kind.as_str()
            )));
        }
        let year = request.year.or(plan.year.map(|y| y + 1));
        let title = request.title.unwrap_or_else(|| match (plan.year, year) {
            (Some(old), Some(new)) => plan.title.replace(&old.to_string(), &new.to_string()),
            _ => plan.title.clone(),
        });
        let input = DocumentInput {
            kind: DocumentKind::ActionPlan,
            title,
            year,
            document_version: Some(1),
            valid_from: None,
            ..plan.fields.clone()
        };
        input.validate()?;
        copy_document(conn, &actor, &plan, input, None, CarryOver::Open)
    })
    .await?;
    Ok(http::created(
        format!("/v1/documents/{}", doc.id),
        doc.version,
        &doc,
    ))
}

/// The routes under `/v1/documents`, in the order the router tries them.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_documents)
        .service(create_document)
        .service(get_document)
        .service(patch_document)
        .service(delete_document)
        .service(propose_document)
        .service(adopt_document)
        .service(revise_document)
        .service(start_next_year);
}
