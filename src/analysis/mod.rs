//! Analysis of policies (DESIGN.md, "Analysis: lint, diff, test"): what a
//! reviewer needs before a policy ships, decided exactly where it can be.
//!
//! * [`lint`]: findings (dead rules, the fnmatch traps, conditions that can
//!   never hold), each with a code, a severity, where, a message and a hint.
//! * [`diff`]: every way the decision of some call changes between two
//!   policies, each with a witness call that replays.
//! * [`test()`]: fixtures (calls with the expected decision) against a policy,
//!   and what no fixture exercised.
//! * [`tool_outcomes`]: every decision a policy can make for one tool over
//!   all its argument objects (whether to hide a tool it always denies).
//!
//! Names are decided with automata: an fnmatch pattern is a regular language
//! over code points, so the product of every pattern of a policy (or of two)
//! has finitely many states, and a breadth-first walk over it visits every
//! combination of matching patterns that some name has, with a shortest such
//! name. Arguments are decided per argument path by splitting the values a
//! condition can see into finitely many classes that every operator treats
//! alike (number intervals between the policy's bounds, the strings of each
//! combination of patterns, arrays by the elements they hold), then
//! combining the paths. Where a class cannot be split exactly (a path read
//! both as a path and as raw text, or as a shell command), the analysis says
//! so in its output instead of claiming more than it proved.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::decision::Decision;

mod automaton;
mod diff;
mod fixtures;
mod lint;
mod space;
mod tool;

pub use diff::diff;
pub use fixtures::{test, Failure, Fixture, Outcome, TestReport};
pub use lint::lint;
pub use tool::{tool_outcomes, ToolDecision, ToolOutcomes};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: nothing is wrong, but a reviewer should know.
    Info,
    /// Probably not what the author meant.
    Warning,
    /// The policy cannot mean what it says (a rule that can never decide).
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Where in a policy a finding is: a list pattern (`deny[3]`), a rule
/// (`rules[2]`, with its id), or a part of a rule (`rules[2].tool[1]`,
/// `rules[2].when.amount`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The path to the field: `deny`, `rules[2].tool`, `rules[2].when.amount`.
    pub field: String,
    /// The index inside that field, when it is an array.
    pub index: Option<usize>,
    /// The id of the rule the location is in, when it is in `rules`.
    pub rule: Option<String>,
}

impl Location {
    /// A pattern of a list: `deny[3]`.
    pub fn list(list: &str, index: usize) -> Location {
        Location {
            field: list.to_string(),
            index: Some(index),
            rule: None,
        }
    }

    /// The location as written in messages: `deny[3]`, `rules[2] (id)`,
    /// `rules[2].when.amount (id)`.
    pub fn display(&self) -> String {
        let mut s = self.field.clone();
        if let Some(i) = self.index {
            s.push_str(&format!("[{i}]"));
        }
        if let Some(id) = &self.rule {
            s.push_str(&format!(" ({id})"));
        }
        s
    }
}

/// A tool call: a name and its arguments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// The tool's name.
    pub tool: String,
    /// The arguments (an empty object when the decision does not read them).
    pub args: Map<String, Value>,
}

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The finding's code: `shadowed`, `matches-nothing`, `duplicate`, ...
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// Where it is.
    pub location: Location,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// Other places involved: the patterns and rules that shadow this one,
    /// the first copy of a duplicate.
    pub related: Vec<Location>,
    /// A call that shows the finding, when there is one (the name that a
    /// case-bypass lets through).
    pub witness: Option<Call>,
}

/// One way a decision changes between two policies, with a call that shows
/// it: `old` decides `from` for the call, `new` decides `to`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The old policy's decision for the witness call.
    pub from: Decision,
    /// The new policy's decision for it.
    pub to: Decision,
    /// The witness call's tool name.
    pub tool: String,
    /// The witness call's arguments.
    pub args: Map<String, Value>,
    /// The old policy's deciding rule: the pattern or the rule id (`null`:
    /// its default decided).
    pub old_rule: Option<String>,
    /// The new policy's deciding rule.
    pub new_rule: Option<String>,
    /// The old policy's reason for the witness call.
    pub old_reason: String,
    /// The new policy's reason.
    pub new_reason: String,
    /// Whether the change widens what can run: newly allowed (from deny or
    /// from approval), or newly possible with approval (from deny). What
    /// `--fail-on wider` gates on.
    pub wider: bool,
}

impl Change {
    /// Whether the change widens what can run (its `wider`): see
    /// [`widens`].
    pub fn is_wider(&self) -> bool {
        widens(self.from, self.to)
    }
}

/// Whether a change of decision from `from` to `to` widens what can run:
/// newly allowed (from deny or from approval), or newly possible with
/// approval (from deny).
pub fn widens(from: Decision, to: Decision) -> bool {
    rank(to) < rank(from)
}

/// How restrictive a decision is: allow < require_approval < deny.
fn rank(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::RequireApproval => 1,
        Decision::Deny => 2,
    }
}

/// The semantic difference of two policies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// Every transition of the decision (`deny` -> `allow`, ...), one per
    /// distinct pair of old and new deciding rules, each with a witness.
    pub changes: Vec<Change>,
    /// Calls decided the same way by a different rule (or with a different
    /// reason), one per distinct pair of old and new deciding rules.
    pub reason_changes: Vec<Change>,
    /// Whether the diff is complete: `true` when every call was accounted
    /// for exactly; `false` when some part was compared on samples (see
    /// `notes`), so that a change may be missing.
    pub exact: bool,
    /// What was not decided exactly, and why.
    pub notes: Vec<String>,
}
