//! `agentguard lint`: findings as text, JSON or SARIF 2.1.0.

use agentguard::analysis::{Finding, Location, Severity};
use serde_json::{json, Value};

use crate::input::PolicyFile;
use crate::text::{clean, location_path, show_call};

/// What each lint code means, for SARIF's rule metadata: the code, a short
/// description and help. A code the core adds later and this table lacks
/// still gets a rule, described by its first finding.
const CODES: &[(&str, &str, &str)] = &[
    (
        "shadowed",
        "A pattern or rule that can never decide: every call it matches is decided earlier",
        "Patterns and rules decide in a fixed order (deny, require_approval, allow; list order within each). Remove the shadowed one, or move or narrow the ones that cover it (listed as related locations).",
    ),
    (
        "matches-nothing",
        "A pattern that no tool name matches",
        "A set with its range backwards (`[z-a]`) or left empty matches no character. Fix the pattern or remove it.",
    ),
    (
        "duplicate",
        "A pattern or rule that repeats an earlier one",
        "The later copy never decides anything; remove it.",
    ),
    (
        "brace-is-literal",
        "`{a,b}` is not alternation in fnmatch",
        "fnmatch has no braces: `{read,list}_file` only matches that literal text. Write one pattern per alternative.",
    ),
    (
        "backslash-is-literal",
        "`\\` is not an escape in fnmatch",
        "A backslash matches a backslash. To match a literal `*`, `?` or `[`, put it in a set: `[*]`, `[?]`, `[[]`.",
    ),
    (
        "caret-is-not-negation",
        "`[^a]` is the set {^, a}, not a negation",
        "fnmatch negates a set with `!`: write `[!a]`.",
    ),
    (
        "whitespace",
        "A pattern with leading or trailing whitespace",
        "Tool names rarely start or end with spaces; the pattern probably never matches what was meant. Trim it.",
    ),
    (
        "case-bypass",
        "A deny pattern that a change of case gets around",
        "Matching is case-sensitive: under `default: allow`, `DROP_TABLE` is not denied by `drop_*`. Deny the other spellings too (`[dD][rR][oO][pP]_*`), or allow only what is needed under `default: deny`.",
    ),
    (
        "condition-never-true",
        "A condition that no argument value satisfies",
        "The rule it belongs to can never fire on it (an allow rule never allows). Fix the bounds or the patterns of the condition.",
    ),
    (
        "condition-always-unknown",
        "A condition that is unknown for every value",
        "An unknown condition makes deny and approval rules fire and allow rules not fire; check the operator against the argument's type.",
    ),
    (
        "path-glob-unmatchable",
        "A path_glob that no normalised path can match",
        "Paths are normalised before matching (no `//`, `/./` or `/../`, no trailing `/`), so write the glob in normalised form.",
    ),
    (
        "undecided",
        "A pattern or rule that decided no call the analysis tried, which was not exact",
        "It may be dead. Add a fixture that exercises it and run `agentguard test`.",
    ),
    (
        "shadow-rule",
        "A shadow rule is not enforced",
        "Shadow rules only report what they would decide. Switch it to `\"mode\": \"enforce\"` once its reports look right.",
    ),
];

/// Whether the findings reach a severity threshold (`None`: never).
pub fn fails(findings: &[Finding], threshold: Option<Severity>) -> bool {
    threshold.is_some_and(|t| findings.iter().any(|f| f.severity >= t))
}

fn counts(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".into();
    }
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}: {}, {}, {}",
        plural(findings.len(), "finding", "findings"),
        plural(n(Severity::Error), "error", "errors"),
        plural(n(Severity::Warning), "warning", "warnings"),
        plural(n(Severity::Info), "info", "info"),
    )
}

