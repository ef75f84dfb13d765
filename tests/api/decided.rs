//! What a decision fixes holds on every path: a document's kind and so its deciding body, what
//! the board decided about a membership, a submitted or approved evaluation, an adopted action
//! plan's activities. The document rules are tested as a model: random sequences of allowed
//! steps by every role, with the invariants checked after each.

use std::collections::HashMap;

use rand::{rngs::StdRng, RngExt, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

const ROLES: [&str; 5] = ["council", "board", "officer", "integrator", "reader"];
const KINDS: [&str; 5] = [
    "policy",
    "goal_document",
    "guideline",
    "programme",
    "action_plan",
];

fn deciding_body(kind: &str) -> &'static str {
    match kind {
        "policy" | "goal_document" => "council",
        _ => "board",
    }
}

/// The invariants of the council/board split over every document and the decision register;
/// `kinds` is each document's kind when it was created.
/// Returns each live document's id and status, for the next step's choice.
async fn assert_split_holds(
    app: &TestApp,
    kinds: &mut HashMap<String, String>,
    step: &str,
) -> Vec<(String, String)> {
    let docs = app.get("/v1/documents?limit=500", "reader").await;
    docs.expect(200);
    let docs = docs.body["items"].as_array().unwrap().clone();
    let by_id: HashMap<String, &Value> = docs.iter().map(|d| (id(d), d)).collect();
    for d in &docs {
        let kind = d["kind"].as_str().unwrap();
        let first = kinds.entry(id(d)).or_insert_with(|| kind.to_string());
        assert_eq!(kind, first, "{step}: a document's kind changed: {d}");
        if let Some(original) = d["revision_of"].as_str() {
            assert_eq!(
                by_id[original]["kind"], d["kind"],
                "{step}: a revision's kind differs from its original's"
            );
        }
        match d["status"].as_str().unwrap() {
            "adopted" | "superseded" => assert_eq!(
                d["decision"]["body"],
                deciding_body(kind),
                "{step}: adopted by the wrong body: {d}"
            ),
            _ => assert_eq!(d["decision"], Value::Null, "{step}: {d}"),
        }
        if d["status"] == "superseded" {
            let by = by_id[d["superseded_by"].as_str().unwrap()];
            assert_eq!(by["kind"], d["kind"], "{step}: superseded across kinds");
            // Adopted, or superseded in turn by a later revision.
            assert!(
                by["status"] == "adopted" || by["status"] == "superseded",
                "{step}: {by}"
            );
            assert_eq!(
                by["decision"]["body"],
                deciding_body(kind),
                "{step}: a {kind} superseded by the wrong body's decision"
            );
        }
    }
    let decisions = app.get("/v1/decisions?limit=500", "reader").await;
    decisions.expect(200);
    for e in decisions.body["items"].as_array().unwrap() {
        if e["resource_type"] != "document" {
            continue;
        }
        let doc_id = e["resource_id"].as_str().unwrap();
        let kind = &kinds[doc_id];
        assert_eq!(
            e["body"],
            deciding_body(kind),
            "{step}: the register names the wrong body for a {kind}: {e}"
        );
    }
    docs.iter()
        .map(|d| (id(d), d["status"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Random sequences of requests (create, patch with or without a new kind, propose, revise,
/// adopt with or without a body, delete) by every role over documents of every kind, with a
/// fixed seed and a bounded number of steps; the split is checked after each.
pub async fn document_steps_keep_each_decision_with_its_body(app: TestApp) {
    let mut rng = StdRng::seed_from_u64(20180621);
    let mut kinds: HashMap<String, String> = HashMap::new();
    let mut ids: Vec<String> = vec![id(&app.policy().await)];
    let mut states = assert_split_holds(&app, &mut kinds, "start").await;
    let mut accepted = [0; 7];
    // Mostly the roles that may act, so that sequences go deep; every role appears.
    let roles = [ROLES, ["council", "board", "officer", "officer", "board"]].concat();
    for n in 0..200 {
        let role = roles[rng.random_range(0..roles.len())];
        let kind = KINDS[rng.random_range(0..KINDS.len())];
        // The newer documents more often: they are the ones a sequence is working on.
        let newest = ids.len().saturating_sub(4);
        let doc = if rng.random_bool(0.6) {
            ids[rng.random_range(newest..ids.len())].clone()
        } else {
            ids[rng.random_range(0..ids.len())].clone()
        };
        // create, patch, propose, revise, adopt, adopt naming a body, delete; weighted.
        let op = [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 6][rng.random_range(0..11)];
        // Most often a document in the state the step needs: a draft to edit, propose or
        // delete, an adopted one to revise, a proposed one to adopt.
        let wanted = match op {
            1 | 2 | 6 => "draft",
            3 => "adopted",
            _ => "proposed",
        };
        let fitting: Vec<&String> = states
            .iter()
            .filter(|(_, s)| s == wanted)
            .map(|(d, _)| d)
            .collect();
        let doc = if op != 0 && !fitting.is_empty() && rng.random_bool(0.7) {
            fitting[rng.random_range(0..fitting.len())].clone()
        } else {
            doc
        };
        let r = match op {
            0 => {
                app.post(
                    "/v1/documents",
                    role,
                    json!({"kind": kind, "title": format!("Dokument {n}"), "year": 2027}),
                )
                .await
            }
            1 => {
                app.patch(
                    &format!("/v1/documents/{doc}"),
                    role,
                    json!({"kind": kind, "title": format!("Ändrad {n}")}),
                )
                .await
            }
            2 => {
                app.post(&format!("/v1/documents/{doc}/propose"), role, json!({}))
                    .await
            }
            3 => {
                app.post(&format!("/v1/documents/{doc}/revisions"), role, json!({}))
                    .await
            }
            4 | 5 => {
                // Half the time by the body the document's kind names (role and `body`), so
                // that adoptions happen; otherwise by whoever was drawn, naming either body.
                let right = kinds.get(&doc).map(|k| deciding_body(k));
                let (role, named) = match right {
                    Some(b) if rng.random_bool(0.5) => (b, b),
                    _ => (
                        role,
                        if rng.random_bool(0.5) {
                            "council"
                        } else {
                            "board"
                        },
                    ),
                };
                let mut body = json!({"date": "2026-12-01", "reference": format!("§ {n}")});
                if op == 5 {
                    body["body"] = json!(named);
                }
                app.post(&format!("/v1/documents/{doc}/adopt"), role, body)
                    .await
            }
            _ => app.delete(&format!("/v1/documents/{doc}"), role).await,
        };
        let step = format!("step {n}: op {op} by {role} on {doc} ({kind})");
        assert!(
            [200, 201, 204, 403, 404, 409, 422].contains(&r.status.as_u16()),
            "{step}: {} {}",
            r.status,
            r.text
        );
        if r.status.is_success() {
            accepted[op] += 1;
        }
        if r.status == 201 {
            ids.push(id(&r.body));
        }
        // A proposal adopted by whoever may: keeps the sequence moving through every state.
        if op == 2 && r.status == 200 && rng.random_bool(0.4) {
            let body = deciding_body(r.body["kind"].as_str().unwrap());
            app.post(
                &format!("/v1/documents/{doc}/adopt"),
                body,
                json!({"date": "2026-12-02", "reference": format!("{body} § {n}")}),
            )
            .await
            .expect(200);
        }
        states = assert_split_holds(&app, &mut kinds, &step).await;
    }
    // Every kind of step was taken at least once, or the sequence proved little.
    assert!(
        accepted.iter().all(|&n| n > 0),
        "steps allowed per operation: {accepted:?}"
    );
    let superseded = app.get("/v1/documents?status=superseded", "reader").await;
    assert!(
        !superseded.body["items"].as_array().unwrap().is_empty(),
        "the sequence never superseded a document"
    );
}

/// The known breaches, each refused: a revision of the council's policy made a guideline, a
/// revision of the board's action plan made a policy, a draft's kind changed.
pub async fn a_document_keeps_its_kind(app: TestApp) {
    let policy = id(&app.policy().await);
    let rev = app
        .post(
            &format!("/v1/documents/{policy}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    rev.expect(201);
    assert_eq!(rev.body["kind"], "policy");
    let plan = id(&app.adopted("action_plan", "Handlingsplan 2027").await);
    let plan_rev = app
        .post(
            &format!("/v1/documents/{plan}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    plan_rev.expect(201);
    let draft = id(&app.draft("guideline", "Riktlinje").await);
    let before = app.snapshot();
    for (doc, to) in [
        (id(&rev.body), "guideline"),
        (id(&plan_rev.body), "policy"),
        (draft.clone(), "action_plan"),
    ] {
        for role in ["officer", "board", "council"] {
            let r = app
                .patch(&format!("/v1/documents/{doc}"), role, json!({"kind": to}))
                .await;
            r.expect(422);
            assert_eq!(r.error_fields(), vec!["kind"], "{}", r.text);
        }
    }
    assert_eq!(app.snapshot(), before);
    // Repeating the kind is no change.
    app.patch(
        &format!("/v1/documents/{draft}"),
        "officer",
        json!({"kind": "guideline", "title": "Riktlinje för besök"}),
    )
    .await
    .expect(200);
    // The policy's revision is the council's to adopt; the board is refused.
    let rev = id(&rev.body);
    app.post(
        &format!("/v1/documents/{rev}/propose"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    let adopt = json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 9"});
    let r = app
        .post(
            &format!("/v1/documents/{rev}/adopt"),
            "board",
            adopt.clone(),
        )
        .await;
    r.expect(403);
    assert_eq!(r.body["required_roles"], json!(["council"]));
    let r = app
        .post(&format!("/v1/documents/{rev}/adopt"), "council", adopt)
        .await;
    r.expect(200);
    let old = app.get(&format!("/v1/documents/{policy}"), "reader").await;
    assert_eq!(old.body["status"], "superseded");
    assert_eq!(old.body["decision"]["body"], "council");
}

async fn organisation(app: &TestApp, name: &str) -> String {
    let r = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": name, "kind": "network"}),
        )
        .await;
    r.expect(201);
    id(&r.body)
}

/// A change to each field a board decision settles, and to each descriptive field.
fn field_changes(other_org: &str) -> Vec<(&'static str, Value, bool)> {
    vec![
        ("organisation_id", json!(other_org), true),
        ("kind", json!("representation"), true),
        ("start_date", json!("2020-01-01"), true),
        ("end_date", json!("2030-12-31"), true),
        ("review_interval_months", json!(120), true),
        (
            "annual_fee",
            json!({"amount": "1.00", "currency": "EUR"}),
            true,
        ),
        ("status", json!("notice_given"), true),
        (
            "decision",
            json!({"body": "board", "date": "2026-12-01", "reference": "RS 2026-12-01 § 2"}),
            true,
        ),
        ("role", json!("observer"), false),
        (
            "mandate",
            json!("Bevaka frågor om sammanhållningspolitiken."),
            false,
        ),
    ]
}

/// Every field × every role on a membership the board has decided, and on one an officer
/// prepares.
pub async fn what_the_board_decided_about_a_membership_stays_the_boards(app: TestApp) {
    let org = organisation(&app, "Assembly of European Regions").await;
    let other = organisation(&app, "CPMR").await;
    let decided = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org, "start_date": "2024-01-01",
                   "review_interval_months": 12, "annual_fee": {"amount": "52000.00", "currency": "SEK"},
                   "decision": {"body": "board", "date": "2023-12-01", "reference": "RS 2023-12-01 § 5"}}),
        )
        .await;
    decided.expect(201);
    let path = format!("/v1/memberships/{}", id(&decided.body));
    for (field, value, settled) in field_changes(&other) {
        // With `kind` changed to representation, a representative is allowed; nothing else is
        // needed for any change to be valid.
        let patch = json!({ field: value });
        for role in ["officer", "council", "integrator", "reader"] {
            let before = app.snapshot();
            let r = app.patch(&path, role, patch.clone()).await;
            if settled || role != "officer" {
                r.expect(403);
                if role == "officer" {
                    assert_eq!(r.body["required_roles"], json!(["board"]), "{field}");
                }
                assert_eq!(app.snapshot(), before, "{field} by {role}");
            } else {
                r.expect(200);
                assert_eq!(r.body[field], value, "{field}");
            }
        }
        let before = app.get(&path, "board").await;
        let r = app.patch(&path, "board", patch).await;
        r.expect(200);
        // Put the field back, so each change is tested from the same decided membership.
        let mut back = json!({});
        back[field] = before.body[field].clone();
        app.patch(&path, "board", back).await.expect(200);
    }
    // The officer's example from the field: the interval stretched so the review disappears.
    app.patch(&path, "officer", json!({"review_interval_months": 120}))
        .await
        .expect(403);
    // A decided membership is ended, not deleted.
    app.delete(&path, "officer").await.expect(403);
    app.delete(&path, "board").await.expect(409);

    // A prepared membership (under review, no decision): officers shape every settled field
    // but the status and the decision, which are the board's.
    let prepared = app
        .post(
            "/v1/memberships",
            "officer",
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await;
    prepared.expect(201);
    let ppath = format!("/v1/memberships/{}", id(&prepared.body));
    for (field, value, _) in field_changes(&other) {
        let r = app.patch(&ppath, "officer", json!({ field: value })).await;
        if field == "status" || field == "decision" {
            r.expect(403);
        } else {
            r.expect(200);
        }
    }
    // Once the board decides, the officer's hands are off the settled fields.
    app.patch(
        &ppath,
        "board",
        json!({"status": "active", "decision": {"body": "board", "date": "2026-12-01", "reference": "RS 2026-12-01 § 3"}}),
    )
    .await
    .expect(200);
    app.patch(&ppath, "officer", json!({"start_date": "2021-01-01"}))
        .await
        .expect(403);
    app.patch(&ppath, "officer", json!({"role": "delegate"}))
        .await
        .expect(200);
    // A board decision through the API is the board's.
    let r = app
        .patch(
            &ppath,
            "board",
            json!({"decision": {"body": "council", "date": "2026-12-01", "reference": "RF § 1"}}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["decision.body"]);

    // An ended membership: nothing changes by PATCH for anyone, it is not deleted, and a final
    // report-back is still filed.
    app.post(
        &format!("{path}/end"),
        "board",
        json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 4", "end_date": "2026-12-31"}),
    )
    .await
    .expect(200);
    let before = app.snapshot();
    for role in ["board", "officer"] {
        app.patch(&path, role, json!({"mandate": "Slutrapport."}))
            .await
            .expect(409);
        app.patch(&path, role, json!({"end_date": "2027-12-31"}))
            .await
            .expect(409);
    }
    app.delete(&path, "board").await.expect(409);
    app.post(
        &format!("{path}/end"),
        "board",
        json!({"date": "2026-12-02", "reference": "RS § 5"}),
    )
    .await
    .expect(409);
    assert_eq!(app.snapshot(), before);
    app.post(
        &format!("{path}/report-backs"),
        "officer",
        json!({"date": "2027-01-15", "meeting": "Slutligt årsmöte", "summary": "Medlemskapet avslutat.", "reported_to": "board"}),
    )
    .await
    .expect(201);
}

/// Officers and the board draft; a submitted evaluation is the board's to send back or
/// approve; an approved one is final; the subject never changes.
pub async fn a_submitted_evaluation_is_the_boards(app: TestApp) {
    let org = organisation(&app, "Europaforum Norra Sverige (test)").await;
    let m = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await;
    m.expect(201);
    let other = app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await;
    let e = app
        .post(
            "/v1/evaluations",
            "officer",
            json!({"subject_type": "membership", "subject_id": id(&m.body), "benefit_region": 3}),
        )
        .await;
    e.expect(201);
    let path = format!("/v1/evaluations/{}", id(&e.body));
    let before = app.snapshot();
    for (field, value) in [
        ("subject_id", json!(id(&other.body))),
        ("subject_type", json!("project")),
    ] {
        let r = app.patch(&path, "officer", json!({ field: value })).await;
        r.expect(422);
        assert!(r.error_fields().contains(&field.to_string()), "{}", r.text);
    }
    assert_eq!(app.snapshot(), before);
    app.patch(&path, "officer", json!({"benefit_region": 4}))
        .await
        .expect(200);
    app.post(&format!("{path}/submit"), "officer", json!({}))
        .await
        .expect(200);
    let before = app.snapshot();
    for role in ["officer", "board"] {
        app.patch(&path, role, json!({"benefit_region": 1}))
            .await
            .expect(409);
    }
    app.delete(&path, "officer").await.expect(409);
    for role in ["officer", "council", "integrator", "reader"] {
        let r = app
            .post(&format!("{path}/send-back"), role, json!({}))
            .await;
        r.expect(403);
        assert_eq!(r.body["required_roles"], json!(["board"]));
    }
    assert_eq!(app.snapshot(), before);
    let r = app
        .post(&format!("{path}/send-back"), "board", json!({}))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "draft");
    assert_eq!(r.body["decision"], Value::Null);
    app.post(&format!("{path}/send-back"), "board", json!({}))
        .await
        .expect(409);
    app.patch(&path, "officer", json!({"benefit_region": 5}))
        .await
        .expect(200);
    app.post(&format!("{path}/submit"), "officer", json!({}))
        .await
        .expect(200);
    app.post(
        &format!("{path}/approve"),
        "board",
        json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 7"}),
    )
    .await
    .expect(200);
    let before = app.snapshot();
    app.post(&format!("{path}/send-back"), "board", json!({}))
        .await
        .expect(409);
    for role in ["officer", "board"] {
        app.patch(&path, role, json!({"benefit_region": 1}))
            .await
            .expect(409);
    }
    app.delete(&path, "board").await.expect(409);
    assert_eq!(app.snapshot(), before);
}

/// Once the board adopts an action plan, its activities and what the adoption fixed change only
/// through a revision; follow-up stays open to board and officers.
pub async fn an_adopted_action_plan_holds(app: TestApp) {
    let policy = app.policy().await;
    let goals = app
        .get(
            &format!("/v1/goals?document_id={}&limit=500", id(&policy)),
            "reader",
        )
        .await;
    let items = goals.body["items"].as_array().unwrap();
    let policy_goal = id(items.iter().find(|g| g["kind"] == "goal").unwrap());
    let area = id(items.iter().find(|g| g["kind"] == "priority_area").unwrap());
    let plan = app
        .draft("action_plan", "Internationell handlingsplan 2027")
        .await;
    let plan_id = id(&plan);
    let sub_goal = app
        .goal(&plan_id, None, "sub_goal", "Fler EU-projekt")
        .await;
    let activity = |title: &str, prioritised: bool| {
        json!({"document_id": plan_id, "kind": "eu_advocacy", "title": title,
               "prioritised": prioritised, "goal_ids": [policy_goal, id(&sub_goal)],
               "priority_area_ids": [area]})
    };
    let a = app
        .post(
            "/v1/activities",
            "officer",
            activity("Bevaka sammanhållningspolitiken", true),
        )
        .await;
    a.expect(201);
    let apath = format!("/v1/activities/{}", id(&a.body));
    app.post(
        &format!("/v1/documents/{plan_id}/propose"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/documents/{plan_id}/adopt"),
        "board",
        json!({"date": "2026-12-01", "reference": "RS 2026-12-01 § 10"}),
    )
    .await
    .expect(200);
    let other_plan = id(&app.draft("action_plan", "Utkast 2028").await);
    let elsewhere = app
        .post(
            "/v1/activities",
            "officer",
            json!({"document_id": other_plan, "kind": "knowledge_exchange", "title": "Studiebesök"}),
        )
        .await;
    elsewhere.expect(201);
    let before = app.snapshot();
    for role in ["officer", "board"] {
        let r = app
            .post("/v1/activities", role, activity("Tillagd efteråt", true))
            .await;
        r.expect(409);
        assert!(
            r.body["detail"].as_str().unwrap().contains("revisions"),
            "{}",
            r.text
        );
        for patch in [
            json!({"prioritised": false}),
            json!({"kind": "knowledge_exchange"}),
            json!({"title": "Något annat"}),
            json!({"goal_ids": [policy_goal]}),
            json!({"priority_area_ids": []}),
            json!({"document_id": other_plan}),
        ] {
            app.patch(&apath, role, patch).await.expect(409);
        }
        app.patch(
            &format!("/v1/activities/{}", id(&elsewhere.body)),
            role,
            json!({"document_id": plan_id}),
        )
        .await
        .expect(409);
        app.delete(&apath, role).await.expect(409);
    }
    for role in ["council", "integrator", "reader"] {
        app.patch(&apath, role, json!({"status": "ongoing"}))
            .await
            .expect(403);
    }
    assert_eq!(app.snapshot(), before);
    // Follow-up stays writable, and repeating what is fixed is no change.
    for (role, status) in [("officer", "ongoing"), ("board", "delayed")] {
        let r = app
            .patch(
                &apath,
                role,
                json!({"status": status, "actual_start": "2027-01-10", "prioritised": true,
                       "goal_ids": [id(&sub_goal), policy_goal]}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["status"], status);
    }
    // A revision copies the activities, linked to the copied sub-goals; it is open to change
    // and the board adopts it.
    let rev = app
        .post(
            &format!("/v1/documents/{plan_id}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    rev.expect(201);
    let rev_id = id(&rev.body);
    let copied = app
        .get(&format!("/v1/activities?document_id={rev_id}"), "reader")
        .await;
    let copied = copied.body["items"].as_array().unwrap().clone();
    assert_eq!(copied.len(), 1);
    let c = &copied[0];
    assert_eq!(c["title"], "Bevaka sammanhållningspolitiken");
    assert_eq!(c["prioritised"], true);
    assert_eq!(c["status"], "delayed");
    assert_eq!(c["priority_area_ids"], json!([area]));
    let rev_goals = app
        .get(&format!("/v1/goals?document_id={rev_id}"), "reader")
        .await;
    let rev_sub_goal = id(&rev_goals.body["items"][0]);
    let mut goal_ids: Vec<String> = c["goal_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    goal_ids.sort();
    let mut expected = vec![policy_goal.clone(), rev_sub_goal];
    expected.sort();
    assert_eq!(goal_ids, expected);
    app.patch(
        &format!("/v1/activities/{}", id(c)),
        "officer",
        json!({"prioritised": false}),
    )
    .await
    .expect(200);
    app.post(
        "/v1/activities",
        "officer",
        json!({"document_id": rev_id, "kind": "competence_development", "title": "Språkkurs"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/v1/documents/{rev_id}/propose"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/documents/{rev_id}/adopt"),
        "council",
        json!({"date": "2027-06-01", "reference": "RF § 1"}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/v1/documents/{rev_id}/adopt"),
        "board",
        json!({"date": "2027-06-01", "reference": "RS 2027-06-01 § 20"}),
    )
    .await
    .expect(200);
    let old = app.get(&format!("/v1/documents/{plan_id}"), "reader").await;
    assert_eq!(old.body["status"], "superseded");
    // The superseded plan's activity is as fixed as before.
    app.patch(&apath, "board", json!({"prioritised": false}))
        .await
        .expect(409);
    // Deleting a draft revision takes its copied activities with it.
    let rev2 = app
        .post(
            &format!("/v1/documents/{rev_id}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    rev2.expect(201);
    let rev2_id = id(&rev2.body);
    assert_eq!(activities_of(&app, &rev2_id).await, 2);
    app.delete(&format!("/v1/documents/{rev2_id}"), "officer")
        .await
        .expect(204);
    assert_eq!(activities_of(&app, &rev2_id).await, 0);
    assert_eq!(activities_of(&app, &rev_id).await, 2);
}

async fn activities_of(app: &TestApp, doc: &str) -> usize {
    let r = app
        .get(&format!("/v1/activities?document_id={doc}"), "reader")
        .await;
    r.expect(200);
    r.body["items"].as_array().unwrap().len()
}

/// A table's rows: the first cell, then whether each role's cell grants anything.
fn access_rows(markdown: &str) -> Vec<(String, Vec<bool>)> {
    markdown
        .lines()
        .skip_while(|l| !l.starts_with("| action |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('*', "").to_lowercase())
                .collect();
            let grants = cells[1..]
                .iter()
                .map(|c| !(c.is_empty() || c == "no" || c.starts_with("no:")))
                .collect();
            (cells[0].clone(), grants)
        })
        .collect()
}

/// The access table in the spec says what `shared/domain.md`'s says, row by row.
pub async fn the_spec_states_the_access_table_of_the_domain(app: TestApp) {
    let domain =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/domain.md"))
            .expect("shared/domain.md beside the project");
    let section = domain
        .split("## Who decides what")
        .nth(1)
        .expect("the access section");
    let spec = app
        .send(app.request(reqwest::Method::GET, "/openapi.json", None))
        .await;
    let description = spec.body["info"]["description"].as_str().unwrap();
    let stated = access_rows(description);
    let expected = access_rows(section);
    assert!(expected.len() >= 12, "{expected:?}");
    for (row, grants) in &expected {
        let found = stated
            .iter()
            .find(|(r, _)| r.replace('`', "") == row.replace('`', ""))
            .unwrap_or_else(|| panic!("the spec lacks the row {row:?}: {description}"));
        assert_eq!(&found.1, grants, "{row}");
    }
}
