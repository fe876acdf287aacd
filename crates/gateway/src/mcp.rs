//! MCP over HTTP: each upstream MCP server of `--mcp-config FILE` served at
//! `/mcp/{name}` as a Streamable HTTP endpoint, with the calling agent's
//! tool policy in front of it.
//!
//! The decisions are `agentguard mcp`'s: every MCP session here is an
//! [`agentguard_mcp::session::Session`] (the proxy's own state machine:
//! `tools/list` filtered, `tools/call` decided by the core, denials as
//! `isError` results, elicitation for approvals), fed with the frames the
//! client POSTs and the frames the upstream server writes. This module is
//! the transport around it:
//!
//! - `POST /mcp/{name}` with an agent key: `initialize` (no
//!   `Mcp-Session-Id`) starts a session, the upstream server's own process
//!   (or its own session of an upstream reached over Streamable HTTP,
//!   [`crate::mcp_upstream`]) and the agent's policy; the answer carries `Mcp-Session-Id`. Later
//!   requests name the session (another agent's is unknown: 404). A
//!   request is answered with an SSE stream that carries what the session
//!   sends the client about it (an elicitation, progress) and ends with the
//!   response (JSON when the client does not accept SSE); a notification or
//!   a response gets `202`.
//! - The stateless protocol (2026-07-28): a request whose `_meta` (or
//!   `MCP-Protocol-Version`) says 2026-07-28 or later needs no session; it
//!   goes to one worker (server process and session) per agent and server,
//!   its id made unique on the way in and given back on the way out.
//!   `Mcp-Method`, `Mcp-Name` and `MCP-Protocol-Version` must say what the
//!   body says (400, JSON-RPC -32001 otherwise); in 2026-07-28 the first
//!   two are required.
//! - `GET /mcp/{name}`: the stream of what the session sends the client
//!   outside any request. `DELETE /mcp/{name}` ends the session.
//! - `Origin`: absent, or a loopback origin (`http://127.0.0.1:*`,
//!   `http://localhost:*`, `http://[::1]:*`), or one of `--mcp-allow-origin`;
//!   anything else is `403` (DNS rebinding).
//! - Approvals: elicitation when the client declared it; otherwise the call
//!   is refused with an `isError` result that names an approval of the
//!   gateway's queue (`GET /v1/approvals`, the dashboard, `agentguard
//!   approvals`); once a person grants it, the same call made again runs,
//!   once.
//! - Every decision is a record of the gateway's audit (`kind: "mcp"`),
//!   written before the call is forwarded: a call whose record cannot be
//!   written is not run.
//! - A new version of the agent's tool policy applies from the next
//!   message of every open session.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentguard::Policy;
use agentguard_mcp::gateway::{Answer, Ask};
use agentguard_mcp::jsonrpc::{self, Message};
use agentguard_mcp::session::{Out, Session};
use agentguard_mcp::ApprovalMode;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::http::{agent_of, holder, read_bytes, ApiError, App, Result};
pub use crate::mcp_upstream::Upstream;
use crate::mcp_upstream::{Io, Next};
use crate::tools::{args_hash, audit_base, spend_approval, ApprovalRow};
use crate::util::{new_id, now};
use crate::writer::Op;

/// The header that names a session.
const SESSION_HEADER: &str = "mcp-session-id";
/// Sessions one agent may hold open at once, and all agents together.
const MAX_SESSIONS_PER_AGENT: usize = 32;
const MAX_SESSIONS: usize = 1024;
/// A session nobody has used for this long is ended (its server stopped).
const IDLE: Duration = Duration::from_secs(30 * 60);
/// Messages for the client kept while no stream is open to take them.
const MAX_BUFFERED: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    servers: BTreeMap<String, Value>,
}

/// The upstream servers of `--mcp-config FILE`:
/// `{"servers": {"NAME": {"command": "...", "args": [...], "env": {...}, "cwd": "..."}}}`
/// for a stdio server, `{"url": "http://...", "headers": {...}}` for a
/// Streamable HTTP one.
pub fn load_config(path: &Path) -> std::result::Result<BTreeMap<String, Upstream>, String> {
    let place = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--mcp-config {place}: cannot read: {e}"))?;
    let value = agentguard::parse_json_strict(&text, "the MCP config")
        .map_err(|e| format!("--mcp-config {place}: {e}"))?;
    let file: ConfigFile = serde_json::from_value(value).map_err(|e| {
        format!("--mcp-config {place}: {e} (expected {{\"servers\": {{\"NAME\": {{\"command\": \"...\", \"args\": [...]}}}}}})")
    })?;
    let mut out = BTreeMap::new();
    for (name, v) in file.servers {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(format!(
                "--mcp-config {place}: server name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.' (it is the path /mcp/NAME)"
            ));
        }
        let up: Upstream = serde_json::from_value(v)
            .map_err(|e| format!("--mcp-config {place}: servers.{name}: {e}"))?;
        up.check()
            .map_err(|e| format!("--mcp-config {place}: servers.{name}: {e}"))?;
        out.insert(name, up);
    }
    if out.is_empty() {
        return Err(format!("--mcp-config {place}: no servers"));
    }
    Ok(out)
}

