//! `make bench` (core part): `check` on the database-safety policy and on
//! large generated policies, and compile time. The budget is in DESIGN.md:
//! under 100 ns per check at 13 patterns; 10 000 patterns at most 2x the
//! 13-pattern time; compiling 10 000 patterns under 50 ms.

use std::hint::black_box;
use std::time::Duration;

use agentguard::{Policy, PolicySpec};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn db_safety() -> PolicySpec {
    PolicySpec {
        name: "database-safety".into(),
        allow: [
            "read_database",
            "generate_report",
            "list_tables",
            "describe_schema",
        ]
        .map(String::from)
        .to_vec(),
        deny: [
            "delete_*",
            "drop_*",
            "truncate_*",
            "alter_*",
            "grant_*",
            "revoke_*",
        ]
        .map(String::from)
        .to_vec(),
        require_approval: ["write_database", "create_table", "create_index"]
            .map(String::from)
            .to_vec(),
        ..PolicySpec::default()
    }
}

/// The realistic mix of tool names an agent produces: mostly the same few.
fn db_names() -> Vec<String> {
    [
        "read_database",
        "read_database",
        "list_tables",
        "generate_report",
        "drop_table",
        "write_database",
        "describe_schema",
        "read_database",
        "delete_users",
        "send_email",
        "truncate_logs",
        "create_index",
    ]
    .map(String::from)
    .to_vec()
}

/// A policy of `n` patterns: a quarter each of exact names, `prefix_*`,
/// `*_suffix`, and `?`/class patterns, spread over the three lists.
pub fn large_spec(n: usize) -> PolicySpec {
    let mut spec = PolicySpec::default();
    for i in 0..n {
        let p = match i % 4 {
            0 => format!("tool_{i}"),
            1 => format!("ns{i}_*"),
            2 => format!("*_sfx{i}"),
            _ => format!("q{i}_[a-f]?"),
        };
        match i % 10 {
            0..=5 => spec.allow.push(p),
            6..=8 => spec.deny.push(p),
            _ => spec.require_approval.push(p),
        }
    }
    spec
}

fn large_names(n: usize) -> Vec<String> {
    (0..64)
        .map(|k| {
            let i = (k * 7919) % n;
            match k % 5 {
                0 => format!("tool_{i}"),
                1 => format!("ns{i}_anything"),
                2 => format!("call_sfx{i}"),
                3 => format!("q{i}_bz"),
                _ => format!("missing_{k}"),
            }
        })
        .collect()
}

fn bench_check(c: &mut Criterion) {
    let mut g = c.benchmark_group("check");
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));

    let policy = Policy::new(db_safety()).unwrap();
    let names = db_names();
    g.bench_function("db_safety_13", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % names.len();
            black_box(policy.check(black_box(&names[i])))
        })
    });
    g.bench_function("db_safety_13_evaluate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % names.len();
            black_box(policy.evaluate(black_box(&names[i])))
        })
    });
    // The same 13 patterns through the index instead of the scan: why small
    // sets scan (see SCAN_BELOW in src/set.rs).
    {
        use agentguard::__private::PatternSet;
        let spec = db_safety();
        let all: Vec<&String> = spec
            .deny
            .iter()
            .chain(&spec.require_approval)
            .chain(&spec.allow)
            .collect();
        let few = &all[..4];
        for (label, set) in [
            ("set_13_scan", PatternSet::with_threshold(&all, usize::MAX)),
            ("set_13_indexed", PatternSet::with_threshold(&all, 0)),
            ("set_4_scan", PatternSet::with_threshold(few, usize::MAX)),
            ("set_4_indexed", PatternSet::with_threshold(few, 0)),
        ] {
            g.bench_function(label, |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % names.len();
                    black_box(set.first_match(black_box(&names[i])))
                })
            });
        }
    }
    for n in [100, 1_000, 10_000] {
        let policy = Policy::new(large_spec(n)).unwrap();
        let names = large_names(n);
        g.bench_with_input(BenchmarkId::new("patterns", n), &n, |b, _| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % names.len();
                black_box(policy.check(black_box(&names[i])))
            })
        });
    }
    g.finish();
}

fn bench_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    let spec = large_spec(10_000);
    g.bench_function("patterns_10000", |b| {
        b.iter(|| black_box(Policy::new(black_box(spec.clone())).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench_check, bench_compile);
criterion_main!(benches);
