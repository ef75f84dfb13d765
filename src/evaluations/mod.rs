//! Evaluations: follow-up of a membership, project, activity, document or goal (benefit,
//! efficiency, goal fulfilment, recommendation). Officers draft and submit; the board approves,
//! recording the decision; an approved evaluation is read-only. Approving an evaluation of a
//! membership moves its next review.

pub mod routes;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    access::{DecidingBody, Decision},
    changes::{self, Actor, Change, Resource},
    crud::{Creatable, Entity},
    db::{
        schema::{activities, documents, evaluations, goals, memberships, projects},
        DbConnection,
    },
    error::{ApiError, ApiResult},
    model::{new_id, now, utc, Checks},
    string_enum, versioned_store,
};

string_enum!(
    /// What an evaluation follows up.
    SubjectType {
        Membership => "membership" / "medlemskap",
        Project => "project" / "projekt",
        Activity => "activity" / "aktivitet",
        Document => "document" / "dokument",
        Goal => "goal" / "mål",
    }
);

string_enum!(
    /// How far the goals were reached.
    GoalFulfilment {
        Achieved => "achieved" / "uppnådd",
        LargelyAchieved => "largely_achieved" / "i huvudsak uppnådd",
        PartlyAchieved => "partly_achieved" / "delvis uppnådd",
        NotAchieved => "not_achieved" / "inte uppnådd",
        NotAssessed => "not_assessed" / "inte bedömd",
    }
);

string_enum!(
    /// What the evaluation recommends.
    Recommendation {
        Continue => "continue" / "fortsätta",
        Change => "change" / "förändra",
        Terminate => "terminate" / "avveckla",
    }
);

string_enum!(
    /// draft -> submitted (`submit`) -> approved (`approve`, the board).
    EvaluationStatus {
        Draft => "draft",
        Submitted => "submitted",
        Approved => "approved",
    }
);

/// An evaluation: its writable fields, and those its steps set.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Evaluation {
    pub id: String,
    #[serde(flatten)]
    pub fields: EvaluationInput,
    pub status: EvaluationStatus,
    /// The board's approval; null until approved.
    pub decision: Option<Decision>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

crate::record_fields!(Evaluation, EvaluationInput);

impl Resource for Evaluation {
    crate::resource_keys!(Evaluation);
    fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }
    fn decision_summary(
        &self,
        _conn: &mut DbConnection,
        _kind: crate::decisions::DecisionKind,
    ) -> ApiResult<String> {
        let mut s = format!(
            "Godkände utvärderingen av {} {}: måluppfyllelse {}",
            self.subject_type.sv(),
            self.subject_id,
            self.goal_fulfilment.sv()
        );
        if let Some(r) = self.recommendation {
            s.push_str(&format!(", rekommendation {}", r.sv()));
        }
        Ok(s)
    }
}

/// The writable fields of an evaluation (while it is not approved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationInput {
    pub subject_type: SubjectType,
    /// Must name a live record of `subject_type`.
    pub subject_id: String,
    #[serde(default)]
    pub period_start: Option<NaiveDate>,
    #[serde(default)]
    pub period_end: Option<NaiveDate>,
    /// Benefit for the region, 1-5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub benefit_region: Option<i32>,
    /// Benefit for the organisation Region Västernorrland, 1-5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub benefit_organisation: Option<i32>,
    /// Benefit for the residents, 1-5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub benefit_residents: Option<i32>,
    /// Efficiency, 1-5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub efficiency: Option<i32>,
    /// Default `not_assessed`.
    #[serde(default = "not_assessed")]
    pub goal_fulfilment: GoalFulfilment,
    /// At most 20 000 characters.
    #[serde(default)]
    pub findings: Option<String>,
    #[serde(default)]
    pub recommendation: Option<Recommendation>,
}

fn not_assessed() -> GoalFulfilment {
    GoalFulfilment::NotAssessed
}

/// The body of `approve`: the board's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    pub date: NaiveDate,
    /// E.g. `RS 2026-11-20 § 15`; 1-200 characters.
    pub reference: String,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = evaluations, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Row {
    id: String,
    subject_type: String,
    subject_id: String,
    period_start: Option<NaiveDate>,
    period_end: Option<NaiveDate>,
    benefit_region: Option<i32>,
    benefit_organisation: Option<i32>,
    benefit_residents: Option<i32>,
    efficiency: Option<i32>,
    goal_fulfilment: String,
    findings: Option<String>,
    recommendation: Option<String>,
    status: String,
    decision_body: Option<String>,
    decision_date: Option<NaiveDate>,
    decision_reference: Option<String>,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    deleted_at: Option<chrono::NaiveDateTime>,
}

versioned_store!(evaluations, Row);

