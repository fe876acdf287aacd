//! The audit log: one JSON line per `tools/call` decision, appended and
//! flushed as it is made. Arguments are recorded as a SHA-256 digest only
//! (they may hold secrets).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use agentguard::{PolicyResult, RuleRef, ShadowHit};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A peer's `clientInfo` or `serverInfo` from `initialize`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Peer {
    /// Its name.
    pub name: Option<String>,
    /// Its version.
    pub version: Option<String>,
}

impl Peer {
    /// From an `Implementation` object (`{"name", "version", ...}`).
    pub fn from_info(info: Option<&Value>) -> Peer {
        let field = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Peer {
            name: field("name"),
            version: field("version"),
        }
    }
}

/// What happened to a call that needed approval, or that it did not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// The decision was allow or deny: nobody was asked.
    NotRequired,
    /// The human accepted and approved.
    Approved,
    /// The human declined (or accepted without approving).
    Declined,
    /// The human cancelled the request.
    Cancelled,
    /// No answer within `--approval-timeout`.
    Timeout,
    /// Nobody could be asked: `--approval deny`, or a client without form
    /// elicitation.
    Unavailable,
    /// The client answered the elicitation with an error.
    Error,
    /// The client cancelled the call while it waited for approval.
    CallCancelled,
    /// The server exited while the call waited for approval.
    ServerExited,
    /// Stateless protocol: the proxy answered `input_required`, asking for
    /// approval; the client's retry is decided (and audited) on its own.
    Requested,
    /// Stateless protocol: the retry's `requestState` was not the proxy's,
    /// was altered, or belongs to another call.
    InvalidState,
    /// Stateless protocol: the retry came after the state expired.
    Expired,
}

/// What the proxy did with the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sent to the server.
    Forwarded,
    /// Answered by the proxy with an `isError` tool result.
    Blocked,
    /// Answered with JSON-RPC -32602 "Unknown tool": the tool is hidden.
    Hidden,
    /// Neither: the call was cancelled or the server went away first.
    Dropped,
    /// With `--pin`: the tool's definition differs from its pin, so it was
    /// left out of a listing, or its call answered -32602 "Unknown tool".
    #[serde(rename = "pin-mismatch")]
    PinMismatch,
    /// Stateless protocol: answered with an `input_required` result asking
    /// for approval; not run (yet).
    InputRequired,
}

/// One line of the audit log.
#[derive(Serialize)]
pub struct Record<'a> {
    /// Seconds since the epoch, as in the core's audit entries.
    pub timestamp: f64,
    /// The call's JSON-RPC id (`null` for a notification).
    pub id: &'a Value,
    /// The client, from `initialize`.
    pub client: &'a Peer,
    /// The server, from `initialize`.
    pub server: &'a Peer,
    /// The tool's name.
    pub tool: &'a str,
    /// The policy's decision.
    pub decision: &'a str,
    /// The core's reason.
    pub reason: &'a str,
    /// The pattern or rule id that decided (absent: the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_rule: Option<&'a str>,
    /// The rule that decided, structured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'a RuleRef>,
    /// Shadow rules that fired (never enforced).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub shadow: &'a [ShadowHit],
    /// What approval came to.
    pub approval: ApprovalOutcome,
    /// What the proxy did.
    pub action: Action,
    /// Microseconds from reading the call to acting on it (the approval's
    /// wait included).
    pub latency_us: u64,
    /// SHA-256 (hex) of the `arguments` JSON exactly as the client sent it
    /// (`{}` when it sent none).
    pub arguments_sha256: &'a str,
    /// With action `pin-mismatch`: the tool's hash in the pin file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<&'a str>,
    /// With action `pin-mismatch`: the hash of the definition the server
    /// listed last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_sha256: Option<&'a str>,
}

/// The audit line of a tool left out of a listing because its definition
/// differs from its pin (action `pin-mismatch`; no call, so no decision).
#[derive(Serialize)]
pub struct PinRecord<'a> {
    /// Seconds since the epoch.
    pub timestamp: f64,
    /// The `tools/list` request's id.
    pub id: &'a Value,
    /// The client, from `initialize`.
    pub client: &'a Peer,
    /// The server, from `initialize`.
    pub server: &'a Peer,
    /// The tool's name.
    pub tool: &'a str,
    /// Always [`Action::PinMismatch`].
    pub action: Action,
    /// The tool's hash in the pin file.
    pub pinned_sha256: &'a str,
    /// The hash of the definition the server listed.
    pub listed_sha256: &'a str,
}

impl<'a> Record<'a> {
    /// The fields of a decision.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &'a Value,
        client: &'a Peer,
        server: &'a Peer,
        r: &'a PolicyResult,
        approval: ApprovalOutcome,
        action: Action,
        latency_us: u64,
        arguments_sha256: &'a str,
    ) -> Record<'a> {
        Record {
            timestamp: agentguard::unix_now(),
            id,
            client,
            server,
            tool: &r.tool,
            decision: r.decision.as_str(),
            reason: &r.reason,
            matched_rule: r.matched_rule.as_deref(),
            rule: r.rule.as_ref(),
            shadow: &r.shadow,
            approval,
            action,
            latency_us,
            arguments_sha256,
            pinned_sha256: None,
            listed_sha256: None,
        }
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// An open audit file.
pub struct Log {
    sink: Sink,
}

enum Sink {
    File(File),
    Collect(Arc<Mutex<Vec<Value>>>),
}

impl Log {
    /// Opens `path` for appending, creating it.
    pub fn open(path: &Path) -> std::io::Result<Log> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Log {
            sink: Sink::File(file),
        })
    }

    /// A log that hands each record, as JSON, to `records`: the gateway
    /// takes them from there into its own audit (and runs nothing it could
    /// not record).
    pub fn collect(records: Arc<Mutex<Vec<Value>>>) -> Log {
        Log {
            sink: Sink::Collect(records),
        }
    }

    /// Appends one record as a line, in one write, and flushes it.
    pub fn write<T: Serialize>(&mut self, r: &T) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::File(file) => {
                let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
                line.push(b'\n');
                file.write_all(&line)?;
                file.flush()
            }
            Sink::Collect(records) => {
                let v = serde_json::to_value(r).map_err(std::io::Error::other)?;
                records
                    .lock()
                    .map_err(|_| std::io::Error::other("the audit buffer is poisoned"))?
                    .push(v);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest() {
        assert_eq!(
            sha256_hex(b"{}"),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn record_shape() {
        let p = agentguard::Policy::from_json(r#"{"deny": ["drop_*"]}"#).unwrap();
        let r = p.check("drop_table");
        let (id, peer) = (serde_json::json!(3), Peer::default());
        let rec = Record::new(
            &id,
            &peer,
            &peer,
            &r,
            ApprovalOutcome::NotRequired,
            Action::Blocked,
            12,
            "ab",
        );
        let v: Value = serde_json::to_value(&rec).unwrap();
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["matched_rule"], "drop_*");
        assert_eq!(v["rule"]["list"], "deny");
        assert_eq!(v["approval"], "not_required");
        assert_eq!(v["action"], "blocked");
        assert!(v.get("shadow").is_none());
        assert!(v.get("arguments").is_none());
    }
}
