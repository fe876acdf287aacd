//! The policy file format ([`PolicySpec`]), the compiled [`Policy`], and the
//! decision flow around a check ([`Hooks`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::conditions::{parse_rules, CompiledRule, RuleMode, RuleSpec};
use crate::decision::{
    default_reason, pattern_reason, rule_reason, Decision, PolicyResult, Rule, RuleRef, Shadow,
    ShadowHit, Verdict,
};
use crate::error::{Error, ErrorKind};
use crate::json::{deserialize_strict, parse_strict, quote, string_patterns, type_name};
use crate::pattern::fnmatch;
use crate::set::PatternSet;

/// What a policy decides when no rule matched: `"allow"` or `"deny"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultDecision {
    /// Allow what no rule covers.
    Allow,
    /// Deny what no rule covers (the default: deny-by-default is safer).
    #[default]
    Deny,
}

impl DefaultDecision {
    /// `"allow"` or `"deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultDecision::Allow => "allow",
            DefaultDecision::Deny => "deny",
        }
    }

    fn decision(self) -> Decision {
        match self {
            DefaultDecision::Allow => Decision::Allow,
            DefaultDecision::Deny => Decision::Deny,
        }
    }
}

/// The policy file format: exactly the keys of tokenfence's
/// `Policy.to_dict()`, with its defaults.
///
/// Deserialising is stricter than tokenfence on purpose: an unknown key
/// (`"denny"`) or a value of the wrong type is an [`Error`] that names the
/// key, field and index, instead of being ignored.
///
/// ```
/// let spec: agentguard::PolicySpec =
///     serde_json::from_str(r#"{"deny": ["drop_*"], "name": "db"}"#).unwrap();
/// assert_eq!(spec.name, "db");
/// assert_eq!(spec.default, agentguard::DefaultDecision::Deny);
/// assert!(spec.audit);
///
/// let err = serde_json::from_str::<agentguard::PolicySpec>(r#"{"denny": ["drop_*"]}"#);
/// assert!(err.unwrap_err().to_string().contains("unknown key \"denny\""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicySpec {
    /// The policy's name (default `"default"`; an empty name also becomes
    /// `"default"`, as in tokenfence).
    pub name: String,
    /// Patterns that are allowed. Empty: everything not denied or
    /// approval-gated falls to `default`.
    pub allow: Vec<String>,
    /// Patterns that are denied; they win over everything.
    pub deny: Vec<String>,
    /// Patterns that need a human's approval.
    pub require_approval: Vec<String>,
    /// The decision when no rule matches (default `deny`).
    pub default: DefaultDecision,
    /// Whether decisions are recorded in the audit log (default `true`).
    pub audit: bool,
    /// Rules with argument conditions (CONDITIONS.md); written only when
    /// non-empty, so a tokenfence file round-trips unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
}

impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec {
            name: "default".to_string(),
            allow: Vec::new(),
            deny: Vec::new(),
            require_approval: Vec::new(),
            default: DefaultDecision::Deny,
            audit: true,
            rules: Vec::new(),
        }
    }
}

/// The keys of the format, in tokenfence's `to_dict()` order, then `rules`.
pub const POLICY_KEYS: [&str; 7] = [
    "name",
    "allow",
    "deny",
    "require_approval",
    "default",
    "audit",
    "rules",
];

fn patterns(field: &str, v: &Value) -> Result<Vec<String>, Error> {
    match v {
        // tokenfence's from_dict treats a null list as absent.
        Value::Null => Ok(Vec::new()),
        other => string_patterns(field, other),
    }
}

