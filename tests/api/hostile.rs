//! Hostile input on every write endpoint: each gets a clear 4xx problem, nothing is
//! half-written, and the server goes on serving.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

/// Every write operation, with a concrete path and a valid body to twist.
async fn write_operations(app: &TestApp) -> Vec<(Method, String, &'static str, Value)> {
    let policy = id(&app.policy().await);
    let draft = id(&app.draft("action_plan", "Plan").await);
    let proposed = app.draft("programme", "Program").await;
    app.post(
        &format!("/v1/documents/{}/propose", id(&proposed)),
        "officer",
        json!({}),
    )
    .await
    .expect(200);
    let proposed = id(&proposed);
    let goal = id(&app.goal(&draft, None, "sub_goal", "Delmål").await);
    let org = id(&app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": "Org", "kind": "ngo"}),
        )
        .await
        .body);
    let programme_body = json!({"name": "Program", "fund": "erdf", "period": "2021-2027",
        "priorities": [{"code": "1", "name": "P", "specific_objectives": [{"code": "RSO1.1", "name": "O"}]}]});
    let programme = id(&app
        .post("/v1/programmes", "board", programme_body.clone())
        .await
        .body);
    let contact_body = json!({"date": "2026-10-14", "kind": "visit", "title": "Besök",
        "organisation_id": org, "country": "NO", "participants": ["ordförande"], "purpose": "P"});
    let contact = id(&app
        .post("/v1/official-contacts", "board", contact_body.clone())
        .await
        .body);
    let position_body = json!({"title": "Hållning", "text": "Text.",
        "decision": {"body": "board", "date": "2026-11-03", "reference": "RS § 1"}});
    let position = id(&app
        .post("/v1/positions", "board", position_body.clone())
        .await
        .body);
    let activity = id(&app
        .post(
            "/v1/activities",
            "board",
            json!({"document_id": draft, "kind": "eu_advocacy", "title": "A"}),
        )
        .await
        .body);
    let project = id(&app
        .post(
            "/v1/projects",
            "board",
            json!({"title": "P", "region_role": "partner"}),
        )
        .await
        .body);
    let membership = id(&app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "representation", "organisation_id": org}),
        )
        .await
        .body);
    let rb = id(&app
        .post(
            &format!("/v1/memberships/{membership}/report-backs"),
            "board",
            json!({"date": "2026-01-01", "meeting": "M", "summary": "S", "reported_to": "board"}),
        )
        .await
        .body);
    let evaluation = id(&app
        .post(
            "/v1/evaluations",
            "board",
            json!({"subject_type": "document", "subject_id": policy}),
        )
        .await
        .body);
    let evaluation2 = id(&app
        .post(
            "/v1/evaluations",
            "board",
            json!({"subject_type": "document", "subject_id": policy}),
        )
        .await
        .body);
    app.post(
        &format!("/v1/evaluations/{evaluation2}/submit"),
        "board",
        json!({}),
    )
    .await
    .expect(200);
    let adopted = id(&app.adopted("guideline", "Riktlinje").await);
    let doc = json!({"kind": "programme", "title": "T", "year": 2027, "description": "D"});
    let org_body = json!({"name": "N", "kind": "ngo", "country": "SE", "external_ids": [{"scheme": "keep", "value": "v"}]});
    let project_body = json!({"title": "T", "region_role": "partner", "cofinancing_rate": "50", "total_budget": {"amount": "1.00", "currency": "EUR"}, "nuts_codes": ["SE321"]});
    let decision = json!({"date": "2026-01-01", "reference": "R"});
    let p = Method::POST;
    vec![
        (p.clone(), "/v1/documents".into(), "officer", doc.clone()),
        (
            Method::PATCH,
            format!("/v1/documents/{draft}"),
            "officer",
            json!({"title": "T", "year": 2028}),
        ),
        (
            p.clone(),
            format!("/v1/documents/{draft}/propose"),
            "officer",
            json!({}),
        ),
        (
            p.clone(),
            format!("/v1/documents/{proposed}/adopt"),
            "board",
            decision.clone(),
        ),
        (
            p.clone(),
            format!("/v1/documents/{adopted}/revisions"),
            "officer",
            json!({}),
        ),
        (
            p.clone(),
            format!("/v1/documents/{draft}/next-year"),
            "officer",
            json!({"year": 2031, "title": "Handlingsplan 2031"}),
        ),
        (
            p.clone(),
            "/v1/goals".into(),
            "officer",
            json!({"document_id": draft, "kind": "goal", "title": "T", "position": 1}),
        ),
        (
            Method::PATCH,
            format!("/v1/goals/{goal}"),
            "officer",
            json!({"title": "T", "position": 2}),
        ),
        (
            p.clone(),
            "/v1/organisations".into(),
            "officer",
            org_body.clone(),
        ),
        (
            Method::PATCH,
            format!("/v1/organisations/{org}"),
            "officer",
            json!({"name": "N"}),
        ),
        (
            Method::PUT,
            "/v1/organisations/by-external-id/keep/x1".into(),
            "integrator",
            org_body.clone(),
        ),
        (
            p.clone(),
            "/v1/programmes".into(),
            "officer",
            programme_body.clone(),
        ),
        (
            Method::PATCH,
            format!("/v1/programmes/{programme}"),
            "officer",
            json!({"name": "N", "managing_authority": "M"}),
        ),
        (
            Method::PUT,
            "/v1/programmes/by-external-id/cci/2021TC16RFTN009".into(),
            "integrator",
            programme_body.clone(),
        ),
        (
            p.clone(),
            "/v1/programmes/bulk-upsert".into(),
            "integrator",
            json!({"items": [{"external_id": {"scheme": "cci", "value": "2021SE16RFPR001"}, "record": {"name": "N"}}]}),
        ),
        (
            p.clone(),
            "/v1/official-contacts".into(),
            "officer",
            contact_body.clone(),
        ),
        (
            Method::PATCH,
            format!("/v1/official-contacts/{contact}"),
            "officer",
            json!({"title": "N", "participants": ["ordförande"], "follow_up": "F"}),
        ),
        (
            p.clone(),
            "/v1/positions".into(),
            "board",
            position_body.clone(),
        ),
        (
            Method::PATCH,
            format!("/v1/positions/{position}"),
            "board",
            json!({"title": "N", "text": "T"}),
        ),
        (
            p.clone(),
            "/v1/activities".into(),
            "officer",
            json!({"document_id": draft, "kind": "eu_advocacy", "title": "T", "prioritised": true}),
        ),
        (
            Method::PATCH,
            format!("/v1/activities/{activity}"),
            "officer",
            json!({"title": "T"}),
        ),
        (
            p.clone(),
            "/v1/projects".into(),
            "officer",
            project_body.clone(),
        ),
        (
            Method::PATCH,
            format!("/v1/projects/{project}"),
            "officer",
            json!({"title": "T"}),
        ),
        (
            Method::PUT,
            "/v1/projects/by-external-id/jems/x1".into(),
            "integrator",
            project_body.clone(),
        ),
        (
            p.clone(),
            "/v1/memberships".into(),
            "board",
            json!({"kind": "membership", "organisation_id": org, "review_interval_months": 12}),
        ),
        (
            Method::PATCH,
            format!("/v1/memberships/{membership}"),
            "board",
            json!({"mandate": "M", "review_interval_months": 6}),
        ),
        (
            p.clone(),
            format!("/v1/memberships/{membership}/end"),
            "board",
            decision.clone(),
        ),
        (
            p.clone(),
            format!("/v1/memberships/{membership}/report-backs"),
            "officer",
            json!({"date": "2026-01-02", "meeting": "M", "summary": "S", "reported_to": "board"}),
        ),
        (
            Method::PATCH,
            format!("/v1/memberships/{membership}/report-backs/{rb}"),
            "officer",
            json!({"summary": "S"}),
        ),
        (
            p.clone(),
            "/v1/evaluations".into(),
            "officer",
            json!({"subject_type": "document", "subject_id": policy, "efficiency": 3}),
        ),
        (
            Method::PATCH,
            format!("/v1/evaluations/{evaluation}"),
            "officer",
            json!({"efficiency": 2, "findings": "F"}),
        ),
        (
            p.clone(),
            format!("/v1/evaluations/{evaluation}/submit"),
            "officer",
            json!({}),
        ),
        (
            p.clone(),
            format!("/v1/evaluations/{evaluation2}/send-back"),
            "board",
            json!({}),
        ),
        (
            p.clone(),
            format!("/v1/evaluations/{evaluation2}/approve"),
            "board",
            decision.clone(),
        ),
        (
            p.clone(),
            "/v1/organisations/bulk-upsert".into(),
            "integrator",
            json!({"items": [{"external_id": {"scheme": "keep", "value": "h1"}, "record": {"name": "N", "kind": "ngo"}}]}),
        ),
        (
            p.clone(),
            "/v1/projects/bulk-upsert".into(),
            "integrator",
            json!({"items": [{"external_id": {"scheme": "jems", "value": "h1"},
                "record": {"title": "T", "region_role": "partner", "cofinancing_rate": "50"}}]}),
        ),
    ]
}

