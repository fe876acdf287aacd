//! `make bench` (core part): `check` on the database-safety policy and on
//! large generated policies, and compile time. The budget is in DESIGN.md:
//! under 100 ns per check at 13 patterns; 10 000 patterns of every shape at
//! most 2x the 13-pattern time for the slowest name of each shape;
//! compiling 10 000 patterns under 50 ms.
//!
//! `check/shape/{shape}/{n}` times one name per shape and size: the slowest
//! of that shape's candidate names (hits of early, middle and late patterns,
//! near misses, misses, names holding only the shared literal, names packed
//! with keys), picked by a quick timing before criterion runs and written,
//! with every candidate's time, to `slowest_names.json` beside criterion's
//! own output for `bench/rust/report.py`. `check/shape_13/{shape}` times the
//! 10 000-pattern slowest name against 13 patterns of the same shape.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// The pattern shapes of DESIGN.md's performance budget.
const SHAPES: [&str; 7] = [
    "exact",
    "prefix_star",
    "prefix_class",
    "suffix",
    "inner",
    "classes",
    "no_literal",
];

/// Ten disjoint two-letter ranges: the sets of the `no_literal` shape.
const RANGES: [&str; 10] = [
    "a-b", "c-d", "e-f", "g-h", "i-j", "k-l", "m-n", "o-p", "q-r", "s-t",
];

const VERBS: [&str; 10] = [
    "read", "list", "drop", "delete", "write", "create", "send", "truncate", "generate", "describe",
];

/// Pattern `i` of a shape:
///
/// * `exact`: `read_record_17` (no wildcard);
/// * `prefix_star`: `mcp__*__delete_17` (all share the prefix `mcp__`);
/// * `prefix_class`: `t[0-9]17?` (all share the prefix `t`);
/// * `suffix`: `*_17?.log` (all share the suffix `.log`);
/// * `inner`: `?*_op17_*?` (an inner literal only);
/// * `classes`: `[a-f]?17[0-9]?` (sets and `?` around one literal);
/// * `no_literal`: `[a-b]?[c-d][e-f]*[g-h]` (sets from `i`'s decimal digits).
fn shape_pattern(shape: &str, i: usize) -> String {
    match shape {
        "exact" => format!("{}_record_{i}", VERBS[i % 10]),
        "prefix_star" => format!("mcp__*__delete_{i}"),
        "prefix_class" => format!("t[0-9]{i}?"),
        "suffix" => format!("*_{i}?.log"),
        "inner" => format!("?*_op{i}_*?"),
        "classes" => format!("[a-f]?{i}[0-9]?"),
        "no_literal" => {
            let d = |k: u32| RANGES[(i / 10usize.pow(k)) % 10];
            format!("[{}]?[{}][{}]*[{}]", d(0), d(1), d(2), d(3))
        }
        _ => unreachable!("unknown shape {shape}"),
    }
}

/// A name that pattern `i` of the shape matches.
fn shape_hit(shape: &str, i: usize) -> String {
    match shape {
        "exact" => shape_pattern(shape, i),
        "prefix_star" => format!("mcp__filesystem__delete_{i}"),
        "prefix_class" => format!("t7{i}x"),
        "suffix" => format!("app/server_{i}x.log"),
        "inner" => format!("x_op{i}_y"),
        "classes" => format!("cz{i}5q"),
        "no_literal" => {
            let d = |k: u32| RANGES[(i / 10usize.pow(k)) % 10].as_bytes()[0] as char;
            format!("{}z{}{}zz{}", d(0), d(1), d(2), d(3))
        }
        _ => unreachable!("unknown shape {shape}"),
    }
}

/// A policy of `n` patterns of one shape, spread over the three lists.
fn shape_spec(shape: &str, n: usize) -> PolicySpec {
    let mut spec = PolicySpec::default();
    for i in 0..n {
        let p = shape_pattern(shape, i);
        match i % 10 {
            0..=5 => spec.allow.push(p),
            6..=8 => spec.deny.push(p),
            _ => spec.require_approval.push(p),
        }
    }
    spec
}

