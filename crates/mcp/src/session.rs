//! The proxy's state between one client and one server, without any I/O:
//! each frame in gives the frames out (and the timers to start), so every
//! decision path is tested without processes.
//!
//! Only `initialize`, `tools/list` and `tools/call` (and answers to the
//! proxy's own approval requests) are read beyond their method and id;
//! every other frame goes on byte for byte.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentguard::{Decision, Policy, PolicyResult};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::audit::{self, Action, ApprovalOutcome, Peer, PinRecord, Record};
use crate::jsonrpc::{self, id_key, Message, Probe};
use crate::mrtr::{self, call_hash, Signer, StateError, APPROVAL_KEY, STATELESS, STATE_PREFIX};
use crate::pin::{Mismatch, PinState};
use crate::tools::Views;
use crate::{gateway, ApprovalMode};

/// Something the relay must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// Write this frame (newline included) to the server.
    Server(Bytes),
    /// Write this frame (newline included) to the client.
    Client(Bytes),
    /// Call [`Session::approval_timeout`] with this key after this long.
    Timer(String, Duration),
    /// Put this call in the gateway's approval queue and call
    /// [`Session::gateway_answer`] with what came of it.
    Gateway(Box<gateway::Ask>),
}

/// A call held while the human is asked.
struct Pending {
    /// The call's frame, to forward on approval.
    frame: Bytes,
    id: Option<Box<RawValue>>,
    call_key: Option<String>,
    /// Our elicitation request's id.
    our_id: String,
    /// Held in the gateway's queue: the call's hash.
    gateway: Option<String>,
    result: PolicyResult,
    digest: String,
    started: Instant,
}

/// The state of one proxied session.
pub struct Session {
    policy: Arc<Policy>,
    views: Views,
    approval: ApprovalMode,
    approval_timeout: Duration,
    audit: Option<audit::Log>,
    client: Peer,
    server: Peer,
    /// The client declared form elicitation in `initialize`.
    client_elicits: bool,
    /// The protocol version the server chose.
    protocol: Option<String>,
    init_id: Option<String>,
    /// `tools/list` requests whose answers are filtered.
    lists: HashSet<String>,
    /// Client requests forwarded and not answered yet (key: the id's key).
    in_flight: BTreeMap<String, Box<RawValue>>,
    /// Calls waiting for approval, by the key of our request's id.
    approvals: BTreeMap<String, Pending>,
    /// Our ids: a prefix no client or server picks by chance, and a counter.
    id_prefix: String,
    next_id: u64,
    /// `--pin`: tool definitions checked against their pins.
    pins: Option<PinState>,
    /// Signs the `requestState` of the stateless protocol's approvals.
    signer: Signer,
    /// The nonces of the states whose approval let a call through, with
    /// their expiry: a state runs its call once, and a replay of it (the
    /// same retry sent again) is refused. Expired ones are forgotten (their
    /// state is refused as expired anyway).
    spent_states: HashMap<String, u64>,
    /// Calls approved through `input_required` and forwarded, by the key of
    /// their id, with their call hash: an `input_required` answer from the
    /// server gets its state wrapped in an approved one of ours.
    approved_calls: HashMap<String, String>,
    /// `--approvals`: the gateway's approval queue is used, waiting this
    /// long for a person's answer (zero: the answer is the one there now).
    gateway: Option<Duration>,
    /// Approvals on the gateway that were still pending when this proxy
    /// stopped waiting, by call hash: the same call again waits on the same
    /// approval instead of asking anew.
    gateway_pending: HashMap<String, String>,
}

/// What the proxy reads of a `tools/call`'s params.
struct CallParams<'a> {
    name: Cow<'a, str>,
    args: Map<String, Value>,
    raw_args: &'a str,
    /// The request's `_meta` says protocol 2026-07-28 or later.
    stateless: bool,
    /// ... and declares form elicitation in its capabilities.
    stateless_elicits: bool,
    request_state: Option<String>,
    input_responses: Option<&'a RawValue>,
    client_info: Option<Value>,
}

/// The prefix of the proxy's own request ids (strings, so they never equal
/// a client's numeric ids; a random part, so not its string ids either).
pub const ID_PREFIX: &str = "agentguard-approval";

impl Session {
    /// A session enforcing `policy`.
    pub fn new(
        policy: Arc<Policy>,
        approval: ApprovalMode,
        approval_timeout: Duration,
        audit: Option<audit::Log>,
    ) -> Session {
        let nonce = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Session {
            views: Views::new(policy.clone()),
            policy,
            approval,
            approval_timeout,
            audit,
            client: Peer::default(),
            server: Peer::default(),
            client_elicits: false,
            protocol: None,
            init_id: None,
            lists: HashSet::new(),
            in_flight: BTreeMap::new(),
            approvals: BTreeMap::new(),
            id_prefix: format!("{ID_PREFIX}-{nonce:016x}"),
            next_id: 0,
            pins: None,
            signer: Signer::random(),
            spent_states: HashMap::new(),
            approved_calls: HashMap::new(),
            gateway: None,
            gateway_pending: HashMap::new(),
        }
    }

