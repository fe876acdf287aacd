//! The `agentguard` command end to end: the built binary, run as a user or
//! CI would run it, on every command, every format and every exit code.
//!
//! Where the command prints what the core computes (the result, the
//! findings, the report, the diff), the test compares it with the core's
//! own answer in-process, so the command is proven to convert, not decide.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use agentguard::analysis::{self, Fixture};
use agentguard::{fnmatch, Policy};
use serde_json::{json, Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_agentguard");
const REVIEW: &str = "examples/policies/review";

/// The workspace root: every path below is relative to it, as a user in
/// a checkout would type them.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    let out = Out {
        code: o.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(o.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(o.stderr).expect("UTF-8 stderr"),
    };
    // Colourless, whatever is printed: no escape sequence ever.
    assert!(
        !out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'),
        "{args:?}: {out:?}"
    );
    out
}

fn run(args: &[&str]) -> Out {
    run_in(&root(), args)
}

/// Runs and checks the exit code.
#[track_caller]
fn expect(code: i32, args: &[&str]) -> Out {
    let out = run(args);
    assert_eq!(out.code, code, "{args:?}: {out:?}");
    out
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a file and gives its path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn policy(path: &str) -> Policy {
    Policy::from_json(&read(path)).unwrap()
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

// ------------------------------------------------------------ help, usage

#[test]
fn version_and_help_for_every_command() {
    let out = expect(0, &["--version"]);
    assert_eq!(
        out.stdout,
        format!("agentguard {}\n", env!("CARGO_PKG_VERSION"))
    );
    for cmd in [&[][..], &["check"], &["test"], &["lint"], &["diff"]] {
        let mut a = cmd.to_vec();
        a.push("--help");
        let out = expect(0, &a);
        assert!(
            out.stdout.contains("Usage: agentguard"),
            "{a:?}: {}",
            out.stdout
        );
        assert!(out.stdout.contains("Exit codes:"), "{a:?}");
        assert!(out.stderr.is_empty());
    }
    let out = expect(0, &["lint", "--help"]);
    assert!(out.stdout.contains("sarif"));
    let out = expect(0, &["diff", "--help"]);
    assert!(out.stdout.contains("markdown") && out.stdout.contains("wider"));
    expect(0, &["help", "diff"]);
}

#[test]
fn usage_errors_exit_2() {
    let p = "examples/policies/review/new.json";
    for a in [
        &[][..],
        &["frobnicate"],
        &["check", p],
        &["test", p],
        &["diff", p],
        &["lint", p, "--format", "pdf"],
        &["check", p, "x", "--format", "sarif"],
        &["diff", p, p, "--fail-on", "sometimes"],
        &["lint", p, "--fail-on", "whenever"],
        &["lint", p, "--unknown-flag"],
    ] {
        let out = expect(2, a);
        assert!(out.stdout.is_empty(), "{a:?}");
        assert!(
            out.stderr.starts_with("error: ") || out.stderr.contains("Usage: agentguard"),
            "{a:?}: {}",
            out.stderr
        );
    }
}

// ------------------------------------------------------------------ check

#[test]
fn check_prints_the_decision_and_exits_by_it() {
    let p = "examples/policies/review/new.json";
    let out = expect(0, &["check", p, "read_file"]);
    assert_eq!(out.stdout, "allow  read_file  allowed by pattern: read_*\n");
    let out = expect(1, &["check", p, "drop_table"]);
    assert_eq!(out.stdout, "deny  drop_table  denied by pattern: drop_*\n");
    let out = expect(3, &["check", p, "git_push"]);
    assert_eq!(
        out.stdout,
        "require_approval  git_push  requires approval per pattern: git_push\n"
    );
    let out = expect(
        0,
        &[
            "check",
            p,
            "write_file",
            "--args",
            r#"{"path": "/workspace/a.txt"}"#,
        ],
    );
    assert_eq!(
        out.stdout,
        "allow  write_file  allowed by rule: workspace-writes\n"
    );
    let out = expect(
        1,
        &[
            "check",
            p,
            "write_file",
            "--args",
            r#"{"path": "/workspace/../etc/passwd"}"#,
        ],
    );
    assert_eq!(
        out.stdout,
        "deny  write_file  not in allow list (default: deny)\n"
    );
    expect(1, &["check", p, "write_file"]);
    // A name that is empty or holds spaces is quoted, so it can be seen.
    let out = expect(1, &["check", p, ""]);
    assert_eq!(
        out.stdout,
        "deny  \"\"  not in allow list (default: deny)\n"
    );
    let out = expect(1, &["check", p, "rm -rf"]);
    assert!(
        out.stdout.starts_with("deny  \"rm -rf\"  "),
        "{}",
        out.stdout
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn check_json_is_the_result_json_of_the_core() {
    let path = "examples/policies/review/new.json";
    let p = policy(path);
    for (tool, a, code) in [
        ("read_file", json!({}), 0),
        ("drop_table", json!({}), 1),
        ("git_push", json!({}), 3),
        ("write_file", json!({"path": "/workspace/x"}), 0),
        ("write_file", json!({"path": ["/workspace/x", "/etc/x"]}), 1),
    ] {
        let text = a.to_string();
        let out = expect(
            code,
            &["check", path, tool, "--args", &text, "--format", "json"],
        );
        let want = serde_json::to_value(p.check_call(tool, &args(a))).unwrap();
        assert_eq!(out.json(), want, "{tool} {text}");
    }
}

#[test]
fn check_lists_the_shadow_rules_that_fired() {
    let dir = scratch("check-shadow");
    let path = write(
        &dir,
        "p.json",
        r#"{"allow": ["run_shell"], "rules": [{"id": "try-no-curl", "tool": "run_shell", "mode": "shadow",
            "when": {"command": {"command": "curl *"}}, "decision": "deny"}]}"#,
    );
    let out = expect(
        0,
        &[
            "check",
            &path,
            "run_shell",
            "--args",
            r#"{"command": "curl example"}"#,
        ],
    );
    assert_eq!(
        out.stdout,
        "allow  run_shell  allowed by pattern: run_shell\n  shadow rule try-no-curl would deny\n"
    );
    let out = expect(
        0,
        &[
            "check",
            &path,
            "run_shell",
            "--args",
            r#"{"command": "curl x"}"#,
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.json()["shadow"],
        json!([{"id": "try-no-curl", "decision": "deny"}])
    );
}

#[test]
fn check_reads_args_strictly() {
    let p = "examples/policies/review/new.json";
    for (a, want) in [
        ("nope", "agentguard: --args: invalid JSON"),
        (
            "[1]",
            "agentguard: --args: the arguments must be a JSON object, got an array",
        ),
        (
            r#"{"path": "/a", "path": "/b"}"#,
            "agentguard: --args: duplicate key \"path\"",
        ),
        (r#"{"a": 1} {}"#, "agentguard: --args: invalid JSON"),
    ] {
        let out = expect(2, &["check", p, "write_file", "--args", a]);
        assert!(out.stderr.starts_with(want), "{a}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn terminal_output_never_carries_control_characters() {
    let dir = scratch("control-chars");
    let path = write(
        &dir,
        "p.json",
        r#"{"deny": ["\u001b[31m*"], "default": "allow", "rules": [{"id": "r", "tool": "x",
            "decision": "deny", "reason": "\u001b]0;title\u0007"}]}"#,
    );
    let out = expect(1, &["check", &path, "\u{1b}[31mred"]);
    assert!(out.stdout.contains("\\u{1b}"), "{}", out.stdout);
    let out = expect(1, &["check", &path, "x"]);
    assert!(
        out.stdout.contains("\\u{1b}]0;title\\u{7}"),
        "{}",
        out.stdout
    );
    // run() already refuses any escape character in lint and diff output.
    run(&["lint", &path]);
    run(&["diff", &path, "examples/policies/review/new.json"]);
    run(&[
        "diff",
        &path,
        "examples/policies/review/new.json",
        "--format",
        "markdown",
    ]);
}

// ------------------------------------------------------ errors: exit 2

/// `agentguard: FILE:LINE: ` or `agentguard: FILE: `.
fn error_prefix(path: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("agentguard: {path}:{l}: "),
        None => format!("agentguard: {path}: "),
    }
}

#[test]
fn a_policy_error_exits_2_naming_file_line_field_and_index_in_every_command() {
    let dir = scratch("policy-errors");
    let good = "examples/policies/review/new.json";
    let fixtures = "examples/policies/review/fixtures.json";
    // Each policy is written pretty-printed (JSON) and block style (YAML);
    // the lines are those of the bad value in each.
    let cases = [
        (
            json!({"deny": ["drop_*", 5]}),
            "deny",
            Some(1),
            "deny[1]: expected a string pattern, got number 5",
            4,
            3,
        ),
        (
            json!({"rules": [{"id": "r", "tool": "t", "decision": "allow", "when": {"amount": {"lte": "100"}}}]}),
            "rules[0].when.amount.lte",
            None,
            "rules[0].when.amount.lte: expected a number, got string \"100\"",
            9,
            7,
        ),
        (
            json!({"allow": ["a"], "require_approval": [null, "b", []]}),
            "require_approval",
            Some(0),
            "require_approval[0]: ",
            6,
            4,
        ),
        (
            json!({"name": "x", "rules": [{"id": "r", "tool": "t", "decision": "allow", "whenn": {}}]}),
            "rules[0].whenn",
            None,
            "unknown key \"whenn\" in rules[0]",
            8,
            6,
        ),
    ];
    for (i, (value, field, index, message, json_line, yaml_line)) in cases.iter().enumerate() {
        let text = serde_json::to_string_pretty(value).unwrap();
        let err = Policy::from_json(&text).unwrap_err();
        assert_eq!(err.field(), Some(*field), "{text}");
        assert_eq!(err.index(), *index, "{text}");
        assert!(err.to_string().starts_with(message), "{err}");
        let path = write(&dir, &format!("bad{i}.json"), &text);
        let want = format!("{}{err}\n", error_prefix(&path, Some(*json_line)));
        for a in [
            vec!["check", &path, "x"],
            vec!["test", &path, fixtures],
            vec!["lint", &path],
            vec!["lint", &path, "--format", "sarif"],
            vec!["diff", &path, good],
            vec!["diff", good, &path, "--format", "markdown"],
        ] {
            let out = expect(2, &a);
            assert_eq!(out.stderr, want, "{a:?}");
            assert!(out.stdout.is_empty(), "{a:?}");
        }
        // The same policy in YAML: the same message, at its line there.
        let yaml = serde_norway::to_string(value).unwrap();
        let ypath = write(&dir, &format!("bad{i}.yaml"), &yaml);
        let out = expect(2, &["lint", &ypath]);
        assert_eq!(
            out.stderr,
            format!("{}{err}\n", error_prefix(&ypath, Some(*yaml_line))),
            "{yaml}"
        );
    }
}

#[test]
fn unreadable_input_exits_2() {
    let dir = scratch("unreadable");
    let good = "examples/policies/review/new.json";
    let cases = [
        (
            write(
                &dir,
                "typo.json",
                "{\n  \"name\": \"p\",\n  \"denny\": [\"drop_*\"]\n}",
            ),
            Some(3),
            "unknown key \"denny\" in policy",
        ),
        (
            write(&dir, "broken.json", "{\"deny\": [\n"),
            None,
            "invalid JSON: EOF while parsing a list at line 2",
        ),
        (
            write(
                &dir,
                "dup.json",
                "{\n  \"deny\": [\"drop_*\"],\n  \"allow\": [],\n  \"deny\": []\n}",
            ),
            Some(4),
            "duplicate key \"deny\" in the policy object: each key may appear only once",
        ),
        (
            write(&dir, "array.json", r#"["drop_*"]"#),
            None,
            "a policy must be a JSON object",
        ),
        (
            dir.join("missing.json").to_str().unwrap().to_string(),
            None,
            "cannot read",
        ),
        (dir.to_str().unwrap().to_string(), None, "cannot read"),
    ];
    for (path, line, want) in &cases {
        let out = expect(2, &["check", path, "x"]);
        assert!(
            out.stderr
                .starts_with(&format!("{}{want}", error_prefix(path, *line))),
            "{path}: {}",
            out.stderr
        );
    }
    // A byte-order mark is not part of the JSON.
    let bom = dir.join("bom.json");
    std::fs::write(&bom, b"\xef\xbb\xbf{\"deny\": [\"drop_*\"]}").unwrap();
    let out = expect(1, &["check", bom.to_str().unwrap(), "drop_table"]);
    assert_eq!(out.stdout, "deny  drop_table  denied by pattern: drop_*\n");
    let bad_bytes = dir.join("latin1.json");
    std::fs::write(&bad_bytes, b"{\"deny\": [\"caf\xe9\"]}").unwrap();
    let out = expect(2, &["lint", bad_bytes.to_str().unwrap()]);
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
    // Fixtures are read as strictly, and their errors are the core's
    // (which name the fixture), placed on their line.
    let cases = [
        (
            "f.json",
            "[\n  {\"tool\": \"a\", \"expect\": \"maybe\"}\n]",
            Some(2),
            "fixtures[0].expect: ",
        ),
        (
            "f.json",
            "[\n  {\"tool\": \"a\", \"expect\": \"deny\"},\n  {\"tool\": \"b\",\n   \"expect\": \"deny\",\n   \"expect\": \"allow\"}\n]",
            Some(5),
            "duplicate key \"expect\" in fixtures[1]",
        ),
        (
            "f.json",
            "[{\"tool\": \"x\", \"expect\": \"deny\"},\n {\"tool\": \"a\", \"expect\": \"deny\", \"why\": 1}]",
            Some(2),
            "unknown key \"why\"",
        ),
        (
            "f.json",
            "{\"tool\": \"a\", \"expect\": \"deny\"}\n\n{\"expect\": \"deny\"}\n",
            Some(3),
            "a fixture needs \"tool\"",
        ),
        (
            "f.json",
            "{\"tool\": \"a\", \"expect\": \"deny\"}\n{\"tool\": \"a\",\n",
            Some(2),
            "invalid JSON",
        ),
    ];
    for (name, text, line, want) in cases {
        let core = Fixture::parse_many(text).unwrap_err().to_string();
        assert!(core.contains(want), "{core}");
        let f = write(&dir, name, text);
        let out = expect(2, &["test", good, &f]);
        assert_eq!(
            out.stderr,
            format!("{}{core}\n", error_prefix(&f, line)),
            "{text}"
        );
    }
    // YAML fixtures: the same messages as for the same fixtures in JSON.
    let cases = [
        (
            "- tool: a\n  expect: deny\n- tool: b\n  expect: deny\n  rule: 7\n",
            r#"[{"tool": "a", "expect": "deny"}, {"tool": "b", "expect": "deny", "rule": 7}]"#,
            Some(5),
        ),
        (
            "- tool: a\n  expect: deny\n  expect: allow\n",
            r#"[{"tool": "a", "expect": "deny", "expect": "allow"}]"#,
            Some(3),
        ),
        (
            "- tool: a\n  expect: deny\n- expect: allow\n",
            r#"[{"tool": "a", "expect": "deny"}, {"expect": "allow"}]"#,
            Some(3),
        ),
    ];
    for (yaml, json_text, line) in cases {
        let core = Fixture::parse_many(json_text).unwrap_err().to_string();
        let f = write(&dir, "f.yml", yaml);
        let out = expect(2, &["test", good, &f]);
        assert_eq!(
            out.stderr,
            format!("{}{core}\n", error_prefix(&f, line)),
            "{yaml}"
        );
    }
    let f = write(&dir, "f.yaml", "tool: a\nexpect: deny\n");
    let out = expect(2, &["test", good, &f]);
    assert_eq!(
        out.stderr,
        format!("agentguard: {f}: fixtures must be a sequence of {{tool, args?, expect, rule?}} mappings\n")
    );
}

// ------------------------------------------------------------------- test

#[test]
fn test_passes_fails_and_reports_what_no_fixture_exercised() {
    let new = "examples/policies/review/new.json";
    let old = "examples/policies/review/old.json";
    let fixtures = "examples/policies/review/fixtures.json";
    let out = expect(0, &["test", new, fixtures]);
    assert_eq!(
        out.stdout,
        "not exercised by any fixture:
  deny[2] git_push_force  (examples/policies/review/new.json:12)
  allow[2] git_status  (examples/policies/review/new.json:6)
  allow[3] git_diff  (examples/policies/review/new.json:7)
8 fixtures: 8 passed, 0 failed
"
    );
    // The old policy fails three of the new policy's fixtures.
    let out = expect(1, &["test", old, fixtures]);
    assert!(
        out.stdout.starts_with(
            "FAIL examples/policies/review/fixtures.json:2 fixture 0: read_file
  want: allow by read_*
  got:  allow by read_file (allowed by pattern: read_file)
FAIL examples/policies/review/fixtures.json:7 fixture 5: write_file {\"path\":\"/workspace/src/main.rs\"}
  want: allow by workspace-writes
  got:  require_approval by write_file (requires approval per pattern: write_file)
FAIL examples/policies/review/fixtures.json:8 fixture 6: write_file {\"path\":\"/workspace/../etc/passwd\"}
  want: deny by the default
  got:  require_approval by write_file (requires approval per pattern: write_file)
"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("8 fixtures: 5 passed, 3 failed\n"));
}

#[test]
fn test_json_is_the_report_of_the_core() {
    let fixtures = Fixture::parse_many(&read("examples/policies/review/fixtures.json")).unwrap();
    for (path, code) in [
        ("examples/policies/review/new.json", 0),
        ("examples/policies/review/old.json", 1),
    ] {
        let out = expect(
            code,
            &[
                "test",
                path,
                "examples/policies/review/fixtures.json",
                "--format",
                "json",
            ],
        );
        let want = serde_json::to_value(analysis::test(&policy(path), &fixtures)).unwrap();
        assert_eq!(out.json(), want, "{path}");
    }
}

#[test]
fn fixtures_may_be_json_lines_or_yaml() {
    let dir = scratch("fixture-formats");
    let p = "examples/policies/review/new.json";
    let items: Vec<Value> =
        serde_json::from_str(&read("examples/policies/review/fixtures.json")).unwrap();
    let mut lines = String::from("\n");
    for v in &items {
        lines.push_str(&format!("{v}\n\n"));
    }
    // One failing fixture at the end, to see its line.
    lines.push_str(r#"{"tool": "drop_table", "expect": "allow"}"#);
    lines.push('\n');
    let jsonl = write(&dir, "fixtures.jsonl", &lines);
    let out = expect(1, &["test", p, &jsonl]);
    assert!(
        out.stdout
            .starts_with(&format!("FAIL {jsonl}:18 fixture 8: drop_table\n")),
        "{}",
        out.stdout
    );
    let mut all = items.clone();
    all.push(json!({"tool": "drop_table", "expect": "allow"}));
    let yaml = write(
        &dir,
        "fixtures.yaml",
        &serde_norway::to_string(&all).unwrap(),
    );
    let out_yaml = expect(1, &["test", p, &yaml, "--format", "json"]);
    let out_jsonl = expect(1, &["test", p, &jsonl, "--format", "json"]);
    assert_eq!(out_yaml.json(), out_jsonl.json());
    let out = expect(1, &["test", p, &yaml]);
    let first = out.stdout.lines().next().unwrap();
    assert!(first.starts_with(&format!("FAIL {yaml}:")), "{first}");
}

// ------------------------------------------------------------------- lint

#[test]
fn lint_finds_a_duplicate_and_exits_by_severity() {
    let dir = scratch("lint-duplicate");
    let text = "{\n  \"deny\": [\n    \"drop_*\",\n    \"drop_*\"\n  ]\n}\n";
    let path = write(&dir, "dup.json", text);
    let findings = analysis::lint(&Policy::from_json(text).unwrap());
    let dup = findings
        .iter()
        .find(|f| f.code == "duplicate")
        .expect("the core finds the duplicate");
    assert_eq!(
        (dup.location.field.as_str(), dup.location.index),
        ("deny", Some(1))
    );
    let out = expect(1, &["lint", &path]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("[duplicate]"))
        .unwrap();
    assert!(
        line.starts_with(&format!(
            "{path}:4: {}[duplicate] deny[1]",
            dup.severity.as_str()
        )),
        "{line}"
    );
    assert!(out
        .stdout
        .contains(&format!("    related: deny[0] ({path}:3)\n")));
    assert!(out.stdout.ends_with("warning, 0 info\n") || out.stdout.contains("finding"));
    // The JSON is the core's findings, exactly.
    let out = expect(1, &["lint", &path, "--format", "json"]);
    assert_eq!(out.json(), serde_json::to_value(&findings).unwrap());
    // Thresholds.
    assert!(findings.iter().all(|f| f.severity.as_str() != "error"));
    expect(0, &["lint", &path, "--fail-on", "error"]);
    expect(1, &["lint", &path, "--fail-on", "warning"]);
    expect(1, &["lint", &path, "--fail-on", "info"]);
    expect(0, &["lint", &path, "--fail-on", "none"]);
}

#[test]
fn lint_exit_codes_follow_the_threshold() {
    let dir = scratch("lint-thresholds");
    // An error: a pattern that matches nothing.
    let error = write(&dir, "error.json", r#"{"deny": ["a[z-a]"]}"#);
    let fs = analysis::lint(&Policy::from_json(&read(&error)).unwrap());
    assert!(fs
        .iter()
        .any(|f| f.code == "matches-nothing" && f.severity.as_str() == "error"));
    expect(1, &["lint", &error, "--fail-on", "error"]);
    let out = expect(1, &["lint", &error]);
    assert!(
        out.stdout.contains(":1: error[matches-nothing] deny[0]"),
        "{}",
        out.stdout
    );
    // Info only (a shadow rule): exit 0 unless --fail-on info.
    let info = write(
        &dir,
        "info.json",
        r#"{"allow": ["run_shell"], "rules": [{"id": "try", "tool": "run_shell", "mode": "shadow", "decision": "deny", "when": {"command": {"command": "curl *"}}}]}"#,
    );
    let fs = analysis::lint(&Policy::from_json(&read(&info)).unwrap());
    assert!(
        !fs.is_empty() && fs.iter().all(|f| f.severity.as_str() == "info"),
        "{fs:?}"
    );
    let out = expect(0, &["lint", &info]);
    assert!(
        out.stdout.contains("info[shadow-rule] rules[0] (try)"),
        "{}",
        out.stdout
    );
    expect(1, &["lint", &info, "--fail-on", "info"]);
    expect(0, &["lint", &info, "--format", "json"]);
    expect(
        1,
        &["lint", &info, "--format", "sarif", "--fail-on", "info"],
    );
    // Nothing to find.
    let out = expect(0, &["lint", "examples/policies/review/new.json"]);
    assert_eq!(
        out.stdout,
        "examples/policies/review/new.json: no findings\n"
    );
    let out = expect(
        0,
        &[
            "lint",
            "examples/policies/review/new.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.json(), json!([]));
}

fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles")
    })
}

#[track_caller]
fn assert_valid_sarif(log: &Value) {
    let errors: Vec<String> = sarif_validator()
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}\n{log:#}");
}

#[test]
fn the_validator_rejects_what_is_not_sarif() {
    // The schema really is enforced: a wrong version, a bad level and a
    // missing message are all errors.
    assert!(!sarif_validator().is_valid(&json!({"version": "2.0.0", "runs": []})));
    let bad = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"level": "fatal", "message": {"text": "m"}}]}]});
    assert!(!sarif_validator().is_valid(&bad));
    let bad = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"ruleId": "r"}]}]});
    assert!(!sarif_validator().is_valid(&bad));
    let good =
        json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]});
    assert!(sarif_validator().is_valid(&good));
}

