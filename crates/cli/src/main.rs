//! The `agentguard` command: check, test, lint and diff policies; the MCP
//! proxy; the gateway (`serve`) and its client (`mesh`).
//!
//! Exit codes (DESIGN.md): 0 success or allow; 1 deny, findings, changes or
//! failing fixtures; 2 a usage or policy error; 3 require_approval (check).
//! Output is plain text, never coloured; errors go to stderr as
//! `agentguard: <file>: <message>`.

use std::io::Write;
use std::process::ExitCode;

use agentguard::analysis::{self, Severity};
use agentguard::Decision;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod diff;
mod input;
mod lines;
mod lint;
mod text;

use input::{load_fixtures, load_policy, parse_args, Failure};
use text::{clean, show_call, show_tool};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (check: allow)
  1  check: deny; test: a fixture failed; lint: findings at or above --fail-on;
     diff: changes that --fail-on counts
  2  usage error, or a policy or fixture file that cannot be read
  3  check: require_approval

Policy files are JSON, or YAML when they end in .yaml or .yml; both are read
strictly (an unknown or repeated key is an error that names it).";

#[derive(Parser)]
#[command(
    name = "agentguard",
    version,
    about = "Check, test, lint and diff agentguard policies (least privilege for AI agents' tool calls).",
    after_help = EXIT_CODES,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one tool call: allow (exit 0), deny (exit 1) or require_approval (exit 3).
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Run fixtures (calls with the decision they must get) against a policy.
    #[command(after_help = EXIT_CODES)]
    Test(TestArgs),
    /// Find dead rules, fnmatch traps and conditions that cannot hold.
    #[command(after_help = EXIT_CODES)]
    Lint(LintArgs),
    /// List every way a decision changes between two policies, each with a witness call.
    #[command(after_help = EXIT_CODES)]
    Diff(DiffArgs),
    /// Enforce the policy on a stdio MCP server, for any MCP client: the proxy (exits with the server's code).
    Mcp(agentguard_mcp::McpArgs),
    /// Run the gateway: per-agent action policies enforced on every intent, on SQLite or PostgreSQL.
    Serve(agentguard_gateway::cli::ServeArgs),
    /// Talk to a gateway: policies, intents, inbox, audit (key from $AGENTGUARD_API_KEY).
    Mesh(agentguard_gateway::cli::MeshArgs),
    /// Grant or refuse tool calls waiting for a person on a gateway (key from $AGENTGUARD_API_KEY).
    Approvals(agentguard_gateway::cli::ApprovalsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// `deny  drop_table  denied by pattern: drop_*`
    Text,
    /// The result JSON: {"tool", "decision", "reason", "matched_rule", "rule", "shadow"}
    Json,
}

#[derive(Args)]
struct CheckArgs {
    /// The policy file (.json, .yaml or .yml).
    policy: String,
    /// The tool's name.
    tool: String,
    /// The call's arguments, a JSON object (for policies with rules).
    #[arg(long, value_name = "JSON")]
    args: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum TestFormat {
    /// Failures with want and got, what no fixture exercised, a count.
    Text,
    /// The report: {"total", "passed", "failures", "unexercised"}
    Json,
}

#[derive(Args)]
struct TestArgs {
    /// The policy file (.json, .yaml or .yml).
    policy: String,
    /// Fixtures: a JSON array or JSON lines (or YAML) of {"tool", "args"?, "expect", "rule"?}.
    fixtures: String,
    #[arg(long, value_enum, default_value = "text")]
    format: TestFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    /// `policy.json:4: error[duplicate] deny[1]: ...` lines and a count.
    Text,
    /// The findings, as the JSON array the core gives.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFailOn {
    /// Exit 1 only for errors.
    Error,
    /// Exit 1 for warnings and errors.
    Warning,
    /// Exit 1 for any finding.
    Info,
    /// Always exit 0 (findings are still printed).
    None,
}

#[derive(Args)]
struct LintArgs {
    /// The policy file (.json, .yaml or .yml).
    policy: String,
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
    /// The least severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "warning")]
    fail_on: LintFailOn,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    /// Each transition with its witness call, rules and reasons.
    Text,
    /// The diff: {"changes", "reason_changes", "exact", "notes"}
    Json,
    /// A table for a pull-request comment.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFailOn {
    /// Exit 1 for any change, of decision or only of the deciding rule.
    Any,
    /// Exit 1 when a call is newly allowed, or newly needs approval instead of being denied.
    Wider,
    /// Always exit 0 (unless a file cannot be read).
    None,
}

#[derive(Args)]
#[command(
    long_about = "List every way a decision changes between two policies, each with a witness call \
                  that the old policy decides one way and the new one the other.\n\n\
                  When the comparison is not exact (the notes say why), a change may be missing: \
                  then --fail-on any and --fail-on wider exit 1 even when no change was found, \
                  since no change is proven."
)]
struct DiffArgs {
    /// The old policy file (.json, .yaml or .yml).
    old: String,
    /// The new policy file.
    new: String,
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
    /// Which changes make the exit code 1.
    #[arg(long, value_enum, default_value = "any")]
    fail_on: DiffFailOn,
}