    /// This session, holding calls that need approval in the gateway's
    /// queue (`--approvals`) where elicitation is not used, waiting `wait`
    /// for a person's answer (zero: refused at once, naming the approval,
    /// until a person has granted it and the call comes again).
    pub fn with_gateway(mut self, wait: Duration) -> Session {
        self.gateway = Some(wait);
        self
    }

    /// Enforces `policy` from now on (a new version of the agent's policy):
    /// listings and calls are decided by it; calls already held stay as
    /// they were decided.
    pub fn set_policy(&mut self, policy: Arc<Policy>) {
        self.views = Views::new(policy.clone());
        self.policy = policy;
    }

    /// This session, checking tool definitions against `pins` (`--pin`).
    pub fn with_pins(mut self, pins: PinState) -> Session {
        self.pins = Some(pins);
        self
    }

    /// A frame from the client (without its newline).
    pub fn client_frame(&mut self, line: &[u8], now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        if line.iter().all(u8::is_ascii_whitespace) {
            out.push(Out::Server(jsonrpc::with_newline(line)));
            return out;
        }
        let forward = match jsonrpc::parse(line) {
            Err(e) => {
                // Not forwarded: a server with a laxer parser (NaN, a
                // repeated key) could read a call the proxy never decided.
                log(&format!(
                    "client sent a frame that is not JSON-RPC ({e}); answered with a parse error"
                ));
                out.push(Out::Client(jsonrpc::error(
                    None,
                    jsonrpc::PARSE_ERROR,
                    &format!("Parse error: {e}"),
                )));
                false
            }
            Ok(Message::Other) => true,
            Ok(Message::One(p)) => {
                // parse() checked the bytes are UTF-8.
                let text = std::str::from_utf8(line).unwrap_or_default();
                self.client_message(text, &p, now, &mut out)
            }
            Ok(Message::Batch(elements)) => {
                let mut kept: Vec<&RawValue> = Vec::with_capacity(elements.len());
                for e in &elements {
                    let keep = match jsonrpc::parse_str(e.get()) {
                        Ok(Message::One(p)) => self.client_message(e.get(), &p, now, &mut out),
                        // A batch in a batch is no request (JSON-RPC), and
                        // its calls are not decided here: never forwarded.
                        Ok(Message::Batch(_)) => {
                            out.push(Out::Client(jsonrpc::error(
                                None,
                                jsonrpc::INVALID_REQUEST,
                                "Invalid request: a batch inside a batch",
                            )));
                            false
                        }
                        Ok(Message::Other) => true,
                        Err(err) => {
                            out.push(Out::Client(jsonrpc::error(
                                None,
                                jsonrpc::INVALID_REQUEST,
                                &format!("Invalid request: {err}"),
                            )));
                            false
                        }
                    };
                    if keep {
                        kept.push(e);
                    }
                }
                if kept.len() == elements.len() {
                    true
                } else {
                    if !kept.is_empty() {
                        let parts: Vec<&str> = kept.iter().map(|e| e.get()).collect();
                        let batch = format!("[{}]", parts.join(","));
                        out.push(Out::Server(jsonrpc::with_newline(batch.as_bytes())));
                    }
                    false
                }
            }
        };
        if forward {
            out.push(Out::Server(jsonrpc::with_newline(line)));
        }
        out
    }

    /// A frame from the server (without its newline).
    pub fn server_frame(&mut self, line: &[u8]) -> Vec<Out> {
        let replaced = match jsonrpc::parse(line) {
            // Passed on: the client answers or reports it; nothing in it is
            // a call to decide.
            Err(_) | Ok(Message::Other) => None,
            Ok(Message::One(p)) => self.server_message(&p, line),
            Ok(Message::Batch(elements)) => {
                let mut changed = false;
                let parts: Vec<Cow<str>> = elements
                    .iter()
                    .map(|e| match jsonrpc::parse_str(e.get()) {
                        Ok(Message::One(p)) => match self.server_message(&p, e.get().as_bytes()) {
                            Some(b) => {
                                changed = true;
                                Cow::Owned(String::from_utf8_lossy(b.trim_ascii_end()).into_owned())
                            }
                            None => Cow::Borrowed(e.get()),
                        },
                        _ => Cow::Borrowed(e.get()),
                    })
                    .collect();
                changed.then(|| jsonrpc::with_newline(format!("[{}]", parts.join(",")).as_bytes()))
            }
        };
        vec![Out::Client(
            replaced.unwrap_or_else(|| jsonrpc::with_newline(line)),
        )]
    }

    /// The client sent a frame over the size limit (skipped).
    pub fn client_too_long(&mut self) -> Vec<Out> {
        log("client sent a frame over the size limit; answered with an error");
        vec![Out::Client(jsonrpc::error(
            None,
            jsonrpc::INVALID_REQUEST,
            &format!(
                "Invalid request: frame longer than {} bytes",
                crate::frame::MAX_FRAME
            ),
        ))]
    }

