//! The upstream side of an MCP session served at `/mcp/{name}`: a stdio
//! server process of the session's own, or a Streamable HTTP server the
//! gateway is a client of. Either way, frames go in with [`Io::send`] and
//! come out of [`Io::next`], one JSON-RPC message each, as the session
//! state machine reads them.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentguard_mcp::frame::{Frame, Lines, MAX_FRAME};
use agentguard_mcp::jsonrpc;
use axum::body::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

/// The largest JSON answer read from an HTTP upstream.
const MAX_ANSWER: usize = MAX_FRAME;
/// How long one POST to an HTTP upstream may take before its request is
/// answered with an error (a long tool call streams, and may take long).
const POST_TIMEOUT: Duration = Duration::from_secs(300);
const SESSION_HEADER: &str = "mcp-session-id";

/// One upstream server of the config file: a stdio `command` (one process
/// per session) or a Streamable HTTP `url`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// The program to start (stdio MCP server).
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables added to the gateway's for it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Its working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The endpoint of a Streamable HTTP server (`http://`).
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent with every request to `url` (its own credentials).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Upstream {
    /// Exactly one of `command` and `url`, each with its own options.
    pub fn check(&self) -> Result<(), String> {
        match (&self.command, &self.url) {
            (Some(c), None) => {
                if c.is_empty() {
                    return Err("command is empty".into());
                }
                if !self.headers.is_empty() {
                    return Err("headers go with url, not command".into());
                }
            }
            (None, Some(url)) => {
                let uri: hyper::Uri = url
                    .parse()
                    .map_err(|e| format!("url {url:?} is not a URL: {e}"))?;
                if uri.scheme_str() != Some("http") || uri.host().is_none() {
                    return Err(format!(
                        "url {url:?} must be http://HOST[:PORT]/PATH (for https, put a TLS proxy beside the gateway)"
                    ));
                }
                if !self.args.is_empty() || !self.env.is_empty() || self.cwd.is_some() {
                    return Err("args, env and cwd go with command, not url".into());
                }
                for (k, v) in &self.headers {
                    HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| format!("headers: {k:?} is not a header name"))?;
                    HeaderValue::from_str(v)
                        .map_err(|_| format!("headers.{k}: not a valid header value"))?;
                }
            }
            (Some(_), Some(_)) => return Err("give command or url, not both".into()),
            (None, None) => {
                return Err("give the server's command (stdio) or url (Streamable HTTP)".into())
            }
        }
        Ok(())
    }
}

/// The connection to the upstream of one session.
pub enum Io {
    /// A stdio server process.
    Stdio {
        child: Child,
        stdin: ChildStdin,
        out: Box<FramedRead<ChildStdout, Lines>>,
    },
    /// A Streamable HTTP server.
    Http(Http),
}

/// What comes from the upstream.
pub enum Next {
    /// A frame (a JSON-RPC message, without a newline).
    Frame(Bytes),
    /// A frame over the size limit, skipped.
    TooLong,
    /// The upstream is gone (how, in words).
    Gone(String),
}

impl Io {
    /// Starts the process, or readies the client.
    pub fn open(up: &Upstream) -> Result<Io, String> {
        if let Some(url) = &up.url {
            return Ok(Io::Http(Http::new(url, &up.headers)));
        }
        let command = up.command.as_deref().unwrap_or_default();
        let mut cmd = Command::new(command);
        cmd.args(&up.args)
            .envs(&up.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(dir) = &up.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("its pipes could not be opened".into());
        };
        Ok(Io::Stdio {
            child,
            stdin,
            out: Box::new(FramedRead::new(stdout, Lines::new(MAX_FRAME))),
        })
    }

    /// The next thing from the upstream.
    pub async fn next(&mut self) -> Next {
        match self {
            Io::Stdio { child, out, .. } => match out.next().await {
                Some(Ok(Frame::Line(b))) => Next::Frame(b),
                Some(Ok(Frame::TooLong)) => Next::TooLong,
                Some(Err(_)) | None => Next::Gone(match child.try_wait() {
                    Ok(Some(s)) => format!("{s}"),
                    _ => "its output closed".to_string(),
                }),
            },
            Io::Http(h) => match h.rx.recv().await {
                Some(b) => Next::Frame(b),
                None => Next::Gone("its connection closed".into()),
            },
        }
    }

    /// Sends a frame (newline included) to the upstream.
    pub async fn send(&mut self, b: Bytes) {
        match self {
            Io::Stdio { stdin, .. } => {
                let _ = stdin.write_all(&b).await;
                let _ = stdin.flush().await;
            }
            Io::Http(h) => h.post(b),
        }
    }