impl PolicySpec {
    /// Reads a policy from a parsed JSON value, strictly.
    pub fn from_value(value: &Value) -> Result<PolicySpec, Error> {
        let Value::Object(map) = value else {
            return Err(Error::new(
                ErrorKind::NotAnObject,
                format!("a policy must be a JSON object, got {}", type_name(value)),
            ));
        };
        let mut spec = PolicySpec::default();
        for (key, v) in map {
            match key.as_str() {
                "name" => match v {
                    Value::Null => {}
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => spec.name = s.clone(),
                    other => {
                        return Err(Error::new(
                            ErrorKind::WrongType,
                            format!("expected a string, got {}", type_name(other)),
                        )
                        .at("name", None))
                    }
                },
                "allow" => spec.allow = patterns("allow", v)?,
                "deny" => spec.deny = patterns("deny", v)?,
                "require_approval" => spec.require_approval = patterns("require_approval", v)?,
                "default" => {
                    spec.default = match v {
                        Value::String(s) if s == "allow" => DefaultDecision::Allow,
                        Value::String(s) if s == "deny" => DefaultDecision::Deny,
                        other => {
                            return Err(Error::new(
                                ErrorKind::InvalidValue,
                                format!("expected \"allow\" or \"deny\", got {}", type_name(other)),
                            )
                            .at("default", None))
                        }
                    }
                }
                "audit" => match v {
                    Value::Bool(b) => spec.audit = *b,
                    other => {
                        return Err(Error::new(
                            ErrorKind::WrongType,
                            format!("expected true or false, got {}", type_name(other)),
                        )
                        .at("audit", None))
                    }
                },
                "rules" => spec.rules = parse_rules(v)?.0,
                unknown => {
                    return Err(Error::new(
                        ErrorKind::UnknownKey,
                        format!(
                            "unknown key {} in policy (known keys: {})",
                            quote(unknown),
                            POLICY_KEYS.join(", ")
                        ),
                    )
                    .at(unknown, None))
                }
            }
        }
        Ok(spec)
    }

    /// Reads a policy from JSON text, strictly.
    pub fn from_json(text: &str) -> Result<PolicySpec, Error> {
        PolicySpec::from_value(&parse_strict(text, "policy")?)
    }

    /// The policy as tokenfence's `to_dict()` JSON object, plus `rules`
    /// when there are any.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::json!({
            "name": self.name,
            "allow": self.allow,
            "deny": self.deny,
            "require_approval": self.require_approval,
            "default": self.default.as_str(),
            "audit": self.audit,
        });
        if let (false, Value::Object(map)) = (self.rules.is_empty(), &mut v) {
            map.insert(
                "rules".into(),
                Value::Array(self.rules.iter().map(RuleSpec::to_value).collect()),
            );
        }
        v
    }
}

impl<'de> Deserialize<'de> for PolicySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = deserialize_strict(d, "policy")?;
        PolicySpec::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// A compiled policy: immutable, `Send + Sync`, cheap to query.
///
/// ```
/// use agentguard::{Policy, PolicySpec};
/// let policy = Policy::new(PolicySpec {
///     allow: vec!["read_*".into()],
///     deny: vec!["drop_*".into()],
///     require_approval: vec!["write_*".into()],
///     ..PolicySpec::default()
/// })
/// .unwrap();
/// let r = policy.check("drop_table");
/// assert_eq!(r.decision.as_str(), "deny");
/// assert_eq!(&*r.reason, "denied by pattern: drop_*");
/// assert_eq!(r.matched_rule.as_deref(), Some("drop_*"));
/// assert!(policy.check("write_db").needs_approval());
/// assert_eq!(&*policy.check("ls").reason, "not in allow list (default: deny)");
/// ```
#[derive(Clone, Debug)]
pub struct Policy {
    spec: PolicySpec,
    /// deny, then require_approval, then allow: the lowest matching index of
    /// this concatenation is the decision.
    set: PatternSet,
    /// The pattern texts and reasons, indexed like `set`.
    rules: Vec<Arc<str>>,
    reasons: Vec<Arc<str>>,
    default_reason: Arc<str>,
    /// Whether "there is an allow" (CONDITIONS.md): a non-empty allow list
    /// or an enforced allow rule.
    has_allow: bool,
    conditions: Conditions,
}

