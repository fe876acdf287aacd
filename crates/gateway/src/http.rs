//! The HTTP API: routes, authentication, request checks and responses.
//!
//! Every error is JSON, `{"error": code, "message": text, ...}`, with the
//! status of the Node gateway this replaces. Decisions are the core's
//! ([`agentguard::ActionPolicies`]); this module only reads requests and
//! writes answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use agentguard::{ActionPolicies, ActionPolicy, Direction, ErrorKind};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{json, Map, Value};

use crate::keys::{Holder, Keys, Role};
use crate::store::{Store, StoreError};
use crate::util::{new_id, now};
use crate::writer::{Op, Outcome, Shared, Writer};
use agentguard::describe_value as describe;

/// Request bodies above this many bytes get a 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A refused body up to this size is read (and dropped) before the 413.
const DRAIN_BYTES: usize = 8 * 1024 * 1024;
/// A request body must arrive within this time once its headers have.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

const DASHBOARD: &str = include_str!("../assets/dashboard.html");

/// Bounds on what one agent can make the gateway hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest payload of one intent, in bytes of JSON.
    pub max_payload_bytes: usize,
    /// The most intents an inbox holds until they are acknowledged.
    pub inbox_max_intents: i64,
    /// The most bytes of intents an inbox holds.
    pub inbox_max_bytes: i64,
    /// How long intents handed out stay leased before they come back.
    pub lease_seconds: f64,
    /// The most bytes of intents in one inbox response (at least one intent).
    pub inbox_response_bytes: i64,
    /// How long an approval can be granted and, once granted, used.
    pub approval_seconds: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_payload_bytes: MAX_BODY_BYTES,
            inbox_max_intents: 10_000,
            inbox_max_bytes: 64 * 1024 * 1024,
            lease_seconds: 30.0,
            inbox_response_bytes: 4 * 1024 * 1024,
            approval_seconds: 15.0 * 60.0,
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub keys: Keys,
    pub store: Store,
    pub writer: Writer,
    pub shared: Arc<Shared>,
    pub limits: Limits,
    /// The MCP servers of `--mcp-config`, if any.
    pub mcp: Option<Arc<crate::mcp::Host>>,
}

/// An error answered as `{error, message, ...extra}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Box<Map<String, Value>>,
    headers: Vec<(HeaderName, &'static str)>,
}

impl ApiError {
    /// What the answer says, for a caller that reports it elsewhere.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Box::default(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Whether this is the refusal of an empty request body.
    pub(crate) fn is_empty_body(&self) -> bool {
        self.code == "invalid_json" && self.message.starts_with("request body is empty")
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &'static str) -> ApiError {
        self.headers.push((name, value));
        self
    }
}

pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

pub(crate) fn invalid_json(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body is larger than {MAX_BODY_BYTES} bytes (1 MB)"),
    )
    .header(header::CONNECTION, "close")
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the gateway's database is unavailable ({e}); nothing was delivered or changed; retry later"),
        )
        .header(header::RETRY_AFTER, "1")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), self.code.into());
        body.insert("message".into(), self.message.into());
        body.extend(*self.extra);
        let mut res = json_response(self.status, &Value::Object(body));
        for (name, value) in self.headers {
            res.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        res
    }
}

/// A JSON response with the gateway's headers.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    json_text(status, body.to_string())
}

pub(crate) fn json_text(status: StatusCode, text: String) -> Response {
    respond(status, text, "application/json; charset=utf-8")
}