#[test]
fn sarif_is_valid_and_points_at_the_lines() {
    let path = "examples/policies/review/traps.json";
    let out = expect(1, &["lint", path, "--format", "sarif"]);
    let log = out.json();
    assert_valid_sarif(&log);
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "agentguard");
    let rules = driver["rules"].as_array().unwrap();
    for r in rules {
        assert!(r["shortDescription"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(r["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let findings = analysis::lint(&policy(path));
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for (r, f) in results.iter().zip(&findings) {
        assert_eq!(r["ruleId"], f.code);
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], f.code);
        let level = match f.severity.as_str() {
            "error" => "error",
            "warning" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], level);
        let loc = &r["locations"][0];
        assert_eq!(loc["physicalLocation"]["artifactLocation"]["uri"], path);
        let name = match f.location.index {
            Some(i) => format!("{}[{i}]", f.location.field),
            None => f.location.field.clone(),
        };
        assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], name);
    }
    // The duplicate `drop_*` is deny[5] on line 9, its first copy on line 4.
    let dup = results.iter().find(|r| r["ruleId"] == "duplicate").unwrap();
    let loc = &dup["locations"][0];
    assert_eq!(loc["physicalLocation"]["region"]["startLine"], 9);
    assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], "deny[5]");
    let rel = &dup["relatedLocations"][0];
    assert_eq!(rel["physicalLocation"]["region"]["startLine"], 4);
    assert_eq!(rel["logicalLocations"][0]["fullyQualifiedName"], "deny[0]");
    let caret = results
        .iter()
        .find(|r| r["ruleId"] == "caret-is-not-negation")
        .unwrap();
    assert_eq!(
        caret["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
    // A case bypass carries its witness.
    let case = results
        .iter()
        .find(|r| r["ruleId"] == "case-bypass")
        .unwrap();
    assert!(case["properties"]["witness"]["tool"].is_string());
}

#[test]
fn sarif_for_rules_and_yaml_and_no_findings() {
    let dir = scratch("sarif");
    // A condition that holds for no value, in a multi-line policy: the
    // location is rules[0].when.amount, on its own line, with the rule's id.
    let json_text = "{\n  \"rules\": [\n    {\n      \"id\": \"refunds\",\n      \"tool\": \"refund\",\n      \"decision\": \"allow\",\n      \"when\": {\n        \"amount\": {\"lt\": 5, \"gt\": 10}\n      }\n    }\n  ]\n}\n";
    let yaml_text = "rules:\n  - id: refunds\n    tool: refund\n    decision: allow\n    when:\n      amount: {lt: 5, gt: 10}\n";
    for (name, text, line) in [("p.json", json_text, 8), ("my policy.yaml", yaml_text, 6)] {
        let path = write(&dir, name, text);
        let out = expect(1, &["lint", &path, "--format", "sarif"]);
        let log = out.json();
        assert_valid_sarif(&log);
        let r = &log["runs"][0]["results"][0];
        assert_eq!(r["ruleId"], "condition-never-true");
        let loc = &r["locations"][0];
        assert_eq!(
            loc["logicalLocations"][0]["fullyQualifiedName"],
            "rules[0].when.amount"
        );
        assert_eq!(loc["logicalLocations"][0]["name"], "refunds");
        assert_eq!(
            loc["physicalLocation"]["region"]["startLine"], line,
            "{name}"
        );
        // The path as given, as a URI reference.
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(uri, path.replace(' ', "%20"));
    }
    for path in [
        "examples/policies/review/new.json",
        "examples/policies/review/new.yaml",
        "examples/policies/database-safety.json",
    ] {
        let out = expect(0, &["lint", path, "--format", "sarif"]);
        let log = out.json();
        assert_valid_sarif(&log);
        assert_eq!(log["runs"][0]["results"], json!([]));
    }
}

// ------------------------------------------------------------------- diff

fn diff_json(old: &str, new: &str, fail_on: &str, code: i32) -> Value {
    expect(
        code,
        &["diff", old, new, "--format", "json", "--fail-on", fail_on],
    )
    .json()
}

#[test]
fn diff_reports_a_removed_deny_as_deny_to_allow_with_a_witness() {
    let dir = scratch("diff-deny");
    let old = write(
        &dir,
        "old.json",
        r#"{"deny": ["drop_*"], "default": "allow"}"#,
    );
    let new = write(&dir, "new.json", r#"{"deny": [], "default": "allow"}"#);
    let d = diff_json(&old, &new, "any", 1);
    let changes = d["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{d:#}");
    for c in changes {
        assert_eq!(
            (c["from"].as_str(), c["to"].as_str()),
            (Some("deny"), Some("allow"))
        );
        let tool = c["tool"].as_str().unwrap();
        assert!(fnmatch(tool, "drop_*"), "{tool}");
        assert_eq!(c["old_rule"], "drop_*");
        assert_eq!(c["new_rule"], Value::Null);
    }
    assert_eq!(d["exact"], true);
    // Widening: --fail-on wider fails too; none never does.
    diff_json(&old, &new, "wider", 1);
    diff_json(&old, &new, "none", 0);
    let out = expect(1, &["diff", &old, &new]);
    assert!(
        out.stdout.starts_with(&format!(
            "{old} -> {new}: 1 decision change (1 wider), 0 reason-only changes\n"
        )),
        "{}",
        out.stdout
    );
    let tool = changes[0]["tool"].as_str().unwrap();
    assert!(
        out.stdout.contains(&format!(
            "\ndeny -> allow  (wider)\n  call: {tool}\n  old:  drop_* -- denied by pattern: drop_*\n  new:  (default) -- no matching rule (default: allow)\n"
        )),
        "{}",
        out.stdout
    );
    // The other way round it narrows: any fails, wider does not.
    let d = diff_json(&new, &old, "wider", 0);
    assert!(d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["to"] == "deny"));
    diff_json(&new, &old, "any", 1);
}

#[test]
fn diff_exit_codes_for_reason_only_and_no_change() {
    let dir = scratch("diff-codes");
    // Same decisions, another rule decides `ab...`: a reason-only change.
    let a = write(&dir, "a.json", r#"{"allow": ["a*"]}"#);
    let b = write(&dir, "b.json", r#"{"allow": ["ab*", "a*"]}"#);
    let d = diff_json(&a, &b, "any", 1);
    assert_eq!(d["changes"], json!([]));
    let rc = d["reason_changes"].as_array().unwrap();
    assert!(!rc.is_empty());
    assert!(fnmatch(rc[0]["tool"].as_str().unwrap(), "ab*"));
    diff_json(&a, &b, "wider", 0);
    diff_json(&a, &b, "none", 0);
    let out = expect(1, &["diff", &a, &b]);
    assert!(out
        .stdout
        .contains("reason-only changes (same decision, another rule decides):"));
    assert!(out.stdout.contains("allow (unchanged)\n"));
    let out = expect(1, &["diff", &a, &b, "--format", "markdown"]);
    assert!(out
        .stdout
        .contains("<details><summary>1 reason-only change"));
    // No change at all: exit 0 under every --fail-on.
    for f in ["any", "wider", "none"] {
        let d = diff_json(
            "examples/policies/review/new.json",
            "examples/policies/review/new.yaml",
            f,
            0,
        );
        assert_eq!(
            d,
            json!({"changes": [], "reason_changes": [], "exact": true, "notes": []})
        );
    }
    let out = expect(
        0,
        &[
            "diff",
            "examples/policies/review/new.json",
            "examples/policies/review/new.yaml",
        ],
    );
    assert_eq!(
        out.stdout,
        "examples/policies/review/new.json -> examples/policies/review/new.yaml: no change: every call is decided the same way, by the same rule\n"
    );
    let out = expect(0, &["diff", &a, &a, "--format", "markdown"]);
    assert!(out.stdout.contains("**No change.**"));
}

#[test]
fn an_inexact_diff_never_passes_as_no_change() {
    let dir = scratch("diff-inexact");
    let p = write(
        &dir,
        "shell.json",
        r#"{"rules": [{"id": "safe-shell", "tool": "run_shell", "decision": "allow",
            "when": {"command": {"command": ["git status", "git diff *"]}}}]}"#,
    );
    let d = analysis::diff(
        &Policy::from_json(&read(&p)).unwrap(),
        &Policy::from_json(&read(&p)).unwrap(),
    );
    assert!(!d.exact && !d.notes.is_empty(), "{d:?}");
    assert!(d.changes.is_empty() && d.reason_changes.is_empty());
    for f in ["any", "wider"] {
        let out = expect(1, &["diff", &p, &p, "--fail-on", f]);
        assert!(out.stderr.contains("not exact"), "{}", out.stderr);
        assert!(out
            .stdout
            .contains("no change found, but the comparison is not exact"));
        assert!(out.stdout.contains(&format!("  - {}\n", d.notes[0])));
    }
    let out = expect(
        0,
        &["diff", &p, &p, "--fail-on", "none", "--format", "markdown"],
    );
    assert!(out.stdout.contains("**No change found**"));
    assert!(out.stdout.contains("> **Not exact.**"));
    assert!(out.stderr.is_empty());
}

