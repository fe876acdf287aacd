//! Tool policies per agent, tool-call decisions over HTTP, and approvals a
//! person grants or refuses.
//!
//! - `PUT/GET/DELETE /v1/agents/{id}/policies/tools` (admin): the policy
//!   file format, validated by the core; every change is a new version
//!   (`GET ?version=N` reads an old one); `?dry_run=true` answers the lint
//!   findings and the diff against the version in force without saving.
//! - `POST /v1/tools/check` (agent): `{tool, args, context, approval_id?}`
//!   -> the core's result JSON for that agent's policy, audited. A
//!   `require_approval` creates a pending approval bound to the agent, the
//!   tool and a hash of the arguments; the agent repeats the check with its
//!   `approval_id` once a person granted it and gets `allow` once.
//! - `GET /v1/approvals`, `GET /v1/approvals/{id}[?wait=S]`,
//!   `POST /v1/approvals/{id}/grant|deny` (approver or admin; the asking
//!   agent may read its own).
//!
//! The decisions are the core's ([`agentguard::Policy::evaluate_call`],
//! [`agentguard::Policy::resolve_verdict`], [`agentguard::Policy::result`]).

use std::sync::Arc;
use std::time::Duration;

use agentguard::{Decision, Policy};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::http::{
    agent_of, bad, check_known, flag, holder, invalid_policy, json_response, path_agent, query,
    query_limit, read_json, require_admin, unexpected, ApiError, App, Result,
};
use crate::keys::{Holder, Role};
use crate::store::StoreError;
use crate::util::{new_id, now};
use crate::writer::{Op, Outcome};
use agentguard::describe_value as describe;

/// The longest `?wait=` of a long-poll, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// One approval as stored.
#[derive(Clone, Debug)]
pub struct ApprovalRow {
    pub id: String,
    pub agent: String,
    pub tool: String,
    pub args_hash: String,
    /// `{"args", "context", "result"}` of the call that asked, as JSON.
    pub body: String,
    pub status: String,
    pub created_at: f64,
    pub expires_at: f64,
    pub decided_by: Option<String>,
    pub decided_at: Option<f64>,
    pub note: Option<String>,
    pub used_at: Option<f64>,
}

/// Why an approval cannot be decided or used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalRefusal {
    /// No approval has this id.
    NotFound,
    /// It is not pending any more (`granted`, `denied`, `used`).
    Decided(String),
    /// Past its expiry.
    Expired,
    /// Another agent's.
    OtherAgent,
    /// Granted for another tool or other arguments.
    Mismatch,
    /// Granted, and already spent on its one call.
    Used,
}

impl ApprovalRow {
    /// A new pending approval asked at `at`, open for `seconds`; `body` is
    /// `{"args", "context", "result"}` of the call that asked.
    pub(crate) fn pending(
        id: String,
        agent: String,
        tool: String,
        args_hash: String,
        body: &Value,
        at: f64,
        seconds: f64,
    ) -> ApprovalRow {
        ApprovalRow {
            id,
            agent,
            tool,
            args_hash,
            body: body.to_string(),
            status: "pending".into(),
            created_at: at,
            expires_at: at + seconds,
            decided_by: None,
            decided_at: None,
            note: None,
            used_at: None,
        }
    }

    /// What the API shows: a pending or granted approval past its expiry is
    /// `expired`.
    pub(crate) fn view(&self, at: f64) -> Value {
        let body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        let status =
            if (self.status == "pending" || self.status == "granted") && at > self.expires_at {
                "expired"
            } else {
                self.status.as_str()
            };
        json!({
            "id": self.id,
            "agent": self.agent,
            "tool": self.tool,
            "args": body["args"],
            "context": body["context"],
            "result": body["result"],
            "status": status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "note": self.note,
            "used_at": self.used_at,
        })
    }
}

/// A canonical hash of call arguments: SHA-256 of their JSON with object
/// keys sorted at every depth, so the same arguments in another key order
/// are the same call.
pub fn args_hash(args: &Map<String, Value>) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(&Value::Object(args.clone()), &mut text);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- storage

pub(crate) async fn next_version(
    conn: &mut AnyConnection,
    agent: &str,
) -> std::result::Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM tool_policies WHERE agent = $1",
    )
    .bind(agent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>(0)? + 1)
}

