//! # agentguard
//!
//! A least-privilege policy engine for AI agents' tool calls. Before a tool
//! runs, ask the policy; the answer (allow, deny, or require a human's
//! approval, with the rule that decided) does not depend on what the model
//! believes.
//!
//! ```
//! use agentguard::{Policy, PolicySpec};
//!
//! let spec: PolicySpec = serde_json::from_str(r#"{
//!     "name": "database-safety",
//!     "allow": ["read_database", "generate_report", "list_tables", "describe_schema"],
//!     "deny": ["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
//!     "require_approval": ["write_database", "create_table", "create_index"]
//! }"#).unwrap();
//! let policy = Policy::new(spec).unwrap();
//!
//! let r = policy.check("drop_table");
//! assert_eq!(r.decision.as_str(), "deny");
//! assert_eq!(&*r.reason, "denied by pattern: drop_*");
//! assert_eq!(r.matched_rule.as_deref(), Some("drop_*"));
//!
//! assert!(policy.check("read_database").allowed());
//! assert!(policy.check("write_database").needs_approval());
//! assert!(agentguard::fnmatch("drop_table", "drop_*"));
//! ```
//!
//! The semantics are those of the `Policy` of the Python package
//! `tokenfence` 0.3.1, with CPython 3.11's `fnmatch` for patterns, proven by
//! differential tests against both. [`Policy`] is compiled once, immutable
//! and `Send + Sync`; [`Policy::check`] is pure. The flow around a decision
//! (approval callback, audit entry, `on_decision`, `on_deny`) is
//! [`Policy::decide`], driven through the [`Hooks`] a binding implements
//! ([`LogHooks`] when all you need is the audit log).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod action;
/// The README's Rust examples, compiled and run as doctests (`cargo test
/// --doc`, part of `make test`), so they stay true as written.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod analysis;
mod audit;
mod conditions;
mod decision;
mod error;
mod flow;
mod json;
mod path;
mod pattern;
mod policy;
mod set;
mod shell;

pub use action::{
    check_intent_type, resolve_address, ActionMode, ActionPolicies, ActionPolicy, Direction,
    Violation, ACTION_POLICY_KEYS, MAX_AGENT_ID_LEN, MAX_INTENT_TYPE_LEN,
};
pub use audit::{
    AuditEntry, AuditLog, Evicted, JsonMap, DEFAULT_AUDIT_CAPACITY, DEFAULT_AUDIT_MAX_BYTES,
};
pub use conditions::{RuleMode, RuleSpec, OPERATORS, RULE_KEYS};
pub use decision::{
    denial_text, denied_message, Decision, List, PolicyResult, Rule, RuleRef, Shadow, ShadowHit,
    Verdict,
};
pub use error::{Error, ErrorKind};
pub use flow::{
    check_name, name_length, Answer, Approval, FlowError, Hooks, LogHooks, Mode, Names, Returned,
    MAX_NAME_BYTES,
};
/// Parses JSON text strictly (a repeated key is an error), as every reader
/// of the core does; for tools that read JSON documents of their own.
pub use json::parse_strict as parse_json_strict;
/// What a rejected JSON value is, as the core's error messages say it
/// (`number 5`, `string "drop_*"`, `an array`; long strings cut), for tools
/// that refuse values of their own with the same words.
pub use json::type_name as describe_value;
pub use pattern::fnmatch;
pub use policy::{unix_now, DefaultDecision, Policy, PolicySpec, POLICY_KEYS};

#[doc(hidden)]
pub mod __private {
    //! Internals exposed for the project's own tests and benches only.
    pub use crate::set::PatternSet;
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn policy_is_send_and_sync() {
        assert_send_sync::<crate::Policy>();
    }
}
