//! The list path every collection shares: a keyset page of rows, its records from the render
//! cache where it holds their versions, `Link` and `next_cursor`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::{
    access::Action,
    auth::Caller,
    changes::Resource,
    db::{self, DbConnection},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A resource listed through `list`: its page query gives rows, and the records are assembled
/// from them (links and children loaded for the whole page at once).
pub trait Listed: Resource + Sized + Send + 'static {
    type Row;
    /// The row's id, version and `updated_at`.
    fn key(row: &Self::Row) -> (&str, i64, chrono::NaiveDateTime);
    /// The records of `rows`, in their order.
    fn assemble(conn: &mut DbConnection, rows: Vec<Self::Row>) -> ApiResult<Vec<Self>>;
}

/// What a page query selects: only each record's key, or whole rows.
#[derive(Clone, Copy)]
pub enum Columns {
    Keys,
    Rows,
}

/// A listed record's position and version: all a page needs when every record's rendering
/// of its version is cached.
#[derive(diesel::Queryable)]
pub struct Key {
    pub id: String,
    pub version: i64,
    /// Only a list by `updated_since` needs it (for its cursor); the others do not read it.
    pub updated_at: Option<crate::db::FastTimestamp>,
}

/// The answer of a page query, as `Columns` asked.
pub enum Fetched<R> {
    Keys(Vec<Key>),
    Rows(Vec<R>),
}

impl<R> Fetched<R> {
    /// The keys, from a query asked for `Columns::Keys`.
    pub fn into_keys(self) -> ApiResult<Vec<Key>> {
        match self {
            Fetched::Keys(keys) => Ok(keys),
            Fetched::Rows(_) => Err(ApiError::internal("a page query gave rows for keys")),
        }
    }

    /// The rows, from a query asked for `Columns::Rows`.
    pub fn into_rows(self) -> ApiResult<Vec<R>> {
        match self {
            Fetched::Rows(rows) => Ok(rows),
            Fetched::Keys(_) => Err(ApiError::internal("a page query gave keys for rows")),
        }
    }
}

