//! Governing documents (policy, goal document, guideline, programme, action plan): their
//! fields, storage, and the rules of their life: draft -> proposed -> adopted -> superseded.

pub mod routes;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    access::{DecidingBody, Decision},
    changes::{self, Actor, Change, Resource},
    db::{schema::documents, DbConnection},
    error::{ApiError, ApiResult},
    model::{new_id, now, utc, Checks},
    string_enum,
};

string_enum!(
    /// The kind of governing document; it decides who adopts it.
    DocumentKind {
        Policy => "policy" / "policy",
        GoalDocument => "goal_document" / "måldokument",
        Guideline => "guideline" / "riktlinje",
        Programme => "programme" / "program",
        ActionPlan => "action_plan" / "handlingsplan",
    }
);

impl DocumentKind {
    /// The council adopts the policy and the county's joint goal documents; the board the rest.
    pub fn deciding_body(self) -> DecidingBody {
        match self {
            DocumentKind::Policy | DocumentKind::GoalDocument => DecidingBody::Council,
            _ => DecidingBody::Board,
        }
    }
}

string_enum!(
    /// Where a document is in its life.
    DocumentStatus {
        Draft => "draft",
        Proposed => "proposed",
        Adopted => "adopted",
        Superseded => "superseded",
    }
);

impl DocumentStatus {
    /// Adopted and superseded documents, and their goals, are read-only.
    pub fn is_fixed(self) -> bool {
        matches!(self, DocumentStatus::Adopted | DocumentStatus::Superseded)
    }
}

/// A governing document: its writable fields, and those the service and the actions set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Document {
    #[schema(example = "0193a0f4-7c1e-7b52-9a39-0c4f5e1d2a10")]
    pub id: String,
    #[serde(flatten)]
    pub fields: DocumentInput,
    pub status: DocumentStatus,
    /// The adoption decision; null until adopted.
    pub decision: Option<Decision>,
    /// The adopted document this draft revises.
    pub revision_of: Option<String>,
    /// The revision that replaced this document when it was adopted.
    pub superseded_by: Option<String>,
    /// Counts changes; the ETag is made from it.
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Document, DocumentInput);

impl Resource for Document {
    crate::resource_keys!(Document);
    fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }
    fn decision_summary(
        &self,
        _conn: &mut DbConnection,
        _kind: crate::decisions::DecisionKind,
    ) -> crate::error::ApiResult<String> {
        Ok(format!("Antog {} \"{}\"", self.kind.sv(), self.title))
    }
}

/// The fields a caller writes when creating a document, and may change with a merge patch
/// while it is not adopted. Status and decision change only through the actions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// Fixed when the document is created (it decides who adopts it); a patch may repeat it
    /// but not change it, and a revision has its original's kind.
    pub kind: DocumentKind,
    /// 1-500 characters.
    #[schema(example = "Internationell policy")]
    pub title: String,
    /// At most 20 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// The register number (dokumentnr), e.g. `320944`.
    #[serde(default)]
    pub document_number: Option<String>,
    /// The edition (version in the register), 1-10 000; not the record's `version`.
    #[serde(default)]
    pub document_version: Option<i32>,
    /// The year an action plan covers, 1900-2200: required for an action plan, of which one
    /// adopted plan a year is in force (a revision of it supersedes it).
    #[serde(default)]
    #[schema(example = 2027)]
    pub year: Option<i32>,
    /// Who the document applies to (gäller för), e.g. `Regiongemensamt`.
    #[serde(default)]
    pub applies_to: Option<String>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub case_officer: Option<String>,
    #[serde(default)]
    pub reviewer: Option<String>,
    #[serde(default)]
    pub process_owner: Option<String>,
}

/// Fields of a document that only the service or its actions set.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "status",
    "decision",
    "revision_of",
    "superseded_by",
    "version",
    "created_at",
    "updated_at",
];

impl DocumentInput {
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut c = Checks::default();
        c.text("title", Some(&self.title), true, 500);
        c.text("description", self.description.as_deref(), false, 20_000);
        c.text(
            "document_number",
            self.document_number.as_deref(),
            false,
            50,
        );
        c.range(
            "document_version",
            self.document_version.map(i64::from),
            1,
            10_000,
        );
        c.range("year", self.year.map(i64::from), 1900, 2200);
        if self.kind == DocumentKind::ActionPlan && self.year.is_none() {
            c.add("year", "an action plan covers a year, 1900-2200: give it");
        }
        c.text("applies_to", self.applies_to.as_deref(), false, 200);
        c.text("case_officer", self.case_officer.as_deref(), false, 200);
        c.text("reviewer", self.reviewer.as_deref(), false, 200);
        c.text("process_owner", self.process_owner.as_deref(), false, 200);
        c.finish()
    }
}

