//! fnmatch patterns, exactly as CPython 3.11's `fnmatch.fnmatchcase`.
//!
//! A pattern is parsed once into [`Atom`]s by replaying the algorithm of
//! CPython's `fnmatch.translate` (including its quirks: how `-` splits a set
//! into ranges, how reversed ranges are dropped, how a set that ends up
//! starting with `!` negates) and then matched by code point, never by byte.
//!
//! The pattern is split at its `*`s into fixed-width segments; the first is
//! matched in place at the start, the last at the end (O(m) each), and each
//! middle segment is placed at its leftmost occurrence, which is optimal for
//! globs whose only variable-width atom is `*`. There is no backtracking
//! across segments, and each search starts where the previous one ended, so
//! the name is scanned once in all:
//!
//! * a literal middle segment is a substring search (linear);
//! * leading and trailing `?`s of a middle segment only shift where its core
//!   may start and end, so `*?{5000}x*` is a search for `x`;
//! * a core holding sets or `?` runs bit-parallel shift-and over code points,
//!   O(n * ceil(m / 64)) for a core of m atoms, with no dependence on how
//!   often partial matches start. That is linear for every pattern a policy
//!   plausibly holds; a megabyte-long run of sets costs its words per
//!   character, and no known algorithm does generalised (set) matching in
//!   linear time.

/// One inclusive range of code points inside a `[...]` set.
pub(crate) type Range = (char, char);

/// A bracket set after CPython's normalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Class {
    pub(crate) negated: bool,
    /// Inclusive ranges; a single character `c` is `(c, c)`.
    pub(crate) ranges: Vec<Range>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        let inside = self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
        inside != self.negated
    }

    /// The one character this set accepts, when it is not really a set
    /// (`[a]`, `[aa]`, `[a-a]`): it then behaves exactly as that literal.
    fn single(&self) -> Option<char> {
        let (lo, hi) = *self.ranges.first()?;
        (!self.negated && lo == hi && self.ranges.iter().all(|&r| r == (lo, lo))).then_some(lo)
    }
}

/// One element of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Atom {
    /// A literal code point.
    Lit(char),
    /// `?`, or a set that CPython turns into "any character" (`[!]`-like).
    Any,
    /// A `[...]` set.
    Class(Class),
    /// `*` (consecutive stars are already folded into one).
    Star,
    /// A set that CPython turns into `(?!)`: the whole pattern never matches.
    Never,
}

/// Parses an fnmatch pattern into atoms, replaying CPython 3.11's
/// `fnmatch.translate` on code points.
pub(crate) fn parse(pat: &str) -> Vec<Atom> {
    let p: Vec<char> = pat.chars().collect();
    let n = p.len();
    let mut out: Vec<Atom> = Vec::new();
    let mut i = 0;
    while i < n {
        let c = p[i];
        i += 1;
        match c {
            '*' => {
                if out.last() != Some(&Atom::Star) {
                    out.push(Atom::Star);
                }
            }
            '?' => out.push(Atom::Any),
            '[' => {
                let mut j = i;
                if j < n && p[j] == '!' {
                    j += 1;
                }
                if j < n && p[j] == ']' {
                    j += 1;
                }
                while j < n && p[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    out.push(Atom::Lit('['));
                } else {
                    out.push(parse_set(&p, i, j));
                    i = j + 1;
                }
            }
            c => out.push(Atom::Lit(c)),
        }
    }
    out
}