/// A page of a collection readable by every role: `limit` and `cursor` as in `pagination`,
/// the rest of the query in `filters` (`by_updated` when the list is filtered by
/// `updated_since`, see `keyset!`). First only the keys are loaded, in one statement (its own
/// snapshot), on PostgreSQL sent from this worker through `db::pipeline` when it can: when
/// every record's rendering of that version is in `state.renders`, that is the page. Otherwise
/// the page is loaded again on one snapshot, and only the records not cached are assembled
/// (their links and children loaded).
#[allow(clippy::too_many_arguments)]
pub async fn list<E, Q>(
    req: &HttpRequest,
    caller: &Caller,
    state: &web::Data<AppState>,
    scope: String,
    by_updated: bool,
    limit: Option<&str>,
    cursor: Option<&str>,
    filters: Q,
) -> ApiResult<HttpResponse>
where
    E: Listed<Row = Q::Row>,
    Q: PageQuery,
{
    caller.require(Action::Read)?;
    let page = crate::pagination::PageRequest::parse(&state.cursor_key, scope, limit, cursor)?;
    let query = filters.at(page.after.clone(), page.fetch());
    // Whether the keys need no (more) reading: nothing is cached, or the pipeline read them.
    let mut skip_keys = !state.renders.enabled();
    if !skip_keys {
        if let Some(rows) = state.reader.query(|| query.pg_keys()).await {
            let keys = rows?
                .iter()
                .map(|r| {
                    Ok(Key {
                        id: r.try_get(0)?,
                        version: r.try_get(1)?,
                        updated_at: r.try_get::<_, Option<_>>(2)?.map(crate::db::FastTimestamp),
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(ApiError::internal)?;
            if let Some((bodies, next)) = cached_page::<E>(state, &page, keys, by_updated) {
                return Ok(crate::pagination::respond_rendered(req, &bodies, next));
            }
            skip_keys = true;
        }
    }
    let st = state.clone();
    let (bodies, next) = db::query(&state.pool, move |conn| {
        if !skip_keys {
            let keys = query.load(conn, Columns::Keys)?.into_keys()?;
            if let Some(found) = cached_page::<E>(&st, &page, keys, by_updated) {
                return Ok(found);
            }
        }
        db::snapshot(conn, |conn| {
            let rows = query.load(conn, Columns::Rows)?.into_rows()?;
            let (rows, next) = page.finish(&st.cursor_key, rows, |r| {
                let (id, _, updated_at) = E::key(r);
                crate::pagination::row_key(id, updated_at, by_updated)
            });
            let mut bodies: Vec<Option<web::Bytes>> = rows
                .iter()
                .map(|r| {
                    let (id, version, _) = E::key(r);
                    st.renders.get(E::TYPE, id, version)
                })
                .collect();
            let misses: Vec<E::Row> = rows
                .into_iter()
                .zip(&bodies)
                .filter(|(_, b)| b.is_none())
                .map(|(r, _)| r)
                .collect();
            let mut fresh = E::assemble(conn, misses)?.into_iter();
            for body in bodies.iter_mut().filter(|b| b.is_none()) {
                let record = fresh
                    .next()
                    .ok_or_else(|| ApiError::internal("assemble lost a record"))?;
                *body = Some(st.renders.render(&record)?.body);
            }
            Ok((bodies.into_iter().flatten().collect::<Vec<_>>(), next))
        })
    })
    .await?;
    Ok(crate::pagination::respond_rendered(req, &bodies, next))
}

/// The page of `keys` (a page query's, one more than the page) and its next cursor, when every
/// record's rendering of that version is in `state.renders`.
pub(super) fn cached_page<E: Listed>(
    state: &AppState,
    page: &crate::pagination::PageRequest,
    keys: Vec<Key>,
    by_updated: bool,
) -> Option<(Vec<web::Bytes>, Option<String>)> {
    if by_updated && keys.iter().any(|k| k.updated_at.is_none()) {
        return None; // (not when `updated_since` selects it) the rows' way has it
    }
    let (keys, next) = page.finish(&state.cursor_key, keys, |k| {
        let updated_at = k.updated_at.as_ref().map_or_else(Default::default, |t| t.0);
        crate::pagination::row_key(&k.id, updated_at, by_updated)
    });
    let bodies = keys
        .iter()
        .map(|k| state.renders.get(E::TYPE, &k.id, k.version))
        .collect::<Option<Vec<_>>>()?;
    Some((bodies, next))
}

/// A list's filters, and how its page query runs: on the pool's connection (`load`), and,
/// when one statement gives the page's keys, as the PostgreSQL statement `db::pipeline` sends
/// (`pg_keys`). `page_query!` writes both from one description of the filters.
pub trait PageQuery: Send + 'static {
    type Row: Send + 'static;
    /// These filters, for `fetch` rows after the key `after` (a `pagination::record_key`).
    fn at(&self, after: Option<String>, fetch: i64) -> Self;
    /// The page: the records' keys or their rows, as `columns` asks.
    fn load(&self, conn: &mut DbConnection, columns: Columns) -> ApiResult<Fetched<Self::Row>>;
    /// The keys' statement, as `load` would run it for `Columns::Keys` on PostgreSQL; `None`
    /// when the page needs more than that one statement.
    fn pg_keys(&self) -> ApiResult<Option<db::PgStatement>> {
        Ok(None)
    }
}

/// `PageQuery` for `$filter` (a struct with `after` and `limit`, `updated_since` fields), a
/// list of the live records of `$table` loaded as `$row`: `$body` narrows the boxed query `$q`
/// by the filters in `$f`. It is written once and compiled twice: for the pool's connection
/// type and for PostgreSQL, so the pipelined statement is the one the pool would run.
/// `first |conn, f| { … }` runs before the page on the pool (a parent's lookup, say); such a
/// page is not pipelined.
#[macro_export]
macro_rules! page_query {
    ($filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block) => {
        $crate::page_query!(@impl $filter, $table, $row, |$q, $f| $body, |_conn, _f| {}, pipelined);
    };
    ($filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block,
     first |$c:ident, $cf:ident| $first:block) => {
        $crate::page_query!(@impl $filter, $table, $row, |$q, $f| $body, |$c, $cf| $first, pool);
    };
    (@impl $filter:ty, $table:ident, $row:ty, |$q:ident, $f:ident| $body:block,
     |$c:ident, $cf:ident| $first:block, $way:ident) => {
        impl $crate::crud::PageQuery for $filter {
            type Row = $row;

            fn at(&self, after: Option<String>, limit: i64) -> Self {
                Self {
                    after,
                    limit,
                    ..self.clone()
                }
            }

            fn load(
                &self,
                conn: &mut $crate::db::DbConnection,
                columns: $crate::crud::Columns,
            ) -> $crate::error::ApiResult<$crate::crud::Fetched<$row>> {
                {
                    let ($c, $cf) = (&mut *conn, self);
                    $first
                }
                if let $crate::crud::Columns::Keys = columns {
                    // Every list asks for its keys: on the backend's own connection, as `native!` runs
                    // a query, with the key statement built for that backend.
                    use $crate::db::DbConnection as D;
                    let keys = match conn {
                        D::Sqlite(c) => $crate::page_query!(@keys diesel::sqlite::Sqlite, c, false, $table, self, $q, $f, $body),
                        D::Postgresql(c) => $crate::page_query!(@keys diesel::pg::Pg, c, true, $table, self, $q, $f, $body),
                    };
                    return Ok($crate::crud::Fetched::Keys(keys?));
                }
                let q = $crate::page_query!(@query $crate::db::MultiBackend, $table, self, $q, $f, $body)
                    .select(<$row>::as_select());
                Ok($crate::crud::Fetched::Rows($crate::load_page!(q, conn, self.limit)?))
            }

            $crate::page_query!(@pg_keys $way, $table, |$q, $f| $body);
        }
    };
    (@pg_keys pipelined, $table:ident, |$q:ident, $f:ident| $body:block) => {
        fn pg_keys(&self) -> $crate::error::ApiResult<Option<$crate::db::PgStatement>> {
            let q = $crate::page_query!(@key_query diesel::pg::Pg, $table, self, $q, $f, $body);
            $crate::db::pg_statement(&$crate::db::page_limit(q, self.limit, true)).map(Some)
        }
    };
    (@pg_keys pool, $($rest:tt)*) => {};
    (@keys $db:ty, $conn:expr, $literal:expr, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        let q = $crate::page_query!(@key_query $db, $table, $self, $q, $f, $body);
        $crate::db::page_limit(q, $self.limit, $literal).load::<$crate::crud::Key>($conn)
    }};
    // The keys' statement (a `Key` per row), on the pool's connection and through the pipeline.
    (@key_query $db:ty, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        use diesel::{sql_types::{Nullable, Timestamp}, IntoSql};
        let q = $crate::page_query!(@query $db, $table, $self, $q, $f, $body);
        // `updated_at` only for the cursor of a list by `updated_since`: reading a timestamp
        // costs more than the rest of a key on SQLite.
        if $self.updated_since.is_some() {
            q.select(($table::id, $table::version, $table::updated_at.nullable()))
        } else {
            // A bound NULL: a literal (`dsl::sql`) would make SQLite parse the statement anew
            // each time, as diesel does not cache a statement holding SQL it cannot see into.
            q.select(($table::id, $table::version, None::<chrono::NaiveDateTime>.into_sql::<Nullable<Timestamp>>()))
        }
    }};
    (@query $db:ty, $table:ident, $self:expr, $q:ident, $f:ident, $body:block) => {{
        let $f = $self;
        #[allow(unused_mut)]
        let mut $q = $table::table
            .filter($table::deleted_at.is_null())
            .into_boxed::<$db>();
        $body
        $crate::keyset!($q, $table, $f.updated_since, $f.after.as_deref())
    }};
}
