//! Many patterns at once: the lowest-index pattern that matches a name.
//!
//! Small sets scan their compiled matchers in order. Large sets use a
//! literal-anchor index, so a check costs about the same at 10 000 patterns
//! as at 13:
//!
//! * patterns without wildcards sit in a hash map (one lookup);
//! * every other pattern is filed under one literal it cannot match without:
//!   its literal prefix (found by walking the name's bytes through an
//!   anchored Aho-Corasick automaton of all prefixes), else its literal
//!   suffix (the name's bytes walked backwards through an automaton of
//!   reversed suffixes), else its longest inner literal (an unanchored walk
//!   over the whole name);
//! * the few patterns with no literal at all (`*`, `?`, `[a-z]*`) are always
//!   candidates.
//!
//! A candidate is confirmed by the exact code-point matcher, in index order,
//! and only while it could still beat the best match found so far. The
//! literals are valid UTF-8, and a run of valid UTF-8 can only occur in a
//! valid UTF-8 name at character boundaries, so the byte-level prefilter
//! never changes an answer; the exact matcher decides every one. The
//! property tests in `tests/properties.rs` and the differential corpus check
//! that the indexed path and the plain scan agree.

use std::cell::RefCell;
use std::collections::HashMap;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use crate::pattern::{parse, Atom, Matcher};

/// Below this many patterns a linear scan of the exact matchers is used.
/// The index already wins at 4 patterns (about 20 ns against 22 ns) and at 13
/// (about 40 ns against 54 ns): `check/set_*` in `benches/check.rs`.
const SCAN_BELOW: usize = 4;

/// A compiled, immutable list of patterns.
#[derive(Clone, Debug)]
/// (internal; public for tests and benches)
pub struct PatternSet {
    matchers: Vec<Matcher>,
    index: Option<Index>,
}

#[derive(Clone, Debug)]
struct Index {
    /// Patterns without wildcards: text -> lowest index.
    exact: HashMap<Box<str>, usize>,
    /// Literal prefixes, matched from the first byte.
    prefix: Option<Anchor>,
    /// Reversed literal suffixes, matched from the last byte backwards.
    suffix: Option<Anchor>,
    /// Inner literals, matched anywhere.
    inner: Option<Anchor>,
    /// Patterns with no literal: always checked (sorted).
    always: Vec<usize>,
}

/// An automaton over distinct literals, each with the sorted pattern
/// indices filed under it.
#[derive(Clone, Debug)]
struct Anchor {
    nfa: NFA,
    patterns: Vec<Vec<usize>>,
}

impl Anchor {
    fn build(literals: HashMap<Vec<u8>, Vec<usize>>) -> Option<Anchor> {
        if literals.is_empty() {
            return None;
        }
        let (keys, patterns): (Vec<Vec<u8>>, Vec<Vec<usize>>) = literals.into_iter().unzip();
        // A contiguous NFA: builds several times faster than a DFA for
        // thousands of literals and searches about as fast here, since names
        // are short (see benches/check.rs).
        let nfa = NFA::builder()
            .match_kind(MatchKind::Standard)
            .build(&keys)
            .ok()?;
        Some(Anchor { nfa, patterns })
    }

