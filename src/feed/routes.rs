//! `GET /v1/changes`: the feed, keyset-paged by `seq`, for every role.

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::{
    access::Action,
    auth::Caller,
    db::{self, schema::change_events},
    error::{ApiError, ApiResult},
    model::{utc, ResourceType},
    pagination::{self, CursorKey},
    responses::errors::*,
    state::AppState,
};

/// A page of the feed.
#[derive(Serialize, ToSchema)]
pub struct ChangePage {
    /// In `seq` order. Fewer than `limit` while a write is committing: the page ends before
    /// the events after it, so a short page means "poll again from `next_cursor`".
    pub items: Vec<ChangeEvent>,
    /// Pass as `after` to continue. Never null: at the end of the feed it marks where to poll
    /// from next.
    pub next_cursor: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// The `next_cursor` of the previous page; omit to start at the beginning.
    after: Option<String>,
    /// Only events of this resource type.
    #[param(value_type = Option<ResourceType>, example = "project")]
    resource_type: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// Follow every change to every resource, in commit order (deletes as tombstones).
#[utoipa::path(
    tag = "changes",
    security(("bearer" = [])),
    params(ChangeQuery),
    responses(
        (status = 200, description = "A page of change events", body = ChangePage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when more events are already there"))),
        ListErrors,
    )
)]
#[get("/changes")]
pub async fn list_changes(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ChangeQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Action::Read)?;
    let q = q.into_inner();
    let resource_type = q
        .resource_type
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|t| ResourceType::from_query("resource_type", t).map(|t| t.as_str().to_string()))
        .transpose()?;
    let limit = crate::model::int_param("limit", q.limit.as_deref(), 1, MAX_LIMIT)?
        .unwrap_or(DEFAULT_LIMIT);
    let scope = format!("changes|{}", resource_type.as_deref().unwrap_or(""));
    let after = match q.after.as_deref().filter(|s| !s.is_empty()) {
        None => 0,
        Some(c) => cursor_seq(&state.cursor_key, &scope, c)?,
    };
    // No transaction around the statements: on PostgreSQL the page must be read with a
    // snapshot taken after the floor was read, and on SQLite one statement is its own snapshot.
    let (items, last) = db::query(&state.pool, move |conn| {
        let mut query = visible(conn)?
            .filter(change_events::seq.gt(after))
            .order(change_events::seq.asc());
        if let Some(t) = &resource_type {
            query = query.filter(change_events::resource_type.eq(t.clone()));
        }
        let rows: Vec<Row> = crate::load_page!(query.select(Row::as_select()), conn, limit)?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(ChangeEvent {
                    seq: r.seq,
                    at: utc(r.at),
                    resource_type: r.resource_type,
                    resource_id: r.resource_id,
                    op: r.op,
                    version: r.version,
                    // Stored as the JSON the write path rendered: passed on as it is (checked,
                    // not parsed into a tree and written out again).
                    data: r
                        .data
                        .map(serde_json::value::RawValue::from_string)
                        .transpose()
                        .map_err(ApiError::internal)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let last = items.last().map(|e| e.seq).unwrap_or(after);
        Ok((items, last))
    })
    .await?;
    let full = items.len() as i64 == limit;
    let next_cursor = pagination::sign_position(&state.cursor_key, &scope, &last.to_string());
    let mut res = HttpResponse::Ok();
    if full {
        let mut query = format!("after={next_cursor}&limit={limit}");
        if let Some(t) = q.resource_type.as_deref().filter(|s| !s.is_empty()) {
            query.push_str(&format!("&resource_type={t}"));
        }
        res.insert_header(("Link", format!("<{}?{query}>; rel=\"next\"", req.path())));
    }
    Ok(res.json(ChangePage { items, next_cursor }))
}

fn cursor_seq(key: &CursorKey, scope: &str, cursor: &str) -> ApiResult<i64> {
    pagination::verify_position(key, scope, cursor)?
        .parse::<i64>()
        .map_err(|_| {
            ApiError::BadRequest(
                "the cursor is not valid for this query; start again without one".into(),
            )
        })
}
