//! The committed OpenAPI document is what the server serves, and documents every operation.

use reqwest::Method;

use crate::helpers::TestApp;

pub async fn served_spec_matches_committed_file(app: TestApp) {
    let served = app
        .send(app.request(Method::GET, "/openapi.json", None))
        .await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        served.body == committed,
        "openapi/openapi.json is out of date: run `cargo run -- openapi --output openapi/openapi.json`"
    );
    let generated: serde_json::Value =
        serde_json::from_str(&intl_api::openapi::spec_json()).unwrap();
    assert_eq!(generated, committed);
}

pub async fn every_operation_documents_security_and_errors(app: TestApp) {
    let spec = app
        .send(app.request(Method::GET, "/openapi.json", None))
        .await
        .body;
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            if path.starts_with("/v1/") {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{"bearer": []}]),
                    "{method} {path}"
                );
                for code in ["401", "403", "503"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
                if path.contains("{id}") {
                    assert!(responses.contains_key("404"), "{method} {path} lacks 404");
                }
                if ["post", "patch", "put"].contains(&method.as_str())
                    && op.get("requestBody").is_some()
                {
                    for code in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                    }
                }
                if ["patch", "delete"].contains(&method.as_str()) || path.ends_with("/adopt") {
                    assert!(responses.contains_key("412"), "{method} {path} lacks 412");
                }
            }
        }
    }
    assert!(operations >= 21, "{operations} operations");
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}
