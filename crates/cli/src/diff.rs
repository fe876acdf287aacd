//! `agentguard diff`: the semantic difference of two policies as text, JSON
//! or Markdown (for a pull-request comment).

use agentguard::analysis::{Change, Diff};

use crate::text::{clean, md_code, md_text, show_args, show_call, show_tool};

/// The first line of the Markdown form, so that a CI job can find (and
/// update) the comment it posted before.
pub const MARKDOWN_MARKER: &str = "<!-- agentguard-diff -->";

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn wider_count(d: &Diff) -> usize {
    d.changes.iter().filter(|c| c.is_wider()).count()
}

/// `2 decision changes (1 wider), 1 reason-only change`, or `no change`.
fn summary(d: &Diff) -> String {
    if d.changes.is_empty() && d.reason_changes.is_empty() {
        return if d.exact {
            "no change: every call is decided the same way, by the same rule".into()
        } else {
            "no change found, but the comparison is not exact (see the notes)".into()
        };
    }
    let mut s = plural(d.changes.len(), "decision change", "decision changes");
    if !d.changes.is_empty() {
        s.push_str(&format!(" ({} wider)", wider_count(d)));
    }
    s.push_str(&format!(
        ", {}",
        plural(
            d.reason_changes.len(),
            "reason-only change",
            "reason-only changes"
        )
    ));
    s
}

fn rule_text(rule: &Option<String>) -> String {
    match rule {
        Some(r) => show_tool(r),
        None => "(default)".into(),
    }
}

fn change_text(out: &mut String, c: &Change, heading: String) {
    out.push_str(&heading);
    out.push_str(&format!("  call: {}\n", show_call(&c.tool, &c.args)));
    out.push_str(&format!(
        "  old:  {} -- {}\n",
        rule_text(&c.old_rule),
        clean(&c.old_reason)
    ));
    out.push_str(&format!(
        "  new:  {} -- {}\n",
        rule_text(&c.new_rule),
        clean(&c.new_reason)
    ));
}

/// Each transition with its witness call and the old and new rules and
/// reasons, then the reason-only changes, then what is not exact.
pub fn text(old: &str, new: &str, d: &Diff) -> String {
    let mut out = format!("{} -> {}: {}\n", clean(old), clean(new), summary(d));
    for c in &d.changes {
        let wider = if c.is_wider() { "  (wider)" } else { "" };
        out.push('\n');
        change_text(&mut out, c, format!("{} -> {}{wider}\n", c.from, c.to));
    }
    if !d.reason_changes.is_empty() {
        out.push_str("\nreason-only changes (same decision, another rule decides):\n");
        for c in &d.reason_changes {
            out.push('\n');
            change_text(&mut out, c, format!("{} (unchanged)\n", c.to));
        }
    }
    if !d.exact {
        out.push_str("\nnote: not exact; some calls were not compared exactly, so a change may be missing:\n");
        for n in &d.notes {
            out.push_str(&format!("  - {}\n", clean(n)));
        }
    }
    out
}

/// The diff as the JSON the core serialises.
pub fn json(d: &Diff) -> String {
    serde_json::to_string_pretty(d).expect("a diff serialises") + "\n"
}

fn md_rule(rule: &Option<String>) -> String {
    match rule {
        Some(r) => md_code(r),
        None => "default".into(),
    }
}

fn md_args(c: &Change) -> String {
    if c.args.is_empty() {
        String::new()
    } else {
        md_code(&show_args(&c.args))
    }
}