/// The set `p[i..j]` (between `[` and the closing `]`).
fn parse_set(p: &[char], i: usize, j: usize) -> Atom {
    let stuff = &p[i..j];
    // A token of the set text CPython hands to `re`: a character, or an
    // unescaped `-` joining two chunks (a range operator).
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Ch(char),
        Join,
    }
    let toks: Vec<Tok> = if !stuff.contains(&'-') {
        stuff.iter().map(|&c| Tok::Ch(c)).collect()
    } else {
        // Split at the hyphens that make ranges, exactly as CPython does.
        let mut chunks: Vec<Vec<char>> = Vec::new();
        let mut start = i;
        let mut k = if p[i] == '!' { i + 2 } else { i + 1 };
        loop {
            let found = if k < j {
                p[k..j].iter().position(|&c| c == '-').map(|o| k + o)
            } else {
                None
            };
            let Some(h) = found else { break };
            chunks.push(p[start..h].to_vec());
            start = h + 1;
            k = h + 3;
        }
        let last = p[start..j].to_vec();
        if last.is_empty() {
            // A trailing `-` is literal: it joins the previous chunk.
            if let Some(prev) = chunks.last_mut() {
                prev.push('-');
            }
        } else {
            chunks.push(last);
        }
        // Drop empty ranges (start above end), right to left.
        let mut k = chunks.len();
        while k > 1 {
            k -= 1;
            let prev_last = chunks[k - 1].last().copied();
            let next_first = chunks[k].first().copied();
            if let (Some(a), Some(b)) = (prev_last, next_first) {
                if a > b {
                    let tail: Vec<char> = chunks[k][1..].to_vec();
                    let prev = &mut chunks[k - 1];
                    prev.pop();
                    prev.extend(tail);
                    chunks.remove(k);
                }
            }
        }
        let mut toks = Vec::new();
        for (idx, chunk) in chunks.iter().enumerate() {
            if idx > 0 {
                toks.push(Tok::Join);
            }
            toks.extend(chunk.iter().map(|&c| Tok::Ch(c)));
        }
        toks
    };

    if toks.is_empty() {
        return Atom::Never;
    }
    if toks == [Tok::Ch('!')] {
        return Atom::Any;
    }
    let (negated, body) = match toks[0] {
        Tok::Ch('!') => (true, &toks[1..]),
        _ => (false, &toks[..]),
    };
    // Read `body` as Python's `re` reads a set: `x-y` is a range when the
    // `-` is a join; a join with nothing before it is a literal `-`.
    let ch = |t: Tok| match t {
        Tok::Ch(c) => c,
        Tok::Join => '-',
    };
    let mut ranges = Vec::new();
    let mut t = 0;
    while t < body.len() {
        let lo = ch(body[t]);
        if t + 2 < body.len() && body[t + 1] == Tok::Join {
            let hi = ch(body[t + 2]);
            if lo <= hi {
                ranges.push((lo, hi));
            }
            t += 3;
        } else {
            ranges.push((lo, lo));
            t += 1;
        }
    }
    let class = Class { negated, ranges };
    // `[a]`, `[aa]`, `[a-a]` are the literal `a`: filing them as literals
    // lets matching take the string fast paths and the set index use them
    // as anchors.
    match class.single() {
        Some(c) => Atom::Lit(c),
        None => Atom::Class(class),
    }
}

/// A compiled pattern: the atoms split at `*` into fixed-width segments.
///
/// A set of thousands of patterns confirms a candidate or two per check,
/// each likely cold in the cache: the representation keeps the loads of a
/// match few (no boxed search, `?` runs and single-range sets inline).
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// Contains a set that can never match.
    Never,
    /// No wildcard at all: plain string equality.
    Exact(String),
    /// `lit*`.
    Prefix(String),
    /// `*lit`.
    Suffix(String),
    /// `*` (matches everything, the empty name included).
    All,
    /// `lit*lit`: the two literals in one string (one load, not two),
    /// split at byte `split`.
    Affixes { text: Box<str>, split: usize },
    /// Anything else.
    General {
        first: Segment,
        middle: Vec<Middle>,
        /// `None` when the pattern has no `*` (then `first` must match the
        /// whole name).
        last: Option<Segment>,
    },
}

/// A run of fixed-width atoms between stars, matched in place (the first
/// and the last).
#[derive(Clone, Debug)]
struct Segment {
    /// Its width in characters.
    chars: usize,
    body: Body,
}

#[derive(Clone, Debug)]
enum Body {
    /// Every atom is a literal: the run as a string.
    Literal(Box<str>),
    /// Every atom is `?`: any `chars` characters.
    Any,
    Steps(Box<[Step]>),
}

/// An atom as matched in place.
#[derive(Clone, Debug)]
enum Step {
    /// A code point in the range (a literal is `c..=c`, `?` every one).
    In(char, char),
    /// A code point outside the range (`[!a-z]`).
    Out(char, char),
    /// A set of several ranges.
    Set(Box<Class>),
}

impl Step {
    fn of(atom: &Atom) -> Step {
        match atom {
            Atom::Lit(c) => Step::In(*c, *c),
            Atom::Any => Step::In('\0', char::MAX),
            Atom::Class(cls) => match *cls.ranges.as_slice() {
                [(lo, hi)] if cls.negated => Step::Out(lo, hi),
                [(lo, hi)] => Step::In(lo, hi),
                _ => Step::Set(Box::new(cls.clone())),
            },
            // Never inside a segment (split at stars; `Never` patterns get
            // no segments): an empty set, which accepts nothing.
            Atom::Star | Atom::Never => Step::Set(Box::new(Class {
                negated: false,
                ranges: Vec::new(),
            })),
        }
    }

