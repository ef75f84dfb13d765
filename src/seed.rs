//! The data that ships with the service: the 2018 *Internationell policy* (RF 2018-06-21 § 135)
//! with its goal areas, goals and priority areas, in the policy's own Swedish wording.
//! Loaded once per database; a restart does not load it again.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    access::{DecidingBody, Decision},
    changes::Actor,
    db::{self, schema::app_settings, DbConnection},
    documents::{self, Document, DocumentInput, DocumentKind, DocumentStatus},
    error::ApiError,
    goals::{self, GoalInput, GoalKind},
};

const FLAG: &str = "seed.policy_2018";
const ORGANISATIONS_FLAG: &str = "seed.organisations_2018";
/// Projects' free-text programmes mapped to programmes (migration 000015).
const PROGRAMMES_FLAG: &str = "migrate.programmes_from_text";

/// The goal areas of the policy's *Mål*, each with its goals.
pub const GOAL_AREAS: &[(&str, &[&str])] = &[
    (
        "Ge länet Västernorrland goda förutsättningar för hållbar utveckling",
        &[
            "bevaka och hävda länets och Region Västernorrlands intressen inom EU-politiken.",
            "öka möjligheterna till internationellt projektsamarbete inom områden där Västernorrland har särskilda behov och förutsättningar där områdena infrastruktur och hållbara transporter, forskning och innovation, miljö och energi, kultur samt kompetensförsörjning är särskilt prioriterade",
            "verka för internationellt utbyte och exportverksamhet som gynnar länets näringsliv och bidrar till ökad sysselsättning",
        ],
    ),
    (
        "Utveckla organisationen Region Västernorrlands verksamhet",
        &[
            "tillvarata de möjligheter till verksamhetsutveckling som internationellt samarbete öppnar, exempelvis genom delfinansiering ur EU-program",
            "bidra till att förtroendevalda och medarbetare får nya kunskaper och erfarenheter genom internationellt samarbete",
        ],
    ),
    (
        "Gynna invånarna i Västernorrland",
        &[
            "skapa möjligheter för invånarna och organisationer att delta i internationellt samarbete",
            "stimulera internationellt kulturutbyte",
        ],
    ),
];

/// The five areas the policy names as especially prioritised.
pub const PRIORITY_AREAS: &[&str] = &[
    "Infrastruktur och hållbara transporter",
    "Forskning och innovation",
    "Miljö och energi",
    "Kultur",
    "Kompetensförsörjning",
];

/// Loads everything the service ships with, each part once.
pub fn load_shipped(conn: &mut DbConnection) -> Result<(), ApiError> {
    once(conn, FLAG, insert_policy)?;
    once(conn, ORGANISATIONS_FLAG, insert_organisations)?;
    once(conn, PROGRAMMES_FLAG, |conn| {
        crate::projects::legacy_programme::map_to_programmes(conn, &Actor::system())
    })
}

