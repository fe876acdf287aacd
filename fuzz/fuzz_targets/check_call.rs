//! Rules parsing plus `check_call`: any bytes must give an error or a
//! decision, never a panic; and the decision must keep the contract's
//! invariants whatever the arguments (a shadow rule never changes it; a
//! rule named as the decider fires; removing the shadow rules changes
//! nothing but the `shadow` list).
//!
//! Input: a policy's JSON text, a NUL, then calls separated by NULs, each
//! `tool` then a newline then the arguments as a JSON object.
#![no_main]

use agentguard::{Policy, RuleRef};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let Some(spec_bytes) = parts.next() else { return };
    let Ok(text) = std::str::from_utf8(spec_bytes) else { return };
    let Ok(policy) = Policy::from_json(text) else { return };
    // The same policy with its shadow rules removed.
    let mut value = policy.spec().to_value();
    if let Some(Value::Array(rules)) = value.get_mut("rules") {
        rules.retain(|r| r.get("mode").and_then(Value::as_str) != Some("shadow"));
    }
    let enforced = Policy::from_value(&value).expect("a policy without its shadow rules compiles");
    for call in parts {
        let Ok(call) = std::str::from_utf8(call) else { continue };
        let (tool, args) = call.split_once('\n').unwrap_or((call, "{}"));
        let args: Map<String, Value> = match serde_json::from_str(args) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let r = policy.check_call(tool, &args);
        let plain = enforced.check_call(tool, &args);
        assert_eq!(
            (r.decision, &r.reason, &r.matched_rule, &r.rule),
            (plain.decision, &plain.reason, &plain.matched_rule, &plain.rule),
            "a shadow rule changed the decision for {tool:?} {args:?}"
        );
        assert!(plain.shadow.is_empty());
        if let Some(RuleRef::Id { id }) = &r.rule {
            assert_eq!(r.matched_rule.as_deref(), Some(&**id));
        }
        // Approval answers keep the rule and flip only the decision.
        let v = policy.evaluate_call(tool, &args);
        let yes = policy.result(tool, policy.resolve_verdict(v, true));
        assert_eq!(yes.rule, r.rule);
    }
});