/// A response of the gateway: `content_type`, never cached.
fn respond(status: StatusCode, body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

/// The gateway's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", only("GET", get(dashboard)))
        .route("/dashboard", only("GET", get(dashboard)))
        .route("/healthz", only("GET", get(healthz)))
        .route(
            "/v1/mesh/agents/{id}/policies/action",
            only(
                "GET, PUT, DELETE",
                get(policy_route).put(policy_route).delete(policy_route),
            ),
        )
        .route("/v1/mesh/intents", only("POST", post(post_intent)))
        .route("/v1/mesh/inbox", only("GET", get(take_inbox)))
        .route("/v1/mesh/inbox/ack", only("POST", post(ack_inbox)))
        .route("/v1/mesh/audit", only("GET", get(read_audit)))
        .route("/v1/mesh/agents", only("GET", get(list_agents)))
        .route(
            "/v1/agents/{id}/policies/tools",
            only(
                "GET, PUT, DELETE",
                get(crate::tools::policy_route)
                    .put(crate::tools::policy_route)
                    .delete(crate::tools::policy_route),
            ),
        )
        .route("/v1/tools/check", only("POST", post(crate::tools::check)))
        .route(
            "/v1/tools/evaluate",
            only("POST", post(crate::tools::evaluate)),
        )
        .route(
            "/v1/approvals",
            only(
                "GET, POST",
                get(crate::tools::list_approvals).post(crate::tools::ask),
            ),
        )
        .route(
            "/v1/approvals/{id}/use",
            only("POST", post(crate::tools::use_approval_route)),
        )
        .route(
            "/v1/approvals/{id}",
            only("GET", get(crate::tools::get_approval)),
        )
        .route(
            "/v1/approvals/{id}/grant",
            only("POST", post(crate::tools::grant)),
        )
        .route(
            "/v1/approvals/{id}/deny",
            only("POST", post(crate::tools::deny)),
        )
        .route(
            "/mcp/{name}",
            only(
                "POST, GET, DELETE",
                post(crate::mcp::route)
                    .get(crate::mcp::route)
                    .delete(crate::mcp::route),
            ),
        )
        .fallback(|uri: Uri| async move {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no route for {}", uri.path()),
            )
        })
        .with_state(app)
}

/// A route's methods, and a 405 naming them for any other.
fn only(methods: &'static str, r: MethodRouter<Arc<App>>) -> MethodRouter<Arc<App>> {
    r.fallback(move |method: Method, uri: Uri| async move {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {}; use {methods}", uri.path()),
        )
        .header(header::ALLOW, methods)
    })
}

async fn dashboard() -> Response {
    respond(StatusCode::OK, DASHBOARD, "text/html; charset=utf-8")
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({"ok": true}))
}

pub(crate) fn authenticate<'a>(app: &'a App, headers: &HeaderMap) -> Result<&'a Role> {
    holder(app, headers).map(|h| &h.role)
}

/// The key's holder: its role and the name the audit gives it. The key
/// comes in `x-api-key` or as `Authorization: Bearer KEY` (what HTTP
/// clients and the `agentguard mcp --approvals` proxy send); both at once
/// must be the same key.
pub(crate) fn holder<'a>(app: &'a App, headers: &HeaderMap) -> Result<&'a Holder> {
    let text = |v: &axum::http::HeaderValue| v.to_str().unwrap_or("\u{0}").to_string();
    let api_key = headers.get("x-api-key").map(text);
    let bearer = match headers.get(axum::http::header::AUTHORIZATION).map(text) {
        None => None,
        Some(v) => match v.split_once(' ') {
            Some((scheme, k)) if scheme.eq_ignore_ascii_case("bearer") => {
                Some(k.trim().to_string())
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the Authorization header must be \"Bearer KEY\"",
                ))
            }
        },
    };
    let key = match (api_key, bearer) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "x-api-key and Authorization carry two different keys: send one",
            ))
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) => String::new(),
    };
    if key.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing API key: send it in the x-api-key header (or as Authorization: Bearer KEY)",
        ));
    }
    app.keys
        .holder(&key)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown API key"))
}

pub(crate) fn require_admin(role: &Role, what: &str) -> Result<()> {
    match role {
        Role::Admin => Ok(()),
        Role::Approver => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("only admin keys can {what}; this is an approver key"),
        )),
        Role::Agent(a) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only admin keys can {what}; this key belongs to agent {}",
                json!(a)
            ),
        )),
    }
}

/// Reads a request body: at most [`MAX_BODY_BYTES`], within
/// [`BODY_TIMEOUT`].
pub(crate) async fn read_bytes(headers: &HeaderMap, body: Body) -> Result<Bytes> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > MAX_BODY_BYTES as u64 {
            // Read a body of moderate size to its end before answering, so
            // the client, still sending, reads the 413 instead of a reset;
            // a larger or slower one is cut.
            if len <= DRAIN_BYTES as u64 {
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    Limited::new(body, DRAIN_BYTES).collect(),
                )
                .await;
            }
            return Err(too_large());
        }
    }
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )
                .header(header::CONNECTION, "close")
            })?;
    let bytes: Bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Err(e) => return Err(bad(format!("could not read the request body: {e}"))),
    };
    Ok(bytes)
}

