// What a front-end does, through a client generated from openapi/openapi.json: read the policy
// and its goal tree, draft an action plan with activities as an officer, propose it, adopt it as
// the board, be refused as a reader, lose a race with a stale ETag, and page through a list.
import createClient from "openapi-fetch";
import type { paths, components } from "./api.js";

type Goal = components["schemas"]["Goal"];

const baseUrl = process.env.BASE_URL ?? "http://127.0.0.1:8080";
function token(role: string): string {
  const t = process.env[`TOKEN_${role.toUpperCase()}`];
  if (!t) throw new Error(`TOKEN_${role.toUpperCase()} is not set`);
  return t;
}
function client(role: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token(role)}` } });
}
let checks = 0;
function check(condition: boolean, what: string): asserts condition {
  checks += 1;
  if (!condition) throw new Error(`check failed: ${what}`);
}

const reader = client("reader");
const officer = client("officer");
const board = client("board");

// The policy and its goal tree.
const policies = await reader.GET("/v1/documents", { params: { query: { kind: "policy", status: "adopted" } } });
check(policies.response.status === 200 && policies.data !== undefined, "list policies");
const policy = policies.data.items[0];
check(policy !== undefined && policy.document_number === "320944", "the 2018 policy is there");
check(policy.decision?.reference === "RF 2018-06-21 § 135", "its decision is recorded");
const goals = await reader.GET("/v1/goals", { params: { query: { document_id: policy.id, limit: 500 } } });
check(goals.data !== undefined, "list goals");
const byParent = new Map<string | null, Goal[]>();
for (const g of goals.data.items) {
  const key = g.parent_id ?? null;
  byParent.set(key, [...(byParent.get(key) ?? []), g]);
}
const areas = (byParent.get(null) ?? []).filter((g) => g.kind === "goal_area");
check(areas.length === 3, "three goal areas");
check(areas.map((a) => (byParent.get(a.id) ?? []).length).join(",") === "3,2,2", "seven goals under them");
const priorityAreas = goals.data.items.filter((g) => g.kind === "priority_area");
check(priorityAreas.length === 5, "five priority areas");

// An officer drafts an action plan with activities.
const plan = await officer.POST("/v1/documents", {
  body: { kind: "action_plan", title: "Internationell handlingsplan 2027", year: 2027 },
});
check(plan.response.status === 201 && plan.data !== undefined, "create the action plan");
const planId = plan.data.id;
const firstGoal = (byParent.get(areas[0]!.id) ?? [])[0];
check(firstGoal !== undefined, "a goal to link");
const activityIds: string[] = [];
for (const [i, title] of ["Påverkansarbete i Bryssel", "Interreg Aurora-ansökan", "Språkkurs för politiker"].entries()) {
  const a = await officer.POST("/v1/activities", {
    body: {
      document_id: planId,
      kind: i === 2 ? "competence_development" : "eu_advocacy",
      title,
      goal_ids: [firstGoal.id],
      priority_area_ids: [priorityAreas[i]!.id],
    },
  });
  check(a.response.status === 201 && a.data !== undefined, `create activity ${title}`);
  activityIds.push(a.data.id);
}

// Propose as the officer, adopt as the board.
const proposed = await officer.POST("/v1/documents/{id}/propose", { params: { path: { id: planId } } });
check(proposed.data?.status === "proposed", "proposed");
const adopted = await board.POST("/v1/documents/{id}/adopt", {
  params: { path: { id: planId } },
  body: { date: "2026-12-10", reference: "RS 2026-12-10 § 210" },
});
check(adopted.data?.status === "adopted" && adopted.data.decision?.body === "board", "adopted by the board");

// A reader is refused, with a problem naming the roles needed.
const refused = await reader.POST("/v1/documents", { body: { kind: "programme", title: "Får inte" } });
check(refused.response.status === 403, "a reader cannot draft");
check(refused.response.headers.get("content-type")?.startsWith("application/problem+json") === true, "as a problem");
check((refused.error?.required_roles ?? []).includes("officer"), "naming the officer role");

// A concurrent change: the board edits first, the officer's stale ETag is refused.
const first = activityIds[0]!;
const seen = await officer.GET("/v1/activities/{id}", { params: { path: { id: first } } });
const etag = seen.response.headers.get("etag");
check(etag !== null, "an ETag");
const boardEdit = await board.PATCH("/v1/activities/{id}", {
  params: { path: { id: first }, header: { "If-Match": etag } },
  body: { status: "ongoing" },
});
check(boardEdit.response.status === 200, "the board's change lands");
const stale = await officer.PATCH("/v1/activities/{id}", {
  params: { path: { id: first }, header: { "If-Match": etag } },
  body: { status: "cancelled" },
});
check(stale.response.status === 412, "the stale change is refused with 412");
const after = await reader.GET("/v1/activities/{id}", { params: { path: { id: first } } });
check(after.data?.status === "ongoing", "and nothing was lost");

// Page through the plan's activities one at a time.
const seenIds: string[] = [];
let cursor: string | undefined;
for (;;) {
  const page = await reader.GET("/v1/activities", {
    params: { query: { document_id: planId, limit: 1, ...(cursor ? { cursor } : {}) } },
  });
  check(page.data !== undefined, "a page");
  seenIds.push(...page.data.items.map((a) => a.id));
  if (!page.data.next_cursor) break;
  cursor = page.data.next_cursor;
}
check(seenIds.length === 3 && new Set(seenIds).size === 3, "three pages, each activity once");
check(activityIds.every((id) => seenIds.includes(id)), "all created activities paged");

console.log(`typescript client: ${checks} checks passed`);
