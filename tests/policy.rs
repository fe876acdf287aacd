//! Table tests: every rule, every reason string, the flow around a decision
//! (approval, audit, on_decision, on_deny, errors), the bounded audit log,
//! and the strict file format.

use std::cell::RefCell;
use std::convert::Infallible;

use agentguard::{
    fnmatch, Answer, AuditEntry, AuditLog, Decision, DefaultDecision, ErrorKind, FlowError, Hooks,
    JsonMap, List, LogHooks, Mode, Names, Policy, PolicySpec, Returned, Rule, RuleRef, Verdict,
};
use serde_json::json;

fn policy(v: serde_json::Value) -> Policy {
    Policy::new(PolicySpec::from_value(&v).unwrap()).unwrap()
}

#[test]
fn every_rule_and_reason() {
    let db = policy(json!({
        "allow": ["read_*", "list_tables"],
        "deny": ["drop_*", "*_prod"],
        "require_approval": ["write_*"],
    }));
    let open = policy(json!({"deny": ["rm_*"], "default": "allow"}));
    let closed = policy(json!({"deny": ["rm_*"]}));
    let allow_default = policy(json!({"allow": ["a"], "default": "allow"}));
    // (policy, tool, decision, reason, matched rule)
    let table: &[(&Policy, &str, &str, &str, Option<&str>)] = &[
        (
            &db,
            "drop_table",
            "deny",
            "denied by pattern: drop_*",
            Some("drop_*"),
        ),
        (
            &db,
            "read_prod",
            "deny",
            "denied by pattern: *_prod",
            Some("*_prod"),
        ),
        (
            &db,
            "write_prod",
            "deny",
            "denied by pattern: *_prod",
            Some("*_prod"),
        ),
        (
            &db,
            "write_db",
            "require_approval",
            "requires approval per pattern: write_*",
            Some("write_*"),
        ),
        (
            &db,
            "read_db",
            "allow",
            "allowed by pattern: read_*",
            Some("read_*"),
        ),
        (
            &db,
            "list_tables",
            "allow",
            "allowed by pattern: list_tables",
            Some("list_tables"),
        ),
        (
            &db,
            "list_tables2",
            "deny",
            "not in allow list (default: deny)",
            None,
        ),
        (&db, "", "deny", "not in allow list (default: deny)", None),
        (
            &open,
            "anything",
            "allow",
            "no matching rule (default: allow)",
            None,
        ),
        (
            &open,
            "rm_rf",
            "deny",
            "denied by pattern: rm_*",
            Some("rm_*"),
        ),
        (
            &closed,
            "anything",
            "deny",
            "no matching rule (default: deny)",
            None,
        ),
        (
            &allow_default,
            "b",
            "allow",
            "no matching rule (default: allow)",
            None,
        ),
        (
            &allow_default,
            "a",
            "allow",
            "allowed by pattern: a",
            Some("a"),
        ),
    ];
    for (p, tool, decision, reason, rule) in table {
        let r = p.check(tool);
        assert_eq!(r.decision.as_str(), *decision, "{tool}");
        assert_eq!(&*r.reason, *reason, "{tool}");
        assert_eq!(r.matched_rule.as_deref(), *rule, "{tool}");
        assert_eq!(r.tool, *tool);
        assert_eq!(r.allowed(), *decision == "allow");
        assert_eq!(r.denied(), *decision == "deny");
        assert_eq!(r.needs_approval(), *decision == "require_approval");
        // The allocation-free path says the same.
        let v = p.evaluate(tool);
        assert_eq!(p.result(tool, v), r);
        assert_eq!(&*p.reason(v), *reason);
        assert_eq!(p.matched_rule(v.rule), *rule);
    }
}

#[test]
fn approval_answers_become_reasons() {
    let p = policy(json!({"require_approval": ["send_*"]}));
    let v = p.evaluate("send_email");
    let names = Names::RUST;
    let yes = p.result(
        "send_email",
        p.answer_approval(v, Answer::Approve, Mode::Sync, &names)
            .unwrap(),
    );
    assert_eq!(
        (yes.decision, &*yes.reason),
        (Decision::Allow, "approved via callback (pattern: send_*)")
    );
    assert_eq!(yes.matched_rule.as_deref(), Some("send_*"));
    assert_eq!(
        yes.rule,
        Some(RuleRef::List {
            list: List::RequireApproval,
            index: 0
        })
    );
    let no = p.result(
        "send_email",
        p.answer_approval(v, Answer::Refuse, Mode::Sync, &names)
            .unwrap(),
    );
    assert_eq!(
        (no.decision, &*no.reason),
        (
            Decision::Deny,
            "approval denied via callback (pattern: send_*)"
        )
    );
    assert_eq!(no.matched_rule.as_deref(), Some("send_*"));
    // Only a pending approval changes.
    let other = p.evaluate("x");
    assert_eq!(
        p.answer_approval(other, Answer::Approve, Mode::Sync, &names),
        Ok(other)
    );
    assert!(matches!(p.resolve_verdict(v, true).rule, Rule::Approved(0)));
    // Anything but a boolean is an error, whatever its truthiness.
    for answer in [Answer::Pending, Answer::Invalid("string \"yes\"".into())] {
        let e = p
            .answer_approval(v, answer, Mode::Sync, &names)
            .unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::AsyncHook | ErrorKind::NotABool
        ));
    }
}

