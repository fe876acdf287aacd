//! The analysis (lint, diff, fixture tests) against brute force: every
//! claim it makes is checked on every name up to a length over the
//! patterns' alphabet and on a pool of argument objects, decided by the
//! engine itself.

use agentguard::analysis::{diff, lint, test, Diff, Finding, Fixture};
use agentguard::{Policy, PolicyResult};
use serde_json::{json, Map, Value};

fn policy(v: Value) -> Policy {
    Policy::from_value(&v).unwrap_or_else(|e| panic!("{e}: {v}"))
}

fn codes(p: &Policy) -> Vec<&'static str> {
    lint(p).iter().map(|f| f.code).collect()
}

fn find<'a>(fs: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.code == code).collect()
}

// ---------------------------------------------------------------- lint table

#[test]
fn lint_shadowed_pattern_names_what_covers_it() {
    let p = policy(json!({"deny": ["drop_*"], "allow": ["drop_table", "read_*"]}));
    let fs = lint(&p);
    let s = find(&fs, "shadowed");
    assert_eq!(s.len(), 1, "{fs:#?}");
    assert_eq!(s[0].location.display(), "allow[0]");
    assert_eq!(s[0].related[0].display(), "deny[0]");
    // Negative: the same patterns where nothing covers another.
    let p = policy(json!({"deny": ["drop_table"], "allow": ["drop_*", "read_*"]}));
    assert!(find(&lint(&p), "shadowed").is_empty());
}

#[test]
fn lint_shadowed_by_a_union_of_patterns() {
    // `?` is covered by `a` together with `[!a]`, though by neither alone.
    let p = policy(json!({"deny": ["a", "[!a]"], "allow": ["?", "??"]}));
    let fs = lint(&p);
    let s = find(&fs, "shadowed");
    assert_eq!(s.len(), 1, "{fs:#?}");
    assert_eq!(s[0].location.display(), "allow[0]");
    assert_eq!(s[0].related.len(), 2);
}

#[test]
fn lint_rule_shadowed_by_a_list_and_by_an_earlier_rule() {
    let p = policy(json!({
        "deny": ["rm_*"],
        "rules": [
            {"id": "never", "tool": "rm_rf", "decision": "deny", "when": {"path": {"glob": "/*"}}},
            {"id": "small", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 100}}},
            {"id": "smaller", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 50}}},
            {"id": "live", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 200}}}
        ]
    }));
    let fs = lint(&p);
    let s: Vec<String> = find(&fs, "shadowed")
        .iter()
        .map(|f| f.location.display())
        .collect();
    assert_eq!(s, ["rules[0] (never)", "rules[2] (smaller)"], "{fs:#?}");
}

#[test]
fn lint_matches_nothing() {
    let p = policy(json!({"deny": ["a[z-a]"], "allow": ["b"], "rules": [
        {"id": "dead", "tool": "[z-a]*", "decision": "deny"}]}));
    let fs = lint(&p);
    let m: Vec<String> = find(&fs, "matches-nothing")
        .iter()
        .map(|f| f.location.display())
        .collect();
    assert_eq!(m, ["deny[0]", "rules[0].tool (dead)"], "{fs:#?}");
    assert!(find(
        &lint(&policy(json!({"deny": ["a[a-z]"]}))),
        "matches-nothing"
    )
    .is_empty());
}

#[test]
fn lint_duplicate() {
    let p = policy(json!({"deny": ["drop_*"], "allow": ["read", "drop_*"]}));
    let fs = lint(&p);
    let d = find(&fs, "duplicate");
    assert_eq!(d.len(), 1, "{fs:#?}");
    assert_eq!(d[0].location.display(), "allow[1]");
    assert_eq!(d[0].related[0].display(), "deny[0]");
    assert!(find(&fs, "shadowed").is_empty());
    assert!(find(
        &lint(&policy(json!({"deny": ["drop_*"], "allow": ["read"]}))),
        "duplicate"
    )
    .is_empty());
}

