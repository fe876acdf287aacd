//! Hostile inputs complete without panicking or blowing up. Time is
//! measured in `make bench`, not asserted here; these tests prove the
//! answers are right on inputs where a backtracking matcher would not
//! finish.

use agentguard::__private::PatternSet;
use agentguard::{fnmatch, Policy, PolicySpec};

#[test]
fn megabyte_tool_name() {
    let name = format!("read_{}", "x".repeat(1 << 20));
    let policy = Policy::new(PolicySpec {
        allow: vec!["read_*".into()],
        deny: vec!["*y".into(), "*?é".into()],
        ..PolicySpec::default()
    })
    .unwrap();
    let r = policy.check(&name);
    assert!(r.allowed(), "{}", r.reason);
    assert_eq!(r.matched_rule.as_deref(), Some("read_*"));
    let r = policy.check(&format!("{name}é"));
    assert!(r.denied());
    assert_eq!(r.matched_rule.as_deref(), Some("*?é"));
}

#[test]
fn megabyte_pattern() {
    let big = "a".repeat(1 << 20);
    let pattern = format!("*{big}?");
    assert!(fnmatch(&format!("x{big}é"), &pattern));
    assert!(!fnmatch(&big, &pattern));
    let set = PatternSet::with_threshold(&[pattern.as_str(), "*"], 0);
    assert_eq!(set.first_match(&format!("{big}b")), Some(0));
    assert_eq!(set.first_match(&big), Some(1));
}

#[test]
fn star_heavy_pattern_against_a_long_run() {
    let run = "a".repeat(200_000);
    let p = "*a*a*a*a*a*a*a*a*b";
    assert!(!fnmatch(&run, p));
    assert!(fnmatch(&format!("{run}b"), p));
    // Many stars and a long pattern against a long name.
    let many = "*a".repeat(5_000) + "*b";
    assert!(!fnmatch(&run, &many));
    assert!(fnmatch(&format!("{run}b"), &many));
}

#[test]
fn hundred_thousand_patterns() {
    let patterns: Vec<String> = (0..100_000)
        .map(|i| match i % 4 {
            0 => format!("tool_{i}"),
            1 => format!("ns{i}_*"),
            2 => format!("*_sfx{i}"),
            _ => format!("q{i}_[a-f]?"),
        })
        .collect();
    let policy = Policy::new(PolicySpec {
        deny: patterns,
        allow: vec!["*".into()],
        ..PolicySpec::default()
    })
    .unwrap();
    assert_eq!(
        policy.check("tool_99996").matched_rule.as_deref(),
        Some("tool_99996")
    );
    assert_eq!(
        policy.check("ns99997_go").matched_rule.as_deref(),
        Some("ns99997_*")
    );
    assert_eq!(
        policy.check("x_sfx99998").matched_rule.as_deref(),
        Some("*_sfx99998")
    );
    assert_eq!(
        policy.check("q99999_cé").matched_rule.as_deref(),
        Some("q99999_[a-f]?")
    );
    assert!(policy.check("q99999_gé").allowed());
}

#[test]
fn many_occurrences_of_an_inner_literal() {
    let pats: Vec<String> = (0..64).map(|i| format!("?*<{i}>*?")).collect();
    let set = PatternSet::with_threshold(&pats, 0);
    let name = "<".repeat(1 << 19) + &">".repeat(1 << 19);
    assert_eq!(set.first_match(&name), None);
    assert_eq!(set.first_match(&format!("x{name}<63>y")), Some(63));
}

/// A megabyte name for the middle-segment searches: `len` characters from
/// `fill(i)`.
fn mb_name(len: usize, fill: impl Fn(usize) -> char) -> String {
    (0..len).map(fill).collect()
}

#[test]
fn question_mark_runs_in_a_middle_segment() {
    let p = format!("*{}x*", "?".repeat(5_000));
    let a = "a".repeat(1 << 20);
    assert!(!fnmatch(&a, &p));
    // The `x` needs 5 000 characters before it, wherever it is.
    let mut early = a.clone();
    early.replace_range(10..11, "x");
    assert!(!fnmatch(&early, &p));
    let mut late = a.clone();
    late.replace_range(6_000..6_001, "x");
    assert!(fnmatch(&late, &p));
    // `?` on both sides of the core, and one code point each (é, 😀).
    let p = format!("*{}é{}*", "?".repeat(3_000), "?".repeat(3_000));
    let emoji = "😀".repeat(1 << 18);
    assert!(!fnmatch(&emoji, &p));
    assert!(fnmatch(&format!("{emoji}é{emoji}"), &p));
    assert!(!fnmatch(&format!("{emoji}é{}", "😀".repeat(2_999)), &p));
    assert!(fnmatch(&format!("{emoji}é{}", "😀".repeat(3_000)), &p));
}

