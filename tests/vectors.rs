//! The shared conformance vectors of `tests/vectors/`, through the core.
//! Node and Python run the same files through their bindings.

use std::convert::Infallible;

use agentguard::{
    fnmatch, Answer, AuditEntry, AuditLog, FlowError, Hooks, JsonMap, Mode, Names, Policy,
    PolicySpec, Returned, Verdict,
};
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
    log: AuditLog,
    decisions: Vec<String>,
    denies: Vec<String>,
}

impl Hooks<JsonMap> for Scripted {
    type Error = Infallible;
    const NAMES: Names = Names::RUST;
    fn now(&mut self) -> f64 {
        1_700_000_000.5
    }
    fn approve(&mut self, _: &str, _: Verdict) -> Option<Result<Answer, Infallible>> {
        self.answer.map(|a| Ok(a.into()))
    }
    fn has_on_decision(&self) -> bool {
        true
    }
    fn append(&mut self, entry: AuditEntry) {
        self.log.push(entry);
    }
    fn on_decision(&mut self, e: &AuditEntry) -> Result<Returned, Infallible> {
        self.decisions.push(e.tool.clone());
        Ok(Returned::Done)
    }
    fn on_deny(&mut self, tool: &str, _: Verdict) -> Result<Returned, Infallible> {
        self.denies.push(tool.to_string());
        Ok(Returned::Done)
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
            log: AuditLog::default(),
            decisions: vec![],
            denies: vec![],
        };
        let mut denied = vec![];
        for check in case["checks"].as_array().unwrap() {
            let tool = check["tool"].as_str().unwrap();
            let ctx = check["context"]
                .as_object()
                .filter(|m| !m.is_empty())
                .cloned();
            let v = policy.decide(tool, ctx, &mut hooks).unwrap();
            let r = policy.result(tool, v);
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
        let entries: Vec<Value> = hooks
            .log
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
            hooks.log.len(),
            "{name}: on_decision saw every entry"
        );
        assert_eq!(hooks.denies, denied, "{name}: on_deny after each deny");
    }
}

/// The flow vectors' scripted callbacks (see tests/vectors/make_flow_vectors.py).
struct Flow<'a> {
    policy: &'a Policy,
    script: &'a Value,
    reenter: Option<&'a str>,
    depth: usize,
    log: AuditLog,
    events: Vec<String>,
    /// What the async flow still has to await: each pending hook's outcome.
    awaited: Vec<Result<(), String>>,
}

impl Flow<'_> {
    fn script(&self, hook: &str) -> &str {
        self.script[hook].as_str().unwrap()
    }

    fn run_hook(&mut self, hook: &str, failure: &str) -> Result<Returned, String> {
        match self.script(hook) {
            "ok" | "reenter" => Ok(Returned::Done),
            "throw" => Err(failure.to_string()),
            "pending_ok" => {
                self.awaited.push(Ok(()));
                Ok(Returned::Pending)
            }
            "pending_throw" => {
                self.awaited.push(Err(failure.to_string()));
                Ok(Returned::Pending)
            }
            other => panic!("unknown script {other:?} for {hook}"),
        }
    }
}

impl Hooks<JsonMap> for Flow<'_> {
    type Error = String;
    const NAMES: Names = Names::RUST;
    fn now(&mut self) -> f64 {
        1.5
    }
    fn approve(&mut self, tool: &str, _: Verdict) -> Option<Result<Answer, String>> {
        if self.script("approve") == "absent" {
            return None;
        }
        self.events.push(format!("approve {tool}"));
        Some(match self.script("approve") {
            "true" => Ok(Answer::Approve),
            "false" => Ok(Answer::Refuse),
            "throw" => Err("approver crashed".into()),
            "string" => Ok(Answer::Invalid("string \"yes\"".into())),
            "none" => Ok(Answer::Invalid("null".into())),
            "object" => Ok(Answer::Invalid("an object".into())),
            "pending_true" | "pending_throw" => Ok(Answer::Pending),
            other => panic!("unknown approver script {other:?}"),
        })
    }
    fn has_on_decision(&self) -> bool {
        self.script("on_decision") != "absent"
    }
    fn append(&mut self, entry: AuditEntry) {
        self.log.push(entry);
    }
    fn on_decision(&mut self, e: &AuditEntry) -> Result<Returned, String> {
        self.events.push(format!(
            "on_decision {} {} log={}",
            e.tool,
            e.decision,
            self.log.len()
        ));
        if self.script("on_decision") == "reenter" && self.depth == 0 {
            let (policy, tool) = (self.policy, self.reenter.unwrap());
            self.depth += 1;
            let inner = policy.decide(tool, None, self);
            self.depth -= 1;
            inner.map_err(|e| format!("{e:?}"))?;
        }
        self.run_hook("on_decision", "sink down")
    }
    fn on_deny(&mut self, tool: &str, v: Verdict) -> Result<Returned, String> {
        if self.script("on_deny") == "absent" {
            return Ok(Returned::Done);
        }
        self.events.push(format!("on_deny {tool} {}", v.decision));
        self.run_hook("on_deny", "alert failed")
    }
}