/// What a command prints and its exit code.
struct Outcome {
    stdout: String,
    stderr: String,
    code: u8,
}

impl Outcome {
    fn new(stdout: String, code: u8) -> Outcome {
        Outcome {
            stdout,
            stderr: String::new(),
            code,
        }
    }
}

fn check(a: CheckArgs) -> Result<Outcome, Failure> {
    let file = load_policy(&a.policy)?;
    agentguard::check_name(&a.tool).map_err(|e| Failure::new("tool", e.to_string()))?;
    let args = match &a.args {
        Some(text) => parse_args(text)?,
        None => Default::default(),
    };
    let result = file.policy.check_call(&a.tool, &args);
    let code = match result.decision {
        Decision::Allow => 0,
        Decision::Deny => 1,
        Decision::RequireApproval => 3,
    };
    let out = match a.format {
        CheckFormat::Json => {
            serde_json::to_string_pretty(&result).expect("a result serialises") + "\n"
        }
        CheckFormat::Text => {
            let mut s = format!(
                "{}  {}  {}\n",
                result.decision,
                show_tool(&result.tool),
                clean(&result.reason)
            );
            for hit in &result.shadow {
                s.push_str(&format!(
                    "  shadow rule {} would {}\n",
                    show_tool(&hit.id),
                    hit.decision
                ));
            }
            s
        }
    };
    Ok(Outcome::new(out, code))
}

fn test(a: TestArgs) -> Result<Outcome, Failure> {
    let file = load_policy(&a.policy)?;
    let fixtures = load_fixtures(&a.fixtures)?;
    let report = analysis::test(&file.policy, &fixtures.fixtures);
    let code = if report.ok() { 0 } else { 1 };
    let out = match a.format {
        TestFormat::Json => {
            serde_json::to_string_pretty(&report).expect("a report serialises") + "\n"
        }
        TestFormat::Text => {
            let mut s = String::new();
            for f in &report.failures {
                let at = match fixtures.lines.get(f.index).copied().flatten() {
                    Some(line) => format!("{}:{line}", a.fixtures),
                    None => a.fixtures.clone(),
                };
                s.push_str(&format!(
                    "FAIL {} fixture {}: {}\n",
                    clean(&at),
                    f.index,
                    show_call(&f.tool, &f.args)
                ));
                let want_rule = fixtures.fixtures[f.index].rule.as_ref();
                let want = match want_rule {
                    None => f.want.decision.to_string(),
                    Some(Some(r)) => format!("{} by {}", f.want.decision, show_tool(r)),
                    Some(None) => format!("{} by the default", f.want.decision),
                };
                let got = match &f.got.rule {
                    Some(r) => format!("{} by {}", f.got.decision, show_tool(r)),
                    None => format!("{} by the default", f.got.decision),
                };
                s.push_str(&format!("  want: {want}\n"));
                s.push_str(&format!(
                    "  got:  {got} ({})\n",
                    clean(f.got.reason.as_deref().unwrap_or(""))
                ));
            }
            if !report.unexercised.is_empty() {
                s.push_str("not exercised by any fixture:\n");
                let spec = file.policy.spec();
                for loc in &report.unexercised {
                    let pattern = match (loc.field.as_str(), loc.index) {
                        ("deny", Some(i)) => spec.deny.get(i),
                        ("require_approval", Some(i)) => spec.require_approval.get(i),
                        ("allow", Some(i)) => spec.allow.get(i),
                        _ => None,
                    };
                    let what = match pattern {
                        Some(p) => format!("{} {}", loc.display(), show_tool(p)),
                        None => clean(&loc.display()),
                    };
                    s.push_str(&format!("  {what}  ({})\n", clean(&file.place(loc))));
                }
            }
            s.push_str(&format!(
                "{} fixtures: {} passed, {} failed\n",
                report.total,
                report.passed,
                report.failures.len()
            ));
            s
        }
    };
    Ok(Outcome::new(out, code))
}

