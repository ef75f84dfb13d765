//! The policy's yearly cycle: an action plan covers a year, one adopted plan a year is in
//! force, and next year's plan starts from this year's open activities.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, id, TestApp};

const ADOPT: &str = r#"{"date": "2026-11-20", "reference": "RS 2026-11-20 § 12"}"#;

async fn plan(app: &TestApp, year: i32, title: &str) -> Value {
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "action_plan", "title": title, "year": year}),
        )
        .await;
    r.expect(201);
    r.body
}

async fn propose_and_adopt(app: &TestApp, doc: &str) -> crate::helpers::Resp {
    let r = app
        .post(
            &format!("/v1/documents/{doc}/propose"),
            "officer",
            json!({}),
        )
        .await;
    r.expect(200);
    let body: Value = serde_json::from_str(ADOPT).unwrap();
    app.post(&format!("/v1/documents/{doc}/adopt"), "board", body)
        .await
}

/// The adopted action plans, as (year, id).
async fn in_force(app: &TestApp) -> Vec<(i64, String)> {
    let r = app
        .get(
            "/v1/documents?kind=action_plan&status=adopted&limit=500",
            "reader",
        )
        .await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["year"].as_i64().unwrap(), id(d)))
        .collect()
}

pub async fn an_action_plan_covers_a_year_and_one_is_in_force(app: TestApp) {
    // The year is required of an action plan, not of the other kinds.
    let r = app
        .post(
            "/v1/documents",
            "officer",
            json!({"kind": "action_plan", "title": "Handlingsplan"}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["year"]);
    app.post(
        "/v1/documents",
        "officer",
        json!({"kind": "guideline", "title": "Riktlinje"}),
    )
    .await
    .expect(201);
    let first = id(&plan(&app, 2030, "Handlingsplan 2030").await);
    let r = app
        .patch(
            &format!("/v1/documents/{first}"),
            "officer",
            json!({"year": null}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["year"]);
    propose_and_adopt(&app, &first).await.expect(200);

    // A second plan for 2030 is refused at adoption, stays proposed, and nothing is written.
    let second = id(&plan(&app, 2030, "Ännu en plan 2030").await);
    app.post(
        &format!("/v1/documents/{second}/propose"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    let before = app.snapshot();
    let body: Value = serde_json::from_str(ADOPT).unwrap();
    let r = app
        .post(&format!("/v1/documents/{second}/adopt"), "board", body)
        .await;
    assert_problem(&r, 409);
    assert!(
        r.body["detail"].as_str().unwrap().contains(&first),
        "{}",
        r.text
    );
    assert_eq!(app.snapshot(), before);
    let got = app.get(&format!("/v1/documents/{second}"), "reader").await;
    assert_eq!(got.body["status"], "proposed");
    // A revision of the plan in force replaces it; another year's plan is a plan of its own.
    let revision = app
        .post(
            &format!("/v1/documents/{first}/revisions"),
            "officer",
            json!({}),
        )
        .await;
    revision.expect(201);
    propose_and_adopt(&app, &id(&revision.body))
        .await
        .expect(200);
    let other = id(&plan(&app, 2031, "Handlingsplan 2031").await);
    propose_and_adopt(&app, &other).await.expect(200);
    let mut plans = in_force(&app).await;
    plans.sort();
    assert_eq!(plans, vec![(2030, id(&revision.body)), (2031, other)]);
}

/// Two plans of one year adopted at the same moment: one is adopted, the other refused.
pub async fn two_plans_of_a_year_adopted_at_once_leave_one_in_force(app: TestApp) {
    for round in 0..4 {
        let year = 2040 + round;
        let mut ids = Vec::new();
        for n in 0..2 {
            let d = id(&plan(&app, year, &format!("Plan {n}")).await);
            app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
                .await
                .expect(200);
            ids.push(d);
        }
        let t = crate::helpers::token("board");
        let sends: Vec<_> = ids
            .iter()
            .map(|d| {
                let b = app
                    .client
                    .post(format!("{}/v1/documents/{d}/adopt", app.base))
                    .bearer_auth(&t)
                    .header("content-type", "application/json")
                    .body(ADOPT);
                async move { b.send().await.unwrap().status().as_u16() }
            })
            .collect();
        let mut statuses = futures_util::future::join_all(sends).await;
        statuses.sort();
        assert_eq!(statuses, vec![200, 409], "{year}");
        let of_year = in_force(&app)
            .await
            .into_iter()
            .filter(|(y, _)| *y == i64::from(year))
            .count();
        assert_eq!(of_year, 1);
    }
}

/// The rule as an invariant: random sequences of the steps the board and the officers may take
/// (a new plan, propose, adopt, revise, start next year, edit a draft's year) never leave two
/// adopted plans of one year.
pub async fn no_sequence_of_steps_puts_two_plans_of_a_year_in_force(app: TestApp) {
    let mut seed: u64 = 0x5eed_2026;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut docs: Vec<String> = Vec::new();
    let mut adopted = 0;
    for step in 0..100 {
        let pick = if docs.is_empty() { 0 } else { next(6) };
        let doc = (!docs.is_empty()).then(|| docs[next(docs.len())].clone());
        let r = match (pick, doc) {
            (0, _) | (_, None) => {
                let year = 2050 + next(2) as i32;
                let r = app
                    .post(
                        "/v1/documents",
                        "officer",
                        json!({"kind": "action_plan", "title": format!("Plan {step}"), "year": year}),
                    )
                    .await;
                if r.status == 201 {
                    docs.push(id(&r.body));
                }
                r
            }
            (1, Some(d)) => {
                app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
                    .await
            }
            (2, Some(d)) => {
                // Proposed first when it is a draft (a 409 otherwise, which changes nothing).
                app.post(&format!("/v1/documents/{d}/propose"), "officer", json!({}))
                    .await;
                let body: Value = serde_json::from_str(ADOPT).unwrap();
                app.post(&format!("/v1/documents/{d}/adopt"), "board", body)
                    .await
            }
            (3, Some(d)) => {
                let r = app
                    .post(&format!("/v1/documents/{d}/revisions"), "board", json!({}))
                    .await;
                if r.status == 201 {
                    docs.push(id(&r.body));
                }
                r
            }
            (4, Some(d)) => {
                let year = 2050 + next(2) as i32;
                let r = app
                    .post(
                        &format!("/v1/documents/{d}/next-year"),
                        "officer",
                        json!({"year": year}),
                    )
                    .await;
                if r.status == 201 {
                    docs.push(id(&r.body));
                }
                r
            }
            (_, Some(d)) => {
                let year = 2050 + next(2) as i32;
                app.patch(
                    &format!("/v1/documents/{d}"),
                    "officer",
                    json!({"year": year}),
                )
                .await
            }
        };
        if pick == 2 && r.status == 200 {
            adopted += 1;
        }
        assert!(
            [200, 201, 409].contains(&r.status.as_u16()),
            "step {step}: {} {}",
            r.status,
            r.text
        );
        let mut years: HashMap<i64, Vec<String>> = HashMap::new();
        for (y, d) in in_force(&app).await {
            years.entry(y).or_default().push(d);
        }
        for (y, ds) in years {
            assert_eq!(ds.len(), 1, "step {step}: {y} has {ds:?} in force");
        }
    }
    assert!(adopted >= 2, "the steps adopted {adopted} plans");
}

/// Next year's plan from this year's: a new draft for the year after, with the plan's sub-goals
/// copied and its open activities carried over with their goal links.
pub async fn next_year_starts_from_the_open_activities(app: TestApp) {
    let (goals, areas) = crate::activities::policy_goals(&app).await;
    let this = id(&plan(&app, 2030, "Internationell handlingsplan 2030").await);
    let sub = id(&app.goal(&this, None, "sub_goal", "Delmål 1").await);
    let mut titles = Vec::new();
    for status in ["planned", "ongoing", "delayed", "completed", "cancelled"] {
        let title = format!("Aktivitet {status}");
        app.post(
            "/v1/activities",
            "officer",
            json!({"document_id": this, "kind": "eu_advocacy", "title": title, "status": status,
                   "goal_ids": [goals[0], sub], "priority_area_ids": [areas[1]]}),
        )
        .await
        .expect(201);
        titles.push(title);
    }
    propose_and_adopt(&app, &this).await.expect(200);

    // Refusals first: nothing is written.
    let before = app.snapshot();
    let guideline = id(&app.draft("guideline", "Riktlinje").await);
    let before_guideline = app.snapshot();
    let r = app
        .post(
            &format!("/v1/documents/{guideline}/next-year"),
            "officer",
            json!({}),
        )
        .await;
    assert_problem(&r, 409);
    for (body, field) in [
        (json!({"year": 1800}), "year"),
        (json!({"title": ""}), "title"),
        (json!({"colour": "blå"}), "colour"),
    ] {
        let r = app
            .post(&format!("/v1/documents/{this}/next-year"), "officer", body)
            .await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()]);
    }
    for role in ["integrator", "reader"] {
        let r = app
            .post(&format!("/v1/documents/{this}/next-year"), role, json!({}))
            .await;
        assert_problem(&r, 403);
    }
    app.post("/v1/documents/no-such-plan/next-year", "officer", json!({}))
        .await
        .expect(404);
    assert_eq!(app.snapshot(), before_guideline);
    assert_ne!(before, before_guideline);

    let r = app
        .send(app.request(
            Method::POST,
            &format!("/v1/documents/{this}/next-year"),
            Some("officer"),
        ))
        .await;
    r.expect(201);
    let next = r.body.clone();
    assert_eq!(next["year"], 2031);
    assert_eq!(next["title"], "Internationell handlingsplan 2031");
    assert_eq!(next["status"], "draft");
    assert_eq!(next["revision_of"], Value::Null);
    let next_goals = app
        .get(&format!("/v1/goals?document_id={}", id(&next)), "reader")
        .await;
    let copied_sub = id(&next_goals.body["items"][0]);
    assert_ne!(copied_sub, sub);
    let carried = app
        .get(
            &format!("/v1/activities?document_id={}&limit=50", id(&next)),
            "reader",
        )
        .await;
    let mut got: Vec<(String, String)> = carried.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["goal_ids"], json!([goals[0], copied_sub]), "{a}");
            assert_eq!(a["priority_area_ids"], json!([areas[1]]));
            (
                a["title"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("Aktivitet delayed".to_string(), "delayed".to_string()),
            ("Aktivitet ongoing".into(), "ongoing".into()),
            ("Aktivitet planned".into(), "planned".into()),
        ]
    );
    // This year's plan is untouched; a revision may take its open activities only.
    let old = app
        .get(
            &format!("/v1/activities?document_id={this}&limit=50"),
            "reader",
        )
        .await;
    assert_eq!(old.body["items"].as_array().unwrap().len(), 5);
    let r = app
        .post(
            &format!("/v1/documents/{this}/revisions"),
            "officer",
            json!({"activities": "some"}),
        )
        .await;
    assert_problem(&r, 422);
    let revision = app
        .post(
            &format!("/v1/documents/{this}/revisions"),
            "officer",
            json!({"activities": "open"}),
        )
        .await;
    revision.expect(201);
    let in_revision = app
        .get(
            &format!("/v1/activities?document_id={}&limit=50", id(&revision.body)),
            "reader",
        )
        .await;
    assert_eq!(in_revision.body["items"].as_array().unwrap().len(), 3);
    // Both copies are in the change feed and the audit trail as created by the officer.
    let audit = app.audit(&id(&next));
    assert_eq!(audit[0].0, "create");
    assert_eq!(audit[0].1, "officer-user");
}