    #[inline]
    fn accepts(&self, c: char) -> bool {
        match self {
            Step::In(lo, hi) => *lo <= c && c <= *hi,
            Step::Out(lo, hi) => c < *lo || *hi < c,
            Step::Set(cls) => cls.contains(c),
        }
    }
}

/// A middle segment prepared for a leftmost search in time linear in the
/// text: `lead` and `trail` are its leading and trailing `?`s, which only
/// shift where the core may start and end, so they never cost a pass.
#[derive(Clone, Debug)]
struct Middle {
    lead: usize,
    trail: usize,
    core: Core,
}

#[derive(Clone, Debug)]
enum Core {
    /// The segment is only `?`s.
    Empty,
    /// A plain substring search (two-way, memchr-accelerated).
    Literal(Box<str>),
    /// Sets or `?` inside the core: bit-parallel shift-and.
    Bits(Box<ShiftAnd>),
}

impl Segment {
    fn new(atoms: &[Atom]) -> Segment {
        let body = if let Some(text) = literal_of(atoms) {
            Body::Literal(text.into_boxed_str())
        } else if atoms.iter().all(|a| *a == Atom::Any) {
            Body::Any
        } else {
            Body::Steps(atoms.iter().map(Step::of).collect())
        };
        Segment {
            chars: atoms.len(),
            body,
        }
    }

    fn len_chars(&self) -> usize {
        self.chars
    }

    /// Matches this segment at the start of `s`; returns the byte length
    /// consumed.
    fn match_at(&self, s: &str) -> Option<usize> {
        let steps = match &self.body {
            Body::Steps(steps) => steps,
            Body::Any => return skip_chars(s, 0, self.chars),
            Body::Literal(lit) => {
                // The empty first segment of every `*...` pattern: a zero-length
                // `starts_with` still calls the C library's memcmp, which
                // measured 70 ns here.
                if lit.is_empty() {
                    return Some(0);
                }
                return s.starts_with(&**lit).then_some(lit.len());
            }
        };
        let mut it = s.char_indices();
        for step in steps.iter() {
            let (_, c) = it.next()?;
            if !step.accepts(c) {
                return None;
            }
        }
        Some(it.next().map_or(s.len(), |(b, _)| b))
    }
}

impl Middle {
    fn new(atoms: &[Atom]) -> Middle {
        let lead = atoms.iter().take_while(|a| **a == Atom::Any).count();
        let trail = atoms[lead..]
            .iter()
            .rev()
            .take_while(|a| **a == Atom::Any)
            .count();
        let inner = &atoms[lead..atoms.len() - trail];
        let core = if inner.is_empty() {
            Core::Empty
        } else if let Some(lit) = literal_of(inner) {
            Core::Literal(lit.into_boxed_str())
        } else {
            Core::Bits(Box::new(ShiftAnd::new(inner)))
        };
        Middle { lead, trail, core }
    }

    /// The byte offset just past the leftmost occurrence in `s`. Every
    /// occurrence has the same width, so the leftmost end is the leftmost
    /// start.
    fn find_end(&self, s: &str) -> Option<usize> {
        let from = skip_chars(s, 0, self.lead)?;
        let core_end = match &self.core {
            Core::Empty => from,
            Core::Literal(lit) => from + find_literal(&s[from..], lit)? + lit.len(),
            Core::Bits(bits) => from + bits.find_end(&s[from..])?,
        };
        // A later core occurrence would leave even fewer characters for
        // the trailing `?`s, so failing here fails everywhere.
        skip_chars(s, core_end, self.trail)
    }
}

