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