#[test]
fn diff_json_is_the_diff_of_the_core_and_every_witness_replays() {
    let pairs = [
        (
            "examples/policies/review/old.json",
            "examples/policies/review/new.json",
        ),
        (
            "examples/policies/review/new.json",
            "examples/policies/review/old.json",
        ),
        (
            "examples/policies/database-safety.json",
            "examples/policies/code-reviewer.json",
        ),
        (
            "examples/policies/email-agent.json",
            "examples/policies/review/new.json",
        ),
    ];
    for (old, new) in pairs {
        let (po, pn) = (policy(old), policy(new));
        let d = diff_json(old, new, "none", 0);
        assert_eq!(d, serde_json::to_value(analysis::diff(&po, &pn)).unwrap());
        for key in ["changes", "reason_changes"] {
            for c in d[key].as_array().unwrap() {
                let tool = c["tool"].as_str().unwrap();
                let a = args(c["args"].clone());
                let (ro, rn) = (po.check_call(tool, &a), pn.check_call(tool, &a));
                assert_eq!(json!(ro.decision), c["from"], "{old} {new} {c}");
                assert_eq!(json!(rn.decision), c["to"], "{old} {new} {c}");
                assert_eq!(json!(ro.matched_rule), c["old_rule"]);
                assert_eq!(json!(rn.matched_rule), c["new_rule"]);
            }
        }
    }
}

