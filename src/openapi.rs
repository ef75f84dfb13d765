//! The OpenAPI document: built from the routes themselves (utoipa-actix-web), with the shared
//! parts (security scheme, problem responses) declared here once.

use utoipa::{
    openapi::{
        security::{Http, HttpAuthScheme, SecurityScheme},
        OpenApi as Spec, RefOr,
    },
    Modify, OpenApi,
};

use crate::responses::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Region Västernorrland: international work API",
        description = "System of record for Region Västernorrland's international work under its \
*Internationell policy* (RF 2018-06-21 § 135): governing documents and goals, with the \
council/board split of decision power. Errors are `application/problem+json` (RFC 9457). \
Lists use keyset pagination (`limit`, `cursor`, `next_cursor`, `Link: rel=\"next\"`). \
Single resources carry a strong `ETag`; send it in `If-Match` to change them safely.",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "Region Västernorrland, international work", url = "https://www.rvn.se"),
    ),
    servers((url = "/", description = "This service, wherever it is deployed")),
    components(
        schemas(crate::error::Problem, crate::error::FieldError, crate::access::Role, crate::model::ResourceType),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, NotAcceptable, Gone, Conflict, PreconditionFailed,
            PayloadTooLarge, UnsupportedMediaType, ValidationFailed, Unavailable, InternalError),
    ),
    tags(
        (name = "documents", description = "Governing documents: policy, goal documents, guidelines, programmes, action plans"),
        (name = "goals", description = "Goal trees of documents: goal areas, goals, sub-goals, priority areas"),
        (name = "organisations", description = "Bodies, networks, programme bodies and partners the region works with"),
        (name = "official-contacts", description = "Official international contacts in the region's name: visits, delegations, meetings"),
        (name = "positions", description = "The board's positions (ställningstaganden): decisions in the running international work that adopt no document"),
        (name = "programmes", description = "EU programmes projects are financed under, keyed by CCI code, with their priorities and specific objectives"),
        (name = "activities", description = "What is done to reach the goals: the action plans' activities"),
        (name = "projects", description = "International project cooperation, usually EU co-financed"),
        (name = "memberships", description = "Memberships of bodies and networks, representatives' seats, and their report-backs"),
        (name = "evaluations", description = "Follow-up of memberships, projects, activities, documents and goals"),
        (name = "changes", description = "The change feed: every create, update and delete, in commit order"),
        (name = "audit", description = "The audit trail: who changed what, when, with the record before and after (council and board)"),
        (name = "decisions", description = "The register of decisions: adoptions, approvals and the board's membership decisions"),
        (name = "reports", description = "Follow-up reports: goal fulfilment, membership reviews, the project portfolio, representatives; JSON or CSV"),
        (name = "health", description = "Liveness and readiness"),
    ),
    modifiers(&Security),
)]
pub struct BaseDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        http.description = Some(
            "A JWT with `sub`, `roles` (council, board, officer, integrator, reader), `iss`, `aud` and `exp`.".into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
        // Who may do what, from the one table the service's checks use.
        let info = &mut openapi.info;
        info.description = Some(format!(
            "{}\n\n## Who may do what\n\nA refusal is a 403 naming the roles that would be \
             allowed. What a decision fixes (a document's kind, what the board settled about a \
             membership, a submitted evaluation, an adopted action plan's activities) changes \
             only as each field's description says.\n\n{}",
            info.description.clone().unwrap_or_default(),
            crate::access::matrix_markdown()
        ));
    }
}

/// Finishes the document the routes produced: every operation can fail with a 500, and every
/// operation that creates a record links to the operations on it (OpenAPI links), so clients
/// and tools can follow create -> get -> patch -> action -> delete.
pub fn finish(mut spec: Spec) -> Spec {
    for item in spec.paths.paths.values_mut() {
        for op in operations_mut(item) {
            if op.description.is_none() {
                op.description = op.summary.clone();
            }
            op.responses
                .responses
                .entry("500".into())
                .or_insert_with(|| {
                    RefOr::Ref(utoipa::openapi::Ref::from_response_name("InternalError"))
                });
        }
    }
    add_links(&mut spec);
    add_idempotency_keys(&mut spec);
    spec
}

