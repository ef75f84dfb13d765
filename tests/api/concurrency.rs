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

/// Writes sent together commit or fail each on its own (SQLite commits the writes that waited
/// for the same turn in one transaction, each in a savepoint): every 201 is stored with its
/// audit and change events, and every write refused inside its transaction leaves nothing.
pub async fn writes_sent_together_commit_or_fail_each_on_its_own(app: TestApp) {
    let org = id(&app
        .post(
            "/v1/organisations",
            "officer",
            json!({"name": "Partner", "kind": "region", "country": "FI"}),
        )
        .await
        .body);
    let before = app.counts();
    let url = format!("{}/v1/projects", app.base);
    let writes: Vec<_> = (0..30)
        .map(|i| {
            let (client, url) = (app.client.clone(), url.clone());
            // Every third names an organisation that does not exist: a 422 found by the write
            // itself, after its transaction began.
            let partner = if i % 3 == 0 {
                "ghost".into()
            } else {
                org.clone()
            };
            actix_web::rt::spawn(async move {
                let r = client
                    .post(&url)
                    .bearer_auth(crate::helpers::token("officer"))
                    .json(
                        &json!({"title": format!("Samtidig {i}"), "region_role": "partner",
                                  "partners": [{"organisation_id": partner, "role": "partner"}]}),
                    )
                    .send()
                    .await
                    .unwrap();
                (i, r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut created = Vec::new();
    for w in writes {
        let (i, status, body) = w.await.unwrap();
        if i % 3 == 0 {
            assert_eq!(status, 422, "{i}: {body}");
            assert_eq!(body["errors"][0]["field"], "partners[0].organisation_id");
        } else {
            assert_eq!(status, 201, "{i}: {body}");
            created.push((i, id(&body)));
        }
    }
    if !app.db.url.starts_with("postgres") {
        // Each write was answered by a COMMIT of its turn (the 422s too).
        assert!(app.metric("intl_db_writes_committed_total").await >= 30.0);
        assert!(app.metric("intl_db_write_commits_total").await >= 1.0);
    }
    let after = app.counts();
    let grew = |table: &str| {
        let n = |c: &Vec<(&str, i64)>| c.iter().find(|(t, _)| *t == table).unwrap().1;
        n(&after) - n(&before)
    };
    for table in [
        "projects",
        "project_partners",
        "audit_events",
        "change_events",
    ] {
        assert_eq!(grew(table), 20, "{table}");
    }
    for (i, p) in created {
        let r = app.get(&format!("/v1/projects/{p}"), "reader").await;
        r.expect(200);
        assert_eq!(r.body["title"], format!("Samtidig {i}"));
        assert_eq!(r.body["partners"][0]["organisation_id"], json!(org));
    }
}

/// SQLite's checkpointer copies the WAL back after the writers' COMMITs and does no work while
/// nothing is written (an idle server stays idle). PostgreSQL has no such thread.
pub async fn checkpoints_follow_writes_and_stop_when_idle(app: TestApp) {
    if app.db.url.starts_with("postgres") {
        let r = app
            .send(app.request(reqwest::Method::GET, "/metrics", None))
            .await;
        assert!(!r.text.contains("intl_db_checkpoints_total"), "{}", r.text);
        return;
    }
    let checkpoints = || app.metric("intl_db_checkpoints_total");
    // Waits (in turns of the checkpointer's 25 ms) until the count moves past `n`.
    let past = |n: f64| async move {
        for _ in 0..200 {
            let c = checkpoints().await;
            if c > n {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no checkpoint after {n} within 2 s");
    };
    // Start-up's writes (migrations, the shipped data) are checkpointed once.
    let settled = past(0.0).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(checkpoints().await, settled, "checkpoints while idle");
    app.post(
        "/v1/organisations",
        "officer",
        json!({"name": "Skrivare", "kind": "ngo"}),
    )
    .await
    .expect(201);
    let after = past(settled).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        checkpoints().await,
        after,
        "checkpoints while idle after a write"
    );
}

/// PUTs creating the same external id at once: one creates (201), each other one replaces it
/// (200) or is told to retry (409), never a 422 about an id held by a record it could not see.
pub async fn concurrent_upserts_of_one_external_id_create_once(app: TestApp) {
    for (path, body) in [
        (
            "/v1/projects/by-external-id/jems/RACE-1",
            json!({"title": "Kapplöpning", "region_role": "partner"}),
        ),
        (
            "/v1/organisations/by-external-id/pic/RACE-1",
            json!({"name": "Kapplöpning", "kind": "ngo"}),
        ),
    ] {
        let t = crate::helpers::token("integrator");
        let sends: Vec<_> = (0..8)
            .map(|_| {
                let b = app
                    .client
                    .put(format!("{}{path}", app.base))
                    .bearer_auth(&t)
                    .json(&body);
                async move { b.send().await.unwrap() }
            })
            .collect();
        let statuses: Vec<u16> = futures_util::future::join_all(sends)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{path}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 201, 409].contains(s)),
            "{path}: {statuses:?}"
        );
    }
}

/// Bulk upserts of synced projects while officers edit the region's notes on them: a bulk
/// upsert compares its items with a read made before its writes, and must never write back
/// notes that read saw once an officer has changed them, nor fail an item for it (it loads the
/// record again). Every acknowledged edit survives, and each audit event's before-image is the
/// previous event's after-image. On PostgreSQL an edit committing between an item's version
/// check and its UPDATE still fails the item (412), as it fails a PATCH.
pub async fn bulk_upserts_during_officers_edits_lose_nothing(app: TestApp) {
    const N: usize = 200;
    let items = |round: usize| -> Value {
        let items: Vec<Value> = (0..N)
            .map(|i| {
                json!({"external_id": {"scheme": "kohesio", "value": format!("RACE-{i}")},
                       "record": {"title": format!("Titel {round}-{i}"), "region_role": "partner"}})
            })
            .collect();
        json!({ "items": items })
    };
    let bulk = |round: usize| {
        let b = app
            .client
            .post(format!("{}/v1/projects/bulk-upsert", app.base))
            .bearer_auth(crate::helpers::token("integrator"))
            .json(&items(round));
        async move {
            let r = b.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 207);
            r.json::<Value>().await.unwrap()
        }
    };
    let first = bulk(0).await;
    let ids: Vec<String> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let syncs = async {
        let mut results = Vec::new();
        for round in 1..=4 {
            results.push(bulk(round).await);
        }
        results
    };
    let edits = async {
        let mut last = vec![None; N];
        for round in 0..2 {
            for (i, p) in ids.iter().enumerate() {
                let mark = format!("anteckning {round}-{i}");
                let r = app
                    .patch(
                        &format!("/v1/projects/{p}"),
                        "officer",
                        json!({"notes": mark}),
                    )
                    .await;
                if r.status == 200 {
                    last[i] = Some(mark);
                } else {
                    assert_eq!(r.status, 412, "{}", r.text);
                }
            }
        }
        last
    };
    let (results, last) = futures_util::future::join(syncs, edits).await;
    let sqlite = !app.db.url.starts_with("postgres");
    let mut updated = 0;
    for r in results
        .iter()
        .flat_map(|b| b["results"].as_array().unwrap())
    {
        match r["result"].as_str().unwrap() {
            "updated" => updated += 1,
            _ if sqlite => panic!("{r}"),
            _ => assert_eq!(r["problem"]["status"], 412, "{r}"),
        }
    }
    assert!(updated > 0);
    for (i, p) in ids.iter().enumerate() {
        let got = app.get(&format!("/v1/projects/{p}"), "reader").await;
        assert_eq!(got.body["notes"].as_str(), last[i].as_deref(), "{p}");
        let audit = app.audit(p);
        for pair in audit.windows(2) {
            assert_eq!(
                pair[1].3, pair[0].4,
                "{p}: a before-image that was not stored"
            );
        }
    }
}
