//! The lookup statement of `live_version!`, as PostgreSQL receives it.

use super::*;
use crate::crud::Entity;

#[test]
fn pg_statement_is_what_diesel_sends() {
    let s = (Project::VERSIONS.many)(&["p-1"]).unwrap();
    let sql = |ids: &str| {
        format!(
            "SELECT \"projects\".\"id\", \"projects\".\"version\" FROM \"projects\" \
             WHERE (\"projects\".\"id\" IN ({ids}) AND (\"projects\".\"deleted_at\" IS NULL))"
        )
    };
    assert_eq!(s.sql, sql("$1"));
    // text (25), in PostgreSQL's binary format (its bytes)
    assert_eq!(s.types, [25]);
    assert_eq!(s.binds, [Some(b"p-1".to_vec())]);
    // The second time from the SQL kept the first time, with this call's binds; another
    // number of ids, another statement.
    let again = (Project::VERSIONS.many)(&["p-2"]).unwrap();
    assert_eq!(again.sql, s.sql);
    assert_eq!(again.binds, [Some(b"p-2".to_vec())]);
    let three = (Project::VERSIONS.many)(&["a", "b", "c"]).unwrap();
    assert_eq!(three.sql, sql("$1, $2, $3"));
    assert_eq!(three.types, [25, 25, 25]);
    assert_eq!(
        three.binds,
        [
            Some(b"a".to_vec()),
            Some(b"b".to_vec()),
            Some(b"c".to_vec())
        ]
    );
    // Beyond the batches the pipeline sends, still right, only not kept.
    let ids: Vec<String> = (0..=crate::db::pipeline::MAX_BATCH)
        .map(|n| n.to_string())
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let many = (Project::VERSIONS.many)(&ids).unwrap();
    assert_eq!(many.binds.len(), ids.len());
    assert!(many.sql.contains(&format!("${})", ids.len())));
}
