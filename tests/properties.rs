//! Property tests: the indexed multi-pattern path and the plain in-order
//! scan of exact matchers agree on every generated input, and a policy's
//! decision is the one its lists imply.

use agentguard::__private::PatternSet;
use agentguard::{fnmatch, Policy, PolicySpec};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Characters that stress both paths: set syntax, separators, newlines and
/// 1- to 4-byte UTF-8.
fn charset() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        'a', 'b', 'c', 'x', '_', '.', '/', '*', '?', '[', ']', '!', '^', '-', '\\', '{', '}', ',',
        '\n', 'é', 'ü', '€', '中', '😀', '𝔘',
    ])
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(charset(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// Patterns built from pieces, so that prefixes, suffixes and inner
/// literals of every kind appear.
fn pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => text(4),
        2 => Just("*".to_string()),
        1 => Just("?".to_string()),
        1 => prop::sample::select(vec!["[a-c]", "[!a]", "[]x]", "[z-a]", "[é-ü]", "[!]", "[^a]", "["])
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

/// A name likely to match one of `patterns`: wildcards filled in.
fn near(patterns: &[String], pick: usize, fill: &str) -> String {
    if patterns.is_empty() {
        return fill.to_string();
    }
    patterns[pick % patterns.len()]
        .replace('*', fill)
        .replace('?', "é")
        .replace("[a-c]", "b")
        .replace("[!a]", "z")
}

/// One token of the plain glob subset the reference below understands.
#[derive(Clone, Debug)]
enum Tok {
    Lit(char),
    Any,
    Star,
    /// `[a-c]` (or `[!a-c]` when negated): a range.
    Set(bool, char, char),
}

/// Patterns over a small alphabet with long fixed-width runs of sets and
/// `?` between stars, so middle segments need the bit-parallel search,
/// over one word and over several (runs past 64 atoms).
fn glob() -> impl Strategy<Value = Vec<Tok>> {
    let atom = prop_oneof![
        4 => prop::sample::select(vec!['a', 'b', 'c', 'é', '😀', '.']).prop_map(Tok::Lit),
        2 => Just(Tok::Any),
        2 => prop::sample::select(vec![(false, 'a', 'b'), (true, 'a', 'a'), (false, 'b', 'é'), (true, 'c', '😀')])
            .prop_map(|(n, lo, hi)| Tok::Set(n, lo, hi)),
    ];
    let run = prop_oneof![
        6 => prop::collection::vec(atom.clone(), 0..6),
        1 => (atom, 60usize..140).prop_map(|(a, n)| vec![a; n]),
    ];
    prop::collection::vec(run, 1..5).prop_map(|runs| {
        let mut out = Vec::new();
        for (i, r) in runs.into_iter().enumerate() {
            if i > 0 {
                out.push(Tok::Star);
            }
            out.extend(r);
        }
        out
    })
}

fn glob_text(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => c.to_string(),
            Tok::Any => "?".into(),
            Tok::Star => "*".into(),
            Tok::Set(n, lo, hi) => format!("[{}{lo}-{hi}]", if *n { "!" } else { "" }),
        })
        .collect()
}

/// The textbook O(n * m) dynamic programme: the reference for the
/// linear-time matcher.
fn dp_match(name: &[char], toks: &[Tok]) -> bool {
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for t in toks {
        let mut next = vec![false; name.len() + 1];
        if let Tok::Star = t {
            let mut any = false;
            for (k, slot) in next.iter_mut().enumerate() {
                any |= row[k];
                *slot = any;
            }
        } else {
            for k in 0..name.len() {
                let c = name[k];
                let ok = match *t {
                    Tok::Lit(l) => l == c,
                    Tok::Any => true,
                    Tok::Set(neg, lo, hi) => (lo <= c && c <= hi) != neg,
                    Tok::Star => unreachable!(),
                };
                next[k + 1] = row[k] && ok;
            }
        }
        row = next;
    }
    row[name.len()]
}

