//! Positions (ställningstaganden): the board's political positions and other decisions in the
//! running international work that adopt no document ("andra ställningstaganden i det löpande
//! arbetet, vilka kräver politiska beslut"). Each is a decision of the board, in the register.

pub mod routes;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    access::{DecidingBody, Decision},
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{positions, resource_links},
        DbConnection,
    },
    error::{ApiError, ApiResult},
    goals, links,
    model::{new_id, now, utc, Checks},
    versioned_store,
};

const GOAL: &str = "goal";

/// A position: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Position {
    pub id: String,
    #[serde(flatten)]
    pub fields: PositionInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Position, PositionInput);

impl Resource for Position {
    crate::resource_keys!(Position);
    fn decision(&self) -> Option<&Decision> {
        Some(&self.decision)
    }
    fn decision_summary(
        &self,
        _conn: &mut DbConnection,
        _kind: crate::decisions::DecisionKind,
    ) -> ApiResult<String> {
        Ok(format!("Tog ställning: \"{}\"", self.title))
    }
}

/// The writable fields of a position. A changed decision (a correction of its date or
/// reference) enters the register again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// 1-300 characters.
    #[schema(example = "Regionens hållning till EU:s sammanhållningspolitik efter 2027")]
    pub title: String,
    /// The position in full, 1-20 000 characters.
    pub text: String,
    /// The goals of the policy or a goal document the position concerns.
    #[serde(default)]
    pub goal_ids: Vec<String>,
    /// The board's decision: `body` is `board`.
    pub decision: Decision,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = positions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    title: String,
    text: String,
    decision_body: String,
    decision_date: chrono::NaiveDate,
    decision_reference: String,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(positions, Row);

impl Row {
    fn of(p: &Position) -> Self {
        Row {
            id: p.id.clone(),
            title: p.title.clone(),
            text: p.text.clone(),
            decision_body: p.decision.body.as_str().into(),
            decision_date: p.decision.date,
            decision_reference: p.decision.reference.clone(),
            version: p.version,
            created_at: p.created_at.naive_utc(),
            updated_at: p.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Position>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut links = links::links_of(conn, Position::TYPE, &ids)?;
    rows.into_iter()
        .map(|r| {
            let decision = Decision::from_columns((
                Some(r.decision_body),
                Some(r.decision_date),
                Some(r.decision_reference),
            ))?
            .ok_or_else(|| ApiError::internal("a position without its decision"))?;
            Ok(Position {
                fields: PositionInput {
                    goal_ids: links.take(GOAL, &r.id),
                    title: r.title,
                    text: r.text,
                    decision,
                },
                id: r.id,
                version: r.version,
                created_at: utc(r.created_at),
                updated_at: utc(r.updated_at),
            })
        })
        .collect()
}

#[derive(Clone)]
pub struct Filter {
    pub goal_id: Option<String>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, positions, Row, |q, f| {
    if let Some(g) = &f.goal_id {
        q = q.filter(
            positions::id.eq_any(
                resource_links::table
                    .filter(resource_links::resource_type.eq(Position::TYPE))
                    .filter(resource_links::rel.eq(GOAL))
                    .filter(resource_links::target.eq(g.clone()))
                    .select(resource_links::resource_id),
            ),
        );
    }
});

impl crate::crud::Listed for Position {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

/// The goals `i` links that `before` did not.
fn check_refs(
    conn: &mut DbConnection,
    i: &PositionInput,
    before: Option<&Position>,
) -> ApiResult<()> {
    let errors = goals::check_goal_links(
        conn,
        &i.goal_ids,
        &[],
        before.map(|b| (&b.goal_ids[..], &[][..])),
    )?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

impl Entity for Position {
    crate::live_version!(positions);
    type Input = PositionInput;
    const COLLECTION: &'static str = "/v1/positions";
    const READ_ONLY: &'static [&'static str] = &[];

    crate::load_live!(positions, "position");

    fn check(i: &PositionInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("title", Some(&i.title), true, 300);
        c.text("text", Some(&i.text), true, 20_000);
        c.id_list("goal_ids", &i.goal_ids, 50);
        if i.decision.body != DecidingBody::Board {
            c.add("decision.body", "a position is the board's decision: board");
        }
        c.text("decision.reference", Some(&i.decision.reference), true, 200);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: PositionInput,
    ) -> ApiResult<Self> {
        check_refs(conn, &i, Some(before))?;
        let after = Position {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after))?;
        links::set_links(
            conn,
            Position::TYPE,
            &after.id,
            GOAL,
            &before.goal_ids,
            &after.goal_ids,
        )?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(_conn: &mut DbConnection, _actor: &Actor, before: &Self) -> ApiResult<()> {
        Err(ApiError::Conflict(format!(
            "position {} is a decision in the register and stays; record a new position to change the region's",
            before.id
        )))
    }
}

impl crate::crud::Creatable for Position {
    fn create(conn: &mut DbConnection, actor: &Actor, i: PositionInput) -> ApiResult<Self> {
        check_refs(conn, &i, None)?;
        let t = utc(now());
        let p = Position {
            id: new_id(),
            fields: i,
            version: 1,
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(positions::table)
            .values(Row::of(&p))
            .execute(conn)?;
        links::set_links(conn, Position::TYPE, &p.id, GOAL, &[], &p.goal_ids)?;
        changes::record(conn, actor, Change::Created(&p))?;
        Ok(p)
    }
}
