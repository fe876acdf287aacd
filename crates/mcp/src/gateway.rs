//! `agentguard mcp --approvals URL --key KEY`: a call the policy holds for
//! approval waits in the approval queue of an `agentguard serve` gateway,
//! where a person grants or denies it (dashboard, `agentguard approvals`,
//! API, webhooks), instead of (or, with `--approval elicit`, when the
//! client cannot be asked through elicitation) being refused.
//!
//! The HTTP side: `POST /v1/approvals` asks (bound by the gateway to the
//! key's agent, the tool and the arguments' hash), `GET
//! /v1/approvals/{id}?wait=S` waits for the answer, `POST
//! /v1/approvals/{id}/use` spends a granted approval on exactly this call.
//! Every failure is an answer that refuses the call, never one that runs
//! it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

/// The longest long-poll the gateway serves, in seconds.
const MAX_WAIT: u64 = 60;
/// How much longer than its wait one request may take.
const SLACK: Duration = Duration::from_secs(10);
/// The largest answer read from the gateway.
const MAX_ANSWER: usize = 1 << 20;

/// A call to put in the gateway's queue (what [`crate::session::Session`]
/// asks the relay to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    /// The session's key for the held call.
    pub key: String,
    /// The tool called.
    pub tool: String,
    /// Its arguments.
    pub args: Map<String, Value>,
    /// The policy's reason and deciding rule, shown to the person.
    pub reason: String,
    /// The deciding rule (pattern or rule id), when one decided.
    pub matched_rule: Option<String>,
    /// An approval asked for the same call earlier that timed out here: it
    /// is waited on again rather than asked twice.
    pub existing: Option<String>,
    /// How long to wait for the person.
    pub timeout: Duration,
}

/// What came of an [`Ask`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Granted, and spent on this call: run it.
    Used {
        /// The approval.
        id: String,
        /// Who granted it.
        by: Option<String>,
    },
    /// A person denied it.
    Denied {
        /// The approval.
        id: String,
        /// Who denied it.
        by: Option<String>,
        /// Their note.
        note: Option<String>,
    },
    /// Nobody answered in time; the approval stays pending on the gateway.
    Pending {
        /// The approval, to wait on when the same call comes again.
        id: String,
    },
    /// The queue could not be used (the message says why).
    Failed(String),
}

/// The gateway's approval queue, as an agent key sees it.
#[derive(Clone)]
pub struct Gateway {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    auth: HeaderValue,
}