/// The MCP side of the gateway: its upstream servers and open sessions.
pub struct Host {
    servers: BTreeMap<String, Upstream>,
    allowed_origins: Vec<String>,
    /// How long an elicitation waits for the person's answer.
    approval_timeout: Duration,
    sessions: Mutex<HashMap<String, Handle>>,
    /// The protocol 2026-07-28 (no sessions): one worker per agent and
    /// server, its requests' ids made unique on the way in.
    stateless: Mutex<HashMap<(String, String), Handle>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("servers", &self.servers.keys().collect::<Vec<_>>())
            .field("allowed_origins", &self.allowed_origins)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Handle {
    /// The session's id (a stateless worker's is never given out).
    id: String,
    agent: String,
    server: String,
    tx: mpsc::Sender<Cmd>,
}

enum Cmd {
    /// A frame the client POSTed; `stream` takes what answers it.
    Post {
        frame: Bytes,
        stream: Option<mpsc::Sender<Bytes>>,
        /// The id the client gave, when the frame carries one of ours
        /// instead (stateless requests share a worker).
        restore: Option<Value>,
    },
    /// The client's GET stream.
    Listen(mpsc::Sender<Bytes>),
    /// DELETE: the client is done.
    Close,
}

impl Host {
    /// A host for `servers`; `allowed_origins` are the browser origins
    /// allowed besides loopback ones.
    pub fn new(
        servers: BTreeMap<String, Upstream>,
        allowed_origins: Vec<String>,
        approval_timeout: Duration,
    ) -> Host {
        Host {
            servers,
            allowed_origins,
            approval_timeout,
            sessions: Mutex::new(HashMap::new()),
            stateless: Mutex::new(HashMap::new()),
            next_id: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn session(&self, id: &str) -> Option<Handle> {
        self.sessions.lock().ok()?.get(id).cloned()
    }

    fn forget(&self, id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
        if let Ok(mut s) = self.stateless.lock() {
            s.retain(|_, h| h.id != id);
        }
    }
}

fn mcp_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

/// `Origin` absent, loopback, or allowed by `--mcp-allow-origin`.
fn check_origin(host: &Host, headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    if host.allowed_origins.iter().any(|o| o == origin) {
        return Ok(());
    }
    let loopback = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .map(|rest| {
            let hostpart = if rest.starts_with('[') {
                rest.split(']').next().map(|h| format!("{h}]"))
            } else {
                rest.split(':').next().map(str::to_string)
            };
            matches!(
                hostpart.as_deref(),
                Some("127.0.0.1") | Some("localhost") | Some("[::1]")
            )
        })
        .unwrap_or(false);
    if loopback {
        return Ok(());
    }
    Err(mcp_error(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        format!(
            "Origin {} is not allowed to use MCP endpoints (loopback origins are; add others with --mcp-allow-origin)",
            json!(origin)
        ),
    ))
}

/// The server name in `/mcp/{name}`.
fn server_name(host: &Host, uri: &Uri) -> Result<String> {
    let name = uri.path().strip_prefix("/mcp/").unwrap_or("").to_string();
    if host.servers.contains_key(&name) {
        return Ok(name);
    }
    Err(mcp_error(
        StatusCode::NOT_FOUND,
        "unknown_mcp_server",
        format!(
            "no MCP server {} (servers: {})",
            json!(name),
            host.servers.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    ))
}

fn host_of(app: &App) -> Result<&Arc<Host>> {
    app.mcp.as_ref().ok_or_else(|| {
        mcp_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "this gateway serves no MCP servers (start it with --mcp-config FILE)",
        )
    })
}

/// The agent's tool policy and its version; none: a policy that denies
/// every call (the gateway refuses what no policy allows).
fn policy_of(app: &App, agent: &str) -> (i64, Arc<Policy>) {
    if let Some(p) = app
        .shared
        .tools
        .read()
        .ok()
        .and_then(|t| t.get(agent).cloned())
    {
        return p;
    }
    static DENY_ALL: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
    let p = DENY_ALL.get_or_init(|| {
        Arc::new(Policy::from_json(r#"{"default": "deny"}"#).expect("a valid policy"))
    });
    (-1, p.clone())
}

fn session_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn accepts_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// An SSE response streaming the frames of `rx` as `message` events.
fn sse(rx: mpsc::Receiver<Bytes>, session: Option<&str>) -> Response {
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let frame = rx.recv().await?;
        let text = String::from_utf8_lossy(&frame);
        let mut event = String::from("event: message\n");
        for line in text.trim_end_matches('\n').split('\n') {
            event.push_str("data: ");
            event.push_str(line.trim_end_matches('\r'));
            event.push('\n');
        }
        event.push('\n');
        Some((Ok::<_, Infallible>(Bytes::from(event)), rx))
    });
    let mut res = Response::new(Body::from_stream(events));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(id) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(SESSION_HEADER, id);
    }
    res
}

fn accepted(session: Option<&str>) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::ACCEPTED;
    if let Some(id) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        res.headers_mut().insert(SESSION_HEADER, id);
    }
    res
}

