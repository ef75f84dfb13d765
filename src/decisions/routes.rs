//! `GET /v1/decisions`: the register, filtered and keyset-paged, for every role.

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    db::schema::decisions,
    error::{ApiError, ApiResult},
    model::Checks,
    pagination,
    responses::errors::*,
    state::AppState,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    /// Only decisions of this body.
    #[param(value_type = Option<DecidingBody>)]
    body: Option<String>,
    /// Only decisions dated in this year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    /// Only decisions of this kind.
    #[param(value_type = Option<DecisionKind>)]
    kind: Option<String>,
    /// Only decisions about this record.
    resource_id: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The register of decisions: every adoption, approval and membership decision recorded, in
/// the order they were recorded.
#[utoipa::path(
    tag = "decisions",
    security(("bearer" = [])),
    params(DecisionQuery),
    responses(
        (status = 200, description = "A page of decisions", body = DecisionPage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when another page follows"))),
        ListErrors,
    )
)]
#[get("/decisions")]
pub async fn list_decisions(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<DecisionQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let mut c = Checks::default();
    let body = q.body.as_deref().and_then(|b| {
        let p = DecidingBody::parse(b);
        if p.is_none() {
            c.add("body", "must be council or board");
        }
        p
    });
    let kind = match q
        .kind
        .as_deref()
        .map(|k| DecisionKind::from_query("kind", k))
    {
        Some(Err(ApiError::Validation(mut e))) => {
            c.0.append(&mut e);
            None
        }
        other => other.transpose()?,
    };
    let year = c
        .int_param("year", q.year.as_deref(), 1900, 2200)
        .map(|y| y as i32);
    c.finish()?;
    let scope = format!("decisions|{body:?}|{year:?}|{kind:?}|{:?}", q.resource_id);
    let resource_id = q.resource_id;
    pagination::list(
        &req,
        &caller,
        &state,
        Action::Read,
        scope,
        q.limit.as_deref(),
        q.cursor.as_deref(),
        |d: &DecisionEntry| d.id.clone(),
        move |conn, after, limit| {
            let mut query = decisions::table
                .select(Row::as_select())
                .order(decisions::id.asc())
                .into_boxed();
            if let Some(b) = body {
                query = query.filter(decisions::body.eq(b.as_str()));
            }
            if let Some(y) = year {
                query = query.filter(decisions::year.eq(y));
            }
            if let Some(k) = kind {
                query = query.filter(decisions::kind.eq(k.as_str()));
            }
            if let Some(r) = resource_id {
                query = query.filter(decisions::resource_id.eq(r));
            }
            if let Some(a) = after {
                query = query.filter(decisions::id.gt(a));
            }
            crate::load_page!(query, conn, limit)?
                .into_iter()
                .map(Row::into_api)
                .collect()
        },
    )
    .await
}
