//! `seed-demo --scale N`: a demo data set for the front-end team and for benchmarks. N projects
//! and, in proportion, organisations, action plans, activities, memberships, report-backs and
//! evaluations, in realistic Swedish, the same for the same seed. Every record is marked as
//! demo data ("[DEMO]" in its name or title, and external ids under the `demo` scheme) and is
//! written through the ordinary write path by the actor `seed-demo`.

use chrono::NaiveDate;
use diesel::prelude::*;
use rand::{rngs::StdRng, seq::IndexedRandom, RngExt, SeedableRng};

use crate::{
    access::{DecidingBody, Decision, Role},
    activities::{Activity, ActivityInput, ActivityKind, ActivityStatus},
    changes::Actor,
    crud::Creatable,
    db::{self, schema::audit_events, DbConnection},
    documents::{self, Document, DocumentInput, DocumentKind, DocumentStatus},
    error::{ApiError, ApiResult},
    evaluations::{
        self, ApproveRequest, Evaluation, EvaluationInput, GoalFulfilment, Recommendation,
        SubjectType,
    },
    links::ExternalId,
    memberships::{
        report_backs, Membership, MembershipInput, MembershipKind, MembershipRole, MembershipStatus,
    },
    model::Money,
    official_contacts::{OfficialContact, OfficialContactInput},
    organisations::{Organisation, OrganisationInput},
    positions::{Position, PositionInput},
    programmes::{Priority, Programme, ProgrammeInput, SpecificObjective},
    projects::{Fund, Partner, PartnerRole, Project, ProjectInput, ProjectStatus},
};

pub const ACTOR: &str = "seed-demo";
const BATCH: usize = 500;
/// Connections that write batches at once on PostgreSQL; the pool needs one more.
pub const SEED_WRITERS: usize = 3;

mod data;
use data::*;

/// Refuses a database with records that someone other than the service itself or an earlier
/// demo run created, unless `force`.
pub fn check_only_demo(conn: &mut DbConnection, force: bool) -> ApiResult<()> {
    let real: i64 = audit_events::table
        .filter(audit_events::action.eq("create"))
        .filter(audit_events::actor_sub.ne_all(["system", ACTOR]))
        .count()
        .get_result(conn)?;
    if real > 0 && !force {
        return Err(ApiError::Conflict(format!(
            "the database holds {real} records that are not demo data; pass --force to add demo data anyway"
        )));
    }
    Ok(())
}

/// What was made.
#[derive(Debug, Default)]
pub struct Counts {
    pub organisations: usize,
    pub programmes: usize,
    pub official_contacts: usize,
    pub positions: usize,
    pub documents: usize,
    pub activities: usize,
    pub projects: usize,
    pub memberships: usize,
    pub report_backs: usize,
    pub evaluations: usize,
}

/// Writes each batch in a transaction of its own, on up to `workers` connections at once, and
/// gives the results in batch order. The batches are made on this thread, in order, so the same
/// seed gives the same records whatever order the transactions commit in. The first error
/// stops it (batches already committed stay).
fn write_batches<I, O, W>(
    pool: &db::Pool,
    workers: usize,
    batches: impl Iterator<Item = I>,
    write: W,
) -> ApiResult<Vec<O>>
where
    I: Send,
    O: Send,
    W: Fn(&mut DbConnection, I) -> ApiResult<O> + Sync,
{
    use std::sync::{mpsc, Mutex};
    let (tx, rx) = mpsc::sync_channel::<(usize, I)>(workers);
    let rx = Mutex::new(rx);
    let done = Mutex::new(Vec::new());
    let failed = Mutex::new(None);
    let fail = |e: ApiError| {
        failed.lock().expect("seed lock").get_or_insert(e);
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut conn = pool
                    .get()
                    .map_err(|e| fail(ApiError::Unavailable(e.to_string())))
                    .ok();
                if let Some(DbConnection::Sqlite(c)) = conn.as_deref_mut() {
                    // A bigger page cache for the one long write: at a million records the
                    // indexes outgrow the server's 1 MB many times over.
                    let _ = diesel::connection::SimpleConnection::batch_execute(
                        c,
                        "PRAGMA cache_size = -262144",
                    );
                }
                // A worker that failed keeps taking batches (and drops them), so the sender
                // never waits on a full channel nobody reads.
                loop {
                    // Its own statement: the guard must not live through the transaction.
                    let next = rx.lock().expect("seed lock").recv();
                    let Ok((i, batch)) = next else { break };
                    let Some(conn) = conn.as_deref_mut() else {
                        continue;
                    };
                    if failed.lock().expect("seed lock").is_some() {
                        continue;
                    }
                    match db::transaction(conn, |c| write(c, batch)) {
                        Ok(o) => done.lock().expect("seed lock").push((i, o)),
                        Err(e) => fail(e),
                    }
                }
            });
        }
        for batch in batches.enumerate() {
            if failed.lock().expect("seed lock").is_some() || tx.send(batch).is_err() {
                break;
            }
        }
        drop(tx);
    });
    if let Some(e) = failed.into_inner().expect("seed lock") {
        return Err(e);
    }
    let mut done = done.into_inner().expect("seed lock");
    done.sort_unstable_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, o)| o).collect())
}

