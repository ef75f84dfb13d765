//! Child lists every resource may carry, stored once for all: external ids (unique per type,
//! scheme and value among live records) and ordered links to goals, priority areas or codes.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    db::{
        schema::{external_ids, resource_links},
        DbConnection,
    },
    error::{ApiError, ApiResult, FieldError},
    model::Checks,
};

/// An id of the record in another system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalId {
    /// The system, e.g. `keep`, `kohesio`, `cordis`, `jems`: lowercase letters, digits, `-`, `_`.
    #[schema(example = "kohesio", pattern = "^[a-z0-9_-]{1,32}$")]
    pub scheme: String,
    /// The id in that system (1-200 characters).
    #[schema(example = "PRJ-2023-0042")]
    pub value: String,
}

impl Checks {
    /// Well-formed ids, one per scheme.
    pub fn external_ids(&mut self, field: &str, ids: &[ExternalId]) {
        if ids.len() > 20 {
            self.add(field, "at most 20 external ids");
        }
        let mut schemes = std::collections::HashSet::new();
        for (i, e) in ids.iter().enumerate() {
            self.external_id(&format!("{field}[{i}]"), e);
            if !schemes.insert(e.scheme.as_str()) {
                self.add(format!("{field}[{i}].scheme"), "only one id per scheme");
            }
        }
    }
}

impl Checks {
    /// A well-formed external id.
    pub fn external_id(&mut self, field: &str, e: &ExternalId) {
        if !is_scheme(&e.scheme) {
            self.add(
                format!("{field}.scheme"),
                "must be 1-32 lowercase letters, digits, - or _",
            );
        }
        self.external_id_value(&format!("{field}.value"), &e.value);
    }
}

