//! Many patterns at once: the lowest-index pattern that matches a name.
//!
//! Small sets scan their compiled matchers in order. Large sets use an index
//! whose cost per check does not grow with the number of patterns, whatever
//! literals the patterns share:
//!
//! * patterns without wildcards sit in a hash map (one lookup);
//! * every other pattern is filed under one *key*: a run of literal
//!   characters it cannot match without, with where that run must sit in
//!   the name (at character offset `j` from the start, `j` from the end, or
//!   anywhere). Of a pattern's runs, the key is the one the fewest patterns
//!   of the set share (then the cheapest to look for, then the longest), so
//!   `t[0-9]1234?` is filed under `1234` at offset 2, not under the `t`
//!   that thousands of its neighbours share. Each key is then cut to the
//!   prefix no other key starts with, which keeps the automata small; a hit
//!   of a cut key counts only if the name goes on with what was cut off;
//! * keys at an offset from the start are found by an anchored walk of the
//!   Aho-Corasick automaton from each such offset (they are few; with many,
//!   one unanchored walk checks each hit's offset and stops past the
//!   farthest), so a walk ends as soon as no key can continue; keys at an
//!   offset from the end likewise, walking the name's bytes backwards;
//! * keys that may sit anywhere take one unanchored walk over the name,
//!   which skips bytes no key starts with, and a hit counts only where its
//!   patterns have room for what they need before and after the key;
//! * patterns with no literal at all (`[a-z]?[0-9]`, `*`) are always
//!   candidates.
//!
//! The patterns filed under one key (or under none) form a bucket. A bucket
//! of many patterns also carries a position filter: for a few character
//! positions (from the start or the end) and the name's length, a bitset of
//! the bucket's patterns that accept each possible value there, so the
//! candidates are an AND of a few bitsets (with a one-bit-per-word summary
//! to skip empty stretches), not the whole bucket.
//!
//! The buckets the walks hit are confirmed after them, lowest pattern index
//! first, by the exact code-point matcher (after a check of the name's
//! length): the first pattern confirmed is the answer and every later
//! candidate is dropped unconfirmed. A pattern that is only `?`s around
//! `*LITERAL*` is confirmed by the walk that found its whole literal with
//! room enough on both sides. With thousands of patterns and names that
//! never repeat, a check is bound by cache misses (Node's measurements
//! showed them, the Rust benches of one name repeated did not): what a hit
//! needs of its bucket (lowest member, lengths, whether it is alone) is
//! copied into its key, a key is one cache line, and a hit whose bucket
//! cannot match a name of this length is dropped before any other load.
//! Keys are valid UTF-8, and a run of
//! valid UTF-8 can only occur in a valid UTF-8 name at character
//! boundaries, so the byte-level walks never change an answer; the exact
//! matcher decides every one (a bare `*LITERAL*` pattern: the walk, from
//! the whole literal and the characters around it). Anything that fails to build files its
//! patterns with the always-checked ones: slower, never wrong, and a deny
//! pattern is never dropped. The property tests in `tests/properties.rs`
//! and the differential corpus check that the indexed path and the plain
//! scan agree.
//!
//! What remains, honestly: a check costs one walk of the name (about 2 ns a
//! byte in keys' states) plus a little per key occurrence, so a name packed
//! with keys that may sit anywhere (`_op1_op2_..._op9_` against
//! `?*_opN_*?`) costs a few hundred nanoseconds, as much at 13 patterns as
//! at 10 000. Thousands of literal-free patterns are fast when they differ
//! in their sets at fixed positions or in their lengths; those that differ
//! only after a `*` (and hold no literal there) are confirmed one by one.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use crate::pattern::MAX_CHAR;
use crate::pattern::{interval_of, interval_starts, parse, push_accepted, sort_u64, Atom, Matcher};

/// Below this many patterns a linear scan of the exact matchers is used.
/// Measured with the mixed patterns of the benches: the scan costs about
/// 3.5 ns a pattern (16 ns at 4, 29 ns at 8, 57 ns at 16) and the index
/// about 32 ns at any size; patterns with an inner literal tip it sooner
/// (97 ns against 51 ns at 8). The database-safety policy's 13 mostly exact
/// patterns still scan faster (`check/set_*` in `benches/check.rs`), but a
/// scan's cost grows with what the patterns are, the index's does not.
const SCAN_BELOW: usize = 8;

/// A bucket of at least this many patterns gets a position filter: below
/// it, confirming each one costs less than looking the filter up.
const FILTER_FROM: usize = 8;

/// Positions from each end a filter considers, and how many it keeps.
const FILTER_DEPTH: u32 = 8;
const FILTER_PROBES: usize = 4;

/// Lengths from 0 to this are told apart by a filter; longer ones share a
/// value.
const LEN_CAP: u32 = 127;

/// Values a filter position tells apart at most; beyond, neighbouring
/// intervals are merged (a merged value accepts what either did, so the
/// filter only gets less sharp, never wrong).
const FILTER_VALUES: usize = 256;

/// A state with more matches than this, met again in the walk for keys that
/// may sit anywhere, is skipped: its keys were all handled the first time.
const HEAVY: usize = 8;

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
    exact: HashMap<Box<str>, usize, FixedHash>,
    /// Keys at a character offset from the start, walked forwards.
    head: Option<Keys>,
    /// Keys at an offset from the end, reversed and walked backwards from
    /// the last byte (so their offsets count from the end).
    tail: Option<Keys>,
    /// Keys that may sit anywhere: one unanchored walk over the name.
    inside: Option<Keys>,
    buckets: Vec<Bucket>,
    /// Patterns with no key: always candidates.
    always: Bucket,
    /// The shortest and longest name each pattern can match, in
    /// characters: a candidate of the wrong length costs a comparison, not
    /// a match.
    lens: Vec<(u32, u32)>,
}

/// Where a key must sit in the name, in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum At {
    /// Starting `j` characters after the start.
    Start(u32),
    /// Ending `j` characters before the end.
    End(u32),
    /// Anywhere (a literal between two `*`s).
    Inside,
}

impl At {
    /// Keys at an offset are found by short anchored walks; the others cost
    /// a walk over the whole name.
    fn walk_cost(self) -> u8 {
        match self {
            At::Inside => 1,
            _ => 0,
        }
    }
}

/// An automaton over distinct keys, each with the buckets filed under it.
#[derive(Clone, Debug)]
struct Keys {
    nfa: NFA,
    keys: Vec<Key>,
    /// The distinct offsets keys are filed at, ascending (none for keys
    /// that may sit anywhere).
    offsets: Vec<u32>,
    /// Few offsets: one anchored walk from each, which ends as soon as no
    /// key can continue. Many: one unanchored walk that checks each hit's
    /// offset and stops past the farthest.
    per_offset: bool,
    /// The farthest a key at an offset can end, in characters.
    reach: u32,
    /// Bytes some key starts with: an unanchored walk at its start state
    /// skips every other byte without touching the automaton.
    first: Box<[bool; 256]>,
    /// The parts cut off the keys, in walking order, one after another.
    rest: Vec<u8>,
}

/// What a hit of a key needs from the bucket filed under it, copied into
/// the key: a hit then loads nothing but the key (a check of unique names
/// against thousands of patterns is bound by such loads, each a likely
/// cache miss), and a hit whose bucket cannot match a name of this length,
/// or whose first member cannot beat the best so far, is dropped at once.
#[derive(Clone, Copy, Debug)]
struct Target {
    bucket: u32,
    /// The bucket's lowest pattern index.
    first: usize,
    /// The shortest and longest name any member can match, in characters.
    lens: (u32, u32),
    /// Whether `first` is the bucket's only member: then it is confirmed
    /// without loading the bucket, and its length is already checked.
    single: bool,
    /// Whether the bucket's only member is `?`s, `*`, the key's literal,
    /// `*`, `?`s (`*delete*`, `?*_op7_*?`): a hit of the whole literal with
    /// the room the `?`s need is then a match, confirmed by the walk.
    bare: bool,
}

/// A target no name reaches (`first` beats nothing).
const NO_TARGET: Target = Target {
    bucket: 0,
    first: usize::MAX,
    lens: (u32::MAX, 0),
    single: false,
    bare: false,
};