    /// The server sent a frame over the size limit (skipped).
    pub fn server_too_long(&mut self) -> Vec<Out> {
        log("server sent a frame over the size limit; the client is told");
        vec![Out::Client(jsonrpc::error(
            None,
            jsonrpc::INTERNAL_ERROR,
            &format!(
                "The MCP server sent a message longer than {} bytes; agentguard dropped it",
                crate::frame::MAX_FRAME
            ),
        ))]
    }

    /// The approval timer `key` ran out.
    pub fn approval_timeout(&mut self, key: &str, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        if let Some(p) = self.approvals.remove(key) {
            if p.gateway.is_some() {
                // The gateway's wait ends on its own (gateway_answer).
                self.approvals.insert(key.to_string(), p);
                return out;
            }
            out.push(Out::Client(jsonrpc::notification(
                "notifications/cancelled",
                json!({"requestId": p.our_id, "reason": "approval timed out"}),
            )));
            let why = format!(
                "No approval was given within {} s.",
                self.approval_timeout.as_secs()
            );
            self.refuse(p, ApprovalOutcome::Timeout, &why, now, &mut out);
        }
        out
    }

    /// The server is gone (`status` says how): every request it had not
    /// answered, and every call waiting for approval, gets an error.
    pub fn server_gone(&mut self, status: &str, now: Instant) -> Vec<Out> {
        let message = format!("MCP server exited ({status}) before answering");
        let mut out: Vec<Out> = std::mem::take(&mut self.in_flight)
            .values()
            .map(|id| {
                Out::Client(jsonrpc::error(
                    Some(id),
                    jsonrpc::CONNECTION_CLOSED,
                    &message,
                ))
            })
            .collect();
        for (_, p) in std::mem::take(&mut self.approvals) {
            out.push(Out::Client(jsonrpc::error(
                p.id.as_deref(),
                jsonrpc::CONNECTION_CLOSED,
                &message,
            )));
            self.audit(&p, ApprovalOutcome::ServerExited, Action::Dropped, now);
        }
        out
    }

    /// One client message. Returns whether it goes to the server as it is.
    fn client_message(&mut self, text: &str, p: &Probe, now: Instant, out: &mut Vec<Out>) -> bool {
        let Some(method) = p.method.as_deref() else {
            // A response: to one of our approval requests, or to the server.
            if let Some(id) = p.id {
                let key = id_key(id);
                if let Some(pending) = self.approvals.remove(&key) {
                    self.approval_answer(pending, p, now, out);
                    return false;
                }
            }
            return true;
        };
        match method {
            "tools/call" => return self.call(text, p, now, out),
            "initialize" => self.initialize(p),
            "notifications/cancelled" => self.call_cancelled(p, now, out),
            _ => {}
        }
        if let Some(id) = p.id {
            let key = id_key(id);
            match method {
                "tools/list" => {
                    self.lists.insert(key.clone());
                }
                "initialize" => self.init_id = Some(key.clone()),
                _ => {}
            }
            self.in_flight.insert(key, id.to_owned());
        }
        true
    }

    fn initialize(&mut self, p: &Probe) {
        let params: Value = p
            .params
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(Value::Null);
        self.client = Peer::from_info(params.get("clientInfo"));
        // 2025-11-25: `{}` means form only; otherwise form must be named.
        self.client_elicits = match params.pointer("/capabilities/elicitation") {
            Some(Value::Object(m)) => m.is_empty() || m.contains_key("form"),
            _ => false,
        };
    }

    fn server_message(&mut self, p: &Probe, line: &[u8]) -> Option<Bytes> {
        // A request or notification; but one carrying a result too is read
        // as the answer it may be taken for (a listing is still filtered).
        if p.method.is_some() && p.result.is_none() {
            return None;
        }
        let key = id_key(p.id?);
        self.in_flight.remove(&key);
        if let Some(call) = self.approved_calls.remove(&key) {
            if let Some(b) = self.wrap_server_state(line, &call) {
                return Some(b);
            }
        }
        if self.init_id.as_deref() == Some(key.as_str()) {
            self.init_id = None;
            let result: Value = p
                .result
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null);
            self.server = Peer::from_info(result.get("serverInfo"));
            self.protocol = result
                .get("protocolVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if self.lists.remove(&key) && p.result.is_some() {
            let mut v: Value = serde_json::from_slice(line).ok()?;
            let result = v.get_mut("result")?;
            // Pins first, on the definitions as the server wrote them.
            let pinned = match self.pins.as_mut() {
                Some(pins) => {
                    let c = pins.check_listing(result);
                    let path = pins.path().display().to_string();
                    if !c.added.is_empty() {
                        log(&format!(
                            "pinned {} new tool(s) in {path}: {}",
                            c.added.len(),
                            c.added.join(", ")
                        ));
                    }
                    let list_id: Value = serde_json::from_str(p.id?.get()).unwrap_or(Value::Null);
                    for (tool, m) in &c.new_mismatches {
                        log(&format!(
                            "tool '{tool}' changed since it was pinned in {path} (pinned sha256 {}, now {}): hidden, and its calls refused, until the pin is updated (agentguard mcp pin)",
                            m.pinned, m.listed
                        ));
                        self.audit_pin_listing(&list_id, tool, m);
                    }
                    c.changed
                }
                None => false,
            };
            let filtered = self.views.filter_listing(v.get_mut("result")?);
            if pinned || filtered {
                return Some(jsonrpc::with_newline(&serde_json::to_vec(&v).ok()?));
            }
        }
        None
    }

