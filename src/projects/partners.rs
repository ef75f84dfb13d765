//! A project's partners: who they are, how a write may name them (by the organisation's id, or
//! by an external id of its), and the checks on the list.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PartnerRole, ProjectInput};
use crate::{
    changes::Resource,
    db::DbConnection,
    error::{ApiError, ApiResult, FieldError},
    links::{self, ExternalId},
    model::{Checks, Money},
    organisations::Organisation,
};

/// A partner organisation of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// The partner organisation's id (always in a record). A write may name the organisation
    /// by `organisation_external_id` instead.
    #[serde(default)]
    pub organisation_id: String,
    /// Only in a write, instead of `organisation_id`: the organisation holding this external
    /// id (e.g. the one an integrator upserted under `{"scheme": "pic", "value": "949631781"}`).
    /// An unknown one is a 422 naming it; the record keeps the organisation's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_external_id: Option<ExternalId>,
    pub role: PartnerRole,
    /// The partner's share of the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_share: Option<Money>,
    /// The partner's EU funding, at most its budget share when in the same currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_funding: Option<Money>,
    /// ISO 3166-1 alpha-2, e.g. `FI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    /// The NUTS region the partner is in, e.g. `FI1D7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nuts_code: Option<String>,
    /// Whether the partner is a public or a private law body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_status: Option<LegalStatus>,
}

crate::string_enum!(
    /// A partner's legal status, as the lists of operations give it.
    LegalStatus {
        Public => "public",
        Private => "private",
    }
);

/// The checks on a partner list that need no database; every bad field at once.
pub(super) fn check(c: &mut Checks, partners: &[Partner]) {
    if partners.len() > 100 {
        c.add("partners", "at most 100 partners");
    }
    let mut orgs = std::collections::HashSet::new();
    let mut external = std::collections::BTreeSet::new();
    for (n, p) in partners.iter().enumerate() {
        let field = format!("partners[{n}].organisation_id");
        match &p.organisation_external_id {
            None => {
                c.text(&field, Some(&p.organisation_id), true, 64);
                if !orgs.insert(&p.organisation_id) {
                    c.add(field, "is listed twice");
                }
            }
            Some(_) if !p.organisation_id.is_empty() => c.add(
                field,
                "give organisation_id or organisation_external_id, not both",
            ),
            Some(e) => {
                let field = format!("partners[{n}].organisation_external_id");
                c.external_id(&field, e);
                if !external.insert(e) {
                    c.add(field, "is listed twice");
                }
            }
        }
        c.money(
            &format!("partners[{n}].budget_share"),
            p.budget_share.as_ref(),
        );
        c.money(&format!("partners[{n}].eu_funding"), p.eu_funding.as_ref());
        if let (Some(eu), Some(budget)) = (&p.eu_funding, &p.budget_share) {
            if let (Ok(eu_minor), Ok(budget_minor)) = (eu.minor_units(), budget.minor_units()) {
                if eu.currency == budget.currency && eu_minor > budget_minor {
                    c.add(
                        format!("partners[{n}].eu_funding"),
                        "must not exceed the partner's budget share",
                    );
                }
            }
        }
        c.country(&format!("partners[{n}].country"), p.country.as_deref());
        if let Some(code) = &p.nuts_code {
            if !super::is_nuts(code) {
                c.add(
                    format!("partners[{n}].nuts_code"),
                    "must be a NUTS code such as FI1D7",
                );
            }
        }
    }
}

/// Partners named by an external id, given their organisation's id: 422 naming each unknown
/// one, and each organisation named twice (once by id, once by external id, say).
pub(super) fn resolve(conn: &mut DbConnection, i: &mut ProjectInput) -> ApiResult<()> {
    let mut errors: Vec<FieldError> = Vec::new();
    for (n, p) in i.partners.iter_mut().enumerate() {
        let Some(e) = p.organisation_external_id.take() else {
            continue;
        };
        match links::find_by_external_id(conn, Organisation::TYPE, &e.scheme, &e.value)? {
            Some(id) => p.organisation_id = id,
            None => errors.push(FieldError::new(
                format!("partners[{n}].organisation_external_id"),
                format!(
                    "no organisation has {}:{}; upsert it first (PUT /v1/organisations/by-external-id/{}/{})",
                    e.scheme, e.value, e.scheme, e.value
                ),
            )),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (n, p) in i.partners.iter().enumerate() {
        if !p.organisation_id.is_empty() && !seen.insert(&p.organisation_id) {
            errors.push(FieldError::new(
                format!("partners[{n}]"),
                format!("names organisation {} a second time", p.organisation_id),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
