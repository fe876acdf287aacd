//! What a policy can decide for one tool, over every argument object: what
//! an MCP proxy needs to hide a tool the policy denies whatever it is
//! called with, and to say which tools are allowed only on some arguments.

use serde::Serialize;
use serde_json::Map;

use super::space;
use super::Call;
use crate::conditions::{CompiledRule, RuleMode};
use crate::decision::Decision;
use crate::pattern::fnmatch;
use crate::policy::Policy;

/// The decisions a policy makes for one tool over every argument object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolOutcomes {
    /// Each decision some call of the tool gets, from the least restrictive
    /// (allow, require_approval, deny), with a call that gets it.
    pub decisions: Vec<ToolDecision>,
    /// Whether that list is proven complete (`false`: some argument was
    /// compared on samples, a `command` condition say, so a decision may be
    /// missing; see `notes`).
    pub exact: bool,
    /// What was not decided exactly, and why.
    pub notes: Vec<String>,
}

/// One decision a tool can get, and a call that gets it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolDecision {
    /// The decision.
    pub decision: Decision,
    /// A call (this tool and an argument object) that the policy decides
    /// so.
    pub witness: Call,
}

impl ToolOutcomes {
    /// Whether every call of the tool is denied, proven: the decision to
    /// hide a tool from a listing rests on this, never on a sample.
    pub fn always_denied(&self) -> bool {
        self.exact && self.decisions.iter().all(|d| d.decision == Decision::Deny)
    }

    /// The one decision every call gets, when that is proven.
    pub fn only(&self) -> Option<Decision> {
        match self.decisions.as_slice() {
            [d] if self.exact => Some(d.decision),
            _ => None,
        }
    }
}

/// Every decision `policy` makes for `tool` over all argument objects,
/// each with a witness call that replays.
///
/// ```
/// use agentguard::{Decision, Policy};
/// let p = Policy::from_json(r#"{"allow": ["read_*"], "rules": [
///     {"id": "small", "tool": "refund", "when": {"amount": {"lte": 100}}, "decision": "allow"}]}"#).unwrap();
/// let o = agentguard::analysis::tool_outcomes(&p, "refund");
/// let ds: Vec<Decision> = o.decisions.iter().map(|d| d.decision).collect();
/// assert_eq!(ds, [Decision::Allow, Decision::Deny]);
/// assert!(agentguard::analysis::tool_outcomes(&p, "drop_table").always_denied());
/// ```
pub fn tool_outcomes(policy: &Policy, tool: &str) -> ToolOutcomes {
    let rules: Vec<&CompiledRule> = policy
        .compiled_rules()
        .iter()
        .filter(|r| r.mode == RuleMode::Enforce && r.tools.iter().any(|t| fnmatch(tool, t)))
        .collect();
    let (calls, exact, notes) = if rules.is_empty() {
        (vec![Map::new()], true, Vec::new())
    } else {
        let s = space::explore(&rules);
        let calls = s.calls.into_iter().map(|(_, m)| m).collect();
        (calls, s.exact, s.notes)
    };
    let mut decisions: Vec<ToolDecision> = Vec::new();
    for args in calls {
        let decision = policy.evaluate_call(tool, &args).decision;
        if !decisions.iter().any(|x| x.decision == decision) {
            decisions.push(ToolDecision {
                decision,
                witness: Call {
                    tool: tool.to_string(),
                    args,
                },
            });
        }
    }
    decisions.sort_by_key(|d| super::rank(d.decision));
    ToolOutcomes {
        decisions,
        exact,
        notes,
    }
}