    /// Decides a `tools/call`. Returns whether it goes to the server now.
    fn call(&mut self, text: &str, p: &Probe, now: Instant, out: &mut Vec<Out>) -> bool {
        #[derive(Deserialize)]
        struct Params<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
            #[serde(borrow, default)]
            arguments: Option<&'a RawValue>,
            #[serde(borrow, default, rename = "_meta")]
            meta: Option<&'a RawValue>,
            #[serde(default, rename = "requestState")]
            request_state: Option<String>,
            #[serde(borrow, default, rename = "inputResponses")]
            input_responses: Option<&'a RawValue>,
        }
        let id = p.id;
        let parsed = p
            .params
            .ok_or_else(|| "tools/call needs params".to_string())
            .and_then(|r| serde_json::from_str::<Params>(r.get()).map_err(|e| e.to_string()))
            .and_then(|c| {
                let args = match c.arguments {
                    None => Map::new(),
                    // Strict: a repeated key (at any depth) is refused, as
                    // in the frame itself.
                    Some(r) => match jsonrpc::strict_value(r.get()) {
                        Ok(Value::Object(m)) => m,
                        Ok(Value::Null) => Map::new(),
                        Ok(_) => return Err("arguments must be an object".to_string()),
                        Err(e) => return Err(format!("arguments: {e}")),
                    },
                };
                let meta: Value = c
                    .meta
                    .and_then(|r| serde_json::from_str(r.get()).ok())
                    .unwrap_or(Value::Null);
                let stateless = meta
                    .get("io.modelcontextprotocol/protocolVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v >= STATELESS);
                let stateless_elicits = match meta
                    .pointer("/io.modelcontextprotocol~1clientCapabilities/elicitation")
                {
                    Some(Value::Object(m)) => m.is_empty() || m.contains_key("form"),
                    _ => false,
                };
                Ok(CallParams {
                    name: c.name,
                    args,
                    raw_args: c.arguments.map_or("{}", |r| r.get()),
                    stateless,
                    stateless_elicits,
                    request_state: c.request_state,
                    input_responses: c.input_responses,
                    client_info: meta.get("io.modelcontextprotocol/clientInfo").cloned(),
                })
            });
        let CallParams {
            name,
            args,
            raw_args,
            stateless,
            stateless_elicits,
            request_state,
            input_responses,
            client_info,
        } = match parsed {
            Ok(x) => x,
            Err(e) => {
                // Never forwarded: the proxy cannot decide what it cannot read.
                let msg = format!("Invalid params: {e}");
                match id {
                    Some(id) => out.push(Out::Client(jsonrpc::error(
                        Some(id),
                        jsonrpc::INVALID_PARAMS,
                        &msg,
                    ))),
                    None => log(&format!("dropped a tools/call notification: {msg}")),
                }
                return false;
            }
        };
        if stateless && client_info.is_some() {
            self.client = Peer::from_info(client_info.as_ref());
        }
        let result = self.policy.check_call(&name, &args);
        let digest = audit::sha256_hex(raw_args.as_bytes());
        if let Some(m) = self.pins.as_mut().and_then(|pins| pins.refused(&name)) {
            // Changed since pinned: refused as a tool the server lacks.
            log(&format!(
                "refused a call to '{name}': its definition changed since it was pinned"
            ));
            self.answer(
                id,
                jsonrpc::error(
                    id,
                    jsonrpc::INVALID_PARAMS,
                    &format!("Unknown tool: {name}"),
                ),
                &name,
                out,
            );
            let pending = Pending {
                frame: Bytes::new(),
                id: id.map(ToOwned::to_owned),
                call_key: None,
                our_id: String::new(),
                gateway: None,
                result,
                digest,
                started: now,
            };
            self.audit_with(
                &pending,
                ApprovalOutcome::NotRequired,
                Action::PinMismatch,
                now,
                Some(&m),
            );
            return false;
        }
        let pending = Pending {
            frame: jsonrpc::with_newline(text.as_bytes()),
            id: id.map(ToOwned::to_owned),
            call_key: id.map(id_key),
            our_id: String::new(),
            gateway: None,
            result,
            digest,
            started: now,
        };
        // A requestState of ours sent back (stateless protocol): verified
        // before anything else but a denial; the call goes on without it.
        let mut approved_by_state = false;
        let mut rewritten: Option<Bytes> = None;
        let ours = request_state
            .as_deref()
            .filter(|s| s.starts_with(STATE_PREFIX));
        if let (Some(token), false) = (ours, pending.result.decision == Decision::Deny) {
            let call = call_hash(&name, &args);
            match self.signer.open(token, &call, mrtr::now_ms()) {
                Err(e) => {
                    let (outcome, why) = match e {
                        StateError::Invalid => (
                            ApprovalOutcome::InvalidState,
                            "The approval state sent back (requestState) was not issued by this proxy, or was altered.",
                        ),
                        StateError::OtherCall => (
                            ApprovalOutcome::InvalidState,
                            "The approval state sent back (requestState) belongs to another call: the tool or its arguments changed.",
                        ),
                        StateError::Expired => (
                            ApprovalOutcome::Expired,
                            "The approval expired before the call was retried; call the tool again to be asked again.",
                        ),
                    };
                    self.refuse(pending, outcome, why, now, out);
                    return false;
                }
                Ok(state) => {
                    if !state.approved {
                        let answer = input_responses.and_then(|r| {
                            serde_json::from_str::<Map<String, Value>>(r.get())
                                .ok()?
                                .remove(APPROVAL_KEY)
                        });
                        let outcome = answer
                            .as_ref()
                            .map_or(ApprovalOutcome::Error, elicit_outcome);
                        if outcome != ApprovalOutcome::Approved {
                            let why = match outcome {
                                ApprovalOutcome::Declined => "The user declined to approve it.",
                                ApprovalOutcome::Cancelled => {
                                    "The user cancelled the approval request."
                                }
                                _ => "The retry carried no answer to the approval request.",
                            };
                            self.refuse(pending, outcome, why, now, out);
                            return false;
                        }
                    }
                    // Once: the state that let a call through is spent.
                    let now_ms = mrtr::now_ms();
                    self.spent_states.retain(|_, exp| *exp >= now_ms);
                    if self.spent_states.contains_key(&state.nonce) {
                        self.refuse(
                            pending,
                            ApprovalOutcome::InvalidState,
                            "The approval state sent back (requestState) was already used: an approval runs its call once; call the tool again to be asked again.",
                            now,
                            out,
                        );
                        return false;
                    }
                    self.spent_states.insert(state.nonce.clone(), state.exp);
                    approved_by_state = true;
                    rewritten = without_our_state(text, state.inner);
                }
            }
        }
        match pending.result.decision {
            Decision::RequireApproval if approved_by_state => {
                // Audited before it is forwarded: a call whose record
                // cannot be written is not run.
                if !self.audit(&pending, ApprovalOutcome::Approved, Action::Forwarded, now) {
                    self.refuse_unaudited(id, &name, out);
                    return false;
                }
                if let (Some(k), Some(id)) = (&pending.call_key, id) {
                    self.in_flight.insert(k.clone(), id.to_owned());
                    self.approved_calls
                        .insert(k.clone(), call_hash(&name, &args));
                }
                out.push(Out::Server(
                    rewritten.unwrap_or_else(|| pending.frame.clone()),
                ));
                false
            }
            Decision::Allow => {
                if !self.audit(
                    &pending,
                    ApprovalOutcome::NotRequired,
                    Action::Forwarded,
                    now,
                ) {
                    self.refuse_unaudited(id, &name, out);
                    return false;
                }
                if let (Some(k), Some(id)) = (&pending.call_key, id) {
                    self.in_flight.insert(k.clone(), id.to_owned());
                }
                match rewritten {
                    Some(b) => {
                        out.push(Out::Server(b));
                        false
                    }
                    None => true,
                }
            }
            Decision::Deny => {
                let hidden = self.views.get(&name).hidden;
                let answer = if hidden {
                    jsonrpc::error(
                        id,
                        jsonrpc::INVALID_PARAMS,
                        &format!("Unknown tool: {name}"),
                    )
                } else {
                    jsonrpc::tool_error(id, &blocked_text(&pending.result, None))
                };
                let action = if hidden {
                    Action::Hidden
                } else {
                    Action::Blocked
                };
                self.answer(id, answer, &name, out);
                self.audit(&pending, ApprovalOutcome::NotRequired, action, now);
                false
            }
            Decision::RequireApproval => {
                let elicit = self.approval == ApprovalMode::Elicit && id.is_some();
                if elicit && stateless && stateless_elicits {
                    // Stateless: ask through an input_required result; the
                    // retry carries the answer and our signed state.
                    let ttl = u64::try_from(self.approval_timeout.as_millis()).unwrap_or(u64::MAX);
                    let state = self.signer.mint(&call_hash(&name, &args), ttl, false, None);
                    let mut form = self.approval_form(&pending.result, &args);
                    form["mode"] = json!("form");
                    let answer = jsonrpc::result(
                        id,
                        json!({
                            "resultType": "input_required",
                            "inputRequests": {APPROVAL_KEY: {"method": "elicitation/create", "params": form}},
                            "requestState": state,
                        }),
                    );
                    self.answer(id, answer, &name, out);
                    self.audit(
                        &pending,
                        ApprovalOutcome::Requested,
                        Action::InputRequired,
                        now,
                    );
                } else if elicit && !stateless && self.can_elicit() {
                    self.ask(pending, &args, out);
                } else if self.gateway.is_some() && id.is_some() {
                    self.ask_gateway(pending, &name, args, out);
                } else {
                    let why = if self.approval == ApprovalMode::Deny {
                        "This proxy runs with --approval deny, so nobody was asked: ask the user to approve and run this call themselves, or to change the policy."
                    } else {
                        "The client does not support MCP elicitation (form mode), so the user could not be asked: ask the user to approve and run this call themselves, or to change the policy."
                    };
                    let answer = jsonrpc::tool_error(id, &approval_text(&pending.result, why));
                    self.answer(id, answer, &name, out);
                    self.audit(&pending, ApprovalOutcome::Unavailable, Action::Blocked, now);
                }
                false
            }
        }
    }

