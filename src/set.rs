//! Many patterns at once: the lowest-index pattern that matches a name.
//!
//! Small sets are scanned with the exact code-point matcher. Large sets go
//! through globset's `GlobSet` where its byte semantics are provably the
//! same as fnmatch's code-point semantics, and through the exact matcher
//! where they are not:
//!
//! * an ASCII name: every pattern is exact in a byte matcher once its sets
//!   are clipped to ASCII (a non-ASCII character can never match an ASCII
//!   name), so one `GlobSet` (the "ascii" set) decides;
//! * any other name: patterns made only of literals and `*` are exact on
//!   UTF-8 bytes (a literal run of valid UTF-8 can only match at character
//!   boundaries), so a second `GlobSet` (the "plain" set) decides those, and
//!   the few patterns with `?` or `[...]` are checked by code point;
//! * a name ending in `..`: globset derives a base name and extension from
//!   the candidate and treats `..` specially, so such names are scanned
//!   exactly.
//!
//! A pattern that globset cannot express exactly is scanned exactly too.
//! The property tests in `tests/properties.rs` check that the indexed path
//! and the plain scan agree.

use std::cell::RefCell;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::pattern::{parse, Atom, Matcher};

/// Below this many patterns a linear scan of the exact matchers beats the
/// set machinery (see `benches/check.rs`).
const SCAN_BELOW: usize = 48;

/// A compiled, immutable list of patterns.
#[derive(Clone, Debug)]
/// (internal; public for tests and benches)
pub struct PatternSet {
    matchers: Vec<Matcher>,
    index: Option<Index>,
}

#[derive(Clone, Debug)]
struct Index {
    /// For ASCII names: every pattern that can match an ASCII name and that
    /// globset expresses exactly.
    ascii: GlobSet,
    ascii_ids: Vec<usize>,
    /// Patterns that could match an ASCII name but globset cannot express.
    ascii_rest: Vec<usize>,
    /// For other names: the patterns made of literals and `*`.
    plain: GlobSet,
    plain_ids: Vec<usize>,
    /// Patterns with `?` or `[...]`, checked by code point for non-ASCII
    /// names.
    wild: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
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

    /// The lowest index whose pattern matches `name`.
    pub fn first_match(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) if !name.ends_with("..") => self.indexed(index, name),
            _ => self.scan(0..self.matchers.len(), name),
        }
    }

    fn scan(&self, ids: impl IntoIterator<Item = usize>, name: &str) -> Option<usize> {
        ids.into_iter().find(|&i| self.matchers[i].is_match(name))
    }

    fn indexed(&self, index: &Index, name: &str) -> Option<usize> {
        let (set, ids, rest) = if name.is_ascii() {
            (&index.ascii, &index.ascii_ids, &index.ascii_rest)
        } else {
            (&index.plain, &index.plain_ids, &index.wild)
        };
        let found = SCRATCH.with(|scratch| {
            let mut hits = scratch.borrow_mut();
            set.matches_candidate_into(&Candidate::from_bytes(name.as_bytes()), &mut hits);
            hits.first().map(|&h| ids[h])
        });
        // `rest` is sorted: only patterns before the best hit can improve it.
        let bound = found.unwrap_or(usize::MAX);
        let better = rest.iter().copied().take_while(|&i| i < bound);
        self.scan(better, name).or(found)
    }
}

fn build_index(parsed: &[Vec<Atom>]) -> Option<Index> {
    let mut ascii = GlobSetBuilder::new();
    let mut ascii_ids = Vec::new();
    let mut ascii_rest = Vec::new();
    let mut plain = GlobSetBuilder::new();
    let mut plain_ids = Vec::new();
    let mut wild = Vec::new();
    for (i, atoms) in parsed.iter().enumerate() {
        if atoms.contains(&Atom::Never) {
            continue;
        }
        let is_plain = atoms.iter().all(|a| matches!(a, Atom::Lit(_) | Atom::Star));
        if is_plain {
            match glob(&translate_plain(atoms)) {
                Some(g) => {
                    plain.add(g);
                    plain_ids.push(i);
                }
                None => wild.push(i),
            }
        } else {
            wild.push(i);
        }
        match translate_ascii(atoms) {
            Ascii::Never => {}
            Ascii::Glob(text) => match glob(&text) {
                Some(g) => {
                    ascii.add(g);
                    ascii_ids.push(i);
                }
                None => ascii_rest.push(i),
            },
            Ascii::Inexpressible => ascii_rest.push(i),
        }
    }
    Some(Index {
        ascii: ascii.build().ok()?,
        ascii_ids,
        ascii_rest,
        plain: plain.build().ok()?,
        plain_ids,
        wild,
    })
}

fn glob(text: &str) -> Option<globset::Glob> {
    GlobBuilder::new(text)
        .literal_separator(false)
        .backslash_escape(true)
        .empty_alternates(false)
        .build()
        .ok()
}

