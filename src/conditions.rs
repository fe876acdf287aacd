//! Argument conditions: the `rules` of a policy (CONDITIONS.md).
//!
//! A rule is parsed strictly once, when the policy is compiled; every error
//! names the rule index, the argument path and the operator
//! (`rules[3].when.amount.lte: expected a number, got string "100"`).
//! Deciding is pure: each condition gives true, false or unknown on the
//! value at its path, and the rule's polarity decides which way doubt
//! falls (restrictive `deny` / `require_approval` rules fire on true or
//! unknown, permissive `allow` rules only on true), with arrays read as
//! "each element a separate call, the most restrictive outcome stands".

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::decision::Decision;
use crate::error::{Error, ErrorKind};
use crate::json::{quote, strings, type_name};
use crate::path;
use crate::pattern::Matcher;
use crate::shell::{self, CommandPattern};

/// The keys a rule may have.
pub const RULE_KEYS: [&str; 6] = ["id", "tool", "decision", "when", "reason", "mode"];

/// The operators a condition may use.
pub const OPERATORS: [&str; 12] = [
    "glob",
    "not_glob",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "path_under",
    "path_glob",
    "command",
    "present",
];

/// Whether a rule is enforced or only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleMode {
    /// The rule decides (the default).
    Enforce,
    /// The rule never changes a decision; when it fires it is listed on the
    /// result's `shadow`.
    Shadow,
}

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tv {
    True,
    False,
    Unknown,
}

impl Tv {
    fn from_bool(b: bool) -> Tv {
        if b {
            Tv::True
        } else {
            Tv::False
        }
    }

    /// Three-valued AND: false if any is false, else unknown if any is
    /// unknown, else true.
    fn and(self, other: Tv) -> Tv {
        match (self, other) {
            (Tv::False, _) | (_, Tv::False) => Tv::False,
            (Tv::Unknown, _) | (_, Tv::Unknown) => Tv::Unknown,
            _ => Tv::True,
        }
    }
}

/// Which way doubt falls for a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Polarity {
    /// `deny`, `require_approval`: fire on true or unknown; an array holds
    /// when some element holds.
    Restrictive,
    /// `allow`: fire only on true; an array holds when every element is
    /// true.
    Permissive,
}

impl Polarity {
    pub(crate) fn of(decision: Decision) -> Polarity {
        match decision {
            Decision::Allow => Polarity::Permissive,
            Decision::Deny | Decision::RequireApproval => Polarity::Restrictive,
        }
    }

    fn holds(self, tv: Tv) -> bool {
        match self {
            Polarity::Restrictive => tv != Tv::False,
            Polarity::Permissive => tv == Tv::True,
        }
    }
}

/// A scalar of an `in` / `not_in` list.
#[derive(Clone, Debug)]
enum Scalar {
    Str(String),
    Num(Number),
    Bool(bool),
}

#[derive(Clone, Copy, Debug)]
enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Clone, Debug)]
enum Op {
    Glob(Vec<Matcher>),
    NotGlob(Vec<Matcher>),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Cmp(Cmp, Number),
    PathUnder(Vec<String>),
    PathGlob(Vec<Matcher>),
    Command(Vec<CommandPattern>),
    Present(bool),
}

/// One `when` entry: an argument path and the operators on its value.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    path: Vec<String>,
    ops: Vec<Op>,
    /// The condition object as written (`{"lte": 100}`), for the analysis.
    raw: Map<String, Value>,
}

/// A compiled rule of `rules`.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    pub(crate) id: Arc<str>,
    pub(crate) tools: Vec<String>,
    pub(crate) decision: Decision,
    pub(crate) reason: Option<Arc<str>>,
    pub(crate) mode: RuleMode,
    when: Vec<Condition>,
}

impl CompiledRule {
    /// Whether the rule fires for `args` (its tool already matched).
    pub(crate) fn fires(&self, args: &Map<String, Value>) -> bool {
        let polarity = Polarity::of(self.decision);
        self.when
            .iter()
            .all(|c| c.holds(lookup(args, &c.path), polarity))
    }

    /// Its conditions, in the order of `when`.
    pub(crate) fn conditions(&self) -> &[Condition] {
        &self.when
    }

    /// The argument paths its conditions read.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Vec<String>> {
        self.when.iter().map(|c| &c.path)
    }
}

