//! The council/board/officer/integrator/reader matrix of `shared/domain.md`, as data, in one place.
//! Handlers name the action; `Caller::require` checks it here and refuses with a 403 naming the
//! roles that would be allowed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Council,
    Board,
    Officer,
    Integrator,
    Reader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Council,
        Role::Board,
        Role::Officer,
        Role::Integrator,
        Role::Reader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Council => "council",
            Role::Board => "board",
            Role::Officer => "officer",
            Role::Integrator => "integrator",
            Role::Reader => "reader",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything a caller can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read any resource.
    Read,
    /// Create, edit or delete a document that is not adopted, and its goals.
    DraftDocument,
    /// Move a document from draft to proposed.
    ProposeDocument,
    /// Adopt a document that this body decides (the document's kind says which).
    AdoptDocument(DecidingBody),
    /// Adopt a document of some kind: checked before the document is loaded.
    AdoptSomeDocument,
    /// Start a new draft version of an adopted document.
    ReviseDocument,
    /// Create, edit or delete activities, projects, programmes and organisations (the row
    /// "create / edit activities, projects, organisations": a programme is running work).
    EditRunningWork,
    /// Create or replace a project, programme or organisation by its external id (integrators'
    /// way in).
    UpsertByExternalId,
    /// Record, edit or delete an official international contact.
    RecordOfficialContact,
    /// Record or change a position (the board's decision).
    RecordPosition,
    /// Prepare a membership: create it or edit its description, without deciding anything.
    DraftMembership,
    /// Decide about a membership: record its decision, change its status, end it.
    DecideMembership,
    /// Write a representative's report-back.
    WriteReportBack,
    /// Draft, edit, submit or delete an evaluation that is not approved.
    DraftEvaluation,
    /// Approve a submitted evaluation.
    ApproveEvaluation,
    /// Send a submitted evaluation back to draft.
    SendBackEvaluation,
    /// Read the audit trail: who changed what, when, with the record before and after.
    ReadAuditTrail,
}

use Role::*;

/// Who may do what. The one table the service's access rules come from.
pub fn allowed_roles(action: Action) -> &'static [Role] {
    match action {
        Action::Read => &[Council, Board, Officer, Integrator, Reader],
        Action::DraftDocument | Action::ProposeDocument | Action::ReviseDocument => {
            &[Council, Board, Officer]
        }
        Action::AdoptSomeDocument | Action::ReadAuditTrail => &[Council, Board],
        Action::EditRunningWork
        | Action::RecordOfficialContact
        | Action::DraftMembership
        | Action::WriteReportBack
        | Action::DraftEvaluation => &[Board, Officer],
        Action::UpsertByExternalId => &[Board, Officer, Integrator],
        Action::DecideMembership
        | Action::ApproveEvaluation
        | Action::SendBackEvaluation
        | Action::RecordPosition => &[Board],
        Action::AdoptDocument(DecidingBody::Council) => &[Council],
        Action::AdoptDocument(DecidingBody::Board) => &[Board],
    }
}

/// A body that makes decisions; recorded with every deciding step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecidingBody {
    Council,
    Board,
}

impl DecidingBody {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidingBody::Council => "council",
            DecidingBody::Board => "board",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "council" => Some(DecidingBody::Council),
            "board" => Some(DecidingBody::Board),
            _ => None,
        }
    }
}

/// A recorded decision: which body, when, and its reference.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Decision {
    pub body: DecidingBody,
    pub date: NaiveDate,
    /// E.g. `RF 2018-06-21 § 135`.
    #[schema(example = "RF 2018-06-21 § 135")]
    pub reference: String,
}

/// A decision as a record stores it: three nullable columns (body, date, reference).
pub type DecisionColumns = (Option<String>, Option<NaiveDate>, Option<String>);

impl Decision {
    /// The columns a record stores `decision` in.
    pub fn columns(decision: &Option<Decision>) -> DecisionColumns {
        match decision {
            Some(d) => (
                Some(d.body.as_str().to_string()),
                Some(d.date),
                Some(d.reference.clone()),
            ),
            None => (None, None, None),
        }
    }

    /// The decision stored in `columns`; none unless all three are set.
    pub fn from_columns(
        (body, date, reference): DecisionColumns,
    ) -> Result<Option<Decision>, crate::error::ApiError> {
        match (body, date, reference) {
            (Some(b), Some(date), Some(reference)) => Ok(Some(Decision {
                body: DecidingBody::parse(&b).ok_or_else(|| {
                    crate::error::ApiError::internal(format!("stored decision body {b:?}"))
                })?,
                date,
                reference,
            })),
            _ => Ok(None),
        }
    }
}