    /// Sends the proxy's answer to a call; a call sent as a notification
    /// gets none (JSON-RPC), so the refusal is logged instead.
    fn answer(&self, id: Option<&RawValue>, answer: Bytes, tool: &str, out: &mut Vec<Out>) {
        match id {
            Some(_) => out.push(Out::Client(answer)),
            None => log(&format!(
                "refused a tools/call notification (no id) for '{tool}'"
            )),
        }
    }

    fn can_elicit(&self) -> bool {
        // Elicitation exists from 2025-06-18 (dates compare as strings).
        self.client_elicits && self.protocol.as_deref().is_some_and(|v| v >= "2025-06-18")
    }

    /// Sends the client an `elicitation/create` form for a held call.
    fn ask(&mut self, mut pending: Pending, args: &Map<String, Value>, out: &mut Vec<Out>) {
        self.next_id += 1;
        let our_id = format!("{}-{}", self.id_prefix, self.next_id);
        let mut params = self.approval_form(&pending.result, args);
        if self.protocol.as_deref().is_some_and(|v| v >= "2025-11-25") {
            params["mode"] = json!("form");
        }
        out.push(Out::Client(jsonrpc::request(
            &our_id,
            "elicitation/create",
            params,
        )));
        let key = Value::String(our_id.clone()).to_string();
        out.push(Out::Timer(key.clone(), self.approval_timeout));
        pending.our_id = our_id;
        self.approvals.insert(key, pending);
    }

