//! # agentguard-mcp
//!
//! The MCP proxy of the `agentguard` command: `agentguard mcp --policy FILE
//! -- COMMAND [ARGS...]` starts a stdio MCP server and sits between it and
//! the MCP client, so any client gets the policy without changes.
//!
//! - Every frame it does not police is relayed byte for byte, both ways
//!   (requests, responses, notifications, server-to-client requests,
//!   unknown methods and fields).
//! - `tools/list` answers lose the tools the policy denies whatever their
//!   arguments (proven by [`agentguard::analysis::tool_outcomes`]); tools
//!   allowed only for some arguments, or that need approval, stay with a
//!   note appended to their description.
//! - Each `tools/call` is decided by [`agentguard::Policy::check_call`]
//!   before it is forwarded: allowed calls go on untouched; denied ones are
//!   answered by the proxy with an `isError` tool result naming the rule
//!   and the reason; a hidden tool gets JSON-RPC -32602 `Unknown tool`.
//! - `require_approval` asks the human through MCP elicitation
//!   (`--approval elicit`, when the client declared form elicitation): an
//!   `elicitation/create` request in the `initialize` protocols, an
//!   `input_required` result with a signed, expiring `requestState` bound
//!   to the call in the stateless one (2026-07-28).
//! - `--approvals URL --key KEY`: such a call waits in the approval queue
//!   of an `agentguard serve` gateway instead (or, with elicitation, when
//!   the client cannot be asked), where a person grants or denies it.
//! - `--audit FILE.jsonl`: one JSON line per decision, arguments as a
//!   SHA-256 digest only.
//! - `--pin FILE`: each tool's definition hash is recorded on first sight;
//!   a tool whose definition later changes is hidden and its calls refused
//!   until `agentguard mcp pin` updates the file.
//!
//! Logs go to stderr, as does the server's stderr; stdout carries MCP only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentguard::Policy;

pub mod audit;
pub mod frame;
pub mod gateway;
pub mod jsonrpc;
mod mrtr;
mod pin;
mod pincmd;
mod relay;
pub mod session;

/// The first protocol revision without sessions (each request carries its
/// version, client info and capabilities in `_meta`).
pub use mrtr::STATELESS;
mod tools;

#[cfg(test)]
mod tests;

/// What to do with a call the policy says needs approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ApprovalMode {
    /// Ask the human through MCP elicitation when the client declared it
    /// (form mode, protocol 2025-06-18 or later); otherwise refuse, saying
    /// approval is required.
    Elicit,
    /// Never ask: refuse, saying approval is required (the default).
    Deny,
}

/// The arguments of `agentguard mcp`.
#[derive(Clone, Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct McpArgs {
    /// `agentguard mcp pin ...` instead of the proxy.
    #[command(subcommand)]
    pub action: Option<McpCommand>,
    /// The policy file (.json, or .yaml / .yml through the agentguard command).
    #[arg(long, value_name = "FILE", required = true)]
    pub policy: Option<PathBuf>,
    /// Append one JSON line per tools/call decision to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    pub audit: Option<PathBuf>,
    /// How a require_approval decision is settled.
    #[arg(long, value_enum, default_value = "deny")]
    pub approval: ApprovalMode,
    /// How long to wait for the human's answer before refusing the call.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub approval_timeout: u64,
    /// An `agentguard serve` gateway (http://HOST:PORT) whose approval queue holds the calls that need approval, where a person grants or denies them (dashboard, `agentguard approvals`, API); with --approval elicit, used when the client cannot be asked through elicitation.
    #[arg(long, value_name = "URL", requires = "key")]
    pub approvals: Option<String>,
    /// The agent key the proxy uses with --approvals (or the environment variable AGENTGUARD_KEY).
    #[arg(
        long,
        value_name = "KEY",
        env = "AGENTGUARD_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Pin each tool's definition (SHA-256) in this JSON file on first
    /// sight; hide a tool whose definition changes, and refuse its calls,
    /// until `agentguard mcp pin` updates the file.
    #[arg(long, value_name = "FILE")]
    pub pin: Option<PathBuf>,
    /// The MCP server to start, and its arguments: everything from the first word that is not one of these options on (put -- before it when it starts with -).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 1..,
        required = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// The subcommands of `agentguard mcp`.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum McpCommand {
    /// Record (or update) the pins of every tool the server lists now, then exit: run it after reviewing a changed tool.
    Pin(PinArgs),
}

