//! `check_call` with arguments: the 20-rule policy of every operator and its
//! 9 calls of 3 arguments (bench/workloads/twenty_rules.json, shared with the
//! Node and Python benches). Budget (DESIGN.md): under 300 ns per call.

use std::hint::black_box;

use agentguard::Policy;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{Map, Value};

/// A call: the tool name and its arguments.
type Call = (String, Map<String, Value>);

fn workload() -> (Policy, Vec<Call>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/workloads/twenty_rules.json"
    );
    let w: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let policy = Policy::from_value(&w["policy"]).unwrap();
    let calls = w["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tool"].as_str().unwrap().to_string(),
                c["args"].as_object().unwrap().clone(),
            )
        })
        .collect();
    (policy, calls)
}

fn bench(c: &mut Criterion) {
    let (policy, calls) = workload();
    let mut g = c.benchmark_group("conditions");
    // Per call: one iteration decides all 9 calls; criterion reports the
    // total, and bench/rust/report.py divides by the call count.
    g.bench_function("check_call_20_rules_3_args_x9", |b| {
        b.iter(|| {
            for (tool, args) in &calls {
                black_box(policy.check_call(black_box(tool), black_box(args)));
            }
        })
    });
    g.bench_function("evaluate_call_20_rules_3_args_x9", |b| {
        b.iter(|| {
            for (tool, args) in &calls {
                black_box(policy.evaluate_call(black_box(tool), black_box(args)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
