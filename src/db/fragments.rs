//! Statement fragments kept prepared: id lists (`filter_ids!`, `InList`, `InJsonEach`), a
//! page's `LIMIT` (`PageLimit`, `load_page!`) and an update by key (`PreparedUpdate`), each
//! written so that a statement's text is the same every time.

/// Filters a boxed query to rows whose `$column` is one of `$ids` (`&[&str]`), in a form that
/// is prepared once and kept. One id is `= ?`. On SQLite several are one JSON bind
/// ([`InJsonEach`]): diesel's `IN (?, ?, …)` changes its SQL with the count, and diesel
/// caches no such statement. On PostgreSQL fewer than [`IN_LIST_BELOW`] are [`InList`], one
/// kept statement per count; more are `= ANY($1)`. PostgreSQL costs the generic plan of an
/// array bind as if it held ten elements, so with fewer it planned every execution afresh
/// (pgbench, the links query with 3 ids: 15 000 statements/s against 31 700 as `IN`; with 20,
/// the same either way).
#[macro_export]
macro_rules! filter_ids {
    ($query:expr, $conn:expr, $column:expr, $ids:expr) => {{
        let ids: &[&str] = $ids;
        match ($crate::db::is_postgres($conn), ids.len()) {
            (_, 1) => $query.filter($column.eq(ids[0])),
            (false, _) => $query.filter($crate::db::InJsonEach::new($column, &ids)),
            (true, n) if n < $crate::db::IN_LIST_BELOW => $query.filter($crate::db::InList {
                column: $column,
                ids,
            }),
            _ => $query.filter($column.eq_any(ids)),
        }
    }};
}

/// Below this many ids, `filter_ids!` writes `IN ($1, …, $k)` on PostgreSQL (see there).
pub const IN_LIST_BELOW: usize = 16;

/// `column IN (SELECT value FROM json_each(?))`, the ids as one JSON array bound (SQLite). Its
/// SQL is the same whatever the ids, so the statement is prepared once and kept; written with
/// `dsl::sql` it was not (diesel never caches a statement holding a literal SQL fragment).
#[derive(Clone)]
pub struct InJsonEach<C> {
    column: C,
    json: String,
}

impl<C> InJsonEach<C> {
    pub fn new<T: serde::Serialize>(column: C, ids: &T) -> Self {
        InJsonEach {
            column,
            json: serde_json::to_string(ids).expect("ids serialise"),
        }
    }
}

impl<C: diesel::Expression> diesel::Expression for InJsonEach<C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::AppearsOnTable<QS>, QS> diesel::AppearsOnTable<QS> for InJsonEach<C> {}

impl<C: diesel::expression::ValidGrouping<GB>, GB> diesel::expression::ValidGrouping<GB>
    for InJsonEach<C>
{
    type IsAggregate = C::IsAggregate;
}

impl<C> diesel::query_builder::QueryId for InJsonEach<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> diesel::query_builder::QueryFragment<DB> for InJsonEach<C>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    C: diesel::query_builder::QueryFragment<DB>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// `column IN ($1, …, $k)`, one text bind per id: a statement per number of ids, which
/// PostgreSQL plans once each. Written as `= ANY($1)` (diesel's `eq_any`), the one statement's
/// generic plan is costed for ten ids, so PostgreSQL planned every execution of a few ids afresh:
/// `db::pipeline`'s batched version lookups (`live_version!`) answered a third fewer GETs. Used
/// there and, for small sets on PostgreSQL, by `filter_ids!`.
pub struct InList<'a, C> {
    pub column: C,
    pub ids: &'a [&'a str],
}

impl<C: diesel::Expression> diesel::Expression for InList<'_, C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::AppearsOnTable<QS>, QS> diesel::AppearsOnTable<QS> for InList<'_, C> {}

impl<C: diesel::expression::ValidGrouping<GB>, GB> diesel::expression::ValidGrouping<GB>
    for InList<'_, C>
{
    type IsAggregate = C::IsAggregate;
}

