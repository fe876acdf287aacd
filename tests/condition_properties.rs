//! Properties of argument conditions that hold for every policy and call:
//!
//! * adding a shadow rule never changes a decision (only the `shadow` list);
//! * a permissive (allow) rule never decides a call on which one of its
//!   conditions is unknown (a missing or null value, a wrong type, a path
//!   that is not absolute, a command outside the shell subset);
//! * a restrictive rule still fires when its conditions are unknown;
//! * a policy without `rules` decides `check_call` exactly as `check`.

use agentguard::{Policy, RuleRef};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/condition_properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

const TOOLS: [&str; 5] = ["run_shell", "write_file", "send_email", "refund", "x"];
const KEYS: [&str; 4] = ["a", "b", "c.d", "path"];

fn operator() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["*@ok.com", "a*", "*", "x?", "[ab]*"])
            .prop_map(|g| json!({"glob": g})),
        prop::sample::select(vec!["*@ok.com", "a*"]).prop_map(|g| json!({"not_glob": g})),
        Just(json!({"in": ["a", 1, true]})),
        Just(json!({"not_in": ["b", 2.5]})),
        (-5i64..5).prop_map(|n| json!({"lte": n})),
        (-5i64..5).prop_map(|n| json!({"gt": n})),
        prop::sample::select(vec!["/workspace", "/", "/a/b"])
            .prop_map(|d| json!({"path_under": d})),
        Just(json!({"path_glob": "*.env"})),
        prop::sample::select(vec!["git status", "ls *", "rm *"])
            .prop_map(|c| json!({"command": c})),
        any::<bool>().prop_map(|b| json!({"present": b})),
    ]
}

fn rule(id: usize, mode: &'static str) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TOOLS.to_vec()),
        prop::sample::select(vec!["allow", "deny", "require_approval"]),
        prop::collection::vec((prop::sample::select(KEYS.to_vec()), operator()), 0..3),
    )
        .prop_map(move |(tool, decision, when)| {
            let when: Map<String, Value> = when.into_iter().map(|(k, v)| (k.into(), v)).collect();
            json!({"id": format!("r{id}"), "tool": tool, "decision": decision,
                   "when": when, "mode": mode})
        })
}

fn policy_with(extra_shadow: bool) -> impl Strategy<Value = (Value, Option<Value>)> {
    (
        prop::collection::vec(prop::sample::select(vec!["drop_*", "x", "write_*"]), 0..2),
        prop::collection::vec(prop::sample::select(vec!["read_*", "refund"]), 0..2),
        any::<bool>(),
        prop::collection::vec(0usize..1, 0..6).prop_flat_map(|v| {
            let n = v.len();
            (0..n).map(|i| rule(i, "enforce")).collect::<Vec<_>>()
        }),
        rule(99, "shadow"),
    )
        .prop_map(move |(deny, allow, default_allow, rules, shadow)| {
            let policy = json!({"deny": deny, "allow": allow,
                "default": if default_allow { "allow" } else { "deny" }, "rules": rules});
            (policy, extra_shadow.then_some(shadow))
        })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-6i64..6).prop_map(|n| json!(n)),
        Just(json!(2.5)),
        prop::sample::select(vec![
            "a@ok.com",
            "b@evil.com",
            "/workspace/a",
            "/workspace/../etc/x.env",
            "rel/a",
            "git status",
            "ls -la; rm -rf /",
            "echo $(id)",
            "a",
            "x1",
            "",
        ])
        .prop_map(|s| json!(s)),
        prop::collection::vec(
            prop::sample::select(vec!["a", "a@ok.com", "/workspace"]),
            0..3
        )
        .prop_map(|v| json!(v)),
        Just(json!({"d": "a"})),
    ]
}

