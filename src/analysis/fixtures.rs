//! Fixture tests: calls with the decision (and optionally the rule) a
//! policy must give them, and what no fixture exercised.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Location;
use crate::decision::{Decision, List, Rule};
use crate::error::{Error, ErrorKind};
use crate::json::{parse_strict_at, quote, type_name};
use crate::policy::Policy;

/// The keys of a fixture.
pub const FIXTURE_KEYS: [&str; 4] = ["tool", "args", "expect", "rule"];

/// A call and what the policy must decide for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fixture {
    /// The tool's name.
    pub tool: String,
    /// The call's arguments (`{}` when absent).
    pub args: Map<String, Value>,
    /// The decision the policy must give.
    pub expect: Decision,
    /// The deciding rule the policy must name (a pattern or a rule id):
    /// `None` when not checked, `Some(None)` when the default must decide
    /// (`"rule": null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Option<String>>,
}

fn fixture_err(kind: ErrorKind, at: &str, message: String) -> Error {
    Error::new(kind, message).at(at, None)
}

impl Fixture {
    /// Reads one fixture from a JSON value, strictly; errors name `at`
    /// (`fixtures[3]`) and the key.
    pub fn from_value(value: &Value, at: &str) -> Result<Fixture, Error> {
        let Value::Object(map) = value else {
            return Err(fixture_err(
                ErrorKind::NotAnObject,
                at,
                format!("a fixture must be a JSON object, got {}", type_name(value)),
            ));
        };
        let (mut tool, mut args, mut expect, mut rule) = (None, Map::new(), None, None);
        for (key, v) in map {
            let field = format!("{at}.{key}");
            match key.as_str() {
                "tool" => match v {
                    Value::String(s) => tool = Some(s.clone()),
                    other => {
                        return Err(fixture_err(
                            ErrorKind::WrongType,
                            &field,
                            format!("expected a tool name, got {}", type_name(other)),
                        ))
                    }
                },
                "args" => match v {
                    Value::Object(m) => args = m.clone(),
                    Value::Null => {}
                    other => {
                        return Err(fixture_err(
                            ErrorKind::WrongType,
                            &field,
                            format!("expected an object of arguments, got {}", type_name(other)),
                        ))
                    }
                },
                "expect" => {
                    expect = Some(match v.as_str() {
                        Some("allow") => Decision::Allow,
                        Some("deny") => Decision::Deny,
                        Some("require_approval") => Decision::RequireApproval,
                        _ => {
                            return Err(fixture_err(
                                ErrorKind::InvalidValue,
                                &field,
                                format!(
                                    "expected \"allow\", \"deny\" or \"require_approval\", got {}",
                                    type_name(v)
                                ),
                            ))
                        }
                    })
                }
                "rule" => match v {
                    Value::String(s) => rule = Some(Some(s.clone())),
                    Value::Null => rule = Some(None),
                    other => {
                        return Err(fixture_err(
                            ErrorKind::WrongType,
                            &field,
                            format!(
                                "expected a pattern or rule id (or null for the default), got {}",
                                type_name(other)
                            ),
                        ))
                    }
                },
                unknown => {
                    return Err(fixture_err(
                        ErrorKind::UnknownKey,
                        &field,
                        format!(
                            "unknown key {} in {at} (known keys: {})",
                            quote(unknown),
                            FIXTURE_KEYS.join(", ")
                        ),
                    ))
                }
            }
        }
        let missing = |key: &str| {
            fixture_err(
                ErrorKind::MissingField,
                &format!("{at}.{key}"),
                format!("a fixture needs {}", quote(key)),
            )
        };
        Ok(Fixture {
            tool: tool.ok_or_else(|| missing("tool"))?,
            args,
            expect: expect.ok_or_else(|| missing("expect"))?,
            rule,
        })
    }

    /// Reads fixtures from text: a JSON array of fixtures, or JSON lines
    /// (one fixture per non-blank line). Strict: a duplicate or unknown key
    /// is an error naming the fixture (`fixtures[3]`, or `line 4`).
    ///
    /// ```
    /// let f = agentguard::analysis::Fixture::parse_many(
    ///     r#"[{"tool": "drop_table", "expect": "deny"}]"#).unwrap();
    /// assert_eq!(f[0].tool, "drop_table");
    /// let lines = "{\"tool\": \"a\", \"expect\": \"allow\"}\n\n{\"tool\": \"b\", \"expect\": \"deny\"}\n";
    /// assert_eq!(agentguard::analysis::Fixture::parse_many(lines).unwrap().len(), 2);
    /// ```
    pub fn parse_many(text: &str) -> Result<Vec<Fixture>, Error> {
        if text.trim_start().starts_with('[') {
            let value = parse_strict_at(text, "fixtures", "fixtures")?;
            let Value::Array(items) = value else {
                unreachable!("text starting with '[' parses to an array")
            };
            return items
                .iter()
                .enumerate()
                .map(|(i, v)| Fixture::from_value(v, &format!("fixtures[{i}]")))
                .collect();
        }
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("line {}", n + 1);
            let value = parse_strict_at(line, "fixture", &at).map_err(|e| match e.field() {
                Some(_) => e,
                None => Error::new(e.kind(), e.message().to_string()).at(at.clone(), None),
            })?;
            out.push(Fixture::from_value(&value, &at)?);
        }
        Ok(out)
    }
}