    /// Holds a call in the gateway's approval queue (`--approvals`).
    fn ask_gateway(
        &mut self,
        mut pending: Pending,
        name: &str,
        args: Map<String, Value>,
        out: &mut Vec<Out>,
    ) {
        self.next_id += 1;
        let key = format!("{}-gateway-{}", self.id_prefix, self.next_id);
        let hash = call_hash(name, &args);
        out.push(Out::Gateway(Box::new(gateway::Ask {
            key: key.clone(),
            tool: name.to_string(),
            args,
            reason: pending.result.reason.to_string(),
            matched_rule: pending.result.matched_rule.as_deref().map(str::to_string),
            existing: self.gateway_pending.get(&hash).cloned(),
            timeout: self.gateway.unwrap_or_default(),
        })));
        pending.gateway = Some(hash);
        self.approvals.insert(key, pending);
    }

    /// What came of a call held in the gateway's queue (key: the one in
    /// [`Out::Gateway`]): granted and spent, it is forwarded; anything
    /// else refuses it, saying why (a call cancelled meanwhile is gone).
    pub fn gateway_answer(&mut self, key: &str, answer: gateway::Answer, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(p) = self.approvals.remove(key) else {
            return out;
        };
        let hash = p.gateway.clone().unwrap_or_default();
        match answer {
            gateway::Answer::Used { id, by } => {
                self.gateway_pending.remove(&hash);
                if !self.audit(&p, ApprovalOutcome::Approved, Action::Forwarded, now) {
                    let name = p.result.tool.to_string();
                    self.refuse_unaudited(p.id.as_deref(), &name, &mut out);
                    return out;
                }
                log(&format!(
                    "'{}' approved on the gateway ({id}, by {})",
                    p.result.tool,
                    by.as_deref().unwrap_or("someone")
                ));
                if let (Some(k), Some(id)) = (&p.call_key, &p.id) {
                    self.in_flight.insert(k.clone(), id.clone());
                }
                out.push(Out::Server(p.frame.clone()));
            }
            gateway::Answer::Denied { id, by, note } => {
                self.gateway_pending.remove(&hash);
                let why = format!(
                    "A person denied it on the agentguard gateway (approval {id}{}{}).",
                    by.map(|b| format!(", by {b}")).unwrap_or_default(),
                    note.map(|n| format!(": {n}")).unwrap_or_default()
                );
                self.refuse(p, ApprovalOutcome::Declined, &why, now, &mut out);
            }
            gateway::Answer::Pending { id } => {
                let wait = self.gateway.unwrap_or_default();
                let why = if wait.is_zero() {
                    format!("A person must approve it first: the request waits on the agentguard gateway as approval {id}; once it is granted there, call the tool again with the same arguments.")
                } else {
                    format!(
                        "No approval was given within {} s. The request waits on the agentguard gateway as approval {id}: once a person grants it there, call the tool again with the same arguments.",
                        wait.as_secs()
                    )
                };
                self.gateway_pending.insert(hash, id);
                self.refuse(p, ApprovalOutcome::Timeout, &why, now, &mut out);
            }
            gateway::Answer::Failed(e) => {
                log(&format!("the gateway's approval queue: {e}"));
                let why = format!("The agentguard gateway's approval queue could not be used: {e}");
                self.refuse(p, ApprovalOutcome::Error, &why, now, &mut out);
            }
        }
        out
    }