fn args() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(
        (prop::sample::select(vec!["a", "b", "c", "path"]), value()),
        0..4,
    )
    .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_shadow_rule_never_changes_a_decision(
        (base, shadow) in policy_with(true),
        tool in prop::sample::select(TOOLS.to_vec()),
        args in args(),
    ) {
        let plain = Policy::from_value(&base).unwrap();
        let mut with = base.clone();
        with["rules"].as_array_mut().unwrap().push(shadow.unwrap());
        let shadowed = Policy::from_value(&with).unwrap();
        let (a, b) = (plain.check_call(tool, &args), shadowed.check_call(tool, &args));
        prop_assert_eq!((a.decision, &a.reason, &a.matched_rule, &a.rule),
                        (b.decision, &b.reason, &b.matched_rule, &b.rule));
        prop_assert!(a.shadow.is_empty());
        prop_assert!(b.shadow.len() <= 1);
    }

    #[test]
    fn an_allow_rule_needs_proof_and_a_restriction_applies_in_doubt(
        (base, _) in policy_with(false),
        tool in prop::sample::select(TOOLS.to_vec()),
        args in args(),
    ) {
        let policy = Policy::from_value(&base).unwrap();
        let r = policy.check_call(tool, &args);
        let Some(RuleRef::Id { id }) = &r.rule else { return Ok(()) };
        let rule = base["rules"].as_array().unwrap().iter()
            .find(|x| x["id"] == **id).unwrap();
        // Every condition of the deciding rule, judged alone as a one-rule
        // policy of each polarity: for an allow rule each must be proven
        // (an allow-only policy with that condition allows); a deny or
        // approval rule fires also on doubt (the deny twin denies).
        for (path, cond) in rule["when"].as_object().unwrap() {
            let alone = |decision: &str| Policy::from_value(&json!({"rules": [
                {"id": "t", "tool": tool, "decision": decision, "when": {path.clone(): cond.clone()}}
            ]})).unwrap().check_call(tool, &args);
            if r.decision.as_str() == "allow" {
                prop_assert_eq!(alone("allow").decision.as_str(), "allow",
                    "allow rule {} decided with condition {} not proven on {:?}", id, path, args);
            } else {
                prop_assert_eq!(alone("deny").decision.as_str(), "deny");
            }
        }
    }

    #[test]
    fn without_rules_check_call_is_check(
        (base, _) in policy_with(false),
        tool in prop::sample::select(TOOLS.to_vec()),
        args in args(),
    ) {
        let mut plain = base.clone();
        plain.as_object_mut().unwrap().remove("rules");
        let p = Policy::from_value(&plain).unwrap();
        prop_assert_eq!(p.check_call(tool, &args), p.check(tool));
    }
}

/// An allow rule whose condition is unknown on a call never allows it,
/// however the rest of the policy looks; a deny rule in the same place
/// denies it.
#[test]
fn unknown_conditions_table() {
    let unknown_cases = [
        (json!({"glob": "*"}), json!({})),
        (json!({"glob": "*"}), json!({"a": null})),
        (json!({"glob": "*"}), json!({"a": 5})),
        (json!({"not_glob": "x"}), json!({"a": ["ok", 3]})),
        (json!({"in": ["a"]}), json!({"a": {"k": "a"}})),
        (json!({"lte": 10}), json!({"a": "5"})),
        (json!({"lte": 10}), json!({"a": true})),
        (json!({"path_under": "/"}), json!({"a": "relative"})),
        (json!({"path_under": "/"}), json!({"a": "/a\u{0}b"})),
        (json!({"path_glob": "*"}), json!({"a": 1})),
        (json!({"command": "*"}), json!({"a": "echo $HOME"})),
        (json!({"command": "*"}), json!({"a": "ls > f"})),
        (json!({"command": "*"}), json!({"a": ""})),
        (json!({"glob": "*"}), json!({"a": [["nested"]]})),
    ];
    for (cond, args) in unknown_cases {
        let decide = |decision: &str| {
            Policy::from_value(&json!({"rules": [
                {"id": "r", "tool": "t", "decision": decision, "when": {"a": cond.clone()}}
            ]}))
            .unwrap()
            .check_call("t", args.as_object().unwrap())
        };
        let allow = decide("allow");
        assert_eq!(
            (allow.decision.as_str(), allow.reason.as_ref()),
            ("deny", "not in allow list (default: deny)"),
            "{cond} on {args}: an allow rule fired on doubt"
        );
        let deny = decide("deny");
        assert_eq!(
            (deny.decision.as_str(), deny.matched_rule.as_deref()),
            ("deny", Some("r")),
            "{cond} on {args}: a deny rule did not apply on doubt"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any string of shell-ish characters terminates and never panics, and
    /// when an allow rule's command list covers every simple command, the
    /// deny twin (same list) fires too.
    #[test]
    fn shell_strings_of_any_shape(
        text in prop::collection::vec(prop::sample::select(vec![
            "a", "git", "ls", " ", "\t", "\n", ";", "&", "|", "'", "\"", "\\", "=", "$", "*",
            "é", "😀", "-x", "status", "(", "#", "~", "if",
        ]), 0..24).prop_map(|v| v.concat()),
    ) {
        let decide = |decision: &str| {
            Policy::from_value(&json!({"rules": [{"id": "r", "tool": "sh", "decision": decision,
                "when": {"c": {"command": ["git *", "ls *", "a *"]}}}]}))
            .unwrap()
            .check_call("sh", json!({"c": text}).as_object().unwrap())
        };
        let (allow, deny) = (decide("allow"), decide("deny"));
        if allow.decision.as_str() == "allow" {
            prop_assert_eq!(deny.decision.as_str(), "deny");
            prop_assert_eq!(deny.matched_rule.as_deref(), Some("r"));
        }
    }
}
