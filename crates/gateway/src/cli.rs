//! `agentguard serve` and `agentguard mesh`: the gateway and its client on
//! the command line.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::net::NetLimits;
use crate::{Config, Limits, Storage};

/// `agentguard serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The API keys file: {"keys": {KEY: {"role": "admin"}, KEY: {"role": "agent", "agent": ID}}}.
    #[arg(long, value_name = "FILE")]
    pub keys: PathBuf,
    /// Keep state in DIR/agentguard.db (SQLite; the default storage).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "database",
        required_unless_present = "database"
    )]
    pub data_dir: Option<PathBuf>,
    /// Keep state in PostgreSQL (postgres://...); any number of gateways can share it.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The most intents one inbox holds until they are acknowledged (more get 429).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub inbox_max_intents: i64,
    /// The most bytes of intents one inbox holds (more get 429).
    #[arg(long, default_value_t = 64 * 1024 * 1024, value_name = "BYTES")]
    pub inbox_max_bytes: i64,
    /// The largest payload of one intent, in bytes of JSON (larger get 413).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_payload_bytes: usize,
    /// How long intents taken from an inbox stay leased before they come back unless acknowledged.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub lease_seconds: f64,
    /// How long a tool call's approval can be granted and then used, in seconds.
    #[arg(long, default_value_t = 900.0, value_name = "SECONDS")]
    pub approval_seconds: f64,
    /// POST approval.pending, approval.decided and decision.deny events here (repeatable; http:// URLs; signed with the keys file's "webhook_secret").
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// Serve these MCP servers at /mcp/NAME, each behind the calling agent's tool policy: {"servers": {"NAME": {"command": "...", "args": [...], "env": {...}, "cwd": "..."}}} for a stdio server, {"url": "http://...", "headers": {...}} for a Streamable HTTP one.
    #[arg(long, value_name = "FILE")]
    pub mcp_config: Option<PathBuf>,
    /// A browser origin allowed to use /mcp/NAME besides loopback ones (repeatable; for example `https://app.example`).
    #[arg(long = "mcp-allow-origin", value_name = "ORIGIN")]
    pub mcp_allow_origins: Vec<String>,
    /// How long an MCP approval asked through elicitation waits for the person's answer.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub mcp_approval_timeout: u64,
    /// Open connections allowed from one IP address.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_connections_per_address: usize,
}

/// Runs the gateway until SIGTERM or SIGINT; the process's exit status.
pub fn serve(a: ServeArgs) -> i32 {
    for (flag, v) in [
        ("--lease-seconds", a.lease_seconds),
        ("--approval-seconds", a.approval_seconds),
    ] {
        if !(v > 0.0 && v <= 86_400.0) {
            eprintln!("gateway: {flag} must be more than 0 and at most 86400");
            return 2;
        }
    }
    if a.inbox_max_intents < 1
        || a.inbox_max_bytes < 1
        || a.max_payload_bytes < 1
        || a.max_connections_per_address < 1
    {
        eprintln!("gateway: limits must be at least 1");
        return 2;
    }
    let mcp = match &a.mcp_config {
        None if !a.mcp_allow_origins.is_empty() => {
            eprintln!("gateway: --mcp-allow-origin needs --mcp-config");
            return 2;
        }
        None => None,
        Some(path) => match crate::mcp::load_config(path) {
            Ok(servers) => Some((
                servers,
                a.mcp_allow_origins.clone(),
                std::time::Duration::from_secs(a.mcp_approval_timeout),
            )),
            Err(e) => {
                eprintln!("gateway: {e}");
                return 2;
            }
        },
    };
    let storage = match (a.data_dir, a.database) {
        (_, Some(url)) => Storage::Database(url),
        (Some(dir), None) => Storage::DataDir(dir),
        (None, None) => unreachable!("clap requires one"),
    };
    let config = Config {
        host: a.host.clone(),
        port: a.port,
        keys: a.keys,
        storage,
        limits: Limits {
            max_payload_bytes: a.max_payload_bytes,
            inbox_max_intents: a.inbox_max_intents,
            inbox_max_bytes: a.inbox_max_bytes,
            lease_seconds: a.lease_seconds,
            approval_seconds: a.approval_seconds,
            ..Limits::default()
        },
        net: NetLimits {
            per_address: a.max_connections_per_address,
            ..NetLimits::default()
        },
        webhooks: a.webhooks,
        mcp,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gateway: cannot start: {e}");
            return 1;
        }
    };
    let host = a.host;
    let result = runtime.block_on(crate::run(config, |addr| {
        let shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{shown}:{}", addr.port());
        let _ = writeln!(out, "dashboard: http://{shown}:{}/dashboard", addr.port());
        let _ = out.flush();
    }));
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gateway: {e}");
            1
        }
    }
}

