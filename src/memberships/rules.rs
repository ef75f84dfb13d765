//! What the board decides about a membership stays the board's: who may record a decision or
//! move the status, and which fields a decision settles (`shared/domain.md`, "What a decision
//! fixes").

use crate::{
    access::{self, Action, DecidingBody, Decision},
    changes::Actor,
    error::{ApiError, ApiResult},
    model::Money,
};

use super::{Membership, MembershipInput, MembershipStatus};

/// A decision recorded through the API is the board's (the shipped memberships carry the
/// council's policy decision that named them, which stays as it is).
pub(super) fn check_deciding(
    actor: &Actor,
    decision: Option<&Decision>,
    decision_changed: bool,
    status_changed: bool,
) -> ApiResult<()> {
    if decision_changed || status_changed {
        access::require(&actor.roles, Action::DecideMembership)?;
    }
    if decision_changed && decision.is_some_and(|d| d.body != DecidingBody::Board) {
        return Err(ApiError::validation(
            "decision.body",
            "memberships are decided by the board",
        ));
    }
    Ok(())
}

impl Membership {
    /// Being prepared: `under_review` with no decision yet, so nothing is settled and officers
    /// may still shape every field the board will decide on.
    pub fn is_prepared(&self) -> bool {
        self.status == MembershipStatus::UnderReview && self.decision.is_none()
    }
}

/// The fields of `before` that a board decision settles and `i` would change.
fn decided_fields_changed(before: &Membership, i: &MembershipInput) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |field, differs: bool| {
        if differs {
            changed.push(field);
        }
    };
    check(
        "organisation_id",
        before.organisation_id != i.organisation_id,
    );
    check("kind", before.kind != i.kind);
    check("start_date", before.start_date != i.start_date);
    check("end_date", before.end_date != i.end_date);
    check(
        "review_interval_months",
        before.review_interval_months != i.review_interval_months,
    );
    check(
        "annual_fee",
        before.annual_fee.clone().map(Money::normalised)
            != i.annual_fee.clone().map(Money::normalised),
    );
    changed
}

/// What the board decided stays the board's: once a membership is decided (not
/// [`Membership::is_prepared`]), only the board changes the fields a decision settles.
pub(super) fn check_settled(
    actor: &Actor,
    before: &Membership,
    i: &MembershipInput,
) -> ApiResult<()> {
    let changed = decided_fields_changed(before, i);
    if changed.is_empty()
        || before.is_prepared()
        || access::is_allowed(&actor.roles, Action::DecideMembership)
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(
        access::allowed_roles(Action::DecideMembership).to_vec(),
        format!(
            "changing {} of a membership the board has decided",
            changed.join(", ")
        ),
    ))
}
