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

/// The fenced blocks of README.md outside its `<!-- BEGIN NAME -->`
/// sections and without an `example:`/`output:` comment before them (those
/// have runners of their own): `(line, language, text)`.
fn loose_blocks() -> Vec<(usize, String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut prev = "";
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("<!-- BEGIN ") {
            depth += 1;
        } else if l.starts_with("<!-- END ") {
            depth -= 1;
        }
        if let Some(info) = l.strip_prefix("```") {
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].trim_end() == "```")
                .expect("a closed block");
            let marked = prev.starts_with("<!-- example:") || prev.starts_with("<!-- output:");
            if depth == 0 && !marked {
                out.push((i + 1, info.trim().to_string(), lines[i + 1..end].join("\n")));
            }
            prev = "";
            i = end + 1;
            continue;
        }
        if !l.trim().is_empty() {
            prev = l;
        }
        i += 1;
    }
    out
}

fn agentguard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentguard"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn the_readme_policies_and_mcp_configurations_are_what_the_command_reads() {
    let blocks: Vec<_> = loose_blocks()
        .into_iter()
        .filter(|(_, lang, _)| lang == "json")
        .collect();
    let (mut policies, mut configs) = (0, 0);
    for (line, _, text) in &blocks {
        let value: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("README.md:{line}: {e}"));
        if let Some(servers) = value.get("mcpServers").and_then(|s| s.as_object()) {
            // A client's configuration: `agentguard mcp --policy FILE -- SERVER...`.
            for server in servers.values() {
                assert_eq!(server["command"], "agentguard", "README.md:{line}");
                let args: Vec<&str> = server["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                assert_eq!(args[0], "mcp", "README.md:{line}");
                let policy = args[args.iter().position(|a| *a == "--policy").unwrap() + 1];
                let name = Path::new(policy).file_name().unwrap().to_str().unwrap();
                assert!(
                    root().join("examples/mcp").join(name).exists(),
                    "README.md:{line}: {policy} is no example policy"
                );
                assert!(args.contains(&"--"), "README.md:{line}");
                let help = agentguard(&["mcp", "--help"]);
                let help = String::from_utf8(help.stdout).unwrap();
                for flag in args
                    .iter()
                    .take_while(|a| **a != "--")
                    .filter(|a| a.starts_with("--"))
                {
                    assert!(
                        help.contains(flag),
                        "README.md:{line}: agentguard mcp has no {flag}"
                    );
                }
                configs += 1;
            }
        } else {
            // A policy file: the command reads it (lint exits 2 on a bad policy).
            let file = std::env::temp_dir().join(format!(
                "agentguard-readme-{}-{line}.json",
                std::process::id()
            ));
            std::fs::write(&file, text).unwrap();
            let run = agentguard(&["lint", file.to_str().unwrap()]);
            std::fs::remove_file(&file).unwrap();
            assert!(
                matches!(run.status.code(), Some(0 | 1)),
                "README.md:{line}: the command refuses this policy: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            policies += 1;
        }
    }
    assert!(
        policies >= 2 && configs >= 1,
        "{policies} policies, {configs} configurations"
    );
}

#[test]
fn the_readme_synopsis_names_only_what_the_command_has() {
    let synopsis: Vec<_> = loose_blocks()
        .into_iter()
        .filter(|(_, lang, text)| lang == "text" && text.starts_with("agentguard "))
        .collect();
    assert_eq!(synopsis.len(), 1, "one synopsis");
    let (line, _, text) = &synopsis[0];
    let mut checked = 0;
    let mut command: Vec<String> = Vec::new();
    for l in text.lines() {
        let words: Vec<&str> = l.split_whitespace().collect();
        if words.first() == Some(&"agentguard") {
            // The subcommand: the words before the first argument.
            command = words[1..]
                .iter()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .map(|w| w.to_string())
                .collect();
        }
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = agentguard(&args);
        assert_eq!(
            help.status.code(),
            Some(0),
            "README.md:{line}: agentguard {args:?}"
        );
        let help = String::from_utf8(help.stdout).unwrap();
        for flag in l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if flag.starts_with("--") {
                assert!(
                    help.contains(flag),
                    "README.md:{line}: `agentguard {}` has no {flag}",
                    command.join(" ")
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} flags");
}
