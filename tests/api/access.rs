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
    NextYear,
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
        Act::Revise | Act::NextYear => Some(app.adopted("action_plan", "Antagen plan").await),
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
        Act::NextYear => {
            let t = id(target.as_ref().unwrap());
            app.post(&format!("/v1/documents/{t}/next-year"), role, json!({}))
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
        NextYear,
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

/// The running work: every role against every action on organisations, activities, projects,
/// memberships, report-backs and evaluations.
#[derive(Debug, Clone, Copy)]
enum Work {
    List(&'static str),
    CreateOrganisation,
    PatchOrganisation,
    DeleteOrganisation,
    UpsertOrganisation,
    CreateProgramme,
    PatchProgramme,
    DeleteProgramme,
    UpsertProgramme,
    BulkUpsertProgrammes,
    CreateOfficialContact,
    PatchOfficialContact,
    DeleteOfficialContact,
    RecordPosition,
    PatchPosition,
    CreateActivity,
    PatchActivity,
    DeleteActivity,
    CreateProject,
    PatchProject,
    DeleteProject,
    UpsertProject,
    PrepareMembership,
    EditMembershipText,
    DecideMembershipStatus,
    EndMembership,
    DeleteMembership,
    CreateReportBack,
    PatchReportBack,
    DeleteReportBack,
    CreateEvaluation,
    PatchEvaluation,
    SubmitEvaluation,
    DeleteEvaluation,
    ApproveEvaluation,
}

fn work_allowed(w: Work) -> &'static [&'static str] {
    match w {
        Work::List(_) => ALL,
        Work::UpsertOrganisation
        | Work::UpsertProject
        | Work::UpsertProgramme
        | Work::BulkUpsertProgrammes => &["board", "officer", "integrator"],
        Work::RecordPosition | Work::PatchPosition => &["board"],
        Work::DecideMembershipStatus
        | Work::EndMembership
        | Work::DeleteMembership
        | Work::ApproveEvaluation => &["board"],
        _ => &["board", "officer"],
    }
}

async fn attempt_work(app: &TestApp, w: Work, role: &str) -> (Resp, bool) {
    let policy = app.policy().await;
    let org = id(&app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": "Org", "kind": "network"}),
        )
        .await
        .body);
    let programme = id(&app
        .post("/v1/programmes", "board", json!({"name": "Program"}))
        .await
        .body);
    let contact = id(&app
        .post(
            "/v1/official-contacts",
            "board",
            json!({"date": "2026-10-14", "kind": "visit", "title": "Besök"}),
        )
        .await
        .body);
    let position = id(&app
        .post(
            "/v1/positions",
            "board",
            json!({"title": "Hållning", "text": "Text.", "decision": {"body": "board", "date": "2026-11-03", "reference": "RS § 1"}}),
        )
        .await
        .body);
    let plan = app.draft("action_plan", "Plan").await;
    let activity = id(&app
        .post(
            "/v1/activities",
            "board",
            json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "A"}),
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
    let rb_path = format!("/v1/memberships/{membership}/report-backs");
    let rb = id(&app
        .post(
            &rb_path,
            "board",
            json!({"date": "2026-01-01", "meeting": "M", "summary": "S", "reported_to": "board"}),
        )
        .await
        .body);
    let evaluation = id(&app
        .post(
            "/v1/evaluations",
            "board",
            json!({"subject_type": "document", "subject_id": id(&policy)}),
        )
        .await
        .body);
    if matches!(w, Work::ApproveEvaluation) {
        app.post(
            &format!("/v1/evaluations/{evaluation}/submit"),
            "board",
            json!({}),
        )
        .await
        .expect(200);
    }
    let lone_org = id(&app
        .post(
            "/v1/organisations",
            "board",
            json!({"name": "Ensam", "kind": "ngo"}),
        )
        .await
        .body);
    let lone_membership = id(&app
        .post(
            "/v1/memberships",
            "board",
            json!({"kind": "membership", "organisation_id": org}),
        )
        .await
        .body);
    let before = app.snapshot();
    let put = |path: String, body: serde_json::Value| async move {
        app.send(
            app.request(reqwest::Method::PUT, &path, Some(role))
                .json(&body),
        )
        .await
    };
    let r = match w {
        Work::List(path) => app.get(path, role).await,
        Work::CreateOrganisation => app.post("/v1/organisations", role, json!({"name": "Ny", "kind": "ngo"})).await,
        Work::PatchOrganisation => app.patch(&format!("/v1/organisations/{org}"), role, json!({"name": "Nytt namn"})).await,
        Work::DeleteOrganisation => app.delete(&format!("/v1/organisations/{lone_org}"), role).await,
        Work::UpsertOrganisation => put("/v1/organisations/by-external-id/keep/K1".into(), json!({"name": "Ext", "kind": "ngo"})).await,
        Work::CreateProgramme => app.post("/v1/programmes", role, json!({"name": "Nytt", "fund": "erdf"})).await,
        Work::PatchProgramme => app.patch(&format!("/v1/programmes/{programme}"), role, json!({"period": "2021-2027"})).await,
        Work::DeleteProgramme => app.delete(&format!("/v1/programmes/{programme}"), role).await,
        Work::UpsertProgramme => put("/v1/programmes/by-external-id/cci/2021TC16RFTN001".into(), json!({"name": "Aurora"})).await,
        Work::BulkUpsertProgrammes => app.post("/v1/programmes/bulk-upsert", role, json!({"items": [{"external_id": {"scheme": "cci", "value": "2021TC16RFTN001"}, "record": {"name": "Aurora"}}]})).await,
        Work::CreateOfficialContact => app.post("/v1/official-contacts", role, json!({"date": "2026-11-02", "kind": "meeting", "title": "Möte"})).await,
        Work::PatchOfficialContact => app.patch(&format!("/v1/official-contacts/{contact}"), role, json!({"follow_up": "Uppföljt."})).await,
        Work::DeleteOfficialContact => app.delete(&format!("/v1/official-contacts/{contact}"), role).await,
        Work::RecordPosition => app.post("/v1/positions", role, json!({"title": "Ny", "text": "T.", "decision": {"body": "board", "date": "2026-11-04", "reference": "RS § 2"}})).await,
        Work::PatchPosition => app.patch(&format!("/v1/positions/{position}"), role, json!({"text": "Ändrad."})).await,
        Work::CreateActivity => app.post("/v1/activities", role, json!({"document_id": id(&plan), "kind": "eu_advocacy", "title": "B"})).await,
        Work::PatchActivity => app.patch(&format!("/v1/activities/{activity}"), role, json!({"status": "ongoing"})).await,
        Work::DeleteActivity => app.delete(&format!("/v1/activities/{activity}"), role).await,
        Work::CreateProject => app.post("/v1/projects", role, json!({"title": "Q", "region_role": "partner"})).await,
        Work::PatchProject => app.patch(&format!("/v1/projects/{project}"), role, json!({"status": "implementation"})).await,
        Work::DeleteProject => app.delete(&format!("/v1/projects/{project}"), role).await,
        Work::UpsertProject => put("/v1/projects/by-external-id/jems/J1".into(), json!({"title": "Ext", "region_role": "partner"})).await,
        Work::PrepareMembership => app.post("/v1/memberships", role, json!({"kind": "membership", "organisation_id": org})).await,
        Work::EditMembershipText => app.patch(&format!("/v1/memberships/{membership}"), role, json!({"mandate": "Nytt mandat"})).await,
        Work::DecideMembershipStatus => app.patch(&format!("/v1/memberships/{membership}"), role, json!({"status": "notice_given"})).await,
        Work::EndMembership => app.post(&format!("/v1/memberships/{membership}/end"), role, json!({"date": "2026-11-01", "reference": "RS § 1"})).await,
        Work::DeleteMembership => app.delete(&format!("/v1/memberships/{lone_membership}"), role).await,
        Work::CreateReportBack => app.post(&rb_path, role, json!({"date": "2026-02-01", "meeting": "M2", "summary": "S", "reported_to": "council"})).await,
        Work::PatchReportBack => app.patch(&format!("{rb_path}/{rb}"), role, json!({"summary": "Ny"})).await,
        Work::DeleteReportBack => app.delete(&format!("{rb_path}/{rb}"), role).await,
        Work::CreateEvaluation => app.post("/v1/evaluations", role, json!({"subject_type": "project", "subject_id": project})).await,
        Work::PatchEvaluation => app.patch(&format!("/v1/evaluations/{evaluation}"), role, json!({"efficiency": 3})).await,
        Work::SubmitEvaluation => app.post(&format!("/v1/evaluations/{evaluation}/submit"), role, json!({})).await,
        Work::DeleteEvaluation => app.delete(&format!("/v1/evaluations/{evaluation}"), role).await,
        Work::ApproveEvaluation => app.post(&format!("/v1/evaluations/{evaluation}/approve"), role, json!({"date": "2026-11-01", "reference": "RS § 2"})).await,
    };
    let unchanged = app.snapshot() == before;
    (r, unchanged)
}

