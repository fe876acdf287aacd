//! The shared analysis vectors (tests/vectors/analysis.json, also run by the
//! npm package and the Python wheel) through the command: every lint, diff
//! and fixture-test case gives exactly the vector's JSON with `--format
//! json`, and every bad-fixtures case exits 2 with the core's message.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes `value` into `dir/name`: text as it is, anything else as JSON.
fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    let text = match value {
        Value::String(s) => s.clone(),
        v => serde_json::to_string(v).unwrap(),
    };
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_shared_analysis_vectors_give_the_same_json_through_the_command() {
    let text = std::fs::read_to_string(root().join("tests/vectors/analysis.json")).unwrap();
    let vectors: Value = serde_json::from_str(&text).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut answers, mut errors) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let file = |key: &str| -> String {
            write(&dir, &format!("{i}-{key}.json"), &case[key])
                .display()
                .to_string()
        };
        let args: Vec<String> = match case["op"].as_str().unwrap() {
            "lint" => vec![
                "lint".into(),
                file("policy"),
                "--format".into(),
                "json".into(),
                "--fail-on".into(),
                "none".into(),
            ],
            "diff" => vec![
                "diff".into(),
                file("old"),
                file("new"),
                "--format".into(),
                "json".into(),
                "--fail-on".into(),
                "none".into(),
            ],
            "test" => vec![
                "test".into(),
                file("policy"),
                file("fixtures"),
                "--format".into(),
                "json".into(),
            ],
            op => panic!("{name}: unknown op {op}"),
        };
        let run = Command::new(env!("CARGO_BIN_EXE_agentguard"))
            .args(&args)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8(run.stdout).unwrap(),
            String::from_utf8(run.stderr).unwrap(),
        );
        if let Some(error) = case.get("error") {
            errors += 1;
            assert_eq!(run.status.code(), Some(2), "{name}: {stdout}{stderr}");
            let message = error["message"].as_str().unwrap();
            assert!(
                stderr.contains(message),
                "{name}: {stderr:?} lacks {message:?}"
            );
            continue;
        }
        answers += 1;
        let got: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}{stderr}"));
        assert_eq!(got, case["want"], "{name}");
        // The exit code follows the answer: 1 for a failing fixture.
        if case["op"] == "test" {
            let failed = !got["failures"].as_array().unwrap().is_empty();
            assert_eq!(run.status.code(), Some(i32::from(failed)), "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        answers >= 20 && errors >= 4,
        "{answers} answers, {errors} errors"
    );
}
