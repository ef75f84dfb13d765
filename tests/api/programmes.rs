//! EU programmes: CRUD and validation, upsert by CCI code, projects pointing at a programme and
//! one of its specific objectives, and the free-text programmes of before mapped to records.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, id, TestApp};

const CCI: &str = "2021TC16RFTN001";

fn aurora() -> Value {
    json!({"name": "Interreg Aurora", "fund": "erdf", "period": "2021-2027",
           "managing_authority": "Region Norrbotten",
           "priorities": [
               {"code": "1", "name": "Ett innovativt Aurora", "specific_objectives": [
                   {"code": "RSO1.1", "name": "Forsknings- och innovationskapacitet"},
                   {"code": "RSO1.3", "name": "Små och medelstora företag"}]},
               {"code": "2", "name": "Ett grönt Aurora", "specific_objectives": [
                   {"code": "RSO2.4", "name": "Klimatanpassning"}]}],
           "external_ids": [{"scheme": "cci", "value": CCI}]})
}

async fn put(app: &TestApp, path: &str, role: &str, body: Value) -> crate::helpers::Resp {
    app.send(app.request(Method::PUT, path, Some(role)).json(&body))
        .await
}

pub async fn crud_and_validation(app: TestApp) {
    let r = app.post("/v1/programmes", "officer", aurora()).await;
    r.expect(201);
    let p = r.body.clone();
    assert_eq!(p["cci"], CCI);
    assert_eq!(
        p["priorities"][0]["specific_objectives"][1]["code"],
        "RSO1.3"
    );
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/programmes/{}", id(&p))
    );
    let got = app
        .get(&format!("/v1/programmes/{}", id(&p)), "integrator")
        .await;
    assert_eq!(got.body, p);

    // Every bad field at once, and nothing written.
    let before = app.snapshot();
    let r = app
        .post(
            "/v1/programmes",
            "board",
            json!({"name": "", "period": "2027-2021", "managing_authority": "x".repeat(301),
                   "priorities": [
                       {"code": "1", "name": "A", "specific_objectives": [{"code": "RSO1.1", "name": "O"}]},
                       {"code": "1", "name": "", "specific_objectives": [{"code": "RSO1.1", "name": "O"}]}],
                   "external_ids": [{"scheme": "cci", "value": "Interreg Aurora"}]}),
        )
        .await;
    assert_problem(&r, 422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            "external_ids[0].value",
            "managing_authority",
            "name",
            "period",
            "priorities[1].code",
            "priorities[1].name",
            "priorities[1].specific_objectives[0].code",
        ]
    );
    let r = app
        .post(
            "/v1/programmes",
            "officer",
            json!({"name": "X", "fund": "efre"}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["fund"]);
    // The same CCI code names one programme.
    let r = app.post("/v1/programmes", "officer", aurora()).await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["external_ids[0]"]);
    // `cci` is the service's reading of the external ids.
    let r = app
        .patch(
            &format!("/v1/programmes/{}", id(&p)),
            "officer",
            json!({"cci": "2021SE16RFPR001"}),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["cci"]);
    assert_eq!(app.snapshot(), before);

    // Patch, filters, delete.
    let r = app
        .patch(
            &format!("/v1/programmes/{}", id(&p)),
            "officer",
            json!({"notes": "Regionen sitter i övervakningskommittén.", "managing_authority": null}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["managing_authority"], Value::Null);
    app.post(
        "/v1/programmes",
        "officer",
        json!({"name": "ESF+", "fund": "esf_plus"}),
    )
    .await
    .expect(201);
    let erdf = app.get("/v1/programmes?fund=erdf", "reader").await;
    assert_eq!(erdf.body["items"].as_array().unwrap().len(), 1);
    let by_cci = app
        .get(
            &format!("/v1/programmes?external_id_scheme=cci&external_id_value={CCI}"),
            "reader",
        )
        .await;
    assert_eq!(by_cci.body["items"][0]["id"], p["id"]);
    assert_problem(&app.get("/v1/programmes?fund=efre", "reader").await, 422);
    let r = app
        .delete(&format!("/v1/programmes/{}", id(&p)), "officer")
        .await;
    assert_eq!(r.status, 204);
    app.get(&format!("/v1/programmes/{}", id(&p)), "reader")
        .await
        .expect(404);
    // Its CCI code is free again; the feed and the audit trail hold its life.
    app.post("/v1/programmes", "officer", aurora())
        .await
        .expect(201);
    let ops: Vec<String> = app.feed(&id(&p)).into_iter().map(|e| e.0).collect();
    assert_eq!(ops, ["created", "updated", "deleted"]);
    assert_eq!(app.audit(&id(&p)).len(), 3);
}

