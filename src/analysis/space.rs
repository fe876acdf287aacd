//! The argument objects that matter to a set of rules, one per way the
//! rules can fire together.
//!
//! For each argument path the rules read, the values a condition can see
//! are split into classes that every condition on that path treats alike:
//! missing (and `null`), `true`, `false`, numbers by the intervals between
//! the policy's bounds (each bound, and a number strictly between two
//! neighbours, below the least and above the greatest), strings by the
//! combination of patterns they match (explored with the automaton of
//! [`super::automaton`]), an object, and arrays by which conditions they
//! satisfy (closed under adding elements of the classes above). Each class
//! is represented by one value, evaluated with the engine's own condition
//! code. Paths are then combined, nested paths through the objects that hold
//! them, keeping one argument object per set of rules that cannot fire: the
//! rules' decisions depend on nothing else.
//!
//! Where the classes are not exact (strings read as shell commands, or both
//! as text and as a path, are sampled), the result says so.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Number, Value};

use super::automaton::{Pattern, Product};
use crate::conditions::{num_cmp, CompiledRule, Condition, Polarity};
use crate::decision::Decision;
use crate::path;

/// A set of small indices (rules), hashable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn insert(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn union(&self, other: &Bits) -> Bits {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = long.clone();
        for (w, o) in out.0.iter_mut().zip(&short.0) {
            *w |= o;
        }
        out
    }
}

/// The states a walk may visit, and the classes a path may have, before the
/// analysis stops and says it is incomplete.
pub(crate) const LIMIT: usize = 50_000;

/// What [`explore`] found.
pub(crate) struct Space {
    /// Argument objects, one per set of rules (indices into the rules
    /// given) that do not fire; every set some argument object produces is
    /// here.
    pub(crate) calls: Vec<(Bits, Map<String, Value>)>,
    /// Whether that is proven (`false`: some class was sampled).
    pub(crate) exact: bool,
    /// Why it is not exact.
    pub(crate) notes: Vec<String>,
}

/// One condition of one of the rules given.
struct Cond<'a> {
    rule: usize,
    polarity: Polarity,
    cond: &'a Condition,
}

