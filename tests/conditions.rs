//! Argument conditions against the independent reference model of
//! CONDITIONS.md (`tests/conditions/reference.py`): the hand-written
//! vectors of `tests/vectors/conditions.json`, and the generated corpus of
//! `tests/conditions/generate.py` (`make corpus` writes it beside the
//! fnmatch/tokenfence corpus). Zero mismatches.
//!
//! `make test` sets `AGENTGUARD_CORPUS`; without it the corpus is generated
//! here with `.venv/bin/python` (`make venv`), and the test fails, never
//! skips, if it cannot be.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::Command;

use agentguard::{Policy, PolicyResult};
use serde_json::{Map, Value};

fn corpus_file(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var("AGENTGUARD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/corpus"));
    let path = dir.join(name);
    if !path.exists() {
        let python = root.join(".venv/bin/python");
        let status = Command::new(&python)
            .arg(root.join("tests/conditions/generate.py"))
            .arg("--out")
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {python:?} ({e}): run `make venv` first"));
        assert!(status.success(), "conditions corpus generation failed");
    }
    path
}

fn lines(name: &str) -> Vec<Value> {
    let path = corpus_file(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    std::io::BufReader::new(file)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("corpus line is JSON"))
        .collect()
}

/// The result JSON without `tool`, as the reference writes it.
fn judged(r: &PolicyResult) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("tool");
    v
}

/// Where an error points, as the reference writes it: `field[index]`.
fn error_path(e: &agentguard::Error) -> String {
    let field = e.field().unwrap_or("");
    match e.index() {
        Some(i) => format!("{field}[{i}]"),
        None => field.to_string(),
    }
}

/// Checks one call; returns a line describing a mismatch.
fn check_call(policy: &Policy, call: &Value) -> Option<String> {
    let tool = call["tool"].as_str().unwrap();
    let empty = Map::new();
    let args = call["args"].as_object().unwrap_or(&empty);
    let verdict = policy.evaluate_call(tool, args);
    let got = judged(&policy.result(tool, verdict));
    if got != call["expect"] {
        return Some(format!(
            "{tool:?} {}: got {got}, want {}",
            call["args"], call["expect"]
        ));
    }
    for (answer, key) in [(true, "approved"), (false, "refused")] {
        let want = &call[key];
        if want.is_null() {
            continue;
        }
        let got = judged(&policy.result(tool, policy.resolve_verdict(verdict, answer)));
        if got != *want {
            return Some(format!(
                "{tool:?} {} {key}: got {got}, want {want}",
                call["args"]
            ));
        }
    }
    None
}

#[test]
fn condition_vectors() {
    let path = format!(
        "{}/tests/vectors/conditions.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut calls = 0;
    let mut mismatches = Vec::new();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let policy = Policy::from_value(&case["policy"])
            .unwrap_or_else(|e| panic!("{name}: policy refused: {e}"));
        // The file format round-trips losslessly.
        let again = Policy::from_value(&policy.spec().to_value()).unwrap();
        assert_eq!(again.spec(), policy.spec(), "{name}: round trip");
        for call in case["calls"].as_array().unwrap() {
            calls += 1;
            if let Some(m) = check_call(&policy, call) {
                mismatches.push(format!("{name}: {m}"));
            }
        }
    }
    let mut errors = 0;
    for case in v["errors"].as_array().unwrap() {
        errors += 1;
        let name = case["name"].as_str().unwrap();
        match Policy::from_value(&case["policy"]) {
            Ok(_) => mismatches.push(format!(
                "{name}: accepted, want an error at {}",
                case["path"]
            )),
            Err(e) if error_path(&e) != case["path"].as_str().unwrap() => mismatches.push(format!(
                "{name}: error at {:?} ({e}), want {}",
                error_path(&e),
                case["path"]
            )),
            Err(_) => {}
        }
    }
    println!(
        "conditions vectors: {calls} calls, {errors} bad policies, {} mismatches",
        mismatches.len()
    );
    assert!(calls >= 80 && errors >= 20);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn conditions_agree_with_the_reference_model() {
    let cases = lines("conditions.jsonl");
    let mut calls = 0;
    let mut mismatches = Vec::new();
    for case in &cases {
        let policy = match Policy::from_value(&case["policy"]) {
            Ok(p) => p,
            Err(e) => {
                mismatches.push(format!("policy refused ({e}): {}", case["policy"]));
                continue;
            }
        };
        for call in case["calls"].as_array().unwrap() {
            calls += 1;
            if let Some(m) = check_call(&policy, call) {
                mismatches.push(format!("{m}\n  policy {}", case["policy"]));
            }
        }
    }
    println!(
        "conditions corpus: {} policies, {calls} calls, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(cases.len() >= 1000 && calls >= 20_000);
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}

#[test]
fn bad_policies_are_refused_where_the_reference_says() {
    let cases = lines("condition_errors.jsonl");
    let mut mismatches = Vec::new();
    for case in &cases {
        let want = case["path"].as_str().unwrap();
        match Policy::from_value(&case["policy"]) {
            Ok(_) => mismatches.push(format!(
                "accepted, want an error at {want}: {}",
                case["policy"]
            )),
            Err(e) if error_path(&e) != want => mismatches.push(format!(
                "error at {:?} ({e}), want {want}: {}",
                error_path(&e),
                case["policy"]
            )),
            Err(_) => {}
        }
    }
    println!(
        "condition errors: {} policies, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(cases.len() >= 500);
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}