/// What a flow run ends in: the result JSON, or the error as (kind, message).
fn run_flow(
    case: &Value,
    policy: &Policy,
    hooks: &mut Flow<'_>,
) -> Result<Value, (String, String)> {
    let tool = case["tool"].as_str().unwrap();
    let ctx = case["context"]
        .as_object()
        .filter(|m| !m.is_empty())
        .cloned();
    let err = |e: FlowError<String>| match e {
        FlowError::Hook(m) => ("hook".to_string(), m),
        FlowError::Flow(e) => (e.kind().as_str().to_string(), e.to_string()),
    };
    let verdict = if case["mode"] == "sync" {
        policy.decide(tool, ctx, hooks).map_err(err)?
    } else {
        // The async flow, as the bindings run it: await a pending approver,
        // settle its answer, record, then await the pending hooks.
        let mut v = policy.evaluate(tool);
        if v.decision.as_str() == "require_approval" {
            if let Some(answer) = hooks.approve(tool, v) {
                let answer = match (
                    answer.map_err(FlowError::Hook).map_err(err)?,
                    hooks.script("approve"),
                ) {
                    (Answer::Pending, "pending_true") => Answer::Approve,
                    (Answer::Pending, "pending_throw") => {
                        return Err(("hook".into(), "approver crashed".into()))
                    }
                    (a, _) => a,
                };
                v = policy
                    .answer_approval(v, answer, Mode::Async, &Names::RUST)
                    .map_err(|e| err(FlowError::Flow(e)))?;
            }
        }
        let recorded = policy.record(tool, v, ctx, hooks, Mode::Async).map_err(err);
        let awaited: Vec<_> = hooks.awaited.drain(..).collect();
        recorded?;
        for outcome in awaited {
            outcome.map_err(|m| ("hook".to_string(), m))?;
        }
        v
    };
    Ok(serde_json::to_value(policy.result(tool, verdict)).unwrap())
}

#[test]
fn flow_vectors() {
    let cases = load("flow.json");
    assert!(cases.len() >= 20);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let policy = Policy::from_value(&case["policy"]).expect(name);
        let mut hooks = Flow {
            policy: &policy,
            script: &case["hooks"],
            reenter: case["reenter_tool"].as_str(),
            depth: 0,
            log: AuditLog::default(),
            events: vec![],
            awaited: vec![],
        };
        let outcome = run_flow(case, &policy, &mut hooks);
        let expect = &case["expect"];
        match outcome {
            Ok(result) => {
                assert_eq!(result, expect["result"], "{name}: result");
                assert!(
                    expect["error"].is_null(),
                    "{name}: expected an error, got {result}"
                );
            }
            Err((kind, message)) => {
                let want = &expect["error"];
                assert_eq!(
                    kind,
                    want["kind"].as_str().unwrap_or("(none)"),
                    "{name}: {message}"
                );
                let want_message = want["message"]
                    .as_str()
                    .or_else(|| want["message"]["rust"].as_str())
                    .unwrap();
                assert_eq!(message, want_message, "{name}: message");
            }
        }
        assert_eq!(
            hooks.events,
            expect["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            "{name}: events"
        );
        let log: Vec<Value> = hooks
            .log
            .entries()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap();
                v.as_object_mut().unwrap().remove("timestamp");
                v
            })
            .collect();
        assert_eq!(Value::Array(log), expect["log"], "{name}: audit log");
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

#[test]
fn duplicate_key_vectors() {
    let cases = load("duplicate_keys.json");
    assert!(cases.len() >= 5);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let text = c["text"].as_str().unwrap();
        let err = Policy::from_json(text).expect_err(name);
        assert_eq!(err.kind().as_str(), "duplicate_key", "{name}");
        assert_eq!(err.field(), c["field"].as_str(), "{name}");
        assert_eq!(err.to_string(), c["message"].as_str().unwrap(), "{name}");
        // The serde path (`serde_json::from_str::<PolicySpec>`) refuses it too.
        let via_serde = serde_json::from_str::<PolicySpec>(text).unwrap_err();
        assert!(
            via_serde
                .to_string()
                .starts_with(c["message"].as_str().unwrap()),
            "{name}: {via_serde}"
        );
    }
}

/// The bad policies of `conditions.json` (tests/vectors/make_conditions_vectors.py):
/// each is refused at its `path` (`field[index]`) with exactly its
/// `message`, the core's Display text, which the npm and Python packages
/// carry unchanged (tests/js/esm/conditions.test.mjs,
/// tests/python/test_conditions.py). The decided calls of the same file are
/// replayed by tests/conditions.rs.
#[test]
fn condition_error_vectors() {
    let path = format!(
        "{}/tests/vectors/conditions.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("vector file is JSON");
    let errors = v["errors"].as_array().expect("errors");
    let mut mismatches = vec![];
    for c in errors {
        let name = c["name"].as_str().unwrap();
        let (want_path, want_message) = (c["path"].as_str().unwrap(), c["message"].as_str());
        let json = serde_json::to_string(&c["policy"]).unwrap();
        let loads = [
            ("from_value", Policy::from_value(&c["policy"]).err()),
            ("from_json", Policy::from_json(&json).err()),
            (
                "spec then policy",
                PolicySpec::from_value(&c["policy"])
                    .and_then(Policy::new)
                    .err(),
            ),
        ];
        for (how, err) in loads {
            let Some(err) = err else {
                mismatches.push(format!("{name} ({how}): accepted"));
                continue;
            };
            let got_path = match err.index() {
                Some(i) => format!("{}[{i}]", err.field().unwrap_or("")),
                None => err.field().unwrap_or("").to_string(),
            };
            let got_message = err.to_string();
            if got_path != want_path || Some(got_message.as_str()) != want_message {
                mismatches.push(format!(
                    "{name} ({how}): at {got_path:?} {got_message:?}, want {want_path:?} {want_message:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(errors.len() >= 70, "{} error vectors", errors.len());
}
