//! Organisations: the bodies, networks, programme bodies and partners the region works with.

pub mod routes;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{memberships, organisations, project_partners, projects},
        DbConnection,
    },
    error::{ApiError, ApiResult},
    links::{self, ExternalId},
    model::{new_id, now, utc, Checks},
    string_enum, versioned_store,
};

string_enum!(
    /// What kind of body an organisation is.
    OrganisationKind {
        Network => "network",
        EuOffice => "eu_office",
        ProgrammeBody => "programme_body",
        Authority => "authority",
        Region => "region",
        Municipality => "municipality",
        University => "university",
        Company => "company",
        Ngo => "ngo",
        Other => "other",
    }
);

/// An organisation: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Organisation {
    pub id: String,
    #[serde(flatten)]
    pub fields: OrganisationInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Organisation, OrganisationInput);

impl Resource for Organisation {
    crate::resource_keys!(Organisation);
}

/// The writable fields of an organisation. Each is owned either by the source (the
/// integrator's system: an upsert by external id writes it) or by the region (an upsert keeps
/// it as it is); officers may change both, but the next sync overwrites what the source owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    /// Source-owned. 1-300 characters.
    #[schema(example = "North Sweden European Office")]
    pub name: String,
    /// Source-owned. At most 50 characters.
    #[serde(default)]
    pub short_name: Option<String>,
    /// Source-owned.
    pub kind: OrganisationKind,
    /// Source-owned. ISO 3166-1 alpha-2, e.g. `SE`.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{2}$", example = "BE")]
    pub country: Option<String>,
    /// Source-owned. An http(s) URL.
    #[serde(default)]
    pub website: Option<String>,
    /// Region-owned: the region's notes. At most 20 000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// Source-owned: when the source last changed the record. An upsert older than the stored
    /// one is refused (409); a record that has one is synced, and a PATCH of a source-owned
    /// field says so (`Sync-Overwrites`).
    #[serde(default)]
    pub source_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Ids in other systems, at most one per scheme; a pair names one organisation. The id an
    /// upsert is keyed by is the source's; the others are the region's (an upsert keeps them).
    #[serde(default)]
    pub external_ids: Vec<ExternalId>,
}

/// The fields of an organisation that the region owns (an upsert by external id keeps them).
pub const REGION_OWNED: &[&str] = &["notes"];

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = organisations, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    name: String,
    short_name: Option<String>,
    kind: String,
    country: Option<String>,
    website: Option<String>,
    notes: Option<String>,
    source_updated_at: Option<chrono::NaiveDateTime>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(organisations, Row);