#[test]
fn lint_fnmatch_traps() {
    let p = policy(json!({
        "allow": ["{read,list}_*", "a\\*", "[^a]x", " ls", "ok"],
        "rules": [{"id": "r", "tool": "t", "decision": "allow", "when": {"p": {"glob": "{a,b}"}}}]
    }));
    let fs = lint(&p);
    let at = |code: &str| -> Vec<String> {
        find(&fs, code)
            .iter()
            .map(|f| f.location.display())
            .collect()
    };
    assert_eq!(
        at("brace-is-literal"),
        ["allow[0]", "rules[0].when.p.glob (r)"]
    );
    assert_eq!(at("backslash-is-literal"), ["allow[1]"]);
    assert_eq!(at("caret-is-not-negation"), ["allow[2]"]);
    assert_eq!(at("whitespace"), ["allow[3]"]);
    // Negative: none of these in ordinary patterns.
    let clean = policy(json!({"allow": ["read_*", "[!a]x", "a[*]", "ls"]}));
    assert!(codes(&clean).is_empty(), "{:#?}", lint(&clean));
}

#[test]
fn lint_case_bypass_has_a_witness_that_replays() {
    let p =
        policy(json!({"deny": ["drop_*"], "require_approval": ["git_push"], "default": "allow"}));
    let fs = lint(&p);
    let c = find(&fs, "case-bypass");
    assert_eq!(c.len(), 2, "{fs:#?}");
    for f in c {
        let w = f.witness.as_ref().unwrap();
        assert_eq!(p.check(&w.tool).decision.as_str(), "allow", "{w:?}");
        // The hint's pattern matches the witness's spelling too.
        let suggested = f.hint.split('"').nth(1).unwrap();
        assert!(
            agentguard::fnmatch(&w.tool, suggested),
            "{suggested:?} {w:?}"
        );
    }
    let fs = lint(&policy(json!({"deny": ["dr[!o]p_é*"], "default": "allow"})));
    let f = find(&fs, "case-bypass")[0];
    assert!(f.hint.contains(r#""[dD][rR][!o][pP]_[éÉ]*""#), "{}", f.hint);
    // A pattern that never decides has its own finding, not this one.
    let fs = lint(&policy(
        json!({"deny": ["drop_*", "drop_table", "drop_*"], "default": "allow"}),
    ));
    assert_eq!(find(&fs, "case-bypass").len(), 1, "{fs:#?}");
    // Negative: default deny, or no letters.
    assert!(find(&lint(&policy(json!({"deny": ["drop_*"]}))), "case-bypass").is_empty());
    assert!(find(
        &lint(&policy(json!({"deny": ["1*"], "default": "allow"}))),
        "case-bypass"
    )
    .is_empty());
}

#[test]
fn lint_conditions() {
    let p = policy(json!({"rules": [
        {"id": "never", "tool": "refund", "decision": "allow", "when": {"amount": {"lt": 5, "gt": 10}}},
        {"id": "unknown", "tool": "refund", "decision": "deny", "when": {"amount": {"glob": "*", "gte": -1.7976931348623157e308, "lte": 1.7976931348623157e308}}},
        {"id": "mixed", "tool": "refund", "decision": "deny", "when": {"amount": {"glob": "1*", "lt": 100}}},
        {"id": "paths", "tool": "write", "decision": "deny", "when": {"path": {"path_glob": ["/w//*", "/w/*", "/w/../x"]}}},
        {"id": "ok", "tool": "refund", "decision": "allow", "when": {"amount": {"gt": 5, "lt": 10}}}
    ]}));
    let fs = lint(&p);
    let at = |code: &str| -> Vec<String> {
        find(&fs, code)
            .iter()
            .map(|f| f.location.display())
            .collect()
    };
    // A string glob and a number bound on one value: never both true.
    assert_eq!(
        at("condition-never-true"),
        [
            "rules[0].when.amount (never)",
            "rules[2].when.amount (mixed)"
        ],
        "{fs:#?}"
    );
    assert_eq!(
        at("condition-always-unknown"),
        ["rules[1].when.amount (unknown)"]
    );
    assert_eq!(
        at("path-glob-unmatchable"),
        [
            "rules[3].when.path.path_glob[0] (paths)",
            "rules[3].when.path.path_glob[2] (paths)"
        ]
    );
}

#[test]
fn lint_shadow_rule_is_info() {
    let p = policy(json!({"rules": [
        {"id": "try", "tool": "run", "decision": "deny", "mode": "shadow", "when": {"c": {"glob": "rm *"}}}]}));
    let fs = lint(&p);
    assert_eq!(codes(&p), ["shadow-rule"], "{fs:#?}");
    assert_eq!(fs[0].severity.as_str(), "info");
}

#[test]
fn lint_a_clean_policy_has_no_findings() {
    for file in ["database-safety", "code-reviewer", "email-agent"] {
        let text = std::fs::read_to_string(format!("examples/policies/{file}.json")).unwrap();
        let p = Policy::from_json(&text).unwrap();
        let fs = lint(&p);
        assert!(
            fs.iter()
                .all(|f| f.code != "shadowed" && f.code != "matches-nothing"),
            "{file}: {fs:#?}"
        );
    }
}

// ---------------------------------------------------------------- test()

#[test]
fn fixtures_report_failures_and_what_no_fixture_exercised() {
    let p = policy(
        json!({"allow": ["read_*"], "deny": ["drop_*", "rm_*"], "rules": [
        {"id": "small", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 100}}}]}),
    );
    let f = Fixture::parse_many(
        r#"[{"tool": "drop_table", "expect": "deny", "rule": "drop_*"},
            {"tool": "refund", "args": {"amount": 5}, "expect": "allow", "rule": "small"},
            {"tool": "refund", "args": {"amount": 500}, "expect": "allow"},
            {"tool": "ls", "expect": "deny", "rule": null}]"#,
    )
    .unwrap();
    let r = test(&p, &f);
    assert_eq!((r.total, r.passed), (4, 3));
    assert_eq!(r.failures[0].index, 2);
    assert_eq!(
        r.failures[0].got.reason.as_deref(),
        Some("not in allow list (default: deny)")
    );
    let un: Vec<String> = r.unexercised.iter().map(|l| l.display()).collect();
    assert_eq!(un, ["deny[1]", "allow[0]"]);
    // A wrong rule is a failure even with the right decision.
    let f = Fixture::parse_many(r#"{"tool": "drop_x", "expect": "deny", "rule": "rm_*"}"#).unwrap();
    assert_eq!(test(&p, &f).failures.len(), 1);
}