/// `agentguard mesh`: a gateway's action policies, audit and inboxes from
/// the shell. The key is read from `$AGENTGUARD_API_KEY`.
#[derive(Args, Debug)]
#[command(
    after_help = "Prints the gateway's JSON answer. Exit 0 on success, 1 when the gateway refuses (its error on stderr) or cannot be reached, 2 on a usage error.\nThe API key is read from $AGENTGUARD_API_KEY."
)]
pub struct MeshArgs {
    /// The gateway (default $AGENTGUARD_URL, else http://127.0.0.1:8787).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    #[command(subcommand)]
    pub command: MeshCommand,
}

/// `agentguard approvals`: tool calls waiting for a person, from the shell
/// (an approver or admin key in `$AGENTGUARD_API_KEY`).
#[derive(Args, Debug)]
#[command(
    after_help = "Prints the gateway's JSON answer. Exit 0 on success, 1 when the gateway refuses (its error on stderr) or cannot be reached, 2 on a usage error.\nThe API key (approver or admin) is read from $AGENTGUARD_API_KEY."
)]
pub struct ApprovalsArgs {
    /// The gateway (default $AGENTGUARD_URL, else http://127.0.0.1:8787).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    #[command(subcommand)]
    pub command: ApprovalsCommand,
}

/// What `agentguard approvals` does.
#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    /// List approvals, newest first.
    List {
        /// pending (the default), granted, denied, used, expired or all.
        #[arg(long, default_value = "pending")]
        status: String,
        /// At most this many (1 to 1000; default 100).
        #[arg(long, value_name = "N")]
        limit: Option<String>,
    },
    /// Show one approval (with --wait, when it is decided).
    Show {
        /// The approval id (apr_...).
        id: String,
        /// Wait up to this many seconds (at most 60) for a decision.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<String>,
    },
    /// Grant a pending approval: the agent's repeated call is allowed once.
    Grant {
        /// The approval id (apr_...).
        id: String,
        /// Why, for the audit.
        #[arg(long)]
        note: Option<String>,
    },
    /// Refuse a pending approval: the agent's repeated call is denied.
    Deny {
        /// The approval id (apr_...).
        id: String,
        /// Why, for the audit.
        #[arg(long)]
        note: Option<String>,
    },
}

/// Runs `agentguard approvals`; the exit status.
pub fn approvals(a: ApprovalsArgs) -> i32 {
    let seg = |id: &str| percent_encoding::utf8_percent_encode(id, SEGMENT).to_string();
    let (method, path, body) = match &a.command {
        ApprovalsCommand::List { status, limit } => (
            "GET",
            with_query(
                "/v1/approvals".into(),
                &[("status", &Some(status.clone())), ("limit", limit)],
            ),
            None,
        ),
        ApprovalsCommand::Show { id, wait } => (
            "GET",
            with_query(format!("/v1/approvals/{}", seg(id)), &[("wait", wait)]),
            None,
        ),
        ApprovalsCommand::Grant { id, note } => (
            "POST",
            format!("/v1/approvals/{}/grant", seg(id)),
            Some(serde_json::json!({ "note": note })),
        ),
        ApprovalsCommand::Deny { id, note } => (
            "POST",
            format!("/v1/approvals/{}/deny", seg(id)),
            Some(serde_json::json!({ "note": note })),
        ),
    };
    run_request("agentguard approvals", a.url, method, path, body, false)
}