/// What a hit of a key filed under bucket `b` needs from it.
fn target_of(b: u32, bucket: Option<&Bucket>, lens: &[(u32, u32)], bare: &[bool]) -> Target {
    let Some((bucket, &first)) = bucket.and_then(|x| Some((x, x.members.first()?))) else {
        return NO_TARGET;
    };
    let mut span = (u32::MAX, 0);
    for &i in &bucket.members {
        // A pattern without lengths (never the case) admits any.
        let (lo, hi) = lens.get(i).copied().unwrap_or((0, u32::MAX));
        span = (span.0.min(lo), span.1.max(hi));
    }
    let single = bucket.members.len() == 1;
    Target {
        bucket: b,
        first,
        lens: span,
        single,
        bare: single && bare.get(first).copied().unwrap_or(false),
    }
}

/// Whether a pattern is `?`s, `*`, a literal, `*`, `?`s: it matches exactly
/// the names holding the literal with at least as many characters before
/// and after it as it has `?`s on each side.
fn is_bare(atoms: &[Atom]) -> bool {
    let mut segments = atoms.split(|a| *a == Atom::Star);
    let any = |seg: &[Atom]| seg.iter().all(|a| *a == Atom::Any);
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(head), Some(mid), Some(tail), None) => {
            any(head) && any(tail) && !mid.is_empty() && mid.iter().all(|a| lit(a).is_some())
        }
        _ => false,
    }
}

/// At most this many offsets are walked one by one.
const OFFSET_WALKS: usize = 4;

/// A key of an automaton. The three automata are each of one kind: keys at
/// an offset (from the start, or from the end) use `at`, `target` and
/// `more`; keys that may sit anywhere use `target` and `room`.
///
/// A walk loads one key per hit, each likely a cache miss with thousands of
/// keys: a key is one cache line (64 bytes), never split across two.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Key {
    /// Length in characters.
    chars: u32,
    /// The lowest offset the key is filed at, and the bucket there.
    at: u32,
    target: Target,
    /// Further `(offset, bucket)`s, sorted by offset (usually none).
    more: Box<[(u32, Target)]>,
    /// For a key that may sit anywhere: the bucket's `room`.
    room: (u32, u32),
    /// What was cut off the key (see [`trim_to_unique`]): `(start,
    /// length)` in `Keys::rest`. A hit counts only if the name goes on
    /// with it, which spares confirming the patterns of a key that the
    /// name only starts (`4321` of `4321_eteled__`, walked from the end of
    /// `..._delete_1234~4321`).
    rest: (u32, u32),
}

impl Keys {
    /// What was cut off `key`.
    fn rest(&self, key: &Key) -> &[u8] {
        let (start, len) = (key.rest.0 as usize, key.rest.1 as usize);
        self.rest.get(start..start + len).unwrap_or_default()
    }

    /// Whether `bytes` (the name, in the keys' direction), after its first
    /// `read` bytes, goes on with what was cut off `key`.
    #[inline]
    fn goes_on(&self, key: &Key, bytes: &[u8], read: usize, backwards: bool) -> bool {
        let (start, len) = (key.rest.0 as usize, key.rest.1 as usize);
        if len == 0 {
            return true;
        }
        let Some(rest) = self.rest.get(start..start + len) else {
            return true;
        };
        if backwards {
            let end = bytes.len().wrapping_sub(read);
            match end.checked_sub(len).and_then(|from| bytes.get(from..end)) {
                Some(name) => name.iter().rev().eq(rest),
                None => false,
            }
        } else {
            bytes.get(read..read + len) == Some(rest)
        }
    }
}

impl Key {
    /// The bucket filed at offset `j`, if any.
    #[inline]
    fn at(&self, j: u32) -> Option<&Target> {
        if self.at == j {
            return Some(&self.target);
        }
        if self.more.is_empty() || j < self.at {
            return None;
        }
        self.more
            .binary_search_by_key(&j, |&(at, _)| at)
            .ok()
            .map(|k| &self.more[k].1)
    }

    /// Every bucket filed under the key.
    fn targets(&self) -> impl Iterator<Item = &Target> {
        std::iter::once(&self.target).chain(self.more.iter().map(|(_, t)| t))
    }
}

/// Patterns filed together, in index order.
#[derive(Clone, Debug, Default)]
struct Bucket {
    members: Vec<usize>,
    filter: Option<Filter>,
    /// For a key that may sit anywhere: the fewest characters any member
    /// needs before the key and after it, so that an occurrence too near
    /// either end of the name is no candidate.
    room: (u32, u32),
}

/// A position filter over a bucket's members (see the module docs).
#[derive(Clone, Debug)]
struct Filter {
    /// Words per bitset, and summary words ahead of them (bit `w` of the
    /// summary: word `w` is not zero).
    words: usize,
    summary: usize,
    probes: Vec<Probe>,
    /// Bitsets, each `summary + words` long.
    bits: Vec<u64>,
}

/// Which value of the name a probe reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spot {
    /// The character `j` after the start.
    Start(u32),
    /// The character `j` before the end (0: the last one).
    End(u32),
    /// The length in characters, capped at [`LEN_CAP`].
    Len,
}

#[derive(Clone, Debug)]
struct Probe {
    spot: Spot,
    /// Start of each interval of values, ascending; the first is 0.
    starts: Vec<u32>,
    /// Bitset offset (into `Filter::bits`) of each interval.
    sets: Vec<u32>,
    /// Bitset offset of each ASCII value, looked up once.
    ascii: Box<[u32; 128]>,
    /// Bitset offset when the name has no character at the spot.
    none: u32,
}

/// A fixed, fast hash for the exact-name map. Its keys are the policy's
/// patterns, not the names checked, so names cannot crowd the table (the
/// attack a randomly keyed hash defends against), and a check is spared
/// SipHash over the whole name.
#[derive(Clone, Copy, Debug, Default)]
struct FixedHash;

impl std::hash::BuildHasher for FixedHash {
    type Hasher = FixedHasher;
    fn build_hasher(&self) -> FixedHasher {
        FixedHasher(0)
    }
}

/// FxHash-style: a multiply and rotate per 8 bytes.
struct FixedHasher(u64);

impl std::hash::Hasher for FixedHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top of the hash: fold
        // the well-mixed high bits down as well.
        self.0 ^ (self.0 >> 29)
    }
}

/// One check in progress.
struct Query<'a> {
    name: &'a str,
    best: usize,
    total: Option<u32>,
}

impl Query<'_> {
    /// The name's length in characters.
    fn total(&mut self) -> u32 {
        *self
            .total
            .get_or_insert_with(|| u32::try_from(self.name.chars().count()).unwrap_or(u32::MAX))
    }

    /// Whether a name of this length can match a pattern whose names have
    /// `lens` characters (shortest, longest). A name has at least a quarter
    /// as many characters as bytes and at most as many: its byte length
    /// often settles the question without counting.
    #[inline]
    fn fits(&mut self, (shortest, longest): (u32, u32)) -> bool {
        let bytes = u32::try_from(self.name.len()).unwrap_or(u32::MAX);
        if bytes < shortest {
            return false;
        }
        if longest == u32::MAX && bytes / 4 >= shortest {
            return true;
        }
        let n = self.total();
        shortest <= n && n <= longest
    }

    fn value(&mut self, spot: Spot) -> Option<u32> {
        match spot {
            Spot::Start(j) => self.name.chars().nth(j as usize).map(u32::from),
            Spot::End(j) => self.name.chars().rev().nth(j as usize).map(u32::from),
            Spot::Len => Some(self.total().min(LEN_CAP)),
        }
    }
}

/// Scratch space for names that hit many keys (long names), kept between
/// checks.
#[derive(Default)]
struct Scratch {
    /// Buckets already collected: a bitset over bucket ids, and the ids set.
    seen: Vec<u64>,
    seen_ids: Vec<usize>,
    /// The collected hits past the few kept on the stack.
    more: Vec<(usize, u32)>,
    /// Heavy states already handled by the inside walk.
    /// (State ids come from the automaton, not the name: no need for a
    /// randomly keyed hasher, whose setup would cost every check.)
    heavy: HashSet<usize, BuildHasherDefault<DefaultHasher>>,
}

