//! `GET /v1/changes`: every create, update and delete of every resource, in commit order.
//! Events are written by the one write path in the same transaction as the change, and a
//! reader that has seen `seq = n` can never later find a committed event with a smaller `seq`.
//! SQLite has one writer at a time. PostgreSQL's writers commit side by side: each holds a lock
//! named after its floor, a seq below every seq it draws, and a page stops below the lowest
//! floor still held and below every seq not yet drawn (migration
//! feed_order_without_commit_lock).

pub mod routes;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    db::{self, schema::change_events},
    error::ApiResult,
};

pub const MAX_LIMIT: i64 = 1000;
pub const DEFAULT_LIMIT: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEvent {
    /// Position in the feed; increases in commit order.
    pub seq: i64,
    #[schema(example = "project")]
    pub resource_type: String,
    pub resource_id: String,
    /// `created`, `updated` or `deleted`.
    #[schema(example = "updated")]
    pub op: String,
    /// The record's version after the change.
    pub version: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The record as it stood after the change; null for a delete.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<serde_json::value::RawValue>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = change_events)]
struct Row {
    seq: i64,
    // Read by hand on SQLite: chrono's format strings were a tenth of a page's CPU (perf).
    #[diesel(deserialize_as = db::FastTimestamp)]
    at: chrono::NaiveDateTime,
    resource_type: String,
    resource_id: String,
    op: String,
    version: i64,
    data: Option<String>,
}

/// The newest event a reader of the feed can see now (its seq and time), for `/metrics`: on
/// PostgreSQL below the commit floor, so a consumer's lag does not count commits in flight.
/// Like the feed, no transaction around it (a statement after the floor's sees all below it).
pub fn readable_head(
    conn: &mut db::DbConnection,
) -> ApiResult<Option<(i64, chrono::NaiveDateTime)>> {
    Ok(visible(conn)?
        .order(change_events::seq.desc())
        .select((change_events::seq, change_events::at))
        .first(conn)
        .optional()?)
}

/// The change events a statement started after this call may show: on PostgreSQL those below
/// the commit floor (`commit_floor`), on SQLite all. Every reader of the feed starts here.
fn visible(
    conn: &mut db::DbConnection,
) -> ApiResult<change_events::BoxedQuery<'static, <db::DbConnection as diesel::Connection>::Backend>>
{
    let query = change_events::table.into_boxed();
    Ok(match commit_floor(conn)? {
        Some(floor) => query.filter(change_events::seq.lt(floor)),
        None => query,
    })
}

/// On PostgreSQL, the seq below which every event is already visible or never will be
/// (migration feed_order_without_commit_lock): a statement that starts after this one sees all
/// of them. `None` on SQLite, whose one writer commits in seq order.
fn commit_floor(conn: &mut db::DbConnection) -> ApiResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Floor {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        floor: Option<i64>,
    }
    if !db::is_postgres(conn) {
        return Ok(None);
    }
    let row: Floor = diesel::sql_query("SELECT change_feed_floor() AS floor").get_result(conn)?;
    Ok(row.floor)
}
