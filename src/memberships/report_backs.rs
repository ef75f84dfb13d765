//! Report-backs: a representative's report to the body that appointed them, under a membership.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    access::DecidingBody,
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{schema::report_backs, DbConnection},
    error::{ApiError, ApiResult},
    model::{new_id, now, utc, Checks},
    versioned_store,
};

/// A representative's report back from a network's meeting: its writable fields and the
/// service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportBack {
    pub id: String,
    /// The membership reported on (set by the path it was created under).
    pub membership_id: String,
    #[serde(flatten)]
    pub fields: ReportBackInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(ReportBack, ReportBackInput);

impl Resource for ReportBack {
    crate::resource_keys!(ReportBack);
}

/// The writable fields of a report-back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBackInput {
    /// The day of the report.
    pub date: NaiveDate,
    /// The meeting reported on, 1-300 characters.
    pub meeting: String,
    /// 1-20 000 characters.
    pub summary: String,
    /// The body reported to.
    pub reported_to: DecidingBody,
    /// At most 200 characters.
    #[serde(default)]
    pub author: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = report_backs, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    membership_id: String,
    date: NaiveDate,
    meeting: String,
    summary: String,
    reported_to: String,
    author: Option<String>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(report_backs, Row);

impl Row {
    fn of(r: &ReportBack) -> Self {
        Row {
            id: r.id.clone(),
            membership_id: r.membership_id.clone(),
            date: r.date,
            meeting: r.meeting.clone(),
            summary: r.summary.clone(),
            reported_to: r.reported_to.as_str().into(),
            author: r.author.clone(),
            version: r.version,
            created_at: r.created_at.naive_utc(),
            updated_at: r.updated_at.naive_utc(),
            deleted_at: None,
        }
    }

    fn into_api(self) -> ApiResult<ReportBack> {
        Ok(ReportBack {
            fields: ReportBackInput {
                reported_to: DecidingBody::parse(&self.reported_to)
                    .ok_or_else(|| ApiError::internal("stored reported_to"))?,
                date: self.date,
                meeting: self.meeting,
                summary: self.summary,
                author: self.author,
            },
            id: self.id,
            membership_id: self.membership_id,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// A page of a membership's report-backs.
#[derive(Clone)]
pub struct Filter {
    pub membership_id: String,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

// A page of a membership's report-backs, after the membership's own lookup (404 when gone).
crate::page_query!(
    Filter,
    report_backs,
    Row,
    |q, f| {
        q = q.filter(report_backs::membership_id.eq(f.membership_id.clone()));
    },
    first | conn,
    f | {
        crate::memberships::load(conn, &f.membership_id)?;
    }
);

/// A live report-back of this membership, or 404.
pub fn load_of(conn: &mut DbConnection, membership_id: &str, id: &str) -> ApiResult<ReportBack> {
    let r = ReportBack::load(conn, id)?;
    if r.membership_id != membership_id {
        return Err(ApiError::NotFound(format!(
            "membership {membership_id} has no report-back {id}"
        )));
    }
    Ok(r)
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    membership_id: &str,
    i: ReportBackInput,
) -> ApiResult<ReportBack> {
    crate::memberships::load(conn, membership_id)?;
    let t = utc(now());
    let r = ReportBack {
        id: new_id(),
        membership_id: membership_id.to_string(),
        fields: i,
        version: 1,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(report_backs::table)
        .values(Row::of(&r))
        .execute(conn)?;
    changes::record(conn, actor, Change::Created(&r))?;
    Ok(r)
}

impl crate::crud::Listed for ReportBack {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(_: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        rows.into_iter().map(Row::into_api).collect()
    }
}

impl Entity for ReportBack {
    crate::live_version!(report_backs);
    type Input = ReportBackInput;
    const COLLECTION: &'static str = "/v1/memberships";
    const READ_ONLY: &'static [&'static str] = &["membership_id"];

    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self> {
        report_backs::table
            .filter(report_backs::id.eq(id))
            .filter(report_backs::deleted_at.is_null())
            .select(Row::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ApiError::NotFound(format!("no report-back with id {id}")))?
            .into_api()
    }

    fn input(&self) -> ReportBackInput {
        self.fields.clone()
    }

    fn check(i: &ReportBackInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("meeting", Some(&i.meeting), true, 300);
        c.text("summary", Some(&i.summary), true, 20_000);
        c.text("author", i.author.as_deref(), false, 200);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: ReportBackInput,
    ) -> ApiResult<Self> {
        let after = ReportBack {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after))?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}