#[test]
fn long_set_runs_in_a_middle_segment() {
    let p = format!("*{}c*", "[ab]".repeat(3_000));
    // `a`/`b` runs broken by a `c` every 2 999 characters: never 3 000 in a
    // row before a `c`.
    let short = mb_name(1 << 20, |i| match i % 3_000 {
        2_999 => 'c',
        k if k % 3 == 0 => 'a',
        _ => 'b',
    });
    assert!(!fnmatch(&short, &p));
    let long = format!("{short}{}c", "ab".repeat(1_500));
    assert!(fnmatch(&long, &p));
    // A set that is wrong in exactly one place of the run.
    let mut broken = "ab".repeat(1_500);
    broken.replace_range(1_234..1_235, "é");
    assert!(!fnmatch(&format!("{short}{broken}c"), &p));
}

#[test]
fn alternating_literals_and_question_marks() {
    let core: String = ('a'..='z').flat_map(|c| [c, '?']).collect();
    let p = format!("*{core}*");
    let a = "a".repeat(1 << 20);
    assert!(!fnmatch(&a, &p));
    let hit: String = ('a'..='z').flat_map(|c| [c, '😀']).collect();
    assert!(fnmatch(&format!("{a}{hit}{a}"), &p));
    // Several middle segments, each searched once from where the last ended.
    let p = "*a?b?c*[!a]??[xy]*d?e*";
    let name = format!("{a}azbzc{a}qqqy{a}dze");
    assert!(fnmatch(&name, p));
    assert!(!fnmatch(&format!("{a}azbzc{a}qqqy{a}de"), p));
}

#[test]
fn a_long_run_over_many_distinct_characters() {
    // 3 000 distinct CJK characters between `?`s: too many intervals for one
    // dense table, so each block of 64 atoms keeps its own alphabet.
    let chars: Vec<char> = (0..3_000u32)
        .map(|i| char::from_u32(0x4E00 + i).unwrap())
        .collect();
    let core: String = chars.iter().flat_map(|&c| [c, '?']).collect();
    let p = format!("*[!a]{core}*");
    let hit: String = chars.iter().flat_map(|&c| [c, 'é']).collect();
    let filler = mb_name(1 << 19, |i| chars[i % 3_000]);
    assert!(fnmatch(&format!("{filler}b{hit}{filler}"), &p));
    assert!(!fnmatch(&format!("{filler}a{hit}{filler}"), &p));
    assert!(!fnmatch(&filler, &p));
}

#[test]
fn nested_inside_keys_against_a_megabyte_name() {
    // Keys `a`, `aa`, ..., each inside its own pattern: at every position
    // of a run of `a`s the automaton reports all of them. Each key's
    // patterns are tried once, and a state met again is skipped whole.
    let pats: Vec<String> = (1..=2_000)
        .map(|i| format!("*{}*x", "a".repeat(i)))
        .collect();
    let set = PatternSet::new(&pats);
    let run = "a".repeat(1 << 20);
    assert_eq!(set.first_match(&run), None);
    assert_eq!(set.first_match(&format!("{run}x")), Some(0));
    assert_eq!(
        set.first_match(&format!("b{}bx", "a".repeat(1_500))),
        Some(0)
    );
    let short = format!("{}x", "ab".repeat(1 << 19));
    assert_eq!(set.first_match(&short), Some(0));
}

#[test]
fn keys_at_many_offsets_against_a_megabyte_name() {
    // A thousand offsets from each end: one walk per direction that checks
    // where each hit sits and stops past the farthest.
    let mut pats = Vec::new();
    for j in 0..1_000 {
        pats.push(format!("{}k{j}*", "?".repeat(j)));
        pats.push(format!("*e{j}{}", "?".repeat(j)));
    }
    let set = PatternSet::new(&pats);
    let filler = "k1e1".repeat(1 << 18);
    assert_eq!(set.first_match(&filler), None);
    let name = format!("{}k999{filler}", "z".repeat(999));
    assert_eq!(set.first_match(&name), Some(2 * 999));
    let name = format!("{filler}e77{}", "z".repeat(77));
    assert_eq!(set.first_match(&name), Some(2 * 77 + 1));
}