/// Counts on_decision and on_deny calls around a plain log.
#[derive(Default)]
struct Recorder {
    inner: LogHooks,
    calls: RefCell<Vec<String>>,
}

impl Hooks<JsonMap> for Recorder {
    type Error = Infallible;
    const NAMES: Names = Names::RUST;
    fn now(&mut self) -> f64 {
        42.0
    }
    fn approve(&mut self, _: &str, _: Verdict) -> Option<Result<Answer, Infallible>> {
        None
    }
    fn has_on_decision(&self) -> bool {
        true
    }
    fn append(&mut self, entry: AuditEntry) {
        self.inner.append(entry);
    }
    fn on_decision(&mut self, e: &AuditEntry) -> Result<Returned, Infallible> {
        self.calls
            .borrow_mut()
            .push(format!("decision {} {}", e.tool, e.decision));
        Ok(Returned::Done)
    }
    fn on_deny(&mut self, tool: &str, _: Verdict) -> Result<Returned, Infallible> {
        self.calls.borrow_mut().push(format!("deny {tool}"));
        Ok(Returned::Done)
    }
}

#[test]
fn names_over_the_limit_are_refused_before_deciding() {
    let p = policy(json!({"deny": ["x*"], "default": "allow"}));
    let mut h = Recorder::default();
    let at_limit = "y".repeat(agentguard::MAX_NAME_BYTES);
    assert!(p.decide(&at_limit, None, &mut h).is_ok());
    let over = "x".repeat(agentguard::MAX_NAME_BYTES + 1);
    match p.decide(&over, None, &mut h) {
        Err(FlowError::Flow(e)) => {
            assert_eq!(e.kind(), ErrorKind::TooLong);
            assert_eq!(
                e.to_string(),
                "tool name is 1048577 bytes of UTF-8; the limit is 1048576 (1 MiB)"
            );
        }
        other => panic!("expected a too_long error, got {other:?}"),
    }
    // Nothing recorded for the refused name.
    assert_eq!(h.inner.log.len(), 1);
}

#[test]
fn audit_off_records_nothing_but_still_calls_on_deny() {
    let p = policy(json!({"deny": ["drop_*"], "audit": false}));
    let mut h = Recorder::default();
    p.decide("drop_x", None, &mut h).unwrap();
    p.decide("ok", None, &mut h).unwrap();
    assert!(h.inner.log.is_empty());
    assert_eq!(h.calls.take(), ["deny drop_x", "deny ok"]);
}

#[test]
fn audit_entries_are_tokenfence_dicts() {
    let p = policy(json!({"deny": ["", "drop_*"], "allow": ["*"]}));
    let mut h = Recorder::default();
    let mut ctx = JsonMap::new();
    ctx.insert("agent_id".into(), json!("bot-1"));
    p.decide("drop_x", Some(ctx), &mut h).unwrap();
    p.decide("", None, &mut h).unwrap();
    p.decide("zzz", None, &mut h).unwrap();
    let dicts: Vec<_> = h
        .inner
        .log
        .entries()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        dicts[0],
        json!({"timestamp": 42.0, "tool": "drop_x", "decision": "deny",
        "reason": "denied by pattern: drop_*", "matched_rule": "drop_*", "context": {"agent_id": "bot-1"}})
    );
    // An empty matched rule is left out, as tokenfence's truthiness test does.
    assert_eq!(
        dicts[1],
        json!({"timestamp": 42.0, "tool": "", "decision": "deny",
        "reason": "denied by pattern: "})
    );
    assert_eq!(
        dicts[2],
        json!({"timestamp": 42.0, "tool": "zzz", "decision": "allow",
        "reason": "allowed by pattern: *", "matched_rule": "*"})
    );
}

#[test]
fn audit_log_is_bounded_and_counts_drops() {
    let p = policy(json!({"allow": ["*"]}));
    let mut h = Recorder {
        inner: LogHooks {
            log: AuditLog::with_capacity(3),
        },
        ..Default::default()
    };
    for i in 0..5 {
        p.decide(&format!("t{i}"), None, &mut h).unwrap();
    }
    let log = &mut h.inner.log;
    let tools: Vec<_> = log.entries().map(|e| e.tool.clone()).collect();
    assert_eq!(tools, ["t2", "t3", "t4"]);
    assert_eq!((log.len(), log.capacity(), log.dropped()), (3, 3, 2));
    log.clear();
    assert_eq!((log.len(), log.dropped()), (0, 0));
    // on_decision saw all five.
    assert_eq!(h.calls.borrow().len(), 5);
    let mut none: LogHooks = LogHooks {
        log: AuditLog::with_capacity(0),
    };
    p.decide("x", None, &mut none).unwrap();
    assert_eq!((none.log.len(), none.log.dropped()), (0, 1));
    assert_eq!(
        AuditLog::<JsonMap>::default().capacity(),
        agentguard::DEFAULT_AUDIT_CAPACITY
    );
}