/// Runs `load` in one transaction unless `flag` says it ran before.
fn once(
    conn: &mut DbConnection,
    flag: &str,
    load: fn(&mut DbConnection) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let done = app_settings::table
        .filter(app_settings::name.eq(flag))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if done {
        return Ok(());
    }
    let result = db::transaction(conn, |conn| {
        // The flag goes in first: a second instance seeding at the same moment fails on it
        // and rolls back, instead of loading the data twice.
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::name.eq(flag),
                app_settings::value.eq("loaded"),
            ))
            .execute(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => ApiError::Conflict("already loaded".into()),
                e => e.into(),
            })?;
        load(conn)
    });
    match result {
        Ok(()) | Err(ApiError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The bodies the policy names: the memberships (Mid Sweden European Office, "regionens
/// Bryssel-kontor", and Europaforum Norra Sverige) and the representations (the regional
/// structural fund partnership, the Interreg programmes). Each is active and rests on the
/// decision that names it, the policy's (RF 2018-06-21 § 135); none was evaluated under the
/// policy, so each is due for review from the start (`memberships::review_due`). What the
/// policy does not say (dates, fees, roles of representations, names of representatives)
/// stays empty.
fn insert_organisations(conn: &mut DbConnection) -> Result<(), ApiError> {
    use crate::{
        crud::Creatable,
        memberships::{self, MembershipInput, MembershipKind, MembershipRole, MembershipStatus},
        organisations::{Organisation, OrganisationInput, OrganisationKind},
    };
    let actor = Actor::system();
    let mandate = "Förtroendevalda representerade i styr- och referensgrupper med uppdrag inom sammanhållningspolitiken";
    let bodies = [
        (
            "Mid Sweden European Office",
            OrganisationKind::EuOffice,
            Some("BE"),
            MembershipKind::Membership,
            Some(MembershipRole::Member),
            None,
        ),
        (
            "Europaforum Norra Sverige",
            OrganisationKind::Network,
            Some("SE"),
            MembershipKind::Membership,
            Some(MembershipRole::Member),
            None,
        ),
        (
            "Regionala strukturfondspartnerskapet",
            OrganisationKind::Other,
            Some("SE"),
            MembershipKind::Representation,
            None,
            Some(mandate),
        ),
        (
            "Interreg-program",
            OrganisationKind::ProgrammeBody,
            None,
            MembershipKind::Representation,
            None,
            Some(mandate),
        ),
    ];
    for (name, kind, country, membership_kind, role, mandate) in bodies {
        let org = Organisation::create(
            conn,
            &actor,
            OrganisationInput {
                name: name.into(),
                short_name: None,
                kind,
                country: country.map(Into::into),
                website: None,
                notes: None,
                source_updated_at: None,
                external_ids: vec![],
            },
        )?;
        memberships::seed(
            conn,
            &actor,
            MembershipInput {
                kind: membership_kind,
                organisation_id: org.id,
                role,
                representative: None,
                mandate: mandate.map(Into::into),
                decision: Some(crate::access::Decision {
                    body: crate::access::DecidingBody::Council,
                    date: NaiveDate::from_ymd_opt(2018, 6, 21).expect("valid date"),
                    reference: POLICY_DECISION.into(),
                }),
                start_date: None,
                end_date: None,
                annual_fee: None,
                review_interval_months: 12,
                status: Some(MembershipStatus::Active),
            },
        )?;
    }
    Ok(())
}

/// The council's decision that adopted the policy and named its memberships.
const POLICY_DECISION: &str = "RF 2018-06-21 § 135";

fn insert_policy(conn: &mut DbConnection) -> Result<(), ApiError> {
    let actor = Actor::system();
    let date = NaiveDate::from_ymd_opt(2018, 6, 21).expect("valid date");
    let draft = documents::insert(
        conn,
        &actor,
        DocumentInput {
            kind: DocumentKind::Policy,
            title: "Internationell policy".into(),
            description: Some(
                "Region Västernorrlands långsiktiga mål för det internationella arbetet.".into(),
            ),
            document_number: Some("320944".into()),
            document_version: Some(1),
            year: None,
            applies_to: Some("Regiongemensamt".into()),
            valid_from: Some(date),
            case_officer: Some("Ilona Novak (ink001)".into()),
            reviewer: Some("Helena Andersson (uan002)".into()),
            process_owner: Some("Märta Molin (mmn032)".into()),
        },
        None,
    )?;
    let mut position = 0;
    for (area, area_goals) in GOAL_AREAS {
        position += 1;
        let parent = goals::seed(
            conn,
            &actor,
            goal_input(&draft, None, GoalKind::GoalArea, area, position),
        )?;
        for (i, text) in area_goals.iter().enumerate() {
            goals::seed(
                conn,
                &actor,
                goal_input(
                    &draft,
                    Some(parent.id.clone()),
                    GoalKind::Goal,
                    text,
                    i as i32 + 1,
                ),
            )?;
        }
    }
    for (i, area) in PRIORITY_AREAS.iter().enumerate() {
        goals::seed(
            conn,
            &actor,
            goal_input(&draft, None, GoalKind::PriorityArea, area, 10 + i as i32),
        )?;
    }
    // Recorded as the council's decision of 2018-06-21, § 135.
    let adopted = Document {
        status: DocumentStatus::Adopted,
        decision: Some(Decision {
            body: DecidingBody::Council,
            date,
            reference: POLICY_DECISION.into(),
        }),
        ..draft.clone()
    };
    documents::update(conn, &actor, "adopt", &draft, adopted)?;
    Ok(())
}

fn goal_input(
    doc: &Document,
    parent_id: Option<String>,
    kind: GoalKind,
    title: &str,
    position: i32,
) -> GoalInput {
    GoalInput {
        document_id: doc.id.clone(),
        parent_id,
        kind,
        code: None,
        title: title.into(),
        description: None,
        position,
        serves: vec![],
    }
}
