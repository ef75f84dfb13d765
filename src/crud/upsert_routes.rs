//! The integrators' two handlers of a resource written by external id (`PUT
//! .../by-external-id/{scheme}/{value}` and `POST .../bulk-upsert`), declared once for every
//! such resource with their OpenAPI annotations.

/// Declares `$upsert` and `$bulk` for `$record` (written as `$input`) under the tag `$tag`,
/// each with the doc comment given before it (the operation's description in the spec). The
/// caller imports `actix_web::{put, post}` and `crate::crud`: utoipa knows the method by the
/// attribute's bare name, and the bulk body's schema by a path it can name.
#[macro_export]
macro_rules! upsert_routes {
    (
        record = $record:ident, input = $input:ident, tag = $tag:literal, scheme = $scheme:literal,
        $(#[doc = $upsert_doc:literal])* $upsert:ident,
        $(#[doc = $bulk_doc:literal])* $bulk:ident $(,)?
    ) => {
        $(#[doc = $upsert_doc])*
        #[utoipa::path(
            tag = $tag,
            security(("bearer" = [])),
            params(("scheme" = String, Path, description = $scheme),
                   ("value" = String, Path, description = "The id in that scheme"),
                   ("If-Match" = Option<String>, Header, description = "Replace only if the record still has this ETag"),
                   ("If-None-Match" = Option<String>, Header, description = "`*`: create only, never replace")),
            request_body(content = $input, content_type = "application/json",
                description = "The source's whole record; the path's external id is added when missing. Region-owned fields are written only when the record is created"),
            responses(
                (status = 200, description = "Replaced", body = $record,
                    headers(("ETag" = String, description = "Strong ETag of the new version"))),
                (status = 201, description = "Created", body = $record,
                    headers(("Location" = String, description = "The new record's URL"),
                            ("ETag" = String, description = "Strong ETag of this version"))),
                $crate::responses::errors::UpsertErrors,
            )
        )]
        #[put("/by-external-id/{scheme}/{value}")]
        pub async fn $upsert(
            req: actix_web::HttpRequest,
            caller: $crate::auth::Caller,
            state: actix_web::web::Data<$crate::state::AppState>,
            path: actix_web::web::Path<(String, String)>,
            body: actix_web::web::Bytes,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            let (scheme, value) = path.into_inner();
            $crate::crud::upsert::<$record>(req, caller, state, scheme, value, body).await
        }

        $(#[doc = $bulk_doc])*
        #[utoipa::path(
            tag = $tag,
            security(("bearer" = [])),
            params($crate::crud::BulkQuery),
            request_body(content = crud::BulkRequest<$input>, content_type = "application/json"),
            responses(
                (status = 207, description = "A result per item: created, updated, unchanged or failed (with its problem)",
                    body = $crate::crud::BulkResponse),
                $crate::responses::errors::CreateErrors,
            )
        )]
        #[post("/bulk-upsert")]
        pub async fn $bulk(
            req: actix_web::HttpRequest,
            caller: $crate::auth::Caller,
            state: actix_web::web::Data<$crate::state::AppState>,
            query: actix_web::web::Query<$crate::crud::BulkQuery>,
            body: actix_web::web::Bytes,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::crud::bulk_upsert::<$record>(req, caller, state, query.into_inner(), body).await
        }
    };
}