#[test]
fn fixtures_are_read_strictly() {
    // Each error names its place once: the field, and a message that reads
    // on its own.
    for (text, field, display) in [
        (
            r#"[{"tool": "a", "expect": "allow", "expect": "deny"}]"#,
            "fixtures[0].expect",
            r#"duplicate key "expect" in fixtures[0]: each key may appear only once"#,
        ),
        (
            r#"[{"tool": "a", "expect": "alow"}]"#,
            "fixtures[0].expect",
            r#"fixtures[0].expect: expected "allow", "deny" or "require_approval", got string "alow""#,
        ),
        (
            r#"[{"tool": "a", "expected": "allow"}]"#,
            "fixtures[0].expected",
            r#"unknown key "expected" in fixtures[0] (known keys: tool, args, expect, rule)"#,
        ),
        (
            r#"[{"expect": "allow"}]"#,
            "fixtures[0].tool",
            r#"fixtures[0].tool: a fixture needs "tool""#,
        ),
        (
            "{\"tool\": \"a\", \"expect\": \"deny\"}\n{\"tool\": 1, \"expect\": \"deny\"}",
            "line 2.tool",
            "line 2.tool: expected a tool name, got number 1",
        ),
        (
            "{\"tool\": \"a\", \"expect\": \"deny\"}\n\n{\"tool\": \"b\", \"tool\": \"c\"}",
            "line 3.tool",
            r#"duplicate key "tool" in line 3: each key may appear only once"#,
        ),
        (
            "{\"tool\": \"a\", \"expect\": \"deny\"}\nnot json",
            "line 2",
            "line 2: invalid JSON: expected ident at line 1 column 2",
        ),
    ] {
        let e = Fixture::parse_many(text).unwrap_err();
        assert_eq!(
            (e.field(), e.to_string().as_str()),
            (Some(field), display),
            "{text}"
        );
    }
}

// ---------------------------------------------------------------- diff table

