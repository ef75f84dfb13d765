//! The 2018 policy ships with every new database, once.

use serde_json::Value;

use crate::helpers::{id, spawn, TestApp};

pub async fn policy_2018_is_loaded_once(app: TestApp) {
    let all = app.get("/v1/documents", "reader").await;
    let docs = all.body["items"].as_array().unwrap();
    assert_eq!(docs.len(), 1);
    let p = &docs[0];
    assert_eq!(p["kind"], "policy");
    assert_eq!(p["title"], "Internationell policy");
    assert_eq!(p["status"], "adopted");
    assert_eq!(p["document_number"], "320944");
    assert_eq!(p["document_version"], 1);
    assert_eq!(p["valid_from"], "2018-06-21");
    assert_eq!(p["applies_to"], "Regiongemensamt");
    assert_eq!(p["case_officer"], "Ilona Novak (ink001)");
    assert_eq!(p["reviewer"], "Helena Andersson (uan002)");
    assert_eq!(p["process_owner"], "Märta Molin (mmn032)");
    assert_eq!(
        p["decision"],
        serde_json::json!({"body": "council", "date": "2018-06-21", "reference": "RF 2018-06-21 § 135"})
    );

    let goals = app
        .get(
            &format!("/v1/goals?document_id={}&limit=500", id(p)),
            "reader",
        )
        .await;
    let goals = goals.body["items"].as_array().unwrap().clone();
    let of_kind = |k: &str| {
        goals
            .iter()
            .filter(|g| g["kind"] == k)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let areas = of_kind("goal_area");
    let area_titles: Vec<&str> = areas.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(
        area_titles,
        vec![
            "Ge länet Västernorrland goda förutsättningar för hållbar utveckling",
            "Utveckla organisationen Region Västernorrlands verksamhet",
            "Gynna invånarna i Västernorrland",
        ]
    );
    let children = |a: &Value| goals.iter().filter(|g| g["parent_id"] == a["id"]).count();
    assert_eq!(
        areas.iter().map(children).collect::<Vec<_>>(),
        vec![3, 2, 2]
    );
    assert!(goals.iter().any(|g| g["title"]
        == "bevaka och hävda länets och Region Västernorrlands intressen inom EU-politiken."));
    assert!(goals
        .iter()
        .any(|g| g["title"] == "stimulera internationellt kulturutbyte"));
    assert!(goals.iter().any(|g| g["title"]
        .as_str()
        .unwrap()
        .ends_with("kultur samt kompetensförsörjning är särskilt prioriterade")));
    let priority_goals = of_kind("priority_area");
    let priority: Vec<&str> = priority_goals
        .iter()
        .map(|g| g["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        priority,
        vec![
            "Infrastruktur och hållbara transporter",
            "Forskning och innovation",
            "Miljö och energi",
            "Kultur",
            "Kompetensförsörjning"
        ]
    );
    assert_eq!(goals.len(), 15);

    // The bodies the policy names, as memberships and representations, with nothing invented.
    let orgs = app.get("/v1/organisations", "reader").await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = orgs.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "Mid Sweden European Office",
            "Europaforum Norra Sverige",
            "Regionala strukturfondspartnerskapet",
            "Interreg-program"
        ]
    );
    let ms = app.get("/v1/memberships", "reader").await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(ms.len(), 4);
    let kinds: Vec<&str> = ms.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "membership",
            "membership",
            "representation",
            "representation"
        ]
    );
    // Each rests on the council's decision that names it, the policy's, and none was ever
    // evaluated under the policy: each is due for review from the start.
    let today = chrono::Utc::now().date_naive().to_string();
    for m in &ms {
        assert_eq!(m["status"], "active");
        assert_eq!(
            m["decision"],
            serde_json::json!({"body": "council", "date": "2018-06-21", "reference": "RF 2018-06-21 § 135"})
        );
        assert_eq!(m["last_reviewed_on"], Value::Null);
        assert!(
            m["next_review_due"].as_str().unwrap() <= today.as_str(),
            "not due: {m}"
        );
        for empty in ["start_date", "end_date", "annual_fee", "representative"] {
            assert_eq!(m[empty], Value::Null, "{empty} was invented: {m}");
        }
    }
    let due = app.get("/v1/reports/membership-reviews", "reader").await;
    due.expect(200);
    let due = due.body["items"].as_array().unwrap();
    assert_eq!(due.len(), 4, "{due:?}");
    assert!(
        due.iter().all(|d| d["review_state"] == "overdue"),
        "{due:?}"
    );
    // The officers' edits of descriptive fields still work on them, and the board's decision
    // on them stays the council's until the board decides anew.
    let first = ms[0]["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/v1/memberships/{first}"),
            "officer",
            serde_json::json!({"role": "delegate"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["decision"]["body"], "council");
    app.patch(
        &format!("/v1/memberships/{first}"),
        "officer",
        serde_json::json!({"review_interval_months": 24}),
    )
    .await
    .expect(403);

    // A restart on the same database loads nothing again.
    let before = app.snapshot();
    let again = spawn(app.db.clone(), &[]).await;
    let docs = again.get("/v1/documents", "reader").await;
    assert_eq!(docs.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.counts(), before.0);
    again.handle.stop(true).await;
}