pub(crate) async fn delete_policy(
    conn: &mut AnyConnection,
    agent: &str,
    by: &str,
) -> std::result::Result<Outcome, StoreError> {
    let current: Option<Option<String>> = sqlx::query(
        "SELECT body FROM tool_policies WHERE agent = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(agent)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    if !matches!(current, Some(Some(_))) {
        return Ok(Outcome::ToolPolicyDeleted { version: None });
    }
    let version = next_version(conn, agent).await?;
    sqlx::query(
        "INSERT INTO tool_policies (agent, version, body, created_at) VALUES ($1, $2, NULL, $3)",
    )
    .bind(agent)
    .bind(version)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    let audit = audit_base("tool_policy", by, agent, "tool_policy_deleted", format!("tool policy of {agent} deleted (version {version}): every call is refused until a new one is set"));
    let mut audit = audit;
    audit.insert("version".into(), version.into());
    crate::writer::insert_audit(conn, &audit).await?;
    Ok(Outcome::ToolPolicyDeleted {
        version: Some(version),
    })
}

pub(crate) async fn insert_approval(
    conn: &mut AnyConnection,
    a: &ApprovalRow,
) -> std::result::Result<(), StoreError> {
    insert_approvals(conn, &[a]).await
}

/// Inserts new approvals with one statement.
pub(crate) async fn insert_approvals(
    conn: &mut AnyConnection,
    rows: &[&ApprovalRow],
) -> std::result::Result<(), StoreError> {
    let mut sql = String::from(
        "INSERT INTO approvals (id, agent, tool, args_hash, body, status, created_at, expires_at) VALUES ",
    );
    for n in 0..rows.len() {
        if n > 0 {
            sql.push_str(", ");
        }
        let b = n * 8;
        let params: Vec<String> = (1..=8).map(|k| format!("${}", b + k)).collect();
        sql.push('(');
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    let mut query = sqlx::query(&sql);
    for a in rows {
        query = query
            .bind(a.id.as_str())
            .bind(a.agent.as_str())
            .bind(a.tool.as_str())
            .bind(a.args_hash.as_str())
            .bind(a.body.as_str())
            .bind(a.status.as_str())
            .bind(a.created_at)
            .bind(a.expires_at);
    }
    query.execute(conn).await?;
    Ok(())
}

const APPROVAL_COLUMNS: &str = "id, agent, tool, args_hash, body, status, created_at, expires_at, decided_by, decided_at, note, used_at";

fn approval_from_row(r: &sqlx::any::AnyRow) -> std::result::Result<ApprovalRow, StoreError> {
    Ok(ApprovalRow {
        id: r.try_get(0)?,
        agent: r.try_get(1)?,
        tool: r.try_get(2)?,
        args_hash: r.try_get(3)?,
        body: r.try_get(4)?,
        status: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        decided_by: r.try_get(8)?,
        decided_at: r.try_get(9)?,
        note: r.try_get(10)?,
        used_at: r.try_get(11)?,
    })
}

async fn approval_for_update(
    conn: &mut AnyConnection,
    id: &str,
) -> std::result::Result<Option<ApprovalRow>, StoreError> {
    // SQLite serialises writers; PostgreSQL locks the row for the decision.
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| approval_from_row(&r))
    .transpose()
}

pub(crate) async fn decide_approval(
    conn: &mut AnyConnection,
    id: &str,
    grant: bool,
    by: &str,
    note: Option<&str>,
) -> std::result::Result<Outcome, StoreError> {
    let Some(mut row) = approval_for_update(conn, id).await? else {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::NotFound)));
    };
    let at = now();
    if row.status != "pending" {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::Decided(row.status))));
    }
    if at > row.expires_at {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::Expired)));
    }
    let status = if grant { "granted" } else { "denied" };
    sqlx::query("UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, note = $4 WHERE id = $5")
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(note.map(str::to_string))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    row.status = status.into();
    row.decided_by = Some(by.into());
    row.decided_at = Some(at);
    row.note = note.map(str::to_string);
    let mut audit = audit_base(
        "approval",
        by,
        &row.agent,
        if grant {
            "approval_granted"
        } else {
            "approval_denied"
        },
        format!(
            "{by} {} {}'s call of {} ({})",
            if grant { "granted" } else { "denied" },
            row.agent,
            row.tool,
            row.id
        ),
    );
    audit.insert("tool".into(), row.tool.clone().into());
    audit.insert("approval_id".into(), row.id.clone().into());
    if let Some(n) = note {
        audit.insert("note".into(), n.into());
    }
    crate::writer::insert_audit(conn, &audit).await?;
    Ok(Outcome::Approval(Ok(Box::new(row))))
}