/// The session a request names, if it is the caller's on this server.
fn lookup(
    host: &Host,
    headers: &HeaderMap,
    agent: &str,
    name: &str,
) -> Result<Option<(String, Handle)>> {
    let Some(id) = session_header(headers) else {
        return Ok(None);
    };
    match host.session(&id) {
        Some(h) if h.agent == agent && h.server == name => Ok(Some((id, h))),
        // Ended, or another agent's or server's: unknown to this caller.
        _ => Err(mcp_error(
            StatusCode::NOT_FOUND,
            "unknown_mcp_session",
            format!(
                "no MCP session {} here; start a new one with initialize",
                json!(id)
            ),
        )),
    }
}

/// What the gateway reads of a POSTed message before handing it on.
struct Posted {
    id: Option<Value>,
    method: Option<String>,
    /// `params.name` (tools/call, prompts/get) or `params.uri` (resources).
    name: Option<String>,
    /// The protocol version in `params._meta`, if any.
    meta_version: Option<String>,
}

fn read_posted(frame: &[u8]) -> Result<Posted> {
    let not_one = || {
        mcp_error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be one JSON-RPC message (a JSON object)",
        )
    };
    match jsonrpc::parse(frame) {
        Ok(Message::One(_)) => {}
        Ok(Message::Batch(_)) => {
            return Err(mcp_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "JSON-RPC batches are not accepted over Streamable HTTP: send one message per POST",
            ))
        }
        Ok(Message::Other) | Err(_) => return Err(not_one()),
    }
    // Strict: a repeated key anywhere is refused (the session reads the
    // frame the same way).
    let text = std::str::from_utf8(frame).map_err(|_| not_one())?;
    let v = jsonrpc::strict_value(text).map_err(|e| {
        mcp_error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not a valid JSON-RPC message: {e}"),
        )
    })?;
    let params = v.get("params");
    let str_at = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let method = str_at(v.get("method"));
    let name = match method.as_deref() {
        Some("tools/call") | Some("prompts/get") => str_at(params.and_then(|p| p.get("name"))),
        Some("resources/read") | Some("resources/subscribe") | Some("resources/unsubscribe") => {
            str_at(params.and_then(|p| p.get("uri")))
        }
        _ => None,
    };
    Ok(Posted {
        id: v.get("id").cloned(),
        method,
        name,
        meta_version: str_at(
            params
                .and_then(|p| p.get("_meta"))
                .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion")),
        ),
    })
}

