//! 401 for every kind of bad token, 403 for a valid token without a role.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{token_with, Resp, TestApp, AUD, ISS};

async fn with_auth(app: &TestApp, value: Option<&str>) -> Resp {
    let mut b = app.request(Method::GET, "/v1/documents", None);
    if let Some(v) = value {
        b = b.header("authorization", v);
    }
    app.send(b).await
}

#[track_caller]
fn assert_401(r: &Resp) {
    r.expect(401);
    let www = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(www.starts_with("Bearer"), "{www}");
}

pub async fn missing_and_malformed_tokens_get_401(app: TestApp) {
    for value in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer not.a.jwt"),
        Some("Bearer abc"),
    ] {
        let r = with_auth(&app, value).await;
        assert_401(&r);
    }
    let huge = format!("Bearer {}", "a".repeat(9 * 1024));
    assert_401(&with_auth(&app, Some(&huge)).await);
}

pub async fn bad_tokens_get_401(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let cases = vec![
        ("expired", token_with(json!({"exp": now - 3600}))),
        ("not yet valid", token_with(json!({"nbf": now + 3600}))),
        ("wrong issuer", token_with(json!({"iss": "someone-else"}))),
        ("wrong audience", token_with(json!({"aud": "another-api"}))),
        ("no sub", token_with(json!({"sub": null}))),
        ("no exp", token_with(json!({"exp": null}))),
        ("no iss", token_with(json!({"iss": null}))),
        ("no aud", token_with(json!({"aud": null}))),
        (
            "exp as string",
            token_with(json!({"exp": (now + 600).to_string()})),
        ),
        ("roles not a list", token_with(json!({"roles": "board"}))),
        ("unknown role", token_with(json!({"roles": ["king"]}))),
        ("empty sub", token_with(json!({"sub": ""}))),
    ];
    // A real, correctly signed token, but over 8 KiB.
    let huge = token_with(json!({"roles": ["board"], "name": "x".repeat(9000)}));
    let mut cases = cases;
    cases.push(("over 8 KiB", huge));
    for (what, t) in cases {
        let r = with_auth(&app, Some(&format!("Bearer {t}"))).await;
        assert_eq!(r.status.as_u16(), 401, "{what}: {}", r.text);
        assert_401(&r);
        // The same token on a write changes nothing.
        let before = app.snapshot();
        let r = app
            .send(
                app.request(Method::POST, "/v1/documents", None)
                    .bearer_auth(&t)
                    .json(&json!({"kind": "programme", "title": "x"})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 401, "{what}: {}", r.text);
        assert_eq!(app.snapshot(), before, "{what}");
    }
    // Signed with another secret.
    let claims = json!({"sub": "x", "roles": ["board"], "iss": ISS, "aud": AUD, "exp": now + 600});
    let other = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"another-secret-another-secret-another").unwrap(),
    )
    .unwrap();
    assert_401(&with_auth(&app, Some(&format!("Bearer {other}"))).await);
    // Another algorithm than the pinned HS256, and alg none.
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(crate::helpers::SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_401(&with_auth(&app, Some(&format!("Bearer {hs512}"))).await);
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_401(&with_auth(&app, Some(&format!("Bearer {none}"))).await);
    // A refused token changes nothing.
    let before = app.snapshot();
    let r = app
        .send(
            app.request(Method::POST, "/v1/documents", None)
                .bearer_auth(token_with(json!({"roles": ["board"], "exp": now - 3600})))
                .json(&json!({"kind": "programme", "title": "x"})),
        )
        .await;
    assert_401(&r);
    assert_eq!(app.snapshot(), before);
}

pub async fn token_without_role_gets_403(app: TestApp) {
    let t = token_with(json!({"roles": []}));
    let r = with_auth(&app, Some(&format!("Bearer {t}"))).await;
    r.expect(403);
    assert_eq!(r.body["required_roles"].as_array().unwrap().len(), 5);
    // A valid token, with name, for a role that may read.
    let t = token_with(json!({"roles": ["reader"], "name": "Anna Andersson"}));
    with_auth(&app, Some(&format!("Bearer {t}")))
        .await
        .expect(200);
}