/// Integrators write a programme by its CCI code: the source's fields are replaced, the
/// region's notes and other external ids kept, an equal record writes nothing, an older one is
/// refused.
pub async fn upsert_by_cci_keeps_the_regions_fields(app: TestApp) {
    let path = format!("/v1/programmes/by-external-id/cci/{CCI}");
    let mut source = aurora();
    source["external_ids"] = json!([]);
    source["source_updated_at"] = json!("2026-11-01T10:00:00Z");
    let r = put(&app, &path, "integrator", source.clone()).await;
    r.expect(201);
    let p = id(&r.body);
    assert_eq!(r.body["cci"], CCI);
    app.patch(
        &format!("/v1/programmes/{p}"),
        "officer",
        json!({"notes": "Vår kontakt: sekretariatet.",
               "external_ids": [{"scheme": "cci", "value": CCI}, {"scheme": "diarie", "value": "RS 2026/12"}]}),
    )
    .await
    .expect(200);
    // The same source record again: unchanged, the region's work kept.
    let r = put(&app, &path, "integrator", source.clone()).await;
    r.expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["notes"], "Vår kontakt: sekretariatet.");
    assert_eq!(r.body["external_ids"].as_array().unwrap().len(), 2);
    // A newer one with a priority added.
    source["priorities"][1]["specific_objectives"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "RSO2.7", "name": "Biologisk mångfald"}));
    source["source_updated_at"] = json!("2026-11-02T10:00:00Z");
    let r = put(&app, &path, "integrator", source.clone()).await;
    r.expect(200);
    assert_eq!(r.body["version"], 3);
    assert_eq!(r.body["notes"], "Vår kontakt: sekretariatet.");
    // An older one: 409, nothing written.
    let before = app.snapshot();
    source["source_updated_at"] = json!("2026-10-01T10:00:00Z");
    source["name"] = json!("Interreg Nord");
    assert_problem(&put(&app, &path, "integrator", source.clone()).await, 409);
    assert_eq!(app.snapshot(), before);
    // A path that is no CCI code.
    let r = put(
        &app,
        "/v1/programmes/by-external-id/cci/aurora",
        "integrator",
        json!({"name": "Aurora"}),
    )
    .await;
    assert_problem(&r, 422);
    assert_eq!(r.error_fields(), vec!["external_ids[0].value"]);
    // Bulk: the same rules per item.
    let r = app
        .send(
            app.request(
                Method::POST,
                "/v1/programmes/bulk-upsert",
                Some("integrator"),
            )
            .json(&json!({"items": [
                    {"external_id": {"scheme": "cci", "value": CCI}, "record": source},
                    {"external_id": {"scheme": "cci", "value": "2021SE05SFPR001"},
                     "record": {"name": "ESF+ Sverige", "fund": "esf_plus"}}]})),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["failed", "created"]);
    assert_eq!(r.body["results"][0]["problem"]["status"], 409);
}

