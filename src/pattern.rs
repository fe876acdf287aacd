//! fnmatch patterns, exactly as CPython 3.11's `fnmatch.fnmatchcase`.
//!
//! A pattern is parsed once into [`Atom`]s by replaying the algorithm of
//! CPython's `fnmatch.translate` (including its quirks: how `-` splits a set
//! into ranges, how reversed ranges are dropped, how a set that ends up
//! starting with `!` negates) and then matched by code point, never by byte.
//!
//! Matching is linear-time in practice: the pattern is split at its `*`s
//! into fixed-width segments; the first is anchored at the start, the last at
//! the end, and each middle segment is placed at its leftmost occurrence,
//! which is optimal for globs whose only variable-width atom is `*`. There is
//! no backtracking across segments, so `*a*a*a*a*b` against a long run of
//! `a`s costs one scan per segment.

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
    Atom::Class(Class { negated, ranges })
}

/// A compiled pattern: the atoms split at `*` into fixed-width segments.
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
    /// Anything else.
    General {
        first: Segment,
        middle: Vec<Segment>,
        /// `None` when the pattern has no `*` (then `first` must match the
        /// whole name).
        last: Option<Segment>,
    },
}

/// A run of fixed-width atoms between stars.
#[derive(Clone, Debug)]
struct Segment {
    atoms: Vec<Atom>,
    /// The same run as a string, when every atom is a literal.
    literal: Option<String>,
}

impl Segment {
    fn new(atoms: Vec<Atom>) -> Segment {
        let literal = atoms
            .iter()
            .map(|a| match a {
                Atom::Lit(c) => Some(*c),
                _ => None,
            })
            .collect::<Option<String>>();
        Segment { atoms, literal }
    }

    fn len_chars(&self) -> usize {
        self.atoms.len()
    }

    /// Matches this segment at the start of `s`; returns the byte length
    /// consumed.
    fn match_at(&self, s: &str) -> Option<usize> {
        if let Some(lit) = &self.literal {
            return s.starts_with(lit.as_str()).then_some(lit.len());
        }
        let mut it = s.char_indices();
        for atom in &self.atoms {
            let (_, c) = it.next()?;
            let ok = match atom {
                Atom::Lit(l) => *l == c,
                Atom::Any => true,
                Atom::Class(cls) => cls.contains(c),
                Atom::Star | Atom::Never => false,
            };
            if !ok {
                return None;
            }
        }
        Some(it.next().map_or(s.len(), |(b, _)| b))
    }

    /// Leftmost occurrence in `s`: (start, end) byte offsets.
    fn find(&self, s: &str) -> Option<(usize, usize)> {
        if let Some(lit) = &self.literal {
            return s.find(lit.as_str()).map(|at| (at, at + lit.len()));
        }
        let mut start = 0;
        loop {
            if let Some(len) = self.match_at(&s[start..]) {
                return Some((start, start + len));
            }
            let c = s[start..].chars().next()?;
            start += c.len_utf8();
        }
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
        let lit = |a: &[Atom]| {
            a.iter()
                .map(|a| match a {
                    Atom::Lit(c) => Some(*c),
                    _ => None,
                })
                .collect::<Option<String>>()
        };
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
                    match seg.find(mid) {
                        Some((_, end)) => mid = &mid[end..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

fn general(atoms: Vec<Atom>) -> Kind {
    let mut segments: Vec<Vec<Atom>> = vec![Vec::new()];
    for a in atoms {
        if a == Atom::Star {
            segments.push(Vec::new());
        } else if let Some(seg) = segments.last_mut() {
            seg.push(a);
        }
    }
    let has_star = segments.len() > 1;
    let mut segs = segments.into_iter().map(Segment::new);
    let first = segs.next().unwrap_or_else(|| Segment::new(Vec::new()));
    let mut rest: Vec<Segment> = segs.collect();
    let last = if has_star { rest.pop() } else { None };
    Kind::General {
        first,
        middle: rest,
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