/// The scalar values (not arrays, not objects, not missing) that represent
/// every class the `conditions` (all on one path) tell apart.
pub(crate) fn scalars(
    conditions: &[&Condition],
    notes: &mut Vec<String>,
    exact: &mut bool,
) -> Vec<Value> {
    let mut globs: Vec<String> = Vec::new();
    let mut literals: Vec<String> = Vec::new();
    let mut path_globs: Vec<String> = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut numbers: Vec<Number> = Vec::new();
    let strs = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    for c in conditions {
        for (op, v) in c.raw() {
            match op.as_str() {
                "glob" | "not_glob" => globs.extend(strs(v)),
                "path_glob" => path_globs.extend(strs(v)),
                "path_under" => dirs.extend(
                    strs(v)
                        .iter()
                        .filter_map(|d| path::normalize(d).map(|n| n.into_owned())),
                ),
                "in" | "not_in" => {
                    for item in v.as_array().into_iter().flatten() {
                        match item {
                            Value::String(s) => literals.push(s.clone()),
                            Value::Number(n) => numbers.push(n.clone()),
                            _ => {}
                        }
                    }
                }
                "lt" | "lte" | "gt" | "gte" => {
                    if let Value::Number(n) = v {
                        numbers.push(n.clone());
                    }
                }
                "command" => match v {
                    Value::String(s) => commands.push(s.split(' ').map(str::to_string).collect()),
                    Value::Array(items) => {
                        for item in items {
                            match item {
                                Value::String(s) => {
                                    commands.push(s.split(' ').map(str::to_string).collect())
                                }
                                Value::Array(ws) => commands.push(strs(&Value::Array(ws.clone()))),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let path_name = conditions
        .first()
        .map(|c| c.path().join("."))
        .unwrap_or_default();
    let mut out: Vec<Value> = vec![Value::Bool(true), Value::Bool(false)];
    out.extend(
        number_values(&mut numbers, &path_name, notes, exact)
            .into_iter()
            .map(Value::Number),
    );
    let raw = !globs.is_empty() || !literals.is_empty();
    let as_path = !path_globs.is_empty() || !dirs.is_empty();
    let mut strings: Vec<String> = Vec::new();
    if raw || !as_path && commands.is_empty() {
        let pats: Vec<Pattern> = globs
            .iter()
            .map(|g| Pattern::Glob(g))
            .chain(literals.iter().map(|l| Pattern::Literal(l)))
            .collect();
        let found = Product::new(&pats, false).explore(LIMIT);
        if !found.complete {
            *exact = false;
            notes.push(format!(
                "the strings of argument `{path_name}` have more than {LIMIT} states; some were not compared"
            ));
        }
        strings.extend(found.combinations.into_iter().map(|(_, w)| w));
    }
    if as_path {
        let mut pats: Vec<Pattern> = path_globs.iter().map(|g| Pattern::Glob(g)).collect();
        for d in &dirs {
            pats.push(Pattern::Literal(d));
            pats.push(Pattern::Below(if d == "/" { "" } else { d }));
        }
        let found = Product::new(&pats, true).explore(LIMIT);
        if !found.complete {
            *exact = false;
            notes.push(format!(
                "the paths of argument `{path_name}` have more than {LIMIT} states; some were not compared"
            ));
        }
        // A relative path (or one with NUL) is unknown to every path
        // operator.
        strings.push("x".into());
        for (_, w) in found.combinations {
            if raw || !commands.is_empty() {
                // The text of a path that normalises to `w` is not `w`
                // itself: sample some.
                strings.push(format!("/x/..{w}"));
                strings.push(format!("{w}/."));
                strings.push(format!("/{w}"));
            }
            strings.push(w);
        }
        if raw || !commands.is_empty() {
            *exact = false;
            notes.push(format!(
                "argument `{path_name}` is read both as a path and as text: compared on samples"
            ));
        }
    }
    if !commands.is_empty() {
        *exact = false;
        notes.push(format!(
            "argument `{path_name}` is read as a shell command: compared on sample commands"
        ));
        strings.extend(command_samples(&commands));
    }
    strings.sort();
    strings.dedup();
    out.extend(strings.into_iter().map(Value::String));
    out
}

/// Sample commands for `command` conditions: each pattern instantiated,
/// pairs of them in one list, words that match no pattern, and strings
/// outside the accepted shell subset.
fn command_samples(commands: &[Vec<String>]) -> Vec<String> {
    let word = |glob: &str| -> Vec<String> {
        let found = Product::new(&[Pattern::Glob(glob)], false).explore(1_000);
        found
            .combinations
            .into_iter()
            .map(|(_, w)| shell_quote(&w))
            .collect()
    };
    let mut singles: Vec<String> = Vec::new();
    for words in commands {
        let mut lines = vec![String::new()];
        for (i, g) in words.iter().enumerate() {
            let last_star = i + 1 == words.len() && g == "*";
            let mut options = if last_star {
                vec![String::new(), "x".to_string(), "x y".to_string()]
            } else {
                word(g)
            };
            options.truncate(3);
            let mut next = Vec::new();
            for l in &lines {
                for o in &options {
                    let joined = match (l.is_empty(), o.is_empty()) {
                        (true, _) => o.clone(),
                        (false, true) => l.clone(),
                        (false, false) => format!("{l} {o}"),
                    };
                    next.push(joined);
                }
            }
            next.truncate(27);
            lines = next;
        }
        singles.extend(lines.into_iter().filter(|l| !l.is_empty()));
    }
    singles.sort();
    singles.dedup();
    let mut out = singles.clone();
    out.extend(["zz".to_string(), "$(zz)".to_string(), String::new()]);
    for a in singles.iter().take(12) {
        out.push(format!("{a}; zz"));
        out.push(format!("zz; {a}"));
        for b in singles.iter().take(12) {
            out.push(format!("{a} && {b}"));
        }
    }
    out
}

/// A word as the shell subset reads it back.
fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,:@%+".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\"'\"'"))
    }
}

fn int_of(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn number_of(i: i128) -> Option<Number> {
    if let Ok(x) = i64::try_from(i) {
        return Some(Number::from(x));
    }
    u64::try_from(i).ok().map(Number::from)
}

fn strictly_between(lo: Option<&Number>, x: &Number, hi: Option<&Number>) -> bool {
    lo.map_or(true, |l| num_cmp(l, x) == Ordering::Less)
        && hi.map_or(true, |h| num_cmp(x, h) == Ordering::Less)
}

/// A number strictly between `lo` and `hi` (either may be unbounded).
fn between(lo: Option<&Number>, hi: Option<&Number>) -> Option<Number> {
    let mut candidates: Vec<Number> = Vec::new();
    let li = lo.and_then(int_of);
    let hi_i = hi.and_then(int_of);
    match (lo, hi) {
        (None, None) => candidates.push(Number::from(0)),
        (Some(l), None) => {
            if let Some(i) = li {
                candidates.extend(number_of(i + 1));
            }
            let f = l.as_f64().unwrap_or(0.0);
            candidates.extend(
                [f + 1.0, f * 2.0, f.abs() * 2.0 + 1.0, f64::MAX]
                    .into_iter()
                    .filter_map(Number::from_f64),
            );
        }
        (None, Some(h)) => {
            if let Some(i) = hi_i {
                candidates.extend(number_of(i - 1));
            }
            let f = h.as_f64().unwrap_or(0.0);
            candidates.extend(
                [f - 1.0, f * 2.0, -(f.abs() * 2.0) - 1.0, f64::MIN]
                    .into_iter()
                    .filter_map(Number::from_f64),
            );
        }
        (Some(l), Some(h)) => {
            if let (Some(a), Some(b)) = (li, hi_i) {
                if b - a >= 2 {
                    candidates.extend(number_of(a + 1));
                }
            }
            let (a, b) = (l.as_f64().unwrap_or(0.0), h.as_f64().unwrap_or(0.0));
            // An integer between two large floats.
            if a.is_finite() && a.abs() < 9.0e18 {
                candidates.extend(number_of(a.floor() as i128 + 1));
            }
            candidates.extend(Number::from_f64(a / 2.0 + b / 2.0));
            candidates.extend(Number::from_f64(a + (b - a) / 2.0));
        }
    }
    candidates.into_iter().find(|x| strictly_between(lo, x, hi))
}

/// Each bound, a number strictly between each two neighbours, one below
/// the least and one above the greatest.
fn number_values(
    numbers: &mut Vec<Number>,
    path_name: &str,
    notes: &mut Vec<String>,
    exact: &mut bool,
) -> Vec<Number> {
    numbers.sort_by(num_cmp);
    numbers.dedup_by(|a, b| num_cmp(a, b) == Ordering::Equal);
    let mut out = Vec::new();
    let mut prev: Option<&Number> = None;
    for n in numbers.iter().map(Some).chain([None]) {
        match between(prev, n) {
            Some(x) => out.push(x),
            None => {
                // Neighbouring floats with no JSON number between them in
                // this engine's representation.
                if let (Some(a), Some(b)) = (prev, n) {
                    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                    let mid = x / 2.0 + y / 2.0;
                    // Neighbouring floats: their midpoint is one of them.
                    if mid != x && mid != y {
                        *exact = false;
                        notes.push(format!(
                            "no number between {a} and {b} was found for argument `{path_name}`"
                        ));
                    }
                }
            }
        }
        if let Some(n) = n {
            out.push(n.clone());
        }
        prev = n;
    }
    out
}

/// Per argument path, the options of its value: the rules (indices of the
/// `conds`' rules) it makes fail, and the value (`None`: missing).
type Options = Vec<(Bits, Option<Value>)>;

/// A node of the tree of argument paths.
#[derive(Default)]
struct Node<'a> {
    /// The conditions on exactly this path.
    conds: Vec<&'a Cond<'a>>,
    children: BTreeMap<String, Node<'a>>,
}

struct Ctx<'n> {
    notes: &'n mut Vec<String>,
    exact: &'n mut bool,
}

fn failing(conds: &[&Cond<'_>], value: Option<&Value>) -> Bits {
    let mut out = Bits::default();
    for c in conds {
        if !c.cond.holds(value, c.polarity) {
            out.insert(c.rule);
        }
    }
    out
}

/// Every object of `objects` with each option of `key` added (a missing
/// value leaves the key out), one per distinct set of failing rules; at
/// most [`LIMIT`], saying so in `ctx` when more were left out.
fn combine(
    objects: &[(Bits, Map<String, Value>)],
    key: &str,
    options: &Options,
    what: &str,
    ctx: &mut Ctx<'_>,
) -> Vec<(Bits, Map<String, Value>)> {
    let mut next = Vec::new();
    let mut seen: HashMap<Bits, ()> = HashMap::new();
    for (b, m) in objects {
        for (cb, cv) in options {
            let nb = b.union(cb);
            if seen.insert(nb.clone(), ()).is_some() {
                continue;
            }
            let mut nm = m.clone();
            if let Some(v) = cv {
                nm.insert(key.to_string(), v.clone());
            }
            next.push((nb, nm));
            if next.len() >= LIMIT {
                *ctx.exact = false;
                ctx.notes.push(format!(
                    "{what} combine in more than {LIMIT} ways; some were not compared"
                ));
                return next;
            }
        }
    }
    next
}

fn dedupe(options: Options) -> Options {
    let mut seen: HashMap<Bits, ()> = HashMap::new();
    options
        .into_iter()
        .filter(|(b, _)| seen.insert(b.clone(), ()).is_none())
        .collect()
}

impl Node<'_> {
    /// Every condition in this subtree.
    fn all_conds(&self) -> Vec<&Cond<'_>> {
        let mut out: Vec<&Cond<'_>> = self.conds.clone();
        for c in self.children.values() {
            out.extend(c.all_conds());
        }
        out
    }

    fn options(&self, name: &str, ctx: &mut Ctx<'_>) -> Options {
        let mut out: Options = Vec::new();
        // The value is missing, or is not an object: every path below it
        // is missing.
        let below_missing = {
            let mut b = Bits::default();
            for c in self.children.values() {
                b = b.union(&failing(&c.all_conds(), None));
            }
            b
        };
        let mut own_values: Vec<Option<Value>> = vec![None];
        if !self.conds.is_empty() {
            let conds: Vec<&Condition> = self.conds.iter().map(|c| c.cond).collect();
            let scalars = scalars(&conds, ctx.notes, ctx.exact);
            own_values.extend(scalars.iter().cloned().map(Some));
            own_values.extend(self.arrays(&scalars, name, ctx).into_iter().map(Some));
        }
        for v in own_values {
            let b = failing(&self.conds, v.as_ref()).union(&below_missing);
            out.push((b, v));
        }
        // An object: the paths below it are free.
        let object_fails = failing(&self.conds, Some(&Value::Object(Map::new())));
        let mut objects: Vec<(Bits, Map<String, Value>)> = vec![(object_fails, Map::new())];
        for (key, child) in &self.children {
            let child_options = child.options(&format!("{name}.{key}"), ctx);
            let what = format!("the arguments under `{name}`");
            objects = combine(&objects, key, &child_options, &what, ctx);
        }
        out.extend(
            objects
                .into_iter()
                .map(|(b, m)| (b, Some(Value::Object(m)))),
        );
        dedupe(out)
    }

    /// Arrays of the scalar classes (and `null`), one per combination of
    /// the conditions that hold for them: the empty array, then arrays
    /// grown by one element at a time while that gives a new combination.
    fn arrays(&self, scalars: &[Value], name: &str, ctx: &mut Ctx<'_>) -> Vec<Value> {
        let mut elements: Vec<Value> = vec![Value::Null];
        elements.extend(scalars.iter().cloned());
        let mut seen: HashMap<Bits, ()> = HashMap::new();
        let empty = Value::Array(Vec::new());
        seen.insert(failing(&self.conds, Some(&empty)), ());
        let mut found = vec![Vec::new()];
        let mut frontier = vec![Vec::new()];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for arr in &frontier {
                for e in &elements {
                    let mut grown: Vec<Value> = arr.clone();
                    grown.push(e.clone());
                    let v = Value::Array(grown.clone());
                    if seen.insert(failing(&self.conds, Some(&v)), ()).is_none() {
                        next.push(grown.clone());
                        found.push(grown);
                        if found.len() >= LIMIT {
                            *ctx.exact = false;
                            ctx.notes.push(format!(
                                "the arrays of argument `{name}` combine in more than {LIMIT} ways; some were not compared"
                            ));
                            return found.into_iter().map(Value::Array).collect();
                        }
                    }
                }
            }
            frontier = next;
        }
        found.into_iter().map(Value::Array).collect()
    }
}