/// The value at `path`, or `None` when it is missing (absent, or an
/// intermediate value is not an object).
fn lookup<'a>(args: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = get(args, first)?;
    for key in rest {
        v = get(v.as_object()?, key)?;
    }
    Some(v)
}

/// A key's value: a scan for the few keys a call usually has (cheaper than
/// hashing the key), the map's own lookup past that.
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

impl Condition {
    /// The argument path's segments.
    pub(crate) fn path(&self) -> &[String] {
        &self.path
    }

    /// The operators as written: operator -> policy value.
    pub(crate) fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The three-valued result on one value that is not an array (`None`:
    /// missing), before polarity: what the lint reports on.
    pub(crate) fn truth(&self, value: Option<&Value>, polarity: Polarity) -> Tv {
        if let [Op::Present(want)] = self.ops.as_slice() {
            let present = !matches!(value, None | Some(Value::Null));
            return Tv::from_bool(present == *want);
        }
        self.scalar(value, polarity)
    }

    /// Whether the condition holds for the value at its path (`None`:
    /// missing) for a rule of this polarity.
    pub(crate) fn holds(&self, value: Option<&Value>, polarity: Polarity) -> bool {
        if let [Op::Present(want)] = self.ops.as_slice() {
            let present = !matches!(value, None | Some(Value::Null));
            return present == *want;
        }
        match value {
            Some(Value::Array(items)) => match polarity {
                // Each element a separate call: a restriction applies if it
                // applies to any element; a permission only if it covers
                // every element (an empty array: nothing to forbid).
                Polarity::Restrictive => items
                    .iter()
                    .any(|item| polarity.holds(self.element(item, polarity))),
                Polarity::Permissive => items
                    .iter()
                    .all(|item| polarity.holds(self.element(item, polarity))),
            },
            other => polarity.holds(self.scalar(other, polarity)),
        }
    }

    /// An array's element: an array inside an array is unknown.
    fn element(&self, item: &Value, polarity: Polarity) -> Tv {
        match item {
            Value::Array(_) => Tv::Unknown,
            v => self.scalar(Some(v), polarity),
        }
    }

    /// The operators' three-valued AND on one (non-array) value.
    fn scalar(&self, value: Option<&Value>, polarity: Polarity) -> Tv {
        self.ops
            .iter()
            .fold(Tv::True, |acc, op| acc.and(op.eval(value, polarity)))
    }
}

impl Op {
    fn eval(&self, value: Option<&Value>, polarity: Polarity) -> Tv {
        let value = match value {
            None | Some(Value::Null) => return Tv::Unknown,
            Some(v) => v,
        };
        match self {
            Op::Glob(ms) => match value {
                Value::String(s) => Tv::from_bool(ms.iter().any(|m| m.is_match(s))),
                _ => Tv::Unknown,
            },
            Op::NotGlob(ms) => match value {
                Value::String(s) => Tv::from_bool(!ms.iter().any(|m| m.is_match(s))),
                _ => Tv::Unknown,
            },
            Op::In(list) | Op::NotIn(list) => {
                let found = match value {
                    Value::Object(_) | Value::Array(_) => return Tv::Unknown,
                    v => list.iter().any(|s| scalar_eq(s, v)),
                };
                Tv::from_bool(found == matches!(self, Op::In(_)))
            }
            Op::Cmp(cmp, bound) => match value {
                Value::Number(n) => {
                    let ord = num_cmp(n, bound);
                    Tv::from_bool(match cmp {
                        Cmp::Lt => ord == Ordering::Less,
                        Cmp::Lte => ord != Ordering::Greater,
                        Cmp::Gt => ord == Ordering::Greater,
                        Cmp::Gte => ord != Ordering::Less,
                    })
                }
                _ => Tv::Unknown,
            },
            Op::PathUnder(dirs) => match value.as_str().and_then(path::normalize) {
                Some(p) => Tv::from_bool(dirs.iter().any(|d| path::is_under(&p, d))),
                None => Tv::Unknown,
            },
            Op::PathGlob(ms) => match value.as_str().and_then(path::normalize) {
                Some(p) => Tv::from_bool(ms.iter().any(|m| m.is_match(&p))),
                None => Tv::Unknown,
            },
            Op::Command(patterns) => {
                let Some(text) = value.as_str() else {
                    return Tv::Unknown;
                };
                // The simple commands are the elements of the string.
                let (mut any, mut all) = (false, true);
                let parsed = shell::for_each_command(text, |words| {
                    let m = patterns.iter().any(|p| p.matches(words));
                    any |= m;
                    all &= m;
                });
                match parsed {
                    None => Tv::Unknown,
                    Some(()) => Tv::from_bool(match polarity {
                        Polarity::Restrictive => any,
                        Polarity::Permissive => all,
                    }),
                }
            }
            Op::Present(_) => Tv::True,
        }
    }
}

fn scalar_eq(s: &Scalar, v: &Value) -> bool {
    match (s, v) {
        (Scalar::Str(a), Value::String(b)) => a == b,
        (Scalar::Num(a), Value::Number(b)) => num_cmp(a, b) == Ordering::Equal,
        (Scalar::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

/// Compares two JSON numbers by exact mathematical value (`1 == 1.0`;
/// `2^53 + 1` is above `2^53` whatever the representation).
pub(crate) fn num_cmp(a: &Number, b: &Number) -> Ordering {
    match (int_of(a), int_of(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => int_float_cmp(x, b.as_f64().unwrap_or(0.0)),
        (None, Some(y)) => int_float_cmp(y, a.as_f64().unwrap_or(0.0)).reverse(),
        (None, None) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn int_of(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// `i` against the finite float `f`, exactly.
fn int_float_cmp(i: i128, f: f64) -> Ordering {
    // Outside ±2^127 the float wins on magnitude alone (i is an i64/u64).
    const LIMIT: f64 = 1.7014118346046923e38; // 2^127
    if f >= LIMIT {
        return Ordering::Less;
    }
    if f <= -LIMIT {
        return Ordering::Greater;
    }
    let t = f.trunc();
    // |t| < 2^127 and integral: the conversion is exact.
    match i.cmp(&(t as i128)) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// The structure of a rule, kept as written for the lossless round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// The rule as written in the policy file.
    raw: Map<String, Value>,
}

impl RuleSpec {
    /// The rule's JSON object, as written.
    pub fn to_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        self.raw.get("id").and_then(Value::as_str).unwrap_or("")
    }
}

impl serde::Serialize for RuleSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

fn err(kind: ErrorKind, field: String, message: String) -> Error {
    Error::new(kind, message).at(field, None)
}

fn string_or_strings(v: &Value, field: &str, what: &str) -> Result<Vec<String>, Error> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => Err(err(
            ErrorKind::InvalidValue,
            field.to_string(),
            format!("expected {what} or a non-empty array of them, got an empty array"),
        )),
        Value::Array(items) => strings(field, items, what),
        other => Err(err(
            ErrorKind::WrongType,
            field.to_string(),
            format!(
                "expected {what} or a non-empty array of them, got {}",
                type_name(other)
            ),
        )),
    }
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.chars().count() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

/// Parses and compiles `rules` (the value of the key), strictly.
pub(crate) fn parse_rules(value: &Value) -> Result<(Vec<RuleSpec>, Vec<CompiledRule>), Error> {
    let items = match value {
        Value::Array(items) => items,
        other => {
            return Err(err(
                ErrorKind::WrongType,
                "rules".into(),
                format!("expected an array of rules, got {}", type_name(other)),
            ))
        }
    };
    let mut specs = Vec::with_capacity(items.len());
    let mut compiled: Vec<CompiledRule> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let rule = parse_rule(item, i)?;
        if let Some(first) = compiled.iter().position(|r| r.id == rule.id) {
            return Err(err(
                ErrorKind::InvalidValue,
                format!("rules[{i}].id"),
                format!(
                    "duplicate rule id {} (rules[{first}] has it already): ids must be unique",
                    quote(&rule.id)
                ),
            ));
        }
        if let Value::Object(raw) = item {
            specs.push(RuleSpec { raw: raw.clone() });
        }
        compiled.push(rule);
    }
    Ok((specs, compiled))
}

fn parse_rule(item: &Value, i: usize) -> Result<CompiledRule, Error> {
    let at = |key: &str| format!("rules[{i}].{key}");
    let Value::Object(map) = item else {
        return Err(err(
            ErrorKind::NotAnObject,
            format!("rules[{i}]"),
            format!("a rule must be a JSON object, got {}", type_name(item)),
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
        return Err(err(
            ErrorKind::UnknownKey,
            at(unknown),
            format!(
                "unknown key {} in rules[{i}] (known keys: {})",
                quote(unknown),
                RULE_KEYS.join(", ")
            ),
        ));
    }
    let required = |key: &str| {
        map.get(key).ok_or_else(|| {
            err(
                ErrorKind::MissingField,
                at(key),
                format!("missing field \"{key}\""),
            )
        })
    };
    let id = match required("id")? {
        Value::String(s) if is_valid_id(s) => Arc::<str>::from(s.as_str()),
        Value::String(s) => {
            return Err(err(
                ErrorKind::InvalidValue,
                at("id"),
                format!(
                    "{} is not a valid rule id (1 to 64 characters: an ASCII letter or digit, then letters, digits, '_', '.', ':', '-')",
                    quote(s)
                ),
            ))
        }
        other => {
            return Err(err(
                ErrorKind::WrongType,
                at("id"),
                format!("expected a string, got {}", type_name(other)),
            ))
        }
    };
    let tools = string_or_strings(required("tool")?, &at("tool"), "a tool pattern")?;
    let raw = required("decision")?;
    let decision = match raw.as_str().and_then(Decision::from_name) {
        Some(d) => d,
        None => {
            return Err(err(
                ErrorKind::InvalidValue,
                at("decision"),
                format!(
                    "expected \"allow\", \"deny\" or \"require_approval\", got {}",
                    type_name(raw)
                ),
            ))
        }
    };
    let reason = match map.get("reason") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(Arc::<str>::from(s.as_str())),
        Some(other) => {
            return Err(err(
                ErrorKind::WrongType,
                at("reason"),
                format!("expected a non-empty string, got {}", type_name(other)),
            ))
        }
    };
    let mode = match map.get("mode") {
        None => RuleMode::Enforce,
        Some(Value::String(s)) if s == "enforce" => RuleMode::Enforce,
        Some(Value::String(s)) if s == "shadow" => RuleMode::Shadow,
        Some(other) => {
            return Err(err(
                ErrorKind::InvalidValue,
                at("mode"),
                format!(
                    "expected \"enforce\" or \"shadow\", got {}",
                    type_name(other)
                ),
            ))
        }
    };
    let when = match map.get("when") {
        None => Vec::new(),
        Some(Value::Object(conds)) => conds
            .iter()
            .map(|(path, cond)| parse_condition(path, cond, &at("when")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                ErrorKind::WrongType,
                at("when"),
                format!(
                    "expected an object of argument conditions, got {}",
                    type_name(other)
                ),
            ))
        }
    };
    Ok(CompiledRule {
        id,
        tools,
        decision,
        reason,
        mode,
        when,
    })
}

fn parse_condition(path: &str, cond: &Value, prefix: &str) -> Result<Condition, Error> {
    let at = format!("{prefix}.{path}");
    let segments: Vec<String> = path.split('.').map(str::to_string).collect();
    if segments.iter().any(String::is_empty) {
        return Err(err(
            ErrorKind::InvalidValue,
            at,
            format!(
                "{} is not an argument path: keys joined by '.', none of them empty",
                quote(path)
            ),
        ));
    }
    let Value::Object(ops) = cond else {
        return Err(err(
            ErrorKind::WrongType,
            at,
            format!(
                "expected a condition object such as {{\"glob\": \"*.txt\"}}, got {}",
                type_name(cond)
            ),
        ));
    };
    if ops.is_empty() {
        return Err(err(
            ErrorKind::InvalidValue,
            at,
            "a condition needs at least one operator".into(),
        ));
    }
    for alone in ["command", "present"] {
        if ops.contains_key(alone) && ops.len() > 1 {
            return Err(err(
                ErrorKind::InvalidValue,
                format!("{at}.{alone}"),
                format!("`{alone}` must be the only operator of its condition"),
            ));
        }
    }
    let parsed = ops
        .iter()
        .map(|(op, v)| parse_op(op, v, &at))
        .collect::<Result<_, _>>()?;
    Ok(Condition {
        path: segments,
        ops: parsed,
        raw: ops.clone(),
    })
}

fn parse_op(op: &str, v: &Value, cond_at: &str) -> Result<Op, Error> {
    let at = &format!("{cond_at}.{op}");
    let globs = |v: &Value| -> Result<Vec<Matcher>, Error> {
        Ok(string_or_strings(v, at, "a pattern")?
            .iter()
            .map(|p| Matcher::new(p))
            .collect())
    };
    let number = |v: &Value| match v {
        Value::Number(n) => Ok(n.clone()),
        other => Err(err(
            ErrorKind::WrongType,
            at.to_string(),
            format!("expected a number, got {}", type_name(other)),
        )),
    };
    Ok(match op {
        "glob" => Op::Glob(globs(v)?),
        "not_glob" => Op::NotGlob(globs(v)?),
        "path_glob" => Op::PathGlob(globs(v)?),
        "in" | "not_in" => {
            let Value::Array(items) = v else {
                return Err(err(
                    ErrorKind::WrongType,
                    at.to_string(),
                    format!(
                        "expected a non-empty array of strings, numbers or booleans, got {}",
                        type_name(v)
                    ),
                ));
            };
            if items.is_empty() {
                return Err(err(
                    ErrorKind::InvalidValue,
                    at.to_string(),
                    "expected a non-empty array of strings, numbers or booleans, got an empty array"
                        .into(),
                ));
            }
            let scalars = items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(Scalar::Str(s.clone())),
                    Value::Number(n) => Ok(Scalar::Num(n.clone())),
                    Value::Bool(b) => Ok(Scalar::Bool(*b)),
                    other => Err(Error::new(
                        ErrorKind::WrongType,
                        format!(
                            "expected a string, number or boolean, got {}",
                            type_name(other)
                        ),
                    )
                    .at(at, Some(i))),
                })
                .collect::<Result<_, _>>()?;
            if op == "in" {
                Op::In(scalars)
            } else {
                Op::NotIn(scalars)
            }
        }
        "lt" => Op::Cmp(Cmp::Lt, number(v)?),
        "lte" => Op::Cmp(Cmp::Lte, number(v)?),
        "gt" => Op::Cmp(Cmp::Gt, number(v)?),
        "gte" => Op::Cmp(Cmp::Gte, number(v)?),
        "path_under" => {
            let dirs = string_or_strings(v, at, "an absolute path")?;
            let mut out = Vec::with_capacity(dirs.len());
            for (i, d) in dirs.iter().enumerate() {
                match path::normalize(d) {
                    Some(n) => out.push(n.into_owned()),
                    None => {
                        let e = Error::new(
                            ErrorKind::InvalidValue,
                            format!(
                                "{} is not an absolute path (it must start with '/' and hold no NUL)",
                                quote(d)
                            ),
                        );
                        return Err(if v.is_array() {
                            e.at(at, Some(i))
                        } else {
                            e.at(at, None)
                        });
                    }
                }
            }
            Op::PathUnder(out)
        }
        "command" => {
            let patterns = match v {
                Value::String(s) => vec![command_pattern_text(s, at, None)?],
                Value::Array(items) if items.is_empty() => {
                    return Err(err(
                        ErrorKind::InvalidValue,
                        at.to_string(),
                        "expected a command pattern or a non-empty array of them, got an empty array".into(),
                    ))
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) => command_pattern_text(s, at, Some(i)),
                        Value::Array(words) => command_pattern_words(words, &format!("{at}[{i}]")),
                        other => Err(Error::new(
                            ErrorKind::WrongType,
                            format!(
                                "expected a command pattern (a string, or an array of word globs), got {}",
                                type_name(other)
                            ),
                        )
                        .at(at, Some(i))),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(err(
                        ErrorKind::WrongType,
                        at.to_string(),
                        format!(
                            "expected a command pattern or a non-empty array of them, got {}",
                            type_name(other)
                        ),
                    ))
                }
            };
            Op::Command(patterns)
        }
        "present" => match v {
            Value::Bool(b) => Op::Present(*b),
            other => {
                return Err(err(
                    ErrorKind::WrongType,
                    at.to_string(),
                    format!("expected true or false, got {}", type_name(other)),
                ))
            }
        },
        unknown => {
            return Err(err(
                ErrorKind::UnknownKey,
                at.to_string(),
                format!(
                    "unknown operator {} in {cond_at} (known: {})",
                    quote(unknown),
                    OPERATORS.join(", ")
                ),
            ))
        }
    })
}

fn command_pattern_text(s: &str, at: &str, index: Option<usize>) -> Result<CommandPattern, Error> {
    let words: Vec<String> = s.split(' ').map(str::to_string).collect();
    if s.is_empty() || words.iter().any(String::is_empty) {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!(
                "{} is not a command pattern: word globs separated by single spaces, none empty",
                quote(s)
            ),
        )
        .at(at, index));
    }
    Ok(CommandPattern::new(&words))
}

