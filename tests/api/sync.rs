//! Integrators' sync: an upsert by external id writes the source-owned fields and keeps the
//! region's (links, description, notes, responsible unit, external ids of other schemes); an
//! older `source_updated_at` changes nothing; an officer's edit of a source-owned field on a
//! synced record is answered with `Sync-Overwrites`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

const PATH: &str = "/v1/projects/by-external-id/kohesio/SE-2023-777";

async fn put(app: &TestApp, path: &str, body: &Value) -> crate::helpers::Resp {
    app.send(
        app.request(Method::PUT, path, Some("integrator"))
            .json(body),
    )
    .await
}

async fn bulk(app: &TestApp, path: &str, items: Value) -> crate::helpers::Resp {
    let r = app
        .send(
            app.request(Method::POST, path, Some("integrator"))
                .json(&json!({"items": items})),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    r
}

fn source(title: &str, at: &str) -> Value {
    json!({"title": title, "acronym": "H2MN", "region_role": "partner",
           "call": "Call 2", "total_budget": {"amount": "1000000", "currency": "EUR"},
           "nuts_codes": ["SE321"], "source_updated_at": at,
           // What a source may send that is not its own: kept once the region has its own.
           "description": "Från källan", "goal_ids": [], "priority_area_ids": [],
           "external_ids": [{"scheme": "kohesio", "value": "SE-2023-777"}]})
}

/// The region's work on a synced project, done by an officer.
fn regions_work(goals: &[String], areas: &[String]) -> Value {
    json!({"goal_ids": [goals[0]], "priority_area_ids": [areas[0]],
           "description": "Regionens beskrivning", "responsible_unit": "Regional utveckling",
           "notes": "Status: väntar på beslut om medfinansiering",
           "external_ids": [{"scheme": "kohesio", "value": "SE-2023-777"},
                            {"scheme": "diarie", "value": "RS-2024-1"}]})
}

const REGION_FIELDS: &[&str] = &[
    "goal_ids",
    "priority_area_ids",
    "description",
    "responsible_unit",
    "notes",
];

pub async fn nightly_resend_keeps_the_regions_work(app: TestApp) {
    let (goals, areas) = crate::activities::policy_goals(&app).await;
    let created = put(&app, PATH, &source("Grön vätgas", "2026-11-01T02:00:00Z")).await;
    created.expect(201);
    let path = format!("/v1/projects/{}", id(&created.body));
    let edited = app
        .patch(&path, "officer", regions_work(&goals, &areas))
        .await;
    edited.expect(200);
    assert!(
        edited.header("sync-overwrites").is_none(),
        "{:?}",
        edited.headers
    );

    // The next night's resend of the same source record: unchanged, nothing written.
    let before = app.snapshot();
    let r = put(&app, PATH, &source("Grön vätgas", "2026-11-01T02:00:00Z")).await;
    r.expect(200);
    assert_eq!(r.body, edited.body, "the resend wrote nothing");
    assert_eq!(app.snapshot(), before);
    let r = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([{"external_id": {"scheme": "kohesio", "value": "SE-2023-777"},
                "record": source("Grön vätgas", "2026-11-01T02:00:00Z")}]),
    )
    .await;
    assert_eq!(r.body["results"][0]["result"], "unchanged", "{}", r.text);
    assert_eq!(app.snapshot(), before);

    // The source changed: its fields are written, the region's stay exactly as they are.
    let r = put(
        &app,
        PATH,
        &source("Grön vätgas i Mittnorden", "2026-11-02T02:00:00Z"),
    )
    .await;
    r.expect(200);
    assert_eq!(r.body["title"], "Grön vätgas i Mittnorden");
    assert_eq!(r.body["source_updated_at"], "2026-11-02T02:00:00Z");
    assert_eq!(
        r.body["version"],
        edited.body["version"].as_i64().unwrap() + 1
    );
    for f in REGION_FIELDS {
        assert_eq!(r.body[f], edited.body[f], "{f}");
    }
    assert_eq!(r.body["external_ids"], edited.body["external_ids"]);
    let r = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([{"external_id": {"scheme": "kohesio", "value": "SE-2023-777"},
                "record": source("Grön vätgas, fas 2", "2026-11-03T02:00:00Z")}]),
    )
    .await;
    assert_eq!(r.body["results"][0]["result"], "updated", "{}", r.text);
    let now = app.get(&path, "reader").await;
    assert_eq!(now.body["title"], "Grön vätgas, fas 2");
    for f in REGION_FIELDS {
        assert_eq!(now.body[f], edited.body[f], "{f}");
    }
    // The officer's external id was never freed: no other project can take it.
    let other = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Annat", "region_role": "partner",
                   "external_ids": [{"scheme": "diarie", "value": "RS-2024-1"}]}),
        )
        .await;
    other.expect(422);

    // Organisations likewise: the region's notes and other ids stay.
    let org_path = "/v1/organisations/by-external-id/kohesio/ORG-1";
    let org = json!({"name": "Interreg Aurora", "kind": "programme_body", "country": "SE",
                     "source_updated_at": "2026-11-01T02:00:00Z"});
    let o = put(&app, org_path, &org).await;
    o.expect(201);
    let o_path = format!("/v1/organisations/{}", id(&o.body));
    let noted = app
        .patch(
            &o_path,
            "officer",
            json!({"notes": "Kontakt via sekretariatet",
                   "external_ids": [{"scheme": "kohesio", "value": "ORG-1"}, {"scheme": "orgnr", "value": "202100-1"}]}),
        )
        .await;
    noted.expect(200);
    let mut changed = org.clone();
    changed["name"] = json!("Interreg Aurora 2021-2027");
    changed["notes"] = json!(null);
    changed["source_updated_at"] = json!("2026-11-02T02:00:00Z");
    let o = put(&app, org_path, &changed).await;
    o.expect(200);
    assert_eq!(o.body["name"], "Interreg Aurora 2021-2027");
    assert_eq!(o.body["notes"], "Kontakt via sekretariatet");
    assert_eq!(o.body["external_ids"], noted.body["external_ids"]);
}