/// Names built from the same alphabet, sometimes long runs of one
/// character, sometimes a filled-in copy of the pattern.
fn glob_name(toks: &[Tok], seed: &[usize]) -> String {
    let abc = ['a', 'b', 'c', 'é', '😀', '.'];
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let s = seed[i % seed.len()];
        match t {
            Tok::Lit(c) if s % 7 != 0 => out.push(*c),
            Tok::Star => (0..s % 5).for_each(|k| out.push(abc[(s + k) % abc.len()])),
            _ => out.push(abc[s % abc.len()]),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::with_cases(3000)
    })]

    /// The matcher (anchored ends, leftmost placement of middle segments,
    /// shift-and inside them) agrees with the dynamic programme.
    #[test]
    fn matcher_agrees_with_a_dynamic_programme(
        toks in glob(),
        seed in prop::collection::vec(0usize..1000, 1..8),
        noise in prop::collection::vec(prop::sample::select(vec!['a', 'b', 'c', 'é', '😀', '.']), 0..200),
    ) {
        let pattern = glob_text(&toks);
        let near = glob_name(&toks, &seed);
        let noisy: String = noise.iter().collect();
        for name in [near.clone(), noisy.clone(), format!("{noisy}{near}"), format!("{near}{noisy}")] {
            let chars: Vec<char> = name.chars().collect();
            prop_assert_eq!(fnmatch(&name, &pattern), dp_match(&chars, &toks), "pattern {:?} name {:?}", pattern, name);
        }
    }
}

/// One part of a pattern family: what every member shares, what varies
/// with the member's number `i`, and wildcards.
#[derive(Clone, Debug)]
enum Part {
    /// A literal every member has (`t`, `mcp__`, `.log`): a short shared
    /// key the index must not file them all under.
    Shared(&'static str),
    /// The member's number: a literal that tells members apart.
    Num,
    Class(&'static str),
    Q,
    Star,
    /// `i % 6` question marks: the same key at many offsets.
    VarQ,
    /// A set chosen by `i`: members with no literal still differ.
    VarClass,
}

const VAR_CLASSES: [(&str, [char; 2]); 5] = [
    ("[a-b]", ['a', 'b']),
    ("[c-d]", ['c', 'd']),
    ("[e-f]", ['e', 'f']),
    ("[!a-f]", ['z', 'é']),
    ("[0-4]", ['0', '4']),
];

fn class_chars(class: &str) -> [char; 2] {
    match class {
        "[0-9]" => ['0', '9'],
        "[a-c]" => ['a', 'c'],
        "[!x]" => ['y', '😀'],
        _ => ['é', '😀'],
    }
}

fn family() -> impl Strategy<Value = Vec<Part>> {
    let part = prop_oneof![
        3 => prop::sample::select(vec!["t", "mcp__", "_", ".log", "op", "é", "😀a"]).prop_map(Part::Shared),
        3 => Just(Part::Num),
        2 => prop::sample::select(vec!["[0-9]", "[a-c]", "[!x]", "[é-😀]"]).prop_map(Part::Class),
        2 => Just(Part::Q),
        2 => Just(Part::Star),
        1 => Just(Part::VarQ),
        1 => Just(Part::VarClass),
    ];
    prop::collection::vec(part, 1..7)
}

fn member(parts: &[Part], i: usize) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Shared(t) => t.to_string(),
            Part::Num => i.to_string(),
            Part::Class(c) => c.to_string(),
            Part::Q => "?".into(),
            Part::Star => "*".into(),
            Part::VarQ => "?".repeat(i % 6),
            Part::VarClass => VAR_CLASSES[i % 5].0.into(),
        })
        .collect()
}

/// A name for member `i`, exact or spoiled in one way chosen by `how`.
fn member_name(parts: &[Part], i: usize, how: usize) -> String {
    let spoil = how % 8;
    let mut out = String::new();
    for (k, p) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        match p {
            Part::Shared(t) => out.push_str(t),
            Part::Num => out.push_str(&(if spoil == 1 { i + 1 } else { i }).to_string()),
            Part::Class(c) => out.push(class_chars(c)[how / 8 % 2]),
            Part::Q => out.push(if spoil == 2 { 'é' } else { 'q' }),
            Part::Star => out.push_str(["", "x", "_9_", "😀"][how / 16 % 4]),
            Part::VarQ => out.push_str(&"w".repeat(if spoil == 3 { i % 6 + 1 } else { i % 6 })),
            Part::VarClass => {
                out.push(VAR_CLASSES[(i + usize::from(spoil == 4)) % 5].1[how / 8 % 2])
            }
        }
        if last && spoil == 5 {
            out.push('~');
        }
    }
    if spoil == 6 {
        out.insert(0, 'x');
    }
    if spoil == 7 {
        out.pop();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::with_cases(600)
    })]

    /// Large sets of pattern families (the shapes of the performance
    /// budget: shared short prefixes and suffixes, numbers at one or many
    /// offsets, sets and `?`, no literal at all) mixed with random
    /// patterns: the index, its position filters and its offset walks
    /// agree with a scan of `fnmatch`.
    #[test]
    fn index_and_scan_agree_on_pattern_families(
        families in prop::collection::vec((family(), 5usize..160, any::<bool>()), 1..4),
        noise in prop::collection::vec(pattern(), 0..8),
        probes in prop::collection::vec((0usize..4, 0usize..400, 0usize..64), 1..24),
        random_names in prop::collection::vec(text(10), 0..4),
    ) {
        let mut patterns = Vec::new();
        for (parts, n, spread) in &families {
            // Spread numbers are distinct; others repeat, so that members
            // share keys too.
            patterns.extend((0..*n).map(|i| member(parts, if *spread { i } else { i % 7 })));
        }
        for (k, p) in noise.iter().enumerate() {
            patterns.insert((k * 37) % (patterns.len() + 1), p.clone());
        }
        let indexed = PatternSet::new(&patterns);
        let mut names = random_names;
        for (f, i, how) in probes {
            let (parts, n, _) = &families[f % families.len()];
            names.push(member_name(parts, i % (n + 3), how));
        }
        for name in &names {
            let want = patterns.iter().position(|p| fnmatch(name, p));
            prop_assert_eq!(indexed.first_match(name), want, "name {:?}", name);
        }
    }
}