/// The body with every string replaced by `f(string)` and every number by `number`.
fn twist(v: &Value, f: &dyn Fn(&str) -> String, number: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Number(_) => number.clone(),
        Value::Array(a) => Value::Array(a.iter().map(|x| twist(x, f, number)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), twist(x, f, number)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub async fn every_write_endpoint_refuses_hostile_bodies(app: TestApp) {
    let ops = write_operations(&app).await;
    // The list covers every write operation of the spec.
    let spec = app
        .send(app.request(Method::GET, "/openapi.json", None))
        .await
        .body;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["post", "patch", "put"] {
            if item.get(method).is_some() {
                let covered = ops.iter().any(|(m, p, _, _)| {
                    m.as_str().eq_ignore_ascii_case(method)
                        && p.split('/').count() == path.split('/').count()
                        && p.split('/')
                            .zip(path.split('/'))
                            .all(|(a, b)| b.starts_with('{') || a == b)
                });
                assert!(
                    covered,
                    "{method} {path} is not exercised with hostile input"
                );
            }
        }
    }
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
    for (method, path, role, valid) in ops {
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let valid_text = valid.to_string();
        let mut bodies: Vec<(&str, Vec<u8>)> = vec![
            (
                "over 1 MiB",
                format!("{{\"title\": \"{}\"}}", "x".repeat(1024 * 1024 + 1)).into_bytes(),
            ),
            ("deeply nested array", deep.clone().into_bytes()),
            ("deeply nested object", deep_object.clone().into_bytes()),
            (
                "invalid UTF-8",
                [b"{\"title\": \"".as_slice(), &[0xc3, 0x28, 0xff], b"\"}"].concat(),
            ),
            (
                "raw NUL byte",
                [b"{\"title\": \"a".as_slice(), &[0], b"\"}"].concat(),
            ),
            (
                "duplicate keys",
                format!(
                    "{{\"title\": \"a\", \"title\": \"b\"{}}}",
                    if valid_text.len() > 2 {
                        format!(", {}", &valid_text[1..valid_text.len() - 1])
                    } else {
                        String::new()
                    }
                )
                .into_bytes(),
            ),
            (
                "number out of range",
                valid_text
                    .replace("12", "1e400")
                    .replace("2027", "1e400")
                    .into_bytes(),
            ),
            ("not an object", b"[\"a\"]".to_vec()),
            (
                "unknown field",
                json!({"no_such_field": 1}).to_string().into_bytes(),
            ),
        ];
        if valid.as_object().is_some_and(|o| !o.is_empty()) {
            bodies.push((
                "NUL in strings",
                twist(&valid, &|s| format!("{s}\u{0000}"), &json!(1))
                    .to_string()
                    .into_bytes(),
            ));
            bodies.push((
                "100 000-character strings",
                twist(&valid, &|_| "å".repeat(100_000), &json!(1))
                    .to_string()
                    .into_bytes(),
            ));
            bodies.push((
                "huge numbers",
                twist(
                    &valid,
                    &|s| s.to_string(),
                    &json!(99_999_999_999_999_999u64),
                )
                .to_string()
                .into_bytes(),
            ));
            bodies.push((
                "negative numbers",
                twist(&valid, &|s| s.to_string(), &json!(-1))
                    .to_string()
                    .into_bytes(),
            ));
        }
        for (what, body) in bodies {
            if body == valid_text.as_bytes() {
                continue; // the twist changed nothing (no numbers to twist)
            }
            let before = app.snapshot();
            let r = app
                .send(
                    app.request(method.clone(), &path, Some(role))
                        .header("content-type", content_type)
                        .body(body),
                )
                .await;
            if r.status == 207 {
                // A bulk upsert refuses bad items inside its 207, one by one.
                let results = r.body["results"].as_array().unwrap();
                assert!(
                    results.iter().all(|x| x["result"] == "failed"
                        && x["problem"]["status"]
                            .as_u64()
                            .is_some_and(|s| (400..500).contains(&s))),
                    "{path} with {what}: {}",
                    &r.text[..r.text.len().min(300)]
                );
            } else {
                assert!(
                    r.status.is_client_error(),
                    "{method} {path} with {what}: {} {}",
                    r.status,
                    &r.text[..r.text.len().min(300)]
                );
                r.expect(r.status.as_u16());
            }
            assert_eq!(
                app.snapshot(),
                before,
                "{method} {path} with {what} changed the database"
            );
        }
        // Still serving.
        let r = app.send(app.request(Method::GET, "/healthz", None)).await;
        assert_eq!(r.status, 200);
    }
}

pub async fn metacharacters_round_trip_on_every_resource(app: TestApp) {
    let nasty = "Robert'); DROP TABLE projects;-- <img src=x onerror=alert(1)> \"å\" \\ % _ § ♥";
    let org = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": nasty, "kind": "ngo"}),
        )
        .await;
    org.expect(201);
    assert_eq!(
        app.get(&format!("/v1/organisations/{}", id(&org.body)), "reader")
            .await
            .body["name"],
        nasty
    );
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": nasty, "region_role": "partner", "description": nasty}),
        )
        .await;
    p.expect(201);
    let got = app
        .get(&format!("/v1/projects/{}", id(&p.body)), "reader")
        .await
        .body;
    assert_eq!(
        (got["title"].as_str(), got["description"].as_str()),
        (Some(nasty), Some(nasty))
    );
    // Metacharacters in filters are values, never SQL.
    let r = app
        .get(
            "/v1/projects?programme_id=x%27%20OR%20%271%27%3D%271",
            "reader",
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    // NUL in a path names nothing (404); in a filter it is an invalid value naming the
    // parameter (422); never a database error.
    app.get("/v1/projects/abc%00def", "reader")
        .await
        .expect(404);
    let r = app
        .get("/v1/projects?limit=5&programme_id=a%00b", "reader")
        .await;
    r.expect(422);
    assert_eq!(r.body["errors"][0]["field"], "programme_id", "{}", r.body);
    let r = app
        .get(
            "/v1/reports/goal-fulfilment?document=%C3%BB%00%11",
            "reader",
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["errors"][0]["field"], "document", "{}", r.body);
}

