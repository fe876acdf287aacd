//! Decisions, results and the reason strings (tokenfence's, to the letter).

use std::fmt;
use std::sync::Arc;

/// The outcome of a policy check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The tool may run.
    Allow,
    /// The tool must not run.
    Deny,
    /// The tool may run only after a human approves it.
    RequireApproval,
}

impl Decision {
    /// `"allow"`, `"deny"` or `"require_approval"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::RequireApproval => "require_approval",
        }
    }

    /// The decision named `"allow"`, `"deny"` or `"require_approval"`.
    pub fn from_name(name: &str) -> Option<Decision> {
        match name {
            "allow" => Some(Decision::Allow),
            "deny" => Some(Decision::Deny),
            "require_approval" => Some(Decision::RequireApproval),
            _ => None,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rule decided, without any allocation: the compact form of a
/// [`PolicyResult`] that bindings use on their hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `deny[i]` matched.
    Deny(usize),
    /// `require_approval[i]` matched (and no approval answer was applied).
    Approval(usize),
    /// `require_approval[i]` matched and the approval callback said yes.
    Approved(usize),
    /// `require_approval[i]` matched and the approval callback said no.
    ApprovalDenied(usize),
    /// `allow[i]` matched.
    Allow(usize),
    /// `rules[i]` fired and decided (its own `decision`: deny,
    /// require_approval or allow).
    ByRule(usize),
    /// `rules[i]` (a `require_approval` rule) fired and the approval
    /// callback said yes.
    RuleApproved(usize),
    /// `rules[i]` (a `require_approval` rule) fired and the approval
    /// callback said no.
    RuleApprovalDenied(usize),
    /// The allow list is non-empty and nothing matched: the default decided.
    NotInAllowList,
    /// No list matched and the allow list is empty: the default decided.
    NoMatchingRule,
}

/// The decision and the rule behind it; see [`crate::Policy::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The rule that produced it.
    pub rule: Rule,
    /// The shadow rules that fired (never part of the decision).
    pub shadow: Shadow,
}

impl Rule {
    /// The list and index of a pattern rule; `None` for a rule of `rules`
    /// (see [`crate::Policy::rule_ref`], which also names those) and for a
    /// default.
    pub fn list_ref(self) -> Option<(List, usize)> {
        match self {
            Rule::Deny(i) => Some((List::Deny, i)),
            Rule::Approval(i) | Rule::Approved(i) | Rule::ApprovalDenied(i) => {
                Some((List::RequireApproval, i))
            }
            Rule::Allow(i) => Some((List::Allow, i)),
            _ => None,
        }
    }

    /// The index in `rules` of a rule with conditions that decided.
    pub fn rule_index(self) -> Option<usize> {
        match self {
            Rule::ByRule(i) | Rule::RuleApproved(i) | Rule::RuleApprovalDenied(i) => Some(i),
            _ => None,
        }
    }
}

/// The shadow rules that fired for one call, as a set of their positions
/// among the policy's shadow rules (a policy has at most
/// [`Shadow::MAX_RULES`] of them), so a [`Verdict`] stays `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shadow(pub u64);

impl Shadow {
    /// The most rules in shadow mode one policy may have.
    pub const MAX_RULES: usize = 64;

    /// No shadow rule fired.
    pub const NONE: Shadow = Shadow(0);

    /// Whether no shadow rule fired.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The positions (among the policy's shadow rules) that fired, in order.
    pub fn positions(self) -> impl Iterator<Item = usize> {
        // Set bits only: a check with no shadow rule (the common case) does
        // no work here.
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(k)
        })
    }
}

/// One of the three pattern lists of a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum List {
    /// `deny`.
    Deny,
    /// `require_approval`.
    RequireApproval,
    /// `allow`.
    Allow,
}

impl List {
    /// `"deny"`, `"require_approval"` or `"allow"`.
    pub fn as_str(self) -> &'static str {
        match self {
            List::Deny => "deny",
            List::RequireApproval => "require_approval",
            List::Allow => "allow",
        }
    }
}

/// The rule that decided, structured: a pattern list and its index
/// (`{"list": "deny", "index": 0}` in JSON), or a rule of `rules` by its id
/// (`{"id": "workspace-writes"}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum RuleRef {
    /// A pattern of one of the lists.
    List {
        /// Which list.
        list: List,
        /// The pattern's index in it.
        index: usize,
    },
    /// A rule with conditions, by its id.
    Id {
        /// The rule's id.
        id: Arc<str>,
    },
}

/// A shadow rule that fired: it was not enforced, only reported.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ShadowHit {
    /// The rule's id.
    pub id: Arc<str>,
    /// What the rule would have decided.
    pub decision: Decision,
}

