//! Timestamps read by hand (`FastTimestamp`): chrono's format strings were a tenth of a
//! feed page's CPU.

use super::*;

/// A timestamp column read as `chrono::NaiveDateTime` (a list's keys' `updated_at`). SQLite
/// keeps timestamps as text, and diesel reads them by trying chrono's format strings one after
/// another: about 2 000 instructions a value, a third of a cached page of 50 (callgrind). The
/// text the service writes (`%F %T%.f`) is read here by hand; anything else falls back to
/// diesel. PostgreSQL's binary timestamps are diesel's.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct FastTimestamp(pub chrono::NaiveDateTime);

impl From<FastTimestamp> for chrono::NaiveDateTime {
    fn from(t: FastTimestamp) -> Self {
        t.0
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite>
    for FastTimestamp
{
    fn from_sql(
        mut value: diesel::sqlite::SqliteValue<'_, '_, '_>,
    ) -> diesel::deserialize::Result<Self> {
        let fast = match value.value_type() {
            Some(diesel::sqlite::SqliteType::Text) => parse_timestamp(value.read_text()),
            _ => None,
        };
        match fast {
            Some(t) => Ok(FastTimestamp(t)),
            None => <chrono::NaiveDateTime as diesel::deserialize::FromSql<
                diesel::sql_types::Timestamp,
                diesel::sqlite::Sqlite,
            >>::from_sql(value)
            .map(FastTimestamp),
        }
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::pg::Pg> for FastTimestamp {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <chrono::NaiveDateTime as diesel::deserialize::FromSql<
            diesel::sql_types::Timestamp,
            diesel::pg::Pg,
        >>::from_sql(value)
        .map(FastTimestamp)
    }
}

/// Through `DbConnection` (the feed's rows): each backend's own impl above.
impl
    diesel::deserialize::FromSql<
        diesel::sql_types::Timestamp,
        <DbConnection as diesel::Connection>::Backend,
    > for FastTimestamp
{
    fn from_sql(
        value: <<DbConnection as diesel::Connection>::Backend as diesel::backend::Backend>::RawValue<'_>,
    ) -> diesel::deserialize::Result<Self> {
        value.from_sql::<Self, diesel::sql_types::Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits; `None` for anything else.
pub(super) fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20..b.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?.and_hms_nano_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        nanos,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_by_hand_as_chrono_reads_them() {
        use chrono::NaiveDateTime;
        for s in [
            "2026-12-06 19:46:26.141035",
            "2026-12-06 19:46:26",
            "2026-01-31 00:00:00.5",
            "1999-12-31 23:59:59.123456789",
            "2024-02-29 12:00:00.000",
        ] {
            let chrono = NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
            assert_eq!(super::parse_timestamp(s), Some(chrono), "{s}");
        }
        for s in [
            "",
            "2026-12-06",
            "2026-12-06T19:46:26",
            "2026-12-06 19:46:26.",
            "2026-12-06 19:46:26.1234567890",
            "2026-12-06 19:46:26+01:00",
            "2026-02-30 19:46:26",
            "2026-12-06 24:00:00",
            "2026-1a-06 19:46:26",
            "+026-12-06 19:46:26",
        ] {
            assert_eq!(super::parse_timestamp(s), None, "{s}");
        }
    }
}
