//! Diff: every way the decision of some call changes between two policies.
//!
//! The names are split by the product of every pattern of both policies
//! (the lists and the tool patterns of enforced rules): names with the same
//! matching patterns are decided alike by both, so one shortest name stands
//! for each combination. For a combination that some rules apply to, the
//! argument objects are split the same way ([`super::space`]). Each
//! representative call is then decided by both policies with the engine
//! itself, so every witness replays by construction, and every call is
//! represented, so no change is missed (unless `exact` says otherwise).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::automaton::{Pattern, Product, NAME_LIMIT};
use super::space::{self, Space};
use super::{Change, Diff};
use crate::conditions::{CompiledRule, RuleMode};
use crate::policy::Policy;

/// The patterns of a policy that can change a decision, and which rule
/// each belongs to: the lists (deny, require_approval, allow), then each
/// enforced rule's tool patterns.
pub(super) struct Names<'p> {
    pub(super) patterns: Vec<&'p str>,
    /// Per pattern: `None` for a list pattern, `Some(i)` for `rules[i]`.
    pub(super) owner: Vec<Option<usize>>,
}

impl<'p> Names<'p> {
    pub(super) fn of(policy: &'p Policy, with_shadow: bool) -> Names<'p> {
        let spec = policy.spec();
        let mut patterns: Vec<&str> = Vec::new();
        let mut owner = Vec::new();
        for p in spec
            .deny
            .iter()
            .chain(&spec.require_approval)
            .chain(&spec.allow)
        {
            patterns.push(p);
            owner.push(None);
        }
        for (i, r) in policy.compiled_rules().iter().enumerate() {
            if r.mode == RuleMode::Shadow && !with_shadow {
                continue;
            }
            for t in &r.tools {
                patterns.push(t);
                owner.push(Some(i));
            }
        }
        Names { patterns, owner }
    }

    /// The rules (indices) whose tool patterns are among `matching`
    /// (indices into `patterns`, offset by `base`).
    pub(super) fn rules_in(&self, matching: &[u32], base: usize) -> Vec<usize> {
        let mut out: Vec<usize> = matching
            .iter()
            .filter_map(|&m| {
                let m = (m as usize).checked_sub(base)?;
                self.owner.get(m).copied().flatten()
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Argument spaces, computed once per set of rules.
#[derive(Default)]
pub(super) struct Spaces {
    cache: HashMap<Vec<(usize, usize)>, Space>,
}

impl Spaces {
    /// The argument objects that tell apart every way `rules` (tagged by
    /// which policy they are from) can fire.
    pub(super) fn get(&mut self, key: Vec<(usize, usize)>, rules: &[&CompiledRule]) -> &Space {
        self.cache
            .entry(key)
            .or_insert_with(|| space::explore(rules))
    }
}

/// The semantic difference of two policies: every transition of the
/// decision, with a witness call that `old` decides one way and `new` the
/// other, and the reason-only changes.
///
/// ```
/// use agentguard::Policy;
/// let old = Policy::from_json(r#"{"deny": ["drop_*"], "default": "allow"}"#).unwrap();
/// let new = Policy::from_json(r#"{"deny": ["drop_table"], "default": "allow"}"#).unwrap();
/// let d = agentguard::analysis::diff(&old, &new);
/// assert!(d.exact);
/// assert_eq!(d.changes.len(), 1);
/// let c = &d.changes[0];
/// assert_eq!((c.from.as_str(), c.to.as_str()), ("deny", "allow"));
/// assert!(c.tool.starts_with("drop_") && c.tool != "drop_table");
/// assert_eq!(old.check(&c.tool).decision, c.from);
/// assert_eq!(new.check(&c.tool).decision, c.to);
/// ```
pub fn diff(old: &Policy, new: &Policy) -> Diff {
    let (a, b) = (Names::of(old, false), Names::of(new, false));
    let patterns: Vec<Pattern> = a
        .patterns
        .iter()
        .chain(&b.patterns)
        .map(|p| Pattern::Glob(p))
        .collect();
    let names = Product::new(&patterns, false).explore(NAME_LIMIT);
    let mut exact = names.complete;
    let mut notes = Vec::new();
    if !names.complete {
        notes.push(format!(
            "the tool names of the two policies have more than {NAME_LIMIT} states; some names were not compared"
        ));
    }
    let mut spaces = Spaces::default();
    let mut changes: Vec<Change> = Vec::new();
    let mut reason_changes: Vec<Change> = Vec::new();
    let mut seen: HashMap<[String; 6], ()> = HashMap::new();
    let empty = Map::new();
    let base = a.patterns.len();
    for (matching, tool) in &names.combinations {
        let ra = a.rules_in(matching, 0);
        let rb = b.rules_in(matching, base);
        let calls: Vec<&Map<String, Value>> = if ra.is_empty() && rb.is_empty() {
            vec![&empty]
        } else {
            let rules: Vec<&CompiledRule> = ra
                .iter()
                .map(|&i| &old.compiled_rules()[i])
                .chain(rb.iter().map(|&i| &new.compiled_rules()[i]))
                .collect();
            let key: Vec<(usize, usize)> = ra
                .iter()
                .map(|&i| (0, i))
                .chain(rb.iter().map(|&i| (1, i)))
                .collect();
            let s = spaces.get(key, &rules);
            if !s.exact {
                exact = false;
                notes.extend(s.notes.iter().cloned());
            }
            s.calls.iter().map(|(_, m)| m).collect()
        };
        for args in calls {
            let (ro, rn) = (old.check_call(tool, args), new.check_call(tool, args));
            let same_rule = ro.reason == rn.reason && ro.matched_rule == rn.matched_rule;
            if ro.decision == rn.decision && same_rule {
                continue;
            }
            let key = [
                ro.decision.as_str().to_string(),
                rn.decision.as_str().to_string(),
                ro.reason.to_string(),
                ro.matched_rule.as_deref().unwrap_or("\0").to_string(),
                rn.reason.to_string(),
                rn.matched_rule.as_deref().unwrap_or("\0").to_string(),
            ];
            if seen.insert(key, ()).is_some() {
                continue;
            }
            let mut change = Change {
                from: ro.decision,
                to: rn.decision,
                tool: tool.clone(),
                args: args.clone(),
                old_rule: ro.matched_rule.as_deref().map(str::to_string),
                new_rule: rn.matched_rule.as_deref().map(str::to_string),
                old_reason: ro.reason.to_string(),
                new_reason: rn.reason.to_string(),
                wider: false,
            };
            change.wider = change.is_wider();
            if ro.decision == rn.decision {
                reason_changes.push(change);
            } else {
                changes.push(change);
            }
        }
    }
    notes.sort();
    notes.dedup();
    Diff {
        changes,
        reason_changes,
        exact,
        notes,
    }
}
