//! lint and diff on large policies (DESIGN.md budget: under 1 s each):
//! 1 000 patterns (a quarter each of exact names, `prefix_*`, `*_suffix`
//! and `?`/set patterns, spread over the three lists, as in the `check`
//! bench), and 100 rules (the 20-rule workload's rules, five times over
//! different tools). The diff compares each with a version where a tenth of
//! the patterns or rules changed.

use std::hint::black_box;

use agentguard::analysis::{diff, lint};
use agentguard::Policy;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

/// 1 000 patterns; `shift` renames every tenth one (a new version).
fn patterns(n: usize, shift: bool) -> Value {
    let (mut allow, mut deny, mut approval) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let j = if shift && i % 10 == 3 { i + n } else { i };
        let p = match i % 4 {
            0 => format!("tool_{j}"),
            1 => format!("ns{j}_*"),
            2 => format!("*_sfx{j}"),
            _ => format!("q{j}_[a-f]?"),
        };
        match i % 10 {
            0..=5 => allow.push(p),
            6..=8 => deny.push(p),
            _ => approval.push(p),
        }
    }
    json!({"allow": allow, "deny": deny, "require_approval": approval})
}

/// The 20-rule workload's policy with its rules five times over, each copy
/// on its own tools (`write_file_2`, ...); `shift` loosens every tenth rule.
fn rules(shift: bool) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/workloads/twenty_rules.json"
    );
    let w: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut policy = w["policy"].clone();
    let base = policy["rules"].as_array().unwrap().clone();
    let mut out = Vec::new();
    for copy in 0..5 {
        for r in &base {
            let mut r = r.clone();
            r["id"] = json!(format!("{}-{copy}", r["id"].as_str().unwrap()));
            let suffix = |t: &Value| json!(format!("{}_{copy}", t.as_str().unwrap()));
            r["tool"] = match &r["tool"] {
                Value::Array(ts) => Value::Array(ts.iter().map(suffix).collect()),
                t => suffix(t),
            };
            if shift && out.len() % 10 == 0 {
                r["decision"] = json!("allow");
            }
            out.push(r);
        }
    }
    policy["rules"] = Value::Array(out);
    policy
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("analysis");
    g.sample_size(10);
    let big = Policy::from_value(&patterns(1000, false)).unwrap();
    let big2 = Policy::from_value(&patterns(1000, true)).unwrap();
    let many = Policy::from_value(&rules(false)).unwrap();
    let many2 = Policy::from_value(&rules(true)).unwrap();
    assert_eq!(many.spec().rules.len(), 100);
    // The budget is for the exact analysis: a diff that stopped at the
    // state limit would be fast and wrong.
    let d = diff(&big, &big2);
    assert!(
        d.exact,
        "the 1 000-pattern diff is not exact: {:?}",
        d.notes
    );
    assert!(!d.changes.is_empty());
    let undecided = |p: &Policy| lint(p).iter().filter(|f| f.code == "undecided").count();
    assert_eq!(undecided(&big), 0, "the 1 000-pattern lint is not exact");
    g.bench_function("lint_1000_patterns", |b| b.iter(|| black_box(lint(&big))));
    g.bench_function("diff_1000_patterns", |b| {
        b.iter(|| black_box(diff(&big, &big2)))
    });
    g.bench_function("lint_100_rules", |b| b.iter(|| black_box(lint(&many))));
    g.bench_function("diff_100_rules", |b| {
        b.iter(|| black_box(diff(&many, &many2)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