#[test]
fn diff_reports_each_transition_with_a_witness() {
    let old =
        policy(json!({"allow": ["read_*"], "deny": ["drop_*"], "require_approval": ["write_*"]}));
    let new = policy(
        json!({"allow": ["read_*", "write_log"], "deny": ["drop_*", "rm_*"], "require_approval": ["write_db"]}),
    );
    let d = diff(&old, &new);
    assert!(d.exact);
    let t: Vec<String> = d
        .changes
        .iter()
        .map(|c| format!("{} -> {} {}", c.from, c.to, c.tool))
        .collect();
    // write_log is no longer behind approval; other write_ names are now
    // denied by default.
    assert_eq!(
        t,
        [
            "require_approval -> deny write_",
            "require_approval -> allow write_log"
        ],
        "{d:#?}"
    );
    // rm_ names were denied by default and are now denied by a pattern;
    // write_db needs approval by another pattern.
    let r: Vec<String> = d
        .reason_changes
        .iter()
        .map(|c| format!("{} {}", c.tool, c.new_reason))
        .collect();
    assert_eq!(
        r,
        [
            "rm_ denied by pattern: rm_*",
            "write_db requires approval per pattern: write_db"
        ]
    );
    assert!(!d.changes[0].is_wider() && d.changes[1].is_wider());
    assert!(diff(&old, &old).changes.is_empty());
    assert!(diff(&old, &old).reason_changes.is_empty());
}

#[test]
fn diff_of_conditions_finds_the_boundary() {
    let old = policy(
        json!({"rules": [{"id": "small", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 100}}}]}),
    );
    let new = policy(
        json!({"rules": [{"id": "small", "tool": "refund", "decision": "allow", "when": {"amount": {"lt": 100}}}]}),
    );
    let d = diff(&old, &new);
    assert!(d.exact, "{d:#?}");
    assert_eq!(d.changes.len(), 1, "{d:#?}");
    assert_eq!(
        d.changes[0].args,
        json!({"amount": 100}).as_object().unwrap().clone()
    );
    assert!(!d.changes[0].is_wider());
}

// ---------------------------------------------------------------- properties

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn pattern(rng: &mut Rng) -> String {
    let atoms = ["a", "b", "_", "*", "?", "[ab]", "[!a]", "a", "b", "*"];
    let n = 1 + rng.below(3);
    let mut p: String = (0..n).map(|_| rng.pick(&atoms)).collect();
    if rng.chance(3) {
        p.push_str("[z-a]");
    }
    p
}

fn patterns(rng: &mut Rng, max: usize) -> Vec<String> {
    (0..rng.below(max + 1)).map(|_| pattern(rng)).collect()
}

fn condition(rng: &mut Rng) -> Value {
    let one = |rng: &mut Rng| -> (String, Value) {
        match rng.below(10) {
            0 => ("glob".into(), json!(pattern(rng))),
            1 => ("not_glob".into(), json!(pattern(rng))),
            2 => (
                "in".into(),
                json!([rng.pick(&[json!("a"), json!("ab"), json!(1), json!(true), json!(1.5)])]),
            ),
            3 => (
                "not_in".into(),
                json!([rng.pick(&[json!("a"), json!(5), json!(false)]), "b"]),
            ),
            4 => ("lt".into(), json!(rng.pick(&[0, 1, 5]))),
            5 => (
                "gte".into(),
                json!(rng.pick(&[json!(1), json!(1.5), json!(5)])),
            ),
            6 => ("path_under".into(), json!(rng.pick(&["/w", "/", "/w/a"]))),
            7 => ("path_glob".into(), json!(rng.pick(&["/w/*", "/*/a", "*a"]))),
            8 => ("lte".into(), json!(rng.pick(&[1, 5]))),
            _ => ("gt".into(), json!(0)),
        }
    };
    if rng.chance(15) {
        return json!({"present": rng.chance(50)});
    }
    let mut m = Map::new();
    for _ in 0..1 + rng.below(2) {
        let (k, v) = one(rng);
        m.insert(k, v);
    }
    Value::Object(m)
}