pub(crate) async fn use_approval(
    conn: &mut AnyConnection,
    id: &str,
    agent: &str,
    tool: &str,
    args_hash: &str,
) -> std::result::Result<Outcome, StoreError> {
    let Some(mut row) = approval_for_update(conn, id).await? else {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::NotFound)));
    };
    if row.agent != agent {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::OtherAgent)));
    }
    if row.tool != tool || row.args_hash != args_hash {
        return Ok(Outcome::Approval(Err(ApprovalRefusal::Mismatch)));
    }
    let at = now();
    match row.status.as_str() {
        "used" => return Ok(Outcome::Approval(Err(ApprovalRefusal::Used))),
        "granted" if at > row.expires_at => {
            return Ok(Outcome::Approval(Err(ApprovalRefusal::Expired)))
        }
        "granted" => {}
        // Pending (maybe expired) or denied: the caller answers from it.
        _ => return Ok(Outcome::Approval(Ok(Box::new(row)))),
    }
    sqlx::query("UPDATE approvals SET status = 'used', used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    row.status = "used".into();
    row.used_at = Some(at);
    Ok(Outcome::Approval(Ok(Box::new(row))))
}

async fn read_approval(
    app: &App,
    id: &str,
) -> std::result::Result<Option<ApprovalRow>, StoreError> {
    let mut conn = app.store.connection().await?;
    sqlx::query(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| approval_from_row(&r))
    .transpose()
}

/// The fields every audit record has.
pub(crate) fn audit_base(
    kind: &str,
    caller: &str,
    agent: &str,
    decision: &str,
    message: String,
) -> Map<String, Value> {
    let mut audit = Map::new();
    audit.insert("audit_id".into(), new_id("aud").into());
    audit.insert("timestamp".into(), now().into());
    audit.insert("kind".into(), kind.into());
    audit.insert("caller".into(), caller.into());
    audit.insert("agent".into(), agent.into());
    audit.insert("decision".into(), decision.into());
    audit.insert("message".into(), message.into());
    audit
}

// ------------------------------------------------------------------- HTTP

fn tool_policy(app: &App, agent: &str) -> Option<(i64, Arc<Policy>)> {
    app.shared.tools.read().ok()?.get(agent).cloned()
}

/// `PUT/GET/DELETE /v1/agents/{id}/policies/tools`.
pub async fn policy_route(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = holder(&app, &headers)?;
    require_admin(&who.role, "manage tool policies")?;
    let agent = path_agent(&uri)?;
    let q = query(&uri);
    if method == Method::GET {
        return get_policy(&app, &agent, &q).await;
    }
    if method == Method::DELETE {
        return match app
            .writer
            .write(Op::DeleteToolPolicy {
                agent: agent.clone(),
                by: who.name.clone(),
            })
            .await?
        {
            Outcome::ToolPolicyDeleted { version } => Ok(json_response(
                StatusCode::OK,
                &json!({"ok": true, "agent": agent, "deleted": version.is_some(), "version": version}),
            )),
            other => Err(unexpected(&other)),
        };
    }
    // PUT
    let map = read_json(&headers, body).await?;
    let value = Value::Object(map);
    let policy = Policy::from_value(&value).map_err(|e| invalid_policy(&e))?;
    let create = flag(&q, "create")?;
    let dry_run = flag(&q, "dry_run")?;
    let register = check_known(&app, &agent, create)?;
    let current = tool_policy(&app, &agent);
    if dry_run {
        let lint = agentguard::analysis::lint(&policy);
        let diff = current
            .as_ref()
            .map(|(_, old)| agentguard::analysis::diff(old, &policy));
        return Ok(json_response(
            StatusCode::OK,
            &json!({
                "ok": true,
                "dry_run": true,
                "agent": agent,
                "current_version": current.as_ref().map(|(v, _)| *v),
                "lint": lint,
                "diff": diff,
            }),
        ));
    }
    let mut audit = audit_base(
        "tool_policy",
        &who.name,
        &agent,
        "tool_policy_set",
        format!("tool policy of {agent} set"),
    );
    audit.insert(
        "previous_version".into(),
        current.as_ref().map(|(v, _)| *v).into(),
    );
    match app
        .writer
        .write(Op::SetToolPolicy {
            agent: agent.clone(),
            body: value.to_string(),
            policy: Arc::new(policy),
            create: register,
            audit,
        })
        .await?
    {
        Outcome::ToolPolicySet { version } => Ok(json_response(
            StatusCode::OK,
            &json!({"ok": true, "agent": agent, "version": version, "policy": value}),
        )),
        other => Err(unexpected(&other)),
    }
}