pub async fn matrix_for_the_running_work(app: TestApp) {
    use Work::*;
    let mut acts = vec![
        List("/v1/organisations"),
        List("/v1/programmes"),
        List("/v1/official-contacts"),
        List("/v1/positions"),
        List("/v1/activities"),
        List("/v1/projects"),
        List("/v1/memberships"),
        List("/v1/evaluations"),
    ];
    acts.extend([
        CreateOrganisation,
        PatchOrganisation,
        DeleteOrganisation,
        UpsertOrganisation,
        CreateProgramme,
        PatchProgramme,
        DeleteProgramme,
        UpsertProgramme,
        BulkUpsertProgrammes,
        CreateOfficialContact,
        PatchOfficialContact,
        DeleteOfficialContact,
        RecordPosition,
        PatchPosition,
        CreateActivity,
        PatchActivity,
        DeleteActivity,
        CreateProject,
        PatchProject,
        DeleteProject,
        UpsertProject,
        PrepareMembership,
        EditMembershipText,
        DecideMembershipStatus,
        EndMembership,
        DeleteMembership,
        CreateReportBack,
        PatchReportBack,
        DeleteReportBack,
        CreateEvaluation,
        PatchEvaluation,
        SubmitEvaluation,
        DeleteEvaluation,
        ApproveEvaluation,
    ]);
    for w in acts {
        for role in ROLES {
            let (r, unchanged) = attempt_work(&app, w, role).await;
            if work_allowed(w).contains(&role) {
                assert!(
                    r.status.is_success(),
                    "{role} must be allowed to {w:?}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                r.expect(403);
                let needed: Vec<&str> = r.body["required_roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                // A status change passes the gate for preparing memberships first; only an officer
                // gets as far as the board-only check.
                let expected: &[&str] = match w {
                    DecideMembershipStatus if role != "officer" => &["board", "officer"],
                    _ => work_allowed(w),
                };
                assert_eq!(needed, expected, "{role} {w:?}: {}", r.text);
                assert!(unchanged, "refused {w:?} by {role} changed the database");
            }
        }
    }
}