#[test]
fn spec_defaults_and_round_trip() {
    let spec = PolicySpec::from_json("{}").unwrap();
    assert_eq!(spec, PolicySpec::default());
    assert_eq!(
        spec.to_value(),
        json!({"name": "default", "allow": [], "deny": [],
        "require_approval": [], "default": "deny", "audit": true})
    );
    // tokenfence's from_dict treats null lists and an empty or null name as
    // absent.
    let spec = PolicySpec::from_value(&json!({"name": "", "allow": null, "deny": null})).unwrap();
    assert_eq!(spec, PolicySpec::default());
    let full = json!({"name": "n", "allow": ["a"], "deny": ["b"], "require_approval": ["c"],
        "default": "allow", "audit": false});
    let spec = PolicySpec::from_value(&full).unwrap();
    assert_eq!(spec.default, DefaultDecision::Allow);
    assert_eq!(spec.to_value(), full);
    let p = Policy::new(spec.clone()).unwrap();
    assert_eq!(p.to_spec(), spec);
    assert_eq!(p.name(), "n");
    assert!(!p.audit_enabled());
    // Serialize gives the same object as to_value.
    assert_eq!(serde_json::to_value(&spec).unwrap(), full);
}

#[test]
fn spec_errors_name_the_problem() {
    let e = PolicySpec::from_json("{\"allow\": [\"a\",").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Json);
    assert!(e.to_string().starts_with("invalid JSON: "), "{e}");
    let e = PolicySpec::from_json(r#"{"allow": ["a", {"x": 1}]}"#).unwrap_err();
    assert_eq!(
        (e.kind(), e.field(), e.index()),
        (ErrorKind::WrongType, Some("allow"), Some(1))
    );
    assert_eq!(
        e.to_string(),
        "allow[1]: expected a string pattern, got an object"
    );
    assert_eq!(e.message(), "expected a string pattern, got an object");
}

#[test]
fn fnmatch_table() {
    // (pattern, name, CPython's answer); the full proof is the differential
    // corpus, these are the rules of DESIGN.md one line each.
    let table = [
        ("*", "", true),
        ("*", "a/b.c\n", true),
        ("**", "x", true),
        ("?", "😀", true),
        ("?", "\n", true),
        ("??", "é", false),
        ("[!a]", "é", true),
        ("[]]", "]", true),
        ("[!]]", "a", true),
        ("[^a]", "^", true),
        ("[^a]", "b", false),
        ("[z-a]", "m", false),
        ("[!z-a]", "m", true),
        ("[", "[", true),
        ("[a", "[a", true),
        ("a\\*", "a\\bc", true),
        ("{a,b}", "a", false),
        ("{a,b}", "{a,b}", true),
        ("Drop_*", "drop_x", false),
    ];
    for (p, n, want) in table {
        assert_eq!(fnmatch(n, p), want, "pattern {p:?} name {n:?}");
    }
}

#[test]
fn the_audit_log_is_bounded_in_bytes_too() {
    let p = policy(json!({"default": "allow"}));
    let mut h: LogHooks = LogHooks {
        log: AuditLog::with_limits(1000, 10_000),
    };
    assert_eq!(
        AuditLog::<JsonMap>::default().max_bytes(),
        agentguard::DEFAULT_AUDIT_MAX_BYTES
    );
    let reason = "no matching rule (default: allow)".len();
    // Each entry weighs its name and its reason: 4 000 + the reason.
    for i in 0..5 {
        p.decide(&format!("{i}{}", "x".repeat(3_999)), None, &mut h)
            .unwrap();
    }
    // Two fit in 10 000 bytes; the older three were dropped and counted.
    assert_eq!((h.log.len(), h.log.dropped()), (2, 3));
    let kept: Vec<_> = h.log.entries().map(|e| e.tool.as_bytes()[0]).collect();
    assert_eq!(kept, [b'3', b'4']);
    // An entry larger than the whole bound is still kept, alone.
    p.decide(&"y".repeat(20_000), None, &mut h).unwrap();
    assert_eq!((h.log.len(), h.log.dropped()), (1, 5));
    // Small entries fill it again; clear() resets the bytes.
    h.log.clear();
    for i in 0..100 {
        p.decide(&format!("t{i}"), None, &mut h).unwrap();
    }
    assert_eq!((h.log.len(), h.log.dropped()), (100, 0));
    assert!(100 * (2 + reason) < 10_000);
    // A push hands back everything it removed.
    let mut log: AuditLog = AuditLog::with_limits(10, 100);
    let e = |tool: &str| AuditEntry {
        timestamp: 0.0,
        tool: tool.to_string(),
        decision: Decision::Allow,
        reason: "r".into(),
        matched_rule: None,
        context: None,
        shadow: Vec::new(),
    };
    for t in ["a", "b", "c"] {
        assert!(log.push(e(t)).is_empty());
    }
    let evicted = log.push(e(&"z".repeat(98)));
    assert_eq!(evicted.len(), 3);
    assert_eq!(
        evicted.into_iter().map(|e| e.tool).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
}
