//! tests/vectors/analysis.json: the shared cases of the analysis (lint, diff,
//! fixture tests) with the core's JSON answer for each. The npm test
//! (tests/js/esm/analysis.test.mjs) and the Python test
//! (tests/python/test_analysis.py) run the same cases through their
//! bindings and require exactly these answers: the bindings only convert.
//!
//! The cases are written here; the answers are the core's. This test checks
//! that the committed file is what the core computes now. After a change of
//! the core's analysis, rewrite it and review the difference:
//!
//!   AGENTGUARD_WRITE_VECTORS=1 cargo test --test analysis_vectors

use agentguard::analysis::{diff, lint, test, Fixture};
use agentguard::Policy;
use serde_json::{json, Value};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/analysis.json");

/// Every code `lint` can report (src/analysis/lint.rs); each must appear in
/// some case's answer.
const LINT_CODES: [&str; 13] = [
    "shadowed",
    "matches-nothing",
    "duplicate",
    "shadow-rule",
    "brace-is-literal",
    "backslash-is-literal",
    "caret-is-not-negation",
    "whitespace",
    "case-bypass",
    "condition-never-true",
    "condition-always-unknown",
    "path-glob-unmatchable",
    "undecided",
];

fn policy(v: &Value) -> Policy {
    Policy::from_value(v).unwrap_or_else(|e| panic!("{e}: {v}"))
}

fn lint_case(name: &str, p: Value) -> Value {
    let want = serde_json::to_value(lint(&policy(&p))).unwrap();
    json!({"name": name, "op": "lint", "policy": p, "want": want})
}

fn diff_case(name: &str, old: Value, new: Value) -> Value {
    let want = serde_json::to_value(diff(&policy(&old), &policy(&new))).unwrap();
    json!({"name": name, "op": "diff", "old": old, "new": new, "want": want})
}

