//! Lint: what in a policy cannot mean what its author meant.
//!
//! Dead patterns and rules are found exactly: every combination of matching
//! patterns some name has, and every way the rules that apply to it can
//! fire, is represented by one call (see [`super::diff`]); each is decided
//! by the engine, and a pattern or rule that decides none of them decides
//! no call at all. The fnmatch traps are read off the pattern text.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::automaton::{Pattern, Product, NAME_LIMIT};
use super::diff::{Names, Spaces};
use super::space::{self, LIMIT};
use super::{Call, Finding, Location, Severity};
use crate::conditions::{CompiledRule, Condition, RuleMode, Tv};
use crate::decision::{Decision, Rule};
use crate::policy::{DefaultDecision, Policy};

const LISTS: [&str; 3] = ["deny", "require_approval", "allow"];

/// A pattern or rule, by where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Who {
    /// `(list, index)`, lists in precedence order.
    List(usize, usize),
    Rule(usize),
    Default,
}

fn who(rule: Rule) -> Who {
    match rule {
        Rule::Deny(i) => Who::List(0, i),
        Rule::Approval(i) | Rule::Approved(i) | Rule::ApprovalDenied(i) => Who::List(1, i),
        Rule::Allow(i) => Who::List(2, i),
        Rule::ByRule(i) | Rule::RuleApproved(i) | Rule::RuleApprovalDenied(i) => Who::Rule(i),
        Rule::NotInAllowList | Rule::NoMatchingRule => Who::Default,
    }
}

struct Ctx<'p> {
    policy: &'p Policy,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn location(&self, w: Who) -> Location {
        match w {
            Who::List(l, i) => Location::list(LISTS[l], i),
            Who::Rule(i) => self.rule_location(i, "", None),
            Who::Default => Location {
                field: "default".into(),
                index: None,
                rule: None,
            },
        }
    }

    fn rule_location(&self, i: usize, sub: &str, index: Option<usize>) -> Location {
        Location {
            field: format!("rules[{i}]{sub}"),
            index,
            rule: Some(self.policy.spec().rules[i].id().to_string()),
        }
    }

    fn describe(&self, w: Who) -> String {
        let spec = self.policy.spec();
        match w {
            Who::List(l, i) => {
                let list = [&spec.deny, &spec.require_approval, &spec.allow][l];
                format!("{}[{i}] {:?}", LISTS[l], list[i])
            }
            Who::Rule(i) => format!("rule {:?}", spec.rules[i].id()),
            Who::Default => format!("the default ({})", spec.default.as_str()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        location: Location,
        message: String,
        hint: &str,
        related: Vec<Location>,
        witness: Option<Call>,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            location,
            message,
            hint: hint.to_string(),
            related,
            witness,
        });
    }
}

/// What happened to each pattern and rule over every representative call.
#[derive(Default)]
struct Seen {
    /// Decided some call.
    decided: BTreeSet<Who>,
    /// Matched some name (a list pattern) or fired for some call (a rule).
    applied: BTreeSet<Who>,
    /// When it applied but did not decide: who decided instead.
    covered_by: HashMap<Who, BTreeSet<Who>>,
}

