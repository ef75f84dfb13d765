//! A project's writable fields, each owned by the source (an integrator's system) or by the
//! region.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Partner, PartnerRole, ProjectStatus};
use crate::{links::ExternalId, model::Money, programmes::Fund};

/// The writable fields of a project. Each is owned either by the source (the integrator's
/// system: an upsert by external id writes it) or by the region (an upsert keeps it as it is);
/// officers may change both, but the next sync overwrites what the source owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// Source-owned. At most 50 characters.
    #[serde(default)]
    #[schema(example = "NORDHEALTH")]
    pub acronym: Option<String>,
    /// Source-owned. The title in its own language (usually Swedish), 1-500 characters.
    pub title: String,
    /// Source-owned. The title in English (keep.eu's "project name in English"), at most 500
    /// characters.
    #[serde(default)]
    pub title_en: Option<String>,
    /// Source-owned. The source's summary in Swedish, at most 5 000 characters.
    #[serde(default)]
    pub summary_sv: Option<String>,
    /// Source-owned. The source's summary in English, at most 5 000 characters.
    #[serde(default)]
    pub summary_en: Option<String>,
    /// Source-owned. The EU fund co-financing it.
    #[serde(default)]
    pub fund: Option<Fund>,
    /// Source-owned. The intervention field (category of intervention), the code of the
    /// Common Provisions Regulation's annex I, e.g. `021`: one to three digits.
    #[serde(default)]
    #[schema(pattern = r"^\d{1,3}$", example = "021")]
    pub intervention_field: Option<String>,
    /// Source-owned. The project's web page, an http(s) URL.
    #[serde(default)]
    pub project_url: Option<String>,
    /// Region-owned: the region's own description of the project. At most 20 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Source-owned. The programme financing the project (`/v1/programmes`). A write may name
    /// it by `programme_external_id` instead.
    #[serde(default)]
    pub programme_id: Option<String>,
    /// Only in a write, instead of `programme_id`: the programme holding this external id, e.g.
    /// its CCI code `{"scheme": "cci", "value": "2021TC16RFTN001"}`. An unknown one is a 422
    /// naming it; the record keeps the programme's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_external_id: Option<ExternalId>,
    /// Source-owned. The call for proposals, at most 200 characters.
    #[serde(default)]
    pub call: Option<String>,
    /// Source-owned. The code of the programme's specific objective the project falls under,
    /// e.g. `RSO1.1`: one the programme lists, when it lists any. At most 20 characters.
    #[serde(default)]
    #[schema(example = "RSO1.1")]
    pub specific_objective: Option<String>,
    /// Source-owned. Default `pipeline`.
    #[serde(default = "pipeline")]
    pub status: ProjectStatus,
    /// Source-owned. The region's own role.
    pub region_role: PartnerRole,
    /// Source-owned. At most 100, each organisation once.
    #[serde(default)]
    pub partners: Vec<Partner>,
    /// Source-owned.
    #[serde(default)]
    pub total_budget: Option<Money>,
    /// Source-owned. At most the total budget when in the same currency.
    #[serde(default)]
    pub eu_funding: Option<Money>,
    /// Source-owned. Co-financing rate in percent, 0-100, at most two decimals, as a string
    /// (the record gives two, e.g. `65.00`).
    #[serde(default)]
    #[schema(pattern = r"^\d{1,3}(\.\d{1,2})?$", example = "65.00")]
    pub cofinancing_rate: Option<String>,
    /// Source-owned.
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    /// Source-owned.
    #[serde(default)]
    pub planned_end: Option<NaiveDate>,
    /// Source-owned.
    #[serde(default)]
    pub actual_start: Option<NaiveDate>,
    /// Source-owned.
    #[serde(default)]
    pub actual_end: Option<NaiveDate>,
    /// Source-owned. NUTS codes of the regions the project covers (two capital letters and up
    /// to three more letters or digits, e.g. `SE321`), at most 50.
    #[serde(default)]
    pub nuts_codes: Vec<String>,
    /// Region-owned: goals the project serves.
    #[serde(default)]
    pub goal_ids: Vec<String>,
    /// Region-owned: priority areas it falls under.
    #[serde(default)]
    pub priority_area_ids: Vec<String>,
    /// Region-owned: the unit responsible in the region. At most 200 characters.
    #[serde(default)]
    pub responsible_unit: Option<String>,
    /// Region-owned: the region's notes, its own status notes included. At most 20 000
    /// characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// Source-owned: when the source last changed the record. An upsert older than the stored
    /// one is refused (409), so a replayed or out-of-order batch never rolls a project back;
    /// a record that has one is synced, and a PATCH of a source-owned field says so
    /// (`Sync-Overwrites`).
    #[serde(default)]
    pub source_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Ids in other systems, at most one per scheme; a pair names one project. The id an
    /// upsert is keyed by is the source's; the others are the region's (an upsert keeps them).
    #[serde(default)]
    pub external_ids: Vec<ExternalId>,
}

/// The fields of a project that the region owns (an upsert by external id keeps them).
pub const REGION_OWNED: &[&str] = &[
    "description",
    "goal_ids",
    "priority_area_ids",
    "responsible_unit",
    "notes",
];

fn pipeline() -> ProjectStatus {
    ProjectStatus::Pipeline
}