/// Reads a request body as a JSON object: at most [`MAX_BODY_BYTES`],
/// within [`BODY_TIMEOUT`], UTF-8, strict JSON (a repeated key is an error).
pub(crate) async fn read_json(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>> {
    let bytes = read_bytes(headers, body).await?;
    if bytes.is_empty() {
        return Err(invalid_json(
            "request body is empty; expected a JSON object",
        ));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| invalid_json("request body is not valid UTF-8"))?;
    let value = agentguard::parse_json_strict(text, "request body").map_err(|e| {
        if e.kind() == ErrorKind::DuplicateKey {
            invalid_json(e.to_string())
        } else {
            invalid_json(format!(
                "request body is not valid JSON: {}",
                e.message().trim_start_matches("invalid JSON: ")
            ))
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(invalid_json(format!(
            "request body must be a JSON object, got {}",
            describe(&other)
        ))),
    }
}

/// The query string's parameters (the last of a repeated one).
pub(crate) fn query(uri: &Uri) -> BTreeMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn query_limit(q: &BTreeMap<String, String>, fallback: i64, max: i64) -> Result<i64> {
    let Some(raw) = q.get("limit") else {
        return Ok(fallback);
    };
    match raw.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(bad(format!(
            "limit must be an integer from 1 to {max}, got {}",
            json!(raw)
        ))),
    }
}

/// A policy the core refused, as a 400 with its kind, field and index.
pub(crate) fn invalid_policy(e: &agentguard::Error) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_policy", e.to_string())
        .with("kind", e.kind().as_str())
        .with("field", e.field().map(str::to_string))
        .with("index", e.index())
}

/// A `true`/`false` query parameter (absent: false); anything else is a 400.
pub(crate) fn flag(q: &BTreeMap<String, String>, name: &str) -> Result<bool> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(bad(format!(
            "the {name} query parameter must be \"true\" or \"false\", got {}",
            json!(other)
        ))),
    }
}

/// An input error of the core about one request field, as a 400 that names
/// the field as the API calls it.
pub(crate) fn renamed(e: &agentguard::Error, label: &str, field: &str) -> ApiError {
    bad(format!("{label}: {}", e.message())).with("field", field)
}

/// The agent id in `/v1/mesh/agents/{id}/...`, percent-decoded, as an
/// address id.
pub(crate) fn path_agent(uri: &Uri) -> Result<String> {
    let raw = uri
        .path()
        .split_once("/agents/")
        .and_then(|(_, r)| r.split('/').next())
        .unwrap_or("");
    let well_formed = {
        let b = raw.as_bytes();
        let mut i = 0;
        let mut ok = true;
        while i < b.len() {
            if b[i] == b'%' {
                if i + 2 >= b.len() {
                    ok = false;
                    break;
                }
                if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                    ok = false;
                    break;
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        ok
    };
    let decoded = well_formed
        .then(|| percent_encoding::percent_decode_str(raw).decode_utf8().ok())
        .flatten()
        .ok_or_else(|| {
            bad(format!(
                "agent id in the path is not valid percent-encoding: {}",
                json!(raw)
            ))
        })?;
    agentguard::resolve_address(&decoded)
        .map(str::to_string)
        .map_err(|e| renamed(&e, "agent id in the path", "agent"))
}

fn policy_view(policies: &ActionPolicies, agent: &str) -> Value {
    let mut view = Map::new();
    for d in [Direction::Send, Direction::Receive] {
        let p = policies.get(agent, d).ok().flatten();
        view.insert(
            d.as_str().into(),
            match p {
                None => json!({"direction": d.as_str(), "mode": "open", "patterns": [], "policy_id": null}),
                Some(p) => json!({"direction": d.as_str(), "mode": p.mode.as_str(), "patterns": p.patterns, "policy_id": p.policy_id}),
            },
        );
    }
    Value::Object(view)
}

pub(crate) fn read_policies(app: &App) -> Result<std::sync::RwLockReadGuard<'_, ActionPolicies>> {
    app.shared.policies.read().map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the gateway's policies are unavailable; nothing was decided",
        )
    })
}

