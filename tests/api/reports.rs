//! Follow-up reports: goal fulfilment rolled up the goal tree, membership reviews due, the
//! project portfolio, representatives' report-backs; each as JSON and as CSV with the same
//! numbers; readable by every role; bad parameters refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, id, Resp, TestApp};

const ALL_ROLES: [&str; 5] = ["council", "board", "officer", "integrator", "reader"];

async fn csv(app: &TestApp, path: &str) -> (Resp, Vec<std::collections::HashMap<String, String>>) {
    let r = app
        .send(
            app.request(Method::GET, path, Some("reader"))
                .header("accept", "text/csv"),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8; header=present")
    );
    assert_eq!(r.header("vary").as_deref(), Some("Accept"));
    let rows = parse_csv(&r.text);
    (r, rows)
}

/// A small RFC 4180 reader, enough for the reports (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut field = String::new();
    let mut record = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(text.ends_with("\r\n"), "CSV lines end with CRLF");
    let header = records.remove(0);
    records
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "every row has every column");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let r = app.get(path, "reader").await;
    r.expect(200);
    assert_eq!(r.header("vary").as_deref(), Some("Accept"));
    r.body.clone()
}

/// Every role may read `path`; no token is 401; an Accept it cannot meet is 406.
async fn readable_by_all(app: &TestApp, path: &str) {
    for role in ALL_ROLES {
        app.get(path, role).await.expect(200);
    }
    assert_problem(&app.send(app.request(Method::GET, path, None)).await, 401);
    let r = app
        .send(
            app.request(Method::GET, path, Some("reader"))
                .header("accept", "application/xml"),
        )
        .await;
    assert_problem(&r, 406);
}

