//! Shared pieces of every resource: closed enums stored as text, timestamps, and field checks
//! that gather every problem of a body into one 422.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

use crate::error::{ApiError, FieldError};

/// A record is its input plus the service's fields: the input sits in `fields`
/// (`#[serde(flatten)]`, so the JSON is one object), and the record reads as its input
/// (`record.title`) through `Deref`, so each writable field is declared once.
#[macro_export]
macro_rules! record_fields {
    ($record:ty, $input:ty) => {
        impl std::ops::Deref for $record {
            type Target = $input;
            fn deref(&self) -> &$input {
                &self.fields
            }
        }
    };
}

/// The keys of a record the write path logs (`changes::Resource`): its kind, and its `id`,
/// `version` and `updated_at` fields.
#[macro_export]
macro_rules! resource_keys {
    ($kind:ident) => {
        const KIND: $crate::model::ResourceType = $crate::model::ResourceType::$kind;
        fn id(&self) -> &str {
            &self.id
        }
        fn version(&self) -> i64 {
            self.version
        }
        fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
            self.updated_at
        }
    };
}

/// Declares a closed enum that is `snake_case` in JSON, documented in the spec, and stored as text.
/// A value may carry its Swedish label (`Active => "active" / "aktiv"`), which the service's own
/// Swedish text uses (`sv`); a value without one reads as its code.
#[macro_export]
macro_rules! string_enum {
    (@sv $text:literal) => { $text };
    (@sv $text:literal, $sv:literal) => { $sv };
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal $(/ $sv:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// The Swedish label, or the code when the value has none.
            pub const fn sv(self) -> &'static str {
                match self { $($name::$variant => $crate::string_enum!(@sv $text $(, $sv)?)),+ }
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

// A resource names its own kind (`changes::Resource::KIND`), so the feed's and the audit
// trail's filters know every resource that compiles.
string_enum!(
    /// The kinds of record in the audit trail and the change feed (`resource_type`).
    ResourceType {
        Document => "document",
        Goal => "goal",
        Organisation => "organisation",
        Programme => "programme",
        OfficialContact => "official_contact",
        Position => "position",
        Activity => "activity",
        Project => "project",
        Membership => "membership",
        ReportBack => "report_back",
        Evaluation => "evaluation",
    }
);

/// Now, in UTC, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// A time as the database keeps it (to the microsecond), so that what a write answers is what
/// a later read gives.
pub fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// `N` bytes from the operating system's random source, for secrets and keys.
pub fn secret_bytes<const N: usize>() -> [u8; N] {
    use rand::TryRng;
    let mut b = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut b)
        .expect("the operating system's random source");
    b
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Fields that hold running text (descriptions, mandates, notes, summaries, findings), where
/// tab and line breaks belong; every other text field (titles, names, references, ids) is one
/// line. Decided by the field's own name, the last part of its path.
pub fn is_multi_line(field: &str) -> bool {
    const MULTI_LINE: [&str; 7] = [
        "description",
        "mandate",
        "notes",
        "summary",
        "findings",
        "text",
        "progress_notes",
    ];
    let name = field.rsplit('.').next().unwrap_or(field);
    let name = name.split('[').next().unwrap_or(name);
    MULTI_LINE.contains(&name) || name.ends_with("_description") || name.ends_with("_notes")
}

/// Characters that reorder how text is shown (RLO and its kin): an external id holding one
/// could look like another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Parses an optional whole-number query parameter within a range, naming it in the 422.
pub fn int_param(
    field: &str,
    value: Option<&str>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    match value {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::validation(
                field,
                format!("must be a whole number from {min} to {max}"),
            )),
        },
    }
}