fn literal_of(atoms: &[Atom]) -> Option<String> {
    atoms
        .iter()
        .map(|a| match a {
            Atom::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Where `needle` (not empty) first occurs in `hay`. Tool names are short,
/// and for them a scan for the first byte beats setting up the two-way
/// searcher of `str::find` (which would be most of a confirmation's cost);
/// long haystacks still get two-way, so the search stays linear.
fn find_literal(hay: &str, needle: &str) -> Option<usize> {
    const SHORT: usize = 64;
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let (&first, _) = n.split_first()?;
    if h.len() > SHORT {
        return hay.find(needle);
    }
    let last = h.len().checked_sub(n.len())?;
    let end = n.len() - 1;
    // First and last byte before the rest, compared in place: a frequent
    // first byte (`_`) must not cost a library call each time.
    (0..=last).find(|&i| {
        h[i] == first && h[i + end] == n[end] && h[i..=i + end].iter().zip(n).all(|(a, b)| a == b)
    })
}

/// The byte offset `n` characters after `at` in `s`, if `s` has them.
fn skip_chars(s: &str, at: usize, n: usize) -> Option<usize> {
    let mut it = s[at..].char_indices();
    for _ in 0..n {
        it.next()?;
    }
    Some(it.next().map_or(s.len(), |(b, _)| at + b))
}

/// The code points one atom accepts, as sorted, disjoint inclusive ranges
/// of scalar values (`u32`, so that `hi + 1` never overflows a `char`).
pub(crate) fn accepted_ranges(atom: &Atom) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    push_accepted(atom, &mut out);
    out
}

/// Appends [`accepted_ranges`] of `atom` to `out`.
pub(crate) fn push_accepted(atom: &Atom, out: &mut Vec<(u32, u32)>) {
    match atom {
        Atom::Lit(c) => out.push((*c as u32, *c as u32)),
        Atom::Any | Atom::Star => out.push((0, MAX_CHAR)),
        Atom::Never => {}
        Atom::Class(cls) => {
            let from = out.len();
            let mut packed: Vec<u64> = cls
                .ranges
                .iter()
                .map(|&(lo, hi)| (u64::from(lo) << 32) | u64::from(hi))
                .collect();
            sort_u64(&mut packed);
            for r in packed {
                let (lo, hi) = ((r >> 32) as u32, r as u32);
                let mine = out.len() > from;
                match out.last_mut() {
                    Some(last) if mine && lo <= last.1.saturating_add(1) => {
                        last.1 = last.1.max(hi);
                    }
                    _ => out.push((lo, hi)),
                }
            }
            if cls.negated {
                let inside: Vec<(u32, u32)> = out.drain(from..).collect();
                let mut next = 0u32;
                for (lo, hi) in inside {
                    if lo > next {
                        out.push((next, lo - 1));
                    }
                    next = hi + 1;
                }
                if next <= MAX_CHAR {
                    out.push((next, MAX_CHAR));
                }
            }
        }
    }
}

/// The largest scalar value.
pub(crate) const MAX_CHAR: u32 = char::MAX as u32;

/// Shift-and over code points for a fixed-width run of literals, sets and
/// `?`: bit `j` of the state says "the first `j + 1` atoms match ending
/// here", so one pass finds the leftmost occurrence in O(n * ceil(m / 64))
/// word operations, with no backtracking.
#[derive(Clone, Debug)]
struct ShiftAnd {
    words: usize,
    /// The bit of the last atom in the last word.
    last_bit: u64,
    masks: Masks,
}

/// For each character, which atoms accept it.
#[derive(Clone, Debug)]
enum Masks {
    /// The code points split into the intervals the atoms tell apart, one
    /// row of `words` masks per interval: a character costs one lookup.
    Dense {
        /// Row of each ASCII character.
        ascii: Box<[u32; 128]>,
        /// Start of each interval, ascending; the first is 0.
        starts: Vec<u32>,
        table: Vec<u64>,
    },
    /// When rows times words would be large (long runs over many distinct
    /// characters), each block of 64 atoms keeps its own small alphabet
    /// instead, so memory stays linear in the pattern.
    Blocks(Vec<Block>),
}

/// Above this many words, a dense table gives way to per-block alphabets
/// (512 KiB).
const DENSE_WORDS: usize = 1 << 16;

#[derive(Clone, Debug)]
struct Block {
    starts: Vec<u32>,
    masks: Vec<u64>,
}

/// The sorted, distinct interval starts (0 first) that separate every range.
pub(crate) fn interval_starts<'a>(ranges: impl IntoIterator<Item = &'a (u32, u32)>) -> Vec<u32> {
    let mut starts: Vec<u64> = vec![0];
    for &(lo, hi) in ranges {
        starts.push(lo.into());
        if hi < MAX_CHAR {
            starts.push(u64::from(hi) + 1);
        }
    }
    sort_u64(&mut starts);
    starts.dedup();
    starts.into_iter().map(|s| s as u32).collect()
}

/// Sorts `v`. Every numeric sort of the crate goes through this one
/// instantiation (pairs packed into a `u64`): each instantiation of the
/// standard sort costs the npm package's wasm about 4 KB.
#[inline(never)]
pub(crate) fn sort_u64(v: &mut [u64]) {
    v.sort_unstable();
}

/// The interval of `starts` holding `c`.
#[inline]
pub(crate) fn interval_of(starts: &[u32], c: u32) -> usize {
    // `starts[0]` is 0, so the partition point is at least 1.
    starts.partition_point(|&s| s <= c).saturating_sub(1)
}

/// Sets, in `row(k)` for every interval `k` inside `lo..=hi`, the bit `bit`.
fn mark(starts: &[u32], lo: u32, hi: u32, mut row: impl FnMut(usize)) {
    let first = starts.partition_point(|&s| s < lo);
    for (k, &s) in starts.iter().enumerate().skip(first) {
        if s > hi {
            break;
        }
        row(k);
    }
}

impl Block {
    fn new(ranges: &[Vec<(u32, u32)>]) -> Block {
        let starts = interval_starts(ranges.iter().flatten());
        let mut masks = vec![0u64; starts.len()];
        for (bit, rs) in ranges.iter().enumerate() {
            for &(lo, hi) in rs {
                mark(&starts, lo, hi, |k| masks[k] |= 1 << bit);
            }
        }
        Block { starts, masks }
    }
}

impl ShiftAnd {
    fn new(atoms: &[Atom]) -> ShiftAnd {
        let ranges: Vec<Vec<(u32, u32)>> = atoms.iter().map(accepted_ranges).collect();
        let words = atoms.len().div_ceil(64);
        let last_bit = 1u64 << ((atoms.len() - 1) % 64);
        let starts = interval_starts(ranges.iter().flatten());
        let masks = if starts.len().saturating_mul(words) <= DENSE_WORDS {
            let mut table = vec![0u64; starts.len() * words];
            for (j, rs) in ranges.iter().enumerate() {
                for &(lo, hi) in rs {
                    mark(&starts, lo, hi, |k| {
                        table[k * words + j / 64] |= 1 << (j % 64)
                    });
                }
            }
            let mut ascii = Box::new([0u32; 128]);
            for (c, row) in (0u32..).zip(ascii.iter_mut()) {
                *row = interval_of(&starts, c) as u32;
            }
            Masks::Dense {
                ascii,
                starts,
                table,
            }
        } else {
            Masks::Blocks(ranges.chunks(64).map(Block::new).collect())
        };
        ShiftAnd {
            words,
            last_bit,
            masks,
        }
    }

    /// The byte offset just past the leftmost occurrence in `s`.
    fn find_end(&self, s: &str) -> Option<usize> {
        match &self.masks {
            Masks::Dense {
                ascii,
                starts,
                table,
            } => {
                let row = |c: char| {
                    let k = match ascii.get(c as usize) {
                        Some(&k) => k as usize,
                        None => interval_of(starts, c as u32),
                    };
                    k * self.words
                };
                if self.words == 1 {
                    let mut d = 0u64;
                    for (i, c) in s.char_indices() {
                        d = ((d << 1) | 1) & table[row(c)];
                        if d & self.last_bit != 0 {
                            return Some(i + c.len_utf8());
                        }
                    }
                    return None;
                }
                self.run(s, |c| {
                    let base = row(c);
                    move |w| table[base + w]
                })
            }
            Masks::Blocks(blocks) => self.run(s, |c| {
                move |w: usize| {
                    let b = &blocks[w];
                    b.masks[interval_of(&b.starts, c as u32)]
                }
            }),
        }
    }

    /// The multi-word search; `masks(c)(w)` is word `w` of the mask of `c`.
    fn run<M: Fn(usize) -> u64>(&self, s: &str, masks: impl Fn(char) -> M) -> Option<usize> {
        let words = self.words;
        let mut d = vec![0u64; words];
        // Words above `hi + 1` are zero and receive no carry, so they stay
        // zero untouched: while few prefixes of the run are alive, a step
        // costs one or two words, not `words`.
        let mut hi = 0;
        for (i, c) in s.char_indices() {
            let mask = masks(c);
            let top = (hi + 1).min(words - 1);
            let mut carry = 1u64;
            let mut new_hi = 0;
            for (w, x) in d[..=top].iter_mut().enumerate() {
                let shifted = (*x << 1) | carry;
                carry = *x >> 63;
                *x = if shifted == 0 { 0 } else { shifted & mask(w) };
                if *x != 0 {
                    new_hi = w;
                }
            }
            hi = new_hi;
            if d[words - 1] & self.last_bit != 0 {
                return Some(i + c.len_utf8());
            }
        }
        None
    }
}

/// Byte offset where the last `n` characters of `s` begin, if it has them.
fn tail_start(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(s.len());
    }
    s.char_indices().rev().nth(n - 1).map(|(b, _)| b)
}

