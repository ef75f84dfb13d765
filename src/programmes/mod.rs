//! EU programmes: the funding programmes projects are financed under, keyed by their CCI code
//! (an external id of scheme `cci`), with their priorities and specific objectives.

pub mod routes;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    changes::{self, Actor, Change, Resource},
    crud::Entity,
    db::{
        schema::{programmes, projects},
        DbConnection,
    },
    error::{ApiError, ApiResult},
    links::{self, ExternalId},
    model::{new_id, now, utc, Checks},
    string_enum, versioned_store,
};

string_enum!(
    /// The EU fund that co-finances a programme or a project.
    Fund {
        Erdf => "erdf",
        EsfPlus => "esf_plus",
        Jtf => "jtf",
        Cf => "cf",
        Emfaf => "emfaf",
        Ipa => "ipa",
        Ndici => "ndici",
        Other => "other",
    }
);

/// The external id scheme whose value is a programme's CCI code.
pub const CCI: &str = "cci";

/// A programme: its writable fields and the service's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Programme {
    pub id: String,
    /// The programme's CCI code (its external id of scheme `cci`), when it has one. Read-only:
    /// set it through `external_ids`, or upsert by `/by-external-id/cci/{code}`.
    #[schema(example = "2021TC16RFTN001")]
    pub cci: Option<String>,
    #[serde(flatten)]
    pub fields: ProgrammeInput,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Programme, ProgrammeInput);

impl Resource for Programme {
    crate::resource_keys!(Programme);
}

/// The writable fields of a programme. Each is owned either by the source (an upsert by
/// external id writes it) or by the region (an upsert keeps it as it is); officers may change
/// both, but the next sync overwrites what the source owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeInput {
    /// Source-owned. 1-300 characters.
    #[schema(example = "Interreg Aurora")]
    pub name: String,
    /// Source-owned. The EU fund financing the programme.
    #[serde(default)]
    pub fund: Option<Fund>,
    /// Source-owned. The programming period, `YYYY-YYYY`.
    #[serde(default)]
    #[schema(pattern = r"^\d{4}-\d{4}$", example = "2021-2027")]
    pub period: Option<String>,
    /// Source-owned. The managing authority's name, at most 300 characters.
    #[serde(default)]
    #[schema(example = "Region Norrbotten")]
    pub managing_authority: Option<String>,
    /// Source-owned. The programme's priorities, each with its specific objectives; codes are
    /// unique within the programme. At most 50 priorities of at most 50 objectives.
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Region-owned: the region's notes. At most 20 000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// Source-owned: when the source last changed the record. An upsert older than the stored
    /// one is refused (409); a record that has one is synced, and a PATCH of a source-owned
    /// field says so (`Sync-Overwrites`).
    #[serde(default)]
    pub source_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Ids in other systems, at most one per scheme; a pair names one programme. The CCI code
    /// is the scheme `cci` (e.g. `{"scheme": "cci", "value": "2021TC16RFTN001"}`). The id an
    /// upsert is keyed by is the source's; the others are the region's (an upsert keeps them).
    #[serde(default)]
    pub external_ids: Vec<ExternalId>,
}

/// A priority of a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Priority {
    /// 1-20 characters, e.g. `1`.
    #[schema(example = "1")]
    pub code: String,
    /// 1-500 characters.
    #[schema(example = "Ett innovativt och hållbart Aurora")]
    pub name: String,
    #[serde(default)]
    pub specific_objectives: Vec<SpecificObjective>,
}

/// A specific objective of a programme's priority: a project names it by its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecificObjective {
    /// 1-20 characters, unique within the programme, e.g. `RSO1.1`.
    #[schema(example = "RSO1.1")]
    pub code: String,
    /// 1-1000 characters.
    #[schema(example = "Utveckla och förbättra forsknings- och innovationskapaciteten")]
    pub name: String,
}

impl ProgrammeInput {
    /// Whether `code` is one of the programme's specific objectives.
    pub fn has_objective(&self, code: &str) -> bool {
        self.priorities
            .iter()
            .flat_map(|p| &p.specific_objectives)
            .any(|o| o.code == code)
    }
}

/// The fields of a programme that the region owns (an upsert by external id keeps them).
pub const REGION_OWNED: &[&str] = &["notes"];

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = programmes, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    name: String,
    fund: Option<String>,
    period: Option<String>,
    managing_authority: Option<String>,
    priorities: String,
    notes: Option<String>,
    source_updated_at: Option<chrono::NaiveDateTime>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(programmes, Row);