/// A fixture test; `fixtures` is either an array of fixture objects or the
/// text (JSON or JSON lines) the bindings also accept.
fn test_case(name: &str, p: Value, fixtures: Value) -> Value {
    let text = match &fixtures {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut case = json!({"name": name, "op": "test", "policy": p, "fixtures": fixtures});
    match Fixture::parse_many(&text) {
        Ok(f) => case["want"] = serde_json::to_value(test(&policy(&p), &f)).unwrap(),
        Err(e) => {
            case["error"] = json!({
                "kind": e.kind().as_str(),
                "field": e.field(),
                "index": e.index(),
                "message": e.to_string(),
            })
        }
    }
    case
}

fn cases() -> Vec<Value> {
    let refund = |id: &str, decision: &str, when: Value| json!({"id": id, "tool": "refund", "decision": decision, "when": when});
    vec![
        // ------------------------------------------------------------ lint
        lint_case(
            "lint: clean policy, no findings",
            json!({"allow": ["read_*", "[!a]x", "a[*]", "ls"], "deny": ["drop_*"]}),
        ),
        lint_case(
            "lint: shadowed pattern",
            json!({"deny": ["drop_*"], "allow": ["drop_table", "read_*"]}),
        ),
        lint_case(
            "lint: shadowed by a union of patterns",
            json!({"deny": ["a", "[!a]"], "allow": ["?", "??"]}),
        ),
        lint_case(
            "lint: rules shadowed by a list and by an earlier rule",
            json!({"deny": ["rm_*"], "rules": [
                {"id": "never", "tool": "rm_rf", "decision": "deny", "when": {"path": {"glob": "/*"}}},
                refund("small", "allow", json!({"amount": {"lte": 100}})),
                refund("smaller", "allow", json!({"amount": {"lte": 50}})),
                refund("live", "allow", json!({"amount": {"lte": 200}}))
            ]}),
        ),
        lint_case(
            "lint: matches nothing",
            json!({"deny": ["a[z-a]"], "allow": ["b"], "rules": [
                {"id": "dead", "tool": "[z-a]*", "decision": "deny"}]}),
        ),
        lint_case(
            "lint: duplicate",
            json!({"deny": ["drop_*"], "allow": ["read", "drop_*"]}),
        ),
        lint_case(
            "lint: fnmatch traps (brace, backslash, caret, whitespace)",
            json!({
                "allow": ["{read,list}_*", "a\\*", "[^a]x", " ls", "ok"],
                "rules": [{"id": "r", "tool": "t", "decision": "allow", "when": {"p": {"glob": "{a,b}"}}}]
            }),
        ),
        lint_case(
            "lint: case bypass under default allow",
            json!({"deny": ["drop_*"], "require_approval": ["git_push"], "default": "allow"}),
        ),
        lint_case(
            "lint: conditions never true, always unknown, unmatchable path_glob",
            json!({"rules": [
                refund("never", "allow", json!({"amount": {"lt": 5, "gt": 10}})),
                refund("unknown", "deny", json!({"amount": {"glob": "*", "gte": -1.7976931348623157e308, "lte": 1.7976931348623157e308}})),
                refund("mixed", "deny", json!({"amount": {"glob": "1*", "lt": 100}})),
                {"id": "paths", "tool": "write", "decision": "deny",
                 "when": {"path": {"path_glob": ["/w//*", "/w/*", "/w/../x"]}}},
                refund("ok", "allow", json!({"amount": {"gt": 5, "lt": 10}}))
            ]}),
        ),
        lint_case(
            "lint: shadow rule is info",
            json!({"rules": [{"id": "try", "tool": "run", "decision": "deny", "mode": "shadow",
                              "when": {"c": {"glob": "rm *"}}}]}),
        ),
        lint_case(
            "lint: undecided where commands are sampled",
            json!({"rules": [
                {"id": "shell", "tool": "sh", "decision": "deny", "when": {"cmd": {"command": "rm *"}}},
                {"id": "again", "tool": "sh", "decision": "deny", "when": {"cmd": {"command": "rm -rf *"}}}
            ]}),
        ),
        lint_case(
            "lint: a realistic policy (database safety)",
            json!({
                "name": "database-safety",
                "allow": ["read_*", "list_*", "describe_*", "query_select"],
                "deny": ["drop_*", "truncate_*", "delete_*", "alter_*", "grant_*", "query_delete"],
                "require_approval": ["write_*", "update_*", "query_insert"],
                "default": "deny"
            }),
        ),
        // ------------------------------------------------------------ diff
        diff_case(
            "diff: identical policies",
            json!({"allow": ["read_*"], "deny": ["drop_*"]}),
            json!({"allow": ["read_*"], "deny": ["drop_*"]}),
        ),
        diff_case(
            "diff: names only, transitions and reason changes",
            json!({"allow": ["read_*"], "deny": ["drop_*"], "require_approval": ["write_*"]}),
            json!({"allow": ["read_*", "write_log"], "deny": ["drop_*", "rm_*"], "require_approval": ["write_db"]}),
        ),
        diff_case(
            "diff: default flipped",
            json!({"deny": ["drop_*"], "default": "allow"}),
            json!({"deny": ["drop_*"], "default": "deny"}),
        ),
        diff_case(
            "diff: reason-only change (another pattern decides the same)",
            json!({"deny": ["drop_*"]}),
            json!({"deny": ["drop_t*", "drop_*"]}),
        ),
        diff_case(
            "diff: rule bound moved (lte 100 -> lt 100)",
            json!({"rules": [refund("small", "allow", json!({"amount": {"lte": 100}}))]}),
            json!({"rules": [refund("small", "allow", json!({"amount": {"lt": 100}}))]}),
        ),
        diff_case(
            "diff: allow list replaced by a rule with a path condition",
            json!({"allow": ["write_file", "read_*"]}),
            json!({"allow": ["read_*"], "rules": [
                {"id": "workspace", "tool": "write_file", "decision": "allow",
                 "when": {"path": {"path_under": "/workspace"}}}]}),
        ),
        diff_case(
            "diff: rule decision changed to require_approval",
            json!({"rules": [refund("big", "deny", json!({"amount": {"gt": 1000}}))], "default": "allow"}),
            json!({"rules": [refund("big", "require_approval", json!({"amount": {"gt": 1000}}))], "default": "allow"}),
        ),
        diff_case(
            "diff: sampled shell commands (not exact)",
            json!({"rules": [{"id": "shell", "tool": "sh", "decision": "allow",
                              "when": {"cmd": {"command": ["git status", "ls *"]}}}]}),
            json!({"rules": [{"id": "shell", "tool": "sh", "decision": "allow",
                              "when": {"cmd": {"command": ["git status"]}}}]}),
        ),
        // ------------------------------------------------------------ test
        test_case(
            "test: every fixture passes",
            json!({"allow": ["read_*"], "deny": ["drop_*"]}),
            json!([
                {"tool": "read_file", "expect": "allow", "rule": "read_*"},
                {"tool": "drop_table", "expect": "deny"},
                {"tool": "ls", "expect": "deny", "rule": null}
            ]),
        ),
        test_case(
            "test: failures and unexercised patterns and rules",
            json!({"allow": ["read_*"], "deny": ["drop_*", "rm_*"], "rules": [
                refund("small", "allow", json!({"amount": {"lte": 100}}))]}),
            json!([
                {"tool": "drop_table", "expect": "deny", "rule": "drop_*"},
                {"tool": "refund", "args": {"amount": 5}, "expect": "allow", "rule": "small"},
                {"tool": "refund", "args": {"amount": 500}, "expect": "allow"},
                {"tool": "ls", "expect": "deny", "rule": null},
                {"tool": "drop_x", "expect": "deny", "rule": "rm_*"}
            ]),
        ),
        test_case(
            "test: a shadow rule counts as exercised when it fires",
            json!({"allow": ["run"], "rules": [{"id": "try", "tool": "run", "decision": "deny",
                                                 "mode": "shadow", "when": {"c": {"glob": "rm *"}}}]}),
            json!([{"tool": "run", "args": {"c": "rm -rf /"}, "expect": "allow"}]),
        ),
        test_case(
            "test: fixtures as JSON lines",
            json!({"require_approval": ["write_*"], "allow": ["read_*"]}),
            json!("{\"tool\": \"write_db\", \"expect\": \"require_approval\"}\n\n{\"tool\": \"read_x\", \"expect\": \"deny\"}\n"),
        ),
        test_case(
            "test: fixtures as JSON array text",
            json!({"deny": ["drop_*"], "default": "allow"}),
            json!("[{\"tool\": \"DROP_TABLE\", \"expect\": \"deny\"}]"),
        ),
        test_case(
            "test: no fixtures",
            json!({"allow": ["read_*"]}),
            json!([]),
        ),
        test_case(
            "test error: unknown key in a fixture",
            json!({"allow": ["read_*"]}),
            json!([{"tool": "a", "expected": "allow"}]),
        ),
        test_case(
            "test error: bad expect",
            json!({"allow": ["read_*"]}),
            json!([{"tool": "a", "expect": "allow"}, {"tool": "b", "expect": "alow"}]),
        ),
        test_case(
            "test error: missing tool",
            json!({"allow": ["read_*"]}),
            json!([{"expect": "allow"}]),
        ),
        test_case(
            "test error: a JSON line that is not JSON",
            json!({"allow": ["read_*"]}),
            json!("{\"tool\": \"a\", \"expect\": \"deny\"}\nnot json"),
        ),
        test_case(
            "test error: duplicate key",
            json!({"allow": ["read_*"]}),
            json!("[{\"tool\": \"a\", \"expect\": \"allow\", \"expect\": \"deny\"}]"),
        ),
    ]
}

fn document() -> Value {
    json!({
        "description": "The analysis (lint, diff, fixture tests) of the core: each case's input and the core's JSON answer (want), or the error reading the fixtures. Written by tests/analysis_vectors.rs (AGENTGUARD_WRITE_VECTORS=1); the npm and Python tests require their bindings to return exactly these.",
        "cases": cases(),
    })
}

#[test]
fn analysis_vectors_are_the_cores_answers() {
    let want = document();
    if std::env::var_os("AGENTGUARD_WRITE_VECTORS").is_some_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&want).unwrap() + "\n";
        std::fs::write(FILE, text).unwrap_or_else(|e| panic!("{FILE}: {e}"));
        return;
    }
    let text = std::fs::read_to_string(FILE).unwrap_or_else(|e| panic!("{FILE}: {e}"));
    let got: Value = serde_json::from_str(&text).expect("the vector file is JSON");
    let (got, want) = (&got["cases"], &want["cases"]);
    let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            g, w,
            "{FILE} is stale at {:?}: rerun with AGENTGUARD_WRITE_VECTORS=1 and review the difference",
            w["name"]
        );
    }
    assert_eq!(got.len(), want.len(), "{FILE}: number of cases");
}