proptest! {
    // Failing cases are saved next to the tests (proptest cannot find a
    // lib.rs to put them beside in an integration test).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::with_cases(3000)
    })]

    #[test]
    fn index_and_scan_agree(
        patterns in prop::collection::vec(pattern(), 0..40),
        names in prop::collection::vec(text(8), 1..6),
        pick in 0usize..100,
        fill in text(3),
    ) {
        let scan = PatternSet::with_threshold(&patterns, usize::MAX);
        let indexed = PatternSet::with_threshold(&patterns, 0);
        let mut names = names;
        names.push(near(&patterns, pick, &fill));
        for name in &names {
            let want = patterns.iter().position(|p| fnmatch(name, p));
            prop_assert_eq!(scan.first_match(name), want, "scan, name {:?}", name);
            prop_assert_eq!(indexed.first_match(name), want, "indexed, name {:?}", name);
        }
    }

    #[test]
    fn policy_decision_follows_its_lists(
        deny in prop::collection::vec(pattern(), 0..6),
        approval in prop::collection::vec(pattern(), 0..6),
        allow in prop::collection::vec(pattern(), 0..6),
        default_allow in any::<bool>(),
        name in text(6),
    ) {
        let spec = PolicySpec {
            deny: deny.clone(),
            require_approval: approval.clone(),
            allow: allow.clone(),
            default: if default_allow { agentguard::DefaultDecision::Allow } else { agentguard::DefaultDecision::Deny },
            ..PolicySpec::default()
        };
        let r = Policy::new(spec).unwrap().check(&name);
        let first = |l: &[String]| l.iter().find(|p| fnmatch(&name, p)).cloned();
        let expect = if let Some(p) = first(&deny) {
            ("deny", format!("denied by pattern: {p}"), Some(p))
        } else if let Some(p) = first(&approval) {
            ("require_approval", format!("requires approval per pattern: {p}"), Some(p))
        } else if let Some(p) = first(&allow) {
            ("allow", format!("allowed by pattern: {p}"), Some(p))
        } else if !allow.is_empty() && !default_allow {
            ("deny", "not in allow list (default: deny)".to_string(), None)
        } else if default_allow {
            ("allow", "no matching rule (default: allow)".to_string(), None)
        } else {
            ("deny", "no matching rule (default: deny)".to_string(), None)
        };
        prop_assert_eq!(r.decision.as_str(), expect.0);
        prop_assert_eq!(&*r.reason, expect.1.as_str());
        prop_assert_eq!(r.matched_rule.as_deref(), expect.2.as_deref());
    }
}

#[test]
fn large_generated_policies_agree_with_a_scan() {
    // The shapes the benchmark uses, at sizes that take the indexed path.
    for n in [30, 300, 3000] {
        let pats: Vec<String> = (0..n)
            .map(|i| match i % 5 {
                0 => format!("tool_{i}"),
                1 => format!("ns{i}_*"),
                2 => format!("*_sfx{i}"),
                3 => format!("q{i}_[a-f]?"),
                _ => format!("*mid{i}*"),
            })
            .collect();
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let indexed = PatternSet::new(&pats);
        let mut hits = 0;
        for k in 0..n {
            for name in [
                format!("tool_{k}"),
                format!("ns{k}_x"),
                format!("a_sfx{k}"),
                format!("q{k}_bz"),
                format!("xmid{k}y"),
                format!("nothing{k}"),
            ] {
                let want = scan.first_match(&name);
                hits += usize::from(want.is_some());
                assert_eq!(indexed.first_match(&name), want, "n={n} name={name}");
            }
        }
        // Each k builds one name of the shape pattern k has: at least n hits.
        assert!(hits >= n, "the names were built to hit: {hits}");
    }
}