pub async fn an_older_source_record_changes_nothing(app: TestApp) {
    put(&app, PATH, &source("Nyast", "2026-11-05T02:00:00.123456Z"))
        .await
        .expect(201);
    let before = app.snapshot();
    let stale = put(&app, PATH, &source("Äldre", "2026-11-04T02:00:00Z")).await;
    crate::helpers::assert_problem(&stale, 409);
    assert!(stale.text.contains("source_updated_at"), "{}", stale.text);
    assert_eq!(app.snapshot(), before);
    // A replayed batch: the stale item fails on its own, the others land.
    let mut other = source("Ny", "2026-11-05T02:00:00Z");
    other["external_ids"] = json!([]);
    let r = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([
            {"external_id": {"scheme": "kohesio", "value": "SE-2023-777"}, "record": source("Äldre", "2026-11-05T02:00:00.123455Z")},
            {"external_id": {"scheme": "kohesio", "value": "SE-2023-778"}, "record": other},
        ]),
    )
    .await;
    assert_eq!(r.body["results"][0]["result"], "failed", "{}", r.text);
    assert_eq!(r.body["results"][0]["problem"]["status"], 409);
    assert_eq!(r.body["results"][1]["result"], "created");
    let now = app
        .get(
            "/v1/projects?external_id_scheme=kohesio&external_id_value=SE-2023-777",
            "reader",
        )
        .await;
    assert_eq!(now.body["items"][0]["title"], "Nyast");
    assert_eq!(
        now.body["items"][0]["source_updated_at"],
        "2026-11-05T02:00:00.123456Z"
    );
    // The same time again is the same source version: accepted (here unchanged).
    let same = put(&app, PATH, &source("Nyast", "2026-11-05T02:00:00.123456Z")).await;
    same.expect(200);
    assert_eq!(same.body["version"], 1);
    // Organisations too.
    let org_path = "/v1/organisations/by-external-id/kohesio/ORG-2";
    let org =
        |name: &str, at: &str| json!({"name": name, "kind": "university", "source_updated_at": at});
    put(
        &app,
        org_path,
        &org("Mittuniversitetet", "2026-11-05T00:00:00Z"),
    )
    .await
    .expect(201);
    let before = app.snapshot();
    crate::helpers::assert_problem(
        &put(
            &app,
            org_path,
            &org("Mitthögskolan", "2026-01-01T00:00:00Z"),
        )
        .await,
        409,
    );
    assert_eq!(app.snapshot(), before);
}