/// Whether a policy may be set for `agent`: a known agent, or a new one
/// with `create` (then `Ok(true)`: register it). An unknown agent without
/// `create` is a 404 naming the known ones, so a typo never sets a policy
/// nobody uses.
pub(crate) fn check_known(app: &App, agent: &str, create: bool) -> Result<bool> {
    let known = known_agents(app)?;
    if known.iter().any(|k| k == agent) {
        return Ok(false);
    }
    if create {
        return Ok(true);
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_agent",
        format!(
            "no agent {} is known to this gateway (known agents: {}); check the name, or add ?create=true to set a policy for a new agent",
            json!(agent),
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ),
    )
    .with("agent", agent)
    .with("known_agents", known))
}

/// Every agent the gateway knows: those with keys, with policies, or
/// created by an admin.
pub(crate) fn known_agents(app: &App) -> Result<Vec<String>> {
    let mut all: BTreeSet<String> = app.keys.agents().into_iter().collect();
    all.extend(read_policies(app)?.agents().map(str::to_string));
    if let Ok(c) = app.shared.created.read() {
        all.extend(c.iter().cloned());
    }
    Ok(all.into_iter().collect())
}

async fn policy_route(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    require_admin(who, "manage action policies")?;
    let agent = path_agent(&uri)?;
    let q = query(&uri);
    if method == Method::GET {
        let view = policy_view(&*read_policies(&app)?, &agent);
        return Ok(json_response(
            StatusCode::OK,
            &json!({"ok": true, "agent": agent, "policies": view}),
        ));
    }
    if method == Method::PUT {
        return put_policy(&app, &headers, body, agent, &q).await;
    }
    delete_policy(&app, agent, &q).await
}

async fn put_policy(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    agent: String,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    let body = read_json(headers, body).await?;
    if body.contains_key("policy_id") {
        return Err(bad("policy_id is assigned by the gateway; leave it out"));
    }
    let create = flag(q, "create")?;
    let policy = ActionPolicy::from_value(&Value::Object(body)).map_err(|e| invalid_policy(&e))?;
    let register = check_known(app, &agent, create)?;
    let policy_id = new_id("pol");
    let policy = policy.with_id(policy_id.clone());
    let mut audit = Map::new();
    audit.insert("audit_id".into(), new_id("aud").into());
    audit.insert("timestamp".into(), now().into());
    audit.insert("kind".into(), "policy_set".into());
    audit.insert("caller".into(), "admin".into());
    audit.insert("agent".into(), agent.clone().into());
    audit.insert("direction".into(), policy.direction.as_str().into());
    audit.insert("decision".into(), "policy_set".into());
    audit.insert("policy_id".into(), policy_id.clone().into());
    audit.insert(
        "message".into(),
        format!(
            "{} policy of {agent} set to {} [{}]",
            policy.direction,
            policy.mode.as_str(),
            policy.patterns.join(", ")
        )
        .into(),
    );
    let answer = json!({
        "ok": true,
        "policy_id": policy_id,
        "agent": agent,
        "direction": policy.direction.as_str(),
        "mode": policy.mode.as_str(),
        "patterns": policy.patterns,
    });
    app.writer
        .write(Op::SetPolicy {
            agent,
            policy,
            create: register,
            audit,
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn delete_policy(app: &App, agent: String, q: &BTreeMap<String, String>) -> Result<Response> {
    let direction = match q.get("direction").map(String::as_str) {
        Some("send") => Direction::Send,
        Some("receive") => Direction::Receive,
        other => {
            return Err(bad(format!(
                "the direction query parameter must be \"send\" or \"receive\", got {}",
                other.map_or_else(|| "none".to_string(), |o| json!(o).to_string())
            )))
        }
    };
    let removed = match app
        .writer
        .write(Op::DeletePolicy {
            agent: agent.clone(),
            direction,
        })
        .await?
    {
        Outcome::PolicyDeleted(p) => p,
        other => return Err(unexpected(&other)),
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "ok": true,
            "agent": agent,
            "direction": direction.as_str(),
            "mode": "open",
            "removed_policy_id": removed.and_then(|p| p.policy_id),
        }),
    ))
}

pub(crate) fn unexpected(o: &Outcome) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("internal error: unexpected outcome {o:?}"),
    )
}

pub(crate) fn agent_of<'a>(who: &'a Role, what: &str) -> Result<&'a str> {
    match who {
        Role::Agent(a) => Ok(a),
        Role::Admin | Role::Approver => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            what.to_string(),
        )),
    }
}