/// The compiled `rules`.
#[derive(Clone, Debug)]
struct Conditions {
    rules: Vec<CompiledRule>,
    /// Every rule's tool patterns in one set (the same index as the
    /// lists): a name none of them matches skips the rules at once.
    any_tool: PatternSet,
    /// Rules by their literal tool patterns (`"refund"`): one lookup finds
    /// them, in file order.
    exact: HashMap<Box<str>, Vec<usize>>,
    /// Rules with a wildcard tool pattern, in file order, with those
    /// patterns compiled.
    wild: Vec<(usize, PatternSet)>,
    /// Per rule: its position among the shadow rules, if it is one.
    shadow_slot: Vec<Option<usize>>,
    /// The shadow rules' indices, by position.
    shadow_rules: Vec<usize>,
    /// Per rule: the reason when it decides (its own or the default one).
    reason: Vec<Arc<str>>,
    /// Every argument path a condition reads, for the bindings.
    paths: Vec<Vec<String>>,
}

impl Conditions {
    fn new(rules: Vec<CompiledRule>) -> Result<Conditions, Error> {
        let mut all_tools = Vec::new();
        let mut exact: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut wild = Vec::new();
        let mut shadow_slot = Vec::with_capacity(rules.len());
        let mut shadow_rules = Vec::new();
        let mut reason = Vec::with_capacity(rules.len());
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            all_tools.extend(r.tools.iter().map(String::as_str));
            let mut globs = Vec::new();
            for t in &r.tools {
                if is_literal(t) {
                    let list = exact.entry(t.as_str().into()).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                } else {
                    globs.push(t.as_str());
                }
            }
            if !globs.is_empty() {
                wild.push((i, PatternSet::new(&globs)));
            }
            if r.mode == RuleMode::Shadow {
                if shadow_rules.len() == Shadow::MAX_RULES {
                    return Err(Error::new(
                        ErrorKind::InvalidValue,
                        format!(
                            "a policy may have at most {} rules in shadow mode",
                            Shadow::MAX_RULES
                        ),
                    )
                    .at(format!("rules[{i}].mode"), None));
                }
                shadow_slot.push(Some(shadow_rules.len()));
                shadow_rules.push(i);
            } else {
                shadow_slot.push(None);
            }
            reason.push(
                r.reason
                    .clone()
                    .unwrap_or_else(|| Arc::from(rule_reason(Rule::ByRule(i), r.decision, &r.id))),
            );
            for p in r.paths() {
                if !paths.contains(p) {
                    paths.push(p.clone());
                }
            }
        }
        Ok(Conditions {
            any_tool: PatternSet::new(&all_tools),
            exact,
            wild,
            shadow_slot,
            shadow_rules,
            reason,
            paths,
            rules,
        })
    }

    /// Walks the rules whose tool patterns match `tool`, in file order,
    /// each once; stops when `visit` returns true.
    fn each_matching(&self, tool: &str, mut visit: impl FnMut(usize) -> bool) {
        let exact = self.exact.get(tool).map_or(&[][..], Vec::as_slice);
        let (mut e, mut w) = (0, 0);
        // Merge the two ascending lists; a rule in both is visited once.
        loop {
            let next_exact = exact.get(e).copied();
            // The next wildcard rule that matches, unless an exact one
            // comes first.
            let next_wild = loop {
                match self.wild.get(w) {
                    Some(&(i, _)) if next_exact.is_some_and(|x| x < i) => break None,
                    Some((i, set)) => {
                        if set.first_match(tool).is_some() {
                            break Some(*i);
                        }
                        w += 1;
                    }
                    None => break None,
                }
            };
            let i = match (next_exact, next_wild) {
                (Some(x), Some(y)) if y < x => {
                    w += 1;
                    y
                }
                (Some(x), Some(y)) => {
                    e += 1;
                    if y == x {
                        w += 1;
                    }
                    x
                }
                (Some(x), None) => {
                    e += 1;
                    x
                }
                (None, Some(y)) => {
                    w += 1;
                    y
                }
                (None, None) => return,
            };
            if visit(i) {
                return;
            }
        }
    }
}

/// Whether a pattern has no wildcard: it matches exactly its own text.
fn is_literal(pattern: &str) -> bool {
    crate::pattern::parse(pattern)
        .iter()
        .all(|a| matches!(a, crate::pattern::Atom::Lit(_)))
}