fn random_policy(rng: &mut Rng) -> Value {
    let mut rules = Vec::new();
    for i in 0..rng.below(4) {
        let mut when = Map::new();
        for _ in 0..rng.below(3) {
            when.insert(rng.pick(&["x", "y", "x.z"]).to_string(), condition(rng));
        }
        let mut r = json!({
            "id": format!("r{i}"),
            "tool": if rng.chance(30) { json!([pattern(rng), pattern(rng)]) } else { json!(pattern(rng)) },
            "decision": rng.pick(&["allow", "deny", "require_approval"]),
            "when": when,
        });
        if rng.chance(15) {
            r["mode"] = json!("shadow");
        }
        rules.push(r);
    }
    json!({
        "deny": patterns(rng, 2),
        "require_approval": patterns(rng, 2),
        "allow": patterns(rng, 3),
        "default": rng.pick(&["allow", "deny"]),
        "rules": rules,
    })
}

/// Every name up to length 4 over the patterns' alphabet (and one letter
/// no pattern names).
fn names() -> Vec<String> {
    let alphabet = ['a', 'b', '_', 'c'];
    let mut out = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for s in &last {
            for c in alphabet {
                next.push(format!("{s}{c}"));
            }
        }
        out.extend(next.iter().cloned());
        last = next;
    }
    out
}

/// Instances of a pattern of [`pattern`]'s atoms: each `*` as nothing, `a`
/// or `b_a`, each `?` as `a` or `_`, each set as a character it accepts
/// (none for `[z-a]`, which accepts nothing); every combination.
fn instances(p: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut rest = p;
    while let Some(c) = rest.chars().next() {
        let (choices, len): (Vec<&str>, usize) = match c {
            '*' => (vec!["", "a", "b_a"], 1),
            '?' => (vec!["a", "_"], 1),
            '[' => {
                let end = rest.find(']').expect("a closed set");
                let choices = match &rest[..=end] {
                    "[ab]" => vec!["a", "b"],
                    "[!a]" => vec!["b", "_"],
                    _ => vec![],
                };
                (choices, end + 1)
            }
            _ => (vec![&rest[..c.len_utf8()]], c.len_utf8()),
        };
        out = out
            .iter()
            .flat_map(|s| choices.iter().map(move |c| format!("{s}{c}")))
            .collect();
        rest = &rest[len..];
    }
    out
}

fn value_pool() -> Vec<Option<Value>> {
    let mut out: Vec<Option<Value>> = vec![None];
    for v in [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(1.5),
        json!(5),
        json!(-3),
        json!(7.25),
        json!("a"),
        json!("b"),
        json!("ab"),
        json!("/w"),
        json!("/w/a"),
        json!("/w/../a"),
        json!("x"),
        json!([]),
        json!(["a"]),
        json!(["a", "b"]),
        json!([1, "a"]),
        json!(["/w/a", "/x"]),
        json!({}),
        json!({"z": "a"}),
        json!({"z": 5}),
        json!({"z": ["/w/a"]}),
    ] {
        out.push(Some(v));
    }
    out
}

fn arg_pool() -> Vec<Map<String, Value>> {
    let pool = value_pool();
    let mut out = Vec::new();
    for x in &pool {
        for y in pool.iter().step_by(3) {
            let mut m = Map::new();
            if let Some(v) = x {
                m.insert("x".into(), v.clone());
            }
            if let Some(v) = y {
                m.insert("y".into(), v.clone());
            }
            out.push(m);
        }
    }
    out
}

/// What a change is reported by: decisions, reasons and deciding rules.
type Key = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn key(a: &PolicyResult, b: &PolicyResult) -> Key {
    (
        a.decision.to_string(),
        b.decision.to_string(),
        a.reason.to_string(),
        a.matched_rule.as_deref().map(str::to_string),
        b.reason.to_string(),
        b.matched_rule.as_deref().map(str::to_string),
    )
}

fn diff_keys(d: &Diff) -> Vec<Key> {
    d.changes
        .iter()
        .chain(&d.reason_changes)
        .map(|c| {
            (
                c.from.to_string(),
                c.to.to_string(),
                c.old_reason.clone(),
                c.old_rule.clone(),
                c.new_reason.clone(),
                c.new_rule.clone(),
            )
        })
        .collect()
}

#[test]
fn instances_match_their_pattern() {
    let got = instances("a*[!a]?[ab]");
    assert_eq!(got.len(), 3 * 2 * 2 * 2);
    for n in &got {
        assert!(agentguard::fnmatch(n, "a*[!a]?[ab]"), "{n:?}");
    }
    assert!(instances("a[z-a]").is_empty());
}

