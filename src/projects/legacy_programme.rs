//! Projects named their programme in free text until programmes became records (migration
//! 000015 keeps that text in `legacy_programme`, `legacy_programme_period`). This maps it to
//! programmes once, through the write path, so every programme made and every project changed
//! has its audit and change-feed event; the text is cleared after.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_types::{Nullable, Text},
};

use super::Project;
use crate::{
    changes::Actor,
    crud::{Creatable, Entity},
    db::DbConnection,
    error::ApiResult,
    programmes::{is_period, Programme, ProgrammeInput},
};

/// A name without a programming period at its end (`Interreg Aurora 2021-2027` is `Interreg
/// Aurora` of period `2021-2027`), and that period.
pub fn split_period(text: &str) -> (&str, Option<&str>) {
    let text = text.trim();
    if let Some((name, tail)) = text.rsplit_once(' ') {
        if is_period(tail) && !name.trim().is_empty() {
            return (name.trim(), Some(tail));
        }
    }
    (text, None)
}

/// Makes one programme per name (compared without case or a trailing period) and points each
/// live project at its own, in the caller's transaction.
pub fn map_to_programmes(conn: &mut DbConnection, actor: &Actor) -> ApiResult<()> {
    // The legacy columns are outside `schema.rs` (which names what the service uses).
    let rows: Vec<Legacy> = diesel::sql_query(
        "SELECT id, legacy_programme AS programme, legacy_programme_period AS period \
         FROM projects WHERE legacy_programme IS NOT NULL AND deleted_at IS NULL ORDER BY id",
    )
    .load(conn)?;
    let mut made: HashMap<String, String> = HashMap::new();
    for Legacy {
        id,
        programme: text,
        period,
    } in rows
    {
        let (name, named_period) = split_period(&text);
        if name.is_empty() {
            continue;
        }
        let period = named_period
            .map(str::to_string)
            .or(period)
            .filter(|p| is_period(p));
        let key = name.to_lowercase();
        let programme_id = match made.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = Programme::create(
                    conn,
                    actor,
                    ProgrammeInput {
                        name: name.chars().take(300).collect(),
                        fund: None,
                        period,
                        managing_authority: None,
                        priorities: vec![],
                        notes: Some(format!("Made from projects' free-text programme {text:?}.")),
                        source_updated_at: None,
                        external_ids: vec![],
                    },
                )?;
                made.insert(key, p.id.clone());
                p.id
            }
        };
        let before = Project::load(conn, &id)?;
        let mut input = before.input();
        input.programme_id = Some(programme_id);
        Project::update(conn, actor, &before, input)?;
    }
    diesel::sql_query(
        "UPDATE projects SET legacy_programme = NULL, legacy_programme_period = NULL \
         WHERE legacy_programme IS NOT NULL OR legacy_programme_period IS NOT NULL",
    )
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Legacy {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    programme: String,
    #[diesel(sql_type = Nullable<Text>)]
    period: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::split_period;

    #[test]
    fn a_trailing_period_is_split_off() {
        assert_eq!(
            split_period("Interreg Aurora 2021-2027"),
            ("Interreg Aurora", Some("2021-2027"))
        );
        assert_eq!(split_period(" Interreg Aurora "), ("Interreg Aurora", None));
        assert_eq!(split_period("2021-2027"), ("2021-2027", None));
        assert_eq!(split_period("ESF+ 2021"), ("ESF+ 2021", None));
    }
}