fn lint(a: LintArgs) -> Result<Outcome, Failure> {
    let file = load_policy(&a.policy)?;
    let findings = analysis::lint(&file.policy);
    let threshold = match a.fail_on {
        LintFailOn::Error => Some(Severity::Error),
        LintFailOn::Warning => Some(Severity::Warning),
        LintFailOn::Info => Some(Severity::Info),
        LintFailOn::None => None,
    };
    let code = u8::from(lint::fails(&findings, threshold));
    let out = match a.format {
        LintFormat::Text => lint::text(&file, &findings),
        LintFormat::Json => lint::json(&findings),
        LintFormat::Sarif => {
            serde_json::to_string_pretty(&lint::sarif(&file, &findings)).expect("SARIF serialises")
                + "\n"
        }
    };
    Ok(Outcome::new(out, code))
}

fn diff(a: DiffArgs) -> Result<Outcome, Failure> {
    let old = load_policy(&a.old)?;
    let new = load_policy(&a.new)?;
    let d = analysis::diff(&old.policy, &new.policy);
    let counted = match a.fail_on {
        DiffFailOn::Any => !d.changes.is_empty() || !d.reason_changes.is_empty(),
        DiffFailOn::Wider => d.changes.iter().any(|c| c.is_wider()),
        DiffFailOn::None => false,
    };
    // Never "no change" without proof: an inexact comparison that found
    // nothing to fail on still fails, unless told not to care.
    let unproven = !counted && !d.exact && !matches!(a.fail_on, DiffFailOn::None);
    let out = match a.format {
        DiffFormat::Text => diff::text(&a.old, &a.new, &d),
        DiffFormat::Json => diff::json(&d),
        DiffFormat::Markdown => diff::markdown(&a.old, &a.new, &d),
    };
    let mut outcome = Outcome::new(out, u8::from(counted || unproven));
    if unproven {
        outcome.stderr =
            "agentguard: the comparison is not exact: nothing to fail on was found, but a change may be missing (see the notes), so exit 1 (--fail-on none ignores this)\n"
                .into();
    }
    Ok(outcome)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(a) => check(a),
        Command::Test(a) => test(a),
        Command::Lint(a) => lint(a),
        Command::Diff(a) => diff(a),
        Command::Mcp(a) => return mcp(a),
        Command::Serve(a) => return exit(agentguard_gateway::cli::serve(a)),
        Command::Mesh(a) => return exit(agentguard_gateway::cli::mesh(a)),
        Command::Approvals(a) => return exit(agentguard_gateway::cli::approvals(a)),
    };
    match outcome {
        Ok(o) => {
            // A closed pipe (`agentguard lint p.json | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(o.stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(o.stderr.as_bytes());
            ExitCode::from(o.code)
        }
        Err(f) => {
            let _ = writeln!(
                std::io::stderr(),
                "agentguard: {}: {}",
                clean(&f.what),
                clean(&f.message)
            );
            ExitCode::from(2)
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The MCP proxy, with this command's policy reader (JSON or YAML).
fn mcp(a: agentguard_mcp::McpArgs) -> ExitCode {
    let code = agentguard_mcp::run_with(a, |path| {
        load_policy(&path.to_string_lossy())
            .map(|f| f.policy)
            .map_err(|f| format!("{}: {}", clean(&f.what), clean(&f.message)))
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