/// A command pattern written as an array of word globs, at `at`
/// (`rules[0].when.c.command[1]`).
fn command_pattern_words(words: &[Value], at: &str) -> Result<CommandPattern, Error> {
    let mut out = Vec::with_capacity(words.len());
    for (j, w) in words.iter().enumerate() {
        match w {
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "a command pattern's word globs must be non-empty strings, got {}",
                        type_name(other)
                    ),
                )
                .at(at, Some(j)))
            }
        }
    }
    if out.is_empty() {
        return Err(err(
            ErrorKind::InvalidValue,
            at.to_string(),
            "a command pattern must have at least one word glob".into(),
        ));
    }
    Ok(CommandPattern::new(&out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> CompiledRule {
        parse_rules(&json!([v])).unwrap().1.remove(0)
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_compare_exactly() {
        let n = |v: Value| v.as_number().unwrap().clone();
        assert_eq!(num_cmp(&n(json!(1)), &n(json!(1.0))), Ordering::Equal);
        assert_eq!(
            num_cmp(
                &n(json!(9007199254740993u64)),
                &n(json!(9007199254740992.0))
            ),
            Ordering::Greater
        );
        assert_eq!(num_cmp(&n(json!(-1)), &n(json!(-0.5))), Ordering::Less);
        assert_eq!(num_cmp(&n(json!(100.5)), &n(json!(100))), Ordering::Greater);
        assert_eq!(
            num_cmp(&n(json!(u64::MAX)), &n(json!(1e300))),
            Ordering::Less
        );
        assert_eq!(
            num_cmp(&n(json!(i64::MIN)), &n(json!(-1e300))),
            Ordering::Greater
        );
    }

    #[test]
    fn polarity_decides_doubt() {
        let deny = rule(json!({"id": "d", "tool": "send_email", "decision": "deny",
            "when": {"to": {"glob": "*@evil.com"}}}));
        let allow = rule(json!({"id": "a", "tool": "send_email", "decision": "allow",
            "when": {"to": {"glob": "*@ok.com"}}}));
        for (a, d, al) in [
            (json!({"to": "x@evil.com"}), true, false),
            (json!({"to": "x@ok.com"}), false, true),
            (json!({}), true, false),
            (json!({"to": null}), true, false),
            (json!({"to": 5}), true, false),
            (json!({"to": ["a@ok.com", "b@evil.com"]}), true, false),
            (json!({"to": ["a@ok.com", "b@ok.com"]}), false, true),
            (json!({"to": []}), false, true),
            (json!({"to": [["a@ok.com"]]}), true, false),
        ] {
            assert_eq!(deny.fires(&args(a.clone())), d, "deny {a}");
            assert_eq!(allow.fires(&args(a.clone())), al, "allow {a}");
        }
    }

    #[test]
    fn the_contract_examples() {
        let shell = rule(json!({"id": "s", "tool": "run_shell", "decision": "allow",
            "when": {"command": {"command": ["git status", "git diff *"]}}}));
        assert!(shell.fires(&args(json!({"command": "git status && git diff HEAD"}))));
        assert!(!shell.fires(&args(json!({"command": "git status; rm -rf /"}))));
        assert!(!shell.fires(&args(json!({"command": "git log $(rm -rf /)"}))));
        let rm = rule(json!({"id": "r", "tool": "run_shell", "decision": "deny",
            "when": {"command": {"command": "rm *"}}}));
        assert!(rm.fires(&args(json!({"command": "ls; rm -rf /"}))));
        assert!(rm.fires(&args(json!({"command": "git log $(rm -rf /)"}))));
        assert!(!rm.fires(&args(json!({"command": "ls -la"}))));
        let ws = rule(json!({"id": "w", "tool": "write_file", "decision": "allow",
            "when": {"path": {"path_under": "/workspace"}}}));
        assert!(ws.fires(&args(json!({"path": "/workspace/a"}))));
        assert!(ws.fires(&args(json!({"path": "/workspace"}))));
        assert!(!ws.fires(&args(json!({"path": "/workspace2"}))));
        assert!(!ws.fires(&args(json!({"path": "/workspace/../etc/passwd"}))));
        assert!(!ws.fires(&args(json!({"path": "workspace/a"}))));
        let refund = rule(json!({"id": "small", "tool": "refund", "decision": "allow",
            "when": {"amount": {"lte": 100}, "currency": {"in": ["EUR", "USD"]}}}));
        assert!(refund.fires(&args(json!({"amount": 100, "currency": "EUR"}))));
        assert!(refund.fires(&args(json!({"amount": 99.5, "currency": "USD"}))));
        assert!(!refund.fires(&args(json!({"amount": 100.01, "currency": "EUR"}))));
        assert!(!refund.fires(&args(json!({"amount": "50", "currency": "EUR"}))));
        assert!(!refund.fires(&args(json!({"amount": 50, "currency": "GBP"}))));
        assert!(!refund.fires(&args(json!({"amount": 50}))));
        let nested = rule(json!({"id": "n", "tool": "x", "decision": "allow",
            "when": {"recipient.email": {"glob": "*@ok.com"}}}));
        assert!(nested.fires(&args(json!({"recipient": {"email": "a@ok.com"}}))));
        assert!(!nested.fires(&args(json!({"recipient": "a@ok.com"}))));
        let present = rule(json!({"id": "p", "tool": "x", "decision": "deny",
            "when": {"force": {"present": true}}}));
        assert!(present.fires(&args(json!({"force": false}))));
        assert!(!present.fires(&args(json!({"force": null}))));
        assert!(!present.fires(&args(json!({}))));
        let bools = rule(json!({"id": "b", "tool": "x", "decision": "allow",
            "when": {"n": {"in": [1]}}}));
        assert!(bools.fires(&args(json!({"n": 1.0}))));
        assert!(!bools.fires(&args(json!({"n": true}))));
    }

    #[test]
    fn errors_name_rule_path_and_operator() {
        for (r, want) in [
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"amount": {"lte": "100"}}}),
             "rules[0].when.amount.lte: expected a number, got string \"100\""),
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"x": {"regex": "."}}}),
             "unknown operator \"regex\" in rules[0].when.x (known: glob, not_glob, in, not_in, lt, lte, gt, gte, path_under, path_glob, command, present)"),
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"p": {"path_under": "rel"}}}),
             "rules[0].when.p.path_under: \"rel\" is not an absolute path (it must start with '/' and hold no NUL)"),
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"c": {"command": "git  diff"}}}),
             "rules[0].when.c.command: \"git  diff\" is not a command pattern: word globs separated by single spaces, none empty"),
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"c": {"command": "ls", "glob": "x"}}}),
             "rules[0].when.c.command: `command` must be the only operator of its condition"),
            (json!({"id": "a", "tool": "t", "decision": "allow", "when": {"x": {"in": []}}}),
             "rules[0].when.x.in: expected a non-empty array of strings, numbers or booleans, got an empty array"),
            (json!({"id": "a", "tool": [], "decision": "allow"}),
             "rules[0].tool: expected a tool pattern or a non-empty array of them, got an empty array"),
            (json!({"id": "-a", "tool": "t", "decision": "allow"}),
             "rules[0].id: \"-a\" is not a valid rule id (1 to 64 characters: an ASCII letter or digit, then letters, digits, '_', '.', ':', '-')"),
            (json!({"id": "a", "tool": "t", "decision": "allow", "why": "x"}),
             "unknown key \"why\" in rules[0] (known keys: id, tool, decision, when, reason, mode)"),
            (json!({"id": "a", "tool": "t"}), "rules[0].decision: missing field \"decision\""),
        ] {
            let e = parse_rules(&json!([r])).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let e = parse_rules(&json!([
            {"id": "a", "tool": "t", "decision": "allow"},
            {"id": "a", "tool": "u", "decision": "deny"}
        ]))
        .unwrap_err();
        assert_eq!(e.field(), Some("rules[1].id"));
    }
}