/// HTTP 400 with a JSON-RPC `HeaderMismatch` (-32001) error.
fn header_mismatch(id: Option<&Value>, message: String) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id.cloned().unwrap_or(Value::Null),
        "error": {"code": -32001, "message": message}});
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = StatusCode::BAD_REQUEST;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The standard headers (`Mcp-Method`, `Mcp-Name`, `MCP-Protocol-Version`)
/// against the body: any one given must say what the body says; in the
/// stateless protocol `Mcp-Method` (and `Mcp-Name`, where the body has a
/// name) must be given. A proxy or load balancer routing on the headers
/// and the gateway deciding on the body then never disagree.
fn check_headers(
    headers: &HeaderMap,
    posted: &Posted,
    stateless: bool,
) -> std::result::Result<(), String> {
    let header = |n: &str| -> std::result::Result<Option<String>, String> {
        match headers.get(n) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.to_string()))
                .map_err(|_| format!("the {n} header is not ASCII text")),
        }
    };
    let pairs = [
        (
            "Mcp-Method",
            header("mcp-method")?,
            posted.method.clone(),
            true,
        ),
        (
            "Mcp-Name",
            header("mcp-name")?,
            posted.name.clone(),
            posted.name.is_some(),
        ),
        (
            "MCP-Protocol-Version",
            header("mcp-protocol-version")?,
            posted.meta_version.clone(),
            false,
        ),
    ];
    for (name, given, body, required) in pairs {
        match (given, body) {
            (Some(g), Some(b)) if g != b => {
                return Err(format!(
                    "the {name} header says {} but the body says {}",
                    json!(g),
                    json!(b)
                ))
            }
            (Some(g), None) if name != "MCP-Protocol-Version" => {
                return Err(format!(
                    "the {name} header says {} but the body has none",
                    json!(g)
                ))
            }
            (None, Some(_)) if stateless && required && posted.method.is_some() => {
                return Err(format!(
                    "the {name} header is required (protocol 2026-07-28)"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `POST`, `GET` and `DELETE /mcp/{name}`.
pub async fn route(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let host = host_of(&app)?.clone();
    check_origin(&host, &headers)?;
    let who = holder(&app, &headers)?;
    let agent = agent_of(
        &who.role,
        "only agent keys use MCP servers (the key's agent is the caller, and its tool policy decides)",
    )?
    .to_string();
    let name = server_name(&host, &uri)?;
    if method == Method::DELETE {
        let Some((id, h)) = lookup(&host, &headers, &agent, &name)? else {
            return Err(mcp_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "DELETE needs the Mcp-Session-Id of the session to end",
            ));
        };
        let _ = h.tx.send(Cmd::Close).await;
        host.forget(&id);
        // 200 with no body, as the SDKs' own servers answer it.
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::OK;
        return Ok(res);
    }
    if method == Method::GET {
        let Some((id, h)) = lookup(&host, &headers, &agent, &name)? else {
            return Err(mcp_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "GET needs the Mcp-Session-Id of a session (the stream of what it sends outside any request)",
            ));
        };
        if !accepts_sse(&headers) {
            return Err(mcp_error(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "GET answers text/event-stream; send Accept: text/event-stream",
            ));
        }
        let (tx, rx) = mpsc::channel(64);
        h.tx.send(Cmd::Listen(tx)).await.map_err(|_| gone(&id))?;
        return Ok(sse(rx, None));
    }
    let frame = read_bytes(&headers, body).await?;
    let posted = read_posted(&frame)?;
    let is_initialize = posted.method.as_deref() == Some("initialize");
    let is_request = posted.method.is_some() && posted.id.is_some();
    let header_version = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    let stateless = !is_initialize
        && [posted.meta_version.as_deref(), header_version]
            .into_iter()
            .flatten()
            .any(|v| v >= agentguard_mcp::STATELESS);
    if let Err(m) = check_headers(&headers, &posted, stateless) {
        return Ok(header_mismatch(posted.id.as_ref(), m));
    }
    if stateless {
        // No sessions: a worker per agent and server; the request's id is
        // made unique on the way in and given back on the way out.
        let handle = worker(&app, &host, &agent, &name)?;
        if !is_request {
            handle
                .tx
                .send(Cmd::Post {
                    frame: jsonrpc::with_newline(&frame),
                    stream: None,
                    restore: None,
                })
                .await
                .map_err(|_| gone(&handle.id))?;
            return Ok(accepted(None));
        }
        let ours = format!(
            "agentguard-http-{}",
            host.next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut v = jsonrpc::strict_value(std::str::from_utf8(&frame).unwrap_or(""))
            .map_err(|e| mcp_error(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
        v["id"] = Value::String(ours);
        let rewritten = jsonrpc::with_newline(v.to_string().as_bytes());
        return answer(&headers, &handle, rewritten, posted.id, None).await;
    }
    let (id, handle) = match lookup(&host, &headers, &agent, &name)? {
        Some((id, h)) => {
            if is_initialize {
                return Err(mcp_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "initialize starts a session: send it without Mcp-Session-Id",
                ));
            }
            (id, h)
        }
        None if is_initialize => start(&app, &host, &agent, &name)?,
        None => {
            return Err(mcp_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "no Mcp-Session-Id: start a session with initialize first",
            ))
        }
    };
    let frame = jsonrpc::with_newline(&frame);
    if !is_request {
        handle
            .tx
            .send(Cmd::Post {
                frame,
                stream: None,
                restore: None,
            })
            .await
            .map_err(|_| gone(&id))?;
        return Ok(accepted(Some(&id)));
    }
    answer(&headers, &handle, frame, None, Some(&id)).await
}

/// Hands a request to its session and answers with what comes back: an
/// SSE stream ending with the response, or the response as JSON.
async fn answer(
    headers: &HeaderMap,
    handle: &Handle,
    frame: Bytes,
    restore: Option<Value>,
    session: Option<&str>,
) -> Result<Response> {
    let (tx, mut rx) = mpsc::channel(64);
    handle
        .tx
        .send(Cmd::Post {
            frame,
            stream: Some(tx),
            restore,
        })
        .await
        .map_err(|_| gone(&handle.id))?;
    if accepts_sse(headers) {
        return Ok(sse(rx, session));
    }
    // JSON: the response only (anything else goes to the GET stream).
    let mut last = None;
    while let Some(b) = rx.recv().await {
        last = Some(b);
    }
    let Some(b) = last else {
        return Err(gone(&handle.id));
    };
    let mut res = Response::new(Body::from(b));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        res.headers_mut().insert(SESSION_HEADER, v);
    }
    Ok(res)
}

fn gone(id: &str) -> ApiError {
    mcp_error(
        StatusCode::NOT_FOUND,
        "unknown_mcp_session",
        format!(
            "MCP session {} has ended; start a new one with initialize",
            json!(id)
        ),
    )
}

/// The stateless worker of `agent` on `name`, started when there is none
/// (looked up and started under one lock: two first requests start one).
fn worker(app: &Arc<App>, host: &Arc<Host>, agent: &str, name: &str) -> Result<Handle> {
    let mut workers = host.stateless.lock().map_err(|_| poisoned())?;
    let key = (agent.to_string(), name.to_string());
    if let Some(h) = workers.get(&key).filter(|h| !h.tx.is_closed()) {
        return Ok(h.clone());
    }
    let (handle, rx, io) = open(host, agent, name)?;
    workers.insert(key, handle.clone());
    drop(workers);
    spawn(app, host, &handle, io, rx);
    Ok(handle)
}

/// Starts a session: the upstream's process and the agent's policy, within
/// the limits on open sessions (checked and taken under one lock).
fn start(app: &Arc<App>, host: &Arc<Host>, agent: &str, name: &str) -> Result<(String, Handle)> {
    let mut sessions = host.sessions.lock().map_err(|_| poisoned())?;
    let mine = sessions.values().filter(|h| h.agent == agent).count();
    if mine >= MAX_SESSIONS_PER_AGENT || sessions.len() >= MAX_SESSIONS {
        return Err(mcp_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sessions",
            format!(
                "too many open MCP sessions (at most {MAX_SESSIONS_PER_AGENT} per agent, {MAX_SESSIONS} in all); end one with DELETE"
            ),
        ));
    }
    let (handle, rx, io) = open(host, agent, name)?;
    sessions.insert(handle.id.clone(), handle.clone());
    drop(sessions);
    spawn(app, host, &handle, io, rx);
    Ok((handle.id.clone(), handle))
}

fn poisoned() -> ApiError {
    mcp_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the session table is poisoned",
    )
}

/// The upstream of a new session of `agent` on `name`, and its handle.
fn open(host: &Host, agent: &str, name: &str) -> Result<(Handle, mpsc::Receiver<Cmd>, Io)> {
    let io = Io::open(&host.servers[name]).map_err(|e| {
        mcp_error(
            StatusCode::BAD_GATEWAY,
            "mcp_server_failed",
            format!("MCP server {} could not be started: {e}", json!(name)),
        )
    })?;
    let (tx, rx) = mpsc::channel(256);
    let handle = Handle {
        id: new_id("mcp"),
        agent: agent.to_string(),
        server: name.to_string(),
        tx,
    };
    Ok((handle, rx, io))
}

fn spawn(app: &Arc<App>, host: &Arc<Host>, h: &Handle, io: Io, rx: mpsc::Receiver<Cmd>) {
    tokio::spawn(run_session(
        app.clone(),
        host.clone(),
        h.id.clone(),
        h.agent.clone(),
        h.server.clone(),
        io,
        rx,
    ));
}

/// Where what the session sends the client goes.
struct Streams {
    /// Open request streams by the key of the request's id, newest last.
    requests: Vec<(String, mpsc::Sender<Bytes>)>,
    listen: Option<mpsc::Sender<Bytes>>,
    buffered: Vec<Bytes>,
    /// The client's own ids of requests whose ids were made unique.
    restore: HashMap<String, Value>,
}

impl Streams {
    fn send(&mut self, b: Bytes) {
        let response_to = match jsonrpc::parse(&b) {
            Ok(Message::One(p)) if p.method.is_none() => p.id.map(jsonrpc::id_key),
            _ => None,
        };
        if let Some(key) = response_to {
            if let Some(i) = self.requests.iter().position(|(k, _)| *k == key) {
                // The response ends its request's stream.
                let (_, tx) = self.requests.remove(i);
                let b = match self.restore.remove(&key) {
                    None => b,
                    Some(id) => match serde_json::from_slice::<Value>(&b) {
                        Ok(mut v) => {
                            v["id"] = id;
                            jsonrpc::with_newline(v.to_string().as_bytes())
                        }
                        Err(_) => b,
                    },
                };
                let _ = tx.try_send(b);
                return;
            }
        }
        // Anything else: the newest request's stream, the GET stream, or
        // kept until one opens.
        self.requests.retain(|(_, tx)| !tx.is_closed());
        if let Some((_, tx)) = self.requests.last() {
            if tx.try_send(b.clone()).is_ok() {
                return;
            }
        }
        if let Some(tx) = &self.listen {
            if tx.try_send(b.clone()).is_ok() {
                return;
            }
        }
        if self.buffered.len() < MAX_BUFFERED {
            self.buffered.push(b);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_session(
    app: Arc<App>,
    host: Arc<Host>,
    id: String,
    agent: String,
    server: String,
    mut io: Io,
    mut cmds: mpsc::Receiver<Cmd>,
) {
    let records = Arc::new(Mutex::new(Vec::new()));
    let (mut version, policy) = policy_of(&app, &agent);
    let mut session = Session::new(
        policy,
        ApprovalMode::Elicit,
        host.approval_timeout,
        Some(agentguard_mcp::audit::Log::collect(records.clone())),
    )
    .with_gateway(Duration::ZERO);
    let (timer_tx, mut timers) = mpsc::unbounded_channel::<String>();
    let (answer_tx, mut answers) = mpsc::unbounded_channel::<(String, Answer)>();
    let mut streams = Streams {
        requests: Vec::new(),
        listen: None,
        buffered: Vec::new(),
        restore: HashMap::new(),
    };
    let mut last_use = tokio::time::Instant::now();
    loop {
        let outs = tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Post { frame, stream, restore }) => {
                    last_use = tokio::time::Instant::now();
                    let (v, p) = policy_of(&app, &agent);
                    if v != version {
                        version = v;
                        session.set_policy(p);
                    }
                    if let Some(tx) = stream {
                        if let Ok(Message::One(p)) = jsonrpc::parse(&frame) {
                            if let Some(key) = p.id.map(jsonrpc::id_key) {
                                if let Some(id) = restore {
                                    streams.restore.insert(key.clone(), id);
                                }
                                streams.requests.push((key, tx));
                            }
                        }
                    }
                    let body = frame.strip_suffix(b"\n").unwrap_or(&frame);
                    session.client_frame(body, Instant::now())
                }
                Some(Cmd::Listen(tx)) => {
                    last_use = tokio::time::Instant::now();
                    for b in std::mem::take(&mut streams.buffered) {
                        let _ = tx.try_send(b);
                    }
                    streams.listen = Some(tx);
                    continue;
                }
                Some(Cmd::Close) | None => break,
            },
            f = io.next() => match f {
                Next::Frame(b) => session.server_frame(&b),
                Next::TooLong => session.server_too_long(),
                Next::Gone(status) => {
                    let outs = session.server_gone(&status, Instant::now());
                    deliver(&app, &agent, &server, &records, outs, &mut io, &mut streams, &timer_tx, &answer_tx).await;
                    break;
                }
            },
            Some(key) = timers.recv() => session.approval_timeout(&key, Instant::now()),
            Some((key, answer)) = answers.recv() => session.gateway_answer(&key, answer, Instant::now()),
            _ = tokio::time::sleep_until(last_use + IDLE) => {
                if streams.requests.iter().any(|(_, tx)| !tx.is_closed()) {
                    last_use = tokio::time::Instant::now();
                    continue;
                }
                break;
            }
        };
        deliver(
            &app,
            &agent,
            &server,
            &records,
            outs,
            &mut io,
            &mut streams,
            &timer_tx,
            &answer_tx,
        )
        .await;
    }
    host.forget(&id);
    io.close().await;
}

/// Records the session's audit lines, then does what it asked; when a
/// record cannot be written, nothing is forwarded to the server and each
/// request that would have been gets an error.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    app: &Arc<App>,
    agent: &str,
    server: &str,
    records: &Arc<Mutex<Vec<Value>>>,
    outs: Vec<Out>,
    io: &mut Io,
    streams: &mut Streams,
    timer_tx: &mpsc::UnboundedSender<String>,
    answer_tx: &mpsc::UnboundedSender<(String, Answer)>,
) {
    let taken: Vec<Value> = records
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    let mut recorded = true;
    for rec in taken {
        let (audit, event) = audit_record(agent, server, &rec);
        if app.writer.write(Op::Record { audit, event }).await.is_err() {
            recorded = false;
        }
    }
    for o in outs {
        match o {
            Out::Server(b) if !recorded => {
                if let Ok(Message::One(p)) = jsonrpc::parse(&b) {
                    if p.id.is_some() && p.method.is_some() {
                        streams.send(jsonrpc::error(
                            p.id,
                            jsonrpc::INTERNAL_ERROR,
                            "agentguard: the audit record of this call could not be written, so it was not run",
                        ));
                    }
                }
            }
            Out::Server(b) => io.send(b).await,
            Out::Client(b) => streams.send(b),
            Out::Timer(key, after) => {
                let tx = timer_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(key);
                });
            }
            Out::Gateway(ask) => {
                let (app, agent, server, tx) = (
                    app.clone(),
                    agent.to_string(),
                    server.to_string(),
                    answer_tx.clone(),
                );
                tokio::spawn(async move {
                    let key = ask.key.clone();
                    let answer = settle(&app, &agent, &server, *ask).await;
                    let _ = tx.send((key, answer));
                });
            }
        }
    }
}