/// Compiler-style lines: `policy.json:4: error[duplicate] deny[1]: ...`,
/// then the hint, the related places and the witness, and a count.
pub fn text(file: &PolicyFile, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        // Most messages start with the place already (`deny[1] "x" ...`).
        let place = if f.message.starts_with(&location_path(&f.location)) {
            String::new()
        } else {
            format!("{}: ", f.location.display())
        };
        out.push_str(&format!(
            "{}: {}[{}] {}{}\n",
            clean(&file.place(&f.location)),
            f.severity.as_str(),
            f.code,
            clean(&place),
            clean(&f.message)
        ));
        if !f.hint.is_empty() {
            out.push_str(&format!("    hint: {}\n", clean(&f.hint)));
        }
        for r in &f.related {
            out.push_str(&format!(
                "    related: {} ({})\n",
                clean(&r.display()),
                clean(&file.place(r))
            ));
        }
        if let Some(w) = &f.witness {
            out.push_str(&format!("    witness: {}\n", show_call(&w.tool, &w.args)));
        }
    }
    out.push_str(&format!("{}: {}\n", clean(&file.path), counts(findings)));
    out
}

/// The findings as the JSON array the core serialises (the same JSON as
/// the npm and Python packages give).
pub fn json(findings: &[Finding]) -> String {
    serde_json::to_string_pretty(findings).expect("findings serialise") + "\n"
}

/// The path as a URI reference: `/` separators, and anything that is not
/// plainly allowed in a URI path percent-encoded (a `:` too, so that a
/// relative path is never read as a scheme).
fn uri_of(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn sarif_location(file: &PolicyFile, uri: &str, loc: &Location) -> Value {
    let path = location_path(loc);
    let mut physical = json!({"artifactLocation": {"uri": uri}});
    if let Some(line) = file.lines.find(&path) {
        physical["region"] = json!({"startLine": line});
    }
    let mut logical = json!({"fullyQualifiedName": path});
    if let Some(id) = &loc.rule {
        logical["name"] = json!(id);
    }
    json!({"physicalLocation": physical, "logicalLocations": [logical]})
}

/// A SARIF 2.1.0 log: one run of the `agentguard` driver, with a rule per
/// lint code and a result per finding.
pub fn sarif(file: &PolicyFile, findings: &[Finding]) -> Value {
    let uri = uri_of(&file.path);
    let mut rules: Vec<Value> = CODES
        .iter()
        .map(|(code, short, help)| {
            json!({
                "id": code,
                "shortDescription": {"text": short},
                "help": {"text": help},
            })
        })
        .collect();
    let mut ids: Vec<String> = CODES.iter().map(|c| c.0.to_string()).collect();
    let mut results = Vec::new();
    for f in findings {
        let index = match ids.iter().position(|id| id == f.code) {
            Some(i) => i,
            None => {
                ids.push(f.code.to_string());
                rules.push(json!({
                    "id": f.code,
                    "shortDescription": {"text": f.message},
                    "help": {"text": f.hint},
                }));
                ids.len() - 1
            }
        };
        let mut message = f.message.clone();
        if !f.hint.is_empty() {
            message.push_str(&format!(" Hint: {}", f.hint));
        }
        let related: Vec<Value> = f
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut v = sarif_location(file, &uri, r);
                v["id"] = json!(i);
                v["message"] = json!({"text": r.display()});
                v
            })
            .collect();
        let mut result = json!({
            "ruleId": f.code,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": {"text": message},
            "locations": [sarif_location(file, &uri, &f.location)],
            "properties": {"severity": f.severity.as_str(), "hint": f.hint},
        });
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        if let Some(w) = &f.witness {
            result["properties"]["witness"] = json!(w);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "agentguard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "artifacts": [{"location": {"uri": uri}}],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(
            uri_of("examples/policies/a.json"),
            "examples/policies/a.json"
        );
        assert_eq!(uri_of("/abs/my policy.yaml"), "/abs/my%20policy.yaml");
        assert_eq!(uri_of("c:\\p\\x#1.json"), "c%3A/p/x%231.json");
        assert_eq!(uri_of("é.json"), "%C3%A9.json");
    }

    #[test]
    fn codes_are_unique() {
        let mut ids: Vec<_> = CODES.iter().map(|c| c.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CODES.len());
    }
}