fn date(rng: &mut StdRng, from_year: i32, to_year: i32) -> NaiveDate {
    let y = rng.random_range(from_year..=to_year);
    NaiveDate::from_ymd_opt(y, rng.random_range(1..=12), rng.random_range(1..=28))
        .expect("valid date")
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("non-empty")
}

/// Fills the database: `scale` projects and the rest in proportion, in batches of transactions.
pub fn seed(pool: &db::Pool, scale: usize, seed: u64, force: bool) -> ApiResult<Counts> {
    let mut conn = pool
        .get()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    check_only_demo(&mut conn, force)?;
    if crate::links::find_by_external_id(
        &mut conn,
        "organisation",
        "demo",
        &format!("org-{seed}-0"),
    )?
    .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "demo data for seed {seed} is already here; run with another --seed to add more"
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let actor = Actor {
        sub: ACTOR.into(),
        roles: vec![Role::Board],
        request_id: None,
        correlation_id: None,
    };
    let mut n = Counts::default();
    // PostgreSQL takes batches on several connections at once (one connection leaves both it
    // and this process waiting on each other's round trips half the time); SQLite has one
    // writer.
    let workers = if db::is_postgres(&conn) {
        SEED_WRITERS
    } else {
        1
    };

    // Priority areas and goals of the shipped policy, to link to.
    let (goal_ids, area_ids) = crate::goals::policy_targets(&mut conn)?;

    // Organisations: the named partners, then numbered ones up to scale / 5.
    let org_count = (scale / 5).max(PARTNERS.len());
    let orgs: Vec<String> = write_batches(
        pool,
        workers,
        (0..org_count).collect::<Vec<_>>().chunks(BATCH),
        |conn, chunk| {
            let mut made = Vec::new();
            for &i in chunk {
                let (name, kind, country) = PARTNERS[i % PARTNERS.len()];
                let name = if i < PARTNERS.len() {
                    format!("[DEMO] {name}")
                } else {
                    format!("[DEMO] {name} {}", i / PARTNERS.len() + 1)
                };
                let o = Organisation::create(
                    conn,
                    &actor,
                    OrganisationInput {
                        name,
                        short_name: None,
                        kind,
                        country: Some(country.into()),
                        website: None,
                        notes: None,
                        source_updated_at: None,
                        external_ids: vec![ExternalId {
                            scheme: "demo".into(),
                            value: format!("org-{seed}-{i}"),
                        }],
                    },
                )?;
                made.push(o.id);
            }
            Ok(made)
        },
    )?
    .concat();
    n.organisations = orgs.len();

    // Programmes, each with the same two priorities.
    let programmes: Vec<(String, Vec<&str>)> = db::transaction(&mut conn, |conn| {
        PROGRAMMES
            .iter()
            .map(|(name, fund)| {
                let priorities: Vec<Priority> = PRIORITIES
                    .iter()
                    .enumerate()
                    .map(|(k, (name, objectives))| Priority {
                        code: (k + 1).to_string(),
                        name: (*name).into(),
                        specific_objectives: objectives
                            .iter()
                            .map(|(code, name)| SpecificObjective {
                                code: (*code).into(),
                                name: (*name).into(),
                            })
                            .collect(),
                    })
                    .collect();
                let p = Programme::create(
                    conn,
                    &actor,
                    ProgrammeInput {
                        name: format!("[DEMO] {name}"),
                        fund: *fund,
                        period: Some("2021-2027".into()),
                        managing_authority: None,
                        priorities,
                        notes: None,
                        source_updated_at: None,
                        external_ids: vec![],
                    },
                )?;
                let codes = PRIORITIES
                    .iter()
                    .flat_map(|(_, o)| o.iter().map(|(code, _)| *code))
                    .collect();
                Ok((p.id, codes))
            })
            .collect()
    })?;
    n.programmes = programmes.len();

    // One action plan a year, 2021-2027: drafts here, adopted once their activities are in
    // (an adopted plan's activities change only through a revision).
    let mut plans = Vec::new();
    for year in 2021..=2027 {
        let plan = db::transaction(&mut conn, |conn| {
            documents::insert(
                conn,
                &actor,
                DocumentInput {
                    kind: DocumentKind::ActionPlan,
                    title: format!("[DEMO] Internationell handlingsplan {year}"),
                    description: Some("Delmål och prioriterade aktiviteter för året.".into()),
                    document_number: None,
                    document_version: Some(1),
                    year: Some(year),
                    applies_to: Some("Regiongemensamt".into()),
                    valid_from: NaiveDate::from_ymd_opt(year, 1, 1),
                    case_officer: None,
                    reviewer: None,
                    process_owner: None,
                },
                None,
            )
        })?;
        plans.push(plan);
        n.documents += 1;
    }

    // Projects.
    let project_batches = (0..scale).collect::<Vec<_>>();
    let project_batches = project_batches.chunks(BATCH).map(|chunk| {
        chunk
            .iter()
            .map(|&i| {
                let theme = *pick(&mut rng, THEMES);
                let programme = pick(&mut rng, &programmes);
                let place = *pick(&mut rng, PLACES);
                let start = date(&mut rng, 2019, 2027);
                let months = rng.random_range(12..=48);
                let total: i64 = rng.random_range(200..=8000) * 1000 * 100;
                let rate_bp: i64 = *pick(&mut rng, &[5000, 6500, 7500, 8000, 8500]);
                let mut partners = Vec::new();
                for _ in 0..rng.random_range(0..=3) {
                    let org = pick(&mut rng, &orgs).clone();
                    if !partners.iter().any(|p: &Partner| p.organisation_id == org) {
                        partners.push(Partner {
                            organisation_external_id: None,
                            eu_funding: None,
                            country: None,
                            nuts_code: None,
                            legal_status: None,
                            organisation_id: org,
                            role: *pick(
                                &mut rng,
                                &[PartnerRole::Partner, PartnerRole::AssociatedPartner],
                            ),
                            budget_share: None,
                        });
                    }
                }
                let acronym: String = theme
                    .split(' ')
                    .filter_map(|w| w.chars().next())
                    .collect::<String>()
                    .to_uppercase();
                ProjectInput {
                    acronym: Some(format!("{acronym}{}", i % 1000)),
                    title: format!("[DEMO] {theme} i {place}"),
                    description: Some(format!(
                        "Projektet stärker samarbetet kring {} i {place}.",
                        theme.to_lowercase()
                    )),
                    programme_id: Some(programme.0.clone()),
                    programme_external_id: None,
                    call: Some(format!("Utlysning {}", rng.random_range(1..=6))),
                    specific_objective: Some((*pick(&mut rng, &programme.1)).into()),
                    responsible_unit: None,
                    notes: None,
                    source_updated_at: None,
                    title_en: None,
                    summary_sv: None,
                    summary_en: None,
                    fund: Some(Fund::Erdf),
                    intervention_field: None,
                    project_url: None,
                    status: *pick(
                        &mut rng,
                        &[
                            ProjectStatus::Pipeline,
                            ProjectStatus::Implementation,
                            ProjectStatus::Implementation,
                            ProjectStatus::Finalisation,
                            ProjectStatus::Closed,
                        ],
                    ),
                    region_role: *pick(
                        &mut rng,
                        &[
                            PartnerRole::LeadPartner,
                            PartnerRole::Partner,
                            PartnerRole::Partner,
                        ],
                    ),
                    partners,
                    total_budget: Some(Money::from_minor(total, "EUR".into())),
                    eu_funding: Some(Money::from_minor(total * rate_bp / 10_000, "EUR".into())),
                    cofinancing_rate: Some(format!("{}.{:02}", rate_bp / 100, rate_bp % 100)),
                    planned_start: Some(start),
                    planned_end: start.checked_add_months(chrono::Months::new(months)),
                    actual_start: None,
                    actual_end: None,
                    nuts_codes: vec!["SE321".into()],
                    goal_ids: vec![pick(&mut rng, &goal_ids).clone()],
                    priority_area_ids: vec![pick(&mut rng, &area_ids).clone()],
                    external_ids: vec![ExternalId {
                        scheme: "demo".into(),
                        value: format!("prj-{seed}-{i}"),
                    }],
                }
            })
            .collect::<Vec<ProjectInput>>()
    });
    n.projects = write_batches(pool, workers, project_batches, |conn, inputs| {
        inputs
            .into_iter()
            .map(|i| Project::create(conn, &actor, i).map(|_| ()))
            .collect::<ApiResult<Vec<_>>>()
            .map(|v| v.len())
    })?
    .into_iter()
    .sum();

    // Activities: as many as projects, across the plans.
    let kinds = ActivityKind::ALL;
    let activity_batches = (0..scale).collect::<Vec<_>>();
    let activity_batches = activity_batches.chunks(BATCH).map(|chunk| {
        chunk
            .iter()
            .map(|_| {
                let plan = pick(&mut rng, &plans);
                let year = plan.year.unwrap_or(2027);
                let start = date(&mut rng, year, year);
                ActivityInput {
                    document_id: plan.id.clone(),
                    kind: *pick(&mut rng, kinds),
                    title: format!(
                        "[DEMO] {} – {}",
                        pick(&mut rng, THEMES),
                        pick(&mut rng, PLACES)
                    ),
                    description: None,
                    responsible_unit: Some(pick(&mut rng, UNITS).to_string()),
                    prioritised: rng.random_bool(0.3),
                    status: *pick(&mut rng, ActivityStatus::ALL),
                    planned_start: Some(start),
                    planned_end: start
                        .checked_add_months(chrono::Months::new(rng.random_range(1..=11))),
                    actual_start: None,
                    actual_end: None,
                    goal_ids: vec![pick(&mut rng, &goal_ids).clone()],
                    priority_area_ids: vec![pick(&mut rng, &area_ids).clone()],
                }
            })
            .collect::<Vec<ActivityInput>>()
    });
    n.activities = write_batches(pool, workers, activity_batches, |conn, inputs| {
        inputs
            .into_iter()
            .map(|i| Activity::create(conn, &actor, i).map(|_| ()))
            .collect::<ApiResult<Vec<_>>>()
            .map(|v| v.len())
    })?
    .into_iter()
    .sum();
    for draft in &plans {
        let year = draft.year.unwrap_or(2027);
        db::transaction(&mut conn, |conn| {
            let adopted = Document {
                status: DocumentStatus::Adopted,
                decision: Some(Decision {
                    body: DecidingBody::Board,
                    date: NaiveDate::from_ymd_opt(year - 1, 12, 10).expect("date"),
                    reference: format!("RS {}-12-10 § {}", year - 1, 100 + year % 50),
                }),
                ..draft.clone()
            };
            documents::update(conn, &actor, "adopt", draft, adopted)
        })?;
    }

    // Memberships (scale / 20, at least 3), each with a report-back for representations and an
    // approved evaluation for every other one.
    let membership_count = (scale / 20).max(3);
    for chunk in (0..membership_count).collect::<Vec<_>>().chunks(BATCH) {
        let plan: Vec<(MembershipInput, bool)> = chunk
            .iter()
            .map(|_| {
                let kind = *pick(&mut rng, &[MembershipKind::Membership, MembershipKind::Representation]);
                let input = MembershipInput {
                    kind,
                    organisation_id: pick(&mut rng, &orgs).clone(),
                    role: Some(*pick(&mut rng, MembershipRole::ALL)),
                    representative: (kind == MembershipKind::Representation)
                        .then(|| pick(&mut rng, &["Anna Lindqvist", "Per Sjöberg", "Maria Nordin", "Erik Holm", "Sara Öberg"]).to_string()),
                    mandate: Some("[DEMO] Bevaka regionens intressen och återrapportera till regionstyrelsen.".into()),
                    decision: None,
                    start_date: Some(date(&mut rng, 2015, 2024)),
                    end_date: None,
                    annual_fee: (kind == MembershipKind::Membership).then(|| Money::from_minor(rng.random_range(10..=400) * 1000 * 100, "SEK".into())),
                    review_interval_months: *pick(&mut rng, &[12, 12, 24]),
                    status: Some(MembershipStatus::Active),
                };
                (input, rng.random_bool(0.5))
            })
            .collect();
        let (ms, rbs, evs) = db::transaction(&mut conn, |conn| {
            let (mut ms, mut rbs, mut evs) = (0, 0, 0);
            for (input, evaluated) in plan {
                let representation = input.kind == MembershipKind::Representation;
                let representative = input.representative.clone();
                let m = Membership::create(conn, &actor, input)?;
                ms += 1;
                if representation {
                    report_backs::create(
                        conn,
                        &actor,
                        &m.id,
                        report_backs::ReportBackInput {
                            date: NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
                            meeting: format!("[DEMO] {}", MEETINGS[ms % MEETINGS.len()]),
                            summary: "Mötet behandlade prioriteringar inför nästa programperiod."
                                .into(),
                            reported_to: DecidingBody::Board,
                            author: representative,
                        },
                    )?;
                    rbs += 1;
                }
                if evaluated {
                    let e = Evaluation::create(
                        conn,
                        &actor,
                        EvaluationInput {
                            subject_type: SubjectType::Membership,
                            subject_id: m.id.clone(),
                            period_start: NaiveDate::from_ymd_opt(2025, 1, 1),
                            period_end: NaiveDate::from_ymd_opt(2025, 12, 31),
                            benefit_region: Some(4),
                            benefit_organisation: Some(3),
                            benefit_residents: Some(2),
                            efficiency: Some(3),
                            goal_fulfilment: GoalFulfilment::LargelyAchieved,
                            findings: Some("[DEMO] Medlemskapet ger tidig kunskap om EU:s sammanhållningspolitik.".into()),
                            recommendation: Some(Recommendation::Continue),
                        },
                    )?;
                    let submitted =
                        evaluations::advance(conn, &actor, &e, evaluations::Step::Submit)?;
                    evaluations::advance(
                        conn,
                        &actor,
                        &submitted,
                        evaluations::Step::Approve(ApproveRequest {
                            date: NaiveDate::from_ymd_opt(2026, 3, 12).expect("date"),
                            reference: "RS 2026-03-12 § 40".into(),
                        }),
                    )?;
                    evs += 1;
                }
            }
            Ok((ms, rbs, evs))
        })?;
        n.memberships += ms;
        n.report_backs += rbs;
        n.evaluations += evs;
    }

    // Official contacts: one for every hundred projects, at least a handful, with the named
    // partners as counterparts and the region's participants by role.
    let contacts: Vec<OfficialContactInput> = (0..(scale / 100).max(CONTACTS.len()))
        .map(|i| {
            let (kind, title, participants) = CONTACTS[i % CONTACTS.len()];
            let org = i % PARTNERS.len();
            OfficialContactInput {
                date: date(&mut rng, 2024, 2026),
                kind,
                title: format!("[DEMO] {title}"),
                organisation_id: Some(orgs[org].clone()),
                counterpart: None,
                country: Some(PARTNERS[org].2.into()),
                participants: participants.iter().map(|p| (*p).to_string()).collect(),
                purpose: Some("Fördjupa samarbetet inom regionens prioriterade områden.".into()),
                goal_ids: vec![pick(&mut rng, &goal_ids).clone()],
                follow_up: None,
            }
        })
        .collect();
    n.official_contacts = db::transaction(&mut conn, |conn| {
        for c in &contacts {
            OfficialContact::create(conn, &actor, c.clone())?;
        }
        Ok(contacts.len())
    })?;

    // The board's positions, each a decision in the register.
    n.positions = db::transaction(&mut conn, |conn| {
        for (k, (title, text)) in POSITIONS.iter().enumerate() {
            Position::create(
                conn,
                &actor,
                PositionInput {
                    title: format!("[DEMO] {title}"),
                    text: (*text).into(),
                    goal_ids: vec![goal_ids[k % goal_ids.len()].clone()],
                    decision: Decision {
                        body: DecidingBody::Board,
                        date: NaiveDate::from_ymd_opt(2026, 3 + k as u32, 10).expect("date"),
                        reference: format!("RS 2026 § {}", 30 + k),
                    },
                },
            )?;
        }
        Ok(POSITIONS.len())
    })?;
    Ok(n)
}
