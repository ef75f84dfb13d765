//! Follow-up reports (the policy's uppföljning): goal fulfilment, membership reviews, the project
//! portfolio and representatives. Each is JSON, or CSV with `Accept: text/csv`: one place here
//! chooses the format and writes the CSV, so every report's two forms carry the same numbers.

pub mod goal_fulfilment;
pub mod membership_reviews;
pub mod portfolio;
pub mod representatives;

use actix_web::{
    http::header::{self, HeaderValue},
    HttpRequest, HttpResponse,
};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// The formats a report comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// Picks JSON or CSV from `Accept` (RFC 9110 §12.5.1: the most specific matching range gives
/// each format its weight; the higher weight wins, JSON on a tie). No `Accept` means JSON; an
/// `Accept` that allows neither is a 406.
pub fn negotiate(req: &HttpRequest) -> ApiResult<Format> {
    let Some(accept) = req.headers().get(header::ACCEPT) else {
        return Ok(Format::Json);
    };
    let accept = accept.to_str().unwrap_or("");
    if accept.trim().is_empty() {
        return Ok(Format::Json);
    }
    // (specificity, q) of the best-matching range for each format.
    let mut json = (0u8, None::<f32>);
    let mut csv = (0u8, None::<f32>);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        for (target, slot) in [("application/json", &mut json), ("text/csv", &mut csv)] {
            let (ty, _) = target.split_once('/').unwrap_or((target, ""));
            let specificity = if media == target {
                3
            } else if media == format!("{ty}/*") {
                2
            } else if media == "*/*" {
                1
            } else {
                0
            };
            if specificity > slot.0 {
                *slot = (specificity, Some(q));
            }
        }
    }
    let (jq, cq) = (json.1.unwrap_or(0.0), csv.1.unwrap_or(0.0));
    if jq <= 0.0 && cq <= 0.0 {
        return Err(ApiError::NotAcceptable(
            "reports come as application/json or text/csv".into(),
        ));
    }
    Ok(if cq > jq || (cq == jq && csv.0 > json.0) {
        Format::Csv
    } else {
        Format::Json
    })
}

/// A report in CSV form: a header row and one row per line of the report.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// RFC 4180 with CRLF line ends. A plain number is written as it is; every other cell is
    /// text, always double-quoted and defused (see `cell`), so no spreadsheet runs it as a
    /// formula whichever delimiter it splits on.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(self.rows.iter()) {
            let line = row.iter().map(|f| cell(f)).collect::<Vec<_>>().join(",");
            out.push_str(&line);
            out.push_str("\r\n");
        }
        out
    }
}

/// Characters on which a spreadsheet may split a line into cells (comma, Swedish Excel's
/// semicolon, tab).
const DELIMITERS: [char; 3] = [',', ';', '\t'];
/// Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `-?digits(.digits)?`: a number, which no spreadsheet runs.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(frac)
}

/// A number as it is; any other value quoted, with `'` put before a formula trigger wherever a
/// cell could begin: at the start, and after each delimiter a spreadsheet might split on.
fn cell(f: &str) -> String {
    if is_number(f) {
        return f.to_string();
    }
    let mut out = String::with_capacity(f.len() + 2);
    out.push('"');
    let mut cell_start = true;
    for (i, c) in f.char_indices() {
        if cell_start && FORMULA_TRIGGERS.contains(&c) {
            // The would-be cell: up to the next delimiter after this character.
            let rest = &f[i..];
            let first = c.len_utf8();
            let segment = rest[first..]
                .find(DELIMITERS)
                .map_or(rest, |end| &rest[..first + end]);
            if !is_number(segment) {
                out.push('\'');
            }
        }
        if c == '"' {
            out.push('"');
        }
        out.push(c);
        cell_start = DELIMITERS.contains(&c);
    }
    out.push('"');
    out
}

/// A CSV cell from an optional value.
pub fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

/// The report in the format asked for, marked as varying by `Accept`.
pub fn respond<T: Serialize>(
    format: Format,
    name: &str,
    report: &T,
    table: impl FnOnce(&T) -> Table,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::VARY, HeaderValue::from_static("Accept")));
    match format {
        Format::Json => res.json(report),
        Format::Csv => res
            .insert_header((
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8; header=present",
            ))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.csv\""),
            ))
            .body(table(report).to_csv()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn pick(accept: Option<&str>) -> ApiResult<Format> {
        let mut r = TestRequest::default();
        if let Some(a) = accept {
            r = r.insert_header((header::ACCEPT, a));
        }
        negotiate(&r.to_http_request())
    }

    #[test]
    fn accept_chooses_json_or_csv() {
        assert_eq!(pick(None).unwrap(), Format::Json);
        assert_eq!(pick(Some("*/*")).unwrap(), Format::Json);
        assert_eq!(pick(Some("text/csv")).unwrap(), Format::Csv);
        assert_eq!(pick(Some("text/csv, */*")).unwrap(), Format::Csv);
        assert_eq!(pick(Some("text/*")).unwrap(), Format::Csv);
        assert_eq!(
            pick(Some("application/json;q=0.5, text/csv;q=0.9")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            pick(Some("text/csv;q=0.2, application/json")).unwrap(),
            Format::Json
        );
        assert_eq!(pick(Some("*/*, text/csv;q=0")).unwrap(), Format::Json);
        assert!(pick(Some("application/xml")).is_err());
        assert!(pick(Some("text/csv;q=0, application/json;q=0")).is_err());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut t = Table::new(&["a", "b"]);
        t.rows
            .push(vec!["Västernorrland, \"RVN\"".into(), "=1+1".into()]);
        t.rows.push(vec!["-12.50".into(), "rad\nbrytning".into()]);
        assert_eq!(
            t.to_csv(),
            "\"a\",\"b\"\r\n\"Västernorrland, \"\"RVN\"\"\",\"'=1+1\"\r\n-12.50,\"rad\nbrytning\"\r\n"
        );
    }

    #[test]
    fn csv_defuses_wherever_a_cell_could_begin() {
        assert_eq!(cell("x;=1+2;y"), "\"x;'=1+2;y\"");
        assert_eq!(cell("a,+b\t@c"), "\"a,'+b\t'@c\"");
        assert_eq!(cell("a,\t=1"), "\"a,'\t'=1\"");
        assert_eq!(cell("-x"), "\"'-x\"");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        // Numbers, alone or after a delimiter, stay as they are; text is always quoted.
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(cell("2027"), "2027");
        assert_eq!(cell("a;-5"), "\"a;-5\"");
        assert_eq!(cell("1-2"), "\"1-2\"");
        assert_eq!(cell(""), "\"\"");
    }
}