#[test]
fn diff_is_sound_and_complete_on_random_pairs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (names, args) = (names(), arg_pool());
    let (mut exact, mut changes, mut checked) = (0, 0, 0usize);
    for case in 0..120 {
        let (ov, nv) = (random_policy(&mut rng), random_policy(&mut rng));
        let (old, new) = (policy(ov.clone()), policy(nv.clone()));
        let d = diff(&old, &new);
        // Sound: every witness replays.
        for c in d.changes.iter().chain(&d.reason_changes) {
            let (a, b) = (
                old.check_call(&c.tool, &c.args),
                new.check_call(&c.tool, &c.args),
            );
            assert_eq!(
                (a.decision, b.decision),
                (c.from, c.to),
                "case {case}: {c:?}\n{ov}\n{nv}"
            );
            assert_eq!(
                (&*a.reason, &*b.reason),
                (&*c.old_reason, &*c.new_reason),
                "case {case}"
            );
            // Wider: newly allowed, or newly possible with approval.
            let widening = matches!(
                (c.from.as_str(), c.to.as_str()),
                ("deny", "allow") | ("require_approval", "allow") | ("deny", "require_approval")
            );
            assert_eq!(c.wider, widening, "case {case}: {c:?}");
        }
        let d2 = diff(&new, &new);
        assert!(
            d2.changes.is_empty() && d2.reason_changes.is_empty(),
            "case {case}: {d2:?}"
        );
        if !d.exact {
            continue;
        }
        exact += 1;
        changes += d.changes.len();
        // Complete: every call that changes is reported by its kind.
        let reported = diff_keys(&d);
        for n in &names {
            let rules_apply = old.rules_apply_to(n) || new.rules_apply_to(n);
            let calls: &[Map<String, Value>] = if rules_apply { &args } else { &args[..1] };
            for a in calls {
                let (x, y) = (old.check_call(n, a), new.check_call(n, a));
                checked += 1;
                let k = key(&x, &y);
                if k.0 == k.1 && k.2 == k.4 && k.3 == k.5 {
                    continue;
                }
                assert!(
                    reported.contains(&k),
                    "case {case}: {n:?} {a:?} changes {k:?}, not reported\nold {ov}\nnew {nv}\n{d:#?}"
                );
            }
        }
    }
    assert!(exact >= 100, "only {exact} of 120 diffs were exact");
    assert!(changes > 100, "only {changes} changes in all");
    assert!(checked > 100_000, "{checked}");
}

#[test]
fn tool_outcomes_are_sound_and_complete_on_random_policies() {
    let mut rng = Rng(0x6a09_e667_f3bc_c908);
    let (names, args) = (names(), arg_pool());
    let (mut exact, mut always, mut cheap) = (0, 0, 0);
    for case in 0..150 {
        let v = random_policy(&mut rng);
        let p = policy(v.clone());
        for n in &names {
            let o = agentguard::analysis::tool_outcomes(&p, n);
            // Sound: every witness replays, each decision once.
            for d in &o.decisions {
                assert_eq!(&d.witness.tool, n);
                assert_eq!(
                    p.check_call(n, &d.witness.args).decision,
                    d.decision,
                    "case {case} {n:?}\n{v}"
                );
            }
            // The cheap check of Policy::always_denied never claims more
            // than the analysis proves.
            if p.always_denied(n) {
                cheap += 1;
                assert!(
                    o.decisions.iter().all(|d| d.decision.as_str() == "deny")
                        && (o.always_denied() || !o.exact),
                    "case {case}: {n:?} claimed always denied\n{v}\n{o:?}"
                );
                for a in &args {
                    assert_eq!(
                        p.check_call(n, a).decision.as_str(),
                        "deny",
                        "case {case}: {n:?} {a:?}\n{v}"
                    );
                }
            }
            if !o.exact {
                continue;
            }
            exact += 1;
            always += usize::from(o.always_denied());
            // Complete: no argument object gets a decision not listed.
            for a in &args {
                let got = p.check_call(n, a).decision;
                assert!(
                    o.decisions.iter().any(|d| d.decision == got),
                    "case {case}: {n:?} {a:?} is {got:?}, not in {o:?}\n{v}"
                );
            }
        }
    }
    assert!(
        exact > 10_000 && always > 1_000,
        "{exact} exact, {always} always denied"
    );
    assert!(cheap > always / 2, "{cheap} shown cheaply of {always}");
}