async fn post_intent(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    let from = agent_of(
        who,
        "only agent keys can send intents (the key's agent is the sender)",
    )?
    .to_string();
    let mut body = read_json(&headers, body).await?;
    if let Some(k) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "intent_type" | "to_agent" | "payload"))
    {
        return Err(bad(format!(
            "unknown key {} in intent (known keys: intent_type, to_agent, payload)",
            json!(k)
        ))
        .with("field", k.clone()));
    }
    let mut text = |k: &str| -> Result<String> {
        match body.remove(k) {
            Some(Value::String(s)) => Ok(s),
            other => Err(bad(format!(
                "{k}: expected a string, got {}",
                other.map_or_else(|| "nothing (it is required)".to_string(), |v| describe(&v))
            ))
            .with("field", k)),
        }
    };
    let intent_type = text("intent_type")?;
    let to_raw = text("to_agent")?;
    let payload = body.remove("payload").unwrap_or(Value::Null);
    let to = agentguard::resolve_address(&to_raw)
        .map_err(|e| renamed(&e, "to_agent", "to_agent"))?
        .to_string();
    let (violation, blocking, receive_id) = {
        let policies = read_policies(&app)?;
        let violation = policies
            .check_intent(&from, &to, &intent_type)
            .map_err(|e| renamed(&e, "intent_type", "intent_type"))?;
        let blocking = violation.as_ref().and_then(|v| {
            policies
                .get(&v.address_id, v.direction)
                .ok()
                .flatten()
                .cloned()
        });
        let receive_id = policies
            .get(&to, Direction::Receive)
            .ok()
            .flatten()
            .and_then(|p| p.policy_id.clone());
        (violation, blocking, receive_id)
    };
    if !app.keys.has_agent(&to) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_agent",
            format!("no agent {} is registered with this gateway", json!(to)),
        ));
    }
    let mut audit = Map::new();
    audit.insert("audit_id".into(), new_id("aud").into());
    audit.insert("timestamp".into(), now().into());
    audit.insert("kind".into(), "intent".into());
    audit.insert("caller".into(), from.clone().into());
    audit.insert("intent_type".into(), intent_type.clone().into());
    audit.insert("from_agent".into(), from.clone().into());
    audit.insert("to_agent".into(), to.clone().into());
    if let Some(v) = violation {
        audit.insert("direction".into(), v.direction.as_str().into());
        audit.insert("decision".into(), "blocked".into());
        audit.insert(
            "policy_id".into(),
            blocking.as_ref().and_then(|p| p.policy_id.clone()).into(),
        );
        if let Some(p) = &blocking {
            audit.insert("mode".into(), p.mode.as_str().into());
            audit.insert("patterns".into(), p.patterns.clone().into());
        }
        audit.insert("message".into(), v.message.clone().into());
        if let Some(p) = &v.pattern {
            audit.insert("pattern".into(), p.clone().into());
        }
        app.writer.write(Op::Record { audit, event: None }).await?;
        return Ok(json_response(StatusCode::FORBIDDEN, &v.to_value()));
    }
    let payload_text = payload.to_string();
    if payload_text.len() > app.limits.max_payload_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the payload is {} bytes of JSON; at most {} are accepted",
                payload_text.len(),
                app.limits.max_payload_bytes
            ),
        ));
    }
    let intent_id = new_id("int");
    let intent = json!({
        "intent_id": intent_id,
        "intent_type": intent_type,
        "from_agent": from,
        "to_agent": to,
        "payload": payload,
        "created_at": now(),
    });
    audit.insert("intent_id".into(), intent_id.clone().into());
    audit.insert("direction".into(), Value::Null);
    audit.insert("decision".into(), "delivered".into());
    audit.insert("policy_id".into(), receive_id.into());
    audit.insert(
        "message".into(),
        format!("Intent type '{intent_type}' delivered to {to}").into(),
    );
    let outcome = app
        .writer
        .write(Op::Deliver {
            intent_id: intent_id.clone(),
            to: to.clone(),
            body: intent.to_string(),
            audit,
            max_intents: app.limits.inbox_max_intents,
            max_bytes: app.limits.inbox_max_bytes,
        })
        .await?;
    match outcome {
        Outcome::Delivered => Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({"ok": true, "intent_id": intent_id}),
        )),
        Outcome::InboxFull { intents, bytes } => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "inbox_full",
            format!(
                "the inbox of {} is full ({intents} intents, {bytes} bytes; at most {} intents and {} bytes until they are acknowledged); retry later",
                json!(to),
                app.limits.inbox_max_intents,
                app.limits.inbox_max_bytes
            ),
        )
        .header(header::RETRY_AFTER, "1")),
        other => Err(unexpected(&other)),
    }
}