/// The findings of a policy: dead patterns and rules (`shadowed`,
/// `matches-nothing`, `duplicate`), the fnmatch traps (`brace-is-literal`,
/// `backslash-is-literal`, `caret-is-not-negation`, `whitespace`,
/// `case-bypass`), conditions that can never hold
/// (`condition-never-true`, `condition-always-unknown`,
/// `path-glob-unmatchable`), and `shadow-rule` (info). Where a claim could
/// not be decided exactly, an `undecided` finding says so instead.
///
/// ```
/// let p = agentguard::Policy::from_json(
///     r#"{"deny": ["drop_*", "drop_table"], "allow": ["{read,list}_*"]}"#).unwrap();
/// let codes: Vec<_> = agentguard::analysis::lint(&p).iter().map(|f| f.code).collect();
/// assert_eq!(codes, ["shadowed", "brace-is-literal"]);
/// ```
pub fn lint(policy: &Policy) -> Vec<Finding> {
    let mut ctx = Ctx {
        policy,
        findings: Vec::new(),
    };
    let spec = policy.spec();
    let rules = policy.compiled_rules();
    let names = Names::of(policy, true);
    let product_patterns: Vec<Pattern> = names.patterns.iter().map(|p| Pattern::Glob(p)).collect();
    let explored = Product::new(&product_patterns, false).explore(NAME_LIMIT);
    let mut exact = explored.complete;
    let mut notes: Vec<String> = Vec::new();
    if !explored.complete {
        notes.push(format!(
            "the tool names have more than {NAME_LIMIT} states; some names were not checked"
        ));
    }
    let lens = [
        spec.deny.len(),
        spec.require_approval.len(),
        spec.allow.len(),
    ];
    let list_of = |flat: usize| -> Who {
        if flat < lens[0] {
            Who::List(0, flat)
        } else if flat < lens[0] + lens[1] {
            Who::List(1, flat - lens[0])
        } else {
            Who::List(2, flat - lens[0] - lens[1])
        }
    };
    let n_list = lens.iter().sum::<usize>();
    let mut seen = Seen::default();
    let mut spaces = Spaces::default();
    let empty = Map::new();
    let mut matched_tools: BTreeSet<usize> = BTreeSet::new();
    for (matching, tool) in &explored.combinations {
        for &m in matching {
            matched_tools.insert(m as usize);
        }
        let applying = names.rules_in(matching, 0);
        let calls: Vec<&Map<String, Value>> = if applying.is_empty() {
            vec![&empty]
        } else {
            let rs: Vec<&CompiledRule> = applying.iter().map(|&i| &rules[i]).collect();
            let key = applying.iter().map(|&i| (0, i)).collect();
            let s = spaces.get(key, &rs);
            if !s.exact {
                exact = false;
                notes.extend(s.notes.iter().cloned());
            }
            s.calls.iter().map(|(_, m)| m).collect()
        };
        for args in calls {
            let verdict = policy.evaluate_call(tool, args);
            let decider = who(verdict.rule);
            seen.decided.insert(decider);
            let mut applied: Vec<Who> = matching
                .iter()
                .filter(|&&m| (m as usize) < n_list)
                .map(|&m| list_of(m as usize))
                .collect();
            applied.extend(
                applying
                    .iter()
                    .filter(|&&i| rules[i].fires(args))
                    .map(|&i| Who::Rule(i)),
            );
            for w in applied {
                seen.applied.insert(w);
                let fired_shadow = matches!(w, Who::Rule(i) if rules[i].mode == RuleMode::Shadow);
                if w != decider && !fired_shadow {
                    seen.covered_by.entry(w).or_default().insert(decider);
                }
            }
        }
    }
    notes.sort();
    notes.dedup();
    dead_patterns(&mut ctx, &seen, &matched_tools, &names, exact, &notes);
    dead_rules(&mut ctx, &seen, &matched_tools, &names, exact, &notes);
    traps(&mut ctx);
    conditions(&mut ctx);
    ctx.findings
}

/// The first earlier occurrence of the same text in the lists (in
/// precedence order), if any.
fn first_copy(policy: &Policy, l: usize, i: usize) -> Option<Who> {
    let spec = policy.spec();
    let lists = [&spec.deny, &spec.require_approval, &spec.allow];
    let text = &lists[l][i];
    for (ll, list) in lists.iter().enumerate().take(l + 1) {
        let end = if ll == l { i } else { list.len() };
        if let Some(j) = list[..end].iter().position(|p| p == text) {
            return Some(Who::List(ll, j));
        }
    }
    None
}

