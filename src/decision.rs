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
}

/// The outcome of [`crate::Policy::check`]: tokenfence's `PolicyResult`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyResult {
    /// The decision.
    pub decision: Decision,
    /// The tool name that was checked.
    pub tool: String,
    /// Why, in tokenfence's words: `denied by pattern: drop_*`.
    pub reason: Arc<str>,
    /// The pattern that decided; `None` when the default decided.
    pub matched_rule: Option<Arc<str>>,
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

/// The reason string for a pattern-based rule.
pub(crate) fn pattern_reason(rule: Rule, pattern: &str) -> String {
    match rule {
        Rule::Deny(_) => format!("denied by pattern: {pattern}"),
        Rule::Approval(_) => format!("requires approval per pattern: {pattern}"),
        Rule::Approved(_) => format!("approved via callback (pattern: {pattern})"),
        Rule::ApprovalDenied(_) => format!("approval denied via callback (pattern: {pattern})"),
        Rule::Allow(_) => format!("allowed by pattern: {pattern}"),
        Rule::NotInAllowList | Rule::NoMatchingRule => String::new(),
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