/// A short human phrase for the action, used in 403 problems.
pub fn describe(action: Action) -> String {
    match action {
        Action::Read => "reading".into(),
        Action::DraftDocument => "drafting or editing a document or its goals".into(),
        Action::ProposeDocument => "proposing a document".into(),
        Action::AdoptDocument(body) => format!("adopting a document the {} decides", body.as_str()),
        Action::AdoptSomeDocument => "adopting a document".into(),
        Action::ReviseDocument => "starting a revision of a document".into(),
        Action::EditRunningWork => {
            "changing activities, projects, programmes or organisations".into()
        }
        Action::UpsertByExternalId => "writing a record by its external id".into(),
        Action::RecordOfficialContact => "recording an official contact".into(),
        Action::RecordPosition => "recording a position of the board".into(),
        Action::DraftMembership => "preparing a membership".into(),
        Action::DecideMembership => {
            "deciding about a membership (its decision, status, end, or what a decision settled)"
                .into()
        }
        Action::WriteReportBack => "writing a report-back".into(),
        Action::DraftEvaluation => "drafting or submitting an evaluation".into(),
        Action::ApproveEvaluation => "approving an evaluation".into(),
        Action::SendBackEvaluation => "sending an evaluation back to draft".into(),
        Action::ReadAuditTrail => "reading the audit trail".into(),
    }
}

/// The access table of `shared/domain.md`, row by row in its words, with the actions each row
/// is made of; a role may do what a row says when it may do any of them. The OpenAPI document
/// prints it (`matrix_markdown`), and a test holds it to `shared/domain.md`.
pub const MATRIX: &[(&str, &[Action])] = &[
    ("read every resource", &[Action::Read]),
    (
        "draft / edit a document and its goals while not adopted",
        &[Action::DraftDocument],
    ),
    (
        "propose a document (draft -> proposed)",
        &[Action::ProposeDocument],
    ),
    (
        "start a revision of an adopted document",
        &[Action::ReviseDocument],
    ),
    (
        "adopt a `policy` or `goal_document`",
        &[Action::AdoptDocument(DecidingBody::Council)],
    ),
    (
        "adopt a `guideline`, `programme`, `action_plan`",
        &[Action::AdoptDocument(DecidingBody::Board)],
    ),
    ("change an adopted document", &[]),
    (
        "create / edit activities, projects, organisations",
        &[Action::EditRunningWork, Action::UpsertByExternalId],
    ),
    (
        "programmes",
        &[Action::EditRunningWork, Action::UpsertByExternalId],
    ),
    ("official contacts", &[Action::RecordOfficialContact]),
    ("positions", &[Action::RecordPosition]),
    (
        "create / end a membership, decide its continuation",
        &[Action::DraftMembership, Action::DecideMembership],
    ),
    ("write report-backs", &[Action::WriteReportBack]),
    ("draft / submit an evaluation", &[Action::DraftEvaluation]),
    ("approve an evaluation", &[Action::ApproveEvaluation]),
    (
        "send a submitted evaluation back to draft",
        &[Action::SendBackEvaluation],
    ),
    ("read the audit trail", &[Action::ReadAuditTrail]),
    ("read the change feed", &[Action::Read]),
];

/// `MATRIX` as a Markdown table: `yes`, `no`, or what part of a row a role may do.
pub fn matrix_markdown() -> String {
    let mut out = String::from("| action | council | board | officer | integrator | reader |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (row, actions) in MATRIX {
        out.push_str(&format!("| {row} |"));
        for role in Role::ALL {
            let may: Vec<Action> = actions
                .iter()
                .copied()
                .filter(|&a| is_allowed(&[role], a))
                .collect();
            let cell = if may.is_empty() {
                "no".to_string()
            } else if may.len() == actions.len() {
                "yes".to_string()
            } else {
                may.iter()
                    .map(|&a| describe(a))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

pub fn is_allowed(roles: &[Role], action: Action) -> bool {
    allowed_roles(action).iter().any(|r| roles.contains(r))
}

/// 403 naming the roles needed unless `roles` may do `action`.
pub fn require(roles: &[Role], action: Action) -> Result<(), crate::error::ApiError> {
    if is_allowed(roles, action) {
        Ok(())
    } else {
        Err(crate::error::ApiError::Forbidden(
            allowed_roles(action).to_vec(),
            describe(action),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_body_adopts_alone() {
        assert_eq!(
            allowed_roles(Action::AdoptDocument(DecidingBody::Council)),
            &[Council]
        );
        assert_eq!(
            allowed_roles(Action::AdoptDocument(DecidingBody::Board)),
            &[Board]
        );
    }

    #[test]
    fn integrators_and_readers_never_draft() {
        for a in [
            Action::DraftDocument,
            Action::ProposeDocument,
            Action::ReviseDocument,
        ] {
            assert!(!is_allowed(&[Integrator, Reader], a));
            assert!(is_allowed(&[Officer], a));
        }
    }
}