    /// Ends the session upstream: the process is stopped, an HTTP session
    /// deleted.
    pub async fn close(self) {
        match self {
            Io::Stdio { mut child, .. } => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            }
            Io::Http(h) => h.delete().await,
        }
    }
}

/// A client of a Streamable HTTP upstream, for one session.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The upstream's `Mcp-Session-Id` and protocol version, once known.
    session: Arc<Mutex<(Option<String>, Option<String>)>>,
    tx: mpsc::UnboundedSender<Bytes>,
    rx: mpsc::UnboundedReceiver<Bytes>,
    /// The GET stream has been opened.
    listening: bool,
}

impl Http {
    fn new(url: &str, headers: &BTreeMap<String, String>) -> Http {
        let (tx, rx) = mpsc::unbounded_channel();
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url: url.to_string(),
            // Checked when the config was read.
            headers: headers
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        HeaderName::from_bytes(k.as_bytes()).ok()?,
                        HeaderValue::from_str(v).ok()?,
                    ))
                })
                .collect(),
            session: Arc::new(Mutex::new((None, None))),
            tx,
            rx,
            listening: false,
        }
    }

    fn request(&self, method: Method, body: Bytes) -> Option<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(method)
            .uri(&self.url)
            .header(ACCEPT, "application/json, text/event-stream");
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Ok(s) = self.session.lock() {
            if let Some(id) = &s.0 {
                req = req.header(SESSION_HEADER, id);
            }
            if let Some(v) = &s.1 {
                req = req.header("mcp-protocol-version", v);
            }
        }
        if !body.is_empty() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        req.body(Full::new(body)).ok()
    }

    /// POSTs a frame; what answers it comes out of `rx`. A request the
    /// upstream does not answer gets a JSON-RPC error for its id.
    fn post(&mut self, frame: Bytes) {
        let body = Bytes::copy_from_slice(frame.strip_suffix(b"\n").unwrap_or(&frame));
        let (id, method, standard) = match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                let method = v.get("method").and_then(Value::as_str).map(str::to_string);
                let name = v
                    .pointer("/params/name")
                    .or_else(|| v.pointer("/params/uri"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (v.get("id").cloned(), method, name)
            }
            Err(_) => (None, None, None),
        };
        let Some(mut req) = self.request(Method::POST, body) else {
            return;
        };
        // The standard headers, mirrored from the body (2026-07-28).
        if let Some(m) = method
            .as_deref()
            .and_then(|m| HeaderValue::from_str(m).ok())
        {
            req.headers_mut().insert("mcp-method", m);
            if let Some(n) = standard.and_then(|n| HeaderValue::from_str(&n).ok()) {
                if matches!(
                    method.as_deref(),
                    Some(
                        "tools/call"
                            | "prompts/get"
                            | "resources/read"
                            | "resources/subscribe"
                            | "resources/unsubscribe"
                    )
                ) {
                    req.headers_mut().insert("mcp-name", n);
                }
            }
        }
        let is_request = id.is_some() && method.is_some();
        let initialize = method.as_deref() == Some("initialize");
        let initialized = method.as_deref() == Some("notifications/initialized");
        let (client, tx, session) = (self.client.clone(), self.tx.clone(), self.session.clone());
        let url = self.url.clone();
        tokio::spawn(async move {
            let failed = |why: String| {
                if is_request {
                    let raw = id
                        .as_ref()
                        .and_then(|i| serde_json::value::to_raw_value(i).ok());
                    let _ = tx.send(Bytes::from(
                        jsonrpc::error(raw.as_deref(), jsonrpc::CONNECTION_CLOSED, &why).to_vec(),
                    ));
                }
            };
            let res = match tokio::time::timeout(POST_TIMEOUT, client.request(req)).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    return failed(format!("the MCP server at {url} could not be reached: {e}"))
                }
                Err(_) => {
                    return failed(format!(
                        "the MCP server at {url} did not answer within {} s",
                        POST_TIMEOUT.as_secs()
                    ))
                }
            };
            if initialize {
                if let (Some(v), Ok(mut s)) = (
                    res.headers()
                        .get(SESSION_HEADER)
                        .and_then(|v| v.to_str().ok()),
                    session.lock(),
                ) {
                    s.0 = Some(v.to_string());
                }
            }
            let status = res.status();
            if status == StatusCode::ACCEPTED || (!is_request && status.is_success()) {
                return;
            }
            if !status.is_success() {
                return failed(format!("the MCP server at {url} answered {status}"));
            }
            let sse = res
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let mut answered = false;
            if sse {
                let mut events = res.into_body().into_data_stream().eventsource();
                while let Some(ev) = events.next().await {
                    let Ok(ev) = ev else { break };
                    if ev.data.is_empty() {
                        continue;
                    }
                    if initialize {
                        remember_version(&session, ev.data.as_bytes());
                    }
                    answered |= answers(ev.data.as_bytes(), id.as_ref());
                    let _ = tx.send(Bytes::from(ev.data));
                }
            } else {
                match Limited::new(res.into_body(), MAX_ANSWER).collect().await {
                    Ok(c) => {
                        let b = c.to_bytes();
                        if initialize {
                            remember_version(&session, &b);
                        }
                        answered = answers(&b, id.as_ref());
                        let _ = tx.send(b);
                    }
                    Err(e) => return failed(format!("reading the answer of {url}: {e}")),
                }
            }
            if is_request && !answered {
                failed(format!(
                    "the MCP server at {url} ended its answer without a response"
                ));
            }
        });
        if initialized && !self.listening {
            self.listening = true;
            self.listen();
        }
    }

    /// The GET stream of what the upstream sends outside any request; an
    /// upstream without one (405) is fine.
    fn listen(&self) {
        let Some(req) = self.request(Method::GET, Bytes::new()) else {
            return;
        };
        let (client, tx) = (self.client.clone(), self.tx.clone());
        tokio::spawn(async move {
            // Give the initialized notification a moment to land first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let Ok(res) = client.request(req).await else {
                return;
            };
            if !res.status().is_success() {
                return;
            }
            let mut events = res.into_body().into_data_stream().eventsource();
            while let Some(Ok(ev)) = events.next().await {
                if !ev.data.is_empty() && tx.send(Bytes::from(ev.data)).is_err() {
                    break;
                }
            }
        });
    }

    async fn delete(self) {
        if self.session.lock().map(|s| s.0.is_none()).unwrap_or(true) {
            return;
        }
        if let Some(req) = self.request(Method::DELETE, Bytes::new()) {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.client.request(req)).await;
        }
    }
}