pub async fn an_officers_edit_of_a_source_field_is_flagged(app: TestApp) {
    let created = put(&app, PATH, &source("Grön vätgas", "2026-11-01T02:00:00Z")).await;
    created.expect(201);
    let path = format!("/v1/projects/{}", id(&created.body));
    let r = app
        .patch(
            &path,
            "officer",
            json!({"title": "Vätgas", "call": "Call 3", "notes": "Ny utlysning"}),
        )
        .await;
    r.expect(200);
    let mut named: Vec<String> = r
        .header("sync-overwrites")
        .expect("a synced project's source fields were changed")
        .split(", ")
        .map(str::to_string)
        .collect();
    named.sort();
    assert_eq!(named, vec!["call", "title"]);
    // Region-owned fields only, or a project nobody syncs: no warning.
    let r = app
        .patch(
            &path,
            "board",
            json!({"responsible_unit": "Internationella enheten"}),
        )
        .await;
    r.expect(200);
    assert!(r.header("sync-overwrites").is_none());
    let own = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Eget", "region_role": "partner"}),
        )
        .await;
    own.expect(201);
    let r = app
        .patch(
            &format!("/v1/projects/{}", id(&own.body)),
            "officer",
            json!({"title": "Eget projekt"}),
        )
        .await;
    r.expect(200);
    assert!(r.header("sync-overwrites").is_none());
    // And the next sync does overwrite the officer's title.
    let r = put(&app, PATH, &source("Grön vätgas", "2026-11-02T02:00:00Z")).await;
    r.expect(200);
    assert_eq!(r.body["title"], "Grön vätgas");
    assert_eq!(r.body["notes"], "Ny utlysning");
}

pub async fn partners_by_external_id(app: TestApp) {
    let org = put(
        &app,
        "/v1/organisations/by-external-id/pic/949631781",
        &json!({"name": "Mittuniversitetet", "kind": "university", "country": "SE"}),
    )
    .await;
    org.expect(201);
    let org_id = id(&org.body);
    let project = |value: &str, partners: Value| {
        json!({"external_id": {"scheme": "kohesio", "value": value},
               "record": {"title": format!("Projekt {value}"), "region_role": "partner", "partners": partners}})
    };
    let by_pic = json!([{"organisation_external_id": {"scheme": "pic", "value": "949631781"}, "role": "lead_partner"}]);
    let r = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([
            project("P-1", by_pic.clone()),
            project("P-2", json!([{"organisation_external_id": {"scheme": "pic", "value": "000000000"}, "role": "partner"}])),
            project("P-3", json!([{"organisation_id": org_id, "organisation_external_id": {"scheme": "pic", "value": "949631781"}, "role": "partner"}])),
            project("P-4", json!([{"organisation_id": org_id, "role": "partner"},
                                  {"organisation_external_id": {"scheme": "pic", "value": "949631781"}, "role": "partner"}])),
        ]),
    )
    .await;
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results[0]["result"], "created", "{}", r.text);
    for (n, field) in [
        (1, "partners[0].organisation_external_id"),
        (2, "partners[0].organisation_id"),
        (3, "partners[1]"),
    ] {
        assert_eq!(results[n]["result"], "failed", "{}", r.text);
        assert_eq!(results[n]["problem"]["status"], 422);
        let fields: Vec<&str> = results[n]["problem"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            vec![format!("items[{n}].record.{field}")],
            "{}",
            r.text
        );
    }
    assert!(
        r.text.contains("no organisation has pic:000000000"),
        "{}",
        r.text
    );
    let created = app
        .get(
            &format!("/v1/projects/{}", results[0]["id"].as_str().unwrap()),
            "reader",
        )
        .await;
    assert_eq!(
        created.body["partners"],
        json!([{"organisation_id": org_id, "role": "lead_partner"}])
    );
    // The nightly resend naming the partner the same way is unchanged.
    let again = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([project("P-1", by_pic)]),
    )
    .await;
    assert_eq!(
        again.body["results"][0]["result"], "unchanged",
        "{}",
        again.text
    );
    // The single PUT and an officer's PATCH take it too.
    let r = put(
        &app,
        "/v1/projects/by-external-id/kohesio/P-5",
        &json!({"title": "Fem", "region_role": "partner",
                "partners": [{"organisation_external_id": {"scheme": "pic", "value": "949631781"}, "role": "partner"}]}),
    )
    .await;
    r.expect(201);
    assert_eq!(r.body["partners"][0]["organisation_id"], org_id.as_str());
    let own = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Eget", "region_role": "partner"}),
        )
        .await;
    let r = app
        .patch(
            &format!("/v1/projects/{}", id(&own.body)),
            "officer",
            json!({"partners": [{"organisation_external_id": {"scheme": "pic", "value": "949631781"}, "role": "partner"}]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["partners"][0]["organisation_id"], org_id.as_str());
}

pub async fn a_batch_naming_one_record_twice_applies_both_in_order(app: TestApp) {
    put(&app, PATH, &source("Ett", "2026-11-01T00:00:00Z"))
        .await
        .expect(201);
    let item = |title: &str, at: &str| json!({"external_id": {"scheme": "kohesio", "value": "SE-2023-777"}, "record": source(title, at)});
    // The stored record, then a change, then the change again: the second is applied after the
    // first and the third finds it there.
    let r = bulk(
        &app,
        "/v1/projects/bulk-upsert",
        json!([
            item("Ett", "2026-11-01T00:00:00Z"),
            item("Två", "2026-11-02T00:00:00Z"),
            item("Två", "2026-11-02T00:00:00Z"),
            item("Ett", "2026-11-01T00:00:00Z"),
        ]),
    )
    .await;
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        vec!["unchanged", "updated", "unchanged", "failed"],
        "{}",
        r.text
    );
    assert_eq!(r.body["results"][3]["problem"]["status"], 409);
    let now = put(&app, PATH, &source("Två", "2026-11-02T00:00:00Z")).await;
    now.expect(200);
    assert_eq!(now.body["version"], 2);
}

