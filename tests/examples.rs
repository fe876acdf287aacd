//! Every Rust example runs and says what it should.

use std::process::Command;

#[test]
fn policy_templates_example_runs() {
    let out = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--release",
            "--example",
            "policy_templates",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "DENY  drop_table             denied by pattern: drop_*",
        "ALLOW write_database         approved via callback (pattern: write_database)",
        "DENY  create_table           approval denied via callback (pattern: create_table)",
        "DENY  export_csv             not in allow list (default: deny)",
        "DENY  git_force_push         denied by pattern: git_force_*",
        "audit trail (7 entries):",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn example_policies_are_the_announcement_templates() {
    // The same templates the shared vectors were judged with by tokenfence.
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/policy.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for name in ["database-safety", "email-agent", "code-reviewer"] {
        let path = format!(
            "{}/examples/policies/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let case = vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == format!("{name} template"))
            .unwrap();
        assert_eq!(file, case["policy"], "{name}");
    }
}