/// What `agentguard mesh` does.
#[derive(Subcommand, Debug)]
pub enum MeshCommand {
    /// Set, show or delete an agent's action policies (admin key).
    #[command(subcommand)]
    Policies(PoliciesCommand),
    /// Send an intent as the key's agent.
    Send {
        /// The receiver: an id or agent://org/env/name.
        #[arg(long, value_name = "AGENT")]
        to: String,
        /// The intent type, e.g. intent.data.read.v1.
        #[arg(long = "type", value_name = "INTENT_TYPE")]
        intent_type: String,
        /// The payload, as JSON.
        #[arg(long, value_name = "JSON")]
        payload: Option<String>,
    },
    /// Take intents from the key's agent's inbox (leased until acknowledged).
    Inbox {
        /// At most this many (1 to 1000; default 100).
        #[arg(long, value_name = "N")]
        limit: Option<String>,
        /// Acknowledge what was taken at once (at-most-once for this reader).
        #[arg(long)]
        ack: bool,
    },
    /// Acknowledge intents taken from the inbox, so they are not handed out again.
    Ack {
        /// The intent ids.
        #[arg(required = true, value_name = "INTENT_ID")]
        ids: Vec<String>,
    },
    /// Read the audit trail, newest first (admin key).
    Audit {
        /// Only records of this agent.
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
        /// Only this decision: blocked, delivered, policy_set, policy_deleted.
        #[arg(long, value_name = "DECISION")]
        decision: Option<String>,
        /// At most this many (1 to 1000; default 100).
        #[arg(long, value_name = "N")]
        limit: Option<String>,
        /// Older than this seq: the next_before of the previous page.
        #[arg(long, value_name = "SEQ")]
        before: Option<String>,
    },
}

/// `agentguard mesh policies ...`.
#[derive(Subcommand, Debug)]
pub enum PoliciesCommand {
    /// Set one direction's policy.
    Set {
        /// The agent (an id or agent://org/env/name).
        agent: String,
        #[arg(long, value_enum)]
        direction: DirectionArg,
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Comma-separated fnmatch patterns over intent types.
        #[arg(long, default_value = "")]
        patterns: String,
        /// Set it even if the gateway does not know the agent yet.
        #[arg(long)]
        create: bool,
    },
    /// Show both directions' policies.
    Get {
        /// The agent.
        agent: String,
    },
    /// Delete one direction's policy (it becomes open).
    Delete {
        /// The agent.
        agent: String,
        #[arg(long, value_enum)]
        direction: DirectionArg,
    },
}

/// `--direction`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DirectionArg {
    Send,
    Receive,
}

/// `--mode`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    Open,
    Allowlist,
    Denylist,
}

/// A path segment's encoding: everything but the unreserved characters of
/// RFC 3986 (letters, digits, `-`, `.`, `_`, `~`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn with_query(path: String, params: &[(&str, &Option<String>)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    if q.is_empty() {
        path
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

fn agent_path(agent: &str) -> String {
    format!(
        "/v1/mesh/agents/{}/policies/action",
        percent_encoding::utf8_percent_encode(agent, SEGMENT)
    )
}

/// The HTTP request a command stands for: method, path, body.
fn plan(c: &MeshCommand) -> Result<(&'static str, String, Option<Value>), String> {
    Ok(match c {
        MeshCommand::Policies(PoliciesCommand::Get { agent }) => ("GET", agent_path(agent), None),
        MeshCommand::Policies(PoliciesCommand::Delete { agent, direction }) => (
            "DELETE",
            format!("{}?direction={}", agent_path(agent), dir(*direction)),
            None,
        ),
        MeshCommand::Policies(PoliciesCommand::Set {
            agent,
            direction,
            mode,
            patterns,
            create,
        }) => {
            let patterns: Vec<&str> = patterns
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mode = match mode {
                ModeArg::Open => "open",
                ModeArg::Allowlist => "allowlist",
                ModeArg::Denylist => "denylist",
            };
            (
                "PUT",
                format!(
                    "{}{}",
                    agent_path(agent),
                    if *create { "?create=true" } else { "" }
                ),
                Some(
                    serde_json::json!({"direction": dir(*direction), "mode": mode, "patterns": patterns}),
                ),
            )
        }
        MeshCommand::Send {
            to,
            intent_type,
            payload,
        } => {
            let payload = match payload {
                None => Value::Null,
                Some(p) => agentguard::parse_json_strict(p, "payload")
                    .map_err(|e| format!("--payload is not valid JSON: {}", e.message()))?,
            };
            (
                "POST",
                "/v1/mesh/intents".into(),
                Some(
                    serde_json::json!({"intent_type": intent_type, "to_agent": to, "payload": payload}),
                ),
            )
        }
        MeshCommand::Inbox { limit, .. } => (
            "GET",
            with_query("/v1/mesh/inbox".into(), &[("limit", limit)]),
            None,
        ),
        MeshCommand::Ack { ids } => (
            "POST",
            "/v1/mesh/inbox/ack".into(),
            Some(serde_json::json!({ "intent_ids": ids })),
        ),
        MeshCommand::Audit {
            agent,
            decision,
            limit,
            before,
        } => (
            "GET",
            with_query(
                "/v1/mesh/audit".into(),
                &[
                    ("agent", agent),
                    ("decision", decision),
                    ("limit", limit),
                    ("before", before),
                ],
            ),
            None,
        ),
    })
}