impl Policy {
    /// Compiles a policy. Compiling is the only costly step; do it once.
    pub fn new(spec: PolicySpec) -> Result<Policy, Error> {
        let mut spec = spec;
        if spec.name.is_empty() {
            spec.name = "default".to_string();
        }
        let raw_rules = Value::Array(spec.rules.iter().map(RuleSpec::to_value).collect());
        let (_, compiled) = parse_rules(&raw_rules)?;
        let conditions = Conditions::new(compiled)?;
        let all: Vec<&str> = spec
            .deny
            .iter()
            .chain(&spec.require_approval)
            .chain(&spec.allow)
            .map(String::as_str)
            .collect();
        let set = PatternSet::new(&all);
        let (nd, na) = (spec.deny.len(), spec.require_approval.len());
        let mut rules = Vec::with_capacity(all.len());
        let mut reasons = Vec::with_capacity(all.len());
        for (i, p) in all.iter().enumerate() {
            let rule = if i < nd {
                Rule::Deny(i)
            } else if i < nd + na {
                Rule::Approval(i - nd)
            } else {
                Rule::Allow(i - nd - na)
            };
            rules.push(Arc::from(*p));
            reasons.push(Arc::from(pattern_reason(rule, p)));
        }
        let has_allow = !spec.allow.is_empty()
            || conditions
                .rules
                .iter()
                .any(|r| r.mode == RuleMode::Enforce && r.decision == Decision::Allow);
        let default_rule = if has_allow {
            Rule::NotInAllowList
        } else {
            Rule::NoMatchingRule
        };
        let default_reason = Arc::from(default_reason(default_rule, spec.default.decision()));
        Ok(Policy {
            spec,
            set,
            rules,
            reasons,
            default_reason,
            has_allow,
            conditions,
        })
    }

    /// Compiles a policy from a parsed JSON value (strictly, as
    /// [`PolicySpec::from_value`]).
    pub fn from_value(value: &Value) -> Result<Policy, Error> {
        Policy::new(PolicySpec::from_value(value)?)
    }