impl Row {
    fn of(o: &Organisation) -> Self {
        Row {
            id: o.id.clone(),
            name: o.name.clone(),
            short_name: o.short_name.clone(),
            kind: o.kind.as_str().into(),
            country: o.country.clone(),
            website: o.website.clone(),
            notes: o.notes.clone(),
            source_updated_at: o.source_updated_at.map(|t| t.naive_utc()),
            version: o.version,
            created_at: o.created_at.naive_utc(),
            updated_at: o.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

/// Organisations from rows, with their external ids (one query for all).
fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Organisation>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut ext = links::external_ids_of(conn, Organisation::TYPE, &ids)?;
    rows.into_iter()
        .map(|r| {
            Ok(Organisation {
                fields: OrganisationInput {
                    kind: OrganisationKind::from_db(&r.kind)?,
                    external_ids: ext.remove(&r.id).unwrap_or_default(),
                    name: r.name,
                    short_name: r.short_name,
                    country: r.country,
                    website: r.website,
                    notes: r.notes,
                    source_updated_at: r.source_updated_at.map(utc),
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
    pub kind: Option<OrganisationKind>,
    pub country: Option<String>,
    pub external_id: Option<(String, String)>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, organisations, Row, |q, f| {
    if let Some(k) = f.kind {
        q = q.filter(organisations::kind.eq(k.as_str()));
    }
    if let Some(c) = &f.country {
        q = q.filter(organisations::country.eq(c.clone()));
    }
    if let Some((scheme, value)) = &f.external_id {
        q = q.filter(organisations::id.eq_any(links::holders_of(
            Organisation::TYPE.to_string(),
            scheme.clone(),
            value.clone(),
        )));
    }
});

impl crate::crud::Listed for Organisation {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

/// A live organisation id, for records that point at one (422 on `field` otherwise).
pub fn exists(conn: &mut DbConnection, id: &str) -> ApiResult<bool> {
    Ok(organisations::table
        .filter(organisations::id.eq(id))
        .filter(organisations::deleted_at.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

impl Entity for Organisation {
    crate::live_version!(organisations);
    type Input = OrganisationInput;
    const COLLECTION: &'static str = "/v1/organisations";
    const READ_ONLY: &'static [&'static str] = &[];
    const REGION_OWNED: Option<&'static [&'static str]> = Some(REGION_OWNED);

    crate::load_live!(organisations, "organisation");

    fn check(i: &OrganisationInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("name", Some(&i.name), true, 300);
        c.text("short_name", i.short_name.as_deref(), false, 50);
        c.country("country", i.country.as_deref());
        c.url("website", i.website.as_deref());
        c.text("notes", i.notes.as_deref(), false, 20_000);
        c.external_ids("external_ids", &i.external_ids);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: OrganisationInput,
    ) -> ApiResult<Self> {
        let mut after = Organisation {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        after.fields.external_ids.sort();
        after.fields.source_updated_at = after.source_updated_at.map(crate::model::stored_time);
        store_update(conn, &Row::of(&after))?;
        if after.external_ids != before.external_ids {
            links::set_external_ids(
                conn,
                Organisation::TYPE,
                &after.id,
                &after.external_ids,
                "external_ids",
            )?;
        }
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        let membership: Option<String> = memberships::table
            .filter(memberships::organisation_id.eq(&before.id))
            .filter(memberships::deleted_at.is_null())
            .select(memberships::id)
            .first(conn)
            .optional()?;
        if let Some(m) = membership {
            return Err(ApiError::Conflict(format!(
                "membership {m} points at this organisation; end or delete it first"
            )));
        }
        let project: Option<String> = project_partners::table
            .inner_join(projects::table.on(projects::id.eq(project_partners::project_id)))
            .filter(project_partners::organisation_id.eq(&before.id))
            .filter(projects::deleted_at.is_null())
            .select(projects::id)
            .first(conn)
            .optional()?;
        if let Some(p) = project {
            return Err(ApiError::Conflict(format!(
                "project {p} lists this organisation as a partner; change it first"
            )));
        }
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        links::clear_external_ids(conn, Organisation::TYPE, &before.id)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

impl crate::crud::ExternallyKeyed for Organisation {
    fn load_many(conn: &mut DbConnection, ids: &[&str]) -> ApiResult<Vec<Self>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = crate::filter_ids!(
            organisations::table
                .filter(organisations::deleted_at.is_null())
                .select(Row::as_select())
                .into_boxed(),
            conn,
            organisations::id,
            ids
        )
        .load(conn)?;
        assemble(conn, rows)
    }

    fn external_ids_mut(input: &mut OrganisationInput) -> &mut Vec<ExternalId> {
        &mut input.external_ids
    }
}

impl crate::crud::Creatable for Organisation {
    fn create(conn: &mut DbConnection, actor: &Actor, i: OrganisationInput) -> ApiResult<Self> {
        let t = utc(now());
        let mut o = Organisation {
            id: new_id(),
            fields: i,
            version: 1,
            created_at: t,
            updated_at: t,
        };
        o.fields.external_ids.sort();
        o.fields.source_updated_at = o.source_updated_at.map(crate::model::stored_time);
        diesel::insert_into(organisations::table)
            .values(Row::of(&o))
            .execute(conn)?;
        links::set_external_ids(
            conn,
            Organisation::TYPE,
            &o.id,
            &o.external_ids,
            "external_ids",
        )?;
        changes::record(conn, actor, Change::Created(&o))?;
        Ok(o)
    }
}
