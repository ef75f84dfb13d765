//! The access matrix of shared/domain.md, role by role and action by action.

use serde_json::json;

use crate::helpers::{id, Resp, TestApp};

const ROLES: [&str; 5] = ["council", "board", "officer", "integrator", "reader"];
const ALL: &[&str] = &ROLES;
const DRAFTERS: &[&str] = &["council", "board", "officer"];

#[derive(Debug, Clone, Copy)]
enum Act {
    ListDocuments,
    GetDocument,
    ListGoals,
    GetGoal,
    CreateDocument,
    PatchDocument,
    DeleteDocument,
    Propose,
    AdoptPolicy,
    AdoptGoalDocument,
    AdoptActionPlan,
    AdoptGuideline,
    AdoptProgramme,
    Revise,
    CreateGoal,
    PatchGoal,
    DeleteGoal,
}

fn allowed(act: Act) -> &'static [&'static str] {
    match act {
        Act::ListDocuments | Act::GetDocument | Act::ListGoals | Act::GetGoal => ALL,
        Act::AdoptPolicy | Act::AdoptGoalDocument => &["council"],
        Act::AdoptActionPlan | Act::AdoptGuideline | Act::AdoptProgramme => &["board"],
        _ => DRAFTERS,
    }
}

/// Sets up what the action needs (as an officer), then tries it as `role`. Returns the
/// response and whether the database is exactly as it was before the attempt.
async fn attempt(app: &TestApp, act: Act, role: &str) -> (Resp, bool) {
    let proposed = |kind: &'static str| async move {
        let d = app.draft(kind, "Förslag").await;
        app.post(
            &format!("/v1/documents/{}/propose", id(&d)),
            "officer",
            json!({}),
        )
        .await
        .expect(200);
        d
    };
    let adopt_body = json!({"date": "2026-11-20", "reference": "§ 7"});
    let draft = app.draft("action_plan", "Handlingsplan 2027").await;
    let goal = app.goal(&id(&draft), None, "sub_goal", "Delmål").await;
    let target = match act {
        Act::AdoptPolicy => Some(proposed("policy").await),
        Act::AdoptGoalDocument => Some(proposed("goal_document").await),
        Act::AdoptActionPlan => Some(proposed("action_plan").await),
        Act::AdoptGuideline => Some(proposed("guideline").await),
        Act::AdoptProgramme => Some(proposed("programme").await),
        Act::Revise => Some(app.adopted("action_plan", "Antagen plan").await),
        _ => None,
    };
    let before = app.snapshot();
    let d = id(&draft);
    let g = id(&goal);
    let r = match act {
        Act::ListDocuments => app.get("/v1/documents", role).await,
        Act::GetDocument => app.get(&format!("/v1/documents/{d}"), role).await,
        Act::ListGoals => app.get("/v1/goals", role).await,
        Act::GetGoal => app.get(&format!("/v1/goals/{g}"), role).await,
        Act::CreateDocument => {
            app.post(
                "/v1/documents",
                role,
                json!({"kind": "programme", "title": "Program"}),
            )
            .await
        }
        Act::PatchDocument => {
            app.patch(
                &format!("/v1/documents/{d}"),
                role,
                json!({"title": "Ny titel"}),
            )
            .await
        }
        Act::DeleteDocument => {
            let lone = app.draft("guideline", "Riktlinje").await;
            let before_lone = app.snapshot();
            let r = app
                .delete(&format!("/v1/documents/{}", id(&lone)), role)
                .await;
            let unchanged = app.snapshot() == before_lone;
            return (r, unchanged);
        }
        Act::Propose => {
            app.post(&format!("/v1/documents/{d}/propose"), role, json!({}))
                .await
        }
        Act::AdoptPolicy
        | Act::AdoptGoalDocument
        | Act::AdoptActionPlan
        | Act::AdoptGuideline
        | Act::AdoptProgramme => {
            let t = id(target.as_ref().unwrap());
            app.post(&format!("/v1/documents/{t}/adopt"), role, adopt_body)
                .await
        }
        Act::Revise => {
            let t = id(target.as_ref().unwrap());
            app.post(&format!("/v1/documents/{t}/revisions"), role, json!({}))
                .await
        }
        Act::CreateGoal => {
            app.post(
                "/v1/goals",
                role,
                json!({"document_id": d, "kind": "sub_goal", "title": "Nytt"}),
            )
            .await
        }
        Act::PatchGoal => {
            app.patch(&format!("/v1/goals/{g}"), role, json!({"title": "Ändrat"}))
                .await
        }
        Act::DeleteGoal => app.delete(&format!("/v1/goals/{g}"), role).await,
    };
    let unchanged = app.snapshot() == before;
    (r, unchanged)
}

pub async fn matrix_for_documents_and_goals(app: TestApp) {
    use Act::*;
    let acts = [
        ListDocuments,
        GetDocument,
        ListGoals,
        GetGoal,
        CreateDocument,
        PatchDocument,
        DeleteDocument,
        Propose,
        AdoptPolicy,
        AdoptGoalDocument,
        AdoptActionPlan,
        AdoptGuideline,
        AdoptProgramme,
        Revise,
        CreateGoal,
        PatchGoal,
        DeleteGoal,
    ];
    for act in acts {
        for role in ROLES {
            let (r, unchanged) = attempt(&app, act, role).await;
            if allowed(act).contains(&role) {
                assert!(
                    r.status.is_success(),
                    "{role} must be allowed to {act:?}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                r.expect(403);
                let needed: Vec<String> = r.body["required_roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                let expected: Vec<String> = match act {
                    // Adoption is refused before the document is read when the caller can adopt nothing.
                    AdoptPolicy | AdoptGoalDocument | AdoptActionPlan | AdoptGuideline
                    | AdoptProgramme
                        if !["council", "board"].contains(&role) =>
                    {
                        vec!["council".into(), "board".into()]
                    }
                    _ => allowed(act).iter().map(|s| s.to_string()).collect(),
                };
                assert_eq!(needed, expected, "{role} {act:?}: {}", r.text);
                for name in &expected {
                    assert!(
                        r.body["detail"].as_str().unwrap().contains(name.as_str()),
                        "{}",
                        r.text
                    );
                }
                assert!(unchanged, "refused {act:?} by {role} changed the database");
            }
        }
    }
}