/// Control characters are refused with a 422 naming the field: in one-line fields (titles,
/// names, external ids) all of them, in running text (descriptions, ...) all but tab and line
/// breaks; external ids refuse bidirectional controls too. Nothing is written.
pub async fn control_characters_are_refused_naming_the_field(app: TestApp) {
    let before = app.snapshot();
    for (path, body, field) in [
        (
            "/v1/projects",
            json!({"title": "Ett\u{7}", "region_role": "partner"}),
            "title",
        ),
        (
            "/v1/projects",
            json!({"title": "Rad\nbrytning", "region_role": "partner"}),
            "title",
        ),
        (
            "/v1/projects",
            json!({"title": "Ett", "region_role": "partner", "call": "a\tb"}),
            "call",
        ),
        (
            "/v1/projects",
            json!({"title": "Ett", "region_role": "partner", "description": "a\u{1b}[31m"}),
            "description",
        ),
        (
            "/v1/projects",
            json!({"title": "Ett", "region_role": "partner", "description": "a\u{0}"}),
            "description",
        ),
        (
            "/v1/organisations",
            json!({"name": "Org\u{85}", "kind": "ngo"}),
            "name",
        ),
        (
            "/v1/organisations",
            json!({"name": "Org", "kind": "ngo",
            "external_ids": [{"scheme": "jems", "value": "A\u{202E}1-B"}]}),
            "external_ids[0].value",
        ),
        (
            "/v1/organisations",
            json!({"name": "Org", "kind": "ngo",
            "external_ids": [{"scheme": "jems", "value": "A\u{1}"}]}),
            "external_ids[0].value",
        ),
    ] {
        let r = app.post(path, "officer", body.clone()).await;
        r.expect(422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{body}");
    }
    let r = app
        .send(
            app.request(
                Method::PUT,
                "/v1/projects/by-external-id/jems/A%E2%80%AE1",
                Some("integrator"),
            )
            .json(&json!({"title": "Ett", "region_role": "partner"})),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["value".to_string()]);
    assert_eq!(app.snapshot(), before, "a refused request wrote something");
    // Running text keeps its tabs and line breaks.
    let text = "Första raden\r\nAndra\traden\n";
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Flerradig", "region_role": "partner", "description": text}),
        )
        .await;
    p.expect(201);
    assert_eq!(p.body["description"], text);
}