async fn take_inbox(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    let agent = agent_of(who, "only agent keys have an inbox")?.to_string();
    let limit = query_limit(&query(&uri), 100, 1000)?;
    let until = now() + app.limits.lease_seconds;
    match app
        .writer
        .write(Op::Lease {
            agent,
            limit,
            max_bytes: app.limits.inbox_response_bytes,
            until,
        })
        .await?
    {
        Outcome::Leased { intents, remaining } => {
            // The stored intents are JSON already: joined, not re-encoded.
            let text = format!(
                "{{\"ok\":true,\"intents\":[{}],\"remaining\":{remaining},\"lease_expires_at\":{}}}",
                intents.join(","),
                json!(until)
            );
            Ok(json_text(StatusCode::OK, text))
        }
        other => Err(unexpected(&other)),
    }
}

/// The most ids acknowledged in one request.
pub const MAX_ACK: usize = 1000;

async fn ack_inbox(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    let agent = agent_of(who, "only agent keys have an inbox")?.to_string();
    let body = read_json(&headers, body).await?;
    if let Some(k) = body.keys().find(|k| *k != "intent_ids") {
        return Err(bad(format!(
            "unknown key {} in acknowledgement (known keys: intent_ids)",
            json!(k)
        ))
        .with("field", k.clone()));
    }
    let ids = match body.get("intent_ids") {
        Some(Value::Array(items)) if items.len() <= MAX_ACK => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(format!(
                    "intent_ids[{i}]: expected an intent id (a string), got {}",
                    describe(other)
                ))
                .with("field", "intent_ids")
                .with("index", i)),
            })
            .collect::<Result<Vec<String>>>()?,
        Some(Value::Array(items)) => {
            return Err(bad(format!(
                "intent_ids: at most {MAX_ACK} ids at once, got {}",
                items.len()
            ))
            .with("field", "intent_ids"))
        }
        other => {
            return Err(bad(format!(
                "intent_ids: expected an array of intent ids, got {}",
                other.map_or_else(|| "nothing (it is required)".to_string(), describe)
            ))
            .with("field", "intent_ids"))
        }
    };
    match app.writer.write(Op::Ack { agent, ids }).await? {
        Outcome::Acked { acked, unknown } => Ok(json_response(
            StatusCode::OK,
            &json!({"ok": true, "acked": acked.len(), "unknown": unknown}),
        )),
        other => Err(unexpected(&other)),
    }
}

async fn read_audit(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    require_admin(who, "read the audit trail")?;
    let q = query(&uri);
    let limit = query_limit(&q, 100, 1000)?;
    let before = match q.get("before") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 && raw.len() <= 15 && raw.bytes().all(|b| b.is_ascii_digit()) => {
                Some(n)
            }
            _ => {
                return Err(bad(format!(
                    "before must be a record's seq (an integer from 1), got {}",
                    json!(raw)
                )))
            }
        },
    };
    let nonempty = |k: &str| q.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let (records, next_before) = app
        .store
        .audit_page(before, limit, nonempty("agent"), nonempty("decision"))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "records": records, "next_before": next_before}),
    ))
}

async fn list_agents(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response> {
    let who = authenticate(&app, &headers)?;
    require_admin(who, "list agents")?;
    let counts = app.store.counts().await?;
    let agents = known_agents(&app)?;
    let policies = read_policies(&app)?;
    let list: Vec<Value> = agents
        .iter()
        .map(|a| {
            let mut c = json!({"delivered": 0, "blocked": 0, "queued": 0});
            for (agent, what, n) in &counts {
                if agent == a {
                    let slot = &mut c[*what];
                    *slot = json!(slot.as_i64().unwrap_or(0) + n);
                }
            }
            json!({"agent": a, "policies": policy_view(&policies, a), "counts": c})
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "agents": list}),
    ))
}