    /// Parses and compiles a JSON policy file (strictly: an unknown or
    /// duplicate key, or a wrong type, is an error naming it).
    pub fn from_json(text: &str) -> Result<Policy, Error> {
        Policy::new(PolicySpec::from_json(text)?)
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether decisions are recorded in the audit log.
    pub fn audit_enabled(&self) -> bool {
        self.spec.audit
    }

    /// The spec this policy was compiled from (round-trips losslessly).
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// The spec as an owned value, for serialising.
    pub fn to_spec(&self) -> PolicySpec {
        self.spec.clone()
    }

    /// Whether "there is an allow" (a non-empty `allow` list or an enforced
    /// allow rule): then the default decides as `not in allow list`.
    pub fn has_allow(&self) -> bool {
        self.has_allow
    }

    /// The decision of `rules[i]` (`None` past the end): what a
    /// [`Rule::ByRule`] verdict decides.
    pub fn rule_decision(&self, i: usize) -> Option<Decision> {
        self.conditions.rules.get(i).map(|r| r.decision)
    }

    /// The compiled `rules`, for the analysis.
    pub(crate) fn compiled_rules(&self) -> &[CompiledRule] {
        &self.conditions.rules
    }

    /// Whether the policy has `rules` (argument conditions).
    pub fn has_rules(&self) -> bool {
        !self.conditions.rules.is_empty()
    }

    /// Every argument path a rule's condition reads (`["recipient",
    /// "email"]` for `recipient.email`), each once: a binding converts only
    /// these parts of a call's arguments.
    pub fn argument_paths(&self) -> &[Vec<String>] {
        &self.conditions.paths
    }

    /// The argument paths read by the conditions of the rules whose tool
    /// patterns match `tool` (enforced and shadow rules alike), each once,
    /// in the order of [`Policy::argument_paths`]: what a call of `tool`
    /// can read, so a binding can tell a value that a condition reads from
    /// one that none does (only the first may be refused as bad input).
    ///
    /// ```
    /// let p = agentguard::Policy::from_json(r#"{"rules": [
    ///     {"id": "mail", "tool": "send_*", "decision": "deny", "when": {"to": {"glob": "*@evil.com"}}},
    ///     {"id": "files", "tool": "*_file", "decision": "allow", "when": {"path": {"path_under": "/w"}}}
    /// ]}"#).unwrap();
    /// assert_eq!(p.argument_paths_for("send_email"), [["to".to_string()]]);
    /// assert!(p.argument_paths_for("ls").is_empty());
    /// ```
    pub fn argument_paths_for(&self, tool: &str) -> Vec<&[String]> {
        let c = &self.conditions;
        let mut read = vec![false; c.paths.len()];
        c.each_matching(tool, |i| {
            for p in c.rules[i].paths() {
                if let Some(k) = c.paths.iter().position(|q| q == p) {
                    read[k] = true;
                }
            }
            false
        });
        c.paths
            .iter()
            .zip(read)
            .filter_map(|(p, r)| r.then_some(p.as_slice()))
            .collect()
    }

    /// Whether every call of `tool` is denied whatever its arguments, as
    /// far as the policy's structure shows at once: the call without
    /// arguments is denied, and a `deny` pattern or an enforced `deny`
    /// rule without conditions decided it, or no enforced rule with
    /// conditions applies to the name (so no argument can change the
    /// decision). `true` is always right; `false` may also mean "not shown
    /// this cheaply" (`analysis::tool_outcomes` decides it exactly). What
    /// adapters use to leave a tool out of a listing: never one that some
    /// arguments would let through.
    ///
    /// ```
    /// let p = agentguard::Policy::from_json(r#"{"deny": ["drop_*"], "allow": ["read_*"], "rules": [
    ///     {"id": "w", "tool": "write_file", "when": {"path": {"path_under": "/w"}}, "decision": "allow"}]}"#).unwrap();
    /// assert!(p.always_denied("drop_table"));
    /// assert!(p.always_denied("send_email"));  // not in the allow list, no rule for it
    /// assert!(!p.always_denied("write_file")); // allowed under /w
    /// assert!(!p.always_denied("read_file"));
    /// ```
    pub fn always_denied(&self, tool: &str) -> bool {
        let verdict = self.evaluate(tool);
        if verdict.decision != Decision::Deny {
            return false;
        }
        let rules = self.compiled_rules();
        match verdict.rule {
            Rule::Deny(_) => return true,
            Rule::ByRule(i) if rules[i].conditions().is_empty() => return true,
            _ => {}
        }
        !rules.iter().any(|r| {
            r.mode == RuleMode::Enforce
                && !r.conditions().is_empty()
                && r.tools.iter().any(|t| fnmatch(tool, t))
        })
    }

    /// Whether some rule's tool pattern matches `tool`: when none does, the
    /// decision depends on the name alone (a binding may cache it per name).
    pub fn rules_apply_to(&self, tool: &str) -> bool {
        self.has_rules() && self.conditions.any_tool.first_match(tool).is_some()
    }

    /// Decides for `tool` called without arguments; see
    /// [`Policy::evaluate_call`].
    pub fn evaluate(&self, tool: &str) -> Verdict {
        // An empty map does not allocate.
        self.evaluate_call(tool, &Map::new())
    }

    /// Decides, without allocating: which decision, which rule made it,
    /// and which shadow rules fired (CONDITIONS.md, "Decision"):
    ///
    /// 1. the first `deny` pattern, else the first enforced `deny` rule
    ///    that fires;
    /// 2. else the first `require_approval` pattern, else the first enforced
    ///    `require_approval` rule that fires;
    /// 3. else, if there is an allow (a non-empty `allow` list or an
    ///    enforced allow rule): the first `allow` pattern, else the first
    ///    enforced `allow` rule that fires, else `default`
    ///    (`not in allow list (default: deny)`);
    /// 4. else `default` (`no matching rule (default: …)`).
    pub fn evaluate_call(&self, tool: &str, args: &Map<String, Value>) -> Verdict {
        let (nd, na) = (self.spec.deny.len(), self.spec.require_approval.len());
        let list = self.set.first_match(tool);
        // Which rule decisions can still matter after the lists: a deny
        // rule unless a deny pattern matched; an approval rule unless a deny
        // or approval pattern did; an allow rule only if no pattern did.
        let want_deny = !list.is_some_and(|i| i < nd);
        let want_approval = !list.is_some_and(|i| i < nd + na);
        let want_allow = list.is_none();
        let (mut deny, mut approval, mut allow) = (None, None, None);
        let mut shadow = 0u64;
        if self.has_rules() {
            let c = &self.conditions;
            let shadows = !c.shadow_rules.is_empty();
            // One walk over the rules that apply to this name, in file
            // order: every shadow rule is judged (it is reported whatever
            // decides); an enforced rule only while its decision can matter.
            c.each_matching(tool, |i| {
                let r = &c.rules[i];
                match c.shadow_slot[i] {
                    Some(slot) => {
                        if r.fires(args) {
                            shadow |= 1u64 << slot;
                        }
                    }
                    None => {
                        let (slot, wanted) = match r.decision {
                            Decision::Deny => (&mut deny, want_deny),
                            Decision::RequireApproval => (&mut approval, want_approval),
                            Decision::Allow => (&mut allow, want_allow),
                        };
                        if wanted && slot.is_none() && r.fires(args) {
                            *slot = Some(i);
                        }
                    }
                }
                // A firing deny rule decides: only shadow rules could still
                // add anything.
                deny.is_some() && !shadows
            });
        }
        let verdict = |decision, rule| Verdict {
            decision,
            rule,
            shadow: Shadow(shadow),
        };
        if let Some(i) = list.filter(|&i| i < nd) {
            return verdict(Decision::Deny, Rule::Deny(i));
        }
        if let Some(i) = deny {
            return verdict(Decision::Deny, Rule::ByRule(i));
        }
        if let Some(i) = list.filter(|&i| i < nd + na) {
            return verdict(Decision::RequireApproval, Rule::Approval(i - nd));
        }
        if let Some(i) = approval {
            return verdict(Decision::RequireApproval, Rule::ByRule(i));
        }
        if let Some(i) = list {
            return verdict(Decision::Allow, Rule::Allow(i - nd - na));
        }
        if let Some(i) = allow {
            return verdict(Decision::Allow, Rule::ByRule(i));
        }
        verdict(
            self.spec.default.decision(),
            if self.has_allow {
                Rule::NotInAllowList
            } else {
                Rule::NoMatchingRule
            },
        )
    }

    fn flat_index(&self, rule: Rule) -> Option<usize> {
        let (nd, na) = (self.spec.deny.len(), self.spec.require_approval.len());
        match rule {
            Rule::Deny(i) => Some(i),
            Rule::Approval(i) | Rule::Approved(i) | Rule::ApprovalDenied(i) => Some(nd + i),
            Rule::Allow(i) => Some(nd + na + i),
            _ => None,
        }
        .filter(|&i| i < self.rules.len())
    }

    /// Applies an approval answer to a verdict: a pending approval becomes
    /// an allow (`Approved`, `RuleApproved`) or a deny (`ApprovalDenied`,
    /// `RuleApprovalDenied`); any other verdict is returned unchanged.
    pub fn resolve_verdict(&self, verdict: Verdict, approved: bool) -> Verdict {
        if verdict.decision != Decision::RequireApproval {
            return verdict;
        }
        let (decision, rule) = match (verdict.rule, approved) {
            (Rule::Approval(i), true) => (Decision::Allow, Rule::Approved(i)),
            (Rule::Approval(i), false) => (Decision::Deny, Rule::ApprovalDenied(i)),
            (Rule::ByRule(i), true) => (Decision::Allow, Rule::RuleApproved(i)),
            (Rule::ByRule(i), false) => (Decision::Deny, Rule::RuleApprovalDenied(i)),
            _ => return verdict,
        };
        Verdict {
            decision,
            rule,
            shadow: verdict.shadow,
        }
    }

    /// The pattern behind `rule`, or the id of the rule of `rules` behind
    /// it; `None` when the default decided.
    pub fn matched_rule(&self, rule: Rule) -> Option<&str> {
        match rule.rule_index() {
            Some(i) => self.conditions.rules.get(i).map(|r| &*r.id),
            None => self.flat_index(rule).map(|i| &*self.rules[i]),
        }
    }

    /// The structured form of the rule that decided: a list and index, or
    /// a rule's id; `None` when the default decided.
    pub fn rule_ref(&self, rule: Rule) -> Option<RuleRef> {
        if let Some((list, index)) = rule.list_ref() {
            return Some(RuleRef::List { list, index });
        }
        let i = rule.rule_index()?;
        Some(RuleRef::Id {
            id: self.conditions.rules.get(i)?.id.clone(),
        })
    }

    /// The shadow rules of a verdict, as `{id, decision}` in file order.
    pub fn shadow_hits(&self, shadow: Shadow) -> Vec<ShadowHit> {
        let c = &self.conditions;
        shadow
            .positions()
            .filter_map(|k| c.shadow_rules.get(k))
            .map(|&i| ShadowHit {
                id: c.rules[i].id.clone(),
                decision: c.rules[i].decision,
            })
            .collect()
    }

    /// The reason string of a verdict, exactly as tokenfence words it (and,
    /// for rules, as CONDITIONS.md does).
    pub fn reason(&self, verdict: Verdict) -> Arc<str> {
        if let Some(i) = verdict.rule.rule_index() {
            let Some(rule) = self.conditions.rules.get(i) else {
                return self.default_reason.clone();
            };
            return match verdict.rule {
                Rule::ByRule(_) => self.conditions.reason[i].clone(),
                r => Arc::from(rule_reason(r, verdict.decision, &rule.id)),
            };
        }
        match (verdict.rule, self.flat_index(verdict.rule)) {
            (Rule::Deny(_) | Rule::Approval(_) | Rule::Allow(_), Some(i)) => {
                self.reasons[i].clone()
            }
            (rule @ (Rule::Approved(_) | Rule::ApprovalDenied(_)), Some(i)) => {
                Arc::from(pattern_reason(rule, &self.rules[i]))
            }
            // The default decided: the reason is fixed when the policy is
            // compiled.
            _ => self.default_reason.clone(),
        }
    }

    /// The full result of a verdict for `tool`.
    pub fn result(&self, tool: &str, verdict: Verdict) -> PolicyResult {
        PolicyResult {
            tool: tool.to_string(),
            decision: verdict.decision,
            reason: self.reason(verdict),
            matched_rule: match verdict.rule.rule_index() {
                Some(i) => self.conditions.rules.get(i).map(|r| r.id.clone()),
                None => self.flat_index(verdict.rule).map(|i| self.rules[i].clone()),
            },
            rule: self.rule_ref(verdict.rule),
            shadow: self.shadow_hits(verdict.shadow),
        }
    }

    /// Decides for `tool` called without arguments: pure, no audit, no
    /// callbacks. See [`Policy::check_call`].
    pub fn check(&self, tool: &str) -> PolicyResult {
        self.result(tool, self.evaluate(tool))
    }

    /// Decides for a call of `tool` with `args`: pure, no audit, no
    /// callbacks; the order is [`Policy::evaluate_call`]'s.
    ///
    /// ```
    /// let p = agentguard::Policy::from_json(r#"{
    ///     "rules": [{"id": "small-refunds", "tool": "refund", "decision": "allow",
    ///                "when": {"amount": {"lte": 100}}}]
    /// }"#).unwrap();
    /// let args = |v: serde_json::Value| v.as_object().unwrap().clone();
    /// let r = p.check_call("refund", &args(serde_json::json!({"amount": 20})));
    /// assert_eq!((r.decision.as_str(), &*r.reason), ("allow", "allowed by rule: small-refunds"));
    /// let r = p.check_call("refund", &args(serde_json::json!({"amount": 500})));
    /// assert_eq!((r.decision.as_str(), &*r.reason), ("deny", "not in allow list (default: deny)"));
    /// ```
    pub fn check_call(&self, tool: &str, args: &Map<String, Value>) -> PolicyResult {
        self.result(tool, self.evaluate_call(tool, args))
    }
}

/// Seconds since the Unix epoch from the system clock (0 if the clock is
/// before the epoch). Not for `wasm32-unknown-unknown`, which has no clock:
/// the wasm binding asks JavaScript.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
