//! An acknowledged write survives a power cut on the embedded default: SQLite syncs the WAL at
//! every COMMIT (`synchronous = FULL`) unless the deployment chooses `SQLITE_SYNCHRONOUS=normal`.

use diesel::{prelude::*, sql_types::Integer};
use intl_api::db::{self, DbConnection};
use serde_json::json;

use crate::helpers::{settings_for, TestApp};

#[derive(QueryableByName)]
struct Synchronous {
    #[diesel(sql_type = Integer)]
    synchronous: i32,
}

/// SQLite's `synchronous` on a connection of a pool built as the server builds its own.
fn synchronous_of(app: &TestApp, extra: &[(&str, &str)]) -> i32 {
    let settings = settings_for(&app.db.url, app.db.dir.path(), extra);
    let pool = db::build_pool_with(&settings.database_url, 1, settings.sqlite_synchronous);
    let mut conn = pool.get().expect("a connection");
    let DbConnection::Sqlite(c) = &mut *conn else {
        panic!("the embedded default is SQLite")
    };
    diesel::sql_query("PRAGMA synchronous")
        .get_result::<Synchronous>(c)
        .expect("PRAGMA synchronous")
        .synchronous
}

pub async fn sqlite_syncs_every_commit_unless_told_otherwise(app: TestApp) {
    // The server writes as usual with the durable default.
    app.post(
        "/v1/documents",
        "officer",
        json!({"kind": "guideline", "title": "Riktlinje"}),
    )
    .await
    .expect(201);
    // SQLite's values: 1 is NORMAL, 2 is FULL.
    assert_eq!(synchronous_of(&app, &[]), 2);
    assert_eq!(synchronous_of(&app, &[("SQLITE_SYNCHRONOUS", "full")]), 2);
    assert_eq!(synchronous_of(&app, &[("SQLITE_SYNCHRONOUS", "normal")]), 1);
}
