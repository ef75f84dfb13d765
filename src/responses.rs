//! The problem responses operations document, declared once: each response (`BadRequest`,
//! `Conflict`, ...) and, in `errors`, the sets operations share, so each operation names its set
//! once.

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
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
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
    NotAcceptable,
    "The `Accept` header asks for a format this resource does not give"
);
problem_response!(
    Gone,
    "A point-in-time read (`as_of`) of a record that had been deleted by then"
);
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
        /// A single read, current or as of a time.
        GetErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "410" => Gone, "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A report, as JSON or CSV.
        ReportErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "406" => NotAcceptable, "422" => ValidationFailed, "503" => Unavailable
    );
    problem_set!(
        /// A report about one record that may not exist, as JSON or CSV.
        RecordReportErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "406" => NotAcceptable, "422" => ValidationFailed,
        "503" => Unavailable
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
        "409" => Conflict, "412" => PreconditionFailed, "413" => PayloadTooLarge, "415" => UnsupportedMediaType,
        "422" => ValidationFailed, "503" => Unavailable
    );
}