impl Scratch {
    /// Sets the bit of bucket `id`; whether it was clear.
    fn mark(&mut self, id: usize) -> bool {
        let (w, bit) = (id / 64, 1u64 << (id % 64));
        if self.seen.len() <= w {
            self.seen.resize(w + 1, 0);
        }
        let new = self.seen[w] & bit == 0;
        if new {
            self.seen[w] |= bit;
            self.seen_ids.push(id);
        }
        new
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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
            Some(build_index(&parsed, build_nfa))
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
        let mut q = Query {
            name,
            best: index.exact.get(name).copied().unwrap_or(usize::MAX),
            total: None,
        };
        let mut hits = Hits::new(q.best);
        let bytes = name.as_bytes();
        if let Some(keys) = &index.head {
            if keys.per_offset {
                for &j in &keys.offsets {
                    // Ascending offsets: once the name is too short for one,
                    // it is for the rest.
                    let Some((at, _)) = name.char_indices().nth(j as usize) else {
                        break;
                    };
                    walk_from(keys, j, &bytes[at..], false, &mut q, &mut hits);
                }
            } else {
                walk_all(keys, bytes, false, &mut q, &mut hits);
            }
        }
        if let Some(keys) = &index.tail {
            if keys.per_offset {
                for &j in &keys.offsets {
                    let end = match j.checked_sub(1) {
                        None => bytes.len(),
                        Some(skip) => match name.char_indices().rev().nth(skip as usize) {
                            Some((at, _)) => at,
                            None => break,
                        },
                    };
                    let before = bytes.get(..end).unwrap_or_default();
                    walk_from(keys, j, before, true, &mut q, &mut hits);
                }
            } else {
                walk_all(keys, bytes, true, &mut q, &mut hits);
            }
        }
        if let Some(keys) = &index.inside {
            walk_inside(keys, bytes, &mut q, &mut hits);
        }
        hits.push(index, ALWAYS);
        // Lowest first member first: the first pattern confirmed is then the
        // answer, and every later candidate is pruned without a match.
        for &(first, b) in hits.sorted().iter() {
            if first >= q.best {
                break;
            }
            if b != ALWAYS && b & SINGLE != 0 {
                // The bucket's only pattern, its length already checked.
                if self.matchers.get(first).is_some_and(|m| m.is_match(name)) {
                    q.best = first;
                }
                continue;
            }
            let bucket = index.buckets.get(b as usize).unwrap_or(&index.always);
            self.try_bucket(index, bucket, &mut q);
        }
        hits.release();
        (q.best != usize::MAX).then_some(q.best)
    }
}

/// The bucket id that stands for the always-checked patterns.
const ALWAYS: u32 = u32::MAX;

/// Marks a hit's bucket id: the bucket's one pattern is confirmed directly.
const SINGLE: u32 = 1 << 31;

/// Buckets the walks hit, as `(first member, bucket)`, each once, to be
/// tried after the walks in index order. The first few sit on the stack and
/// are deduplicated by a scan, so a typical check allocates nothing and
/// touches no thread-local; past them the thread's scratch space (a bitset
/// over bucket ids) keeps a long name's repeated keys from piling up.
struct Hits {
    best: usize,
    few: [(usize, u32); 16],
    len: usize,
    big: Option<Scratch>,
}

impl Hits {
    fn new(best: usize) -> Hits {
        Hits {
            best,
            few: [(0, 0); 16],
            len: 0,
            big: None,
        }
    }

    fn scratch(&mut self) -> &mut Scratch {
        self.big.get_or_insert_with(take_scratch)
    }

    fn push(&mut self, index: &Index, b: u32) {
        let bucket = index.buckets.get(b as usize).unwrap_or(&index.always);
        if let Some(&first) = bucket.members.first() {
            self.add(first, b);
        }
    }

    /// Adds the bucket of a key's hit, unless no member can match a name of
    /// this length.
    #[inline]
    fn target(&mut self, t: &Target, q: &mut Query) {
        if t.first >= self.best || !q.fits(t.lens) {
            return;
        }
        let single = t.single && t.bucket < SINGLE;
        self.add(t.first, if single { t.bucket | SINGLE } else { t.bucket });
    }

    /// Adds bucket `b`, whose lowest pattern index is `first`.
    fn add(&mut self, first: usize, b: u32) {
        // The exact-name map may already have beaten it.
        if first >= self.best {
            return;
        }
        if self.big.is_none() {
            if self.few[..self.len].iter().any(|&(_, seen)| seen == b) {
                return;
            }
            if let Some(slot) = self.few.get_mut(self.len) {
                *slot = (first, b);
                self.len += 1;
                return;
            }
            let few = self.few;
            let scratch = self.scratch();
            for (f, seen) in few {
                scratch.mark((seen & !SINGLE) as usize);
                scratch.more.push((f, seen));
            }
        }
        let scratch = self.scratch();
        if b == ALWAYS || scratch.mark((b & !SINGLE) as usize) {
            scratch.more.push((first, b));
        }
    }

    /// Every hit, by first member.
    fn sorted(&mut self) -> &[(usize, u32)] {
        match &mut self.big {
            None => {
                // A few, usually already in order: insertion sort.
                let few = &mut self.few[..self.len];
                for i in 1..few.len() {
                    let mut j = i;
                    while j > 0 && few[j - 1].0 > few[j].0 {
                        few.swap(j - 1, j);
                        j -= 1;
                    }
                }
                few
            }
            Some(scratch) => {
                heap_sort_by_key(&mut scratch.more, |&(first, _)| first);
                &scratch.more
            }
        }
    }

    fn release(self) {
        if let Some(scratch) = self.big {
            give_back_scratch(scratch);
        }
    }
}

/// Pushes every bucket filed under `keys`: what a walk would have found,
/// and more. Only for an automaton that cannot start a walk.
fn hit_all(keys: &Keys, q: &mut Query, hits: &mut Hits) {
    for key in &keys.keys {
        for t in key.targets() {
            hits.target(t, q);
        }
    }
}

impl PatternSet {
    /// Whether pattern `i` matches the name.
    #[inline]
    fn confirm(&self, index: &Index, i: usize, q: &mut Query) -> bool {
        if let Some(&lens) = index.lens.get(i) {
            if !q.fits(lens) {
                return false;
            }
        }
        self.matchers.get(i).is_some_and(|m| m.is_match(q.name))
    }

    /// Confirms, in index order, the first member of `bucket` (that passes
    /// its filter) which matches and beats the best so far.
    fn try_bucket(&self, index: &Index, bucket: &Bucket, q: &mut Query) {
        match bucket.members.first() {
            Some(&first) if first < q.best => {}
            _ => return,
        }
        let Some(filter) = &bucket.filter else {
            for &i in &bucket.members {
                if i >= q.best {
                    break;
                }
                if self.confirm(index, i, q) {
                    q.best = i;
                    break;
                }
            }
            return;
        };
        let mut sets: [&[u64]; FILTER_PROBES] = [&[]; FILTER_PROBES];
        let span = filter.summary + filter.words;
        for (slot, probe) in sets.iter_mut().zip(&filter.probes) {
            let at = probe.lookup(q.value(probe.spot)) as usize;
            *slot = filter.bits.get(at..at + span).unwrap_or(&[]);
        }
        let sets = &sets[..filter.probes.len()];
        if sets.iter().any(|s| s.len() != span) {
            // A malformed filter must not hide a pattern: confirm them all.
            let plain = Bucket {
                members: bucket.members.clone(),
                ..Bucket::default()
            };
            return self.try_bucket(index, &plain, q);
        }
        for sw in 0..filter.summary {
            let mut s = sets.iter().fold(!0u64, |acc, set| acc & set[sw]);
            while s != 0 {
                let w = sw * 64 + s.trailing_zeros() as usize;
                s &= s - 1;
                let mut x = sets
                    .iter()
                    .fold(!0u64, |acc, set| acc & set[filter.summary + w]);
                while x != 0 {
                    let local = w * 64 + x.trailing_zeros() as usize;
                    x &= x - 1;
                    let Some(&i) = bucket.members.get(local) else {
                        return;
                    };
                    if i >= q.best {
                        return;
                    }
                    if self.confirm(index, i, q) {
                        q.best = i;
                        return;
                    }
                }
            }
        }
    }
}