/// The gateway's audit record of one of the session's decisions.
fn audit_record(agent: &str, server: &str, rec: &Value) -> (Map<String, Value>, Option<Value>) {
    let text = |k: &str| rec.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut audit = audit_base(
        "mcp",
        agent,
        agent,
        text("decision"),
        text("reason").to_string(),
    );
    for (from, to) in [
        ("tool", "tool"),
        ("matched_rule", "matched_rule"),
        ("rule", "rule"),
        ("shadow", "shadow"),
    ] {
        if let Some(v) = rec.get(from) {
            audit.insert(to.into(), v.clone());
        }
    }
    audit.insert(
        "mcp".into(),
        json!({
            "server": server,
            "approval": rec.get("approval"),
            "action": rec.get("action"),
            "request_id": rec.get("id"),
            "client": rec.get("client"),
            "arguments_sha256": rec.get("arguments_sha256"),
        }),
    );
    let event = (rec.get("decision") == Some(&json!("deny"))).then(|| {
        crate::webhook::event(
            "decision.deny",
            json!({
                "agent": agent,
                "mcp_server": server,
                "result": {
                    "tool": rec.get("tool"),
                    "decision": "deny",
                    "reason": rec.get("reason"),
                    "matched_rule": rec.get("matched_rule"),
                },
                "audit_id": audit.get("audit_id"),
            }),
        )
    });
    (audit, event)
}

