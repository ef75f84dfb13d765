//! Two things before the crate is compiled: the embedded migrations (diesel's
//! `embed_migrations!`) make a new or changed migration rebuild it, and the floors of
//! `docs/architecture.md` are checked: a file of `src/` uses only modules of its own floor and
//! below, so the build fails when one reaches up.

use std::{fs, path::Path};

/// Each module's floor, bottom up; a path names a room of a module when it differs from it.
const FLOORS: &[(&str, u8)] = &[
    // 0 vocabulary
    ("error", 0),
    ("config", 0),
    ("model", 0),
    ("access", 0),
    ("logsink", 0),
    // 1 database
    ("db", 1),
    // 2 write path
    ("changes", 2),
    ("decisions", 2),
    ("feed", 2),
    ("audit", 2),
    ("links", 2),
    // 3 HTTP frame
    ("state", 3),
    ("http", 3),
    ("responses", 3),
    ("pagination", 3),
    ("idempotency", 3),
    ("auth", 3),
    ("crud", 3),
    ("cache", 3),
    ("metrics", 3),
    ("as_of", 3),
    // 4 resources
    ("audit/routes", 4),
    ("decisions/routes", 4),
    ("feed/routes", 4),
    ("documents", 4),
    ("goals", 4),
    ("activities", 4),
    ("projects", 4),
    ("organisations", 4),
    ("programmes", 4),
    ("official_contacts", 4),
    ("positions", 4),
    ("memberships", 4),
    ("evaluations", 4),
    ("reports", 4),
    // 5 app and binary
    ("app", 5),
    ("openapi", 5),
    ("seed", 5),
    ("demo", 5),
    ("lib", 5),
    ("main", 5),
];

const NAMES: [&str; 6] = [
    "vocabulary",
    "database",
    "write path",
    "HTTP frame",
    "resources",
    "app",
];

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    walk(Path::new("src"), &mut files);
    let macros = exported_macros(&files);
    let mut breaches = Vec::new();
    for (path, text) in &files {
        let module = module_of(path);
        let Some(floor) = floor_of(&module) else {
            breaches.push(format!(
                "src/{path} has no floor: add `{module}` to FLOORS in build.rs"
            ));
            continue;
        };
        for used in uses(text) {
            let target = macros
                .iter()
                .find(|(name, _)| *name == used.split('/').next().unwrap_or(""))
                .map(|(_, m)| m.clone())
                .unwrap_or(used);
            if let Some(f) = floor_of(&target) {
                if f > floor {
                    breaches.push(format!(
                        "src/{path} ({}) uses crate::{} ({})",
                        NAMES[floor as usize],
                        target.replace('/', "::"),
                        NAMES[f as usize]
                    ));
                }
            }
        }
    }
    breaches.sort();
    breaches.dedup();
    if !breaches.is_empty() {
        panic!(
            "a file uses only its own floor and those below (docs/architecture.md):\n  {}",
            breaches.join("\n  ")
        );
    }
}

fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix("src").expect("under src");
            let text = fs::read_to_string(&p).expect("readable source");
            out.push((rel.to_string_lossy().into_owned(), text));
        }
    }
}

/// `audit/routes.rs` -> `audit/routes`, `audit/mod.rs` -> `audit`.
fn module_of(path: &str) -> String {
    let m = path.trim_end_matches(".rs");
    m.strip_suffix("/mod").unwrap_or(m).to_string()
}

/// The floor of the longest listed prefix of `module`.
fn floor_of(module: &str) -> Option<u8> {
    let mut m = module;
    loop {
        if let Some((_, f)) = FLOORS.iter().find(|(name, _)| *name == m) {
            return Some(*f);
        }
        m = m.rsplit_once('/')?.0;
    }
}

/// Macros exported at the crate's root (`crate::name!`), with the module that defines each.
fn exported_macros(files: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, text) in files {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("#[macro_export]") {
            rest = &rest[i..];
            if let Some(j) = rest.find("macro_rules!") {
                let name: String = rest[j + "macro_rules!".len()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((name, module_of(path)));
            }
            rest = &rest[1..];
        }
    }
    out
}

/// The modules a file uses, as `a` or `a/b`: every `crate::a::b` path (not `$crate`, which a
/// macro expands where it is used) and every item of a `use crate::{...}` group.
fn uses(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let dollar = i > 0 && rest.as_bytes()[i - 1] == b'$';
        rest = &rest[i + "crate::".len()..];
        if dollar {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = k;
                    break;
                }
            }
            let mut item = String::new();
            let mut d = 0;
            for c in group[..end].chars().chain(std::iter::once(',')) {
                match c {
                    '{' => d += 1,
                    '}' => d -= 1,
                    ',' if d == 0 => {
                        out.push(path_of(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            out.push(path_of(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// `a::b::c...` -> `a/b` (or `a` when no second plain segment follows).
fn path_of(s: &str) -> String {
    let segs: Vec<String> = s
        .trim()
        .split("::")
        .take(2)
        .map(|seg| {
            seg.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .collect();
    match segs.as_slice() {
        [a, b] if !b.is_empty() && b.chars().next().is_some_and(|c| c.is_lowercase()) => {
            format!("{a}/{b}")
        }
        [a, ..] => a.clone(),
        [] => String::new(),
    }
}