/// Walks `bytes` (the name from character offset `j`, in the keys'
/// direction) anchored, and collects the buckets of the keys that start
/// there and are filed at `j`.
fn walk_from(keys: &Keys, j: u32, bytes: &[u8], backwards: bool, q: &mut Query, hits: &mut Hits) {
    let Ok(mut sid) = keys.nfa.start_state(Anchored::Yes) else {
        return hit_all(keys, q, hits);
    };
    let mut chars = 0u32;
    for (read, byte) in (1..).zip(in_order(bytes, backwards)) {
        chars += u32::from(byte & 0xC0 != 0x80);
        sid = keys.nfa.next_state(Anchored::Yes, sid, byte);
        if !keys.nfa.is_special(sid) {
            continue;
        }
        if keys.nfa.is_dead(sid) {
            break;
        }
        if !keys.nfa.is_match(sid) {
            continue;
        }
        // A state lists its own key (the bytes read, keys being distinct)
        // first, then those of the keys that are only suffixes of what was
        // read (copied along failure links after it), which do not start
        // at `j`: only the first can be a hit.
        let id = keys.nfa.match_pattern(sid, 0).as_usize();
        let Some(key) = keys.keys.get(id).filter(|key| key.chars == chars) else {
            continue;
        };
        if let Some(t) = key.at(j) {
            if keys.goes_on(key, bytes, read, backwards) {
                hits.target(t, q);
            }
        }
    }
}

/// One unanchored walk over the name for keys that may sit anywhere:
/// collects each hit key's bucket once.
fn walk_inside(keys: &Keys, bytes: &[u8], q: &mut Query, hits: &mut Hits) {
    let Ok(start) = keys.nfa.start_state(Anchored::No) else {
        return hit_all(keys, q, hits);
    };
    // Characters up to the current hit, counted only as far as hits go.
    let (mut counted, mut chars) = (0usize, 0u32);
    let mut sid = start;
    let mut at = 0;
    while at < bytes.len() {
        if sid == start {
            // Bytes no key starts with leave the walk where it is: skip
            // them without touching the automaton.
            let rest = bytes.get(at..).unwrap_or_default();
            match rest.iter().position(|&b| keys.first[usize::from(b)]) {
                Some(skip) => at += skip,
                None => break,
            }
        }
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        at += 1;
        sid = keys.nfa.next_state(Anchored::No, sid, byte);
        if !keys.nfa.is_special(sid) {
            continue;
        }
        if keys.nfa.is_dead(sid) {
            break;
        }
        if !keys.nfa.is_match(sid) {
            continue;
        }
        let count = keys.nfa.match_len(sid);
        // A state met again has had all of its keys handled.
        if count > HEAVY && !hits.scratch().heavy.insert(sid.as_usize()) {
            continue;
        }
        let newly = bytes.get(counted..at).unwrap_or_default();
        chars += to_u32(newly.iter().filter(|&&b| b & 0xC0 != 0x80).count());
        counted = at;
        for k in 0..count {
            let id = keys.nfa.match_pattern(sid, k).as_usize();
            let Some(key) = keys.keys.get(id) else {
                continue;
            };
            // Too near an end for every pattern of the bucket: a later
            // occurrence of the key may still do.
            let (before, after) = key.room;
            if chars.saturating_sub(key.chars) < before {
                continue;
            }
            if after > 0 && q.total().saturating_sub(chars) < after {
                continue;
            }
            if !keys.goes_on(key, bytes, at, false) {
                continue;
            }
            let t = &key.target;
            if t.bare && t.first < q.best {
                // The whole literal is here (the cut-off part too), with
                // room enough before it; a match if there is room after it.
                let rest = keys.rest(key);
                let rest_chars = to_u32(rest.iter().filter(|&&b| b & 0xC0 != 0x80).count());
                if q.total().saturating_sub(chars.saturating_add(rest_chars)) >= after {
                    q.best = t.first;
                    hits.best = hits.best.min(t.first);
                }
                continue;
            }
            // A key can occur many times in a long name: `Hits` keeps its
            // bucket once.
            hits.target(t, q);
        }
    }
}

/// `n`, saturated to `u32`.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One unanchored walk over `bytes` (the name, in the keys' direction)
/// that collects the bucket of every key hit at the offset it is filed
/// at, and stops past the farthest: for key sets with many offsets.
fn walk_all(keys: &Keys, bytes: &[u8], backwards: bool, q: &mut Query, hits: &mut Hits) {
    let Ok(start) = keys.nfa.start_state(Anchored::No) else {
        return hit_all(keys, q, hits);
    };
    let mut sid = start;
    let mut chars = 0u32;
    for (read, byte) in (1..).zip(in_order(bytes, backwards)) {
        chars += u32::from(byte & 0xC0 != 0x80);
        if chars > keys.reach {
            break;
        }
        if sid == start && !keys.first[usize::from(byte)] {
            continue;
        }
        sid = keys.nfa.next_state(Anchored::No, sid, byte);
        if !keys.nfa.is_special(sid) {
            continue;
        }
        if keys.nfa.is_dead(sid) {
            break;
        }
        if !keys.nfa.is_match(sid) {
            continue;
        }
        for k in 0..keys.nfa.match_len(sid) {
            let id = keys.nfa.match_pattern(sid, k).as_usize();
            let Some(key) = keys.keys.get(id) else {
                continue;
            };
            let at = chars.checked_sub(key.chars).and_then(|j| key.at(j));
            if let Some(t) = at {
                if keys.goes_on(key, bytes, read, backwards) {
                    hits.target(t, q);
                }
            }
        }
    }
}

/// The bytes forwards, or backwards: one iterator type, so each walk is
/// compiled once (the wasm pays for every copy).
fn in_order(bytes: &[u8], backwards: bool) -> impl Iterator<Item = u8> + '_ {
    let last = bytes.len().wrapping_sub(1);
    (0..bytes.len()).filter_map(move |k| bytes.get(if backwards { last - k } else { k }).copied())
}

/// Borrows the thread's scratch space, or a fresh one should it already be
/// in use (a re-entrant check).
fn take_scratch() -> Scratch {
    SCRATCH
        .try_with(|s| s.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)).ok())
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give_back_scratch(mut scratch: Scratch) {
    for &id in &scratch.seen_ids {
        if let Some(w) = scratch.seen.get_mut(id / 64) {
            *w = 0;
        }
    }
    scratch.seen_ids.clear();
    scratch.more.clear();
    scratch.heavy.clear();
    let _ = SCRATCH.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            *s = scratch;
        }
    });
}

impl Probe {
    #[inline]
    fn lookup(&self, value: Option<u32>) -> u32 {
        match value {
            None => self.none,
            Some(v) => match self.ascii.get(v as usize) {
                Some(&at) => at,
                None => self.sets[interval_of(&self.starts, v)],
            },
        }
    }
}

/// The character `c` an atom stands for, when it is a literal.
fn lit(atom: &Atom) -> Option<char> {
    match atom {
        Atom::Lit(c) => Some(*c),
        _ => None,
    }
}

/// What each member of a bucket accepts at one spot: member `m`'s values
/// are the sorted ranges `ranges[ends[m - 1]..ends[m]]`, and `none[m]` says
/// whether it accepts a name with no character there. One buffer for all
/// members: thousands of small vectors made building a filter mostly
/// allocation.
struct Column {
    ranges: Vec<(u32, u32)>,
    ends: Vec<usize>,
    none: Vec<bool>,
}

impl Column {
    fn of(shapes: &[Shape], spot: Spot) -> Column {
        let mut col = Column {
            ranges: Vec::with_capacity(shapes.len()),
            ends: Vec::with_capacity(shapes.len()),
            none: Vec::with_capacity(shapes.len()),
        };
        for shape in shapes {
            let none = shape.push_accepted(spot, &mut col.ranges);
            col.ends.push(col.ranges.len());
            col.none.push(none);
        }
        col
    }