/// The body of `adopt`: the decision being recorded.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptRequest {
    /// The date of the decision.
    pub date: NaiveDate,
    /// The decision's reference, e.g. `RF 2018-06-21 § 135`; 1-200 characters.
    pub reference: String,
    /// The deciding body; it must be the one that adopts this kind of document. Defaults to it.
    #[serde(default)]
    pub body: Option<DecidingBody>,
    /// When the document applies from; defaults to the decision date when not set before.
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = documents, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct DocumentRow {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub document_number: Option<String>,
    pub document_version: Option<i32>,
    pub year: Option<i32>,
    pub applies_to: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub case_officer: Option<String>,
    pub reviewer: Option<String>,
    pub process_owner: Option<String>,
    pub decision_body: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub decision_reference: Option<String>,
    pub revision_of: Option<String>,
    pub superseded_by: Option<String>,
    pub version: i64,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    pub deleted_at: Option<chrono::NaiveDateTime>,
}

impl DocumentRow {
    pub fn into_api(self) -> Result<Document, ApiError> {
        let decision = Decision::from_columns((
            self.decision_body,
            self.decision_date,
            self.decision_reference,
        ))?;
        Ok(Document {
            fields: DocumentInput {
                kind: DocumentKind::from_db(&self.kind)?,
                title: self.title,
                description: self.description,
                document_number: self.document_number,
                document_version: self.document_version,
                year: self.year,
                applies_to: self.applies_to,
                valid_from: self.valid_from,
                case_officer: self.case_officer,
                reviewer: self.reviewer,
                process_owner: self.process_owner,
            },
            status: DocumentStatus::from_db(&self.status)?,
            id: self.id,
            decision,
            revision_of: self.revision_of,
            superseded_by: self.superseded_by,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }

    fn from_api(d: &Document) -> Self {
        let (decision_body, decision_date, decision_reference) = Decision::columns(&d.decision);
        DocumentRow {
            id: d.id.clone(),
            kind: d.kind.as_str().into(),
            title: d.title.clone(),
            description: d.description.clone(),
            status: d.status.as_str().into(),
            document_number: d.document_number.clone(),
            document_version: d.document_version,
            year: d.year,
            applies_to: d.applies_to.clone(),
            valid_from: d.valid_from,
            case_officer: d.case_officer.clone(),
            reviewer: d.reviewer.clone(),
            process_owner: d.process_owner.clone(),
            decision_body,
            decision_date,
            decision_reference,
            revision_of: d.revision_of.clone(),
            superseded_by: d.superseded_by.clone(),
            version: d.version,
            created_at: d.created_at.naive_utc(),
            updated_at: d.updated_at.naive_utc(),
            deleted_at: None,
        }
    }
}

/// A live (not deleted) document, or 404.
pub fn load(conn: &mut DbConnection, id: &str) -> Result<Document, ApiError> {
    documents::table
        .filter(documents::id.eq(id))
        .filter(documents::deleted_at.is_null())
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound(format!("no document with id {id}")))?
        .into_api()
}

/// Refuses changes to an adopted or superseded document (and so to its goals).
pub fn ensure_editable(doc: &Document) -> Result<(), ApiError> {
    if doc.status.is_fixed() {
        return Err(ApiError::Conflict(format!(
            "document {} is {} and read-only; make a revision with POST /v1/documents/{}/revisions and change that",
            doc.id,
            doc.status.as_str(),
            doc.id
        )));
    }
    Ok(())
}

/// One adopted action plan a year is in force: adopting `doc` (superseding `original`, when it
/// is a revision) is a 409 while another plan of its year is adopted. On PostgreSQL the
/// adoptions of a year take turns (a lock to the end of the transaction), so two plans of one
/// year adopted at once cannot both pass; SQLite has one writer.
pub fn ensure_one_plan_in_force(
    conn: &mut DbConnection,
    doc: &Document,
    original: Option<&Document>,
) -> Result<(), ApiError> {
    let (DocumentKind::ActionPlan, Some(year)) = (doc.kind, doc.year) else {
        return Ok(());
    };
    if let DbConnection::Postgresql(pg) = conn {
        let lock = diesel::sql_query("SELECT pg_advisory_xact_lock(727274004, $1)")
            .bind::<diesel::sql_types::Integer, _>(year);
        diesel::RunQueryDsl::execute(lock, pg)?;
    }
    let mut others = documents::table
        .filter(documents::kind.eq(DocumentKind::ActionPlan.as_str()))
        .filter(documents::year.eq(year))
        .filter(documents::status.eq(DocumentStatus::Adopted.as_str()))
        .filter(documents::deleted_at.is_null())
        .filter(documents::id.ne(&doc.id))
        .select(documents::id)
        .into_boxed();
    if let Some(o) = original {
        others = others.filter(documents::id.ne(&o.id));
    }
    match others.first::<String>(conn).optional()? {
        Some(other) => Err(ApiError::Conflict(format!(
            "action plan {other} is in force for {year}; one plan a year is: change it through a revision (POST /v1/documents/{other}/revisions)"
        ))),
        None => Ok(()),
    }
}

/// A document's kind, and so the body that decides it, is fixed when it is created: 422 when
/// `input` would change it.
pub fn ensure_same_kind(doc: &Document, input: &DocumentInput) -> Result<(), ApiError> {
    if input.kind != doc.kind {
        return Err(ApiError::validation(
            "kind",
            format!(
                "is fixed when a document is created (this one is a {}); a revision keeps its original's kind",
                doc.kind.as_str()
            ),
        ));
    }
    Ok(())
}

pub fn insert(
    conn: &mut DbConnection,
    actor: &Actor,
    input: DocumentInput,
    revision_of: Option<String>,
) -> Result<Document, ApiError> {
    let t = utc(now());
    let doc = Document {
        id: new_id(),
        fields: input,
        status: DocumentStatus::Draft,
        decision: None,
        revision_of,
        superseded_by: None,
        version: 1,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(documents::table)
        .values(DocumentRow::from_api(&doc))
        .execute(conn)?;
    changes::record(conn, actor, Change::Created(&doc))?;
    Ok(doc)
}

/// Writes `after` over `before` (same id, version one higher), guarded by the version so a
/// concurrent writer cannot be overwritten, and records the change.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    before: &Document,
    mut after: Document,
) -> Result<Document, ApiError> {
    after.version = before.version + 1;
    after.updated_at = utc(now());
    let n = crate::db::prepared_update(
        documents::table,
        DocumentRow::from_api(&after),
        documents::id
            .eq(&before.id)
            .and(documents::version.eq(before.version)),
    )
    .execute(conn)?;
    if n != 1 {
        return Err(ApiError::PreconditionFailed(format!(
            "document {} was changed concurrently; fetch it again",
            before.id
        )));
    }
    changes::record(
        conn,
        actor,
        Change::Updated {
            action,
            before,
            after: &after,
        },
    )?;
    Ok(after)
}

/// Applies the writable fields of `input` to a copy of `doc`.
pub fn with_input(doc: &Document, input: DocumentInput) -> Document {
    Document {
        fields: input,
        ..doc.clone()
    }
}

/// Soft delete: the row stays as a tombstone with a new version; the feed says `deleted`.
pub fn delete(conn: &mut DbConnection, actor: &Actor, doc: &Document) -> Result<(), ApiError> {
    let version = doc.version + 1;
    let n = crate::db::prepared_update(
        documents::table,
        (
            documents::deleted_at.eq(Some(now())),
            documents::version.eq(version),
            documents::updated_at.eq(now()),
        ),
        documents::id
            .eq(&doc.id)
            .and(documents::version.eq(doc.version)),
    )
    .execute(conn)?;
    if n != 1 {
        return Err(ApiError::PreconditionFailed(format!(
            "document {} was changed concurrently",
            doc.id
        )));
    }
    changes::record(
        conn,
        actor,
        Change::Deleted {
            before: doc,
            version,
        },
    )
}

/// The filters of `GET /v1/documents`.
#[derive(Clone)]
pub struct Filter {
    pub kind: Option<DocumentKind>,
    pub status: Option<DocumentStatus>,
    pub year: Option<i32>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

crate::page_query!(Filter, documents, DocumentRow, |q, f| {
    if let Some(k) = f.kind {
        q = q.filter(documents::kind.eq(k.as_str()));
    }
    if let Some(s) = f.status {
        q = q.filter(documents::status.eq(s.as_str()));
    }
    if let Some(y) = f.year {
        q = q.filter(documents::year.eq(y));
    }
});

impl crate::crud::Listed for Document {
    type Row = DocumentRow;
    fn key(row: &DocumentRow) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(_conn: &mut DbConnection, rows: Vec<DocumentRow>) -> ApiResult<Vec<Self>> {
        rows.into_iter().map(DocumentRow::into_api).collect()
    }
}

impl crate::crud::Entity for Document {
    type Input = DocumentInput;
    const COLLECTION: &'static str = "/v1/documents";
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;
    crate::live_version!(documents);

    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self> {
        load(conn, id)
    }
    fn input(&self) -> DocumentInput {
        self.fields.clone()
    }
    fn ensure_writable(&self, _conn: &mut DbConnection) -> ApiResult<()> {
        ensure_editable(self)
    }
    fn check(input: &DocumentInput) -> ApiResult<()> {
        input.validate()
    }
    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        input: DocumentInput,
    ) -> ApiResult<Self> {
        ensure_same_kind(before, &input)?;
        update(conn, actor, "update", before, with_input(before, input))
    }
    /// Only a draft goes, and its goals and (an action plan's) activities with it.
    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        if before.status != DocumentStatus::Draft {
            return Err(ApiError::Conflict(format!(
                "only draft documents can be deleted; this one is {}",
                before.status.as_str()
            )));
        }
        crate::activities::delete_all_of_plan(conn, actor, &before.id)?;
        crate::goals::delete_all_of_document(conn, actor, &before.id)?;
        delete(conn, actor, before)
    }
}

impl crate::crud::Creatable for Document {
    /// A new document is a draft.
    fn create(conn: &mut DbConnection, actor: &Actor, input: DocumentInput) -> ApiResult<Self> {
        insert(conn, actor, input, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn council_adopts_policy_and_goal_documents_board_the_rest() {
        for &kind in DocumentKind::ALL {
            let expected = match kind {
                DocumentKind::Policy | DocumentKind::GoalDocument => DecidingBody::Council,
                _ => DecidingBody::Board,
            };
            assert_eq!(kind.deciding_body(), expected);
        }
    }
}