/// Pushes `c` as a literal in globset syntax.
fn push_literal(out: &mut String, c: char) {
    if matches!(
        c,
        '*' | '?' | '[' | ']' | '{' | '}' | ',' | '\\' | '!' | '^' | '-'
    ) {
        out.push('\\');
    }
    out.push(c);
}

fn translate_plain(atoms: &[Atom]) -> String {
    let mut out = String::new();
    for a in atoms {
        match a {
            Atom::Lit(c) => push_literal(&mut out, *c),
            _ => out.push('*'),
        }
    }
    out
}

enum Ascii {
    /// The pattern cannot match any ASCII name.
    Never,
    Glob(String),
    /// A set that globset's syntax cannot state.
    Inexpressible,
}

/// The pattern as globset syntax for ASCII names only.
fn translate_ascii(atoms: &[Atom]) -> Ascii {
    let mut out = String::new();
    for a in atoms {
        match a {
            Atom::Lit(c) if !c.is_ascii() => return Ascii::Never,
            Atom::Lit(c) => push_literal(&mut out, *c),
            Atom::Any => out.push('?'),
            Atom::Star => out.push('*'),
            Atom::Never => return Ascii::Never,
            Atom::Class(cls) => {
                let mut member = [false; 128];
                for &(lo, hi) in &cls.ranges {
                    let (lo, hi) = (lo as u32, (hi as u32).min(127));
                    for c in lo..=hi {
                        member[c as usize] = true;
                    }
                }
                let count = member.iter().filter(|&&m| m).count();
                match (cls.negated, count) {
                    (false, 0) => return Ascii::Never,
                    (true, 0) | (false, 128) => out.push('?'),
                    (true, 128) => return Ascii::Never,
                    (negated, _) => match class_text(&member, negated) {
                        Some(body) => {
                            out.push('[');
                            if negated {
                                out.push('!');
                            }
                            out.push_str(&body);
                            out.push(']');
                        }
                        None if !negated && count == 1 => {
                            let c = member.iter().position(|&m| m).unwrap_or(0) as u8 as char;
                            push_literal(&mut out, c);
                        }
                        None => return Ascii::Inexpressible,
                    },
                }
            }
        }
    }
    Ascii::Glob(out)
}

/// The inside of a globset `[...]` holding exactly the ASCII characters in
/// `member`: `]` must come first, `-` first or last, and the first item must
/// not be `!` or `^` (it would read as a negation).
fn class_text(member: &[bool; 128], negated: bool) -> Option<String> {
    let mut runs: Vec<(u8, u8)> = Vec::new();
    let mut c = 0u8;
    while c < 128 {
        if member[c as usize] && c != b']' && c != b'-' {
            let lo = c;
            while c + 1 < 128 && member[c as usize + 1] && c + 1 != b']' && c + 1 != b'-' {
                c += 1;
            }
            runs.push((lo, c));
        }
        c += 1;
    }
    let has_bracket = member[b']' as usize];
    let has_dash = member[b'-' as usize];
    let mut out = String::new();
    if has_bracket {
        out.push(']');
    } else if has_dash {
        out.push('-');
    } else if !negated {
        // Put first a run that does not start with `!` or `^`; if there is
        // none, shorten one of them by its first character.
        let pos = runs.iter().position(|&(lo, _)| lo != b'!' && lo != b'^');
        match pos {
            Some(p) => {
                let r = runs.remove(p);
                runs.insert(0, r);
            }
            None => {
                let p = runs.iter().position(|&(lo, hi)| hi > lo)?;
                let (lo, hi) = runs.remove(p);
                runs.insert(0, (lo + 1, hi));
                runs.push((lo, lo));
            }
        }
    }
    for (lo, hi) in runs {
        out.push(lo as char);
        if hi > lo {
            if hi > lo + 1 {
                out.push('-');
            }
            out.push(hi as char);
        }
    }
    if has_bracket && has_dash {
        out.push('-');
    }
    if out.is_empty() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_and_scanned_agree_on_a_table() {
        let pats = [
            "drop_*", "*_table", "read_?", "[!a-c]x", "[]-]y", "[!]", "[z-a]", "x[!!^]", "*.",
            "é*", "*ü?", "[^a]", "a\\b", "{a,b}", "*",
        ];
        let scan = PatternSet::with_threshold(&pats, usize::MAX);
        let idx = PatternSet::with_threshold(&pats, 0);
        assert!(idx.index.is_some());
        for name in [
            "drop_table",
            "x_table",
            "read_1",
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
        ] {
            assert_eq!(
                idx.first_match(name),
                scan.first_match(name),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn class_text_keeps_special_characters_literal() {
        let mut m = [false; 128];
        m[b'!' as usize] = true;
        m[b'^' as usize] = true;
        assert_eq!(class_text(&m, false), None);
        assert_eq!(class_text(&m, true).as_deref(), Some("!^"));
        m[b'"' as usize] = true;
        assert_eq!(class_text(&m, false).as_deref(), Some("\"^!"));
    }
}