/// Every POST takes an `Idempotency-Key` (see `crate::idempotency`): documented once, here,
/// with the 409 (still running) and 422 (same key, other request) it can give.
fn add_idempotency_keys(spec: &mut Spec) {
    use utoipa::openapi::{
        path::{ParameterBuilder, ParameterIn},
        ObjectBuilder, Ref, Required, Type,
    };
    for item in spec.paths.paths.values_mut() {
        let Some(op) = item.post.as_mut() else {
            continue;
        };
        let param = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes a retry safe: a repeat with the same key and body within 24 hours replays the first \
                 response (with `Idempotent-Replayed: true`); the same key with another body is a 422; \
                 a repeat while the first is still running is a 409. Keys are per caller.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build();
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(utoipa::openapi::RefOr::T(param));
        for (status, name) in [("409", "Conflict"), ("422", "ValidationFailed")] {
            op.responses
                .responses
                .entry(status.into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

/// `{name}` segments of a path template.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn add_links(spec: &mut Spec) {
    use utoipa::openapi::link::LinkBuilder;
    // (path, method, operation id) of every operation, to link to.
    let mut targets: Vec<(String, &'static str, String)> = Vec::new();
    for (path, item) in &spec.paths.paths {
        for (method, op) in [
            ("get", &item.get),
            ("post", &item.post),
            ("put", &item.put),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ] {
            if let Some(op) = op {
                if let Some(id) = &op.operation_id {
                    targets.push((path.clone(), method, id.clone()));
                }
            }
        }
    }
    for (path, item) in spec.paths.paths.iter_mut() {
        // A POST on a collection creates; a PUT by external id creates or replaces.
        let (collection, op, statuses) =
            if let Some(op) = item.post.as_mut().filter(|_| !path.ends_with('}')) {
                (path.clone(), op, vec!["201"])
            } else if let (Some(op), Some(i)) = (item.put.as_mut(), path.find("/by-external-id/")) {
                (path[..i].to_string(), op, vec!["200", "201"])
            } else {
                continue;
            };
        let own = path_params(path);
        for status in statuses {
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) else {
                continue;
            };
            for (target, method, target_id) in &targets {
                let Some(rest) = target.strip_prefix(&format!("{collection}/{{")) else {
                    continue;
                };
                let new_param = rest.split('}').next().unwrap_or_default();
                if (method == &"post" && !rest.contains("}/")) || target == path {
                    continue;
                }
                let mut link = LinkBuilder::new()
                    .operation_id(target_id.clone())
                    .description(format!(
                        "{} {target} on the record this response describes",
                        method.to_uppercase()
                    ));
                for p in path_params(target) {
                    let value = if p == new_param {
                        "$response.body#/id".to_string()
                    } else if own.contains(&p) {
                        format!("$request.path.{p}")
                    } else {
                        continue;
                    };
                    link = link.parameter(p, value);
                }
                let name = target_id
                    .split('_')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect::<String>();
                response.links.insert(name, RefOr::T(link.build()));
            }
        }
    }
}

/// The document the routes describe, as utoipa builds it.
pub fn spec() -> Spec {
    crate::app::routes_and_spec().1
}

/// The document as served at `/openapi.json` and committed in `openapi/openapi.json`.
pub fn spec_value() -> serde_json::Value {
    let mut v = serde_json::to_value(crate::app::routes_and_spec().1).expect("the spec serialises");
    camel_case_links(&mut v);
    flatten_records(&mut v);
    patch_schemas(&mut v);
    v
}

/// Whether a property schema admits null.
fn nullable(s: &serde_json::Value) -> bool {
    use serde_json::json;
    s["type"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("null")))
        || ["oneOf", "anyOf"].iter().any(|k| {
            s[k].as_array()
                .is_some_and(|a| a.contains(&json!({"type": "null"})))
        })
}

/// A record is its input plus the service's fields (`#[serde(flatten)]`), which utoipa writes
/// as `allOf` of the input (with the input's `additionalProperties: false`, which no record
/// would pass) and the rest, wherever the record appears (a component, a page's items). Each
/// such `allOf` becomes one object again: every property of its parts, each required unless
/// it admits null (a record always carries every field).
fn flatten_records(spec: &mut serde_json::Value) {
    let schemas = spec["components"]["schemas"].clone();
    flatten_all_of(spec, &schemas);
}

fn flatten_all_of(v: &mut serde_json::Value, schemas: &serde_json::Value) {
    use serde_json::{Map, Value};
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(parts)) = o.get("allOf") {
                let mut properties = Map::new();
                for part in parts {
                    let part = match part["$ref"].as_str() {
                        Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
                        None => part,
                    };
                    if let Some(p) = part["properties"].as_object() {
                        properties.extend(p.clone());
                    }
                }
                let required: Vec<Value> = properties
                    .iter()
                    .filter(|(_, p)| !nullable(p))
                    .map(|(k, _)| Value::String(k.clone()))
                    .collect();
                o.remove("allOf");
                o.insert("type".into(), "object".into());
                o.insert("properties".into(), Value::Object(properties));
                o.insert("required".into(), Value::Array(required));
            }
            o.values_mut().for_each(|x| flatten_all_of(x, schemas));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| flatten_all_of(x, schemas)),
        _ => {}
    }
}

