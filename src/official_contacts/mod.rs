//! Official international contacts: visits, delegations and meetings in the region's name (the
//! board's duty "officiella internationella kontakter"), with the counterpart, the region's
//! participants by role, the purpose, the goals served and the follow-up.

pub mod routes;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{official_contacts, resource_links},
        DbConnection,
    },
    error::{ApiError, ApiResult, FieldError},
    goals, links,
    model::{new_id, now, utc, Checks},
    organisations, string_enum, versioned_store,
};

string_enum!(
    /// What kind of contact it was.
    ContactKind {
        Visit => "visit" / "besök",
        Delegation => "delegation" / "delegation",
        Meeting => "meeting" / "möte",
        Other => "other" / "annat",
    }
);

const GOAL: &str = "goal";

/// An official contact: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OfficialContact {
    pub id: String,
    #[serde(flatten)]
    pub fields: OfficialContactInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(OfficialContact, OfficialContactInput);

impl Resource for OfficialContact {
    crate::resource_keys!(OfficialContact);
}

/// The writable fields of an official contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficialContactInput {
    /// The day of the contact (its first day, for a visit of several).
    pub date: NaiveDate,
    pub kind: ContactKind,
    /// 1-300 characters.
    #[schema(example = "Delegation från Trøndelag fylkeskommune")]
    pub title: String,
    /// The counterpart, when it is an organisation the service holds.
    #[serde(default)]
    pub organisation_id: Option<String>,
    /// The counterpart in words (at most 300 characters), when it is not an organisation the
    /// service holds, or to say more (a ministry's department, an embassy's delegation).
    #[serde(default)]
    pub counterpart: Option<String>,
    /// ISO 3166-1 alpha-2 of the counterpart's country, e.g. `NO`.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{2}$", example = "NO")]
    pub country: Option<String>,
    /// The region's participants by role, not by name (e.g. `regionstyrelsens ordförande`):
    /// at most 20, each 1-200 characters.
    #[serde(default)]
    #[schema(example = json!(["regionstyrelsens ordförande", "internationell strateg"]))]
    pub participants: Vec<String>,
    /// Why the contact was made, at most 5 000 characters.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The goals of the policy or a goal document the contact served.
    #[serde(default)]
    pub goal_ids: Vec<String>,
    /// What was agreed or is to be done after it, at most 5 000 characters.
    #[serde(default)]
    pub follow_up: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = official_contacts, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    date: NaiveDate,
    kind: String,
    title: String,
    organisation_id: Option<String>,
    counterpart: Option<String>,
    country: Option<String>,
    participants: String,
    purpose: Option<String>,
    follow_up: Option<String>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(official_contacts, Row);

impl Row {
    fn of(c: &OfficialContact) -> ApiResult<Self> {
        Ok(Row {
            id: c.id.clone(),
            date: c.date,
            kind: c.kind.as_str().into(),
            title: c.title.clone(),
            organisation_id: c.organisation_id.clone(),
            counterpart: c.counterpart.clone(),
            country: c.country.clone(),
            participants: serde_json::to_string(&c.participants).map_err(ApiError::internal)?,
            purpose: c.purpose.clone(),
            follow_up: c.follow_up.clone(),
            version: c.version,
            created_at: c.created_at.naive_utc(),
            updated_at: c.updated_at.naive_utc(),
            deleted_at: None,
        })
    }
}

fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<OfficialContact>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut links = links::links_of(conn, OfficialContact::TYPE, &ids)?;
    rows.into_iter()
        .map(|r| {
            Ok(OfficialContact {
                fields: OfficialContactInput {
                    kind: ContactKind::from_db(&r.kind)?,
                    participants: serde_json::from_str(&r.participants)
                        .map_err(ApiError::internal)?,
                    goal_ids: links.take(GOAL, &r.id),
                    date: r.date,
                    title: r.title,
                    organisation_id: r.organisation_id,
                    counterpart: r.counterpart,
                    country: r.country,
                    purpose: r.purpose,
                    follow_up: r.follow_up,
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
    pub kind: Option<ContactKind>,
    pub organisation_id: Option<String>,
    pub goal_id: Option<String>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, official_contacts, Row, |q, f| {
    if let Some(k) = f.kind {
        q = q.filter(official_contacts::kind.eq(k.as_str()));
    }
    if let Some(o) = &f.organisation_id {
        q = q.filter(official_contacts::organisation_id.eq(o.clone()));
    }
    if let Some(g) = &f.goal_id {
        q = q.filter(
            official_contacts::id.eq_any(
                resource_links::table
                    .filter(resource_links::resource_type.eq(OfficialContact::TYPE))
                    .filter(resource_links::rel.eq(GOAL))
                    .filter(resource_links::target.eq(g.clone()))
                    .select(resource_links::resource_id),
            ),
        );
    }
});

impl crate::crud::Listed for OfficialContact {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

/// The references `i` sets that `before` (the contact before an update) did not hold: the
/// organisation and the goals exist.
fn check_refs(
    conn: &mut DbConnection,
    i: &OfficialContactInput,
    before: Option<&OfficialContact>,
) -> ApiResult<()> {
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(o) = &i.organisation_id {
        let held = before.is_some_and(|b| b.organisation_id.as_ref() == Some(o));
        if !held && !organisations::exists(conn, o)? {
            errors.push(FieldError::new(
                "organisation_id",
                "no organisation with this id",
            ));
        }
    }
    errors.extend(goals::check_goal_links(
        conn,
        &i.goal_ids,
        &[],
        before.map(|b| (&b.goal_ids[..], &[][..])),
    )?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

impl Entity for OfficialContact {
    crate::live_version!(official_contacts);
    type Input = OfficialContactInput;
    const COLLECTION: &'static str = "/v1/official-contacts";
    const READ_ONLY: &'static [&'static str] = &[];

    crate::load_live!(official_contacts, "official contact");

    fn check(i: &OfficialContactInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("title", Some(&i.title), true, 300);
        if let Some(o) = &i.organisation_id {
            c.text("organisation_id", Some(o), true, 64);
        }
        c.text("counterpart", i.counterpart.as_deref(), false, 300);
        c.country("country", i.country.as_deref());
        if i.participants.len() > 20 {
            c.add("participants", "at most 20 participants");
        }
        for (n, p) in i.participants.iter().enumerate() {
            c.text(&format!("participants[{n}]"), Some(p), true, 200);
        }
        c.text("purpose", i.purpose.as_deref(), false, 5_000);
        c.text("follow_up", i.follow_up.as_deref(), false, 5_000);
        c.id_list("goal_ids", &i.goal_ids, 50);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: OfficialContactInput,
    ) -> ApiResult<Self> {
        check_refs(conn, &i, Some(before))?;
        let after = OfficialContact {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after)?)?;
        links::set_links(
            conn,
            OfficialContact::TYPE,
            &after.id,
            GOAL,
            &before.goal_ids,
            &after.goal_ids,
        )?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

impl crate::crud::Creatable for OfficialContact {
    fn create(conn: &mut DbConnection, actor: &Actor, i: OfficialContactInput) -> ApiResult<Self> {
        check_refs(conn, &i, None)?;
        let t = utc(now());
        let c = OfficialContact {
            id: new_id(),
            fields: i,
            version: 1,
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(official_contacts::table)
            .values(Row::of(&c)?)
            .execute(conn)?;
        links::set_links(conn, OfficialContact::TYPE, &c.id, GOAL, &[], &c.goal_ids)?;
        changes::record(conn, actor, Change::Created(&c))?;
        Ok(c)
    }
}
