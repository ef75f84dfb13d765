//! Concurrent writers: conditional writes lose nothing silently, and a keyset walk during
//! writes skips and repeats nothing that existed, unchanged in identity, for the whole walk.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{id, TestApp};

pub async fn read_modify_write_clients_lose_nothing(app: TestApp) {
    let p = app
        .post(
            "/v1/projects",
            "officer",
            json!({"title": "Delad", "region_role": "partner", "description": "start"}),
        )
        .await
        .body;
    let path = format!("{}/v1/projects/{}", app.base, id(&p));
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (client, path) = (app.client.clone(), path.clone());
            actix_web::rt::spawn(async move {
                let token = crate::helpers::token("officer");
                let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
                for j in 0..8 {
                    let mark = format!("c{c}-{j}");
                    let r = client.get(&path).bearer_auth(&token).send().await.unwrap();
                    let etag = r.headers()["etag"].to_str().unwrap().to_string();
                    let current: Value = r.json().await.unwrap();
                    let description =
                        format!("{}|{mark}", current["description"].as_str().unwrap());
                    let r = client
                        .patch(&path)
                        .bearer_auth(&token)
                        .header("if-match", etag)
                        .json(&json!({"description": description}))
                        .send()
                        .await
                        .unwrap();
                    match r.status().as_u16() {
                        200 => acknowledged.push(mark),
                        412 => refused.push(mark),
                        other => panic!("unexpected {other}"),
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for c in clients {
        let (a, r) = c.await.unwrap();
        acknowledged.extend(a);
        refused.extend(r);
    }
    let last = app
        .get(&format!("/v1/projects/{}", id(&p)), "reader")
        .await
        .body;
    let marks: HashSet<&str> = last["description"]
        .as_str()
        .unwrap()
        .split('|')
        .skip(1)
        .collect();
    for a in &acknowledged {
        assert!(
            marks.contains(a.as_str()),
            "acknowledged change {a} was lost"
        );
    }
    for r in &refused {
        assert!(
            !marks.contains(r.as_str()),
            "refused change {r} was written"
        );
    }
    assert_eq!(
        last["version"].as_i64().unwrap(),
        1 + acknowledged.len() as i64
    );
    assert_eq!(acknowledged.len() + refused.len(), 48);
}

pub async fn a_cursor_walk_during_writes_skips_and_repeats_nothing(app: TestApp) {
    let mut existing = Vec::new();
    for i in 0..30 {
        existing.push(id(&app
            .post(
                "/v1/organisations",
                "officer",
                json!({"name": format!("Före {i}"), "kind": "ngo"}),
            )
            .await
            .body));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/organisations?limit=4&cursor={c}"),
            None => "/v1/organisations?limit=4".to_string(),
        };
        let page = app.get(&path, "integrator").await;
        page.expect(200);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(id));
        // Between pages others insert and update.
        round += 1;
        app.post(
            "/v1/organisations",
            "officer",
            json!({"name": format!("Under {round}"), "kind": "ngo"}),
        )
        .await
        .expect(201);
        let target = &existing[(round * 7) % existing.len()];
        app.patch(
            &format!("/v1/organisations/{target}"),
            "board",
            json!({"short_name": format!("r{round}")}),
        )
        .await
        .expect(200);
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a record was repeated");
    for e in &existing {
        assert!(
            unique.contains(e),
            "{e} existed for the whole walk but was skipped"
        );
    }
}