/// Every way the `rules` (whose tool patterns are taken to match) can fire
/// together, with an argument object for each. Only their conditions are
/// read; rules without conditions always fire.
pub(crate) fn explore(rules: &[&CompiledRule]) -> Space {
    let conds: Vec<Cond<'_>> = rules
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.conditions().iter().map(move |c| Cond {
                rule: i,
                polarity: Polarity::of(r.decision),
                cond: c,
            })
        })
        .collect();
    let mut root = Node::default();
    for c in &conds {
        let mut node = &mut root;
        for seg in c.cond.path() {
            node = node.children.entry(seg.clone()).or_default();
        }
        node.conds.push(c);
    }
    let (mut notes, mut exact) = (Vec::new(), true);
    let mut ctx = Ctx {
        notes: &mut notes,
        exact: &mut exact,
    };
    let mut calls: Vec<(Bits, Map<String, Value>)> = vec![(Bits::default(), Map::new())];
    for (key, child) in &root.children {
        let options = child.options(key, &mut ctx);
        calls = combine(&calls, key, &options, "the arguments", &mut ctx);
    }
    notes.sort();
    notes.dedup();
    Space {
        calls,
        exact,
        notes,
    }
}

/// The polarity of a decision, for callers outside the conditions module.
pub(crate) fn polarity(d: Decision) -> Polarity {
    Polarity::of(d)
}