/// A token the service has verified before is not verified again on every request (it keeps
/// the callers of tokens it verified), but it is refused once it expires all the same, and a
/// token differing from it only in its signature is still refused.
pub async fn a_token_seen_before_still_expires(app: TestApp) {
    // Valid for about three more seconds: within the leeway of its exp.
    let exp = chrono::Utc::now().timestamp() - intl_api::auth::LEEWAY_SECONDS as i64 + 3;
    let token = token_with(json!({"exp": exp}));
    for _ in 0..3 {
        with_auth(&app, Some(&format!("Bearer {token}")))
            .await
            .expect(200);
    }
    let (head, signature) = token.rsplit_once('.').unwrap();
    let mut forged: Vec<u8> = signature.bytes().collect();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{head}.{}", String::from_utf8(forged).unwrap());
    assert_401(&with_auth(&app, Some(&format!("Bearer {forged}"))).await);

    actix_web::rt::time::sleep(std::time::Duration::from_millis(4200)).await;
    let r = with_auth(&app, Some(&format!("Bearer {token}"))).await;
    assert_401(&r);
    assert_eq!(r.body["detail"], "the token has expired", "{}", r.body);
}

/// A token whose sub or name holds a control character is a 401 (a NUL made every write a 500
/// on PostgreSQL).
pub async fn control_characters_in_claims_get_401(app: TestApp) {
    for claims in [
        json!({"sub": "anna\u{0}", "roles": ["officer"]}),
        json!({"sub": "anna\nreader", "roles": ["officer"]}),
        json!({"sub": "anna\u{1b}[0m", "roles": ["officer"]}),
        json!({"sub": "anna", "roles": ["officer"], "name": "Anna\u{7}"}),
    ] {
        let t = token_with(claims.clone());
        assert_401(&with_auth(&app, Some(&format!("Bearer {t}"))).await);
        let r = app
            .send(
                app.request(Method::POST, "/v1/organisations", None)
                    .bearer_auth(&t)
                    .json(&json!({"name": "Kontroll", "kind": "ngo"})),
            )
            .await;
        assert_401(&r);
    }
    let t = token_with(json!({"sub": "anna åäö", "roles": ["officer"], "name": "Anna Åström"}));
    with_auth(&app, Some(&format!("Bearer {t}")))
        .await
        .expect(200);
}

/// `JWT_MAX_TTL` (default 12 hours) caps a token's lifetime: exp - iat, else exp - nbf, else
/// what is left of it (exp - now).
pub async fn tokens_longer_than_jwt_max_ttl_get_401(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let h = 3600;
    for (claims, ok) in [
        (json!({"iat": now, "exp": now + 12 * h}), true),
        (json!({"iat": now, "exp": now + 12 * h + 60}), false),
        (json!({"iat": now - 11 * h, "exp": now + 2 * h}), false),
        (json!({"nbf": now - 60, "exp": now + 11 * h}), true),
        (json!({"nbf": now - 2 * h, "exp": now + 11 * h}), false),
        (json!({"exp": now + 11 * h}), true),
        (json!({"exp": now + 13 * h}), false),
        (json!({"exp": now + 400 * 24 * h}), false),
    ] {
        let r = with_auth(
            &app,
            Some(&format!("Bearer {}", token_with(claims.clone()))),
        )
        .await;
        if ok {
            r.expect(200);
        } else {
            assert_401(&r);
            assert!(r.text.contains("JWT_MAX_TTL"), "{claims}: {}", r.text);
        }
    }
    // A shorter maximum is obeyed.
    let short = crate::helpers::spawn(app.db.clone(), &[("JWT_MAX_TTL", "600")]).await;
    let t = token_with(json!({"iat": now, "exp": now + 900}));
    assert_401(&with_auth(&short, Some(&format!("Bearer {t}"))).await);
    let t = token_with(json!({"iat": now, "exp": now + 600}));
    with_auth(&short, Some(&format!("Bearer {t}")))
        .await
        .expect(200);
    short.handle.stop(true).await;
}