fn dir(d: DirectionArg) -> &'static str {
    match d {
        DirectionArg::Send => "send",
        DirectionArg::Receive => "receive",
    }
}

/// Runs `agentguard mesh`; the exit status.
pub fn mesh(a: MeshArgs) -> i32 {
    let (method, path, body) = match plan(&a.command) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("agentguard mesh: {e}");
            return 2;
        }
    };
    let ack = matches!(a.command, MeshCommand::Inbox { ack: true, .. });
    run_request("agentguard mesh", a.url, method, path, body, ack)
}

/// Sends one request with `$AGENTGUARD_API_KEY` to `url` (else
/// `$AGENTGUARD_URL`, else the default), prints the answer; with `ack`,
/// acknowledges the intents an inbox answer handed out.
fn run_request(
    who: &str,
    url: Option<String>,
    method: &'static str,
    path: String,
    body: Option<Value>,
    ack: bool,
) -> i32 {
    let Some(key) = std::env::var("AGENTGUARD_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    else {
        eprintln!("{who}: set AGENTGUARD_API_KEY to your API key");
        return 2;
    };
    let base = url
        .or_else(|| {
            std::env::var("AGENTGUARD_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .unwrap_or_else(|| "http://127.0.0.1:8787".into());
    let base = base.trim_end_matches('/').to_string();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{who}: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let (status, answer) = match request(&base, &key, method, &path, body.as_ref()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{who}: {e}");
                return 1;
            }
        };
        let code = report(status, &answer);
        if code != 0 || !ack {
            return code;
        }
        let ids: Vec<Value> = answer["intents"]
            .as_array()
            .map(|a| a.iter().map(|i| i["intent_id"].clone()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return 0;
        }
        match request(
            &base,
            &key,
            "POST",
            "/v1/mesh/inbox/ack",
            Some(&serde_json::json!({"intent_ids": ids})),
        )
        .await
        {
            Ok((status, answer)) if status >= 300 => report(status, &answer),
            Ok(_) => 0,
            Err(e) => {
                eprintln!("{who}: acknowledging: {e}");
                1
            }
        }
    })
}

fn report(status: u16, answer: &Value) -> i32 {
    let pretty = serde_json::to_string_pretty(answer).unwrap_or_default();
    if status >= 300 {
        eprintln!(
            "{status} {}: {}",
            answer["error"].as_str().unwrap_or("error"),
            answer["message"].as_str().unwrap_or("")
        );
        println!("{pretty}");
        return 1;
    }
    println!("{pretty}");
    0
}

async fn request(
    base: &str,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("{base}{path}");
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(&url)
        .header("x-api-key", key);
    let payload = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(payload))
        .map_err(|e| format!("bad gateway URL {base}: {e}"))?;
    let res = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .map_err(|_| format!("the gateway at {base} did not answer within 30 s"))?
        .map_err(|e| {
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = s.to_string();
                source = s.source();
            }
            format!("cannot reach the gateway at {base}: {why}")
        })?;
    let status = res.status().as_u16();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the gateway's answer: {e}"))?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let value = serde_json::from_str(&text).map_err(|_| {
        format!(
            "gateway answered {status} with non-JSON: {}",
            text.chars().take(200).collect::<String>()
        )
    })?;
    Ok((status, value))
}
