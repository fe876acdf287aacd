//! Spec parsing plus `check`: any bytes must give an error or a decision,
//! never a panic, and the indexed pattern set must agree with a plain scan.
//!
//! Input: a policy's JSON text, a NUL, then tool names separated by NULs.
#![no_main]

use agentguard::__private::PatternSet;
use agentguard::{fnmatch, Policy, PolicySpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let Some(spec_bytes) = parts.next() else { return };
    let names: Vec<&str> = parts.filter_map(|p| std::str::from_utf8(p).ok()).collect();
    let Ok(text) = std::str::from_utf8(spec_bytes) else { return };
    let Ok(spec) = PolicySpec::from_json(text) else { return };
    let all: Vec<String> = spec
        .deny
        .iter()
        .chain(&spec.require_approval)
        .chain(&spec.allow)
        .cloned()
        .collect();
    let policy = Policy::new(spec).expect("a parsed spec compiles");
    let indexed = PatternSet::with_threshold(&all, 0);
    for name in names {
        let r = policy.check(name);
        let want = all.iter().position(|p| fnmatch(name, p));
        assert_eq!(indexed.first_match(name), want, "name {name:?} patterns {all:?}");
        if let Some(rule) = r.matched_rule.as_deref() {
            assert!(fnmatch(name, rule));
        }
    }
});
