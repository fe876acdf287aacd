//! Differential tests against the real references: CPython's
//! `fnmatch.fnmatchcase` and tokenfence 0.3.1's `Policy.check`, through the
//! corpus written by `tests/differential/generate.py` (`make corpus`).
//!
//! `make test` sets `AGENTGUARD_CORPUS`; without it these tests generate the
//! corpus themselves with `.venv/bin/python` (which `make venv` creates),
//! and fail, never skip, if they cannot.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use agentguard::{fnmatch, Policy, PolicySpec};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(dir) = std::env::var("AGENTGUARD_CORPUS") {
            return PathBuf::from(dir);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/corpus");
        let python = root.join(".venv/bin/python");
        let status = Command::new(&python)
            .arg(root.join("tests/differential/generate.py"))
            .arg("--out")
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run {python:?} ({e}): run `make venv` or `make test` first")
            });
        assert!(status.success(), "corpus generation failed");
        dir
    })
    .clone()
}

fn lines(name: &str) -> impl Iterator<Item = Value> {
    let path = corpus_dir().join(name);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open corpus file {path:?}: {e}"));
    std::io::BufReader::new(file)
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read corpus line")).expect("corpus line is JSON"))
}

#[test]
fn fnmatch_agrees_with_cpython() {
    let (mut total, mut matched, mut mismatches) = (0usize, 0usize, Vec::new());
    for case in lines("fnmatch.jsonl") {
        let p = case["p"].as_str().expect("p");
        let n = case["n"].as_str().expect("n");
        let want = case["m"].as_bool().expect("m");
        total += 1;
        matched += usize::from(want);
        if fnmatch(n, p) != want {
            mismatches.push(format!("pattern {p:?} name {n:?}: CPython says {want}"));
        }
    }
    println!(
        "fnmatch: {total} pairs ({matched} matches), {} mismatches",
        mismatches.len()
    );
    assert!(total >= 200_000, "corpus too small: {total}");
    assert!(
        matched > total / 10,
        "corpus has too few matches: {matched}"
    );
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}

#[test]
fn indexed_sets_agree_with_cpython() {
    // The same pairs through the indexed multi-pattern path (PatternSet with
    // its literal index forced on): group the corpus into
    // sets of 64 patterns and check each name's first match per pattern.
    use agentguard::__private::PatternSet;
    let cases: Vec<(String, String, bool)> = lines("fnmatch.jsonl")
        .take(60_000)
        .map(|c| {
            (
                c["p"].as_str().unwrap().to_string(),
                c["n"].as_str().unwrap().to_string(),
                c["m"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut mismatches = Vec::new();
    for chunk in cases.chunks(64) {
        let pats: Vec<&str> = chunk.iter().map(|c| c.0.as_str()).collect();
        let set = PatternSet::with_threshold(&pats, 0);
        for (i, (p, n, want)) in chunk.iter().enumerate() {
            // The single pattern alone in an indexed set.
            let one = PatternSet::with_threshold(&[p.as_str()], 0);
            if one.first_match(n).is_some() != *want {
                mismatches.push(format!("single {p:?} name {n:?}: CPython says {want}"));
            }
            // In the chunk, the first match is at or before i iff it matches.
            let first = set.first_match(n);
            let expect_first = chunk
                .iter()
                .position(|(p2, _, _)| agentguard::fnmatch(n, p2));
            if first != expect_first {
                mismatches.push(format!(
                    "set: name {n:?} first {first:?} vs {expect_first:?}"
                ));
            }
            let _ = i;
        }
    }
    println!(
        "indexed: {} pairs, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}

#[test]
fn policy_agrees_with_tokenfence() {
    let (mut policies, mut checks, mut mismatches) = (0usize, 0usize, Vec::new());
    for case in lines("policy.jsonl") {
        let spec = PolicySpec::from_value(&case["policy"]).expect("corpus policy loads");
        assert_eq!(spec.to_value(), case["policy"], "to_dict round-trip");
        let policy = Policy::new(spec).expect("compiles");
        policies += 1;
        for check in case["checks"].as_array().expect("checks") {
            let tool = check[0].as_str().unwrap();
            let r = policy.check(tool);
            checks += 1;
            let got = (r.decision.as_str(), &*r.reason, r.matched_rule.as_deref());
            let want = (
                check[1].as_str().unwrap(),
                check[2].as_str().unwrap(),
                check[3].as_str(),
            );
            if got != want {
                mismatches.push(format!(
                    "{} tool {tool:?}: got {got:?}, tokenfence {want:?}",
                    case["policy"]
                ));
            }
        }
    }
    println!(
        "policy: {policies} policies, {checks} checks, {} mismatches",
        mismatches.len()
    );
    assert!(policies >= 20_000, "corpus too small: {policies}");
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
