//! The OpenAPI document: built from the routes themselves (utoipa-actix-web), with the shared
//! parts (security scheme, problem responses) declared here once.

use utoipa::{
    openapi::{
        security::{Http, HttpAuthScheme, SecurityScheme},
        OpenApi as Spec, RefOr,
    },
    Modify, OpenApi,
};

/// Problem responses, referenced by every operation that can give them.
pub mod responses {
    use utoipa::openapi::{
        header::Header, schema::Ref, Content, ObjectBuilder, RefOr, Response, ResponseBuilder, Type,
    };

    fn problem(description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
        let mut b = ResponseBuilder::new().description(description).content(
            crate::error::PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
        for (name, desc) in headers {
            b = b.header(
                *name,
                Header::builder()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(*desc))
                    .build(),
            );
        }
        b.build().into()
    }

    macro_rules! problem_response {
        ($name:ident, $desc:literal $(, ($h:literal, $hd:literal))*) => {
            pub struct $name;
            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), problem($desc, &[$(($h, $hd)),*]))
                }
            }
        };
    }

    problem_response!(
        BadRequest,
        "Malformed request: invalid JSON, or a bad or stale cursor"
    );
    problem_response!(
        Unauthorized,
        "Missing, malformed, expired or wrongly signed or addressed token",
        ("WWW-Authenticate", "`Bearer` with the reason")
    );
    problem_response!(
        Forbidden,
        "The token lacks the role this action needs; `required_roles` names it"
    );
    problem_response!(NotFound, "No such resource");
    problem_response!(
        Conflict,
        "The resource's state does not allow this (e.g. it is adopted and read-only)"
    );
    problem_response!(
        PreconditionFailed,
        "`If-Match` does not match the current ETag; nothing was changed"
    );
    problem_response!(PayloadTooLarge, "The body is over 1 MiB");
    problem_response!(
        UnsupportedMediaType,
        "The body is not JSON (or merge-patch JSON where accepted)"
    );
    problem_response!(
        ValidationFailed,
        "Well-formed but invalid; `errors` names each bad field"
    );
    problem_response!(
        Unavailable,
        "The database cannot be reached or the pool is exhausted",
        ("Retry-After", "Seconds to wait before retrying")
    );
    problem_response!(
        InternalError,
        "The request failed on the server; details are logged under the request id"
    );
}

use responses::*;

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
    ),
    components(
        schemas(crate::error::Problem, crate::error::FieldError, crate::access::Role),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed,
            PayloadTooLarge, UnsupportedMediaType, ValidationFailed, Unavailable, InternalError),
    ),
    tags(
        (name = "documents", description = "Governing documents: policy, goal documents, guidelines, programmes, action plans"),
        (name = "goals", description = "Goal trees of documents: goal areas, goals, sub-goals, priority areas"),
        (name = "organisations", description = "Bodies, networks, programme bodies and partners the region works with"),
        (name = "activities", description = "What is done to reach the goals: the action plans' activities"),
        (name = "projects", description = "International project cooperation, usually EU co-financed"),
        (name = "memberships", description = "Memberships of bodies and networks, representatives' seats, and their report-backs"),
        (name = "evaluations", description = "Follow-up of memberships, projects, activities, documents and goals"),
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
    }
}

/// Finishes the document the routes produced: every operation can fail with a 500.
pub fn finish(mut spec: Spec) -> Spec {
    for item in spec.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("500".into())
                .or_insert_with(|| {
                    RefOr::Ref(utoipa::openapi::Ref::from_response_name("InternalError"))
                });
        }
    }
    spec
}

/// The document as committed in `openapi/openapi.json`.
pub fn spec() -> Spec {
    crate::app::routes_and_spec().1
}

pub fn spec_json() -> String {
    let mut s = spec().to_pretty_json().expect("the spec serialises");
    s.push('\n');
    s
}

/// The sets of problem responses operations share, so each operation names its set once.
pub mod errors {
    use std::collections::BTreeMap;

    use utoipa::openapi::{Ref, RefOr, Response};

    macro_rules! problem_set {
        ($(#[$doc:meta])* $name:ident: $($status:literal => $resp:ident),+) => {
            $(#[$doc])*
            pub struct $name;
            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    [$(($status.to_string(), RefOr::Ref(Ref::from_response_name(stringify!($resp))))),+]
                        .into_iter()
                        .collect()
                }
            }
        };
    }

    problem_set!(
        /// A collection read.
        ListErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A collection read under a parent that may not exist.
        NestedListErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A single read.
        GetErrors: "401" => Unauthorized, "403" => Forbidden, "404" => NotFound, "503" => Unavailable
    );
    problem_set!(
        /// A create with a JSON body.
        CreateErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "413" => PayloadTooLarge, "415" => UnsupportedMediaType, "422" => ValidationFailed,
        "503" => Unavailable
    );
    problem_set!(
        /// A create whose target's state may refuse it.
        CreateStatefulErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "409" => Conflict, "413" => PayloadTooLarge, "415" => UnsupportedMediaType,
        "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A create under a parent that may not exist.
        NestedCreateErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "413" => PayloadTooLarge, "415" => UnsupportedMediaType,
        "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A merge patch.
        PatchErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "412" => PreconditionFailed, "413" => PayloadTooLarge,
        "415" => UnsupportedMediaType, "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A merge patch, or an action with a body, on a record whose state may refuse it.
        PatchStatefulErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "409" => Conflict, "412" => PreconditionFailed,
        "413" => PayloadTooLarge, "415" => UnsupportedMediaType, "422" => ValidationFailed,
        "503" => Unavailable
    );
    problem_set!(
        /// A delete.
        DeleteErrors: "401" => Unauthorized, "403" => Forbidden, "404" => NotFound,
        "412" => PreconditionFailed, "503" => Unavailable
    );
    problem_set!(
        /// A delete, or an action without a body, on a record whose state may refuse it.
        StatefulErrors: "401" => Unauthorized, "403" => Forbidden, "404" => NotFound,
        "409" => Conflict, "412" => PreconditionFailed, "503" => Unavailable
    );
    problem_set!(
        /// A create-or-replace by external id.
        UpsertErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "412" => PreconditionFailed, "413" => PayloadTooLarge, "415" => UnsupportedMediaType,
        "422" => ValidationFailed, "503" => Unavailable
    );
}