pub async fn eu_project_fields_as_eu_systems_carry_them(app: TestApp) {
    let org = put(
        &app,
        "/v1/organisations/by-external-id/pic/999",
        &json!({"name": "Oulun yliopisto", "kind": "university", "country": "FI"}),
    )
    .await;
    org.expect(201);
    let body = json!({
        "title": "Vätgasdalen", "title_en": "Hydrogen Valley",
        "summary_sv": "Ett gränsöverskridande projekt om vätgas.", "summary_en": "A cross-border project on hydrogen.",
        "fund": "erdf", "intervention_field": "021", "project_url": "https://example.eu/h2",
        "region_role": "partner",
        "partners": [{"organisation_external_id": {"scheme": "pic", "value": "999"}, "role": "lead_partner",
                      "country": "FI", "nuts_code": "FI1D9", "legal_status": "public",
                      "budget_share": {"amount": "400000", "currency": "EUR"},
                      "eu_funding": {"amount": "260000.5", "currency": "EUR"}}],
        "source_updated_at": "2026-11-01T00:00:00Z"
    });
    let path = "/v1/projects/by-external-id/keep/H2V";
    let r = put(&app, path, &body).await;
    r.expect(201);
    for f in [
        "title_en",
        "summary_sv",
        "summary_en",
        "fund",
        "intervention_field",
        "project_url",
    ] {
        assert_eq!(r.body[f], body[f], "{f}");
    }
    assert_eq!(
        r.body["partners"],
        json!([{"organisation_id": id(&org.body), "role": "lead_partner", "country": "FI",
                "nuts_code": "FI1D9", "legal_status": "public",
                "budget_share": {"amount": "400000.00", "currency": "EUR"},
                "eu_funding": {"amount": "260000.50", "currency": "EUR"}}])
    );
    let stored = app
        .get(&format!("/v1/projects/{}", id(&r.body)), "reader")
        .await;
    assert_eq!(stored.body, r.body);
    let again = put(&app, path, &body).await;
    again.expect(200);
    assert_eq!(again.body["version"], 1, "a resend is unchanged");
    // Each bad field named, nothing written.
    let before = app.snapshot();
    let mut bad = body.clone();
    bad["intervention_field"] = json!("21a");
    bad["project_url"] = json!("ftp://example.eu");
    bad["partners"][0]["country"] = json!("fi");
    bad["partners"][0]["nuts_code"] = json!("X");
    bad["partners"][0]["eu_funding"] = json!({"amount": "500000", "currency": "EUR"});
    let r = put(&app, path, &bad).await;
    r.expect(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "intervention_field",
            "partners[0].country",
            "partners[0].eu_funding",
            "partners[0].nuts_code",
            "project_url"
        ],
        "{}",
        r.text
    );
    let mut bad = body.clone();
    bad["fund"] = json!("marshall_plan");
    put(&app, path, &bad).await.expect(422);
    let mut bad = body.clone();
    bad["partners"][0]["legal_status"] = json!("semi_public");
    put(&app, path, &bad).await.expect(422);
    assert_eq!(app.snapshot(), before);
}