#[test]
fn tool_outcomes_tables() {
    let p = policy(json!({
        "deny": ["drop_*"],
        "allow": ["read_*"],
        "rules": [
            {"id": "small", "tool": "refund", "when": {"amount": {"lte": 100}}, "decision": "allow"},
            {"id": "big", "tool": "refund", "when": {"amount": {"gt": 1000}}, "decision": "require_approval"},
            {"id": "sh", "tool": "run", "when": {"cmd": {"command": ["git status"]}}, "decision": "allow"},
            {"id": "try", "tool": "drop_*", "when": {"x": {"present": true}}, "decision": "allow", "mode": "shadow"}
        ]
    }));
    let ds = |t: &str| -> Vec<&str> {
        agentguard::analysis::tool_outcomes(&p, t)
            .decisions
            .iter()
            .map(|d| d.decision.as_str())
            .collect()
    };
    assert_eq!(ds("refund"), ["allow", "require_approval", "deny"]);
    assert_eq!(ds("read_x"), ["allow"]);
    let drop = agentguard::analysis::tool_outcomes(&p, "drop_table");
    assert!(drop.always_denied() && drop.only() == Some(agentguard::Decision::Deny));
    assert!(agentguard::analysis::tool_outcomes(&p, "other").always_denied());
    // A shell command condition is sampled: never "always denied" on a sample.
    let run = agentguard::analysis::tool_outcomes(&p, "run");
    assert!(
        !run.exact && !run.always_denied() && run.only().is_none(),
        "{run:?}"
    );
    assert_eq!(ds("run"), ["allow", "deny"]);
    let json = serde_json::to_value(agentguard::analysis::tool_outcomes(&p, "read_x")).unwrap();
    assert_eq!(
        json,
        json!({"decisions": [{"decision": "allow", "witness": {"tool": "read_x", "args": {}}}], "exact": true, "notes": []})
    );
}

#[test]
fn lint_claims_hold_on_random_policies() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (names, args) = (names(), arg_pool());
    let mut claims = 0;
    for case in 0..150 {
        let v = random_policy(&mut rng);
        let p = policy(v.clone());
        let fs = lint(&p);
        let dead: Vec<&Finding> = fs
            .iter()
            .filter(|f| matches!(f.code, "shadowed" | "matches-nothing" | "duplicate"))
            .collect();
        if dead.is_empty() {
            continue;
        }
        // Every call the brute force tries, the patterns' text, and the
        // instances of every pattern (the lists' and the rules').
        let mut tries: Vec<String> = names.clone();
        let spec = p.spec();
        let mut pats: Vec<String> = spec
            .deny
            .iter()
            .chain(&spec.require_approval)
            .chain(&spec.allow)
            .cloned()
            .collect();
        for r in v["rules"].as_array().unwrap() {
            match &r["tool"] {
                Value::Array(ts) => pats.extend(ts.iter().map(|t| t.as_str().unwrap().to_string())),
                t => pats.push(t.as_str().unwrap().to_string()),
            }
        }
        for q in &pats {
            tries.push(q.clone());
            tries.extend(instances(q));
        }
        tries.sort();
        tries.dedup();
        for f in &dead {
            claims += 1;
            let loc = &f.location;
            for n in &tries {
                for a in &args {
                    let r = p.check_call(n, a);
                    let decided_by = match (&r.rule, loc.field.as_str()) {
                        (Some(agentguard::RuleRef::List { list, index }), field) => {
                            list.as_str() == field && Some(*index) == loc.index
                        }
                        (Some(agentguard::RuleRef::Id { id }), _) => {
                            loc.rule.as_deref() == Some(&**id) && loc.field.starts_with("rules[")
                        }
                        _ => false,
                    };
                    assert!(
                        !decided_by,
                        "case {case}: {} claims {} never decides, but {n:?} {a:?} is decided by it\n{v}",
                        f.code,
                        loc.display()
                    );
                }
            }
        }
    }
    assert!(claims >= 30, "only {claims} claims checked");
}