async fn get_policy(
    app: &App,
    agent: &str,
    q: &std::collections::BTreeMap<String, String>,
) -> Result<Response> {
    let version = match q.get("version") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 && raw.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(bad(format!(
                    "version must be an integer from 1, got {}",
                    json!(raw)
                )))
            }
        },
    };
    let mut conn = app.store.connection().await?;
    let row = match version {
        Some(v) => sqlx::query("SELECT version, body, created_at FROM tool_policies WHERE agent = $1 AND version = $2")
            .bind(agent)
            .bind(v)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from)?,
        None => sqlx::query("SELECT version, body, created_at FROM tool_policies WHERE agent = $1 ORDER BY version DESC LIMIT 1")
            .bind(agent)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from)?,
    };
    let versions: Vec<i64> =
        sqlx::query("SELECT version FROM tool_policies WHERE agent = $1 ORDER BY version")
            .bind(agent)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from)?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<_, _>>()
            .map_err(StoreError::from)?;
    let Some(row) = row else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_tool_policy",
            match version {
                Some(v) => format!(
                    "agent {} has no tool policy version {v} (versions: {versions:?})",
                    json!(agent)
                ),
                None => format!(
                    "agent {} has no tool policy; every tool call it asks about is refused",
                    json!(agent)
                ),
            },
        ));
    };
    let v: i64 = row.try_get(0).map_err(StoreError::from)?;
    let body: Option<String> = row.try_get(1).map_err(StoreError::from)?;
    let created_at: f64 = row.try_get(2).map_err(StoreError::from)?;
    let policy = match body {
        Some(b) => serde_json::from_str::<Value>(&b).map_err(|e| StoreError::new(e.to_string()))?,
        None => Value::Null,
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "ok": true,
            "agent": agent,
            "version": v,
            "deleted": policy.is_null(),
            "created_at": created_at,
            "policy": policy,
            "versions": versions,
        }),
    ))
}

fn object_field(body: &mut Map<String, Value>, key: &str) -> Result<Map<String, Value>> {
    match body.remove(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(bad(format!(
            "{key}: expected an object, got {}",
            describe(&other)
        ))
        .with("field", key)),
    }
}

/// One tool call as an agent sends it: `{tool, args, context}` and, where
/// `keys` names it, `approval_id`.
struct Call {
    tool: String,
    args: Map<String, Value>,
    context: Map<String, Value>,
    approval_id: Option<String>,
}

/// Reads a call from `body`; `what` names the request in messages and
/// `keys` are the keys it knows.
fn parse_call(mut body: Map<String, Value>, what: &str, keys: &[&str]) -> Result<Call> {
    if let Some(k) = body.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown key {} in {what} (known keys: {})",
            json!(k),
            keys.join(", ")
        ))
        .with("field", k.clone()));
    }
    let tool = match body.remove("tool") {
        Some(Value::String(t)) => t,
        other => {
            return Err(bad(format!(
                "tool: expected a string, got {}",
                other.map_or_else(|| "nothing (it is required)".to_string(), |v| describe(&v))
            ))
            .with("field", "tool"))
        }
    };
    agentguard::check_name(&tool)
        .map_err(|e| bad(format!("tool: {}", e.message())).with("field", "tool"))?;
    let args = object_field(&mut body, "args")?;
    let context = object_field(&mut body, "context")?;
    let approval_id = optional_string(&mut body, "approval_id", usize::MAX)?;
    Ok(Call {
        tool,
        args,
        context,
        approval_id,
    })
}

/// The string at `key` (absent or null: `None`), of at most `max` characters.
fn optional_string(body: &mut Map<String, Value>, key: &str, max: usize) -> Result<Option<String>> {
    match body.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
        Some(other) => Err(bad(if max == usize::MAX {
            format!("{key}: expected a string, got {}", describe(&other))
        } else {
            format!(
                "{key}: expected a string of at most {max} characters, got {}",
                describe(&other)
            )
        })
        .with("field", key)),
    }
}

/// The agent's tool policy in force, or the 404 that says it has none.
fn policy_of(app: &App, agent: &str) -> Result<(i64, Arc<Policy>)> {
    tool_policy(app, agent).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_tool_policy",
            format!(
                "agent {} has no tool policy, so no tool call of it is allowed; an admin sets one with PUT /v1/agents/{agent}/policies/tools",
                json!(agent)
            ),
        )
    })
}