impl Row {
    fn of(e: &Evaluation) -> Self {
        let (decision_body, decision_date, decision_reference) = Decision::columns(&e.decision);
        Row {
            id: e.id.clone(),
            subject_type: e.subject_type.as_str().into(),
            subject_id: e.subject_id.clone(),
            period_start: e.period_start,
            period_end: e.period_end,
            benefit_region: e.benefit_region,
            benefit_organisation: e.benefit_organisation,
            benefit_residents: e.benefit_residents,
            efficiency: e.efficiency,
            goal_fulfilment: e.goal_fulfilment.as_str().into(),
            findings: e.findings.clone(),
            recommendation: e.recommendation.map(|r| r.as_str().into()),
            status: e.status.as_str().into(),
            decision_body,
            decision_date,
            decision_reference,
            version: e.version,
            created_at: e.created_at.naive_utc(),
            updated_at: e.updated_at.naive_utc(),
            deleted_at: None,
        }
    }

    fn into_api(self) -> ApiResult<Evaluation> {
        let decision = Decision::from_columns((
            self.decision_body,
            self.decision_date,
            self.decision_reference,
        ))?;
        Ok(Evaluation {
            fields: EvaluationInput {
                subject_type: SubjectType::from_db(&self.subject_type)?,
                goal_fulfilment: GoalFulfilment::from_db(&self.goal_fulfilment)?,
                recommendation: self
                    .recommendation
                    .as_deref()
                    .map(Recommendation::from_db)
                    .transpose()?,
                subject_id: self.subject_id,
                period_start: self.period_start,
                period_end: self.period_end,
                benefit_region: self.benefit_region,
                benefit_organisation: self.benefit_organisation,
                benefit_residents: self.benefit_residents,
                efficiency: self.efficiency,
                findings: self.findings,
            },
            status: EvaluationStatus::from_db(&self.status)?,
            decision,
            id: self.id,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

#[derive(Clone)]
pub struct Filter {
    pub subject_type: Option<SubjectType>,
    pub subject_id: Option<String>,
    pub status: Option<EvaluationStatus>,
    pub updated_since: Option<chrono::NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

// A page of the list (`crud::PageQuery`, `crud::Listed`): the filters narrow the query `q`.
crate::page_query!(Filter, evaluations, Row, |q, f| {
    if let Some(t) = f.subject_type {
        q = q.filter(evaluations::subject_type.eq(t.as_str()));
    }
    if let Some(s) = &f.subject_id {
        q = q.filter(evaluations::subject_id.eq(s.clone()));
    }
    if let Some(s) = f.status {
        q = q.filter(evaluations::status.eq(s.as_str()));
    }
});

/// Whether a live record of the subject type has this id.
fn subject_exists(conn: &mut DbConnection, t: SubjectType, id: &str) -> ApiResult<bool> {
    macro_rules! live {
        ($table:ident) => {
            $table::table
                .filter($table::id.eq(id))
                .filter($table::deleted_at.is_null())
                .count()
                .get_result::<i64>(conn)?
                > 0
        };
    }
    Ok(match t {
        SubjectType::Membership => live!(memberships),
        SubjectType::Project => live!(projects),
        SubjectType::Activity => live!(activities),
        SubjectType::Document => live!(documents),
        SubjectType::Goal => live!(goals),
    })
}

/// The subject `i` names, unless `before` (the evaluation before an update) already did.
fn check_refs(
    conn: &mut DbConnection,
    i: &EvaluationInput,
    before: Option<&Evaluation>,
) -> ApiResult<()> {
    let held =
        before.is_some_and(|b| b.subject_type == i.subject_type && b.subject_id == i.subject_id);
    if !held && !subject_exists(conn, i.subject_type, &i.subject_id)? {
        return Err(ApiError::validation(
            "subject_id",
            format!("no {} with this id", i.subject_type.as_str()),
        ));
    }
    Ok(())
}

impl crate::crud::Listed for Evaluation {
    type Row = Row;
    fn key(row: &Row) -> (&str, i64, chrono::NaiveDateTime) {
        (&row.id, row.version, row.updated_at)
    }
    fn assemble(_: &mut DbConnection, rows: Vec<Row>) -> ApiResult<Vec<Self>> {
        rows.into_iter().map(Row::into_api).collect()
    }
}

impl Entity for Evaluation {
    crate::live_version!(evaluations);
    type Input = EvaluationInput;
    const COLLECTION: &'static str = "/v1/evaluations";
    const READ_ONLY: &'static [&'static str] = &["status", "decision"];

    fn load(conn: &mut DbConnection, id: &str) -> ApiResult<Self> {
        evaluations::table
            .filter(evaluations::id.eq(id))
            .filter(evaluations::deleted_at.is_null())
            .select(Row::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ApiError::NotFound(format!("no evaluation with id {id}")))?
            .into_api()
    }

    fn input(&self) -> EvaluationInput {
        self.fields.clone()
    }

    /// Only a draft is edited: a submitted evaluation is the board's to send back or approve,
    /// an approved one is final.
    fn ensure_writable(&self, _conn: &mut DbConnection) -> ApiResult<()> {
        match self.status {
            EvaluationStatus::Draft => Ok(()),
            EvaluationStatus::Submitted => Err(ApiError::Conflict(format!(
                "evaluation {} is submitted and waits for the board, which approves it or sends \
                 it back to draft with POST /v1/evaluations/{}/send-back",
                self.id, self.id
            ))),
            EvaluationStatus::Approved => Err(ApiError::Conflict(format!(
                "evaluation {} is approved and read-only",
                self.id
            ))),
        }
    }

    fn check(i: &EvaluationInput) -> ApiResult<()> {
        let mut c = Checks::default();
        c.text("subject_id", Some(&i.subject_id), true, 64);
        c.date_order("period_end", i.period_start, i.period_end);
        for (f, v) in [
            ("benefit_region", i.benefit_region),
            ("benefit_organisation", i.benefit_organisation),
            ("benefit_residents", i.benefit_residents),
            ("efficiency", i.efficiency),
        ] {
            c.range(f, v.map(i64::from), 1, 5);
        }
        c.text("findings", i.findings.as_deref(), false, 20_000);
        c.finish()
    }

    fn update(
        conn: &mut DbConnection,
        actor: &Actor,
        before: &Self,
        i: EvaluationInput,
    ) -> ApiResult<Self> {
        before.ensure_writable(conn)?;
        let mut fixed = Checks::default();
        for (field, differs) in [
            ("subject_type", i.subject_type != before.subject_type),
            ("subject_id", i.subject_id != before.subject_id),
        ] {
            if differs {
                fixed.add(
                    field,
                    "is fixed when the evaluation is created; delete this draft and create one for the other subject",
                );
            }
        }
        fixed.finish()?;
        check_refs(conn, &i, Some(before))?;
        let after = Evaluation {
            fields: i,
            version: before.version + 1,
            updated_at: utc(now()),
            ..before.clone()
        };
        store_update(conn, &Row::of(&after))?;
        changes::record_update(conn, actor, before, &after)?;
        Ok(after)
    }

    fn delete(conn: &mut DbConnection, actor: &Actor, before: &Self) -> ApiResult<()> {
        if before.status != EvaluationStatus::Draft {
            return Err(ApiError::Conflict(format!(
                "only draft evaluations can be deleted; this one is {}",
                before.status.as_str()
            )));
        }
        let version = before.version + 1;
        store_tombstone(conn, &before.id, version)?;
        changes::record(conn, actor, Change::Deleted { before, version })
    }
}

impl Creatable for Evaluation {
    fn create(conn: &mut DbConnection, actor: &Actor, i: EvaluationInput) -> ApiResult<Self> {
        check_refs(conn, &i, None)?;
        let t = utc(now());
        let e = Evaluation {
            id: new_id(),
            fields: i,
            status: EvaluationStatus::Draft,
            decision: None,
            version: 1,
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(evaluations::table)
            .values(Row::of(&e))
            .execute(conn)?;
        changes::record(conn, actor, Change::Created(&e))?;
        Ok(e)
    }
}

/// A step in an evaluation's life.
pub enum Step {
    /// draft -> submitted (board or officer).
    Submit,
    /// submitted -> draft (the board), so that it can be changed.
    SendBack,
    /// submitted -> approved (the board), recording its decision.
    Approve(ApproveRequest),
}

/// Moves an evaluation on one step; approving records the board's decision and, for a
/// membership, its review.
pub fn advance(
    conn: &mut DbConnection,
    actor: &Actor,
    before: &Evaluation,
    step: Step,
) -> ApiResult<Evaluation> {
    let (from, to, action, done) = match &step {
        Step::Submit => (
            EvaluationStatus::Draft,
            EvaluationStatus::Submitted,
            "submit",
            "submitted",
        ),
        Step::SendBack => (
            EvaluationStatus::Submitted,
            EvaluationStatus::Draft,
            "send_back",
            "sent back",
        ),
        Step::Approve(_) => (
            EvaluationStatus::Submitted,
            EvaluationStatus::Approved,
            "approve",
            "approved",
        ),
    };
    if before.status != from {
        return Err(ApiError::Conflict(format!(
            "only a {} evaluation can be {done}; this one is {}",
            from.as_str(),
            before.status.as_str()
        )));
    }
    let approve = match step {
        Step::Approve(a) => Some(a),
        _ => None,
    };
    let decision = approve.map(|a| Decision {
        body: DecidingBody::Board,
        date: a.date,
        reference: a.reference.trim().to_string(),
    });
    let after = Evaluation {
        status: to,
        decision: decision.clone().or(before.decision.clone()),
        version: before.version + 1,
        updated_at: utc(now()),
        ..before.clone()
    };
    store_update(conn, &Row::of(&after))?;
    changes::record(
        conn,
        actor,
        Change::Updated {
            action,
            before,
            after: &after,
        },
    )?;
    if let (Some(d), SubjectType::Membership) = (decision, after.subject_type) {
        crate::memberships::mark_reviewed(conn, actor, &after.subject_id, d.date)?;
    }
    Ok(after)
}