/// The outcome of [`crate::Policy::check`]: tokenfence's `PolicyResult`,
/// plus the rule that decided in structured form and the shadow rules that
/// fired.
///
/// Its JSON form (serde) is the same in every binding: `{"tool",
/// "decision", "reason", "matched_rule", "rule", "shadow"}`, with `null`
/// for a missing matched rule or rule and `[]` for no shadow rule.
///
/// ```
/// let p = agentguard::Policy::from_json(r#"{"deny": ["drop_*"]}"#).unwrap();
/// assert_eq!(
///     serde_json::to_string(&p.check("drop_table")).unwrap(),
///     r#"{"tool":"drop_table","decision":"deny","reason":"denied by pattern: drop_*","matched_rule":"drop_*","rule":{"list":"deny","index":0},"shadow":[]}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicyResult {
    /// The tool name that was checked.
    pub tool: String,
    /// The decision.
    pub decision: Decision,
    /// Why, in tokenfence's words: `denied by pattern: drop_*`.
    pub reason: Arc<str>,
    /// The pattern that decided; `None` when the default decided.
    pub matched_rule: Option<Arc<str>>,
    /// The rule that decided, structured; `None` when the default decided.
    pub rule: Option<RuleRef>,
    /// The shadow rules that fired, in file order (never enforced).
    pub shadow: Vec<ShadowHit>,
}

impl PolicyResult {
    /// The tool may run now (no approval pending).
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// The tool must not run.
    pub fn denied(&self) -> bool {
        self.decision == Decision::Deny
    }

    /// The tool needs a human's approval first.
    pub fn needs_approval(&self) -> bool {
        self.decision == Decision::RequireApproval
    }
}

/// The message of the error a binding raises for a call that may not run
/// (`ToolDenied`, `ApprovalRequired`): tokenfence's words,
/// `Tool 'drop_table' denied: denied by pattern: drop_*`.
pub fn denied_message(tool: &str, reason: &str) -> String {
    format!("Tool '{tool}' denied: {reason}")
}

/// The text a model reads, through a framework adapter, for a call that did
/// not run: the tool, the reason and the deciding rule, named when the
/// reason does not already name it (`Tool 'write_file' denied: secrets are
/// off limits (rule: no-secrets)`); for a call that needs approval, that it
/// needs a person's approval.
pub fn denial_text(
    tool: &str,
    decision: Decision,
    reason: &str,
    matched_rule: Option<&str>,
) -> String {
    let named = match matched_rule {
        Some(rule) if !reason.contains(rule) => format!(" (rule: {rule})"),
        _ => String::new(),
    };
    match decision {
        Decision::RequireApproval => {
            format!("Tool '{tool}' was not run: {reason}{named}; it needs a person's approval.")
        }
        _ => format!("{}{named}", denied_message(tool, reason)),
    }
}

/// The reason string for a pattern-based rule.
pub(crate) fn pattern_reason(rule: Rule, pattern: &str) -> String {
    match rule {
        Rule::Deny(_) => format!("denied by pattern: {pattern}"),
        Rule::Approval(_) => format!("requires approval per pattern: {pattern}"),
        Rule::Approved(_) => format!("approved via callback (pattern: {pattern})"),
        Rule::ApprovalDenied(_) => format!("approval denied via callback (pattern: {pattern})"),
        Rule::Allow(_) => format!("allowed by pattern: {pattern}"),
        _ => String::new(),
    }
}

/// The reason string for a rule of `rules` that decided with `decision`
/// (its own `reason` replaces the first three, never the approval answers).
pub(crate) fn rule_reason(rule: Rule, decision: Decision, id: &str) -> String {
    match (rule, decision) {
        (Rule::RuleApproved(_), _) => format!("approved via callback (rule: {id})"),
        (Rule::RuleApprovalDenied(_), _) => format!("approval denied via callback (rule: {id})"),
        (_, Decision::Deny) => format!("denied by rule: {id}"),
        (_, Decision::RequireApproval) => format!("requires approval per rule: {id}"),
        (_, Decision::Allow) => format!("allowed by rule: {id}"),
    }
}

/// `not in allow list (default: deny)` and friends.
pub(crate) fn default_reason(rule: Rule, decision: Decision) -> &'static str {
    match (rule, decision) {
        (Rule::NotInAllowList, Decision::Deny) => "not in allow list (default: deny)",
        (_, Decision::Deny) => "no matching rule (default: deny)",
        _ => "no matching rule (default: allow)",
    }
}

#[cfg(test)]
mod messages {
    use super::*;

    #[test]
    fn denial_texts_name_the_rule_once() {
        assert_eq!(
            denied_message("drop_table", "denied by pattern: drop_*"),
            "Tool 'drop_table' denied: denied by pattern: drop_*"
        );
        assert_eq!(
            denial_text(
                "drop_table",
                Decision::Deny,
                "denied by pattern: drop_*",
                Some("drop_*")
            ),
            "Tool 'drop_table' denied: denied by pattern: drop_*"
        );
        assert_eq!(
            denial_text(
                "write_file",
                Decision::Deny,
                "secrets are off limits",
                Some("no-secrets")
            ),
            "Tool 'write_file' denied: secrets are off limits (rule: no-secrets)"
        );
        assert_eq!(
            denial_text(
                "send_email",
                Decision::Deny,
                "not in allow list (default: deny)",
                None
            ),
            "Tool 'send_email' denied: not in allow list (default: deny)"
        );
        assert_eq!(
            denial_text("refund", Decision::RequireApproval, "requires approval per rule: big", Some("big")),
            "Tool 'refund' was not run: requires approval per rule: big; it needs a person's approval."
        );
    }
}