/// A call that needs approval, against the gateway's queue at once: the
/// approval the same call asked before, spent if a person granted it; or
/// a new pending approval.
async fn settle(app: &App, agent: &str, server: &str, mut ask: Ask) -> Answer {
    let hash = args_hash(&ask.args);
    if ask.existing.is_none() {
        // Asked before in another session (or before a restart): the open
        // approval of the agent for exactly this call is the one to wait on.
        match open_approval(app, agent, &ask.tool, &hash).await {
            Ok(found) => ask.existing = found,
            Err(e) => return Answer::Failed(e.to_string()),
        }
    }
    if let Some(id) = &ask.existing {
        match spend_approval(app, agent, id, &ask.tool, &hash).await {
            Ok(Ok(row)) => {
                return match row.status.as_str() {
                    "used" => Answer::Used {
                        id: row.id.clone(),
                        by: row.decided_by.clone(),
                    },
                    "denied" => Answer::Denied {
                        id: row.id.clone(),
                        by: row.decided_by.clone(),
                        note: row.note.clone(),
                    },
                    // Still pending, or expired before anyone answered.
                    _ if row.expires_at >= now() => Answer::Pending { id: row.id.clone() },
                    _ => ask_anew(app, agent, server, &ask, hash).await,
                };
            }
            // Spent, expired or another call's: asked anew.
            Ok(Err(_)) => {}
            Err(e) => return Answer::Failed(e.message().to_string()),
        }
    }
    ask_anew(app, agent, server, &ask, hash).await
}