impl Matcher {
    /// Compiles a pattern.
    pub(crate) fn new(pattern: &str) -> Matcher {
        Matcher::from_atoms(parse(pattern))
    }

    pub(crate) fn from_atoms(atoms: Vec<Atom>) -> Matcher {
        if atoms.contains(&Atom::Never) {
            return Matcher { kind: Kind::Never };
        }
        let lit = literal_of;
        let stars = atoms.iter().filter(|a| **a == Atom::Star).count();
        let kind = match (stars, atoms.first(), atoms.last()) {
            (0, _, _) => match lit(&atoms) {
                Some(s) => Kind::Exact(s),
                None => general(atoms),
            },
            (1, _, _) if atoms.len() == 1 => Kind::All,
            (1, _, Some(Atom::Star)) => match lit(&atoms[..atoms.len() - 1]) {
                Some(s) => Kind::Prefix(s),
                None => general(atoms),
            },
            (1, Some(Atom::Star), _) => match lit(&atoms[1..]) {
                Some(s) => Kind::Suffix(s),
                None => general(atoms),
            },
            (1, _, _) => {
                let star = atoms.iter().position(|a| *a == Atom::Star).unwrap_or(0);
                match (lit(&atoms[..star]), lit(&atoms[star + 1..])) {
                    (Some(head), Some(tail)) => Kind::Affixes {
                        split: head.len(),
                        text: (head + &tail).into_boxed_str(),
                    },
                    _ => general(atoms),
                }
            }
            _ => general(atoms),
        };
        Matcher { kind }
    }

