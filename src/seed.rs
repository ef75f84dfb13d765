//! The data that ships with the service: the 2018 *Internationell policy* (RF 2018-06-21 § 135)
//! with its goal areas, goals and priority areas, in the policy's own Swedish wording.
//! Loaded once per database; a restart does not load it again.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    access::DecidingBody,
    changes::Actor,
    db::{self, schema::app_settings, DbConnection},
    documents::{self, Decision, Document, DocumentInput, DocumentKind, DocumentStatus},
    error::ApiError,
    goals::{self, GoalInput, GoalKind},
};

const FLAG: &str = "seed.policy_2018";

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

pub fn load_policy_2018(conn: &mut DbConnection) -> Result<(), ApiError> {
    let done = app_settings::table
        .filter(app_settings::name.eq(FLAG))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if done {
        return Ok(());
    }
    let result = db::transaction(conn, |conn| {
        // The flag goes in first: a second instance seeding at the same moment fails on it
        // and rolls back, instead of loading the policy twice.
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::name.eq(FLAG),
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
        insert_policy(conn)
    });
    match result {
        Ok(()) | Err(ApiError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

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
            reference: "RF 2018-06-21 § 135".into(),
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
