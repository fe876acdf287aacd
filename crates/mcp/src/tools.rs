//! What a listing shows of each tool, from the core's analysis: hidden only
//! when the policy denies every call (proven), a note when calls are
//! decided by their arguments or need approval.

use std::collections::HashMap;
use std::sync::Arc;

use agentguard::analysis::tool_outcomes;
use agentguard::{Decision, Policy};
use serde_json::Value;

/// How a listing shows one tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Every call is denied, proven: the tool is left out.
    pub hidden: bool,
    /// A sentence appended to the tool's description, if any.
    pub note: Option<String>,
}

/// The prefix of every note, so a reader (human or model) knows who added it.
pub const NOTE_PREFIX: &str = "[agentguard policy]";

/// The note for a tool whose calls get `decisions` (`exact`: proven
/// complete). `None` when every call is allowed.
pub fn note(decisions: &[Decision], exact: bool) -> Option<String> {
    let has = |d: Decision| decisions.contains(&d);
    let (allow, approval, deny) = (
        has(Decision::Allow),
        has(Decision::RequireApproval),
        has(Decision::Deny),
    );
    let text = match (allow, approval, deny) {
        (true, false, false) if exact => return None,
        (true, false, false) => "Calls are checked against a policy; some arguments may be blocked.",
        (true, false, true) => "Allowed only for some arguments; other calls are blocked by policy.",
        (false, true, false) => "Every call needs a human's approval first.",
        (true, true, false) => "Some calls need a human's approval first.",
        (false, true, true) => "Some calls need a human's approval first; the others are blocked by policy.",
        (true, true, true) => "Allowed for some arguments; some calls need a human's approval first; others are blocked by policy.",
        // Denied on every call found, but not proven for all: stays listed.
        (false, false, _) => "Calls are blocked by policy, except perhaps for some arguments.",
    };
    Some(format!("{NOTE_PREFIX} {text}"))
}

/// Views per tool name, computed once each (the policy never changes). The
/// cache is bounded: names a client makes up cannot grow it without limit.
pub struct Views {
    policy: Arc<Policy>,
    cache: HashMap<String, Arc<View>>,
}

const CACHE_LIMIT: usize = 4096;

impl Views {
    /// Views of `policy`.
    pub fn new(policy: Arc<Policy>) -> Views {
        Views {
            policy,
            cache: HashMap::new(),
        }
    }

    /// How `tool` is shown.
    pub fn get(&mut self, tool: &str) -> Arc<View> {
        if let Some(v) = self.cache.get(tool) {
            return v.clone();
        }
        let o = tool_outcomes(&self.policy, tool);
        let decisions: Vec<Decision> = o.decisions.iter().map(|d| d.decision).collect();
        let view = Arc::new(View {
            hidden: o.always_denied(),
            note: note(&decisions, o.exact),
        });
        if self.cache.len() < CACHE_LIMIT {
            self.cache.insert(tool.to_string(), view.clone());
        }
        view
    }

    /// Filters a `tools/list` result in place: hidden tools removed, notes
    /// appended, order kept. Returns whether anything changed.
    pub fn filter_listing(&mut self, result: &mut Value) -> bool {
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return false;
        };
        let before = tools.len();
        let mut changed = false;
        let mut kept = Vec::with_capacity(before);
        for mut tool in std::mem::take(tools) {
            // A tool without a string name is the client's problem to
            // reject; it cannot be called by name, so it stays as it is.
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                kept.push(tool);
                continue;
            };
            let view = self.get(name);
            if view.hidden {
                changed = true;
                continue;
            }
            if let (Some(note), Some(obj)) = (&view.note, tool.as_object_mut()) {
                let text = match obj.get("description").and_then(Value::as_str) {
                    Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
                    _ => note.clone(),
                };
                obj.insert("description".into(), Value::String(text));
                changed = true;
            }
            kept.push(tool);
        }
        *tools = kept;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn views(policy: &str) -> Views {
        Views::new(Arc::new(Policy::from_json(policy).unwrap()))
    }

    #[test]
    fn notes() {
        use Decision::*;
        let cases: &[(&[Decision], bool, Option<&str>)] = &[
            (&[Allow], true, None),
            (
                &[Allow, Deny],
                true,
                Some("Allowed only for some arguments"),
            ),
            (&[RequireApproval], true, Some("Every call needs")),
            (&[Allow, RequireApproval], true, Some("Some calls need")),
            (&[Deny], false, Some("except perhaps")),
            (&[Allow], false, Some("some arguments may be blocked")),
        ];
        for (ds, exact, want) in cases {
            let got = note(ds, *exact);
            match want {
                None => assert_eq!(got, None, "{ds:?}"),
                Some(w) => {
                    let got = got.unwrap();
                    assert!(
                        got.starts_with(NOTE_PREFIX) && got.contains(w),
                        "{ds:?}: {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn listing_hides_notes_and_keeps_order() {
        let mut v = views(
            r#"{"allow": ["read_*", "list_*"], "deny": ["delete_*"], "require_approval": ["move_file"],
                "rules": [{"id": "workspace", "tool": "write_file", "decision": "allow",
                           "when": {"path": {"path_under": "/ws"}}}]}"#,
        );
        let mut result = json!({"tools": [
            {"name": "read_file", "description": "Read.", "inputSchema": {"type": "object"}},
            {"name": "delete_file", "description": "Delete."},
            {"name": "write_file", "description": "Write.", "x-unknown": 1},
            {"name": "move_file"},
            {"name": "list_dir", "description": ""},
            {"name": "other"},
            {"description": "no name"}
        ], "nextCursor": "c2", "_meta": {"k": 1}});
        assert!(v.filter_listing(&mut result));
        let names: Vec<_> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(
            names,
            [
                json!("read_file"),
                json!("write_file"),
                json!("move_file"),
                json!("list_dir"),
                Value::Null
            ]
        );
        assert_eq!(result["tools"][0]["description"], "Read.");
        let w = result["tools"][1]["description"].as_str().unwrap();
        assert!(
            w.starts_with("Write.\n\n[agentguard policy] Allowed only for some arguments"),
            "{w}"
        );
        assert_eq!(result["tools"][1]["x-unknown"], 1);
        assert!(result["tools"][2]["description"]
            .as_str()
            .unwrap()
            .contains("Every call needs"));
        assert_eq!(result["tools"][3]["description"], "");
        assert_eq!(result["nextCursor"], "c2");
        assert_eq!(result["_meta"]["k"], 1);
    }

    #[test]
    fn unchanged_listing_reports_no_change() {
        let mut v = views(r#"{"default": "allow"}"#);
        let mut result = json!({"tools": [{"name": "a"}, {"name": "b"}]});
        assert!(!v.filter_listing(&mut result));
        assert!(!v.filter_listing(&mut json!({"nope": 1})));
    }
}
