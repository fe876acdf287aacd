//! `Policy::argument_paths` and `Policy::argument_paths_for`: the parts of
//! a call's arguments the conditions read, which is all a binding converts.
//! A call decided on only those parts (the nesting along each path kept)
//! decides exactly as on the whole arguments.

use agentguard::Policy;
use serde_json::{json, Map, Value};

fn policy(v: Value) -> Policy {
    Policy::from_value(&v).unwrap()
}

fn strings(paths: &[&[String]]) -> Vec<String> {
    paths.iter().map(|p| p.join(".")).collect()
}

#[test]
fn paths_for_a_tool_are_those_of_the_rules_that_apply_to_it() {
    let p = policy(json!({
        "deny": ["drop_*"],
        "rules": [
            {"id": "mail", "tool": ["send_*", "mail"], "decision": "deny",
             "when": {"to": {"glob": "*@evil.com"}, "recipient.email": {"present": true}}},
            {"id": "files", "tool": "*_file", "decision": "allow",
             "when": {"path": {"path_under": "/w"}}},
            {"id": "shadow-mail", "tool": "send_email", "decision": "deny", "mode": "shadow",
             "when": {"cc": {"glob": "*"}, "to": {"not_glob": "*@ok.com"}}},
            {"id": "by-name", "tool": "drop_table", "decision": "deny"},
            {"id": "every", "tool": "*", "decision": "require_approval",
             "when": {"amount": {"gt": 100}}}
        ]
    }));
    let all: Vec<&[String]> = p.argument_paths().iter().map(Vec::as_slice).collect();
    assert_eq!(
        strings(&all),
        ["to", "recipient.email", "path", "cc", "amount"]
    );
    // In the order of argument_paths, each once; shadow rules count.
    assert_eq!(
        strings(&p.argument_paths_for("send_email")),
        ["to", "recipient.email", "cc", "amount"]
    );
    assert_eq!(
        strings(&p.argument_paths_for("send_sms")),
        ["to", "recipient.email", "amount"]
    );
    assert_eq!(
        strings(&p.argument_paths_for("mail")),
        ["to", "recipient.email", "amount"]
    );
    assert_eq!(
        strings(&p.argument_paths_for("write_file")),
        ["path", "amount"]
    );
    // A rule without conditions reads nothing; a deny pattern changes
    // nothing about which rules apply.
    assert_eq!(strings(&p.argument_paths_for("drop_table")), ["amount"]);
    let none = policy(json!({"allow": ["x"]}));
    assert!(none.argument_paths().is_empty());
    assert!(none.argument_paths_for("x").is_empty());
    let narrow = policy(json!({"rules": [
        {"id": "a", "tool": "send_email", "decision": "allow", "when": {"to": {"glob": "*"}}}
    ]}));
    assert!(narrow.argument_paths_for("send_sms").is_empty());
    assert!(!narrow.rules_apply_to("send_sms"));
}

/// `args` cut down to the values at `paths`, with the objects along each
/// path (as a binding that converts only what conditions read builds it).
fn restricted(args: &Map<String, Value>, paths: &[&[String]]) -> Map<String, Value> {
    let mut out = Map::new();
    for path in paths {
        let mut from = args;
        let mut to = &mut out;
        for (k, key) in path.iter().enumerate() {
            let Some(v) = from.get(key) else { break };
            if k + 1 == path.len() {
                to.insert(key.clone(), v.clone());
                break;
            }
            let Value::Object(inner) = v else { break };
            from = inner;
            let slot = to
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = slot else { break };
            to = next;
        }
    }
    out
}

#[test]
fn deciding_on_the_paths_for_the_tool_alone_changes_nothing() {
    let path = format!(
        "{}/tests/vectors/conditions.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut calls = 0;
    for case in v["cases"].as_array().unwrap() {
        let p = Policy::from_value(&case["policy"]).unwrap();
        for call in case["calls"].as_array().unwrap() {
            let tool = call["tool"].as_str().unwrap();
            let empty = Map::new();
            let args = call["args"].as_object().unwrap_or(&empty);
            let mut extra = args.clone();
            extra.insert(
                "unread-by-anything".into(),
                json!({"deep": [1, {"x": null}]}),
            );
            let full = p.evaluate_call(tool, &extra);
            let cut = restricted(args, &p.argument_paths_for(tool));
            assert_eq!(
                p.evaluate_call(tool, &cut),
                full,
                "{} {tool} {}",
                case["name"],
                call["args"]
            );
            if !p.rules_apply_to(tool) {
                assert!(p.argument_paths_for(tool).is_empty());
                assert_eq!(p.evaluate(tool), full);
            }
            calls += 1;
        }
    }
    assert!(calls >= 80);
}