pub fn is_scheme(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// External ids of records, by record id, sorted by scheme.
pub fn external_ids_of(
    conn: &mut DbConnection,
    resource_type: &str,
    ids: &[&str],
) -> ApiResult<HashMap<String, Vec<ExternalId>>> {
    let mut out: HashMap<String, Vec<ExternalId>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let q = external_ids::table
        .filter(external_ids::resource_type.eq(resource_type))
        .into_boxed();
    let rows: Vec<(String, String, String)> =
        crate::filter_ids!(q, conn, external_ids::resource_id, ids)
            .order((external_ids::resource_id, external_ids::scheme))
            .select((
                external_ids::resource_id,
                external_ids::scheme,
                external_ids::value,
            ))
            .load(conn)?;
    for (id, scheme, value) in rows {
        out.entry(id)
            .or_default()
            .push(ExternalId { scheme, value });
    }
    Ok(out)
}

/// The live record of a type holding an external id.
pub fn find_by_external_id(
    conn: &mut DbConnection,
    resource_type: &str,
    scheme: &str,
    value: &str,
) -> ApiResult<Option<String>> {
    Ok(holders_of(
        resource_type.to_string(),
        scheme.to_string(),
        value.to_string(),
    )
    .first(conn)
    .optional()?)
}

/// The records of a type holding each of `keys` (scheme, value), in one statement per scheme:
/// the holder of each key that has one.
pub fn find_many_by_external_id(
    conn: &mut DbConnection,
    resource_type: &str,
    keys: &[(&str, &str)],
) -> ApiResult<HashMap<(String, String), String>> {
    let mut schemes: Vec<&str> = keys.iter().map(|(s, _)| *s).collect();
    schemes.sort_unstable();
    schemes.dedup();
    let mut out = HashMap::new();
    for scheme in schemes {
        let values: Vec<&str> = keys
            .iter()
            .filter(|(s, _)| *s == scheme)
            .map(|(_, v)| *v)
            .collect();
        let rows: Vec<(String, String)> = external_ids::table
            .filter(external_ids::resource_type.eq(resource_type))
            .filter(external_ids::scheme.eq(scheme))
            .filter(external_ids::value.eq_any(values))
            .select((external_ids::value, external_ids::resource_id))
            .load(conn)?;
        for (value, id) in rows {
            out.insert((scheme.to_string(), value), id);
        }
    }
    Ok(out)
}

/// The id of the record of a type holding an external id, as a query (a list's filter).
#[diesel::dsl::auto_type]
pub fn holders_of(resource_type: String, scheme: String, value: String) -> _ {
    external_ids::table
        .filter(external_ids::resource_type.eq(resource_type))
        .filter(external_ids::scheme.eq(scheme))
        .filter(external_ids::value.eq(value))
        .select(external_ids::resource_id)
}

/// Replaces a record's external ids; a pair held by another record is a 422 naming it.
pub fn set_external_ids(
    conn: &mut DbConnection,
    resource_type: &str,
    id: &str,
    ids: &[ExternalId],
    field: &str,
) -> ApiResult<()> {
    let mut errors = Vec::new();
    for (i, e) in ids.iter().enumerate() {
        if let Some(holder) = find_by_external_id(conn, resource_type, &e.scheme, &e.value)? {
            if holder != id {
                errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "{}:{} already belongs to {resource_type} {holder}",
                        e.scheme, e.value
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    clear_external_ids(conn, resource_type, id)?;
    for e in ids {
        diesel::insert_into(external_ids::table)
            .values((
                external_ids::resource_type.eq(resource_type),
                external_ids::resource_id.eq(id),
                external_ids::scheme.eq(&e.scheme),
                external_ids::value.eq(&e.value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Frees a deleted record's external ids for reuse.
pub fn clear_external_ids(conn: &mut DbConnection, resource_type: &str, id: &str) -> ApiResult<()> {
    diesel::delete(
        external_ids::table
            .filter(external_ids::resource_type.eq(resource_type))
            .filter(external_ids::resource_id.eq(id)),
    )
    .execute(conn)?;
    Ok(())
}

/// Every link of some records, by relation and record: one query for all relations (a round
/// trip each saved on PostgreSQL).
#[derive(Default)]
pub struct Links(HashMap<(String, String), Vec<String>>);

impl Links {
    /// The ordered targets of `id` under `rel`, taken out of the set.
    pub fn take(&mut self, rel: &str, id: &str) -> Vec<String> {
        self.0
            .remove(&(rel.to_string(), id.to_string()))
            .unwrap_or_default()
    }
}

/// Loads the links of records, every relation at once, each list in its stored order.
pub fn links_of(conn: &mut DbConnection, resource_type: &str, ids: &[&str]) -> ApiResult<Links> {
    let mut out = Links::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let q = resource_links::table
        .filter(resource_links::resource_type.eq(resource_type))
        .into_boxed();
    let rows: Vec<(String, String, String)> =
        crate::filter_ids!(q, conn, resource_links::resource_id, ids)
            .order((
                resource_links::resource_id,
                resource_links::rel,
                resource_links::position,
            ))
            .select((
                resource_links::resource_id,
                resource_links::rel,
                resource_links::target,
            ))
            .load(conn)?;
    for (id, rel, target) in rows {
        out.0.entry((rel, id)).or_default().push(target);
    }
    Ok(out)
}

/// Moves a record's links of `rel` from `before` (what it has now; empty for a new record)
/// to `after`: no statement when they are the same, no delete when it had none, and the new
/// links in one insert (each statement is a round trip on PostgreSQL).
pub fn set_links(
    conn: &mut DbConnection,
    resource_type: &str,
    id: &str,
    rel: &str,
    before: &[String],
    after: &[String],
) -> ApiResult<()> {
    if before == after {
        return Ok(());
    }
    if !before.is_empty() {
        diesel::delete(
            resource_links::table
                .filter(resource_links::resource_type.eq(resource_type))
                .filter(resource_links::resource_id.eq(id))
                .filter(resource_links::rel.eq(rel)),
        )
        .execute(conn)?;
    }
    if !after.is_empty() {
        let rows: Vec<_> = after
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    resource_links::resource_type.eq(resource_type),
                    resource_links::resource_id.eq(id),
                    resource_links::rel.eq(rel),
                    resource_links::target.eq(t),
                    resource_links::position.eq(i as i32),
                )
            })
            .collect();
        // diesel's multi-row insert exists per backend only; on SQLite a statement is a call.
        match conn {
            DbConnection::Postgresql(pg) => {
                diesel::insert_into(resource_links::table)
                    .values(rows)
                    .execute(pg)?;
            }
            other => {
                for row in rows {
                    diesel::insert_into(resource_links::table)
                        .values(row)
                        .execute(other)?;
                }
            }
        }
    }
    Ok(())
}
