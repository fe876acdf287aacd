//! Loads the three policy templates of the announcement from
//! `examples/policies/*.json`, runs a scripted list of tool calls through
//! each, and prints every decision and the audit trail.
//!
//! `cargo run --example policy_templates`

use std::convert::Infallible;
use std::path::Path;

use agentguard::{Answer, AuditEntry, AuditLog, Hooks, JsonMap, Names, Policy, Returned, Verdict};

/// A scripted approver: says yes to anything but `create_table` and
/// `send_email`, the way a human on call might. The audit log is the core's.
struct Approver {
    log: AuditLog,
}

impl Hooks<JsonMap> for Approver {
    type Error = Infallible;
    const NAMES: Names = Names::RUST;
    fn now(&mut self) -> f64 {
        agentguard::unix_now()
    }
    fn approve(&mut self, tool: &str, _: Verdict) -> Option<Result<Answer, Infallible>> {
        let yes = !matches!(tool, "create_table" | "send_email");
        println!(
            "    ? approval asked for {tool} -> {}",
            if yes { "yes" } else { "no" }
        );
        Some(Ok(yes.into()))
    }
    fn has_on_decision(&self) -> bool {
        false
    }
    fn append(&mut self, entry: AuditEntry) {
        self.log.push(entry);
    }
    fn on_decision(&mut self, _: &AuditEntry) -> Result<Returned, Infallible> {
        Ok(Returned::Done)
    }
    fn on_deny(&mut self, tool: &str, _: Verdict) -> Result<Returned, Infallible> {
        println!("    ! on_deny: {tool} blocked");
        Ok(Returned::Done)
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
        let mut hooks = Approver {
            log: AuditLog::default(),
        };
        for tool in *tools {
            let mut ctx = JsonMap::new();
            ctx.insert("agent_id".into(), format!("{name}-bot").into());
            let verdict = policy
                .decide(tool, Some(ctx), &mut hooks)
                .map_err(|e| format!("{e:?}"))?;
            let r = policy.result(tool, verdict);
            let mark = match r.decision.as_str() {
                "allow" => "ALLOW",
                "deny" => "DENY ",
                _ => "HOLD ",
            };
            println!("  {mark} {tool:<22} {}", r.reason);
        }
        println!("  audit trail ({} entries):", hooks.log.len());
        for e in hooks.log.entries() {
            println!("    {}", serde_json::to_string(e)?);
        }
        println!();
    }
    Ok(())
}