    /// Each member's ranges and whether it accepts "no character".
    fn members(&self) -> impl Iterator<Item = (&[(u32, u32)], bool)> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.none)
            .map(|((from, &to), &none)| (self.ranges.get(from..to).unwrap_or_default(), none))
    }
}

/// A pattern's shape as the filter sees it: the fixed-width atoms it starts
/// and ends with, and the shortest name it can match.
struct Shape<'a> {
    head: &'a [Atom],
    tail: &'a [Atom],
    star: bool,
    min_len: usize,
}

impl<'a> Shape<'a> {
    fn of(atoms: &'a [Atom]) -> Shape<'a> {
        let first_star = atoms.iter().position(|a| *a == Atom::Star);
        let last_star = atoms.iter().rposition(|a| *a == Atom::Star);
        match (first_star, last_star) {
            (Some(f), Some(l)) => Shape {
                head: &atoms[..f],
                tail: &atoms[l + 1..],
                star: true,
                min_len: atoms.iter().filter(|a| **a != Atom::Star).count(),
            },
            _ => Shape {
                head: atoms,
                tail: atoms,
                star: false,
                min_len: atoms.len(),
            },
        }
    }

    /// Appends the values this pattern accepts at `spot` to `out`; whether
    /// it accepts a name with no character there.
    fn push_accepted(&self, spot: Spot, out: &mut Vec<(u32, u32)>) -> bool {
        let side = |fixed: &[Atom], j: u32, from_end: bool, out: &mut Vec<(u32, u32)>| {
            let j = j as usize;
            if j < fixed.len() {
                let atom = if from_end {
                    &fixed[fixed.len() - 1 - j]
                } else {
                    &fixed[j]
                };
                push_accepted(atom, out);
                false
            } else if self.star {
                out.push((0, MAX_CHAR));
                self.min_len <= j
            } else {
                true
            }
        };
        match spot {
            Spot::Start(j) => side(self.head, j, false, out),
            Spot::End(j) => side(self.tail, j, true, out),
            Spot::Len => {
                let min = u32::try_from(self.min_len).unwrap_or(u32::MAX).min(LEN_CAP);
                let max = if self.star { LEN_CAP } else { min };
                out.push((min, max));
                false
            }
        }
    }
}

/// A literal run of a pattern, where it must sit in a name, and how many
/// characters the pattern needs before and after it.
type Candidate = (String, At, (u32, u32));

/// Every literal run of a pattern, with where it must sit in a name.
fn key_candidates(atoms: &[Atom]) -> Vec<Candidate> {
    let star = atoms.contains(&Atom::Star);
    let fixed = atoms.iter().filter(|a| **a != Atom::Star).count();
    let segments: Vec<&[Atom]> = atoms.split(|a| *a == Atom::Star).collect();
    let last = segments.len() - 1;
    let mut out = Vec::new();
    let mut passed = 0;
    for (s, seg) in segments.iter().enumerate() {
        let mut k = 0;
        while k < seg.len() {
            if lit(&seg[k]).is_none() {
                k += 1;
                continue;
            }
            let from = k;
            let mut text = String::new();
            while let Some(c) = seg.get(k).and_then(lit) {
                text.push(c);
                k += 1;
            }
            let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            let at = if s == 0 {
                At::Start(offset(from))
            } else if s == last && star {
                At::End(offset(seg.len() - k))
            } else {
                At::Inside
            };
            let before = passed + from;
            let room = (offset(before), offset(fixed - before - (k - from)));
            out.push((text, at, room));
        }
        passed += seg.len();
    }
    out
}

/// Builds an automaton over `keys` (bytes) with states dense to `depth`,
/// or says it could not.
type NfaBuilder = fn(&[Vec<u8>], Option<usize>) -> Option<NFA>;

fn build_nfa(keys: &[Vec<u8>], depth: Option<usize>) -> Option<NFA> {
    // A contiguous NFA: builds several times faster than a DFA for
    // thousands of literals, and walks as fast on names this short (a DFA
    // of 10 000 keys measured 5 to 50 MB). States near the root are made
    // dense, one lookup per byte instead of a scan of their transitions
    // and a chase of failure links, as deep as the estimated cost stays
    // under DENSE_BYTES.
    let mut builder = NFA::builder();
    builder.match_kind(MatchKind::Standard);
    if let Some(depth) = depth {
        builder.dense_depth(depth);
    }
    builder.build(keys).ok()
}

/// Memory allowed for the dense states of one key automaton.
const DENSE_BYTES: usize = 2 << 20;

/// The deepest dense depth (8 or 4) whose states would fit DENSE_BYTES:
/// trie nodes that deep, times the byte classes, times 4 bytes. `order`
/// sorts `keys`.
fn dense_depth(keys: &[Vec<u8>], order: &[usize]) -> Option<usize> {
    let mut seen = [false; 256];
    for &b in keys.iter().flatten() {
        seen[usize::from(b)] = true;
    }
    let classes = seen.iter().filter(|&&s| s).count() + 1;
    let sorted: Vec<&[u8]> = order.iter().map(|&i| keys[i].as_slice()).collect();
    [8usize, 4].into_iter().find(|&depth| {
        // Distinct prefixes of at most `depth` bytes: each key adds those
        // it does not share with the key before it.
        let mut nodes = 0usize;
        let mut prev: &[u8] = &[];
        for key in &sorted {
            let shared = key.iter().zip(prev).take_while(|(a, b)| a == b).count();
            nodes += key.len().min(depth).saturating_sub(shared.min(depth));
            prev = key;
        }
        nodes.saturating_mul(classes).saturating_mul(4) <= DENSE_BYTES
    })
}

fn build_index(parsed: &[Vec<Atom>], nfa: NfaBuilder) -> Index {
    let mut exact: HashMap<Box<str>, usize, FixedHash> = HashMap::default();
    let mut always: Vec<usize> = Vec::new();
    let mut candidates: Vec<(usize, Vec<Candidate>)> = Vec::new();
    let mut freq: HashMap<(&str, At), usize, FixedHash> = HashMap::default();
    for (i, atoms) in parsed.iter().enumerate() {
        if atoms.contains(&Atom::Never) {
            continue;
        }
        if let Some(text) = atoms.iter().map(lit).collect::<Option<String>>() {
            exact.entry(text.into_boxed_str()).or_insert(i);
            continue;
        }
        let cands = key_candidates(atoms);
        if cands.is_empty() {
            always.push(i);
        } else {
            candidates.push((i, cands));
        }
    }
    // (A run repeated inside one pattern counts twice: this only ranks
    // keys, it decides nothing.)
    for (_, cands) in &candidates {
        for (text, at, _) in cands {
            *freq.entry((text.as_str(), *at)).or_insert(0) += 1;
        }
    }
    // Each pattern under its most selective key: the fewest patterns
    // sharing it, then an anchored walk, then the longest.
    let mut filed: HashMap<(String, At), usize, FixedHash> = HashMap::default();
    let mut buckets: Vec<Bucket> = Vec::new();
    for (i, cands) in &candidates {
        let best = cands.iter().min_by_key(|(t, a, _)| {
            let shared = freq.get(&(t.as_str(), *a)).copied().unwrap_or(0);
            (shared, a.walk_cost(), std::cmp::Reverse(t.len()))
        });
        let Some((text, at, room)) = best else {
            always.push(*i);
            continue;
        };
        let b = *filed.entry((text.clone(), *at)).or_insert_with(|| {
            buckets.push(Bucket {
                room: *room,
                ..Bucket::default()
            });
            buckets.len() - 1
        });
        let bucket = &mut buckets[b];
        bucket.members.push(*i);
        bucket.room = (bucket.room.0.min(room.0), bucket.room.1.min(room.1));
    }
    drop(freq);

    // Three automata: keys at an offset from the start, keys at an offset
    // from the end (reversed, so that offsets count from the end), keys
    // anywhere.
    let (mut head, mut tail, mut inside) = (Vec::new(), Vec::new(), Vec::new());
    for ((text, at), b) in filed {
        match at {
            At::Start(_) => head.push((text.into_bytes(), at, b)),
            At::End(j) => {
                let mut bytes = text.into_bytes();
                bytes.reverse();
                tail.push((bytes, At::Start(j), b));
            }
            At::Inside => inside.push((text.into_bytes(), at, b)),
        }
    }
    let lens: Vec<(u32, u32)> = parsed
        .iter()
        .map(|atoms| {
            let fixed = atoms.iter().filter(|a| **a != Atom::Star).count();
            let shortest = u32::try_from(fixed).unwrap_or(u32::MAX);
            let longest = if atoms.contains(&Atom::Star) {
                u32::MAX
            } else {
                shortest
            };
            (shortest, longest)
        })
        .collect();
    let bare: Vec<bool> = parsed.iter().map(|atoms| is_bare(atoms)).collect();
    let mut automaton = |filed| {
        build_keys(filed, nfa, &buckets, &lens, &bare).unwrap_or_else(|orphans| {
            always.extend(orphan_members(&mut buckets, &orphans));
            None
        })
    };
    let (head, tail, inside) = (automaton(head), automaton(tail), automaton(inside));
    sort_dedup(&mut always);
    for bucket in &mut buckets {
        bucket.filter = Filter::build(&bucket.members, parsed);
    }
    let filter = Filter::build(&always, parsed);
    Index {
        lens,
        exact,
        head,
        tail,
        inside,
        buckets,
        always: Bucket {
            members: always,
            filter,
            room: (0, 0),
        },
    }
}

/// Heapsort: O(n log n) comparisons in a few hundred bytes of wasm, where
/// another instantiation of the standard sort would cost about 4 KB. Only
/// for the keys of an automaton, sorted once per build.
fn heap_sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && key(&v[child]) < key(&v[child + 1]) {
            child += 1;
        }
        if key(&v[root]) >= key(&v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Sorts and dedups pattern indices (through the one numeric sort).
fn sort_dedup(v: &mut Vec<usize>) {
    let mut wide: Vec<u64> = v.iter().map(|&i| i as u64).collect();
    sort_u64(&mut wide);
    wide.dedup();
    *v = wide.into_iter().map(|i| i as usize).collect();
}

/// Empties the buckets of a key automaton that could not be built and
/// returns their patterns, to be checked always: failing to build an index
/// must never drop a pattern (a deny pattern least of all).
fn orphan_members(buckets: &mut [Bucket], orphans: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for &b in orphans {
        if let Some(bucket) = buckets.get_mut(b) {
            out.append(&mut bucket.members);
        }
    }
    out
}

/// The automaton over the keys filed as `(bytes, at, bucket)` (`at` is
/// `Start(j)` or `Inside`); `Ok(None)` when there are none; `Err(buckets)`
/// when it cannot be built, with the buckets that are then unreachable.
fn build_keys(
    filed: Vec<(Vec<u8>, At, usize)>,
    nfa: NfaBuilder,
    buckets: &[Bucket],
    lens: &[(u32, u32)],
    bare: &[bool],
) -> Result<Option<Keys>, Vec<usize>> {
    if filed.is_empty() {
        return Ok(None);
    }
    let mut ids: HashMap<Vec<u8>, usize, FixedHash> = HashMap::default();
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut spots: Vec<Vec<(At, usize)>> = Vec::new();
    for (bytes, at, b) in &filed {
        let id = *ids.entry(bytes.clone()).or_insert_with(|| {
            texts.push(bytes.clone());
            spots.push(Vec::new());
            texts.len() - 1
        });
        spots[id].push((*at, *b));
    }
    let all_buckets = || filed.iter().map(|&(_, _, b)| b).collect::<Vec<usize>>();
    #[cfg(test)]
    if tests::FAIL_NFA.with(|f| f.get()) {
        return Err(all_buckets());
    }
    // One sort of the keys serves both: cutting keys keeps their order.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    heap_sort_by_key(&mut order, |&i| texts[i].as_slice());
    let mut rest = Vec::new();
    let spans = trim_to_unique(&mut texts, &order, &mut rest);
    let Some(automaton) = nfa(&texts, dense_depth(&texts, &order)) else {
        return Err(all_buckets());
    };
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut keys = Vec::with_capacity(texts.len());
    let mut offsets: Vec<u32> = Vec::new();
    let mut reach = 0u32;
    let mut first = Box::new([false; 256]);
    for ((text, spot), cut) in texts.iter().zip(spots).zip(spans) {
        if let Some(&b) = text.first() {
            first[usize::from(b)] = true;
        }
        let chars = to_u32(text.iter().filter(|&&b| b & 0xC0 != 0x80).count());
        let mut at = Vec::new();
        let mut room = (0, 0);
        for (a, b) in spot {
            let bucket = buckets.get(b);
            let target = target_of(to_u32(b), bucket, lens, bare);
            match a {
                At::Start(j) | At::End(j) => {
                    offsets.push(j);
                    reach = reach.max(j.saturating_add(chars));
                    at.push((j, target));
                }
                At::Inside => {
                    room = bucket.map_or((0, 0), |x| x.room);
                    at.push((0, target));
                }
            }
        }
        // By offset (a key is filed once at each), through the one numeric
        // sort.
        let mut order: Vec<u64> = at
            .iter()
            .enumerate()
            .map(|(k, &(j, _))| (u64::from(j) << 32) | k as u64)
            .collect();
        sort_u64(&mut order);
        let mut at = order
            .into_iter()
            .filter_map(|p| at.get(p as u32 as usize).copied());
        // (Every key is filed somewhere; were one not, it would hit nothing.)
        let (j, target) = at.next().unwrap_or((0, NO_TARGET));
        keys.push(Key {
            chars,
            at: j,
            target,
            more: at.collect(),
            room,
            rest: cut,
        });
    }
    let mut wide: Vec<u64> = offsets.into_iter().map(u64::from).collect();
    sort_u64(&mut wide);
    wide.dedup();
    let offsets: Vec<u32> = wide.into_iter().map(|j| j as u32).collect();
    Ok(Some(Keys {
        nfa: automaton,
        keys,
        per_offset: offsets.len() <= OFFSET_WALKS,
        offsets,
        reach,
        first,
        rest,
    }))
}

/// Cuts each key (distinct, in walking order) to its shortest prefix that
/// no other key starts with, at a character boundary. A name holding a key
/// holds its prefix at the same place, so no pattern is lost; and keys that
/// share a long tail (`__delete_17`, `__delete_18`, walked from the end)
/// stop sharing a long trie, which makes the automaton several times
/// smaller and faster to build. Distinct keys stay distinct: a prefix that
/// starts no other key equals no other key's prefix.
///
/// What is cut off each key is appended to `cut`; returns where each key's
/// part lies in it, `(start, length)`.
fn trim_to_unique(texts: &mut [Vec<u8>], order: &[usize], cut: &mut Vec<u8>) -> Vec<(u32, u32)> {
    let shared = |a: usize, b: usize| {
        texts[a]
            .iter()
            .zip(&texts[b])
            .take_while(|(x, y)| x == y)
            .count()
    };
    let mut keep = vec![0; texts.len()];
    for (k, &i) in order.iter().enumerate() {
        let before = k.checked_sub(1).map_or(0, |p| shared(order[p], i));
        let after = order.get(k + 1).map_or(0, |&n| shared(n, i));
        let text = &texts[i];
        let mut len = (before.max(after) + 1).min(text.len());
        while text.get(len).is_some_and(|&b| b & 0xC0 == 0x80) {
            len += 1;
        }
        keep[i] = len;
    }
    let mut spans = Vec::with_capacity(texts.len());
    for (text, len) in texts.iter_mut().zip(keep) {
        let tail = text.get(len..).unwrap_or_default();
        spans.push((to_u32(cut.len()), to_u32(tail.len())));
        cut.extend_from_slice(tail);
        text.truncate(len);
    }
    spans
}

impl Filter {
    /// A filter over `members` (pattern indices, ascending), or `None` when
    /// the bucket is small or no position tells its patterns apart.
    fn build(members: &[usize], parsed: &[Vec<Atom>]) -> Option<Filter> {
        if members.len() < FILTER_FROM {
            return None;
        }
        let shapes: Vec<Shape> = members
            .iter()
            .filter_map(|&i| parsed.get(i))
            .map(|a| Shape::of(a))
            .collect();
        if shapes.len() != members.len() {
            return None;
        }
        let deepest = |f: fn(&Shape) -> usize| {
            let most = shapes.iter().map(f).max().unwrap_or(0);
            u32::try_from(most).unwrap_or(u32::MAX).min(FILTER_DEPTH)
        };
        let mut spots = vec![Spot::Len];
        spots.extend((0..deepest(|s| s.head.len())).map(Spot::Start));
        spots.extend((0..deepest(|s| s.tail.len())).map(Spot::End));
        // How many members pass, on average over the values some member
        // accepts, weighted by how many accept each: lower is sharper.
        let mut scored: Vec<(f64, Spot, Column)> = spots
            .into_iter()
            .map(|spot| {
                let column = Column::of(&shapes, spot);
                (sharpness(&column), spot, column)
            })
            .filter(|(score, _, _)| *score <= members.len() as f64 / 2.0)
            .collect();
        // The sharpest few, by repeated selection (a sort would be one more
        // instantiation in the wasm for a list this short).
        let mut chosen = Vec::with_capacity(FILTER_PROBES);
        while chosen.len() < FILTER_PROBES {
            let best = (0..scored.len()).min_by(|&a, &b| scored[a].0.total_cmp(&scored[b].0));
            let Some(best) = best else {
                break;
            };
            chosen.push(scored.swap_remove(best));
        }
        let scored = chosen;
        if scored.is_empty() {
            return None;
        }
        let words = members.len().div_ceil(64);
        let summary = words.div_ceil(64);
        let mut bits = Vec::new();
        let mut probes = Vec::new();
        for (_, spot, column) in scored {
            probes.push(Probe::build(spot, &column, words, summary, &mut bits));
        }
        Some(Filter {
            words,
            summary,
            probes,
            bits,
        })
    }
}

/// The expected number of members passing a probe: over every value (each
/// interval of values, and "no character"), the members accepting it,
/// weighted by that same count.
fn sharpness(column: &Column) -> f64 {
    // Each event is its value, shifted, with the low bit set for an end.
    let mut events: Vec<u64> = Vec::with_capacity(2 * column.ranges.len());
    for &(lo, hi) in &column.ranges {
        events.push(u64::from(lo) << 1);
        if hi < MAX_CHAR {
            events.push((u64::from(hi + 1) << 1) | 1);
        }
    }
    let none = column.none.iter().filter(|&&n| n).count() as f64;
    sort_u64(&mut events);
    let (mut sum, mut sq) = (none, none * none);
    let mut live = 0i64;
    let mut k = 0;
    while k < events.len() {
        let at = events[k] >> 1;
        while k < events.len() && events[k] >> 1 == at {
            live += if events[k] & 1 == 0 { 1 } else { -1 };
            k += 1;
        }
        let n = live as f64;
        sum += n;
        sq += n * n;
    }
    if sum == 0.0 {
        0.0
    } else {
        sq / sum
    }
}

impl Probe {
    fn build(
        spot: Spot,
        column: &Column,
        words: usize,
        summary: usize,
        bits: &mut Vec<u64>,
    ) -> Probe {
        let mut starts = interval_starts(&column.ranges);
        if starts.len() > FILTER_VALUES {
            let step = starts.len().div_ceil(FILTER_VALUES);
            starts = starts.into_iter().step_by(step).collect();
        }
        // One row of `words` per interval, then one for "no character".
        let mut rows = vec![0u64; (starts.len() + 1) * words];
        let none_row = starts.len();
        for (m, (ranges, no_char)) in column.members().enumerate() {
            let (w, bit) = (m / 64, 1u64 << (m % 64));
            for &(lo, hi) in ranges {
                let first = interval_of(&starts, lo);
                for (k, _) in starts
                    .iter()
                    .enumerate()
                    .skip(first)
                    .take_while(|(_, &s)| s <= hi)
                {
                    rows[k * words + w] |= bit;
                }
            }
            if no_char {
                rows[none_row * words + w] |= bit;
            }
        }
        let mut offsets: HashMap<&[u64], u32, FixedHash> = HashMap::default();
        let mut sets: Vec<u32> = Vec::with_capacity(starts.len() + 1);
        for row in rows.chunks_exact(words.max(1)) {
            let at = *offsets.entry(row).or_insert_with(|| {
                let at = u32::try_from(bits.len()).unwrap_or(u32::MAX);
                let mut head = vec![0u64; summary];
                for (w, &x) in row.iter().enumerate() {
                    if x != 0 {
                        head[w / 64] |= 1 << (w % 64);
                    }
                }
                bits.extend(head);
                bits.extend_from_slice(row);
                at
            });
            sets.push(at);
        }
        let none = sets.pop().unwrap_or(0);
        let mut ascii = Box::new([0u32; 128]);
        for (v, slot) in (0u32..).zip(ascii.iter_mut()) {
            *slot = sets[interval_of(&starts, v)];
        }
        Probe {
            spot,
            starts,
            sets,
            ascii,
            none,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Makes every key automaton fail to build, as an enormous key set
        /// would.
        pub(super) static FAIL_NFA: Cell<bool> = const { Cell::new(false) };
    }

    /// One pattern of every shape the index files differently, and names
    /// that hit, miss and nearly hit each.
    const TABLE_PATTERNS: [&str; 23] = [
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
    const TABLE_NAMES: [&str; 35] = [
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
    ];

    /// Bare `?`s-`*LITERAL*`-`?`s patterns (confirmed by the walk) and keys
    /// cut short (a hit needs what was cut off), with multi-byte
    /// characters on every side of the literal and room just enough, one
    /// short, and one over.
    #[test]
    fn walks_confirm_bare_patterns_and_check_what_was_cut() {
        let mut pats: Vec<String> = Vec::new();
        for i in 0..40 {
            pats.push(format!("?é*_op{i}_*??"));
            pats.push(format!("*dél{i}*"));
            pats.push(format!("mcp__*__delete_{i}"));
            pats.push(format!("*_{i}?.log"));
        }
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let idx = PatternSet::with_threshold(&pats, 0);
        let mut names: Vec<String> = Vec::new();
        for i in [0, 1, 3, 12, 13, 39, 40, 123] {
            for (before, after) in [
                ("aé", "bc"),
                ("é", "bc"),
                ("aé", "b"),
                ("😀é", "中中"),
                ("ae", "xy"),
            ] {
                names.push(format!("{before}_op{i}_{after}"));
                names.push(format!("{before}_op{i}{after}"));
                names.push(format!("{before}_op{i}_{after}_op{}_{after}", i + 1));
            }
            names.push(format!("dél{i}"));
            names.push(format!("xdél{i}é"));
            names.push(format!("dé{i}"));
            names.push(format!("mcp__x__delete_{i}"));
            names.push(format!("mcp__x__delete_{i}~{}", i + 1));
            names.push(format!("mcp__x__delet_{i}"));
            names.push(format!("{i}"));
            names.push(format!("a/b_{i}x.log"));
            names.push(format!("a/b_{i}.log"));
            names.push(format!("a/b{i}x.log"));
        }
        for name in &names {
            assert_eq!(
                idx.first_match(name),
                scan.first_match(name),
                "name {name:?}"
            );
        }
        assert!(names.iter().any(|n| scan.first_match(n).is_some()));
    }

    #[test]
    fn indexed_and_scanned_agree_on_a_table() {
        let scan = PatternSet::with_threshold(&TABLE_PATTERNS, usize::MAX);
        let idx = PatternSet::with_threshold(&TABLE_PATTERNS, 0);
        assert!(scan.index.is_none() && idx.index.is_some());
        for name in TABLE_NAMES {
            assert_eq!(
                idx.first_match(name),
                scan.first_match(name),
                "name {name:?}"
            );
        }
    }

    /// What an automaton files: `(key length, offset or "inside", members)`.
    fn filed(index: &Index, keys: Option<&Keys>) -> Vec<(u32, String, Vec<usize>)> {
        let mut out = Vec::new();
        for k in keys.map(|k| k.keys.as_slice()).unwrap_or_default() {
            let members = |t: &Target| index.buckets[t.bucket as usize].members.clone();
            let inside = index
                .inside
                .as_ref()
                .is_some_and(|x| std::ptr::eq(x, keys.unwrap()));
            if inside {
                out.push((k.chars, "inside".into(), members(&k.target)));
                continue;
            }
            let first = (k.at, k.target);
            for (j, t) in std::iter::once(&first).chain(k.more.iter()) {
                out.push((k.chars, format!("at {j}"), members(t)));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn patterns_are_filed_under_their_most_selective_key() {
        let pats = [
            "lit",
            "pre*",
            "*suf",
            "?in*ner?",
            "[z-a]",
            "t[0-9]12?",
            "t[0-9]34?",
            "[a]b[c]",
            "*",
            "?*mid*?",
        ];
        let set = PatternSet::with_threshold(&pats, 0);
        let index = set.index.as_ref().unwrap();
        assert_eq!(index.exact.get("lit"), Some(&0));
        // `[a]b[c]` is the literal `abc`.
        assert_eq!(index.exact.get("abc"), Some(&7));
        // `[z-a]` can never match: it is filed nowhere. `*` has no key.
        assert_eq!(index.always.members, vec![8]);
        // From the start: `pre` at 0, `12` and `34` at 2 (not the `t` both
        // share); each cut to the first character no other key starts with.
        assert_eq!(
            filed(index, index.head.as_ref()),
            vec![
                (1, "at 0".to_string(), vec![1]),
                (1, "at 2".to_string(), vec![5]),
                (1, "at 2".to_string(), vec![6]),
            ]
        );
        // From the end: `suf` ending the name, `ner` one before the end
        // (longer than `in`).
        assert_eq!(
            filed(index, index.tail.as_ref()),
            vec![
                (1, "at 0".to_string(), vec![2]),
                (1, "at 1".to_string(), vec![3]),
            ]
        );
        assert_eq!(
            filed(index, index.inside.as_ref()),
            vec![(1, "inside".to_string(), vec![9])]
        );
        assert!(index.head.as_ref().unwrap().per_offset);
        for (name, want) in [
            ("t512x", Some(5)),
            ("t534x", Some(6)),
            ("t1234", Some(8)),
            ("t12xy", Some(8)),
            ("ainxnerz", Some(3)),
            ("ainxner", Some(8)),
            ("prefix", Some(1)),
            ("a_suf", Some(2)),
            ("abc", Some(7)),
        ] {
            assert_eq!(set.first_match(name), want, "{name}");
            let scan = pats.iter().position(|p| crate::fnmatch(name, p));
            assert_eq!(scan, want, "{name}");
        }
    }

    #[test]
    fn a_failed_automaton_files_its_patterns_as_always_checked() {
        // The fallback itself: the orphaned buckets' patterns come back.
        let mut buckets = vec![
            Bucket {
                members: vec![1, 4],
                ..Bucket::default()
            },
            Bucket {
                members: vec![2],
                ..Bucket::default()
            },
        ];
        let mut got = orphan_members(&mut buckets, &[1, 0, 7]);
        got.sort_unstable();
        assert_eq!(got, vec![1, 2, 4]);
        assert!(buckets.iter().all(|b| b.members.is_empty()));

        // Through the whole build: with every automaton failing, nothing is
        // lost, deny patterns included, and the answers are the scan's.
        let mut pats: Vec<String> = (0..40).map(|i| format!("t[0-9]{i}?")).collect();
        pats.extend((0..40).map(|i| format!("mcp__*__delete_{i}")));
        pats.extend(TABLE_PATTERNS.iter().map(|s| s.to_string()));
        let healthy = PatternSet::with_threshold(&pats, 0);
        FAIL_NFA.with(|f| f.set(true));
        let failed = PatternSet::with_threshold(&pats, 0);
        FAIL_NFA.with(|f| f.set(false));
        let index = failed.index.as_ref().unwrap();
        assert!(index.head.is_none() && index.tail.is_none() && index.inside.is_none());
        assert!(index.always.members.len() > 80);
        assert!(healthy.index.as_ref().unwrap().head.is_some());
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let mut names: Vec<String> = TABLE_NAMES.iter().map(|s| s.to_string()).collect();
        names.extend(["t312x", "mcp__fs__delete_39", "mcp__fs__delete_40"].map(String::from));
        for name in &names {
            let want = scan.first_match(name);
            assert_eq!(failed.first_match(name), want, "{name}");
            assert_eq!(healthy.first_match(name), want, "{name}");
        }
        assert_eq!(failed.first_match("mcp__fs__delete_39"), Some(40 + 39));

        // A builder that says no takes the same path as the hook.
        let no: NfaBuilder = |_, _| None;
        let parsed: Vec<Vec<Atom>> = pats.iter().map(|p| parse(p)).collect();
        let index = build_index(&parsed, no);
        assert!(index.head.is_none() && index.tail.is_none() && index.inside.is_none());
        assert_eq!(
            index.buckets.iter().map(|b| b.members.len()).sum::<usize>(),
            0
        );
    }

    #[test]
    fn keys_are_cut_to_what_tells_them_apart() {
        let mut texts: Vec<Vec<u8>> = [
            "4321_eteled",
            "4322_eteled",
            "1_eteled",
            "12_eteled",
            "1",
            "é1",
            "éé",
        ]
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by(|&a, &b| texts[a].cmp(&texts[b]));
        trim_to_unique(&mut texts, &order, &mut Vec::new());
        let cut: Vec<&str> = texts
            .iter()
            .map(|t| std::str::from_utf8(t).unwrap())
            .collect();
        // `1` starts other keys, so it stays whole; `é` is never split.
        assert_eq!(cut, ["4321", "4322", "1_", "12", "1", "é1", "éé"]);
    }

    #[test]
    fn many_offsets_take_one_walk_that_checks_them() {
        // Ten offsets from each end: past OFFSET_WALKS, so one unanchored
        // walk per direction checks where each hit sits.
        let mut pats = Vec::new();
        for j in 0..10 {
            pats.push(format!("{}k{j}[0-9]*", "?".repeat(j)));
            pats.push(format!("*é{j}{}", "?".repeat(j)));
        }
        let set = PatternSet::with_threshold(&pats, 0);
        let index = set.index.as_ref().unwrap();
        assert!(!index.head.as_ref().unwrap().per_offset);
        assert!(!index.tail.as_ref().unwrap().per_offset);
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let fills = ["", "a", "😀", "k3", "é3", "ab", "xyz"];
        for j in 0..12 {
            for pre in fills {
                for post in fills {
                    for core in [format!("k{j}5"), format!("é{j}"), format!("k{j}é{j}")] {
                        let name = format!("{}{pre}{core}{post}", "z".repeat(j));
                        assert_eq!(set.first_match(&name), scan.first_match(&name), "{name}");
                    }
                }
            }
        }
    }

    #[test]
    fn filters_keep_every_pattern_that_can_match() {
        // Patterns with no literal, told apart by their sets and lengths.
        let ranges = ["a-b", "c-d", "e-f", "g-h", "i-j"];
        let mut pats = Vec::new();
        for i in 0..125 {
            let d = |k: u32| ranges[(i / 5usize.pow(k)) % 5];
            pats.push(format!("[{}]?[{}]*[{}]", d(0), d(1), d(2)));
            pats.push(format!("[{}][!{}]{}", d(0), d(1), "?".repeat(i % 7)));
        }
        let set = PatternSet::with_threshold(&pats, 0);
        let index = set.index.as_ref().unwrap();
        let filter = index.always.filter.as_ref().expect("a filter");
        assert!(!filter.probes.is_empty());
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let abc = ['a', 'c', 'e', 'g', 'i', 'b', 'z', 'é'];
        for x in 0..abc.len().pow(4) {
            let mut name = String::new();
            let mut y = x;
            for _ in 0..4 {
                name.push(abc[y % abc.len()]);
                y /= abc.len();
            }
            for extra in ["", "zz", "😀😀😀"] {
                let name = format!("{name}{extra}");
                assert_eq!(set.first_match(&name), scan.first_match(&name), "{name}");
            }
        }
    }
}
