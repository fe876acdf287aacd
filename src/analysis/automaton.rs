//! The product of fnmatch patterns, explored exactly.
//!
//! A pattern is a regular language over code points. Its atoms are the
//! states of a position automaton: position `j` means "the first `j` atoms
//! have matched"; a literal, `?` or set moves to `j + 1` on the characters
//! it accepts, a `*` stays on every character and is also passed over
//! (epsilon). The product of many patterns is the set of the positions of
//! all of them at once; a breadth-first walk from the empty name reaches
//! every set of positions some name reaches, each first by a shortest such
//! name, and a set of positions says which patterns match that name. So
//! the walk finds every combination of matching patterns that some name
//! has, with a shortest name for each, and never one that no name has.
//!
//! Characters are not walked one by one: the boundaries of every literal
//! and range split the code points into intervals, and intervals that every
//! atom treats alike form one class, walked once with a representative.
//!
//! An optional filter runs beside the patterns: the language of normalised
//! absolute paths (CONDITIONS.md, "Path normalisation"), so that `path_glob`
//! and `path_under` are explored over the values they can really see.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use crate::pattern::{interval_starts, parse, push_accepted, Atom, MAX_CHAR};

/// What one position of a pattern does on the next character.
#[derive(Clone, Debug)]
enum Step {
    /// `*`: stays here on every character (and the next position is also
    /// active).
    Star,
    /// Moves to the next position on the classes of this bit set.
    Set(Vec<u64>),
    /// The pattern has matched all its atoms.
    End,
}

/// The language of normalised absolute paths, as a small automaton: `/`,
/// then segments separated by `/`, none empty, `.` or `..`, no NUL, no
/// trailing `/` (but the root).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PathState {
    Start,
    /// Just `/`: the root, accepted.
    Root,
    /// After a separator: a segment must follow.
    Slash,
    /// The segment so far is `.`.
    Dot,
    /// The segment so far is `..`.
    DotDot,
    /// Inside an ordinary segment: accepted.
    Segment,
    Dead,
}

impl PathState {
    fn step(self, c: char) -> PathState {
        use PathState::*;
        if c == '\0' {
            return Dead;
        }
        match (self, c) {
            (Dead, _) => Dead,
            (Start, '/') => Root,
            (Start, _) => Dead,
            (Root | Slash, '/') => Dead,
            (Root | Slash, '.') => Dot,
            (Root | Slash, _) => Segment,
            (Dot, '.') => DotDot,
            (Dot | DotDot, '/') => Dead,
            (Dot | DotDot, _) => Segment,
            (Segment, '/') => Slash,
            (Segment, _) => Segment,
        }
    }

    fn accepts(self) -> bool {
        matches!(self, PathState::Root | PathState::Segment)
    }
}