/// What a policy decided, or what a fixture wanted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The decision.
    pub decision: Decision,
    /// The deciding rule (pattern or rule id); `null` for the default.
    pub rule: Option<String>,
    /// The reason (only for what the policy decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A fixture the policy does not satisfy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    /// The fixture's position (0-based) in the list.
    pub index: usize,
    /// The call's tool.
    pub tool: String,
    /// The call's arguments.
    pub args: Map<String, Value>,
    /// What the fixture expects (`rule` only when it names one).
    pub want: Outcome,
    /// What the policy decided.
    pub got: Outcome,
}

/// The outcome of [`test()`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestReport {
    /// How many fixtures ran.
    pub total: usize,
    /// How many the policy satisfies.
    pub passed: usize,
    /// The others, in fixture order.
    pub failures: Vec<Failure>,
    /// Patterns and rules that decided no fixture (for a shadow rule: that
    /// fired for none), in policy order.
    pub unexercised: Vec<Location>,
}

impl TestReport {
    /// Whether every fixture passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs fixtures against a policy (pure: no audit, no callbacks).
///
/// ```
/// use agentguard::analysis::{test, Fixture};
/// let p = agentguard::Policy::from_json(r#"{"allow": ["read_*"], "deny": ["drop_*"]}"#).unwrap();
/// let f = Fixture::parse_many(r#"[
///   {"tool": "drop_table", "expect": "deny", "rule": "drop_*"},
///   {"tool": "read_file", "expect": "deny"}
/// ]"#).unwrap();
/// let report = test(&p, &f);
/// assert_eq!((report.total, report.passed), (2, 1));
/// assert_eq!(report.failures[0].got.decision.as_str(), "allow");
/// assert!(report.unexercised.is_empty());
/// ```
pub fn test(policy: &Policy, fixtures: &[Fixture]) -> TestReport {
    let spec = policy.spec();
    let lists = [
        (List::Deny, spec.deny.len()),
        (List::RequireApproval, spec.require_approval.len()),
        (List::Allow, spec.allow.len()),
    ];
    let mut hit_list: Vec<Vec<bool>> = lists.iter().map(|&(_, n)| vec![false; n]).collect();
    let mut hit_rule = vec![false; spec.rules.len()];
    let mut failures = Vec::new();
    for (index, f) in fixtures.iter().enumerate() {
        let verdict = policy.evaluate_call(&f.tool, &f.args);
        let result = policy.result(&f.tool, verdict);
        match verdict.rule {
            Rule::Deny(i) => hit_list[0][i] = true,
            Rule::Approval(i) => hit_list[1][i] = true,
            Rule::Allow(i) => hit_list[2][i] = true,
            Rule::ByRule(i) => hit_rule[i] = true,
            _ => {}
        }
        for hit in policy.shadow_hits(verdict.shadow) {
            if let Some(i) = spec.rules.iter().position(|r| r.id() == &*hit.id) {
                hit_rule[i] = true;
            }
        }
        let got_rule = result.matched_rule.as_deref().map(str::to_string);
        let rule_ok = match &f.rule {
            None => true,
            Some(want) => *want == got_rule,
        };
        if result.decision != f.expect || !rule_ok {
            failures.push(Failure {
                index,
                tool: f.tool.clone(),
                args: f.args.clone(),
                want: Outcome {
                    decision: f.expect,
                    rule: f.rule.clone().flatten(),
                    reason: None,
                },
                got: Outcome {
                    decision: result.decision,
                    rule: got_rule,
                    reason: Some(result.reason.to_string()),
                },
            });
        }
    }
    let mut unexercised = Vec::new();
    for ((list, _), hits) in lists.iter().zip(&hit_list) {
        for (i, hit) in hits.iter().enumerate() {
            if !hit {
                unexercised.push(Location::list(list.as_str(), i));
            }
        }
    }
    for (i, hit) in hit_rule.iter().enumerate() {
        if !hit {
            unexercised.push(Location {
                field: "rules".into(),
                index: Some(i),
                rule: Some(spec.rules[i].id().to_string()),
            });
        }
    }
    TestReport {
        total: fixtures.len(),
        passed: fixtures.len() - failures.len(),
        failures,
        unexercised,
    }
}