/// A project points at a programme by id (or, in a write, by the programme's external id) and
/// names one of its specific objectives; the programme cannot drop an objective in use or go
/// while a project is financed under it.
pub async fn projects_point_at_a_programme_and_its_objective(app: TestApp) {
    let programme = app.post("/v1/programmes", "officer", aurora()).await;
    programme.expect(201);
    let pid = id(&programme.body);
    let empty = id(&app
        .post("/v1/programmes", "officer", json!({"name": "Utan mål"}))
        .await
        .body);
    let project = |extra: Value| {
        let mut p = json!({"title": "Vätgas i Mittnorden", "region_role": "partner"});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };

    let before = app.snapshot();
    for (body, field) in [
        (
            project(json!({"programme_id": "no-such-programme"})),
            "programme_id",
        ),
        (
            project(json!({"programme_id": pid, "specific_objective": "RSO9.9"})),
            "specific_objective",
        ),
        (
            project(
                json!({"programme_external_id": {"scheme": "cci", "value": "2021SE16RFPR001"}}),
            ),
            "programme_external_id",
        ),
        (
            project(
                json!({"programme_id": pid, "programme_external_id": {"scheme": "cci", "value": CCI}}),
            ),
            "programme_id",
        ),
        (
            project(json!({"programme_external_id": {"scheme": "CCI!", "value": CCI}})),
            "programme_external_id.scheme",
        ),
        (
            project(json!({"programme": "Interreg Aurora"})),
            "programme",
        ),
    ] {
        let r = app.post("/v1/projects", "officer", body.clone()).await;
        assert_problem(&r, 422);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{body}");
    }
    assert_eq!(app.snapshot(), before);

    // By id, and by the programme's CCI code (the record keeps the id).
    let a = app
        .post(
            "/v1/projects",
            "officer",
            project(json!({"programme_id": pid, "specific_objective": "RSO1.1"})),
        )
        .await;
    a.expect(201);
    assert_eq!(a.body["programme_id"], pid.as_str());
    let b = put(
        &app,
        "/v1/projects/by-external-id/kohesio/SE-1",
        "integrator",
        project(
            json!({"programme_external_id": {"scheme": "cci", "value": CCI},
                       "specific_objective": "RSO2.4"}),
        ),
    )
    .await;
    b.expect(201);
    assert_eq!(b.body["programme_id"], pid.as_str());
    assert!(b.body.get("programme_external_id").is_none(), "{}", b.body);
    // The same again is unchanged.
    let again = put(
        &app,
        "/v1/projects/by-external-id/kohesio/SE-1",
        "integrator",
        project(
            json!({"programme_external_id": {"scheme": "cci", "value": CCI},
                       "specific_objective": "RSO2.4"}),
        ),
    )
    .await;
    again.expect(200);
    assert_eq!(again.body["version"], 1);
    // A programme that lists no objectives takes any code.
    app.post(
        "/v1/projects",
        "officer",
        project(json!({"programme_id": empty, "specific_objective": "4.2"})),
    )
    .await
    .expect(201);
    let listed = app
        .get(&format!("/v1/projects?programme_id={pid}"), "reader")
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);

    // The programme keeps what its projects name.
    let before = app.snapshot();
    let mut fewer = aurora();
    fewer["priorities"] = json!([fewer["priorities"][0].clone()]);
    let r = app
        .patch(
            &format!("/v1/programmes/{pid}"),
            "officer",
            json!({"priorities": fewer["priorities"]}),
        )
        .await;
    assert_problem(&r, 409);
    let r = app
        .delete(&format!("/v1/programmes/{pid}"), "officer")
        .await;
    assert_problem(&r, 409);
    assert_eq!(app.snapshot(), before);
    // Moved to another objective of a priority that stays, the drop goes through.
    app.patch(
        &format!("/v1/projects/{}", id(&b.body)),
        "officer",
        json!({"specific_objective": "RSO1.3"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/v1/programmes/{pid}"),
        "officer",
        json!({"priorities": fewer["priorities"]}),
    )
    .await
    .expect(200);
}

/// Projects named their programme in free text before programmes were records. At start the
/// service maps each name (case and a trailing period aside) to one programme, through the
/// write path, and clears the text.
pub async fn free_text_programmes_become_records(app: TestApp) {
    let mut ids = Vec::new();
    for title in ["P1", "P2", "P3", "P4", "P5"] {
        let r = app
            .post(
                "/v1/projects",
                "officer",
                json!({"title": title, "region_role": "partner"}),
            )
            .await;
        r.expect(201);
        ids.push(id(&r.body));
    }
    app.delete(&format!("/v1/projects/{}", ids[4]), "officer")
        .await
        .expect(204);
    for (n, text, period) in [
        (0, "Interreg Aurora", "'2021-2027'"),
        (1, "interreg aurora 2021-2027", "NULL"),
        (2, "ESF+", "'2014-20'"),
        (4, "Borttagen", "NULL"),
    ] {
        app.exec(&format!(
            "UPDATE projects SET legacy_programme = '{text}', legacy_programme_period = {period} \
             WHERE id = '{}'",
            ids[n]
        ));
    }
    app.exec("DELETE FROM app_settings WHERE name = 'migrate.programmes_from_text'");
    let restarted = crate::helpers::spawn(app.db.clone(), &[]).await;

    let list = restarted.get("/v1/programmes", "reader").await;
    let programmes = list.body["items"].as_array().unwrap().clone();
    assert_eq!(programmes.len(), 2, "{}", list.body);
    let named = |name: &str| {
        programmes
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {programmes:?}"))
            .clone()
    };
    let (aurora, esf) = (named("Interreg Aurora"), named("ESF+"));
    assert_eq!(aurora["period"], "2021-2027");
    // A period that is none is left out.
    assert_eq!(esf["period"], Value::Null);
    for (n, programme) in [(0, &aurora), (1, &aurora), (2, &esf)] {
        let p = restarted
            .get(&format!("/v1/projects/{}", ids[n]), "reader")
            .await;
        assert_eq!(p.body["programme_id"], programme["id"], "P{}", n + 1);
        assert_eq!(p.body["version"], 2);
        let audit = restarted.audit(&ids[n]);
        assert_eq!(audit.last().unwrap().1, "system");
    }
    let p4 = restarted
        .get(&format!("/v1/projects/{}", ids[3]), "reader")
        .await;
    assert_eq!(p4.body["programme_id"], Value::Null);
    assert_eq!(p4.body["version"], 1);
    assert_eq!(restarted.feed(&id(&aurora))[0].0, "created");
    // The text is gone, and a second start maps nothing again.
    assert_eq!(
        restarted.exec(
            "UPDATE projects SET title = title WHERE legacy_programme IS NOT NULL \
             OR legacy_programme_period IS NOT NULL"
        ),
        0
    );
    let before = restarted.snapshot();
    let third = crate::helpers::spawn(app.db.clone(), &[]).await;
    assert_eq!(third.snapshot(), before);
    third.handle.stop(true).await;
    restarted.handle.stop(true).await;
}