    /// The params of the `elicitation/create` form that asks for approval.
    fn approval_form(&self, r: &PolicyResult, args: &Map<String, Value>) -> Value {
        let mut shown = serde_json::to_string_pretty(args).unwrap_or_default();
        if shown.len() > 4000 {
            let mut cut = 4000;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push_str("\n... (truncated)");
        }
        let message = format!(
            "agentguard: the policy requires your approval before this tool call runs.\n\nTool: {}\nArguments: {}\nRule: {}\nReason: {}{}",
            r.tool,
            shown,
            rule_name(r),
            r.reason,
            self.server.name.as_deref().map(|s| format!("\nServer: {s}")).unwrap_or_default(),
        );
        json!({
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": {"approve": {
                    "type": "boolean",
                    "title": "Approve this call",
                    "description": format!("Run {} with the arguments above", r.tool),
                    "default": false
                }},
                "required": ["approve"]
            }
        })
    }

    /// An `input_required` answer from the server to a call approved
    /// through our state: its `requestState` is wrapped in an approved one
    /// of ours, so the retry is not asked about again.
    fn wrap_server_state(&self, line: &[u8], call: &str) -> Option<Bytes> {
        let mut v: Value = serde_json::from_slice(line).ok()?;
        let result = v.get_mut("result")?.as_object_mut()?;
        if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
            return None;
        }
        let inner = result
            .get("requestState")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ttl = u64::try_from(self.approval_timeout.as_millis()).unwrap_or(u64::MAX);
        let state = self.signer.mint(call, ttl, true, inner);
        result.insert("requestState".into(), Value::String(state));
        Some(jsonrpc::with_newline(&serde_json::to_vec(&v).ok()?))
    }

    fn approval_answer(&mut self, pending: Pending, p: &Probe, now: Instant, out: &mut Vec<Out>) {
        let outcome = p
            .result
            .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .map_or(ApprovalOutcome::Error, |v| elicit_outcome(&v));
        if outcome == ApprovalOutcome::Approved {
            if !self.audit(&pending, outcome, Action::Forwarded, now) {
                let name = pending.result.tool.to_string();
                self.refuse_unaudited(pending.id.as_deref(), &name, out);
                return;
            }
            if let (Some(k), Some(id)) = (&pending.call_key, &pending.id) {
                self.in_flight.insert(k.clone(), id.clone());
            }
            out.push(Out::Server(pending.frame.clone()));
            return;
        }
        let why = match outcome {
            ApprovalOutcome::Declined => "The user declined to approve it.",
            ApprovalOutcome::Cancelled => "The user cancelled the approval request.",
            _ => "The approval request failed.",
        };
        self.refuse(pending, outcome, why, now, out);
    }

    /// The client cancelled a request: a call waiting for approval stops
    /// waiting (and our question is withdrawn).
    fn call_cancelled(&mut self, p: &Probe, now: Instant, out: &mut Vec<Out>) {
        let Some(params) = p.params else { return };
        let Ok(v) = serde_json::from_str::<Value>(params.get()) else {
            return;
        };
        let Some(req) = v.get("requestId") else {
            return;
        };
        let key = req.to_string();
        let found = self
            .approvals
            .iter()
            .find(|(_, a)| a.call_key.as_deref() == Some(key.as_str()))
            .map(|(k, _)| k.clone());
        if let Some(k) = found {
            if let Some(a) = self.approvals.remove(&k) {
                // Our elicitation is withdrawn; a gateway approval stays
                // for a person to see, and its answer finds no call.
                if a.gateway.is_none() {
                    out.push(Out::Client(jsonrpc::notification(
                        "notifications/cancelled",
                        json!({"requestId": a.our_id, "reason": "the call was cancelled"}),
                    )));
                }
                self.audit(&a, ApprovalOutcome::CallCancelled, Action::Dropped, now);
            }
        }
    }

    fn refuse(
        &mut self,
        p: Pending,
        outcome: ApprovalOutcome,
        why: &str,
        now: Instant,
        out: &mut Vec<Out>,
    ) {
        out.push(Out::Client(jsonrpc::tool_error(
            p.id.as_deref(),
            &blocked_text(&p.result, Some(why)),
        )));
        self.audit(&p, outcome, Action::Blocked, now);
    }

    /// Records a decision; `false` when the audit log is on and the record
    /// could not be written (said on stderr).
    fn audit(
        &mut self,
        p: &Pending,
        approval: ApprovalOutcome,
        action: Action,
        now: Instant,
    ) -> bool {
        self.audit_with(p, approval, action, now, None)
    }

    /// Answers a call the policy let through but whose audit record could
    /// not be written: it is not run (fail closed; nothing runs unrecorded).
    fn refuse_unaudited(&self, id: Option<&RawValue>, tool: &str, out: &mut Vec<Out>) {
        let answer = jsonrpc::tool_error(
            id,
            &format!(
                "Blocked: the call to tool '{tool}' was allowed by policy but not run, because the proxy could not write its audit log. Ask the user to check the proxy's audit file."
            ),
        );
        self.answer(id, answer, tool, out);
    }

    fn audit_pin_listing(&mut self, list_id: &Value, tool: &str, m: &Mismatch) {
        let Some(log_file) = self.audit.as_mut() else {
            return;
        };
        let rec = PinRecord {
            timestamp: agentguard::unix_now(),
            id: list_id,
            client: &self.client,
            server: &self.server,
            tool,
            action: Action::PinMismatch,
            pinned_sha256: &m.pinned,
            listed_sha256: &m.listed,
        };
        if let Err(e) = log_file.write(&rec) {
            log(&format!("cannot write the audit log: {e}"));
        }
    }

    fn audit_with(
        &mut self,
        p: &Pending,
        approval: ApprovalOutcome,
        action: Action,
        now: Instant,
        pin: Option<&Mismatch>,
    ) -> bool {
        let Some(log_file) = self.audit.as_mut() else {
            return true;
        };
        let id =
            p.id.as_ref()
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null);
        let latency = now.saturating_duration_since(p.started).as_micros();
        let mut rec = Record::new(
            &id,
            &self.client,
            &self.server,
            &p.result,
            approval,
            action,
            u64::try_from(latency).unwrap_or(u64::MAX),
            &p.digest,
        );
        rec.pinned_sha256 = pin.map(|m| m.pinned.as_str());
        rec.listed_sha256 = pin.map(|m| m.listed.as_str());
        match log_file.write(&rec) {
            Ok(()) => true,
            Err(e) => {
                log(&format!("cannot write the audit log: {e}"));
                false
            }
        }
    }
}