/// A comment for a pull request: a heading, a summary with counts, a table
/// of the transitions (widening ones marked), the reason-only changes
/// folded away, and a note when the comparison is not exact.
pub fn markdown(old: &str, new: &str, d: &Diff) -> String {
    let mut out = format!(
        "{MARKDOWN_MARKER}\n### agentguard policy diff\n\n{} → {}\n\n",
        md_code(old),
        md_code(new)
    );
    let wider = wider_count(d);
    if d.changes.is_empty() && d.reason_changes.is_empty() {
        out.push_str(if d.exact {
            "**No change.** Every call is decided the same way, by the same rule.\n"
        } else {
            "**No change found**, but the comparison is not exact (see the note below).\n"
        });
    } else {
        let mut line = format!(
            "**{}**",
            plural(d.changes.len(), "decision change", "decision changes")
        );
        if !d.changes.is_empty() {
            line.push_str(&format!(
                " ({} wider: newly allowed, or newly possible with approval)",
                wider
            ));
        }
        line.push_str(&format!(
            " and {}.\n",
            plural(
                d.reason_changes.len(),
                "reason-only change",
                "reason-only changes"
            )
        ));
        out.push_str(&line);
    }
    if !d.changes.is_empty() {
        out.push_str("\n| | Change | Tool | Arguments | Old rule | New rule |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for c in &d.changes {
            out.push_str(&format!(
                "| {} | `{}` → `{}` | {} | {} | {} | {} |\n",
                if c.is_wider() { "**wider**" } else { "" },
                c.from,
                c.to,
                md_code(&c.tool),
                md_args(c),
                md_rule(&c.old_rule),
                md_rule(&c.new_rule),
            ));
        }
    }
    if !d.reason_changes.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{} (same decision, another rule decides)</summary>\n\n",
            plural(
                d.reason_changes.len(),
                "reason-only change",
                "reason-only changes"
            )
        ));
        out.push_str("| Decision | Tool | Arguments | Old rule | New rule |\n");
        out.push_str("|---|---|---|---|---|\n");
        for c in &d.reason_changes {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.to,
                md_code(&c.tool),
                md_args(c),
                md_rule(&c.old_rule),
                md_rule(&c.new_rule),
            ));
        }
        out.push_str("\n</details>\n");
    }
    if !d.exact {
        out.push_str(
            "\n> **Not exact.** Some calls were not compared exactly, so a change may be missing:\n",
        );
        for n in &d.notes {
            out.push_str(&format!("> - {}\n", md_text(n)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentguard::Decision;
    use serde_json::json;

    fn change(from: Decision, to: Decision, tool: &str, args: serde_json::Value) -> Change {
        Change {
            from,
            to,
            tool: tool.into(),
            args: args.as_object().unwrap().clone(),
            old_rule: Some("drop_*".into()),
            new_rule: None,
            old_reason: "denied by pattern: drop_*".into(),
            new_reason: "no matching rule (default: allow)".into(),
            wider: agentguard::analysis::widens(from, to),
        }
    }

    /// The renderer on a diff made by hand, compared with a committed
    /// file byte for byte (the end-to-end snapshot of real policies is in
    /// tests/cli.rs).
    #[test]
    fn markdown_snapshot_of_every_part() {
        let mut narrow = change(
            Decision::Allow,
            Decision::RequireApproval,
            "send|mail`x",
            json!({"to": "a@b.example", "n": 1}),
        );
        narrow.old_rule = Some("send_*".into());
        narrow.new_rule = Some("outside-mail".into());
        let mut reason = change(Decision::Allow, Decision::Allow, "", json!({}));
        reason.old_rule = None;
        reason.new_rule = Some("*".into());
        let d = Diff {
            changes: vec![
                change(Decision::Deny, Decision::Allow, "drop_", json!({})),
                narrow,
            ],
            reason_changes: vec![reason],
            exact: false,
            notes: vec!["rules[1].when.command: shell commands compared on <samples>".into()],
        };
        let got = markdown("old.json", "new policy.yaml", &d);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/diff-unit.md");
        if std::env::var_os("AGENTGUARD_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(path, &got).unwrap();
        }
        let want = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            got, want,
            "set AGENTGUARD_UPDATE_SNAPSHOTS=1 to rewrite {path}"
        );
    }

    #[test]
    fn summaries() {
        let empty = Diff {
            changes: vec![],
            reason_changes: vec![],
            exact: true,
            notes: vec![],
        };
        assert!(text("a", "b", &empty).contains("no change"));
        assert!(markdown("a", "b", &empty).contains("**No change.**"));
        let d = Diff {
            changes: vec![change(Decision::Deny, Decision::Allow, "drop_", json!({}))],
            ..empty
        };
        let t = text("a", "b", &d);
        assert!(
            t.starts_with("a -> b: 1 decision change (1 wider), 0 reason-only changes\n"),
            "{t}"
        );
        assert!(t.contains("deny -> allow  (wider)\n  call: drop_\n  old:  drop_* -- denied by pattern: drop_*\n  new:  (default) -- no matching rule (default: allow)\n"), "{t}");
    }
}