/// Candidate names for the slowest-name figure: hits of early, middle and
/// late patterns, each with a near miss (one character more), misses, and
/// names that hold only what every pattern of the shape shares.
fn shape_names(shape: &str, n: usize) -> Vec<String> {
    let mut names = Vec::new();
    for k in [0, n / 3, 2 * n / 3, n - 1] {
        let hit = shape_hit(shape, k);
        assert!(
            agentguard::fnmatch(&hit, &shape_pattern(shape, k)),
            "{hit} should match {}",
            shape_pattern(shape, k)
        );
        names.push(format!("{hit}~"));
        names.push(hit);
    }
    names.extend(
        [
            "send_email",
            "mcp__filesystem__delete_",
            "mcp__filesystem__read_file",
            "t",
            "t7",
            "t7x",
            "app/server.log",
            "x_op_y",
            "x_op__y",
            "cz5q",
            "azzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "0123456789012345678901234567890123456789",
            "_op1_op12_op123_op1234_op12345_",
            "_op1_op2_op3_op4_op5_op6_op7_op8_op9_",
            "t12345678",
            "t7123456789?",
            "mcp__a__delete_1__delete_12__delete_123",
            "x_1_12_123_1234.log",
        ]
        .map(String::from),
    );
    names
}

/// Nanoseconds per `check` of `name`: the best of a few short rounds.
fn quick_ns(policy: &Policy, name: &str) -> f64 {
    let rounds = 5;
    let per_round = 4_000;
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                black_box(policy.check(black_box(name)));
            }
            t.elapsed().as_nanos() as f64 / per_round as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Where criterion writes (its own rule: `CRITERION_HOME`, else the target
/// directory's `criterion`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("criterion")
}

fn bench_shapes(c: &mut Criterion) {
    let mut g = c.benchmark_group("check");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(1));
    let mut json = String::from("{");
    for shape in SHAPES {
        for n in [100, 1_000, 10_000] {
            let policy = Policy::new(shape_spec(shape, n)).unwrap();
            let mut timed: Vec<(String, f64)> = shape_names(shape, n)
                .into_iter()
                .map(|name| {
                    let ns = quick_ns(&policy, &name);
                    (name, ns)
                })
                .collect();
            timed.sort_by(|a, b| b.1.total_cmp(&a.1));
            let slowest = timed[0].0.clone();
            let _ = write!(
                json,
                "{}\"{shape}/{n}\": {{\"slowest\": {:?}, \"quick_ns\": {{",
                if json.len() > 1 { ", " } else { "" },
                slowest
            );
            for (k, (name, ns)) in timed.iter().enumerate() {
                let _ = write!(json, "{}{name:?}: {ns:.1}", if k > 0 { ", " } else { "" });
            }
            json.push_str("}}");
            g.bench_with_input(BenchmarkId::new(format!("shape/{shape}"), n), &n, |b, _| {
                b.iter(|| black_box(policy.check(black_box(&slowest))))
            });
            if n == 10_000 {
                // The same name against 13 patterns of the same shape: what
                // the name costs whatever the policy's size.
                let small = Policy::new(shape_spec(shape, 13)).unwrap();
                g.bench_function(format!("shape_13/{shape}"), |b| {
                    b.iter(|| black_box(small.check(black_box(&slowest))))
                });
            }
        }
    }
    json.push('}');
    let dir = criterion_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("slowest_names.json"), json);
    }
    g.finish();
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
    for shape in SHAPES {
        let spec = shape_spec(shape, 10_000);
        g.bench_function(format!("shape/{shape}/10000"), |b| {
            b.iter(|| black_box(Policy::new(black_box(spec.clone())).unwrap()))
        });
    }
    g.finish();
}

fn bench_adversarial(c: &mut Criterion) {
    // Megabyte names against middle segments of sets and `?` (see
    // tests/adversarial.rs for the answers): linear in the name.
    let mut g = c.benchmark_group("adversarial");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    let mb = 1 << 20;
    let a = "a".repeat(mb);
    let ab: String = (0..mb)
        .map(|i| if i % 3 == 0 { 'a' } else { 'b' })
        .collect();
    let alternating: String = ('a'..='z').flat_map(|c| [c, '?']).collect();
    let cases = [
        (
            "question_marks_5000",
            format!("*{}x*", "?".repeat(5_000)),
            a.clone(),
        ),
        ("set_run_3000", format!("*{}c*", "[ab]".repeat(3_000)), ab),
        ("a?b?c_26", format!("*{alternating}*"), a.clone()),
        (
            "a?_run_2000",
            format!("*{}c*", "a?".repeat(2_000)),
            a.clone(),
        ),
        ("star_a_8_b", "*a*a*a*a*a*a*a*a*b".to_string(), a),
    ];
    for (label, pattern, name) in cases {
        g.throughput(Throughput::Bytes(name.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| black_box(agentguard::fnmatch(black_box(&name), black_box(&pattern))))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_check,
    bench_shapes,
    bench_compile,
    bench_adversarial
);
criterion_main!(benches);
