//! Public-key configurations: RS256 with a PEM key, ES256 with a JWK set chosen by `kid`.
//! The algorithm is pinned: an HS256 token signed with the public key is refused.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{spawn, Resp, TestApp, AUD, ISS, SECRET};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn claims() -> serde_json::Value {
    json!({"sub": "system-x", "roles": ["reader"], "iss": ISS, "aud": AUD, "exp": chrono::Utc::now().timestamp() + 600})
}

async fn call(app: &TestApp, token: &str) -> Resp {
    app.send(
        app.client
            .get(format!("{}/v1/documents", app.base))
            .bearer_auth(token),
    )
    .await
}

pub async fn rs256_with_public_key(app: TestApp) {
    let public = fixture("rsa-public.pem");
    let server = spawn(
        app.db.clone(),
        &[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_SECRET", ""),
            ("JWT_PUBLIC_KEY_FILE", &public),
        ],
    )
    .await;
    let private = std::fs::read(fixture("rsa-private.pem")).unwrap();
    let good = encode(
        &Header::new(jsonwebtoken::Algorithm::RS256),
        &claims(),
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    call(&server, &good).await.expect(200);
    // The classic confusion: HS256 signed with the public key as the secret.
    let public_bytes = std::fs::read(&public).unwrap();
    let confused = encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&public_bytes).unwrap(),
    )
    .unwrap();
    call(&server, &confused).await.expect(401);
    let hs = encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    call(&server, &hs).await.expect(401);
    server.handle.stop(true).await;
}

pub async fn es256_with_jwks(app: TestApp) {
    let server = spawn(
        app.db.clone(),
        &[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_SECRET", ""),
            ("JWT_JWKS_FILE", &fixture("ec-jwks.json")),
        ],
    )
    .await;
    let key = EncodingKey::from_ec_pem(&std::fs::read(fixture("ec-private.pem")).unwrap()).unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("test-ec-1".into());
    call(&server, &encode(&header, &claims(), &key).unwrap())
        .await
        .expect(200);
    header.kid = Some("other".into());
    call(&server, &encode(&header, &claims(), &key).unwrap())
        .await
        .expect(401);
    header.kid = None;
    call(&server, &encode(&header, &claims(), &key).unwrap())
        .await
        .expect(401);
    let rsa =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem")).unwrap()).unwrap();
    let mut rs_header = Header::new(jsonwebtoken::Algorithm::RS256);
    rs_header.kid = Some("test-ec-1".into());
    call(&server, &encode(&rs_header, &claims(), &rsa).unwrap())
        .await
        .expect(401);
    server.handle.stop(true).await;
}