/// The arguments of `agentguard mcp pin`.
#[derive(Clone, Debug, clap::Args)]
pub struct PinArgs {
    /// The pin file to write (replaced by the tools the server lists now).
    #[arg(long, value_name = "FILE")]
    pub pin: PathBuf,
    /// The proxy's policy, checked when given, so the proxy's own command
    /// line works with `pin` put after `mcp`.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Accepted and ignored, as in the proxy's command line.
    #[arg(long, value_name = "FILE.jsonl", hide = true)]
    pub audit: Option<PathBuf>,
    /// Accepted and ignored, as in the proxy's command line.
    #[arg(long, value_enum, hide = true)]
    pub approval: Option<ApprovalMode>,
    /// Accepted and ignored, as in the proxy's command line.
    #[arg(long, value_name = "SECS", hide = true)]
    pub approval_timeout: Option<u64>,
    /// Accepted and ignored, as in the proxy's command line.
    #[arg(long, value_name = "URL", hide = true)]
    pub approvals: Option<String>,
    /// Accepted and ignored, as in the proxy's command line.
    #[arg(long, value_name = "KEY", hide = true)]
    pub key: Option<String>,
    /// How long the server has to start and list its tools.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// The MCP server to start, and its arguments: everything from the first word that is not one of these options on (put -- before it when it starts with -).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 1..,
        required = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// Runs the proxy with a JSON policy file; returns the exit code: the
/// server's, 128 + a signal that ended both, or 2 when it cannot start (a
/// bad policy, an audit file it cannot open, a command that is missing).
pub fn run(args: McpArgs) -> i32 {
    run_with(args, |path| {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Policy::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    })
}

/// As [`run`], with the policy read by `load` (the `agentguard` command
/// passes its own reader, which also takes YAML). `load`'s error is printed
/// as it is.
pub fn run_with(
    args: McpArgs,
    load: impl FnOnce(&std::path::Path) -> Result<Policy, String>,
) -> i32 {
    let command = match &args.action {
        Some(McpCommand::Pin(p)) => &p.command,
        None => &args.command,
    };
    if let Some(first) = command.first().and_then(|c| c.to_str()) {
        if first.starts_with('-') {
            eprintln!(
                "agentguard mcp: unknown option '{first}' (the server's command comes after the options, with or without -- before it)"
            );
            return 2;
        }
    }
    if let Some(McpCommand::Pin(p)) = args.action {
        if let Some(path) = &p.policy {
            if let Err(e) = load(path) {
                eprintln!("agentguard mcp pin: {e}");
                return 2;
            }
        }
        return pincmd::run(&p);
    }
    let Some(policy_path) = &args.policy else {
        eprintln!("agentguard mcp: --policy FILE is required");
        return 2;
    };
    let policy = match load(policy_path) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("agentguard mcp: {e}");
            return 2;
        }
    };
    let pins = match &args.pin {
        None => None,
        Some(path) => match pin::PinState::open(path) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("agentguard mcp: {e}");
                return 2;
            }
        },
    };
    let audit = match &args.audit {
        None => None,
        Some(path) => match audit::Log::open(path) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!(
                    "agentguard mcp: {}: cannot open the audit log: {e}",
                    path.display()
                );
                return 2;
            }
        },
    };
    let gateway = match &args.approvals {
        None => None,
        Some(url) => match gateway::Gateway::new(url, args.key.as_deref().unwrap_or("")) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("agentguard mcp: {e}");
                return 2;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agentguard mcp: cannot start: {e}");
            return 2;
        }
    };
    let mut session = session::Session::new(
        policy,
        args.approval,
        Duration::from_secs(args.approval_timeout),
        audit,
    );
    if let Some(p) = pins {
        session = session.with_pins(p);
    }
    if gateway.is_some() {
        session = session.with_gateway(Duration::from_secs(args.approval_timeout));
    }
    let code = runtime.block_on(relay::relay(session, &args.command, gateway));
    // stdin's reader may still be blocked in a read: do not wait for it.
    runtime.shutdown_background();
    code
}