/// A merge patch names only what it changes: every PATCH body gets its own schema
/// (`DocumentInput` -> `DocumentPatch`) with no field required, and every field the record may
/// lack also accepting null, which removes it (or restores its default).
fn patch_schemas(spec: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let mut inputs = Vec::new();
    if let Some(paths) = spec["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(content) = item
                .pointer_mut("/patch/requestBody/content")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for media in content.values_mut() {
                let Some(input) = media["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .map(str::to_string)
                else {
                    continue;
                };
                let patch = format!("{}Patch", input.strip_suffix("Input").unwrap_or(&input));
                media["schema"] = json!({"$ref": format!("#/components/schemas/{patch}")});
                inputs.push((input, patch));
            }
        }
    }
    let schemas = &mut spec["components"]["schemas"];
    for (input, patch) in inputs {
        let mut schema = schemas[&input].clone();
        let required: Vec<Value> = schema
            .as_object_mut()
            .and_then(|o| o.remove("required"))
            .and_then(|r| r.as_array().cloned())
            .unwrap_or_default();
        // Not `additionalProperties: false`: schemathesis 4 then reads the create schema's
        // required fields into the patch. Unknown fields are refused all the same (422).
        if let Some(o) = schema.as_object_mut() {
            o.remove("additionalProperties");
        }
        if let Some(props) = schema["properties"].as_object_mut() {
            for (name, prop) in props.iter_mut() {
                if !required.contains(&json!(name)) && !nullable(prop) {
                    *prop = json!({"oneOf": [prop.clone(), {"type": "null"}]});
                }
            }
        }
        schema["description"] = json!(format!(
            "A JSON merge patch (RFC 7396) of {input}: any subset of its fields; null removes a field the record may lack, or restores its default. Fields {input} does not have are refused (422)."
        ));
        schemas[&patch] = schema;
    }
}

/// utoipa writes a Link's fields in snake_case; OpenAPI names them in camelCase.
fn camel_case_links(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut() {
                    if let Some(l) = link.as_object_mut() {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(x) = l.remove(from) {
                                l.insert(to.into(), x);
                            }
                        }
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

pub fn spec_json() -> String {
    let mut s = serde_json::to_string_pretty(&spec_value()).expect("the spec serialises");
    s.push('\n');
    s
}