/// The calling agent (an agent key) and the call it sends.
async fn agent_call(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    what: &str,
    keys: &[&str],
) -> Result<(String, Call)> {
    let who = holder(app, headers)?;
    let agent = agent_of(
        &who.role,
        "only agent keys ask for tool decisions (the key's agent is the caller)",
    )?
    .to_string();
    let call = parse_call(read_json(headers, body).await?, what, keys)?;
    Ok((agent, call))
}

/// `POST /v1/tools/evaluate`: the decision of a call under the agent's
/// tool policy, pure: nothing is audited and no approval is asked (the
/// core's `evaluate`). For an agent (or a client library) that needs to
/// know before it acts, as a framework's `needsApproval` does.
pub async fn evaluate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let (agent, call) = agent_call(
        &app,
        &headers,
        body,
        "a tool evaluation",
        &["tool", "args", "context"],
    )
    .await?;
    let (_, policy) = policy_of(&app, &agent)?;
    let result = policy.result(&call.tool, policy.evaluate_call(&call.tool, &call.args));
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(&result).unwrap_or(Value::Null),
    ))
}

/// `POST /v1/tools/check`.
pub async fn check(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let (
        agent,
        Call {
            tool,
            args,
            context,
            approval_id,
        },
    ) = agent_call(
        &app,
        &headers,
        body,
        "a tool check",
        &["tool", "args", "context", "approval_id"],
    )
    .await?;
    let (version, policy) = policy_of(&app, &agent)?;
    let verdict = policy.evaluate_call(&tool, &args);
    let hash = args_hash(&args);
    let at = now();
    let mut audit = audit_base("tool", &agent, &agent, "", String::new());
    audit.insert("tool".into(), tool.clone().into());
    audit.insert("args_hash".into(), hash.clone().into());
    audit.insert("policy_version".into(), version.into());
    if !context.is_empty() {
        audit.insert("context".into(), Value::Object(context.clone()));
    }
    let finish = |audit: &mut Map<String, Value>, result: &agentguard::PolicyResult| {
        audit.insert("decision".into(), result.decision.as_str().into());
        audit.insert("message".into(), result.reason.to_string().into());
        audit.insert(
            "matched_rule".into(),
            result.matched_rule.as_deref().map(str::to_string).into(),
        );
        audit.insert(
            "rule".into(),
            serde_json::to_value(&result.rule).unwrap_or(Value::Null),
        );
        // Fired shadow rules are recorded when there are any (CONDITIONS.md).
        if !result.shadow.is_empty() {
            audit.insert(
                "shadow".into(),
                serde_json::to_value(&result.shadow).unwrap_or(Value::Null),
            );
        }
    };
    let result_json =
        |result: &agentguard::PolicyResult| serde_json::to_value(result).unwrap_or(Value::Null);

    if verdict.decision != Decision::RequireApproval {
        // An approval answers only a call that needs one: any other
        // decision stands as the policy makes it.
        let result = policy.result(&tool, verdict);
        finish(&mut audit, &result);
        let event = deny_event(&result, &agent, &audit);
        app.writer.write(Op::Record { audit, event }).await?;
        return Ok(json_response(StatusCode::OK, &result_json(&result)));
    }

    if let Some(id) = approval_id {
        let outcome = app
            .writer
            .write(Op::UseApproval {
                id: id.clone(),
                agent: agent.clone(),
                tool: tool.clone(),
                args_hash: hash.clone(),
            })
            .await?;
        let row = match outcome {
            Outcome::Approval(Ok(row)) => row,
            Outcome::Approval(Err(refusal)) => return Err(refused(&id, &refusal)),
            other => return Err(unexpected(&other)),
        };
        audit.insert("approval_id".into(), id.clone().into());
        let approval = json!({"id": row.id, "status": row.view(at)["status"], "expires_at": row.expires_at, "decided_by": row.decided_by});
        let settled = match row.status.as_str() {
            "used" => Some(true),
            "denied" => Some(false),
            _ => None,
        };
        if let Some(granted) = settled {
            let result = policy.result(&tool, policy.resolve_verdict(verdict, granted));
            finish(&mut audit, &result);
            audit.insert("decided_by".into(), row.decided_by.clone().into());
            let event = deny_event(&result, &agent, &audit);
            app.writer.write(Op::Record { audit, event }).await?;
            let mut out = result_json(&result);
            out["approval"] = approval;
            return Ok(json_response(StatusCode::OK, &out));
        }
        // Still pending (or expired before anyone answered).
        let result = policy.result(&tool, verdict);
        let mut out = result_json(&result);
        out["approval"] = approval;
        return Ok(json_response(StatusCode::OK, &out));
    }

    let result = policy.result(&tool, verdict);
    finish(&mut audit, &result);
    let id = new_id("apr");
    audit.insert("approval_id".into(), id.clone().into());
    let row = ApprovalRow::pending(
        id.clone(),
        agent.clone(),
        tool.clone(),
        hash,
        &json!({"args": args, "context": context, "result": result_json(&result)}),
        at,
        app.limits.approval_seconds,
    );
    let expires_at = row.expires_at;
    app.writer
        .write(Op::CreateApproval {
            row: Box::new(row),
            audit,
        })
        .await?;
    let mut out = result_json(&result);
    out["approval"] = json!({"id": id, "status": "pending", "expires_at": expires_at});
    Ok(json_response(StatusCode::OK, &out))
}