/// What an `ElicitResult` to the approval form says.
fn elicit_outcome(answer: &Value) -> ApprovalOutcome {
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => {
            if answer.pointer("/content/approve") == Some(&Value::Bool(true)) {
                ApprovalOutcome::Approved
            } else {
                ApprovalOutcome::Declined
            }
        }
        Some("decline") => ApprovalOutcome::Declined,
        Some("cancel") => ApprovalOutcome::Cancelled,
        _ => ApprovalOutcome::Error,
    }
}

/// The call's frame without the proxy's part of the retry: `requestState`
/// becomes the server's own (`inner`) or goes, and our answer leaves
/// `inputResponses` (which goes too when nothing else is left in it).
fn without_our_state(text: &str, inner: Option<String>) -> Option<Bytes> {
    let mut v: Value = serde_json::from_str(text).ok()?;
    let params = v.get_mut("params")?.as_object_mut()?;
    match inner {
        Some(s) => {
            params.insert("requestState".into(), Value::String(s));
        }
        None => {
            params.remove("requestState");
        }
    }
    let empty = match params.get_mut("inputResponses") {
        Some(Value::Object(r)) => {
            r.remove(APPROVAL_KEY);
            r.is_empty()
        }
        _ => false,
    };
    if empty {
        params.remove("inputResponses");
    }
    Some(jsonrpc::with_newline(&serde_json::to_vec(&v).ok()?))
}

fn rule_name(r: &PolicyResult) -> String {
    match &r.matched_rule {
        Some(m) => m.to_string(),
        None => "none (the policy's default)".to_string(),
    }
}

/// What a model reads when a call is blocked.
pub fn blocked_text(r: &PolicyResult, why: Option<&str>) -> String {
    let mut s = format!(
        "Blocked by policy: the call to tool '{}' was not run. Rule: {}. Reason: {}.",
        r.tool,
        rule_name(r),
        r.reason
    );
    if let Some(w) = why {
        s.push(' ');
        s.push_str(w);
    }
    s
}

/// What a model reads when a call needs approval nobody could give.
pub fn approval_text(r: &PolicyResult, why: &str) -> String {
    format!(
        "Approval required by policy: the call to tool '{}' was not run. Rule: {}. Reason: {}. {why}",
        r.tool,
        rule_name(r),
        r.reason
    )
}

/// A line on stderr, the proxy's only log.
pub fn log(msg: &str) {
    eprintln!("agentguard mcp: {msg}");
}
