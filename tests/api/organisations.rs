//! Organisations: CRUD, validation, external ids and upsert by external id.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, TestApp};

pub async fn crud_and_validation(app: TestApp) {
    let r = app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "North Sweden European Office", "short_name": "NSEO", "kind": "eu_office", "country": "BE",
                   "website": "https://northsweden.eu", "external_ids": [{"scheme": "keep", "value": "K-1"}]}),
        )
        .await;
    r.expect(201);
    let o = r.body.clone();
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/organisations/{}", id(&o))
    );
    assert_eq!(
        o["external_ids"],
        json!([{"scheme": "keep", "value": "K-1"}])
    );
    let got = app
        .get(&format!("/v1/organisations/{}", id(&o)), "integrator")
        .await;
    assert_eq!(got.body, o);
    let before = app.snapshot();
    let r = app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": " ", "kind": "club", "country": "Sweden", "website": "ftp://x",
                   "external_ids": [{"scheme": "Keep!", "value": ""}, {"scheme": "jems", "value": "1"}, {"scheme": "jems", "value": "2"}]}),
        )
        .await;
    r.expect(422);
    // The enum fails first (serde), so check the others separately.
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": " ", "kind": "network", "country": "Sweden", "website": "ftp://x",
                   "external_ids": [{"scheme": "Keep!", "value": ""}, {"scheme": "jems", "value": "1"}, {"scheme": "jems", "value": "2"}]}),
        )
        .await;
    r.expect(422);
    let mut f = r.error_fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            "country",
            "external_ids[0].scheme",
            "external_ids[0].value",
            "external_ids[2].scheme",
            "name",
            "website"
        ]
    );
    // A scheme/value pair already used by another organisation.
    let r = app
        .post("/v1/organisations", "officer", json!({"name": "Other", "kind": "network", "external_ids": [{"scheme": "keep", "value": "K-1"}]}))
        .await;
    r.expect(422);
    assert_eq!(r.error_fields(), vec!["external_ids[0]"]);
    assert_eq!(app.snapshot(), before);
    // Patch, filters, delete.
    let r = app
        .patch(
            &format!("/v1/organisations/{}", id(&o)),
            "officer",
            json!({"short_name": null, "country": "SE"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["short_name"], serde_json::Value::Null);
    assert_eq!(r.body["version"], 2);
    app.post(
        "/v1/organisations",
        "officer",
        json!({"name": "Mittuniversitetet", "kind": "university", "country": "SE"}),
    )
    .await
    .expect(201);
    let by_kind = app.get("/v1/organisations?kind=university", "reader").await;
    assert_eq!(by_kind.body["items"].as_array().unwrap().len(), 1);
    let by_ext = app
        .get(
            "/v1/organisations?external_id_scheme=keep&external_id_value=K-1",
            "reader",
        )
        .await;
    assert_eq!(by_ext.body["items"][0]["id"], o["id"]);
    app.get("/v1/organisations?external_id_scheme=keep", "reader")
        .await
        .expect(422);
    app.get("/v1/organisations?kind=club", "reader")
        .await
        .expect(422);
    let r = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/organisations/{}", id(&o)),
                Some("officer"),
            )
            .header("if-match", "\"1\""),
        )
        .await;
    r.expect(412);
    let r = app
        .delete(&format!("/v1/organisations/{}", id(&o)), "officer")
        .await;
    assert_eq!(r.status, 204);
    // Its external id is free again.
    app.post("/v1/organisations", "officer", json!({"name": "Ny", "kind": "network", "external_ids": [{"scheme": "keep", "value": "K-1"}]}))
        .await
        .expect(201);
}

pub async fn upsert_by_external_id(app: TestApp) {
    let path = "/v1/organisations/by-external-id/kohesio/ORG-77";
    let body = json!({"name": "Interreg Aurora", "kind": "programme_body", "country": "SE"});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&body),
        )
        .await;
    r.expect(201);
    let o = r.body.clone();
    assert_eq!(
        o["external_ids"],
        json!([{"scheme": "kohesio", "value": "ORG-77"}])
    );
    assert_eq!(
        r.header("location").unwrap(),
        format!("/v1/organisations/{}", id(&o))
    );
    // The same again replaces (200), with a new version.
    let body2 =
        json!({"name": "Interreg Aurora 2021-2027", "kind": "programme_body", "country": "SE"});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&body2),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], o["id"]);
    assert_eq!(r.body["version"], 2);
    // Create-only and stale replace are refused; a mismatched body id is 422.
    let before = app.snapshot();
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-none-match", "*")
                .json(&body2),
        )
        .await;
    r.expect(412);
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .header("if-match", "\"1\"")
                .json(&body2),
        )
        .await;
    r.expect(412);
    let r = app
        .send(
            app.request(
                Method::PUT,
                "/v1/organisations/by-external-id/kohesio/NEW-1",
                Some("integrator"),
            )
            .header("if-match", "\"1\"")
            .json(&body2),
        )
        .await;
    r.expect(412);
    let bad = json!({"name": "x", "kind": "network", "external_ids": [{"scheme": "kohesio", "value": "OTHER"}]});
    let r = app
        .send(
            app.request(Method::PUT, path, Some("integrator"))
                .json(&bad),
        )
        .await;
    r.expect(422);
    let r = app
        .send(
            app.request(
                Method::PUT,
                "/v1/organisations/by-external-id/BAD!/x",
                Some("integrator"),
            )
            .json(&body),
        )
        .await;
    r.expect(422);
    // Integrators write only through this door; readers not at all.
    app.post("/v1/organisations", "integrator", body.clone())
        .await
        .expect(403);
    app.patch(
        &format!("/v1/organisations/{}", id(&o)),
        "integrator",
        json!({"name": "x"}),
    )
    .await
    .expect(403);
    app.send(app.request(Method::PUT, path, Some("reader")).json(&body))
        .await
        .expect(403);
    app.send(app.request(Method::PUT, path, Some("council")).json(&body))
        .await
        .expect(403);
    assert_eq!(app.snapshot(), before);
    let r = app
        .send(
            app.request(Method::PUT, path, Some("officer"))
                .header("if-match", "\"2\"")
                .json(&body),
        )
        .await;
    r.expect(200);
}