impl<C> diesel::query_builder::QueryId for InList<'_, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> diesel::query_builder::QueryFragment<DB> for InList<'_, C>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    C: diesel::query_builder::QueryFragment<DB>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (n, id) in self.ids.iter().enumerate() {
            if n > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<diesel::sql_types::Text, _>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A page query's `LIMIT`, in the form each backend keeps prepared and planned once.
///
/// SQLite (`LIMIT (SELECT ?)`): SQLite reads a bound LIMIT's value while planning and so marks
/// the statement expired whenever the value is bound again, which diesel does on every
/// execution: the page query was parsed and planned anew for every list request (a uprobe on
/// sqlite3Prepare: one per request). A subquery's value is not read by the planner.
///
/// PostgreSQL (`LIMIT 21`, written into the SQL): with `LIMIT $1` the generic plan is costed
/// for a tenth of the table, so PostgreSQL kept choosing a custom plan, planning the query again
/// on every execution; with the number in the text the generic plan is the right one and is
/// reused (list of 20 projects 9 620 -> 12 433 req/s, with a cursor 6 265 -> 11 566). One
/// prepared statement per distinct limit a client asks for (1 to 500 by the API's bounds).
#[derive(Debug, Clone, Copy)]
pub struct PageLimit<Q> {
    query: Q,
    limit: i64,
    literal: bool,
}

/// No static id: the SQL text differs with a literal limit, so diesel must key its statement
/// cache by the text.
impl<Q> diesel::query_builder::QueryId for PageLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for PageLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> diesel::query_dsl::RunQueryDsl<C> for PageLimit<Q> {}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for PageLimit<Q>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    Q: diesel::query_builder::QueryFragment<DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        if self.literal {
            // An i64, so nothing but digits reaches the SQL.
            out.push_sql(&format!(" LIMIT {}", self.limit));
        } else {
            out.push_sql(" LIMIT (SELECT ");
            out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.limit)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// `UPDATE table SET values WHERE filter`, kept prepared on its connection. diesel never caches
/// an UPDATE's statement (`UpdateStatement` marks itself unsafe to cache: a changeset may skip
/// `None` fields, so its SQL can vary); ours set every column (`treat_none_as_null`), so each
/// has one text, by which the cache is keyed (no static id). Before, every PATCH's UPDATE was
/// parsed and planned again (`<unnamed>` in PostgreSQL's log, `sqlite3RunParser` in a SQLite
/// PATCH's profile). The same SQL as diesel's `update(table.filter(filter)).set(values)`.
///
/// INSERTs need no such wrapper, only the row structs' `treat_none_as_default_value = false`:
/// diesel wrote an empty optional field as `DEFAULT`, so an INSERT's text changed with the
/// fields left empty and diesel never kept it prepared. No nullable column has a default, so
/// NULL is what `DEFAULT` stored (test `explain::writes_keep_their_statements_prepared`).
pub struct PreparedUpdate<T, V, W> {
    table: T,
    values: V,
    filter: W,
}

pub fn prepared_update<T, C, W>(
    table: T,
    values: C,
    filter: W,
) -> PreparedUpdate<T, C::Changeset, W>
where
    T: diesel::Table,
    C: diesel::AsChangeset<Target = T>,
{
    PreparedUpdate {
        table,
        values: values.as_changeset(),
        filter,
    }
}

impl<T, V, W> diesel::query_builder::QueryId for PreparedUpdate<T, V, W> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T, V, W, C> diesel::query_dsl::RunQueryDsl<C> for PreparedUpdate<T, V, W> {}

impl<T, V, W, DB> diesel::query_builder::QueryFragment<DB> for PreparedUpdate<T, V, W>
where
    DB: diesel::backend::Backend,
    T: diesel::query_builder::QueryFragment<DB>,
    V: diesel::query_builder::QueryFragment<DB>,
    W: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("UPDATE ");
        self.table.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

/// `query` limited to `limit` rows as [`PageLimit`] describes (`literal` on PostgreSQL).
pub fn page_limit<Q>(query: Q, limit: i64, literal: bool) -> PageLimit<Q> {
    PageLimit {
        query,
        limit,
        literal,
    }
}

/// Loads at most `$limit` rows of a page query (boxed, without a limit of its own), with the
/// limit as [`PageLimit`] writes it for the connection's backend.
#[macro_export]
macro_rules! load_page {
    ($query:expr, $conn:expr, $limit:expr) => {{
        let (query, limit) = ($query, $limit);
        let literal = $crate::db::is_postgres($conn);
        $crate::db::page_limit(query, limit, literal).load($conn)
    }};
}