impl Gateway {
    /// A client of the gateway at `url` (`http://HOST:PORT`, optionally
    /// with a path prefix) with the agent key `key`.
    pub fn new(url: &str, key: &str) -> Result<Gateway, String> {
        let base = url.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|e| format!("--approvals {url:?}: not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "--approvals {url:?}: https is not supported by the proxy; reach the gateway over http (on this host, or through a TLS tunnel)"
                ))
            }
            _ => return Err(format!("--approvals {url:?}: expected http://HOST:PORT")),
        }
        if uri.host().is_none() || uri.query().is_some() {
            return Err(format!("--approvals {url:?}: expected http://HOST:PORT"));
        }
        if key.is_empty() {
            return Err("--key: the agent key is empty".into());
        }
        let auth = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| "--key: not a valid key (control characters)".to_string())?;
        Ok(Gateway {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
            auth,
        })
    }

    /// One request; the answer's JSON, or why there is none (the gateway's
    /// own message for an error answer).
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        wait: Duration,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder()
            .method(method)
            .uri(&url)
            .header(AUTHORIZATION, self.auth.clone());
        let bytes = match body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(bytes))
            .map_err(|e| format!("{url}: {e}"))?;
        let send = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| format!("{url}: reading the answer: {e}"))?
                .to_bytes();
            let v: Value = serde_json::from_slice(&body)
                .map_err(|_| format!("{url}: answered {status} with a body that is not JSON"))?;
            if status.is_success() {
                Ok(v)
            } else {
                Err(format!(
                    "{url}: {status}: {}",
                    v.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("no message")
                ))
            }
        };
        tokio::time::timeout(wait + SLACK, send)
            .await
            .map_err(|_| format!("{url}: no answer within {} s", (wait + SLACK).as_secs()))?
    }

    /// The approval in an answer `{"approval": {...}}`.
    fn approval(v: &Value) -> Result<(String, String), String> {
        let a = v.get("approval").ok_or("the answer has no approval")?;
        match (
            a.get("id").and_then(Value::as_str),
            a.get("status").and_then(Value::as_str),
        ) {
            (Some(id), Some(s)) => Ok((id.to_string(), s.to_string())),
            _ => Err("the answer's approval has no id or status".into()),
        }
    }

    fn approval_field(v: &Value, key: &str) -> Option<String> {
        v.pointer(&format!("/approval/{key}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// A denial, with who denied it and their note, from the answer `v`.
    fn denied(id: String, v: &Value) -> Answer {
        Answer::Denied {
            id,
            by: Self::approval_field(v, "decided_by"),
            note: Self::approval_field(v, "note"),
        }
    }

    /// Asks, waits and, when granted, spends the approval on this call.
    pub async fn ask(&self, ask: Ask) -> Answer {
        match self.ask_inner(ask).await {
            Ok(a) => a,
            Err(e) => Answer::Failed(e),
        }
    }

    async fn ask_inner(&self, ask: Ask) -> Result<Answer, String> {
        let deadline = tokio::time::Instant::now() + ask.timeout;
        let mut id = None;
        if let Some(existing) = &ask.existing {
            // Waited on before: still open, it is this call's; decided or
            // gone, a new one is asked (a denial stands as an answer).
            let path = format!("/v1/approvals/{}", encode(existing));
            if let Ok(v) = self.request(Method::GET, &path, None, Duration::ZERO).await {
                let (found, status) = Self::approval(&v)?;
                match status.as_str() {
                    "pending" | "granted" => id = Some(found),
                    "denied" => return Ok(Self::denied(found, &v)),
                    _ => {}
                }
            }
        }
        let id = match id {
            Some(id) => id,
            None => {
                let v = self
                    .request(
                        Method::POST,
                        "/v1/approvals",
                        Some(json!({
                            "tool": ask.tool,
                            "args": ask.args,
                            "reason": ask.reason,
                            "matched_rule": ask.matched_rule,
                        })),
                        Duration::ZERO,
                    )
                    .await?;
                Self::approval(&v)?.0
            }
        };
        let path = format!("/v1/approvals/{}", encode(&id));
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            // Whole seconds, rounded up: the gateway's long-poll takes no less.
            let wait = u64::try_from(left.as_millis().div_ceil(1000))
                .unwrap_or(MAX_WAIT)
                .min(MAX_WAIT);
            let v = self
                .request(
                    Method::GET,
                    &format!("{path}?wait={wait}"),
                    None,
                    Duration::from_secs(wait),
                )
                .await?;
            let (_, status) = Self::approval(&v)?;
            match status.as_str() {
                "granted" => break,
                "pending" if tokio::time::Instant::now() >= deadline || wait == 0 => {
                    return Ok(Answer::Pending { id })
                }
                "pending" => continue,
                "denied" => return Ok(Self::denied(id, &v)),
                other => {
                    return Err(format!(
                        "approval {id} is {other}; call the tool again to ask anew"
                    ))
                }
            }
        }
        let v = self
            .request(
                Method::POST,
                &format!("{path}/use"),
                Some(json!({"tool": ask.tool, "args": ask.args})),
                Duration::ZERO,
            )
            .await?;
        let (_, status) = Self::approval(&v)?;
        match status.as_str() {
            "used" => Ok(Answer::Used {
                id,
                by: Self::approval_field(&v, "decided_by"),
            }),
            "denied" => Ok(Self::denied(id, &v)),
            other => Err(format!("approval {id} could not be used: it is {other}")),
        }
    }
}

/// An approval id as a path segment (the gateway's ids are `apr_` and hex;
/// anything else is escaped rather than trusted).
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_keys_are_checked() {
        assert!(Gateway::new("http://127.0.0.1:8080", "k").is_ok());
        assert!(Gateway::new("http://127.0.0.1:8080/", "k").is_ok());
        let e = Gateway::new("https://gw.example", "k").err().unwrap();
        assert!(e.contains("https is not supported"), "{e}");
        let e = Gateway::new("127.0.0.1:8080", "k").err().unwrap();
        assert!(e.contains("expected http://HOST:PORT"), "{e}");
        let e = Gateway::new("http://127.0.0.1:1", "").err().unwrap();
        assert!(e.contains("empty"), "{e}");
        let e = Gateway::new("http://127.0.0.1:1", "a\nb").err().unwrap();
        assert!(e.contains("not a valid key"), "{e}");
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(encode("apr_0123abc"), "apr_0123abc");
        assert_eq!(encode("../x y"), "%2E%2E%2Fx%20y");
    }

    #[tokio::test]
    async fn an_unreachable_gateway_fails_the_ask() {
        // Port 1 on loopback: nothing listens there.
        let g = Gateway::new("http://127.0.0.1:1", "k").unwrap();
        let a = g
            .ask(Ask {
                key: "k".into(),
                tool: "t".into(),
                args: Map::new(),
                reason: "r".into(),
                matched_rule: None,
                existing: None,
                timeout: Duration::from_secs(1),
            })
            .await;
        assert!(
            matches!(a, Answer::Failed(ref m) if m.contains("127.0.0.1:1")),
            "{a:?}"
        );
    }
}