/// Collects field problems so a body's every fault is reported at once.
#[derive(Default)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Text that is stored: no control characters (NUL, which PostgreSQL cannot hold, escapes,
    /// ...) except tab and line breaks in a multi-line field (`is_multi_line`), within `max`
    /// characters, and not blank when `required`.
    pub fn text(&mut self, field: &str, value: Option<&str>, required: bool, max: usize) {
        match value {
            None if required => self.add(field, "is required"),
            None => {}
            Some(v) => {
                let multi_line = is_multi_line(field);
                let refused =
                    |c: char| c.is_control() && !(multi_line && matches!(c, '\t' | '\n' | '\r'));
                if v.chars().any(refused) {
                    self.add(
                        field,
                        if multi_line {
                            "must not contain control characters other than tab and line breaks"
                        } else {
                            "must be one line without control characters (no tab or line break)"
                        },
                    );
                } else if required && v.trim().is_empty() {
                    self.add(field, "must not be blank");
                } else if v.chars().count() > max {
                    self.add(field, format!("must be at most {max} characters"));
                }
            }
        }
    }

    /// An external id's value: one line of at most 200 characters, no bidirectional controls.
    pub fn external_id_value(&mut self, field: &str, value: &str) {
        self.text(field, Some(value), true, 200);
        if value.chars().any(is_bidi_control) {
            self.add(field, "must not contain bidirectional control characters");
        }
    }

    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(v) = value {
            if v < min || v > max {
                self.add(field, format!("must be between {min} and {max}"));
            }
        }
    }

    /// An optional whole-number query parameter within a range; a bad one is noted, not fatal,
    /// so every bad parameter is reported at once.
    pub fn int_param(
        &mut self,
        field: &str,
        value: Option<&str>,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match int_param(field, value, min, max) {
            Ok(v) => v,
            Err(ApiError::Validation(mut e)) => {
                self.0.append(&mut e);
                None
            }
            Err(_) => None,
        }
    }

    /// An optional `YYYY-MM-DD` query parameter, in the years 1900-2200.
    pub fn date_param(&mut self, field: &str, value: Option<&str>) -> Option<chrono::NaiveDate> {
        match chrono::NaiveDate::parse_from_str(value?, "%Y-%m-%d") {
            Ok(d) if (1900..=2200).contains(&d.year()) => Some(d),
            _ => {
                self.add(field, "must be a date, YYYY-MM-DD, in the years 1900-2200");
                None
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

/// An amount of money: a decimal string (at most two decimals, never negative) and an ISO 4217
/// currency. Stored as minor units, so sums are exact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Decimal string, e.g. `1250000.00`.
    #[schema(example = "1250000.00", pattern = r"^\d{1,13}(\.\d{1,2})?$")]
    pub amount: String,
    /// ISO 4217 code, e.g. `EUR` or `SEK`.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl Money {
    /// Minor units (cents/öre), or why the amount is not acceptable.
    pub fn minor_units(&self) -> Result<i64, &'static str> {
        let a = self.amount.as_str();
        let (whole, frac) = a.split_once('.').unwrap_or((a, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if a.starts_with('-') {
            return Err("must not be negative");
        }
        if !digits(whole)
            || (a.contains('.') && !digits(frac))
            || frac.len() > 2
            || whole.len() > 13
        {
            return Err(
                "must be a decimal string with at most 13 digits and 2 decimals, e.g. 1250000.00",
            );
        }
        let frac_val: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        Ok(whole.parse::<i64>().map_err(|_| "is too large")? * 100 + frac_val)
    }

    /// Any count of minor units, sums included (128 bits, so a sum of amounts cannot wrap).
    pub fn from_minor(minor: impl Into<i128>, currency: String) -> Self {
        let minor: i128 = minor.into();
        Money {
            amount: format!("{}.{:02}", minor / 100, minor % 100),
            currency,
        }
    }

    /// As stored and shown: `1250000.5` becomes `1250000.50`.
    pub fn normalised(self) -> Self {
        match self.minor_units() {
            Ok(minor) => Money::from_minor(minor, self.currency),
            Err(_) => self,
        }
    }

    /// Both columns or neither, as stored.
    pub fn from_columns(minor: Option<i64>, currency: Option<String>) -> Option<Self> {
        match (minor, currency) {
            (Some(m), Some(c)) => Some(Money::from_minor(m, c)),
            _ => None,
        }
    }

    /// The two columns for an optional amount (call after `Checks::money` passed).
    pub fn columns(m: &Option<Money>) -> (Option<i64>, Option<String>) {
        match m {
            Some(m) => (m.minor_units().ok(), Some(m.currency.clone())),
            None => (None, None),
        }
    }
}

impl Checks {
    pub fn money(&mut self, field: &str, value: Option<&Money>) {
        if let Some(m) = value {
            if let Err(e) = m.minor_units() {
                self.add(format!("{field}.amount"), e);
            }
            if !(m.currency.len() == 3 && m.currency.bytes().all(|b| b.is_ascii_uppercase())) {
                self.add(
                    format!("{field}.currency"),
                    "must be an ISO 4217 code of three capital letters, e.g. EUR",
                );
            }
        }
    }

    /// `end` must not be before `start` when both are given.
    pub fn date_order(
        &mut self,
        end_field: &str,
        start: Option<chrono::NaiveDate>,
        end: Option<chrono::NaiveDate>,
    ) {
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                self.add(end_field, format!("must not be before the start ({s})"));
            }
        }
    }

    /// ISO 3166-1 alpha-2: two capital letters.
    pub fn country(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            if !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase())) {
                self.add(field, "must be an ISO 3166-1 alpha-2 code, e.g. SE");
            }
        }
    }

    pub fn url(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            let ok = (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() > 8
                && v.len() <= 500
                && !v.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                self.add(field, "must be an http(s) URL of at most 500 characters");
            }
        }
    }

    /// A list of ids or codes: at most `max`, none blank or repeated.
    pub fn id_list(&mut self, field: &str, values: &[String], max: usize) {
        if values.len() > max {
            self.add(field, format!("at most {max} entries"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in values.iter().enumerate() {
            self.text(&format!("{field}[{i}]"), Some(v), true, 64);
            if !seen.insert(v) {
                self.add(format!("{field}[{i}]"), "is listed twice");
            }
        }
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    fn fields(f: impl FnOnce(&mut Checks)) -> Vec<String> {
        let mut c = Checks::default();
        f(&mut c);
        c.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn control_characters_are_refused_except_breaks_in_running_text() {
        assert!(fields(|c| c.text("title", Some("Ett\u{7}"), true, 50)) == ["title"]);
        assert!(fields(|c| c.text("title", Some("rad\nbrytning"), true, 50)) == ["title"]);
        assert!(fields(|c| c.text("title", Some("a\tb"), true, 50)) == ["title"]);
        assert!(fields(|c| c.text("title", Some("a\u{85}b"), true, 50)) == ["title"]);
        assert!(
            fields(|c| c.text("description", Some("rad\r\nbrytning\tflik"), false, 50)).is_empty()
        );
        assert!(
            fields(|c| c.text("description", Some("a\u{1b}[31m"), false, 50)) == ["description"]
        );
        assert!(fields(|c| c.text("description", Some("a\0"), false, 50)) == ["description"]);
        assert!(
            fields(|c| c.text("partners[0].role_description", Some("a\nb"), false, 50)).is_empty()
        );
        assert!(
            fields(|c| c.text("title", Some("Västernorrland – \"RVN\" ’"), true, 50)).is_empty()
        );
    }

    #[test]
    fn external_ids_refuse_bidi_controls() {
        assert!(fields(|c| c.external_id_value("value", "A-1")).is_empty());
        assert_eq!(
            fields(|c| c.external_id_value("value", "A\u{202E}1-B")),
            ["value"]
        );
        assert_eq!(
            fields(|c| c.external_id_value("value", "A\u{2066}1")),
            ["value"]
        );
        assert_eq!(
            fields(|c| c.external_id_value("value", "A\u{1}")),
            ["value"]
        );
    }
}

#[cfg(test)]
mod money_tests {
    use super::*;

    fn m(a: &str) -> Money {
        Money {
            amount: a.into(),
            currency: "EUR".into(),
        }
    }

    #[test]
    fn parses_decimal_strings_exactly() {
        assert_eq!(m("1250000.00").minor_units(), Ok(125_000_000));
        assert_eq!(m("0.5").minor_units(), Ok(50));
        assert_eq!(m("7").minor_units(), Ok(700));
        assert!(m("-1").minor_units().is_err());
        assert!(m("1.234").minor_units().is_err());
        assert!(m("1e5").minor_units().is_err());
        assert!(m("").minor_units().is_err());
        assert!(m("1.").minor_units().is_err());
        assert!(m("99999999999999").minor_units().is_err());
        assert_eq!(
            Money::from_minor(125_000_050, "EUR".into()).amount,
            "1250000.50"
        );
        assert_eq!(
            Money::from_minor(10_000 * 999_999_999_999_999_i128, "EUR".into()).amount,
            "99999999999999900.00"
        );
    }
}