    /// Feeds `bytes` through the automaton and calls `hit` with the id and the
    /// pattern list of every literal that matches (anchored at the first
    /// byte fed, or anywhere).
    fn walk(
        &self,
        bytes: impl Iterator<Item = u8>,
        anchored: Anchored,
        mut hit: impl FnMut(usize, &[usize]),
    ) {
        let Ok(mut sid) = self.nfa.start_state(anchored) else {
            return;
        };
        for b in bytes {
            sid = self.nfa.next_state(anchored, sid, b);
            if self.nfa.is_special(sid) {
                if self.nfa.is_dead(sid) {
                    return;
                }
                if self.nfa.is_match(sid) {
                    for k in 0..self.nfa.match_len(sid) {
                        let id = self.nfa.match_pattern(sid, k).as_usize();
                        hit(id, &self.patterns[id]);
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Inner literals already seen during one walk: a bitset and the ids.
    static SEEN: RefCell<(Vec<u64>, Vec<usize>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl PatternSet {
    /// Compiles `patterns`, keeping their order.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> PatternSet {
        PatternSet::with_threshold(patterns, SCAN_BELOW)
    }

    /// As [`PatternSet::new`], indexing only sets of at least `threshold`
    /// patterns (tests use 0 to force the indexed path).
    pub fn with_threshold<S: AsRef<str>>(patterns: &[S], threshold: usize) -> PatternSet {
        let parsed: Vec<Vec<Atom>> = patterns.iter().map(|p| parse(p.as_ref())).collect();
        let index = if patterns.len() >= threshold && !patterns.is_empty() {
            build_index(&parsed)
        } else {
            None
        };
        let matchers = parsed.into_iter().map(Matcher::from_atoms).collect();
        PatternSet { matchers, index }
    }

    /// How many patterns the set holds.
    pub fn len(&self) -> usize {
        self.matchers.len()
    }

    /// Whether the set holds no pattern.
    pub fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }

    /// The lowest index whose pattern matches `name`.
    pub fn first_match(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => self.indexed(index, name),
            None => (0..self.matchers.len()).find(|&i| self.matchers[i].is_match(name)),
        }
    }

    fn indexed(&self, index: &Index, name: &str) -> Option<usize> {
        let mut best = index.exact.get(name).copied().unwrap_or(usize::MAX);
        // Confirms the first candidate of a sorted list that beats `best`.
        let try_list = |list: &[usize], best: &mut usize| {
            for &i in list {
                if i >= *best {
                    break;
                }
                if self.matchers[i].is_match(name) {
                    *best = i;
                    break;
                }
            }
        };
        let bytes = name.as_bytes();
        if let Some(a) = &index.prefix {
            a.walk(bytes.iter().copied(), Anchored::Yes, |_, l| {
                try_list(l, &mut best)
            });
        }
        if let Some(a) = &index.suffix {
            a.walk(bytes.iter().rev().copied(), Anchored::Yes, |_, l| {
                try_list(l, &mut best)
            });
        }
        if let Some(a) = &index.inner {
            // A literal can occur many times in a name: confirm its patterns
            // once.
            SEEN.with(|seen| {
                let (bits, ids) = &mut *seen.borrow_mut();
                bits.clear();
                bits.resize(a.patterns.len().div_ceil(64), 0);
                ids.clear();
                a.walk(bytes.iter().copied(), Anchored::No, |id, _| {
                    let (w, bit) = (id / 64, 1u64 << (id % 64));
                    if bits[w] & bit == 0 {
                        bits[w] |= bit;
                        ids.push(id);
                    }
                });
                for &id in ids.iter() {
                    try_list(&a.patterns[id], &mut best);
                }
            });
        }
        try_list(&index.always, &mut best);
        (best != usize::MAX).then_some(best)
    }
}

fn literal_run<'a>(atoms: impl Iterator<Item = &'a Atom>) -> String {
    atoms
        .map_while(|a| match a {
            Atom::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn build_index(parsed: &[Vec<Atom>]) -> Option<Index> {
    let mut exact: HashMap<Box<str>, usize> = HashMap::new();
    let mut prefix: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut suffix: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut inner: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut always = Vec::new();
    for (i, atoms) in parsed.iter().enumerate() {
        if atoms.contains(&Atom::Never) {
            continue;
        }
        if atoms.iter().all(|a| matches!(a, Atom::Lit(_))) {
            exact
                .entry(literal_run(atoms.iter()).into_boxed_str())
                .or_insert(i);
            continue;
        }
        let head = literal_run(atoms.iter());
        if !head.is_empty() {
            prefix.entry(head.into_bytes()).or_default().push(i);
            continue;
        }
        let tail = literal_run(atoms.iter().rev());
        if !tail.is_empty() {
            // `tail` holds the suffix's characters last first; the automaton reads
            // the name's bytes last first, so file the suffix's bytes
            // reversed.
            let suffix_text: String = tail.chars().rev().collect();
            let mut reversed = suffix_text.into_bytes();
            reversed.reverse();
            suffix.entry(reversed).or_default().push(i);
            continue;
        }
        let longest = atoms
            .split(|a| !matches!(a, Atom::Lit(_)))
            .max_by_key(|run| run.len())
            .map(|run| literal_run(run.iter()))
            .unwrap_or_default();
        if longest.is_empty() {
            always.push(i);
        } else {
            inner.entry(longest.into_bytes()).or_default().push(i);
        }
    }
    Some(Index {
        exact,
        prefix: Anchor::build(prefix),
        suffix: Anchor::build(suffix),
        inner: Anchor::build(inner),
        always,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pattern of every shape the index files differently, and names
    /// that hit, miss and nearly hit each.
    #[test]
    fn indexed_and_scanned_agree_on_a_table() {
        let pats = [
            "drop_*",
            "*_table",
            "read_?",
            "[!a-c]x",
            "[]-]y",
            "[!]",
            "[z-a]",
            "x[!!^]",
            "*.",
            "é*",
            "*ü?",
            "[^a]",
            "a\\b",
            "{a,b}",
            "*é😀",
            "?*mid*?",
            "[ab]*zz*[cd]",
            "*a*a*b",
            "exact",
            "exact",
            "😀",
            "?",
            "*",
        ];
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let idx = PatternSet::with_threshold(&pats, 0);
        assert!(scan.index.is_none() && idx.index.is_some());
        for name in [
            "drop_table",
            "x_table",
            "read_1",
            "read_é",
            "dx",
            "ax",
            "]y",
            "-y",
            "a\\b",
            "{a,b}",
            "a",
            "xa",
            "x!",
            "..",
            "a/..",
            "éclair",
            "xüz",
            "^",
            "",
            "\n",
            "wé😀",
            "é😀",
            "xmidx",
            "midmid",
            "mid",
            "azzc",
            "bzzzd",
            "aazzd",
            "aab",
            "ab",
            "exact",
            "😀",
            "😀😀",
            "zz",
            "q",
        ] {
            assert_eq!(
                idx.first_match(name),
                scan.first_match(name),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn patterns_are_filed_under_the_right_anchor() {
        let pats = ["lit", "pre*", "*suf", "?in*ner?", "*", "[z-a]"];
        let set = PatternSet::with_threshold(&pats, 0);
        let index = set.index.as_ref().unwrap();
        assert_eq!(index.exact.get("lit"), Some(&0));
        assert_eq!(index.prefix.as_ref().unwrap().patterns, vec![vec![1]]);
        assert_eq!(index.suffix.as_ref().unwrap().patterns, vec![vec![2]]);
        assert_eq!(index.inner.as_ref().unwrap().patterns, vec![vec![3]]);
        // `[z-a]` can never match: it is filed nowhere.
        assert_eq!(index.always, vec![4]);
    }
}