pub async fn goal_fulfilment_rolls_up_the_goal_tree(app: TestApp) {
    // A goal document: area A with goals A1 and A2. An action plan whose sub-goal S1 serves A1.
    let gd = app
        .draft("goal_document", "Regional utvecklingsstrategi")
        .await;
    let gd_id = id(&gd);
    let a = id(&app.goal(&gd_id, None, "goal_area", "Område A").await);
    let a1 = id(&app.goal(&gd_id, Some(&a), "goal", "Mål A1").await);
    let a2 = id(&app.goal(&gd_id, Some(&a), "goal", "Mål A2").await);
    let plan = app.draft("action_plan", "Handlingsplan 2027").await;
    let plan_id = id(&plan);
    let s1 = app
        .post(
            "/v1/goals",
            "officer",
            json!({"document_id": plan_id, "kind": "sub_goal", "title": "Delmål S1", "serves": [a1]}),
        )
        .await;
    s1.expect(201);
    let s1 = id(&s1.body);
    let activity = |title: &str, status: &str, goals: Vec<&String>| json!({"document_id": plan_id, "kind": "knowledge_exchange", "title": title, "status": status, "goal_ids": goals});
    for body in [
        activity("Bara S1", "planned", vec![&s1]),
        activity("Både A1 och S1", "ongoing", vec![&a1, &s1]),
        activity("A2", "completed", vec![&a2]),
    ] {
        app.post("/v1/activities", "officer", body)
            .await
            .expect(201);
    }
    // A deleted activity counts nowhere.
    let gone = app
        .post(
            "/v1/activities",
            "officer",
            activity("Struken", "planned", vec![&a1]),
        )
        .await;
    app.delete(&format!("/v1/activities/{}", id(&gone.body)), "officer")
        .await
        .expect(204);
    app.post(
        "/v1/projects",
        "officer",
        json!({"title": "Aurora", "status": "implementation", "region_role": "partner", "goal_ids": [a1]}),
    )
    .await
    .expect(201);
    // A1's latest approved evaluation says largely achieved (an older one said partly).
    for (fulfilment, date) in [
        ("partly_achieved", "2025-06-01"),
        ("largely_achieved", "2026-06-01"),
    ] {
        let e = app
            .post(
                "/v1/evaluations",
                "officer",
                json!({"subject_type": "goal", "subject_id": a1, "goal_fulfilment": fulfilment}),
            )
            .await;
        let eid = id(&e.body);
        app.post(
            &format!("/v1/evaluations/{eid}/submit"),
            "officer",
            json!({}),
        )
        .await
        .expect(200);
        app.post(
            &format!("/v1/evaluations/{eid}/approve"),
            "board",
            json!({"date": date, "reference": "RS § 3"}),
        )
        .await
        .expect(200);
    }
    // A submitted but unapproved evaluation of A2 does not count.
    let e = app
        .post(
            "/v1/evaluations",
            "officer",
            json!({"subject_type": "goal", "subject_id": a2, "goal_fulfilment": "achieved"}),
        )
        .await;
    app.post(
        &format!("/v1/evaluations/{}/submit", id(&e.body)),
        "officer",
        json!({}),
    )
    .await
    .expect(200);

    let path = format!("/v1/reports/goal-fulfilment?document={gd_id}");
    let r = json_of(&app, &path).await;
    assert_eq!(r["document_id"], gd_id.as_str());
    assert_eq!(r["document_kind"], "goal_document");
    let goals = r["goals"].as_array().unwrap();
    let order: Vec<&str> = goals
        .iter()
        .map(|g| g["goal_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [a.as_str(), a1.as_str(), a2.as_str()], "depth first");
    let (ga, ga1, ga2) = (&goals[0], &goals[1], &goals[2]);
    assert_eq!(ga["depth"], 0);
    assert_eq!(ga1["depth"], 1);
    assert_eq!(ga1["served_by"], json!([s1]));
    // Direct links.
    assert_eq!(ga["activities"]["total"], 0);
    assert_eq!(ga1["activities"]["total"], 1);
    assert_eq!(ga1["activities"]["by_status"]["ongoing"], 1);
    assert_eq!(ga1["projects"]["by_status"]["implementation"], 1);
    assert_eq!(ga1["fulfilment"]["goal_fulfilment"], "largely_achieved");
    assert_eq!(ga1["fulfilment"]["decision_date"], "2026-06-01");
    assert_eq!(ga2["fulfilment"], Value::Null);
    // Rolled up: A1 covers itself and S1 (the activity linked to both counts once).
    assert_eq!(ga1["rolled_up"]["goals"], 2);
    assert_eq!(ga1["rolled_up"]["activities"]["total"], 2);
    assert_eq!(ga1["rolled_up"]["activities"]["by_status"]["planned"], 1);
    assert_eq!(ga1["rolled_up"]["activities"]["by_status"]["ongoing"], 1);
    // A covers A, A1, A2 and S1.
    assert_eq!(ga["rolled_up"]["goals"], 4);
    assert_eq!(ga["rolled_up"]["activities"]["total"], 3);
    assert_eq!(ga["rolled_up"]["activities"]["by_status"]["completed"], 1);
    assert_eq!(ga["rolled_up"]["activities"]["by_status"]["cancelled"], 0);
    assert_eq!(ga["rolled_up"]["projects"]["total"], 1);
    assert_eq!(ga["rolled_up"]["fulfilment"]["largely_achieved"], 1);
    assert_eq!(ga["rolled_up"]["fulfilment"]["not_evaluated"], 3);
    assert_eq!(ga["rolled_up"]["fulfilment"]["achieved"], 0);

    // The CSV says the same.
    let (_, rows) = csv(&app, &path).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["goal_id"], a);
    assert_eq!(rows[0]["title"], "Område A");
    assert_eq!(rows[0]["rolled_up_goals"], "4");
    assert_eq!(rows[0]["rolled_up_activities_total"], "3");
    assert_eq!(rows[0]["rolled_up_activities_completed"], "1");
    assert_eq!(rows[0]["rolled_up_projects_implementation"], "1");
    assert_eq!(rows[0]["rolled_up_fulfilment_not_evaluated"], "3");
    assert_eq!(rows[1]["fulfilment"], "largely_achieved");
    assert_eq!(rows[1]["served_by"], s1);
    assert_eq!(rows[1]["activities_total"], "1");
    assert_eq!(rows[2]["parent_id"], a);
    for (row, g) in rows.iter().zip(goals) {
        for (k, v) in g["rolled_up"]["activities"]["by_status"]
            .as_object()
            .unwrap()
        {
            assert_eq!(row[&format!("rolled_up_activities_{k}")], v.to_string());
        }
    }

    // The action plan's own report shows S1 with its two activities.
    let r = json_of(
        &app,
        &format!("/v1/reports/goal-fulfilment?document={plan_id}"),
    )
    .await;
    assert_eq!(r["goals"][0]["goal_id"], s1.as_str());
    assert_eq!(r["goals"][0]["activities"]["total"], 2);
    // The shipped policy reports on its eight goals and five priority areas... none linked yet.
    let policy = app.policy().await;
    let r = json_of(
        &app,
        &format!("/v1/reports/goal-fulfilment?document={}", id(&policy)),
    )
    .await;
    assert!(r["goals"].as_array().unwrap().len() >= 10);

    readable_by_all(&app, &path).await;
    let r = app.get("/v1/reports/goal-fulfilment", "reader").await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["document".to_string()]);
    assert_problem(
        &app.get("/v1/reports/goal-fulfilment?document=nope", "reader")
            .await,
        404,
    );
}