    /// Whether the whole of `name` matches.
    pub(crate) fn is_match(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Never => false,
            Kind::Exact(s) => name == s,
            Kind::Prefix(p) => name.starts_with(p.as_str()),
            Kind::Suffix(s) => name.ends_with(s.as_str()),
            Kind::All => true,
            Kind::Affixes { text, split } => {
                // Both in place and not overlapping: the `*` takes the rest.
                let (head, tail) = text.split_at(*split);
                name.len() >= text.len() && name.starts_with(head) && name.ends_with(tail)
            }
            Kind::General {
                first,
                middle,
                last,
            } => {
                let Some(head) = first.match_at(name) else {
                    return false;
                };
                let Some(last) = last else {
                    return head == name.len();
                };
                let rest = &name[head..];
                let Some(tail_at) = tail_start(rest, last.len_chars()) else {
                    return false;
                };
                if last.match_at(&rest[tail_at..]).is_none() {
                    return false;
                }
                let mut mid = &rest[..tail_at];
                for seg in middle {
                    match seg.find_end(mid) {
                        Some(end) => mid = &mid[end..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

fn general(atoms: Vec<Atom>) -> Kind {
    let segments: Vec<&[Atom]> = atoms.split(|a| *a == Atom::Star).collect();
    const NONE: &[Atom] = &[];
    let (first, rest) = segments.split_first().unwrap_or((&NONE, &[]));
    let (middle, last) = match rest.split_last() {
        Some((last, middle)) => (middle, Some(Segment::new(last))),
        None => (&[][..], None),
    };
    Kind::General {
        first: Segment::new(first),
        // Empty middles come from `**`-like runs that `parse` already folds;
        // dropping them keeps the loop free of no-op searches.
        middle: middle
            .iter()
            .filter(|atoms| !atoms.is_empty())
            .map(|atoms| Middle::new(atoms))
            .collect(),
        last,
    }
}

/// Whether `name` matches the fnmatch `pattern`, exactly as CPython 3.11's
/// `fnmatch.fnmatchcase(name, pattern)` (and `fnmatch.fnmatch` on POSIX):
/// case-sensitive, `*` crosses `.`, `/` and newlines, `?` is one code point,
/// `[...]` sets with CPython's quirks, and no escape character.
///
/// This compiles the pattern on every call; a [`crate::Policy`] compiles its
/// patterns once.
///
/// ```
/// assert!(agentguard::fnmatch("drop_table", "drop_*"));
/// assert!(agentguard::fnmatch("é", "?"));
/// assert!(agentguard::fnmatch("^", "[^a]"));
/// assert!(!agentguard::fnmatch("Drop_table", "drop_*"));
/// ```
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    Matcher::new(pattern).is_match(name)
}
