//! Shared pieces of every resource: closed enums stored as text, timestamps, and field checks
//! that gather every problem of a body into one 422.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

use crate::error::{ApiError, FieldError};

/// Declares a closed enum that is `snake_case` in JSON, documented in the spec, and stored as text.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            /// Reads a stored value; a value the code does not know is a server fault.
            pub fn from_db(s: &str) -> Result<Self, $crate::error::ApiError> {
                Self::parse(s).ok_or_else(|| $crate::error::ApiError::internal(
                    format!("stored {} {s:?} is not known", stringify!($name))))
            }
            /// Parses a query parameter, naming it in the 422.
            pub fn from_query(field: &str, s: &str) -> Result<Self, $crate::error::ApiError> {
                Self::parse(s).ok_or_else(|| $crate::error::ApiError::validation(field, format!(
                    "unknown value {s:?}; expected one of {}",
                    Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))))
            }
        }
    };
}

/// Now, in UTC, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Collects field problems so a body's every fault is reported at once.
#[derive(Default)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Text that is stored: no NUL (PostgreSQL cannot hold it), within `max` characters,
    /// and not blank when `required`.
    pub fn text(&mut self, field: &str, value: Option<&str>, required: bool, max: usize) {
        match value {
            None if required => self.add(field, "is required"),
            None => {}
            Some(v) => {
                if v.contains('\0') {
                    self.add(field, "must not contain NUL characters");
                } else if required && v.trim().is_empty() {
                    self.add(field, "must not be blank");
                } else if v.chars().count() > max {
                    self.add(field, format!("must be at most {max} characters"));
                }
            }
        }
    }

    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(v) = value {
            if v < min || v > max {
                self.add(field, format!("must be between {min} and {max}"));
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// Parses an RFC 3339 time from a query parameter.
pub fn parse_time_param(field: &str, value: &str) -> Result<NaiveDateTime, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .map_err(|_| {
            ApiError::validation(field, "must be an RFC 3339 time, e.g. 2026-11-28T07:00:00Z")
        })
}