pub async fn membership_reviews_due_on_a_date(app: TestApp) {
    let org = |name: &'static str| {
        let app = &app;
        async move {
            id(&app
                .post(
                    "/v1/organisations",
                    "officer",
                    json!({"name": name, "kind": "network"}),
                )
                .await
                .body)
        }
    };
    let (o1, o2, o3) = (
        org("Nätverk Ett").await,
        org("Nätverk, \"Två\"").await,
        org("Nätverk Tre").await,
    );
    let membership = |o: &String, start: &str, fee: Value| json!({"kind": "membership", "organisation_id": o, "start_date": start, "review_interval_months": 12, "annual_fee": fee});
    // Due 2026-01-01 (overdue on 2026-06-01), due 2026-06-01 (due), due 2026-07-01 (not yet).
    let m1 = app
        .post(
            "/v1/memberships",
            "board",
            membership(
                &o1,
                "2025-01-01",
                json!({"amount": "12500.00", "currency": "EUR"}),
            ),
        )
        .await;
    let m1 = id(&m1.body);
    let m2 = id(&app
        .post(
            "/v1/memberships",
            "board",
            membership(&o2, "2025-06-01", Value::Null),
        )
        .await
        .body);
    let m3 = id(&app
        .post(
            "/v1/memberships",
            "board",
            membership(&o3, "2025-07-01", Value::Null),
        )
        .await
        .body);
    // An ended membership is never due.
    let ended = id(&app
        .post(
            "/v1/memberships",
            "board",
            membership(&o3, "2020-01-01", Value::Null),
        )
        .await
        .body);
    app.post(
        &format!("/v1/memberships/{ended}/end"),
        "board",
        json!({"date": "2021-01-01", "reference": "RS § 1"}),
    )
    .await
    .expect(200);
    // m1 was evaluated in 2025-03 (approved), recommending change: next review 2026-03-01.
    let e = app
        .post(
            "/v1/evaluations",
            "officer",
            json!({"subject_type": "membership", "subject_id": m1, "goal_fulfilment": "partly_achieved", "recommendation": "change"}),
        )
        .await;
    let eid = id(&e.body);
    app.post(
        &format!("/v1/evaluations/{eid}/submit"),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/evaluations/{eid}/approve"),
        "board",
        json!({"date": "2025-03-01", "reference": "RS 2025-03-01 § 7"}),
    )
    .await
    .expect(200);

    let path = "/v1/reports/membership-reviews?as_of=2026-06-01";
    let r = json_of(&app, path).await;
    assert_eq!(r["as_of"], "2026-06-01");
    let all = r["items"].as_array().unwrap();
    // The shipped memberships, never evaluated under the policy, are the most overdue: a year
    // after the policy's decision that they rest on.
    assert_eq!(all.len(), 6, "{r}");
    for shipped in &all[..4] {
        assert_eq!(shipped["next_review_due"], "2019-06-21");
        assert_eq!(shipped["review_state"], "overdue");
    }
    let items = &all[4..];
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["membership_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [m1.as_str(), m2.as_str()], "{r}");
    assert_eq!(items[0]["next_review_due"], "2026-03-01");
    assert_eq!(items[0]["review_state"], "overdue");
    assert_eq!(items[0]["days_overdue"], 92);
    assert_eq!(
        items[0]["annual_fee"],
        json!({"amount": "12500.00", "currency": "EUR"})
    );
    assert_eq!(items[0]["last_evaluation"]["id"], eid.as_str());
    assert_eq!(items[0]["last_evaluation"]["recommendation"], "change");
    assert_eq!(items[0]["organisation_name"], "Nätverk Ett");
    assert_eq!(items[1]["review_state"], "due");
    assert_eq!(items[1]["days_overdue"], 0);
    assert_eq!(items[1]["last_evaluation"], Value::Null);
    // Looking 30 days ahead adds m3.
    let r = json_of(
        &app,
        "/v1/reports/membership-reviews?as_of=2026-06-01&within_days=30",
    )
    .await;
    let ids: Vec<&str> = r["items"].as_array().unwrap()[4..]
        .iter()
        .map(|i| i["membership_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [m1.as_str(), m2.as_str(), m3.as_str()]);
    assert_eq!(r["items"][6]["days_overdue"], -30);
    // Only representations: none of these, the two shipped ones.
    let r = json_of(
        &app,
        "/v1/reports/membership-reviews?as_of=2026-06-01&kind=representation",
    )
    .await;
    let kinds: Vec<&Value> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["kind"])
        .collect();
    assert_eq!(kinds, [&json!("representation"), &json!("representation")]);

    let (_, mut rows) = csv(&app, path).await;
    assert_eq!(rows.len(), 6);
    rows.drain(..4);
    assert_eq!(rows[0]["membership_id"], m1);
    assert_eq!(rows[0]["annual_fee"], "12500.00");
    assert_eq!(rows[0]["annual_fee_currency"], "EUR");
    assert_eq!(rows[0]["days_overdue"], "92");
    assert_eq!(rows[0]["last_evaluation_recommendation"], "change");
    assert_eq!(rows[0]["last_evaluation_decision_date"], "2025-03-01");
    assert_eq!(rows[1]["organisation_name"], "Nätverk, \"Två\"");
    assert_eq!(rows[1]["annual_fee"], "");

    readable_by_all(&app, path).await;
    for (q, field) in [
        ("as_of=2026-02-30", "as_of"),
        ("as_of=2500-01-01", "as_of"),
        ("as_of=tomorrow", "as_of"),
        ("within_days=-1", "within_days"),
        ("within_days=400", "within_days"),
        ("kind=club", "kind"),
        ("kind=", "kind"),
        ("as_of=", "as_of"),
    ] {
        let r = app
            .get(&format!("/v1/reports/membership-reviews?{q}"), "reader")
            .await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{q}");
    }
}

pub async fn project_portfolio_sums_exactly_per_currency(app: TestApp) {
    let policy = app.policy().await;
    let areas: Vec<String> = app
        .get(
            &format!("/v1/goals?document_id={}&kind=priority_area", id(&policy)),
            "reader",
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(areas.len(), 5);
    let programme = |name: &str| {
        let app = &app;
        let name = name.to_string();
        async move {
            let r = app
                .post("/v1/programmes", "officer", json!({"name": name}))
                .await;
            r.expect(201);
            id(&r.body)
        }
    };
    let aurora_id = programme("Interreg Aurora").await;
    let horizon_id = programme("Horizon Europe").await;
    let project = |title: &str,
                   programme: Value,
                   status: &str,
                   role: &str,
                   budget: Value,
                   eu: Value,
                   pa: Vec<&String>| {
        json!({"title": title, "programme_id": programme, "status": status, "region_role": role,
               "total_budget": budget, "eu_funding": eu, "priority_area_ids": pa})
    };
    let money = |a: &str, c: &str| json!({"amount": a, "currency": c});
    for body in [
        project(
            "P1",
            json!(aurora_id),
            "implementation",
            "lead_partner",
            money("1000000.10", "EUR"),
            money("650000.05", "EUR"),
            vec![&areas[0]],
        ),
        project(
            "P2",
            json!(aurora_id),
            "implementation",
            "partner",
            money("0.20", "EUR"),
            Value::Null,
            vec![&areas[0], &areas[1]],
        ),
        project(
            "P3",
            json!(aurora_id),
            "pipeline",
            "partner",
            money("500000.50", "SEK"),
            money("100.00", "EUR"),
            vec![],
        ),
        project(
            "P4",
            Value::Null,
            "closed",
            "partner",
            Value::Null,
            Value::Null,
            vec![],
        ),
    ] {
        app.post("/v1/projects", "officer", body).await.expect(201);
    }
    let gone = app
        .post(
            "/v1/projects",
            "officer",
            project(
                "P5",
                json!(horizon_id),
                "closed",
                "partner",
                money("99.00", "EUR"),
                Value::Null,
                vec![],
            ),
        )
        .await;
    app.delete(&format!("/v1/projects/{}", id(&gone.body)), "officer")
        .await
        .expect(204);

    let path = "/v1/reports/project-portfolio";
    let r = json_of(&app, path).await;
    assert_eq!(r["total"]["projects"], 4);
    assert_eq!(
        r["total"]["amounts"],
        json!([
            {"currency": "EUR", "total_budget": money("1000000.30", "EUR"), "eu_funding": money("650100.05", "EUR")},
            {"currency": "SEK", "total_budget": money("500000.50", "SEK"), "eu_funding": money("0.00", "SEK")}
        ])
    );
    let group = |dim: &str, key: Value| {
        r[dim]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("{dim} {key} in {r}"))
    };
    // By programme: its id, labelled with its name; a deleted project counts nowhere.
    let aurora = group("by_programme", json!(aurora_id));
    assert_eq!(aurora["projects"], 3);
    assert_eq!(aurora["label"], "Interreg Aurora");
    assert_eq!(
        aurora["amounts"][0]["total_budget"],
        money("1000000.30", "EUR")
    );
    let none = group("by_programme", Value::Null);
    assert_eq!(none["projects"], 1);
    assert_eq!(none["amounts"], json!([]));
    assert!(r["by_programme"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["key"] != json!(horizon_id)));
    let impl_ = group("by_status", json!("implementation"));
    assert_eq!(impl_["projects"], 2);
    assert_eq!(impl_["amounts"][0]["eu_funding"], money("650000.05", "EUR"));
    let lead = group("by_region_role", json!("lead_partner"));
    assert_eq!(lead["projects"], 1);
    // Priority areas: P2 counts in both of its areas; the label is the area's title.
    let first = group("by_priority_area", json!(areas[0]));
    assert_eq!(first["projects"], 2);
    assert!(first["label"].is_string());
    assert_eq!(
        first["amounts"][0]["total_budget"],
        money("1000000.30", "EUR")
    );
    assert_eq!(group("by_priority_area", json!(areas[1]))["projects"], 1);
    assert_eq!(group("by_priority_area", Value::Null)["projects"], 2);

    let (_, rows) = csv(&app, path).await;
    let find = |dim: &str, key: &str, cur: &str| {
        rows.iter()
            .find(|r| r["dimension"] == dim && r["key"] == key && r["currency"] == cur)
            .unwrap_or_else(|| panic!("{dim} {key} {cur}"))
            .clone()
    };
    assert_eq!(find("total", "", "EUR")["total_budget"], "1000000.30");
    assert_eq!(find("total", "", "EUR")["eu_funding"], "650100.05");
    assert_eq!(find("total", "", "SEK")["total_budget"], "500000.50");
    assert_eq!(find("programme", &aurora_id, "EUR")["projects"], "3");
    assert_eq!(
        find("programme", &aurora_id, "EUR")["label"],
        "Interreg Aurora"
    );
    assert_eq!(find("programme", "", "")["projects"], "1");
    assert_eq!(
        find("priority_area", &areas[0], "EUR")["label"],
        first["label"].as_str().unwrap()
    );
    assert_eq!(
        find("status", "implementation", "EUR")["eu_funding"],
        "650000.05"
    );

    readable_by_all(&app, path).await;
}

pub async fn representatives_and_their_report_backs(app: TestApp) {
    let org = id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Interreg Aurora övervakningskommitté", "kind": "programme_body"}),
        )
        .await
        .body);
    let rep = |who: &str| {
        json!({"kind": "representation", "organisation_id": org, "representative": who,
               "mandate": "=Företräda regionen i kommittén", "role": "delegate"})
    };
    let quiet = id(&app
        .post("/v1/memberships", "board", rep("Ledamot Tyst"))
        .await
        .body);
    let active = id(&app
        .post("/v1/memberships", "board", rep("Ledamot Aktiv"))
        .await
        .body);
    for (m, date) in [
        (&active, "2026-01-10"),
        (&active, "2026-09-15"),
        (&quiet, "2025-02-01"),
    ] {
        app.post(
            &format!("/v1/memberships/{m}/report-backs"),
            "officer",
            json!({"date": date, "meeting": "Kommittémöte", "summary": "Återrapport.", "reported_to": "board"}),
        )
        .await
        .expect(201);
    }
    let r = json_of(&app, "/v1/reports/representatives?as_of=2026-11-28").await;
    let items = r["items"].as_array().unwrap();
    let line = |mid: &str| {
        items
            .iter()
            .find(|i| i["membership_id"] == mid)
            .cloned()
            .unwrap()
    };
    // The two shipped representations have never reported back.
    assert_eq!(items.len(), 4);
    let a = line(&active);
    assert_eq!(a["latest_report_back"]["date"], "2026-09-15");
    assert_eq!(a["months_since_report_back"], 2);
    assert_eq!(a["overdue"], false);
    assert_eq!(a["mandate"], "=Företräda regionen i kommittén");
    assert_eq!(line(&quiet)["months_since_report_back"], 21);

    // Silent for more than six months: the quiet one and the two shipped ones.
    let path = "/v1/reports/representatives?as_of=2026-11-28&no_report_back_months=6";
    let r = json_of(&app, path).await;
    let ids: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["membership_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&quiet.as_str()) && !ids.contains(&active.as_str()));
    assert!(r["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["overdue"] == true));
    // As of an earlier date, later report-backs do not count yet.
    let r = json_of(&app, "/v1/reports/representatives?as_of=2026-02-01").await;
    let a = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["membership_id"] == active.as_str())
        .cloned()
        .unwrap();
    assert_eq!(a["latest_report_back"]["date"], "2026-01-10");

    let (_, rows) = csv(&app, path).await;
    assert_eq!(rows.len(), 3);
    let q = rows.iter().find(|r| r["membership_id"] == quiet).unwrap();
    assert_eq!(q["latest_report_back_date"], "2025-02-01");
    assert_eq!(q["months_since_report_back"], "21");
    assert_eq!(q["overdue"], "true");
    // A mandate that a spreadsheet would run as a formula is defused in CSV only.
    assert_eq!(q["mandate"], "'=Företräda regionen i kommittén");
    let shipped = rows.iter().find(|r| r["membership_id"] != quiet).unwrap();
    assert_eq!(shipped["latest_report_back_date"], "");
    assert_eq!(shipped["months_since_report_back"], "");

    readable_by_all(&app, path).await;
    for (q, field) in [
        ("no_report_back_months=0", "no_report_back_months"),
        ("no_report_back_months=six", "no_report_back_months"),
        ("as_of=2026-11-31", "as_of"),
    ] {
        let r = app
            .get(&format!("/v1/reports/representatives?{q}"), "reader")
            .await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{q}");
    }
}

/// Ten bulk upserts of 1000 projects, each with the largest budget and EU funding the API
/// accepts: the sums pass 64 bits and still come out exact, in JSON and in CSV.
pub async fn project_portfolio_sums_the_largest_amounts_exactly(app: TestApp) {
    let max = "9999999999999.99";
    app.send(
        app.request(
            Method::PUT,
            "/v1/programmes/by-external-id/cci/2021TC16RFTN001",
            Some("integrator"),
        )
        .json(&json!({"name": "Interreg Aurora", "fund": "erdf", "period": "2021-2027"})),
    )
    .await
    .expect(201);
    for batch in 0..10 {
        let items: Vec<Value> = (0..1000)
            .map(|i| {
                json!({"external_id": {"scheme": "jems", "value": format!("MAX-{batch}-{i}")},
                       "record": {"title": format!("Största {batch}-{i}"), "region_role": "partner",
                                  "status": "implementation",
                                  "programme_external_id": {"scheme": "cci", "value": "2021TC16RFTN001"},
                                  "total_budget": {"amount": max, "currency": "EUR"},
                                  "eu_funding": {"amount": max, "currency": "EUR"}}})
            })
            .collect();
        let r = app
            .send(
                app.request(Method::POST, "/v1/projects/bulk-upsert", Some("integrator"))
                    .json(&json!({"items": items})),
            )
            .await;
        assert_eq!(r.status, 207, "{}", r.text);
        assert!(
            r.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["result"] == "created"),
            "{}",
            r.text
        );
    }
    // 10 000 x 9 999 999 999 999.99
    let sum = "99999999999999900.00";
    let r = json_of(&app, "/v1/reports/project-portfolio").await;
    assert_eq!(r["total"]["projects"], 10_000);
    let eur = json!([{"currency": "EUR", "total_budget": {"amount": sum, "currency": "EUR"},
                      "eu_funding": {"amount": sum, "currency": "EUR"}}]);
    assert_eq!(r["total"]["amounts"], eur);
    for dim in [
        "by_programme",
        "by_status",
        "by_region_role",
        "by_priority_area",
    ] {
        assert_eq!(r[dim][0]["amounts"], eur, "{dim}");
    }
    let (_, rows) = csv(&app, "/v1/reports/project-portfolio").await;
    for row in &rows {
        assert_eq!(row["total_budget"], sum);
        assert_eq!(row["eu_funding"], sum);
    }
}