impl Row {
    fn of(p: &Programme) -> ApiResult<Self> {
        Ok(Row {
            id: p.id.clone(),
            name: p.name.clone(),
            fund: p.fund.map(|f| f.as_str().into()),
            period: p.period.clone(),
            managing_authority: p.managing_authority.clone(),
            priorities: serde_json::to_string(&p.priorities).map_err(ApiError::internal)?,
            notes: p.notes.clone(),
            source_updated_at: p.source_updated_at.map(|t| t.naive_utc()),
            version: p.version,
            created_at: p.created_at.naive_utc(),
            updated_at: p.updated_at.naive_utc(),
            deleted_at: None,
        })
    }
}

/// The CCI code among a programme's external ids.
fn cci_of(ids: &[ExternalId]) -> Option<String> {
    ids.iter()
        .find(|e| e.scheme == CCI)
        .map(|e| e.value.clone())
}

/// Programmes from rows, with their external ids (one query for all).
fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Programme>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut ext = links::external_ids_of(conn, Programme::TYPE, &ids)?;
    rows.into_iter()
        .map(|r| {
            let external_ids = ext.remove(&r.id).unwrap_or_default();
            Ok(Programme {
                cci: cci_of(&external_ids),
                fields: ProgrammeInput {
                    fund: r.fund.as_deref().map(Fund::from_db).transpose()?,
                    priorities: serde_json::from_str(&r.priorities).map_err(ApiError::internal)?,
                    external_ids,
                    name: r.name,
                    period: r.period,
                    managing_authority: r.managing_authority,
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
    pub fund: Option<Fund>,
    pub external_id: Option<(String, String)>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, programmes, Row, |q, f| {
    if let Some(fund) = f.fund {
        q = q.filter(programmes::fund.eq(fund.as_str()));
    }
    if let Some((scheme, value)) = &f.external_id {
        q = q.filter(programmes::id.eq_any(links::holders_of(
            Programme::TYPE.to_string(),
            scheme.clone(),
            value.clone(),
        )));
    }
});

impl crate::crud::Listed for Programme {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        assemble(conn, rows)
    }
}

/// A live programme, for a project that points at one.
pub fn find(conn: &mut DbConnection, id: &str) -> ApiResult<Option<Programme>> {
    match Programme::load(conn, id) {
        Ok(p) => Ok(Some(p)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A CCI code: the year the programme was first submitted, two letters for its country (or
/// `TC` for territorial cooperation), then letters and digits; 9 to 15 characters in all.
fn is_cci(s: &str) -> bool {
    let b = s.as_bytes();
    (9..=15).contains(&b.len())
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..6].iter().all(u8::is_ascii_uppercase)
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A programming period, `YYYY-YYYY`, the first year earlier.
pub fn is_period(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && s[..4] < s[5..]
}

impl Entity for Programme {
    crate::live_version!(programmes);
    type Input = ProgrammeInput;
    const COLLECTION: &'static str = "/v1/programmes";
    const READ_ONLY: &'static [&'static str] = &["cci"];
    const REGION_OWNED: Option<&'static [&'static str]> = Some(REGION_OWNED);

    crate::load_live!(programmes, "programme");

    fn check(i: &ProgrammeInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("name", Some(&i.name), true, 300);
        if i.period.as_deref().is_some_and(|p| !is_period(p)) {
            c.add(
                "period",
                "must be two years, the first earlier, e.g. 2021-2027",
            );
        }
        c.text(
            "managing_authority",
            i.managing_authority.as_deref(),
            false,
            300,
        );
        c.text("notes", i.notes.as_deref(), false, 20_000);
        c.external_ids("external_ids", &i.external_ids);
        for (n, e) in i.external_ids.iter().enumerate() {
            if e.scheme == CCI && !is_cci(&e.value) {
                c.add(
                    format!("external_ids[{n}].value"),
                    "a CCI code is four digits, two capital letters, then capital letters and digits (9-15 in all), e.g. 2021TC16RFTN001",
                );
            }
        }
        if i.priorities.len() > 50 {
            c.add("priorities", "at most 50 priorities");
        }
        let mut codes = std::collections::HashSet::new();
        let mut objectives = std::collections::HashSet::new();
        for (n, p) in i.priorities.iter().enumerate() {
            let field = format!("priorities[{n}]");
            c.text(&format!("{field}.code"), Some(&p.code), true, 20);
            c.text(&format!("{field}.name"), Some(&p.name), true, 500);
            if !codes.insert(&p.code) {
                c.add(format!("{field}.code"), "is listed twice");
            }
            if p.specific_objectives.len() > 50 {
                c.add(
                    format!("{field}.specific_objectives"),
                    "at most 50 specific objectives",
                );
            }
            for (k, o) in p.specific_objectives.iter().enumerate() {
                let field = format!("{field}.specific_objectives[{k}]");
                c.text(&format!("{field}.code"), Some(&o.code), true, 20);
                c.text(&format!("{field}.name"), Some(&o.name), true, 1000);
                if !objectives.insert(&o.code) {
                    c.add(format!("{field}.code"), "is listed twice in the programme");
                }
            }
        }
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: ProgrammeInput,
    ) -> ApiResult<Self> {
        ensure_objectives_kept(conn, &before.id, &i)?;
        let mut after = Programme {
            fields: normalised(i),
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        after.cci = cci_of(&after.external_ids);
        store_update(conn, &Row::of(&after)?)?;
        if after.external_ids != before.external_ids {
            links::set_external_ids(
                conn,
                Programme::TYPE,
                &after.id,
                &after.external_ids,
                "external_ids",
            )?;
        }
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        if let Some(p) = project_of(conn, &before.id, None)? {
            return Err(ApiError::Conflict(format!(
                "project {p} is financed under this programme; change it first"
            )));
        }
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        links::clear_external_ids(conn, Programme::TYPE, &before.id)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

/// A live project under programme `id` (whose specific objective is not among `kept`, when
/// given).
fn project_of(
    conn: &mut DbConnection,
    id: &str,
    kept: Option<&[&str]>,
) -> ApiResult<Option<String>> {
    let mut q = projects::table
        .filter(projects::programme_id.eq(id))
        .filter(projects::deleted_at.is_null())
        .select(projects::id)
        .into_boxed();
    if let Some(kept) = kept {
        q = q
            .filter(projects::specific_objective.is_not_null())
            .filter(projects::specific_objective.ne_all(kept.to_vec()));
    }
    Ok(q.first(conn).optional()?)
}

/// 409 when a change of the programme's objectives drops one a project names. A programme
/// listing none accepts any code (one mapped from free text, until its objectives are entered).
fn ensure_objectives_kept(conn: &mut DbConnection, id: &str, i: &ProgrammeInput) -> ApiResult<()> {
    let kept: Vec<&str> = i
        .priorities
        .iter()
        .flat_map(|p| &p.specific_objectives)
        .map(|o| o.code.as_str())
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    match project_of(conn, id, Some(&kept))? {
        Some(p) => Err(ApiError::Conflict(format!(
            "project {p} names a specific objective this change leaves out; change the project first"
        ))),
        None => Ok(()),
    }
}

fn normalised(mut i: ProgrammeInput) -> ProgrammeInput {
    i.external_ids.sort();
    i.source_updated_at = i.source_updated_at.map(crate::model::stored_time);
    i
}

impl crate::crud::ExternallyKeyed for Programme {
    fn load_many(conn: &mut DbConnection, ids: &[&str]) -> ApiResult<Vec<Self>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = crate::filter_ids!(
            programmes::table
                .filter(programmes::deleted_at.is_null())
                .select(Row::as_select())
                .into_boxed(),
            conn,
            programmes::id,
            ids
        )
        .load(conn)?;
        assemble(conn, rows)
    }

    fn external_ids_mut(input: &mut ProgrammeInput) -> &mut Vec<ExternalId> {
        &mut input.external_ids
    }
}

impl crate::crud::Creatable for Programme {
    fn create(conn: &mut DbConnection, actor: &Actor, i: ProgrammeInput) -> ApiResult<Self> {
        let t = utc(now());
        let fields = normalised(i);
        let p = Programme {
            id: new_id(),
            cci: cci_of(&fields.external_ids),
            fields,
            version: 1,
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(programmes::table)
            .values(Row::of(&p)?)
            .execute(conn)?;
        links::set_external_ids(
            conn,
            Programme::TYPE,
            &p.id,
            &p.external_ids,
            "external_ids",
        )?;
        changes::record(conn, actor, Change::Created(&p))?;
        Ok(p)
    }
}
