//! The policy file format ([`PolicySpec`]), the compiled [`Policy`], and the
//! decision flow around a check ([`Hooks`]).

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::decision::{default_reason, pattern_reason, Decision, PolicyResult, Rule, Verdict};
use crate::error::{Error, ErrorKind};
use crate::json::{deserialize_strict, parse_strict, quote, string_patterns, type_name};
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
        }
    }
}

/// The keys of the format, in tokenfence's `to_dict()` order.
pub const POLICY_KEYS: [&str; 6] = [
    "name",
    "allow",
    "deny",
    "require_approval",
    "default",
    "audit",
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

    /// The policy as tokenfence's `to_dict()` JSON object.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "allow": self.allow,
            "deny": self.deny,
            "require_approval": self.require_approval,
            "default": self.default.as_str(),
            "audit": self.audit,
        })
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
}

impl Policy {
    /// Compiles a policy. Compiling is the only costly step; do it once.
    pub fn new(spec: PolicySpec) -> Result<Policy, Error> {
        let mut spec = spec;
        if spec.name.is_empty() {
            spec.name = "default".to_string();
        }
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
        let default_rule = if spec.allow.is_empty() {
            Rule::NoMatchingRule
        } else {
            Rule::NotInAllowList
        };
        let default_reason = Arc::from(default_reason(default_rule, spec.default.decision()));
        Ok(Policy {
            spec,
            set,
            rules,
            reasons,
            default_reason,
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

    /// Decides, without allocating: which decision, and which rule made it.
    pub fn evaluate(&self, tool: &str) -> Verdict {
        let (nd, na) = (self.spec.deny.len(), self.spec.require_approval.len());
        match self.set.first_match(tool) {
            Some(i) if i < nd => Verdict {
                decision: Decision::Deny,
                rule: Rule::Deny(i),
            },
            Some(i) if i < nd + na => Verdict {
                decision: Decision::RequireApproval,
                rule: Rule::Approval(i - nd),
            },
            Some(i) => Verdict {
                decision: Decision::Allow,
                rule: Rule::Allow(i - nd - na),
            },
            None => Verdict {
                decision: self.spec.default.decision(),
                rule: if self.spec.allow.is_empty() {
                    Rule::NoMatchingRule
                } else {
                    Rule::NotInAllowList
                },
            },
        }
    }

    fn flat_index(&self, rule: Rule) -> Option<usize> {
        let (nd, na) = (self.spec.deny.len(), self.spec.require_approval.len());
        match rule {
            Rule::Deny(i) => Some(i),
            Rule::Approval(i) | Rule::Approved(i) | Rule::ApprovalDenied(i) => Some(nd + i),
            Rule::Allow(i) => Some(nd + na + i),
            Rule::NotInAllowList | Rule::NoMatchingRule => None,
        }
        .filter(|&i| i < self.rules.len())
    }

    /// Applies an approval answer to a verdict: `Approval(i)` becomes
    /// `Approved(i)` (allow) or `ApprovalDenied(i)` (deny); any other verdict
    /// is returned unchanged. The allocation-free twin of
    /// [`resolve_approval`].
    pub fn resolve_verdict(&self, verdict: Verdict, approved: bool) -> Verdict {
        match verdict.rule {
            Rule::Approval(i) if approved => Verdict {
                decision: Decision::Allow,
                rule: Rule::Approved(i),
            },
            Rule::Approval(i) => Verdict {
                decision: Decision::Deny,
                rule: Rule::ApprovalDenied(i),
            },
            _ => verdict,
        }
    }

    /// The pattern behind `rule`, if a pattern decided.
    pub fn matched_rule(&self, rule: Rule) -> Option<&str> {
        self.flat_index(rule).map(|i| &*self.rules[i])
    }

    /// The reason string of a verdict, exactly as tokenfence words it.
    pub fn reason(&self, verdict: Verdict) -> Arc<str> {
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
            matched_rule: self.flat_index(verdict.rule).map(|i| self.rules[i].clone()),
            rule: verdict.rule.to_ref(),
            shadow: Vec::new(),
        }
    }

    /// Decides for `tool`: pure, no audit, no callbacks.
    ///
    /// 1. the first `deny` pattern that matches denies;
    /// 2. else the first `require_approval` match needs approval;
    /// 3. else, with a non-empty `allow` list, the first match allows and no
    ///    match falls to `default` (`not in allow list (default: deny)`);
    /// 4. else `default` decides (`no matching rule (default: …)`).
    pub fn check(&self, tool: &str) -> PolicyResult {
        self.result(tool, self.evaluate(tool))
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
