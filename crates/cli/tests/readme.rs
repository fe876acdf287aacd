//! The README's "Review a policy change" section runs as shown: each
//! ```console block is a `$ agentguard ...` command, run from the
//! repository's root with this build of the command first on the PATH, and
//! the output under it is exactly what the command prints; the
//! `<!-- exit: N -->` line after the block is its exit code.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Example {
    command: String,
    output: String,
    exit: i32,
}

fn examples() -> Vec<Example> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let begin = readme
        .find("<!-- BEGIN review -->")
        .expect("a review section");
    let end = readme.find("<!-- END review -->").expect("its end");
    let section = &readme[begin..end];
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find("```console\n") {
        let body = &rest[start + "```console\n".len()..];
        let close = body.find("\n```\n").expect("a closed block");
        let block = &body[..close];
        let after = &body[close + "\n```\n".len()..];
        let exit_line = after.lines().next().unwrap_or_default();
        let exit = exit_line
            .strip_prefix("<!-- exit: ")
            .and_then(|s| s.strip_suffix(" -->"))
            .unwrap_or_else(|| panic!("no exit line after the block of {block:?}"))
            .parse()
            .unwrap();
        let (first, output) = block.split_once('\n').unwrap_or((block, ""));
        let command = first.strip_prefix("$ ").expect("a $ command").to_string();
        assert!(command.starts_with("agentguard "), "{command}");
        out.push(Example {
            command,
            output: output.to_string(),
            exit,
        });
        rest = after;
    }
    out
}

#[test]
fn the_readme_review_examples_print_what_the_readme_shows() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_agentguard"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let examples = examples();
    assert!(examples.len() >= 4, "{} examples", examples.len());
    for e in &examples {
        let run = Command::new("bash")
            .arg("-c")
            .arg(&e.command)
            .current_dir(root())
            .env("PATH", &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8(run.stdout).unwrap();
        assert_eq!(
            stdout.trim_end_matches('\n'),
            e.output,
            "`{}` printed something else (stderr: {})",
            e.command,
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(run.status.code(), Some(e.exit), "`{}`", e.command);
    }
}