/// A pattern given to [`Product::new`]: fnmatch text, or atoms built
/// directly (a literal directory of `path_under`, an `in` string).
pub(crate) enum Pattern<'a> {
    /// An fnmatch pattern.
    Glob(&'a str),
    /// Exactly this string.
    Literal(&'a str),
    /// This string, a `/`, then anything.
    Below(&'a str),
}

impl Pattern<'_> {
    fn atoms(&self) -> Vec<Atom> {
        match self {
            Pattern::Glob(p) => parse(p),
            Pattern::Literal(s) => s.chars().map(Atom::Lit).collect(),
            Pattern::Below(s) => s
                .chars()
                .map(Atom::Lit)
                .chain([Atom::Lit('/'), Atom::Star])
                .collect(),
        }
    }
}

/// The states a walk over tool names may visit before the analysis stops
/// and says it is incomplete. Large enough for the budget's policies (1 000
/// patterns of every shape, two versions of them: about 120 000 states),
/// small enough to stay within seconds and a few hundred megabytes.
pub(crate) const NAME_LIMIT: usize = 1_000_000;

/// The product automaton of a list of patterns.
pub(crate) struct Product {
    /// A representative character per class, in the order walked.
    reps: Vec<char>,
    /// Per global position: what it does.
    steps: Vec<Step>,
    /// Per global position: its pattern.
    pattern_of: Vec<u32>,
    /// Whether the walk is restricted to normalised absolute paths.
    paths_only: bool,
}

/// What [`Product::explore`] found.
pub(crate) struct Explored {
    /// Every combination of matching patterns (sorted indices) some string
    /// has, with a shortest such string, in the order found (shortest
    /// first).
    pub(crate) combinations: Vec<(Vec<u32>, String)>,
    /// Whether the walk finished (`false`: it stopped at the state limit,
    /// and some combination may be missing).
    pub(crate) complete: bool,
}

/// How nice a character is as a representative: letters and digits first.
fn niceness(c: char) -> u32 {
    match c {
        'a'..='z' => c as u32 - 'a' as u32,
        '0'..='9' => 100 + c as u32,
        '_' | '-' | '.' => 200 + c as u32,
        'A'..='Z' => 300 + c as u32,
        '!'..='~' => 400 + c as u32,
        ' ' => 600,
        c if (c as u32) < 0x20 || c as u32 == 0x7f => 800 + c as u32,
        c => 1000 + (c as u32).min(1 << 21),
    }
}

/// The nicest character of `lo..=hi`, if it holds a scalar value.
fn best_in(lo: u32, hi: u32) -> Option<char> {
    let candidates = ['a', 'x', '0', '_', 'A', '!', ' ']
        .into_iter()
        .map(|c| c as u32)
        .chain([lo, hi, 0xE000, 0x20, 0x7f]);
    candidates
        .filter(|&c| lo <= c && c <= hi)
        .filter_map(char::from_u32)
        .min_by_key(|&c| niceness(c))
        .or_else(|| {
            // Letters anywhere in the interval.
            let start = lo.max('a' as u32);
            let end = hi.min('z' as u32);
            (start <= end).then(|| char::from_u32(start)).flatten()
        })
}

impl Product {
    /// Builds the product of `patterns`; with `paths_only`, the walk visits
    /// only normalised absolute paths.
    pub(crate) fn new(patterns: &[Pattern<'_>], paths_only: bool) -> Product {
        let atoms: Vec<Vec<Atom>> = patterns.iter().map(Pattern::atoms).collect();
        // Every range any atom accepts, plus the characters the path filter
        // tells apart.
        let mut ranges = Vec::new();
        for a in atoms.iter().flatten() {
            push_accepted(a, &mut ranges);
        }
        if paths_only {
            for c in ['/', '.', '\0'] {
                ranges.push((c as u32, c as u32));
            }
        }
        let starts = interval_starts(&ranges);
        let n = starts.len();
        // Per interval: the global ids of the atoms accepting it (the key
        // that groups intervals into classes).
        let mut key: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut atom_ranges: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut id = 0u32;
        for pat in &atoms {
            for a in pat {
                let mut rs = Vec::new();
                if !matches!(a, Atom::Star) {
                    push_accepted(a, &mut rs);
                }
                for &(lo, hi) in &rs {
                    let first = starts.partition_point(|&s| s < lo);
                    for (k, &s) in starts.iter().enumerate().skip(first) {
                        if s > hi {
                            break;
                        }
                        key[k].push(id);
                    }
                }
                atom_ranges.push(rs);
                id += 1;
            }
        }
        if paths_only {
            for (k, &s) in starts.iter().enumerate() {
                for (tag, c) in [(u32::MAX, '/'), (u32::MAX - 1, '.'), (u32::MAX - 2, '\0')] {
                    if s == c as u32 {
                        key[k].push(tag);
                    }
                }
            }
        }
        // Group intervals into classes; a class's representative is its
        // nicest character (intervals of surrogates only have none).
        let mut class_of_key: HashMap<&[u32], usize> = HashMap::new();
        let mut reps: Vec<Option<char>> = Vec::new();
        let mut interval_class = vec![usize::MAX; n];
        for k in 0..n {
            let hi = starts.get(k + 1).map_or(MAX_CHAR, |&s| s - 1);
            let Some(c) = best_in(starts[k], hi) else {
                continue;
            };
            let class = *class_of_key.entry(&key[k]).or_insert_with(|| {
                reps.push(None);
                reps.len() - 1
            });
            interval_class[k] = class;
            let better = reps[class].map_or(true, |r| niceness(c) < niceness(r));
            if better {
                reps[class] = Some(c);
            }
        }
        // Walk the nicest classes first, so that among the shortest
        // witnesses the nicest is found.
        let mut order: Vec<usize> = (0..reps.len()).collect();
        order.sort_by_key(|&c| reps[c].map_or(u32::MAX, niceness));
        let mut renumber = vec![0usize; reps.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = new;
        }
        let classes = reps.len();
        let words = classes.div_ceil(64).max(1);
        let mut steps = Vec::new();
        let mut pattern_of = Vec::new();
        let mut id = 0usize;
        for (p, pat) in atoms.iter().enumerate() {
            for a in pat {
                steps.push(match a {
                    Atom::Star => Step::Star,
                    _ => {
                        let mut bits = vec![0u64; words];
                        for &(lo, hi) in &atom_ranges[id] {
                            let first = starts.partition_point(|&s| s < lo);
                            for (k, &s) in starts.iter().enumerate().skip(first) {
                                if s > hi {
                                    break;
                                }
                                if interval_class[k] != usize::MAX {
                                    let c = renumber[interval_class[k]];
                                    bits[c / 64] |= 1 << (c % 64);
                                }
                            }
                        }
                        Step::Set(bits)
                    }
                });
                pattern_of.push(p as u32);
                id += 1;
            }
            steps.push(Step::End);
            pattern_of.push(p as u32);
        }
        let reps = order.iter().map(|&c| reps[c].unwrap_or('a')).collect();
        Product {
            reps,
            steps,
            pattern_of,
            paths_only,
        }
    }

    /// Adds position `g` and, past each `*`, the position after it.
    fn add(&self, g: usize, out: &mut Vec<u32>) {
        out.push(g as u32);
        if matches!(self.steps[g], Step::Star) {
            out.push(g as u32 + 1);
        }
    }

    fn start(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut first = true;
        for (g, _) in self.steps.iter().enumerate() {
            if first {
                self.add(g, &mut out);
            }
            first = matches!(self.steps[g], Step::End);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The successors of `state` on every class at once: one pass over its
    /// positions (a literal moves on one class only, a `*` on all), so the
    /// cost is the positions and their classes, not positions times
    /// classes. `per[c]` is filled for the classes some position moves on
    /// (listed in `moved`); every class also goes to `common`.
    fn successors(
        &self,
        state: &[u32],
        common: &mut Vec<u32>,
        per: &mut [Vec<u32>],
        moved: &mut Vec<usize>,
    ) {
        common.clear();
        for c in moved.drain(..) {
            per[c].clear();
        }
        for &g in state {
            let g = g as usize;
            match &self.steps[g] {
                Step::Star => self.add(g, common),
                Step::Set(bits) => {
                    for (w, &word) in bits.iter().enumerate() {
                        let mut word = word;
                        while word != 0 {
                            let c = w * 64 + word.trailing_zeros() as usize;
                            word &= word - 1;
                            if per[c].is_empty() {
                                moved.push(c);
                            }
                            self.add(g + 1, &mut per[c]);
                        }
                    }
                }
                Step::End => {}
            }
        }
    }

    fn matching(&self, state: &[u32], out: &mut Vec<u32>) {
        out.extend(
            state
                .iter()
                .filter(|&&g| matches!(self.steps[g as usize], Step::End))
                .map(|&g| self.pattern_of[g as usize]),
        );
    }

    /// Walks the product breadth first, visiting at most `limit` states.
    ///
    /// A `*` position, once reached, stays in every later state, so the
    /// positions of the patterns that start with `*` (the baseline) are in
    /// every state: a state is stored as the positions beyond the baseline,
    /// and what the baseline does on each class is computed once. With many
    /// `*_suffix` patterns this keeps states small. Positions stay sorted
    /// (every step produces them in order), so successors are merged, not
    /// sorted, and states are interned in one arena.
    pub(crate) fn explore(&self, limit: usize) -> Explored {
        let start_filter = if self.paths_only {
            PathState::Start
        } else {
            PathState::Segment
        };
        let classes = self.reps.len();
        let (mut common, mut moved) = (Vec::new(), Vec::new());
        let mut per: Vec<Vec<u32>> = vec![Vec::new(); classes];
        // The baseline: the start positions that no character leaves (a
        // leading `*` and the position it passes over to).
        let start = self.start();
        let mut in_base = vec![false; self.steps.len()];
        let mut baseline: Vec<u32> = Vec::new();
        for &g in &start {
            let g = g as usize;
            let stays = matches!(self.steps[g], Step::Star)
                || (g > 0 && matches!(self.steps[g - 1], Step::Star) && in_base[g - 1]);
            if stays {
                in_base[g] = true;
                baseline.push(g as u32);
            }
        }
        let beyond = |v: &[u32]| -> Vec<u32> {
            v.iter()
                .copied()
                .filter(|&g| !in_base[g as usize])
                .collect()
        };
        // Where the baseline goes on each class, beyond itself.
        self.successors(&baseline, &mut common, &mut per, &mut moved);
        let base_common = beyond(&common);
        let mut base_per: Vec<Vec<u32>> = vec![Vec::new(); classes];
        for &c in &moved {
            base_per[c] = beyond(&per[c]);
        }
        let mut base_matching = Vec::new();
        self.matching(&baseline, &mut base_matching);

        let mut states = Interner::default();
        // Per state: (parent, class) to rebuild its shortest string.
        let mut parent: Vec<(u32, u32)> = Vec::new();
        let mut queue: VecDeque<u32> = VecDeque::new();
        let mut found: hashbrown::HashSet<Vec<u32>> = hashbrown::HashSet::new();
        let mut combinations = Vec::new();
        states.intern(start_filter, &beyond(&start));
        parent.push((u32::MAX, 0));
        queue.push_back(0);
        let mut complete = true;
        let (mut positions, mut merged, mut next, mut m) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut defaults: Vec<PathState> = Vec::new();
        while let Some(s) = queue.pop_front() {
            let filter = states.get(s, &mut positions);
            if filter.accepts() {
                m.clear();
                m.extend_from_slice(&base_matching);
                self.matching(&positions, &mut m);
                m.sort_unstable();
                if !found.contains(&m) {
                    found.insert(m.clone());
                    combinations.push((m.clone(), self.witness(&parent, s)));
                }
            }
            // No pattern can match any longer: every extension has the
            // combination just recorded (or, for paths, reaches it).
            if baseline.is_empty()
                && positions.is_empty()
                && (!self.paths_only || found.contains(&Vec::new()))
            {
                continue;
            }
            self.successors(&positions, &mut common, &mut per, &mut moved);
            // Every class no position moves on leads to the same positions:
            // those are computed, and looked up, once per filter state.
            common.retain(|&g| !in_base[g as usize]);
            union(&common, &base_common, &mut merged);
            defaults.clear();
            for (class, &rep) in self.reps.iter().enumerate() {
                let next_filter = if self.paths_only {
                    filter.step(rep)
                } else {
                    filter
                };
                if next_filter == PathState::Dead {
                    continue;
                }
                let target = if per[class].is_empty() && base_per[class].is_empty() {
                    if defaults.contains(&next_filter) {
                        continue;
                    }
                    defaults.push(next_filter);
                    &merged
                } else {
                    per[class].retain(|&g| !in_base[g as usize]);
                    union(&per[class], &base_per[class], &mut m);
                    union(&merged, &m, &mut next);
                    &next
                };
                if states.len() >= limit && states.find(next_filter, target).is_none() {
                    complete = false;
                    break;
                }
                let (id, new) = states.intern(next_filter, target);
                if new {
                    parent.push((s, class as u32));
                    queue.push_back(id);
                }
            }
            if !complete {
                break;
            }
        }
        Explored {
            combinations,
            complete,
        }
    }

    fn witness(&self, parent: &[(u32, u32)], s: u32) -> String {
        let mut chars = Vec::new();
        let mut s = s as usize;
        while parent[s].0 != u32::MAX {
            chars.push(self.reps[parent[s].1 as usize]);
            s = parent[s].0 as usize;
        }
        chars.iter().rev().collect()
    }
}

/// The union of two strictly increasing lists, strictly increasing.
fn union(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// The states of a walk, each stored once: its positions in one arena,
/// found again by a hash of them.
#[derive(Default)]
struct Interner {
    arena: Vec<u32>,
    /// Per state: where its positions are in `arena`, and its filter.
    spans: Vec<(usize, usize, PathState)>,
    table: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Interner {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn slice(&self, id: u32) -> (PathState, &[u32]) {
        let (start, end, filter) = self.spans[id as usize];
        (filter, &self.arena[start..end])
    }

    /// State `id`: its filter, and its positions copied into `out`.
    fn get(&self, id: u32, out: &mut Vec<u32>) -> PathState {
        let (filter, positions) = self.slice(id);
        out.clear();
        out.extend_from_slice(positions);
        filter
    }

    fn find(&self, filter: PathState, positions: &[u32]) -> Option<u32> {
        let hash = self.hasher.hash_one((filter, positions));
        self.table
            .find(hash, |&id| self.slice(id) == (filter, positions))
            .copied()
    }

    /// The id of this state, and whether it is new.
    fn intern(&mut self, filter: PathState, positions: &[u32]) -> (u32, bool) {
        let hash = self.hasher.hash_one((filter, positions));
        let (arena, spans) = (&self.arena, &self.spans);
        let eq = |&id: &u32| {
            let (start, end, f) = spans[id as usize];
            f == filter && arena[start..end] == *positions
        };
        if let Some(&id) = self.table.find(hash, eq) {
            return (id, false);
        }
        let id = self.spans.len() as u32;
        let start = self.arena.len();
        self.arena.extend_from_slice(positions);
        self.spans.push((start, self.arena.len(), filter));
        let (arena, spans, hasher) = (&self.arena, &self.spans, &self.hasher);
        self.table.insert_unique(hash, id, |&id| {
            let (start, end, f) = spans[id as usize];
            hasher.hash_one((f, &arena[start..end]))
        });
        (id, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::fnmatch;

    fn combos(pats: &[&str]) -> Vec<(Vec<u32>, String)> {
        let ps: Vec<Pattern> = pats.iter().map(|p| Pattern::Glob(p)).collect();
        let e = Product::new(&ps, false).explore(100_000);
        assert!(e.complete);
        e.combinations
    }

    #[test]
    fn witnesses_match_exactly_their_combination() {
        let pats = ["drop_*", "*_table", "d?op_t[a-c]ble", "[z-a]", "*", "[!a]*"];
        let found = combos(&pats);
        for (m, w) in &found {
            for (i, p) in pats.iter().enumerate() {
                assert_eq!(m.contains(&(i as u32)), fnmatch(w, p), "{w:?} {p:?}");
            }
        }
        // drop_table matches the first three and `*` and `[!a]*`.
        assert!(found.iter().any(|(m, _)| m == &[0, 1, 2, 4, 5]));
        // Nothing matches `[z-a]`.
        assert!(found.iter().all(|(m, _)| !m.contains(&3)));
        // The empty name matches only `*`.
        assert_eq!(found[0], (vec![4], String::new()));
    }

    #[test]
    fn union_merges_increasing_lists() {
        let mut out = Vec::new();
        union(&[1, 4, 9], &[0, 4, 5, 12], &mut out);
        assert_eq!(out, [0, 1, 4, 5, 9, 12]);
        union(&[], &[3], &mut out);
        assert_eq!(out, [3]);
    }

    /// Every combination some short string has is found, with `*`-leading
    /// patterns (the baseline) among the others, and none that no string
    /// has.
    #[test]
    fn combinations_are_exactly_those_of_short_strings() {
        let pats = ["*a", "*ab", "a*", "*b*", "?", "b?a", "*", "[ab]*b"];
        let found = combos(&pats);
        let mut brute: std::collections::BTreeSet<Vec<u32>> = Default::default();
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let mut longer = Vec::new();
            for s in &strings {
                for c in ['a', 'b', 'c'] {
                    longer.push(format!("{s}{c}"));
                }
            }
            strings.extend(longer);
            strings.dedup();
        }
        for s in &strings {
            let m: Vec<u32> = (0..pats.len() as u32)
                .filter(|&i| fnmatch(s, pats[i as usize]))
                .collect();
            brute.insert(m);
        }
        let got: std::collections::BTreeSet<Vec<u32>> =
            found.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(got, brute);
    }

    #[test]
    fn paths_only_walks_normalised_paths() {
        let ps = [
            Pattern::Glob("*/../*"),
            Pattern::Below("/w"),
            Pattern::Glob("/w*"),
        ];
        let e = Product::new(&ps, true).explore(100_000);
        assert!(e.complete);
        for (m, w) in &e.combinations {
            assert_eq!(crate::path::normalize(w).as_deref(), Some(w.as_str()));
            assert!(!m.contains(&0), "{w:?}");
        }
        assert!(e.combinations.iter().any(|(m, _)| m == &[1, 2]));
        assert!(e.combinations.iter().any(|(m, _)| m == &[2]));
        assert!(e.combinations.iter().any(|(m, _)| m.is_empty()));
    }
}