/// The newest approval of `agent` for this call that is still pending or
/// granted and unexpired.
async fn open_approval(
    app: &App,
    agent: &str,
    tool: &str,
    hash: &str,
) -> std::result::Result<Option<String>, crate::store::StoreError> {
    let mut conn = app.store.connection().await?;
    let row = sqlx::query(
        "SELECT id FROM approvals WHERE agent = $1 AND tool = $2 AND args_hash = $3
           AND status IN ('pending', 'granted') AND expires_at >= $4
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(agent)
    .bind(tool)
    .bind(hash)
    .bind(now())
    .fetch_optional(&mut *conn)
    .await
    .map_err(crate::store::StoreError::from)?;
    Ok(match row {
        Some(r) => {
            Some(sqlx::Row::try_get::<String, _>(&r, 0).map_err(crate::store::StoreError::from)?)
        }
        None => None,
    })
}

async fn ask_anew(app: &App, agent: &str, server: &str, ask: &Ask, hash: String) -> Answer {
    let at = now();
    let id = new_id("apr");
    let row = ApprovalRow::pending(
        id.clone(),
        agent.to_string(),
        ask.tool.clone(),
        hash,
        &json!({
            "args": ask.args,
            "context": {"mcp_server": server},
            "result": {"tool": ask.tool, "decision": "require_approval", "reason": ask.reason, "matched_rule": ask.matched_rule},
        }),
        at,
        app.limits.approval_seconds,
    );
    let mut audit = audit_base(
        "approval",
        agent,
        agent,
        "approval_requested",
        format!(
            "{agent} asked approval {id} for its call of {} over MCP",
            ask.tool
        ),
    );
    audit.insert("tool".into(), ask.tool.clone().into());
    audit.insert("approval_id".into(), id.clone().into());
    match app
        .writer
        .write(Op::CreateApproval {
            row: Box::new(row),
            audit,
        })
        .await
    {
        Ok(_) => Answer::Pending { id },
        Err(e) => Answer::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(origins: &[&str]) -> Host {
        Host::new(
            BTreeMap::new(),
            origins.iter().map(|s| s.to_string()).collect(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn origins() {
        let h = host(&["https://app.example"]);
        let with = |o: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
            check_origin(&h, &m).is_ok()
        };
        assert!(
            check_origin(&h, &HeaderMap::new()).is_ok(),
            "no Origin: not a browser"
        );
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost",
            "http://[::1]:8080",
            "https://app.example",
        ] {
            assert!(with(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil:80",
            "https://app.example.evil",
            "null",
        ] {
            assert!(!with(bad), "{bad}");
        }
    }

    #[test]
    fn config_files() {
        let dir =
            std::env::temp_dir().join(format!("agentguard-mcp-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.json");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            load_config(&file)
        };
        let ok = load(
            r#"{"servers": {"fs": {"command": "node", "args": ["a.js"], "env": {"X": "1"}}}}"#,
        )
        .unwrap();
        assert_eq!(ok["fs"].args, ["a.js"]);
        for (text, message) in [
            (r#"{"servers": {}}"#, "no servers"),
            (
                r#"{"servers": {"a b": {"command": "x"}}}"#,
                "server name \"a b\"",
            ),
            (
                r#"{"servers": {"fs": {"command": ""}}}"#,
                "servers.fs: command is empty",
            ),
            (
                r#"{"servers": {"fs": {"comand": "x"}}}"#,
                "unknown field `comand`",
            ),
            (
                r#"{"servers": {"fs": {"url": "https://127.0.0.1:1/mcp"}}}"#,
                "must be http://HOST[:PORT]/PATH",
            ),
            (
                r#"{"servers": {"fs": {}}}"#,
                "give the server's command (stdio) or url",
            ),
            (
                r#"{"servers": {"fs": {"command": "x"}, "fs": {"command": "y"}}}"#,
                "duplicate key",
            ),
            (r#"{"server": {}}"#, "unknown field `server`"),
        ] {
            let e = load(text).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
