//! Action policies: the shared vectors of `tests/vectors/action.json`, a
//! differential check against the core's `fnmatch`, and adversarial input.

use agentguard::{
    fnmatch, ActionMode, ActionPolicies, ActionPolicy, Direction, Error, ErrorKind, Violation,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};

fn vectors() -> Value {
    let path = format!("{}/tests/vectors/action.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn error_value(e: &Error) -> Value {
    json!({
        "kind": e.kind().as_str(),
        "field": e.field(),
        "index": e.index(),
        "message": e.to_string(),
    })
}

fn opt_value<T: serde::Serialize>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| {
        serde_json::to_value(v).expect("serialisable")
    })
}

/// Runs one step; returns what it produced, in the vector's terms.
fn run_step(store: &mut ActionPolicies, step: &Value) -> (Value, Value) {
    let s = |k: &str| step[k].as_str().unwrap_or_else(|| panic!("{k} in {step}"));
    let direction = || Direction::parse(s("direction"));
    let out: Result<Value, Error> = match s("op") {
        "set" => ActionPolicy::from_value(&step["policy"])
            .and_then(|p| store.set(s("agent"), p))
            .map(|_| Value::Null),
        "get" => direction().and_then(|d| store.get(s("agent"), d).map(opt_value)),
        "delete" => direction().and_then(|d| store.delete(s("agent"), d).map(opt_value)),
        "check" => store
            .check_intent(s("from"), s("to"), s("intent_type"))
            .map(opt_value),
        "store" => Ok(store.to_value()),
        op => panic!("unknown op {op}"),
    };
    match out {
        Ok(v) => (v, Value::Null),
        Err(e) => (Value::Null, error_value(&e)),
    }
}

#[test]
fn action_vectors() {
    let doc = vectors();
    let cases = doc["cases"].as_array().expect("cases");
    let mut steps_run = 0;
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let mut store = match &case["store"] {
            Value::Null => ActionPolicies::new(),
            s => ActionPolicies::from_value(s).unwrap_or_else(|e| panic!("{name}: {e}")),
        };
        for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let (got, got_error) = run_step(&mut store, step);
            let expected = match step["op"].as_str() {
                Some("get") => step["policy"].clone(),
                Some("delete") => step["removed"].clone(),
                Some("check") => step["violation"].clone(),
                Some("store") => step["store"].clone(),
                _ => Value::Null,
            };
            let expected_error = step.get("error").cloned().unwrap_or(Value::Null);
            if got != expected || got_error != expected_error {
                failures.push(format!(
                    "{name} step {i} {step}\n  got {got} / error {got_error}"
                ));
            }
            steps_run += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(steps_run > 80, "only {steps_run} steps");
    println!(
        "action vectors: {} cases, {steps_run} steps, 0 failures",
        cases.len()
    );
}

#[test]
fn store_error_vectors() {
    let doc = vectors();
    let cases = doc["store_errors"].as_array().expect("store_errors");
    assert!(cases.len() >= 10);
    for case in cases {
        let err = ActionPolicies::from_value(&case["store"])
            .expect_err(case["name"].as_str().expect("name"));
        let expected = json!({
            "kind": case["kind"], "field": case["field"],
            "index": case["index"], "message": case["message"],
        });
        assert_eq!(error_value(&err), expected, "{}", case["name"]);
    }
}

#[test]
fn stores_round_trip_through_json_text() {
    let doc = vectors();
    for case in doc["cases"].as_array().expect("cases") {
        let mut store = ActionPolicies::new();
        for step in case["steps"].as_array().expect("steps") {
            run_step(&mut store, step);
            let text = serde_json::to_string(&store).expect("serialisable");
            let back = ActionPolicies::from_json(&text).expect("reads its own output");
            assert_eq!(back.to_value(), store.to_value());
        }
    }
    let err = ActionPolicies::from_json("{\"policies\": [").unwrap_err();
    assert_eq!(err.kind().as_str(), "json");
    assert!(err.to_string().starts_with("invalid JSON: "), "{err}");
}

#[test]
fn violation_json_is_exactly_the_gateway_body() {
    let v = Violation {
        message: "Intent type 'intent.data.delete.v1' not in receive allowlist".into(),
        direction: Direction::Receive,
        address_id: "analytics-agent".into(),
        pattern: None,
    };
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"error":"action_policy_violation","message":"Intent type 'intent.data.delete.v1' not in receive allowlist","direction":"receive","address_id":"analytics-agent"}"#
    );
    assert_eq!(serde_json::to_value(&v).unwrap(), v.to_value());
    assert_eq!(v.to_string(), v.message);
    let with_pattern = Violation {
        pattern: Some("intent.x.*".into()),
        ..v
    };
    assert_eq!(with_pattern.to_value()["pattern"], "intent.x.*");
}

#[test]
fn a_policy_round_trips_and_validate_catches_struct_literals() {
    let p =
        ActionPolicy::new(Direction::Send, ActionMode::Denylist, ["a.*", "b.*"]).with_id("pol_1");
    assert_eq!(ActionPolicy::from_value(&p.to_value()).unwrap(), p);
    assert_eq!(
        ActionPolicy::from_json(&p.to_value().to_string()).unwrap(),
        p
    );
    let open_with_patterns = ActionPolicy::new(Direction::Send, ActionMode::Open, ["a.*"]);
    let mut store = ActionPolicies::new();
    let err = store.set("a", open_with_patterns).unwrap_err();
    assert_eq!(err.field(), Some("patterns"));
    assert!(store.is_empty());
    assert_eq!(store.set("a", p.clone()).unwrap(), None);
    assert_eq!(store.set("a", p.clone()).unwrap(), Some(p));
    assert_eq!(store.len(), 1);
    assert_eq!(store.agents().collect::<Vec<_>>(), ["a"]);
}