/// Every text cell is quoted, and a formula trigger is defused wherever a spreadsheet could
/// start a cell: after a comma, a semicolon (Swedish Excel) or a tab inside the text as well.
pub async fn csv_text_is_quoted_and_defused_after_every_delimiter(app: TestApp) {
    for name in ["x;=1+2;y", "a,@SUM(1)", "b; -1;-2+3"] {
        let programme = app
            .post("/v1/programmes", "officer", json!({"name": name}))
            .await;
        programme.expect(201);
        app.post(
            "/v1/projects",
            "officer",
            json!({"title": name, "region_role": "partner", "programme_id": id(&programme.body),
                   "total_budget": {"amount": "10.50", "currency": "EUR"}}),
        )
        .await
        .expect(201);
    }
    let (r, rows) = csv(&app, "/v1/reports/project-portfolio").await;
    for cell in [
        "\",\"x;'=1+2;y\",1,\"EUR\",10.50,0.00\r\n",
        "\",\"a,'@SUM(1)\",1,",
        "\",\"b; -1;'-2+3\",1,",
        "\"total\",\"\",\"\",3,\"EUR\",31.50,0.00\r\n",
    ] {
        assert!(r.text.contains(cell), "{cell:?} in {}", r.text);
    }
    assert!(r.text.starts_with("\"dimension\",\"key\","), "{}", r.text);
    assert!(rows.iter().any(|r| r["label"] == "x;'=1+2;y"));
}