/// The `decision.deny` event of a denied call: the result, the agent, the
/// audit record's id and the approval, if one was asked.
fn deny_event(
    result: &agentguard::PolicyResult,
    agent: &str,
    audit: &Map<String, Value>,
) -> Option<Value> {
    (result.decision == Decision::Deny).then(|| {
        crate::webhook::event(
            "decision.deny",
            json!({
                "agent": agent,
                "result": serde_json::to_value(result).unwrap_or(Value::Null),
                "audit_id": audit.get("audit_id"),
                "approval_id": audit.get("approval_id"),
            }),
        )
    })
}

fn refused(id: &str, r: &ApprovalRefusal) -> ApiError {
    let id_json = json!(id);
    match r {
        ApprovalRefusal::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_approval",
            format!("no approval {id_json}"),
        ),
        ApprovalRefusal::Decided(status) => ApiError::new(
            StatusCode::CONFLICT,
            "approval_decided",
            format!("approval {id_json} is already {status}; it can be decided once"),
        )
        .with("status", status.clone()),
        ApprovalRefusal::Expired => ApiError::new(
            StatusCode::CONFLICT,
            "approval_expired",
            format!("approval {id_json} has expired; ask again for a new one"),
        ),
        ApprovalRefusal::OtherAgent => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("approval {id_json} belongs to another agent"),
        ),
        ApprovalRefusal::Mismatch => ApiError::new(
            StatusCode::CONFLICT,
            "approval_mismatch",
            format!("approval {id_json} was given for another tool or other arguments; this call needs its own approval"),
        ),
        ApprovalRefusal::Used => ApiError::new(
            StatusCode::CONFLICT,
            "approval_used",
            format!("approval {id_json} was already used for its one call; ask again for a new one"),
        ),
    }
}

fn require_approver(who: &Holder, what: &str) -> Result<()> {
    match &who.role {
        Role::Admin | Role::Approver => Ok(()),
        Role::Agent(a) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only approver and admin keys can {what}; this key belongs to agent {}",
                json!(a)
            ),
        )),
    }
}

/// `GET /v1/approvals?status=pending&limit=N`.
pub async fn list_approvals(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response> {
    let who = holder(&app, &headers)?;
    require_approver(who, "list approvals")?;
    let q = query(&uri);
    let limit = query_limit(&q, 100, 1000)?;
    let status = q.get("status").map(String::as_str).unwrap_or("pending");
    let at = now();
    let (sql, binds): (&str, Vec<String>) = match status {
        "pending" => ("status = 'pending' AND expires_at >= $1", vec![]),
        "expired" => (
            "status IN ('pending', 'granted') AND expires_at < $1",
            vec![],
        ),
        "granted" => ("status = 'granted' AND expires_at >= $1", vec![]),
        "denied" | "used" => ("status = $2 AND $1 = $1", vec![status.to_string()]),
        "all" => ("$1 = $1", vec![]),
        other => {
            return Err(bad(format!(
                "status must be pending, granted, denied, used, expired or all, got {}",
                json!(other)
            )))
        }
    };
    let mut conn = app.store.connection().await?;
    let text = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE {sql} ORDER BY created_at DESC LIMIT {limit}");
    let mut query = sqlx::query(&text).bind(at);
    for b in &binds {
        query = query.bind(b.as_str());
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    let list = rows
        .iter()
        .map(|r| approval_from_row(r).map(|a| a.view(at)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "approvals": list}),
    ))
}