/// Patterns and intent types drawn from a small alphabet, so matches are
/// frequent and every fnmatch feature shows up.
fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ab.*?\\[\\]!-]{1,6}").expect("regex")
}

fn intent_type() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ab.!\\-\\]]{1,6}").expect("regex")
}

proptest! {
    // Failing cases are saved next to the tests (proptest cannot find a
    // lib.rs to put them beside in an integration test).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/action.txt",
        ))),
        ..ProptestConfig::with_cases(2000)
    })]

    /// Allowlist: blocked iff no pattern matches by `fnmatch`. Denylist:
    /// blocked iff one does, reporting the first in list order.
    #[test]
    fn modes_agree_with_fnmatch(patterns in proptest::collection::vec(pattern(), 0..60), t in intent_type()) {
        let mut store = ActionPolicies::new();
        store.set("allow", ActionPolicy::new(Direction::Receive, ActionMode::Allowlist, patterns.clone())).unwrap();
        store.set("deny", ActionPolicy::new(Direction::Send, ActionMode::Denylist, patterns.clone())).unwrap();
        let first = patterns.iter().find(|p| fnmatch(&t, p));

        let allowed = store.check_intent("x", "allow", &t).unwrap();
        prop_assert_eq!(allowed.is_none(), first.is_some());

        let denied = store.check_intent("deny", "x", &t).unwrap();
        prop_assert_eq!(denied.as_ref().and_then(|v| v.pattern.as_ref()), first);
        if let Some(v) = denied {
            prop_assert_eq!(v.message, format!("Intent type '{t}' in send denylist (pattern: {})", first.unwrap()));
            prop_assert_eq!(v.address_id, "deny");
        }
    }
}

#[test]
fn large_inputs_do_not_blow_up() {
    // 100 000 patterns (the indexed pattern-set path) and a 1 MB intent type.
    let patterns: Vec<String> = (0..100_000).map(|i| format!("intent.p{i}.*")).collect();
    let mut store = ActionPolicies::new();
    store
        .set(
            "a",
            ActionPolicy::new(Direction::Receive, ActionMode::Denylist, patterns),
        )
        .unwrap();
    let v = store
        .check_intent("x", "a", "intent.p99999.v1")
        .unwrap()
        .unwrap();
    assert_eq!(v.pattern.as_deref(), Some("intent.p99999.*"));
    assert!(store
        .check_intent("x", "a", "intent.q.v1")
        .unwrap()
        .is_none());

    // A megabyte intent type is refused (past MAX_INTENT_TYPE_LEN) with a
    // short message; the longest accepted one is decided.
    let huge = format!("intent.{}b", "a".repeat(1 << 20));
    let err = store.check_intent("x", "b", &huge).unwrap_err();
    assert!(err.to_string().len() < 300, "{}", err.to_string().len());
    assert!(
        err.to_string().contains("characters long (at most 256)"),
        "{err}"
    );
    let longest = format!(
        "intent.{}b",
        "a".repeat(agentguard::MAX_INTENT_TYPE_LEN - 8)
    );
    assert_eq!(longest.chars().count(), agentguard::MAX_INTENT_TYPE_LEN);
    store
        .set(
            "b",
            ActionPolicy::new(
                Direction::Receive,
                ActionMode::Allowlist,
                ["*a*a*a*a*a*a*c"],
            ),
        )
        .unwrap();
    let v = store.check_intent("x", "b", &longest).unwrap().unwrap();
    assert_eq!(
        v.message.len(),
        longest.len() + "Intent type '' not in receive allowlist".len()
    );

    // A megabyte address is refused with a short message.
    let err = store
        .check_intent(&"x".repeat(1 << 20), "b", "t")
        .unwrap_err();
    assert!(err.to_string().len() < 300, "{}", err.to_string().len());
}

#[test]
fn intent_types_with_whitespace_or_controls_are_refused() {
    let mut store = ActionPolicies::new();
    store
        .set(
            "analytics-agent",
            ActionPolicy::new(
                Direction::Receive,
                ActionMode::Allowlist,
                ["intent.data.read.*"],
            ),
        )
        .unwrap();
    // `*` crosses newlines: without the charset this passed the allowlist.
    for bad in [
        "intent.data.read.v1\nintent.data.delete.v1",
        "intent.data.read.v1 intent.data.delete.v1",
        "intent.data.read.v1\tx",
        "intent.data.read.v1\u{0}",
        "intent.data.read.v1\u{2028}x",
        "intent.data.read.v1\u{85}",
    ] {
        let err = store
            .check_intent("ops-agent", "analytics-agent", bad)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue, "{bad:?}");
        assert_eq!(err.field(), Some("intent_type"), "{bad:?}");
        let err = store
            .check_direction("analytics-agent", Direction::Receive, bad)
            .unwrap_err();
        assert_eq!(err.field(), Some("intent_type"), "{bad:?}");
    }
    assert!(store
        .check_intent("ops-agent", "analytics-agent", "intent.data.read.v1")
        .unwrap()
        .is_none());
}

#[test]
fn duplicate_keys_in_a_store_are_errors() {
    let text = r#"{"policies": [{"agent": "a", "direction": "receive", "mode": "allowlist", "patterns": ["x.*"], "mode": "open"}]}"#;
    let err = ActionPolicies::from_json(text).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateKey);
    assert_eq!(err.field(), Some("policies[0].mode"));
    assert_eq!(
        err.to_string(),
        "duplicate key \"mode\" in policies[0]: each key may appear only once"
    );
    let err = ActionPolicy::from_json(
        r#"{"direction": "send", "mode": "denylist", "patterns": ["a"], "patterns": []}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate key \"patterns\" in the action policy object: each key may appear only once"
    );
}
