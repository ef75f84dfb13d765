//! A diesel query as PostgreSQL receives it (its SQL and binds), for `pipeline`.

use crate::error::ApiError;

/// A statement as diesel sends it to PostgreSQL: its SQL, and each bind's type (OID) and value
/// in PostgreSQL's binary format (`None`: NULL). `pipeline` sends such statements itself, so
/// every query is still written once, in diesel's query language.
#[derive(Debug, Clone)]
pub struct PgStatement {
    pub sql: String,
    pub types: Vec<u32>,
    pub binds: Vec<Option<Vec<u8>>>,
}

/// `query` as diesel's PostgreSQL connection would send it.
pub fn pg_statement<Q>(query: &Q) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let sql = pg_sql(query)?;
    pg_statement_of(query, sql)
}

/// `pg_statement` for a query whose SQL text is the same every time (no optional filters: only
/// its binds change), written once into `sql`: a GET's version lookup built its SQL per request.
pub fn pg_statement_once<Q>(
    query: &Q,
    sql: &std::sync::OnceLock<String>,
) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let text = match sql.get() {
        Some(text) => text.clone(),
        None => {
            let text = pg_sql(query)?;
            let _ = sql.set(text.clone());
            text
        }
    };
    pg_statement_of(query, text)
}

pub(super) fn pg_sql<Q>(query: &Q) -> Result<String, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    use diesel::query_builder::QueryBuilder;
    let mut sql = diesel::pg::PgQueryBuilder::new();
    query.to_sql(&mut sql, &diesel::pg::Pg)?;
    Ok(sql.finish())
}

pub(super) fn pg_statement_of<Q>(query: &Q, sql: String) -> Result<PgStatement, ApiError>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    use diesel::query_builder::bind_collector::RawBytesBindCollector;
    let mut binds = RawBytesBindCollector::<diesel::pg::Pg>::new();
    query.collect_binds(&mut binds, &mut NoTypeLookup, &diesel::pg::Pg)?;
    let types = binds
        .metadata
        .iter()
        .map(|m| m.oid().map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    Ok(PgStatement {
        sql,
        types,
        binds: binds.binds,
    })
}

/// The schema uses PostgreSQL's built-in types only, whose OIDs diesel knows: a type looked up
/// by name (an enum or extension type) is an error, not a query to the database.
pub(super) struct NoTypeLookup;

impl diesel::pg::PgMetadataLookup for NoTypeLookup {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> diesel::pg::PgTypeMetadata {
        diesel::pg::PgTypeMetadata::from_result(Err(diesel::pg::FailedToLookupTypeError::new(
            diesel::pg::PgMetadataCacheKey::new(
                schema.map(|s| s.to_string().into()),
                type_name.to_string().into(),
            ),
        )))
    }
}
