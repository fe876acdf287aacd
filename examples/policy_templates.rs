//! Loads the three policy templates of the announcement from
//! `examples/policies/*.json`, runs a scripted list of tool calls through
//! each, and prints every decision and the audit trail.
//!
//! `cargo run --example policy_templates`

use std::convert::Infallible;
use std::path::Path;

use agentguard::{AuditEntry, AuditLog, Hooks, JsonMap, Policy, PolicyResult};

/// A scripted approver: says yes to anything but `create_table` and
/// `send_email`, the way a human on call might.
struct Approver;

impl Hooks<JsonMap> for Approver {
    type Error = Infallible;
    fn now(&mut self) -> f64 {
        agentguard::unix_now()
    }
    fn approve(&mut self, pending: &PolicyResult) -> Option<Result<bool, Infallible>> {
        let yes = !matches!(pending.tool.as_str(), "create_table" | "send_email");
        println!(
            "    ? approval asked for {} -> {}",
            pending.tool,
            if yes { "yes" } else { "no" }
        );
        Some(Ok(yes))
    }
    fn on_decision(&mut self, _: &AuditEntry<JsonMap>) -> Result<(), Infallible> {
        Ok(())
    }
    fn on_deny(&mut self, r: &PolicyResult) -> Result<(), Infallible> {
        println!("    ! on_deny: {} blocked", r.tool);
        Ok(())
    }
}

const SCRIPT: &[(&str, &[&str])] = &[
    (
        "database-safety",
        &[
            "list_tables",
            "read_database",
            "drop_table",
            "write_database",
            "create_table",
            "truncate_logs",
            "export_csv",
        ],
    ),
    (
        "email-agent",
        &[
            "search_email",
            "draft_email",
            "send_email",
            "delete_email_all",
            "forward_to_external",
            "read_email",
        ],
    ),
    (
        "code-reviewer",
        &[
            "git_diff",
            "run_tests",
            "git_commit",
            "git_force_push",
            "rm_rf",
            "deploy_prod",
            "git_push",
        ],
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    for (name, tools) in SCRIPT {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json")))?;
        let policy = Policy::from_json(&text)?;
        println!("== policy {} ==", policy.name());
        let mut log = AuditLog::default();
        for tool in *tools {
            let mut ctx = JsonMap::new();
            ctx.insert("agent_id".into(), format!("{name}-bot").into());
            let r = policy.decide(tool, Some(ctx), &mut log, &mut Approver)?;
            let mark = match r.decision.as_str() {
                "allow" => "ALLOW",
                "deny" => "DENY ",
                _ => "HOLD ",
            };
            println!("  {mark} {tool:<22} {}", r.reason);
        }
        println!("  audit trail ({} entries):", log.len());
        for e in log.entries() {
            println!("    {}", serde_json::to_string(e)?);
        }
        println!();
    }
    Ok(())
}