/// The approval id in `/v1/approvals/{id}[/...]`, percent-decoded (an id
/// that does not decode is no approval's).
fn path_id(uri: &Uri) -> String {
    let raw = uri
        .path()
        .strip_prefix("/v1/approvals/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| raw.to_string())
}

/// `GET /v1/approvals/{id}[?wait=SECONDS]`: the asking agent, an approver
/// or an admin; with `wait`, answers when the approval is decided (or the
/// time is up).
pub async fn get_approval(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response> {
    let who = holder(&app, &headers)?;
    let id = path_id(&uri);
    let q = query(&uri);
    let wait = match q.get("wait") {
        None => 0,
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if n <= MAX_WAIT_SECONDS && raw.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(bad(format!(
                    "wait must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}, got {}",
                    json!(raw)
                )))
            }
        },
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut changes = app.shared.approvals.subscribe();
    loop {
        changes.mark_unchanged();
        let Some(row) = read_approval(&app, &id).await? else {
            return Err(refused(&id, &ApprovalRefusal::NotFound));
        };
        if let Role::Agent(a) = &who.role {
            if *a != row.agent {
                return Err(refused(&id, &ApprovalRefusal::OtherAgent));
            }
        }
        let at = now();
        let view = row.view(at);
        let open = view["status"] == "pending";
        if !open || tokio::time::Instant::now() >= deadline {
            return Ok(json_response(
                StatusCode::OK,
                &json!({"ok": true, "approval": view}),
            ));
        }
        // Until a decision here or on another instance, the deadline, or
        // the approval's expiry; a second at most between looks.
        let expiry = Duration::from_secs_f64((row.expires_at - at).max(0.0) + 0.01);
        let nap = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(expiry)
            .min(Duration::from_secs(1));
        let _ = tokio::time::timeout(nap, changes.changed()).await;
    }
}

async fn decide(
    app: Arc<App>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    grant: bool,
) -> Result<Response> {
    let who = holder(&app, &headers)?;
    require_approver(
        who,
        if grant {
            "grant approvals"
        } else {
            "deny approvals"
        },
    )?;
    let id = path_id(&uri);
    let empty = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    let note = if empty {
        None
    } else {
        let mut map = match read_json(&headers, body).await {
            Ok(m) => m,
            Err(e) if e.is_empty_body() => Map::new(),
            Err(e) => return Err(e),
        };
        if let Some(k) = map.keys().find(|k| *k != "note") {
            return Err(bad(format!("unknown key {} (known keys: note)", json!(k)))
                .with("field", k.clone()));
        }
        match map.remove("note") {
            None | Some(Value::Null) => None,
            Some(Value::String(n)) if n.chars().count() <= 1000 => Some(n),
            Some(other) => {
                return Err(bad(format!(
                    "note: expected a string of at most 1000 characters, got {}",
                    describe(&other)
                ))
                .with("field", "note"))
            }
        }
    };
    match app
        .writer
        .write(Op::DecideApproval {
            id: id.clone(),
            grant,
            by: who.name.clone(),
            note,
        })
        .await?
    {
        Outcome::Approval(Ok(row)) => Ok(json_response(
            StatusCode::OK,
            &json!({"ok": true, "approval": row.view(now())}),
        )),
        Outcome::Approval(Err(r)) => Err(refused(&id, &r)),
        other => Err(unexpected(&other)),
    }
}

/// `POST /v1/approvals/{id}/grant`, body `{"note"?}`.
pub async fn grant(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    decide(app, uri, headers, body, true).await
}

/// `POST /v1/approvals/{id}/deny`, body `{"note"?}`.
pub async fn deny(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    decide(app, uri, headers, body, false).await
}

/// `POST /v1/approvals` (agent): a call that a policy outside the gateway
/// (an `agentguard mcp --approvals` proxy's) holds for a person's approval:
/// `{tool, args, context, reason, matched_rule}`. The approval is the
/// gateway's, bound to the key's agent, the tool and the arguments' hash,
/// decided on the dashboard, the CLI or the API like any other, and spent
/// with `POST /v1/approvals/{id}/use`. The reason and rule are what the
/// asking policy said; the record says the agent asked (`"asked_by":
/// "agent"`), so a person reads them as the agent's words.
pub async fn ask(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Response> {
    let who = holder(&app, &headers)?;
    let agent = agent_of(
        &who.role,
        "only agent keys ask for approvals of their own calls",
    )?
    .to_string();
    let mut body = read_json(&headers, body).await?;
    let reason = optional_string(&mut body, "reason", 1000)?;
    let matched_rule = optional_string(&mut body, "matched_rule", 1000)?;
    let call = parse_call(
        body,
        "an approval request",
        &["tool", "args", "context", "reason", "matched_rule"],
    )?;
    let reason = reason.unwrap_or_else(|| "approval required by the agent's policy".into());
    let at = now();
    let id = new_id("apr");
    let result = json!({
        "tool": call.tool,
        "decision": "require_approval",
        "reason": reason,
        "matched_rule": matched_rule,
        "asked_by": "agent",
    });
    let mut audit = audit_base("tool", &agent, &agent, "require_approval", reason.clone());
    audit.insert("tool".into(), call.tool.clone().into());
    audit.insert("args_hash".into(), args_hash(&call.args).into());
    audit.insert("matched_rule".into(), matched_rule.clone().into());
    audit.insert("asked_by".into(), "agent".into());
    audit.insert("approval_id".into(), id.clone().into());
    if !call.context.is_empty() {
        audit.insert("context".into(), Value::Object(call.context.clone()));
    }
    let row = ApprovalRow::pending(
        id.clone(),
        agent,
        call.tool.clone(),
        args_hash(&call.args),
        &json!({"args": call.args, "context": call.context, "result": result}),
        at,
        app.limits.approval_seconds,
    );
    let view = row.view(at);
    app.writer
        .write(Op::CreateApproval {
            row: Box::new(row),
            audit,
        })
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"ok": true, "approval": view}),
    ))
}