#[test]
fn analysis_vectors_cover_every_lint_code_and_outcome() {
    let cases = cases();
    assert!((20..=40).contains(&cases.len()), "{}", cases.len());
    let found: Vec<&str> = cases
        .iter()
        .filter(|c| c["op"] == "lint")
        .flat_map(|c| c["want"].as_array().unwrap())
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in LINT_CODES {
        assert!(found.contains(&code), "no case has a {code:?} finding");
    }
    let diffs: Vec<&Value> = cases
        .iter()
        .filter(|c| c["op"] == "diff")
        .map(|c| &c["want"])
        .collect();
    let some = |key: &str| diffs.iter().any(|d| !d[key].as_array().unwrap().is_empty());
    assert!(some("changes") && some("reason_changes"));
    assert!(diffs.iter().any(|d| d["exact"] == false));
    assert!(diffs.iter().any(|d| d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| !c["args"].as_object().unwrap().is_empty())));
    assert!(diffs
        .iter()
        .any(|d| d["changes"].as_array().unwrap().is_empty()
            && !d["reason_changes"].as_array().unwrap().is_empty()));
    let reports: Vec<&Value> = cases
        .iter()
        .filter(|c| c["op"] == "test" && c.get("want").is_some())
        .map(|c| &c["want"])
        .collect();
    assert!(reports
        .iter()
        .any(|r| r["failures"].as_array().unwrap().is_empty()));
    assert!(reports
        .iter()
        .any(|r| !r["failures"].as_array().unwrap().is_empty()));
    assert!(reports
        .iter()
        .any(|r| !r["unexercised"].as_array().unwrap().is_empty()));
    assert!(cases.iter().any(|c| c.get("error").is_some()));
}
