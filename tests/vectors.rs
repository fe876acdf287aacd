//! The shared conformance vectors of `tests/vectors/`, through the core.
//! Node and Python run the same files through their bindings.

use std::convert::Infallible;

use agentguard::{fnmatch, AuditEntry, AuditLog, Hooks, JsonMap, Policy, PolicyResult, PolicySpec};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("vector file is JSON");
    v["cases"].as_array().expect("cases").clone()
}

#[test]
fn fnmatch_vectors() {
    let cases = load("fnmatch.json");
    assert!(cases.len() > 100);
    for c in cases {
        let (p, n) = (c["pattern"].as_str().unwrap(), c["name"].as_str().unwrap());
        assert_eq!(
            fnmatch(n, p),
            c["match"].as_bool().unwrap(),
            "pattern {p:?} name {n:?}"
        );
    }
}

/// Hooks answering approvals with a fixed answer, recording what they see.
struct Scripted {
    answer: Option<bool>,
    decisions: Vec<String>,
    denies: Vec<String>,
}

impl Hooks<JsonMap> for Scripted {
    type Error = Infallible;
    fn now(&mut self) -> f64 {
        1_700_000_000.5
    }
    fn approve(&mut self, _: &PolicyResult) -> Option<Result<bool, Infallible>> {
        self.answer.map(Ok)
    }
    fn on_decision(&mut self, e: &AuditEntry<JsonMap>) -> Result<(), Infallible> {
        self.decisions.push(e.tool.clone());
        Ok(())
    }
    fn on_deny(&mut self, r: &PolicyResult) -> Result<(), Infallible> {
        self.denies.push(r.tool.clone());
        Ok(())
    }
}

#[test]
fn policy_vectors() {
    let cases = load("policy.json");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let spec = PolicySpec::from_value(&case["policy"]).expect(name);
        assert_eq!(spec.to_value(), case["policy"], "{name}: round-trip");
        let policy = Policy::new(spec).unwrap();
        let mut hooks = Scripted {
            answer: case["approval"].as_bool(),
            decisions: vec![],
            denies: vec![],
        };
        let mut log = AuditLog::default();
        let mut denied = vec![];
        for check in case["checks"].as_array().unwrap() {
            let tool = check["tool"].as_str().unwrap();
            let ctx = check["context"]
                .as_object()
                .filter(|m| !m.is_empty())
                .cloned();
            let r = policy.decide(tool, ctx, &mut log, &mut hooks).unwrap();
            assert_eq!(r.decision.as_str(), check["decision"], "{name}: {tool:?}");
            assert_eq!(
                &*r.reason,
                check["reason"].as_str().unwrap(),
                "{name}: {tool:?}"
            );
            assert_eq!(
                r.matched_rule.as_deref(),
                check["matched_rule"].as_str(),
                "{name}: {tool:?}"
            );
            if r.denied() {
                denied.push(tool.to_string());
            }
        }
        let entries: Vec<Value> = log
            .entries()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap();
                assert_eq!(v["timestamp"], 1_700_000_000.5);
                v.as_object_mut().unwrap().remove("timestamp");
                v
            })
            .collect();
        assert_eq!(
            Value::Array(entries),
            case["audit"],
            "{name}: audit entries"
        );
        assert_eq!(
            hooks.decisions.len(),
            log.len(),
            "{name}: on_decision saw every entry"
        );
        assert_eq!(hooks.denies, denied, "{name}: on_deny after each deny");
    }
}

#[test]
fn spec_error_vectors() {
    let cases = load("spec_errors.json");
    assert!(!cases.is_empty());
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let err = PolicySpec::from_value(&c["spec"]).expect_err(name);
        assert_eq!(err.kind().as_str(), c["kind"], "{name}");
        assert_eq!(err.field(), c["field"].as_str(), "{name}");
        assert_eq!(err.index().map(|i| i as u64), c["index"].as_u64(), "{name}");
        assert_eq!(err.to_string(), c["message"].as_str().unwrap(), "{name}");
        // The same error through serde's Deserialize.
        let via_serde = serde_json::from_value::<PolicySpec>(c["spec"].clone()).unwrap_err();
        assert_eq!(via_serde.to_string(), err.to_string(), "{name}: serde path");
    }
}