#[test]
fn review_example_diff_in_every_format() {
    let (old, new) = (
        "examples/policies/review/old.json",
        "examples/policies/review/new.json",
    );
    let d = diff_json(old, new, "any", 1);
    let kinds: Vec<(String, String)> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["from"].as_str().unwrap().into(),
                c["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    // The widened allow (read_file -> read_*) and the new condition rule
    // (write_file no longer needs approval under /workspace, is denied
    // elsewhere).
    for want in [
        ("deny", "allow"),
        ("require_approval", "allow"),
        ("require_approval", "deny"),
    ] {
        assert!(kinds.contains(&(want.0.into(), want.1.into())), "{kinds:?}");
    }
    diff_json(old, new, "wider", 1);
    let out = expect(1, &["diff", old, new]);
    assert!(out.stdout.starts_with(
        "examples/policies/review/old.json -> examples/policies/review/new.json: 3 decision changes (2 wider), 1 reason-only change\n"
    ));
    assert!(out.stdout.contains(
        "\nrequire_approval -> allow  (wider)\n  call: write_file {\"path\":\"/workspace\"}\n  old:  write_file -- requires approval per pattern: write_file\n  new:  workspace-writes -- allowed by rule: workspace-writes\n"
    ), "{}", out.stdout);
    expect(
        0,
        &[
            "diff",
            old,
            new,
            "--format",
            "markdown",
            "--fail-on",
            "none",
        ],
    );
}

/// The Markdown comment for the review example, compared byte for byte
/// with a committed file (AGENTGUARD_UPDATE_SNAPSHOTS=1 rewrites it).
#[test]
fn markdown_snapshot() {
    let out = expect(
        1,
        &[
            "diff",
            "examples/policies/review/old.json",
            "examples/policies/review/new.json",
            "--format",
            "markdown",
        ],
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/review-diff.md");
    if std::env::var_os("AGENTGUARD_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &out.stdout).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        out.stdout,
        want,
        "AGENTGUARD_UPDATE_SNAPSHOTS=1 rewrites {}",
        path.display()
    );
}

// ------------------------------------------------------------------- YAML

#[test]
fn yaml_means_exactly_the_same_policy() {
    let (j, y) = (
        "examples/policies/review/new.json",
        "examples/policies/review/new.yaml",
    );
    let fixtures = "examples/policies/review/fixtures.json";
    for (tool, a) in [
        ("read_file", "{}"),
        ("drop_table", "{}"),
        ("git_push", "{}"),
        ("write_file", r#"{"path": "/workspace/a"}"#),
        ("write_file", r#"{"path": "/etc/a"}"#),
        ("", "{}"),
    ] {
        let oj = run(&["check", j, tool, "--args", a, "--format", "json"]);
        let oy = run(&["check", y, tool, "--args", a, "--format", "json"]);
        assert_eq!((oj.code, oj.stdout), (oy.code, oy.stdout), "{tool} {a}");
    }
    assert_eq!(
        run(&["lint", j, "--format", "json"]).stdout,
        run(&["lint", y, "--format", "json"]).stdout
    );
    assert_eq!(
        run(&["test", j, fixtures, "--format", "json"]).stdout,
        run(&["test", y, fixtures, "--format", "json"]).stdout
    );
    assert_eq!(
        diff_json("examples/policies/review/old.json", j, "none", 0),
        diff_json("examples/policies/review/old.json", y, "none", 0)
    );
    // Every example policy, written as YAML (block style, anchors too),
    // decides like its JSON file; `.yml` is YAML as well.
    let dir = scratch("yaml-examples");
    for name in ["code-reviewer", "database-safety", "email-agent"] {
        let path = format!("examples/policies/{name}.json");
        let value: Value = serde_json::from_str(&read(&path)).unwrap();
        let yaml = write(
            &dir,
            &format!("{name}.yml"),
            &serde_norway::to_string(&value).unwrap(),
        );
        let d = diff_json(&path, &yaml, "any", 0);
        assert_eq!(d["exact"], true);
        for tool in [
            "read_database",
            "drop_table",
            "write_database",
            "send_email",
            "git_push",
            "x",
        ] {
            let oj = run(&["check", &path, tool, "--format", "json"]);
            let oy = run(&["check", &yaml, tool, "--format", "json"]);
            assert_eq!((oj.code, oj.stdout), (oy.code, oy.stdout), "{name} {tool}");
        }
    }
    let anchors = write(
        &dir,
        "anchors.yaml",
        "deny: &dangerous\n  - drop_*\n  - delete_*\nrequire_approval: *dangerous\ndefault: allow\n",
    );
    let plain = write(
        &dir,
        "plain.json",
        r#"{"deny": ["drop_*", "delete_*"], "require_approval": ["drop_*", "delete_*"], "default": "allow"}"#,
    );
    let d = diff_json(&anchors, &plain, "any", 0);
    assert_eq!(d["exact"], true);
    // A standard tag means what it says: `!!str 5` is the string "5".
    let tagged = write(&dir, "tagged.yaml", "allow: [!!str 5]\n");
    let out = expect(0, &["check", &tagged, "5"]);
    assert_eq!(out.stdout, "allow  5  allowed by pattern: 5\n");
    // YAML 1.2: `no`, `on` and `yes` are strings, not booleans.
    let words = write(&dir, "words.yaml", "name: no\nallow: [on, yes]\n");
    let out = expect(0, &["check", &words, "on"]);
    assert_eq!(out.stdout, "allow  on  allowed by pattern: on\n");
}

#[test]
fn yaml_is_as_strict_as_json() {
    let dir = scratch("yaml-strict");
    let cases = [
        (
            "dup.yaml",
            "deny:\n  - drop_*\nallow: [read_*]\ndeny: []\n",
            Some(4),
            "duplicate key \"deny\" in the policy object: each key may appear only once",
        ),
        (
            "nested.yml",
            "rules:\n  - id: r\n    tool: t\n    decision: allow\n    when:\n      path: {path_under: /workspace}\n      path: {path_under: /}\n",
            Some(7),
            "duplicate key \"path\" in rules[0].when: each key may appear only once",
        ),
        (
            "quoted.YAML",
            "deny: [a]\n\"deny\": [b]\n",
            Some(2),
            "duplicate key \"deny\" in the policy object",
        ),
        // YAML's own tags only say what the value already is: `!!set` is
        // a mapping, which the core then refuses where a list belongs.
        ("tag.yaml", "deny: !!set {a: null}\n", Some(1), "deny: expected an array of string patterns, got an object"),
        ("tag2.yaml", "deny: !patterns [a]\n", None, "invalid YAML: deny: the YAML tag !patterns is not allowed"),
        ("intkey.yaml", "rules:\n  - id: r\n    tool: t\n    decision: deny\n    when:\n      1: {glob: x}\n", None, "invalid YAML: rules[0].when: a key is the number 1; keys must be strings"),
        ("boolkey.yaml", "true: [a]\n", None, "invalid YAML: a key is the boolean true; keys must be strings"),
        ("merge.yaml", "base: &b {deny: [a]}\n<<: *b\n", Some(1), "unknown key \"base\""),
        ("docs.yaml", "deny: [a]\n---\ndeny: [b]\n", None, "invalid YAML: deserializing from YAML containing more than one document"),
        ("nan.yaml", "rules:\n  - {id: r, tool: t, decision: deny, when: {n: {lt: .nan}}}\n", None, "invalid YAML: rules[0].when.n.lt: NaN is not a finite number"),
        ("syntax.yaml", "deny: [a\n", None, "invalid YAML: did not find expected ',' or ']' at line 2 column 1"),
        ("typo.yaml", "name: p\ndenny: [drop_*]\n", Some(2), "unknown key \"denny\" in policy"),
        ("empty.yaml", "", None, "a policy must be a JSON object, got null"),
    ];
    for (name, text, line, want) in cases {
        let path = write(&dir, name, text);
        for a in [vec!["check", &path, "x"], vec!["lint", &path]] {
            let out = expect(2, &a);
            assert!(
                out.stderr
                    .starts_with(&format!("{}{want}", error_prefix(&path, line))),
                "{name}: {}",
                out.stderr
            );
        }
    }
    // The same duplicate in JSON: the core's reader says the same thing,
    // and the command places it on the same line.
    let path = write(
        &dir,
        "dup.json",
        "{\"deny\": [\"drop_*\"],\n\"allow\": [\"read_*\"],\n\n\"deny\": []}\n",
    );
    let out = expect(2, &["check", &path, "drop_table"]);
    assert_eq!(
        out.stderr,
        format!(
            "{}duplicate key \"deny\" in the policy object: each key may appear only once\n",
            error_prefix(&path, Some(4))
        )
    );
}

// --------------------------------------------------------------- examples

#[test]
fn the_example_policies_work_with_every_command() {
    for entry in std::fs::read_dir(root().join("examples/policies")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let path = format!("examples/policies/{name}");
        let out = expect(0, &["lint", &path]);
        assert_eq!(out.stdout, format!("{path}: no findings\n"));
        expect(0, &["lint", &path, "--format", "sarif"]);
        expect(1, &["check", &path, "drop_everything_now"]);
    }
    for name in ["old.json", "new.json", "new.yaml"] {
        let path = format!("{REVIEW}/{name}");
        let out = expect(0, &["lint", &path]);
        assert_eq!(out.stdout, format!("{path}: no findings\n"));
    }
    // The traps file has one of each trap, and says so.
    let out = expect(1, &["lint", &format!("{REVIEW}/traps.json")]);
    for code in [
        "shadowed",
        "duplicate",
        "brace-is-literal",
        "backslash-is-literal",
        "whitespace",
        "caret-is-not-negation",
        "case-bypass",
    ] {
        assert!(
            out.stdout.contains(&format!("[{code}]")),
            "{code}: {}",
            out.stdout
        );
    }
    // Hints and witnesses as the core gives them, under their finding.
    let traps = analysis::lint(&policy(&format!("{REVIEW}/traps.json")));
    for f in &traps {
        assert!(
            out.stdout.contains(&format!("\n    hint: {}\n", f.hint)),
            "{}: {}",
            f.hint,
            out.stdout
        );
        if let Some(w) = &f.witness {
            let shown = if w.tool.contains(' ') {
                format!("{:?}", w.tool)
            } else {
                w.tool.clone()
            };
            assert!(
                out.stdout.contains(&format!("\n    witness: {shown}\n")),
                "{shown}: {}",
                out.stdout
            );
        }
    }
    assert!(traps.iter().any(|f| f.witness.is_some()));
    expect(
        0,
        &[
            "test",
            &format!("{REVIEW}/new.json"),
            &format!("{REVIEW}/fixtures.json"),
        ],
    );
    expect(
        0,
        &[
            "test",
            &format!("{REVIEW}/new.yaml"),
            &format!("{REVIEW}/fixtures.json"),
        ],
    );
    expect(
        1,
        &[
            "test",
            &format!("{REVIEW}/old.json"),
            &format!("{REVIEW}/fixtures.json"),
        ],
    );
    expect(
        1,
        &[
            "diff",
            &format!("{REVIEW}/old.json"),
            &format!("{REVIEW}/new.json"),
        ],
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // `agentguard lint p.json | head -1`: far more output than a pipe
    // holds, and nobody reading it; the exit code is still lint's.
    let dir = scratch("closed-pipe");
    let patterns: Vec<String> = (0..600).map(|_| "drop_*".to_string()).collect();
    let path = write(
        &dir,
        "many.json",
        &json!({"deny": patterns, "default": "allow"}).to_string(),
    );
    let full = expect(1, &["lint", &path]);
    assert!(full.stdout.len() > 1 << 17, "{}", full.stdout.len());
    let mut child = Command::new(BIN)
        .args(["lint", &path])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// ----------------------------------------------------------------- README

/// Each `$ agentguard ...` line of the `console` blocks of
/// crates/cli/README.md, with the output shown under it.
fn readme_examples() -> Vec<(String, Vec<String>)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line == "```console" {
            in_block = true;
        } else if in_block && line == "```" {
            in_block = false;
        } else if in_block {
            if let Some(cmd) = line.strip_prefix("$ ") {
                out.push((cmd.to_string(), Vec::new()));
            } else {
                out.last_mut()
                    .expect("a console block starts with a command")
                    .1
                    .push(line.to_string());
            }
        }
    }
    out
}

#[test]
fn the_readme_examples_print_what_they_show() {
    let examples = readme_examples();
    assert!(examples.len() >= 4, "{examples:?}");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (cmd, shown) in examples {
        assert!(cmd.starts_with("agentguard "), "{cmd}");
        let o = Command::new("bash")
            .args(["--noprofile", "--norc", "-c", &cmd])
            .current_dir(root())
            .env("PATH", &path_var)
            .output()
            .unwrap();
        assert_ne!(o.status.code(), Some(2), "{cmd}");
        let got = String::from_utf8(o.stdout).unwrap();
        let got: Vec<&str> = got.lines().collect();
        // `...` leaves lines out: what is above it starts the output, what
        // is below it ends it.
        match shown.iter().position(|l| l == "...") {
            Some(cut) => {
                let (head, tail) = (&shown[..cut], &shown[cut + 1..]);
                assert!(got.len() >= head.len() + tail.len(), "{cmd}: {got:#?}");
                assert_eq!(&got[..head.len()], head, "{cmd}");
                assert_eq!(&got[got.len() - tail.len()..], tail, "{cmd}");
            }
            None => assert_eq!(got, shown, "{cmd}"),
        }
    }
}

// --------------------------------------------------------------------- CI

/// The `run:` lines of the example workflow that invoke agentguard, with
/// `\` continuations joined.
fn workflow_commands(workflow: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (job_name, job) in workflow["jobs"].as_object().unwrap() {
        for step in job["steps"].as_array().unwrap() {
            let Some(run) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let joined = run.replace("\\\n", " ");
            for line in joined.lines() {
                let line = line.trim();
                if line.starts_with("agentguard ") {
                    let name = step["name"].as_str().unwrap_or(job_name).to_string();
                    out.push((name, line.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn the_ci_workflow_runs_its_commands_on_the_examples() {
    let text = read("examples/ci/agentguard-policy.yml");
    // Parsed as strictly as a policy (a repeated key would be an error).
    let de = serde_norway::Deserializer::from_str(&text);
    let workflow: Value = serde::Deserialize::deserialize(de).unwrap();
    let env = workflow["env"].as_object().unwrap();
    let policy_path = env["POLICY"].as_str().unwrap();
    let fixtures = env["FIXTURES"].as_str().unwrap();
    assert!(root().join(policy_path).is_file() && root().join(fixtures).is_file());
    // The base branch's policy: the workflow writes it with `git show`
    // under this name; here the old example stands in for it.
    assert!(text.contains(
        r#"echo "BASE_POLICY=$RUNNER_TEMP/base-$(basename "$POLICY")" >> "$GITHUB_ENV""#
    ));
    let temp = scratch("ci-workflow");
    let base = temp.join(format!(
        "base-{}",
        Path::new(policy_path)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    ));
    std::fs::copy(root().join(REVIEW).join("old.json"), &base).unwrap();

    let commands = workflow_commands(&workflow);
    let lines: Vec<&str> = commands.iter().map(|(_, l)| l.as_str()).collect();
    assert!(lines
        .iter()
        .any(|l| l.starts_with("agentguard lint ") && l.contains("--format sarif")));
    assert!(lines.iter().any(|l| l.starts_with("agentguard test ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("agentguard diff ") && l.contains("--format markdown")));
    assert!(lines.iter().any(|l| l.contains("--fail-on wider")));

    let bin_dir = Path::new(BIN).parent().unwrap();
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (name, line) in &commands {
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", line])
            .current_dir(root())
            .env("PATH", &path_var)
            .env("POLICY", policy_path)
            .env("FIXTURES", fixtures)
            .env("RUNNER_TEMP", &temp)
            .env("BASE_POLICY", &base)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The example widens on purpose, so the label gate fails; every
        // other step passes.
        let want = if line.contains("--fail-on wider") {
            1
        } else {
            0
        };
        assert_eq!(code, want, "step {name:?}: {line}\n{stderr}");
    }
    // What the steps wrote: valid SARIF, and the comment, which is the
    // committed snapshot but for the base file's name.
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(temp.join("agentguard.sarif")).unwrap())
            .unwrap();
    assert_valid_sarif(&sarif);
    let comment = std::fs::read_to_string(temp.join("diff.md")).unwrap();
    let snapshot = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/review-diff.md"),
    )
    .unwrap();
    assert_eq!(
        comment.replace(base.to_str().unwrap(), "examples/policies/review/old.json"),
        snapshot
    );
}