fn dead_patterns(
    ctx: &mut Ctx<'_>,
    seen: &Seen,
    matched: &BTreeSet<usize>,
    names: &Names<'_>,
    exact: bool,
    notes: &[String],
) {
    let spec = ctx.policy.spec();
    let lists = [&spec.deny, &spec.require_approval, &spec.allow];
    let mut flat = 0;
    for (l, list) in lists.iter().enumerate() {
        for (i, p) in list.iter().enumerate() {
            let me = Who::List(l, i);
            let here = Location::list(LISTS[l], i);
            let matches_nothing = !matched.contains(&flat);
            flat += 1;
            if seen.decided.contains(&me) {
                continue;
            }
            if let Some(first) = first_copy(ctx.policy, l, i) {
                let message = format!(
                    "{}[{i}] {p:?} repeats {}: it can never decide",
                    LISTS[l],
                    ctx.describe(first)
                );
                let related = vec![ctx.location(first)];
                ctx.push(
                    "duplicate",
                    Severity::Warning,
                    here,
                    message,
                    "remove the copy (the first one decides)",
                    related,
                    None,
                );
                continue;
            }
            if matches_nothing && exact {
                ctx.push(
                    "matches-nothing",
                    Severity::Error,
                    here,
                    format!("{}[{i}] {p:?} matches no tool name", LISTS[l]),
                    "a set such as [z-a] is empty and never matches; fix the range or remove the pattern",
                    Vec::new(),
                    None,
                );
                continue;
            }
            if !exact {
                undecided(ctx, here, &format!("{}[{i}] {p:?}", LISTS[l]), notes);
                continue;
            }
            let covers: Vec<Who> = seen
                .covered_by
                .get(&me)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            let message = format!(
                "{}[{i}] {p:?} can never decide: every name it matches is decided first by {}",
                LISTS[l],
                covers
                    .iter()
                    .map(|&w| ctx.describe(w))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let related = covers.iter().map(|&w| ctx.location(w)).collect();
            ctx.push(
                "shadowed",
                Severity::Warning,
                here,
                message,
                "remove it, or move it before the patterns that cover it (deny comes before require_approval, which comes before allow)",
                related,
                None,
            );
        }
    }
    let _ = names;
}

fn dead_rules(
    ctx: &mut Ctx<'_>,
    seen: &Seen,
    matched: &BTreeSet<usize>,
    names: &Names<'_>,
    exact: bool,
    notes: &[String],
) {
    let rules = ctx.policy.compiled_rules();
    for (i, r) in rules.iter().enumerate() {
        let me = Who::Rule(i);
        let shadow = r.mode == RuleMode::Shadow;
        if shadow {
            ctx.push(
                "shadow-rule",
                Severity::Info,
                ctx.rule_location(i, "", None),
                format!(
                    "rule {:?} is in shadow mode: it is reported when it fires, never enforced",
                    &*r.id
                ),
                "set \"mode\": \"enforce\" (or remove \"mode\") when it has proven itself",
                Vec::new(),
                None,
            );
        }
        let tool_positions: Vec<usize> = names
            .owner
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == Some(i))
            .map(|(k, _)| k)
            .collect();
        let any_tool = tool_positions.iter().any(|k| matched.contains(k));
        let done = if shadow {
            seen.applied.contains(&me)
        } else {
            seen.decided.contains(&me)
        };
        if done {
            continue;
        }
        if !exact {
            undecided(
                ctx,
                ctx.rule_location(i, "", None),
                &format!("rule {:?}", &*r.id),
                notes,
            );
            continue;
        }
        if !any_tool {
            ctx.push(
                "matches-nothing",
                Severity::Error,
                ctx.rule_location(i, ".tool", None),
                format!("the tool patterns of rule {:?} match no tool name", &*r.id),
                "a set such as [z-a] is empty and never matches; fix the pattern",
                Vec::new(),
                None,
            );
            continue;
        }
        if !seen.applied.contains(&me) {
            ctx.push(
                "condition-never-true",
                Severity::Warning,
                ctx.rule_location(i, ".when", None),
                format!(
                    "the conditions of rule {:?} can never hold together: it never fires",
                    &*r.id
                ),
                "check the bounds and patterns of its conditions",
                Vec::new(),
                None,
            );
            continue;
        }
        let covers: Vec<Who> = seen
            .covered_by
            .get(&me)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let message = format!(
            "rule {:?} can never decide: whenever it fires, {} decides first",
            &*r.id,
            covers
                .iter()
                .map(|&w| ctx.describe(w))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let related = covers.iter().map(|&w| ctx.location(w)).collect();
        ctx.push(
            "shadowed",
            Severity::Warning,
            ctx.rule_location(i, "", None),
            message,
            "remove it, or narrow the patterns and rules that decide first (deny before require_approval before allow; lists before rules of the same decision)",
            related,
            None,
        );
    }
}

fn undecided(ctx: &mut Ctx<'_>, at: Location, what: &str, notes: &[String]) {
    ctx.push(
        "undecided",
        Severity::Info,
        at,
        format!(
            "{what} decided no call the analysis tried, but the analysis was not exact ({}): it may be dead",
            notes.join("; ")
        ),
        "add a fixture that exercises it (agentguard test)",
        Vec::new(),
        None,
    );
}

/// Every pattern of the policy with where it is: the lists, rule tools,
/// and the glob operators of conditions.
fn all_patterns(policy: &Policy) -> Vec<(Location, String)> {
    let spec = policy.spec();
    let mut out = Vec::new();
    for (l, list) in [&spec.deny, &spec.require_approval, &spec.allow]
        .iter()
        .enumerate()
    {
        for (i, p) in list.iter().enumerate() {
            out.push((Location::list(LISTS[l], i), p.clone()));
        }
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let raw = rule.to_value();
        let id = Some(rule.id().to_string());
        let mut push_strings = |field: String, v: &Value| match v {
            Value::String(s) => out.push((
                Location {
                    field: field.clone(),
                    index: None,
                    rule: id.clone(),
                },
                s.clone(),
            )),
            Value::Array(items) => {
                for (j, item) in items.iter().enumerate() {
                    if let Value::String(s) = item {
                        out.push((
                            Location {
                                field: field.clone(),
                                index: Some(j),
                                rule: id.clone(),
                            },
                            s.clone(),
                        ));
                    }
                }
            }
            _ => {}
        };
        push_strings(format!("rules[{i}].tool"), &raw["tool"]);
        if let Value::Object(when) = &raw["when"] {
            for (path, cond) in when {
                if let Value::Object(ops) = cond {
                    for (op, v) in ops {
                        if matches!(op.as_str(), "glob" | "not_glob" | "path_glob") {
                            push_strings(format!("rules[{i}].when.{path}.{op}"), v);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Whether a `[` at `i` opens a set whose first character is `^`.
fn caret_set(chars: &[char]) -> bool {
    chars.windows(2).enumerate().any(|(i, w)| {
        w == ['[', '^'] && {
            // The set closes at the first `]` after the `^` (a `]` right
            // after `[^` would be inside it).
            chars[i + 2..].iter().skip(1).any(|&c| c == ']')
                || chars.get(i + 2).is_some_and(|&c| c != ']') && chars[i + 2..].contains(&']')
        }
    })
}

fn traps(ctx: &mut Ctx<'_>) {
    let policy = ctx.policy;
    for (at, p) in all_patterns(policy) {
        let chars: Vec<char> = p.chars().collect();
        if p.contains('{') && (p.contains('}') || p.contains(',')) {
            ctx.push(
                "brace-is-literal",
                Severity::Warning,
                at.clone(),
                format!("{p:?}: braces are literal characters in fnmatch, not alternatives"),
                "write one pattern per alternative ([\"read_*\", \"list_*\"] instead of \"{read,list}_*\")",
                Vec::new(),
                None,
            );
        }
        if p.contains('\\') {
            ctx.push(
                "backslash-is-literal",
                Severity::Warning,
                at.clone(),
                format!("{p:?}: a backslash is a literal character in fnmatch, not an escape"),
                "to match a literal * ? or [, put it in a set: [*] [?] [[]",
                Vec::new(),
                None,
            );
        }
        if caret_set(&chars) {
            ctx.push(
                "caret-is-not-negation",
                Severity::Warning,
                at.clone(),
                format!("{p:?}: [^...] is a set that includes '^', not a negation"),
                "negate a set with [!...]",
                Vec::new(),
                None,
            );
        }
        let trimmed = p.trim();
        if trimmed.len() != p.len() && !p.is_empty() {
            ctx.push(
                "whitespace",
                Severity::Warning,
                at.clone(),
                format!("{p:?} starts or ends with whitespace, which names must then have too"),
                "remove the surrounding whitespace",
                Vec::new(),
                None,
            );
        }
    }
    case_bypass(ctx);
}

/// A name with the case of every letter swapped (`drop_table` ->
/// `DROP_TABLE`), where each swap is one character.
fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            let mut low = c.to_lowercase();
            match (up.next(), up.next(), low.next(), low.next()) {
                (Some(u), None, _, _) if u != c => u,
                (_, _, Some(l), None) if l != c => l,
                _ => c,
            }
        })
        .collect()
}

/// `pattern` with every letter outside a set written as a set of its
/// spellings (`drop_*` -> `[dD][rR][oO][pP]_*`); sets are kept as they are
/// (fnmatch's reading of `[`: a `]` right after `[` or `[!` is literal, and
/// a `[` with no closing `]` is a literal `[`).
fn case_insensitive(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'!') {
                j += 1;
            }
            if chars.get(j) == Some(&']') {
                j += 1;
            }
            while j < chars.len() && chars[j] != ']' {
                j += 1;
            }
            if j < chars.len() {
                out.extend(&chars[i..=j]);
                i = j + 1;
                continue;
            }
        }
        let swapped = swap_case(&c.to_string());
        if swapped != c.to_string() && swapped.chars().count() == 1 {
            out.push('[');
            out.push(c);
            out.push_str(&swapped);
            out.push(']');
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn case_bypass(ctx: &mut Ctx<'_>) {
    let policy = ctx.policy;
    let spec = policy.spec();
    if spec.default != DefaultDecision::Allow {
        return;
    }
    for (l, list) in [&spec.deny, &spec.require_approval].iter().enumerate() {
        for (i, p) in list.iter().enumerate() {
            if !p.chars().any(|c| c.is_lowercase() || c.is_uppercase()) {
                continue;
            }
            // A pattern that never decides (shadowed, a duplicate) has its
            // own finding; what it would deny is decided by another.
            let at = Location::list(LISTS[l], i);
            if ctx.findings.iter().any(|f| {
                f.location == at && matches!(f.code, "shadowed" | "duplicate" | "matches-nothing")
            }) {
                continue;
            }
            let found = Product::new(&[Pattern::Glob(p)], false).explore(1_000);
            let Some((_, w)) = found.combinations.iter().find(|(m, _)| m == &[0]) else {
                continue;
            };
            let variant = swap_case(w);
            if variant == *w {
                continue;
            }
            let r = policy.check(&variant);
            if r.decision == Decision::Allow {
                let what = if l == 0 {
                    "denies"
                } else {
                    "requires approval for"
                };
                ctx.push(
                    "case-bypass",
                    Severity::Warning,
                    Location::list(LISTS[l], i),
                    format!(
                        "{}[{i}] {p:?} {what} {w:?} but not {variant:?}, which default: allow lets through ({}): matching is case-sensitive",
                        LISTS[l], r.reason
                    ),
                    &format!(
                        "match every spelling ({:?}), or use default: deny with an allow list",
                        case_insensitive(p)
                    ),
                    Vec::new(),
                    Some(Call {
                        tool: variant,
                        args: Map::new(),
                    }),
                );
            }
        }
    }
}

/// Conditions that can never be true, or are unknown for every value, and
/// path globs no normalised path matches.
fn conditions(ctx: &mut Ctx<'_>) {
    let policy = ctx.policy;
    for (i, r) in policy.compiled_rules().iter().enumerate() {
        let polarity = space::polarity(r.decision);
        for c in r.conditions() {
            let path = c.path().join(".");
            let at = ctx.rule_location(i, &format!(".when.{path}"), None);
            path_globs(ctx, i, &path, c);
            let (mut notes, mut exact) = (Vec::new(), true);
            let values = space::scalars(&[c], &mut notes, &mut exact);
            if !exact {
                continue;
            }
            let truths: Vec<Tv> = values.iter().map(|v| c.truth(Some(v), polarity)).collect();
            let has_true = truths.contains(&Tv::True);
            let has_false = truths.contains(&Tv::False);
            if !has_true && !has_false {
                ctx.push(
                    "condition-always-unknown",
                    Severity::Warning,
                    at,
                    format!(
                        "the condition on {path:?} of rule {:?} is unknown for every value: its operators read different types",
                        &*r.id
                    ),
                    "split it: one condition reads one type (glob and path operators strings, lt/gt numbers)",
                    Vec::new(),
                    None,
                );
            } else if !has_true {
                ctx.push(
                    "condition-never-true",
                    Severity::Warning,
                    at,
                    format!(
                        "the condition on {path:?} of rule {:?} is true for no value",
                        &*r.id
                    ),
                    "check its bounds and patterns (lt 5 with gt 10 holds for nothing)",
                    Vec::new(),
                    None,
                );
            }
        }
    }
}

fn path_globs(ctx: &mut Ctx<'_>, i: usize, path: &str, c: &Condition) {
    let Some(v) = c.raw().get("path_glob") else {
        return;
    };
    let globs: Vec<(Option<usize>, &str)> = match v {
        Value::String(s) => vec![(None, s.as_str())],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(j, x)| x.as_str().map(|s| (Some(j), s)))
            .collect(),
        _ => Vec::new(),
    };
    for (j, g) in globs {
        let found = Product::new(&[Pattern::Glob(g)], true).explore(LIMIT);
        if found.complete && found.combinations.iter().all(|(m, _)| m.is_empty()) {
            let at = ctx.rule_location(i, &format!(".when.{path}.path_glob"), j);
            ctx.push(
                "path-glob-unmatchable",
                Severity::Error,
                at,
                format!(
                    "path_glob {g:?} matches no normalised path (paths are compared after removing //, /./ and /../, and a trailing /)"
                ),
                "write the pattern for the normalised path: /workspace/* instead of /workspace//*",
                Vec::new(),
                None,
            );
        }
    }
}