/// Spends approval `id` of `agent` on its call of `tool` with arguments of
/// `args_hash`: a granted one becomes `used`, and its use is audited (who
/// granted it included); a pending or denied one comes back as it is, to be
/// answered from; another call's, a spent or an expired one is refused.
/// For `POST /v1/approvals/{id}/use` and MCP over HTTP.
pub(crate) async fn spend_approval(
    app: &App,
    agent: &str,
    id: &str,
    tool: &str,
    args_hash: &str,
) -> Result<std::result::Result<Box<ApprovalRow>, ApprovalRefusal>> {
    let row = match app
        .writer
        .write(Op::UseApproval {
            id: id.to_string(),
            agent: agent.to_string(),
            tool: tool.to_string(),
            args_hash: args_hash.to_string(),
        })
        .await?
    {
        Outcome::Approval(Ok(row)) => row,
        Outcome::Approval(Err(r)) => return Ok(Err(r)),
        other => return Err(unexpected(&other)),
    };
    if row.status == "used" {
        let mut audit = audit_base(
            "approval",
            agent,
            agent,
            "approval_used",
            format!(
                "{agent} used approval {} for its call of {}",
                row.id, row.tool
            ),
        );
        audit.insert("tool".into(), row.tool.clone().into());
        audit.insert("args_hash".into(), args_hash.into());
        audit.insert("approval_id".into(), row.id.clone().into());
        audit.insert("decided_by".into(), row.decided_by.clone().into());
        app.writer.write(Op::Record { audit, event: None }).await?;
    }
    Ok(Ok(row))
}

/// `POST /v1/approvals/{id}/use` (the asking agent): `{tool, args}` of the
/// call about to run. A granted approval for exactly that call is spent
/// (`status: "used"`: run it, once); a pending or denied one is answered
/// as it is (do not run it); another call's, a spent or an expired one is
/// refused (409), another agent's is 403.
pub async fn use_approval_route(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = holder(&app, &headers)?;
    let agent = agent_of(&who.role, "only the asking agent's key spends its approval")?.to_string();
    let id = path_id(&uri);
    let call = parse_call(
        read_json(&headers, body).await?,
        "an approval's use",
        &["tool", "args"],
    )?;
    let row = spend_approval(&app, &agent, &id, &call.tool, &args_hash(&call.args))
        .await?
        .map_err(|r| refused(&id, &r))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "approval": row.view(now())}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_hash_ignores_key_order_only() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, {"p": 3, "q": 2}]}, "b": 1});
        let c = json!({"a": {"x": "s", "y": [{"p": 3, "q": 2}, 1]}, "b": 1});
        let h = |v: &Value| args_hash(v.as_object().unwrap());
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&c), "array order matters");
        assert_ne!(h(&a), h(&json!({"b": 1.5, "a": {}})));
        assert_eq!(h(&a).len(), 64);
    }
}