/// Whether `frame` is the response to the request `id`.
fn answers(frame: &[u8], id: Option<&Value>) -> bool {
    let Some(id) = id else { return false };
    serde_json::from_slice::<Value>(frame)
        .ok()
        .is_some_and(|v| v.get("method").is_none() && v.get("id") == Some(id))
}

/// The protocol version an `initialize` response settles on.
fn remember_version(session: &Arc<Mutex<(Option<String>, Option<String>)>>, frame: &[u8]) {
    let version = serde_json::from_slice::<Value>(frame).ok().and_then(|v| {
        v.pointer("/result/protocolVersion")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if let (Some(v), Ok(mut s)) = (version, session.lock()) {
        s.1 = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_are_checked() {
        let cmd = Upstream {
            command: Some("node".into()),
            ..Upstream::default()
        };
        assert!(cmd.check().is_ok());
        let url = Upstream {
            url: Some("http://127.0.0.1:3001/mcp".into()),
            headers: [("authorization".to_string(), "Bearer x".to_string())].into(),
            ..Upstream::default()
        };
        assert!(url.check().is_ok());
        for (up, message) in [
            (Upstream::default(), "give the server's command"),
            (
                Upstream {
                    command: Some(String::new()),
                    ..Upstream::default()
                },
                "command is empty",
            ),
            (
                Upstream {
                    command: Some("x".into()),
                    url: Some("http://a/".into()),
                    ..Upstream::default()
                },
                "not both",
            ),
            (
                Upstream {
                    url: Some("https://a/mcp".into()),
                    ..Upstream::default()
                },
                "must be http://",
            ),
            (
                Upstream {
                    url: Some("http://a/mcp".into()),
                    args: vec!["x".into()],
                    ..Upstream::default()
                },
                "go with command",
            ),
            (
                Upstream {
                    command: Some("x".into()),
                    headers: [("a".to_string(), "b".to_string())].into(),
                    ..Upstream::default()
                },
                "go with url",
            ),
            (
                Upstream {
                    url: Some("http://a/mcp".into()),
                    headers: [("a b".to_string(), "b".to_string())].into(),
                    ..Upstream::default()
                },
                "not a header name",
            ),
        ] {
            let e = up.check().unwrap_err();
            assert!(e.contains(message), "{up:?}: {e}");
        }
    }

    #[test]
    fn responses_are_recognised() {
        assert!(answers(
            br#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
            Some(&serde_json::json!(3))
        ));
        assert!(!answers(
            br#"{"jsonrpc":"2.0","id":3,"method":"x"}"#,
            Some(&serde_json::json!(3))
        ));
        assert!(!answers(
            br#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            Some(&serde_json::json!(3))
        ));
    }
}