/// The shapes of the performance budget (as benches/check.rs builds them).
fn shape(kind: usize, i: usize) -> String {
    let r = [
        "a-b", "c-d", "e-f", "g-h", "i-j", "k-l", "m-n", "o-p", "q-r", "s-t",
    ];
    let d = |k: u32| r[(i / 10usize.pow(k)) % 10];
    match kind {
        0 => format!("read_record_{i}"),
        1 => format!("mcp__*__delete_{i}"),
        2 => format!("t[0-9]{i}?"),
        3 => format!("*_{i}?.log"),
        4 => format!("?*_op{i}_*?"),
        5 => format!("[a-f]?{i}[0-9]?"),
        _ => format!("[{}]?[{}][{}]*[{}]", d(0), d(1), d(2), d(3)),
    }
}

#[test]
fn every_shape_against_megabyte_names() {
    let mb = 1 << 20;
    let fillers = ["9".repeat(mb), "_op1".repeat(mb / 4), "é".repeat(mb / 2)];
    for kind in 0..7 {
        // Checked against a scan of `fnmatch` (which is what costs here).
        let pats: Vec<String> = (0..2_000).map(|i| shape(kind, i)).collect();
        let set = PatternSet::new(&pats);
        for filler in &fillers {
            for name in [
                filler.clone(),
                format!("t7{filler}"),
                format!("x_op5_{filler}"),
                format!("{filler}_42x.log"),
                format!("mcp__{filler}__delete_1999"),
            ] {
                let want = pats.iter().position(|p| fnmatch(&name, p));
                assert_eq!(set.first_match(&name), want, "shape {kind}");
            }
        }
    }
    // At 10 000 patterns, names whose answer is known.
    let filler = "_op1".repeat(mb / 4);
    let expect = [
        (1, format!("mcp__{filler}__delete_9999"), Some(9_999)),
        (2, format!("t7{filler}"), None),
        (3, format!("{filler}_4242x.log"), Some(4_242)),
        (4, format!("x{filler}_op777_y"), Some(1)),
        // `_op1_op1…` holds `_op1_` with a character on each side.
        (4, filler.clone(), Some(1)),
        (4, format!("{filler}_"), Some(1)),
        (4, "x_op12".repeat(mb / 6), None),
        (5, format!("a{filler}"), None),
        (6, format!("szs{filler}s"), None),
    ];
    for (kind, name, want) in expect {
        let pats: Vec<String> = (0..10_000).map(|i| shape(kind, i)).collect();
        assert_eq!(
            PatternSet::new(&pats).first_match(&name),
            want,
            "shape {kind}"
        );
    }
}

#[test]
fn hundred_thousand_patterns_without_a_literal() {
    // Told apart only by their sets and lengths: the position filter keeps
    // a check from trying them one by one.
    let r = [
        "a-b", "c-d", "e-f", "g-h", "i-j", "k-l", "m-n", "o-p", "q-r", "s-t",
    ];
    let pats: Vec<String> = (0..100_000)
        .map(|i| {
            let d = |k: u32| r[(i / 10usize.pow(k)) % 10];
            format!("[{}]?[{}][{}][{}]*[{}]", d(0), d(1), d(2), d(3), d(4))
        })
        .collect();
    let policy = Policy::new(PolicySpec {
        deny: pats,
        allow: vec!["*".into()],
        ..PolicySpec::default()
    })
    .unwrap();
    assert_eq!(
        policy.check("szsssxxxxs").matched_rule.as_deref(),
        Some("[s-t]?[s-t][s-t][s-t]*[s-t]")
    );
    assert!(policy.check("szsssxxxxz").allowed());
    let long = format!("azcgi{}k", "x".repeat(1 << 20));
    assert_eq!(
        policy.check(&long).matched_rule.as_deref(),
        Some("[a-b]?[c-d][g-h][i-j]*[k-l]")
    );
}
