//! Group commit: one task per process takes the write requests of every
//! handler, runs as many as are waiting in one transaction (one fsync),
//! then answers each. A state change and its audit record are always in the
//! same transaction; the in-memory policies change only after the commit,
//! in the order of the transaction, so memory never holds what the
//! database does not.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use agentguard::{ActionPolicies, ActionPolicy, Direction, Policy};
use serde_json::{Map, Value};
use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::store::{
    load_from, policy_from_row, Backend, Cause, Loaded, Store, StoreError, APPROVAL_CHANNEL,
    POLICY_CHANNEL,
};
use crate::util::{new_id, now};

/// The most requests committed in one transaction.
pub const MAX_BATCH: usize = 256;

/// The policies a gateway decides with, and the agents created without a
/// key; replaced from the database when another instance changes them.
#[derive(Debug)]
pub struct Shared {
    /// Every agent's action policies.
    pub policies: RwLock<ActionPolicies>,
    /// Agents created through `?create=true`.
    pub created: RwLock<BTreeSet<String>>,
    /// Every agent's tool policy in force, with its version.
    pub tools: RwLock<HashMap<String, (i64, Arc<Policy>)>>,
    /// Bumped whenever an approval is decided (here, or on another instance
    /// of the same database): long-polls wake and look again.
    pub approvals: tokio::sync::watch::Sender<u64>,
    /// Wakes the webhook task after a commit that wrote events.
    pub webhook_wake: Arc<tokio::sync::Notify>,
}

impl Shared {
    /// The state as loaded at start.
    pub fn new(loaded: Loaded) -> Shared {
        Shared {
            policies: RwLock::new(loaded.policies),
            created: RwLock::new(loaded.created),
            tools: RwLock::new(loaded.tools),
            approvals: tokio::sync::watch::Sender::new(0),
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn install(&self, loaded: Loaded) {
        if let Ok(mut p) = self.policies.write() {
            *p = loaded.policies;
        }
        if let Ok(mut c) = self.created.write() {
            *c = loaded.created;
        }
        if let Ok(mut t) = self.tools.write() {
            *t = loaded.tools;
        }
    }

    /// Wakes everyone waiting on an approval.
    pub fn approval_changed(&self) {
        self.approvals.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// One write.
#[derive(Debug)]
pub enum Op {
    /// A new intent into `to`'s inbox, with its `delivered` audit record;
    /// refused (nothing written) when the inbox is full.
    Deliver {
        intent_id: String,
        to: String,
        body: String,
        audit: Map<String, Value>,
        max_intents: i64,
        max_bytes: i64,
    },
    /// An audit record alone (a blocked intent, a tool decision), and the
    /// webhook event it raises, if any.
    Record {
        audit: Map<String, Value>,
        event: Option<Value>,
    },
    /// Sets a policy (and, with `create`, registers the agent).
    SetPolicy {
        agent: String,
        policy: ActionPolicy,
        create: bool,
        audit: Map<String, Value>,
    },
    /// Removes a policy; audited only when there was one.
    DeletePolicy { agent: String, direction: Direction },
    /// Hands out up to `limit` intents (at most `max_bytes` of them, at
    /// least one) under a lease that ends at `until`.
    Lease {
        agent: String,
        limit: i64,
        max_bytes: i64,
        until: f64,
    },
    /// Removes acknowledged intents from `agent`'s inbox.
    Ack { agent: String, ids: Vec<String> },
    /// Reads every policy again (another instance changed them). Through
    /// the writer, so that a reload is ordered with this instance's own
    /// commits and can never put back an older policy over a newer one.
    Reload,
    /// Stores a new version of `agent`'s tool policy (`body`, the JSON it
    /// was read from) and puts it in force.
    SetToolPolicy {
        agent: String,
        body: String,
        policy: Arc<Policy>,
        create: bool,
        audit: Map<String, Value>,
    },
    /// Ends `agent`'s tool policy (a version without a body).
    DeleteToolPolicy { agent: String, by: String },
    /// A pending approval, with the audit record of the decision that asked.
    CreateApproval {
        row: Box<ApprovalRow>,
        audit: Map<String, Value>,
    },
    /// A person's answer to a pending approval.
    DecideApproval {
        id: String,
        grant: bool,
        by: String,
        note: Option<String>,
    },
    /// Spends a granted approval on the call it was granted for (or reads
    /// a denied one), with the audit record of the call's decision, which
    /// [`crate::tools`] completes from the approval.
    UseApproval {
        id: String,
        agent: String,
        tool: String,
        args_hash: String,
    },
    /// Claims up to `limit` webhook deliveries that are due.
    ClaimOutbox { limit: i64 },
    /// Records how a webhook delivery attempt went.
    SettleOutbox {
        due: crate::webhook::Due,
        outcome: std::result::Result<(), String>,
    },
}

pub use crate::tools::{ApprovalRefusal, ApprovalRow};

/// What a write did.
#[derive(Debug)]
pub enum Outcome {
    /// Stored; the receiver can take it.
    Delivered,
    /// Nothing stored: the inbox holds `intents` intents of `bytes` bytes.
    InboxFull { intents: i64, bytes: i64 },
    /// The audit record is stored.
    Recorded,
    /// The policy is stored.
    PolicySet,
    /// The removed policy, if there was one.
    PolicyDeleted(Option<ActionPolicy>),
    /// Intents (their JSON) handed out, and how many are left to take.
    Leased {
        intents: Vec<String>,
        remaining: i64,
    },
    /// Which ids were removed and which were not in the inbox.
    Acked {
        acked: Vec<String>,
        unknown: Vec<String>,
    },
    /// The policies and created agents as the database holds them.
    Reloaded(Box<Loaded>),
    /// A tool policy's new version (stored, in force).
    ToolPolicySet { version: i64 },
    /// The version a deletion wrote, if there was a policy to delete.
    ToolPolicyDeleted { version: Option<i64> },
    /// An approval after a grant, a refusal or a use; or why not.
    Approval(std::result::Result<Box<ApprovalRow>, ApprovalRefusal>),
    /// Webhook deliveries to attempt now.
    Claimed(Vec<crate::webhook::Due>),
}

type Reply = oneshot::Sender<Result<Outcome, StoreError>>;

/// The handle handlers write through.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<(Op, Reply)>,
}

impl Writer {
    /// Starts the writer task.
    pub fn start(store: Store, shared: Arc<Shared>) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let task = tokio::spawn(run(store, shared, rx));
        (Writer { tx }, task)
    }

    /// Runs one write; resolves once it is committed (or refused).
    pub async fn write(&self, op: Op) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((op, reply))
            .await
            .map_err(|_| StoreError::new("the gateway is stopping"))?;
        answer
            .await
            .map_err(|_| StoreError::new("the write was dropped"))?
    }
}

async fn run(store: Store, shared: Arc<Shared>, mut rx: mpsc::Receiver<(Op, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<Reply>) = batch.into_iter().unzip();
        match commit(&store, &ops).await {
            Ok(outcomes) => {
                apply(&shared, &ops, &outcomes);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if ops.len() == 1 || e.1 == Cause::Connection => {
                // No connection: every write of the batch would wait and
                // fail the same way; all are refused at once.
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(_) => {
                // One bad write must not fail the others: each on its own.
                for (op, reply) in ops.into_iter().zip(replies) {
                    let ops = [op];
                    let result = commit(&store, &ops).await.map(|mut o| {
                        apply(&shared, &ops, &o);
                        o.remove(0)
                    });
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// The committed policy changes, into memory, in transaction order; and a
/// nudge to the webhook task when events were written.
fn apply(shared: &Shared, ops: &[Op], outcomes: &[Outcome]) {
    if ops.iter().any(|op| {
        matches!(
            op,
            Op::Record { event: Some(_), .. }
                | Op::CreateApproval { .. }
                | Op::DecideApproval { .. }
        )
    }) {
        shared.webhook_wake.notify_one();
    }
    for (op, outcome) in ops.iter().zip(outcomes) {
        match (op, outcome) {
            (
                Op::SetPolicy {
                    agent,
                    policy,
                    create,
                    ..
                },
                Outcome::PolicySet,
            ) => {
                if let Ok(mut p) = shared.policies.write() {
                    // Validated before it was written: cannot fail.
                    let _ = p.set(agent, policy.clone());
                }
                if *create {
                    if let Ok(mut c) = shared.created.write() {
                        c.insert(agent.clone());
                    }
                }
            }
            (Op::DeletePolicy { agent, direction }, Outcome::PolicyDeleted(Some(_))) => {
                if let Ok(mut p) = shared.policies.write() {
                    let _ = p.delete(agent, *direction);
                }
            }
            (Op::Reload, Outcome::Reloaded(state)) => shared.install((**state).clone()),
            (
                Op::SetToolPolicy {
                    agent,
                    policy,
                    create,
                    ..
                },
                Outcome::ToolPolicySet { version },
            ) => {
                if let Ok(mut t) = shared.tools.write() {
                    t.insert(agent.clone(), (*version, policy.clone()));
                }
                if *create {
                    if let Ok(mut c) = shared.created.write() {
                        c.insert(agent.clone());
                    }
                }
            }
            (
                Op::DeleteToolPolicy { agent, .. },
                Outcome::ToolPolicyDeleted { version: Some(_) },
            ) => {
                if let Ok(mut t) = shared.tools.write() {
                    t.remove(agent);
                }
            }
            (Op::DecideApproval { .. }, Outcome::Approval(Ok(_))) => shared.approval_changed(),
            _ => {}
        }
    }
}

async fn commit(store: &Store, ops: &[Op]) -> Result<Vec<Outcome>, StoreError> {
    let mut conn = store.connection().await?;
    let result = commit_on(&mut conn, store.backend, &store.webhooks, ops).await;
    if result.is_err() {
        // A connection whose transaction failed is never used again: SQLite
        // rolls back by itself on some errors (a full disk), and a driver
        // that missed it would nest every later "transaction" in one that
        // never commits, acknowledging writes that are then lost.
        conn.close_on_drop();
    }
    result
}

async fn commit_on(
    conn: &mut AnyConnection,
    backend: Backend,
    webhooks: &[String],
    ops: &[Op],
) -> Result<Vec<Outcome>, StoreError> {
    let mut tx = conn.begin().await?;
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut policy_changed = false;
    let mut i = 0;
    while i < ops.len() {
        // A run of audit records, new approvals and deliveries (most of a
        // busy batch: every tool decision and every intent is one) goes in
        // with a few statements, in order: the inbox quotas of the whole
        // run decided on one read of the counts, multi-row INSERTs for the
        // approvals, the inbox rows and the audit records (one statement
        // per AUDIT_ROWS rows instead of one or three each).
        let run: Vec<&Op> = ops[i..]
            .iter()
            .take_while(|op| {
                matches!(
                    op,
                    Op::Record { .. } | Op::CreateApproval { .. } | Op::Deliver { .. }
                )
            })
            .collect();
        if run.len() > 1 {
            let run_outcomes = deliver_run(&mut tx, backend, &run).await?;
            let approvals: Vec<&ApprovalRow> = run
                .iter()
                .filter_map(|op| match op {
                    Op::CreateApproval { row, .. } => Some(&**row),
                    _ => None,
                })
                .collect();
            for chunk in approvals.chunks(AUDIT_ROWS) {
                crate::tools::insert_approvals(&mut tx, chunk).await?;
            }
            let delivered: Vec<(&str, &str, &str)> = run
                .iter()
                .zip(&run_outcomes)
                .filter_map(|(op, outcome)| match (op, outcome) {
                    (
                        Op::Deliver {
                            intent_id,
                            to,
                            body,
                            ..
                        },
                        Outcome::Delivered,
                    ) => Some((intent_id.as_str(), to.as_str(), body.as_str())),
                    _ => None,
                })
                .collect();
            for chunk in delivered.chunks(AUDIT_ROWS) {
                insert_inbox(&mut tx, chunk).await?;
            }
            // One record per op, in the order of the batch; a refused
            // delivery (a full inbox) writes nothing.
            let audits: Vec<&Map<String, Value>> = run
                .iter()
                .zip(&run_outcomes)
                .filter_map(|(op, outcome)| match (op, outcome) {
                    (Op::Record { audit, .. }, _)
                    | (Op::CreateApproval { audit, .. }, _)
                    | (Op::Deliver { audit, .. }, Outcome::Delivered) => Some(audit),
                    _ => None,
                })
                .collect();
            for chunk in audits.chunks(AUDIT_ROWS) {
                insert_audits(&mut tx, chunk).await?;
            }
            // Their webhook events, in order, in the same transaction (none
            // without a --webhook).
            if !webhooks.is_empty() {
                for op in &run {
                    let event = match op {
                        Op::Record { event, .. } => event.clone(),
                        Op::CreateApproval { row, .. } => {
                            Some(crate::webhook::event("approval.pending", row.view(now())))
                        }
                        _ => None,
                    };
                    if let Some(e) = event {
                        crate::webhook::enqueue(&mut tx, webhooks, &e).await?;
                    }
                }
            }
            outcomes.extend(run_outcomes);
            i += run.len();
            continue;
        }
        let op = &ops[i];
        i += 1;
        let outcome = execute(&mut tx, backend, webhooks, op).await?;
        policy_changed |= matches!(
            outcome,
            Outcome::PolicySet
                | Outcome::PolicyDeleted(Some(_))
                | Outcome::ToolPolicySet { .. }
                | Outcome::ToolPolicyDeleted { version: Some(_) }
        );
        outcomes.push(outcome);
    }
    let approval_decided = ops.iter().zip(&outcomes).any(|(op, o)| {
        matches!(
            (op, o),
            (Op::DecideApproval { .. }, Outcome::Approval(Ok(_)))
        )
    });
    if backend == Backend::Postgres {
        // Delivered to every listening instance when (and only if) this commits.
        for (changed, channel) in [
            (policy_changed, POLICY_CHANNEL),
            (approval_decided, APPROVAL_CHANNEL),
        ] {
            if changed {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(channel)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}

fn field<'a>(audit: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    audit.get(key).and_then(Value::as_str)
}

/// Records an agent created without a key (`?create=true`).
async fn register_agent(conn: &mut AnyConnection, agent: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO agents (agent) VALUES ($1) ON CONFLICT (agent) DO NOTHING")
        .bind(agent)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn insert_audit(
    conn: &mut AnyConnection,
    audit: &Map<String, Value>,
) -> Result<(), StoreError> {
    insert_audits(conn, &[audit]).await
}

/// Audit records per multi-row INSERT (5 parameters each).
const AUDIT_ROWS: usize = 64;

/// Inserts `audits` in order with one statement.
async fn insert_audits(
    conn: &mut AnyConnection,
    audits: &[&Map<String, Value>],
) -> Result<(), StoreError> {
    let mut sql =
        String::from("INSERT INTO audit (caller, agent, to_agent, decision, body) VALUES ");
    for n in 0..audits.len() {
        let b = n * 5;
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
    }
    let mut query = sqlx::query(&sql);
    for audit in audits {
        let body = serde_json::to_string(audit).map_err(|e| StoreError::new(e.to_string()))?;
        query = query
            .bind(field(audit, "caller").map(str::to_string))
            .bind(field(audit, "agent").map(str::to_string))
            .bind(field(audit, "to_agent").map(str::to_string))
            .bind(field(audit, "decision").unwrap_or("").to_string())
            .bind(body);
    }
    query.execute(conn).await?;
    Ok(())
}

/// The outcome of each op of a run: `Recorded` for an audit record or an
/// approval; for a delivery, `Delivered` or `InboxFull`, decided in order
/// exactly as one bounded upsert per delivery would (see the `Deliver` arm
/// of [`execute`]), from one read of the inbox counts of the receivers
/// involved, then one upsert of every count that grew. On PostgreSQL the
/// count rows are created when missing and locked (`FOR UPDATE`, in the
/// order of their agents) first, so instances sharing the database decide
/// each inbox's quota one after the other.
async fn deliver_run(
    conn: &mut AnyConnection,
    backend: Backend,
    run: &[&Op],
) -> Result<Vec<Outcome>, StoreError> {
    // (receiver, size, max_intents, max_bytes) of each delivery.
    let deliveries: Vec<(&str, i64, i64, i64)> = run
        .iter()
        .filter_map(|op| match op {
            Op::Deliver {
                to,
                body,
                max_intents,
                max_bytes,
                ..
            } => Some((to.as_str(), body.len() as i64, *max_intents, *max_bytes)),
            _ => None,
        })
        .collect();
    // (intents, bytes, whether the row exists, intents added, bytes added).
    let mut counts: HashMap<&str, (i64, i64, bool, i64, i64)> = HashMap::new();
    if !deliveries.is_empty() {
        let agents: BTreeSet<&str> = deliveries.iter().map(|d| d.0).collect();
        if backend == Backend::Postgres {
            // Rows for the receivers that may take an intent, so that
            // every count this run reads is locked (a delivery larger than
            // the byte limit is refused whatever the count).
            let candidates: BTreeSet<&str> = deliveries
                .iter()
                .filter(|d| d.1 <= d.3)
                .map(|d| d.0)
                .collect();
            if !candidates.is_empty() {
                let values: Vec<String> = (1..=candidates.len())
                    .map(|n| format!("(${n}, 0, 0)"))
                    .collect();
                let sql = format!(
                    "INSERT INTO inbox_counts (agent, intents, bytes) VALUES {}
                     ON CONFLICT (agent) DO NOTHING",
                    values.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for agent in &candidates {
                    query = query.bind(*agent);
                }
                query.execute(&mut *conn).await?;
            }
        }
        let params: Vec<String> = (1..=agents.len()).map(|n| format!("${n}")).collect();
        let lock = if backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT agent, intents, bytes FROM inbox_counts WHERE agent IN ({}) ORDER BY agent{lock}",
            params.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for agent in &agents {
            query = query.bind(*agent);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let agent: String = row.try_get(0)?;
            if let Some(a) = agents.get(agent.as_str()) {
                counts.insert(a, (row.try_get(1)?, row.try_get(2)?, true, 0, 0));
            }
        }
    }
    let mut outcomes = Vec::with_capacity(run.len());
    let mut next = deliveries.iter();
    for op in run {
        if !matches!(op, Op::Deliver { .. }) {
            outcomes.push(Outcome::Recorded);
            continue;
        }
        let Some(&(to, size, max_intents, max_bytes)) = next.next() else {
            return Err(StoreError::new("a delivery of the batch was lost"));
        };
        let (intents, bytes, exists, added, added_bytes) =
            counts.entry(to).or_insert((0, 0, false, 0, 0));
        // As the upsert: a new row takes any intent within the byte limit;
        // an existing one grows only while it stays within both limits.
        let fits = size <= max_bytes
            && (!*exists || (*intents < max_intents && *bytes + size <= max_bytes));
        if fits {
            *intents += 1;
            *bytes += size;
            *exists = true;
            *added += 1;
            *added_bytes += size;
            outcomes.push(Outcome::Delivered);
        } else {
            outcomes.push(Outcome::InboxFull {
                intents: *intents,
                bytes: *bytes,
            });
        }
    }
    let grown: Vec<(&str, i64, i64)> = {
        let mut g: Vec<(&str, i64, i64)> = counts
            .iter()
            .filter(|(_, c)| c.3 > 0)
            .map(|(a, c)| (*a, c.3, c.4))
            .collect();
        g.sort_unstable();
        g
    };
    if !grown.is_empty() {
        let values: Vec<String> = (0..grown.len())
            .map(|n| format!("(${}, ${}, ${})", 3 * n + 1, 3 * n + 2, 3 * n + 3))
            .collect();
        let sql = format!(
            "INSERT INTO inbox_counts (agent, intents, bytes) VALUES {}
             ON CONFLICT (agent) DO UPDATE SET intents = inbox_counts.intents + excluded.intents,
               bytes = inbox_counts.bytes + excluded.bytes",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (agent, n, b) in &grown {
            query = query.bind(*agent).bind(*n).bind(*b);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(outcomes)
}

/// Puts delivered intents (`intent_id, to, body`) into their inboxes, in
/// order, with one statement.
async fn insert_inbox(
    conn: &mut AnyConnection,
    delivered: &[(&str, &str, &str)],
) -> Result<(), StoreError> {
    let mut sql = String::from("INSERT INTO inbox (intent_id, to_agent, body, bytes) VALUES ");
    for n in 0..delivered.len() {
        let b = n * 4;
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
    }
    let mut query = sqlx::query(&sql);
    for (intent_id, to, body) in delivered {
        query = query
            .bind(*intent_id)
            .bind(*to)
            .bind(*body)
            .bind(body.len() as i64);
    }
    query.execute(conn).await?;
    Ok(())
}

async fn execute(
    conn: &mut AnyConnection,
    backend: Backend,
    webhooks: &[String],
    op: &Op,
) -> Result<Outcome, StoreError> {
    match op {
        Op::Deliver {
            intent_id,
            to,
            body,
            audit,
            max_intents,
            max_bytes,
        } => {
            let size = body.len() as i64;
            // Counted and bounded in one statement: the row of this inbox
            // grows only while it stays within both limits.
            let counted = size <= *max_bytes
                && sqlx::query(
                    "INSERT INTO inbox_counts (agent, intents, bytes) VALUES ($1, 1, $2)
                     ON CONFLICT (agent) DO UPDATE SET intents = inbox_counts.intents + 1,
                       bytes = inbox_counts.bytes + $2
                     WHERE inbox_counts.intents < $3 AND inbox_counts.bytes + $2 <= $4",
                )
                .bind(to.as_str())
                .bind(size)
                .bind(*max_intents)
                .bind(*max_bytes)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
            if !counted {
                let row = sqlx::query("SELECT intents, bytes FROM inbox_counts WHERE agent = $1")
                    .bind(to.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                let (intents, bytes) = match row {
                    Some(r) => (r.try_get(0)?, r.try_get(1)?),
                    None => (0, 0),
                };
                return Ok(Outcome::InboxFull { intents, bytes });
            }
            sqlx::query(
                "INSERT INTO inbox (intent_id, to_agent, body, bytes) VALUES ($1, $2, $3, $4)",
            )
            .bind(intent_id.as_str())
            .bind(to.as_str())
            .bind(body.as_str())
            .bind(size)
            .execute(&mut *conn)
            .await?;
            insert_audit(conn, audit).await?;
            Ok(Outcome::Delivered)
        }
        Op::Record { audit, event } => {
            insert_audit(conn, audit).await?;
            if let Some(e) = event {
                crate::webhook::enqueue(conn, webhooks, e).await?;
            }
            Ok(Outcome::Recorded)
        }
        Op::SetPolicy {
            agent,
            policy,
            create,
            audit,
        } => {
            let patterns = serde_json::to_string(&policy.patterns)
                .map_err(|e| StoreError::new(e.to_string()))?;
            sqlx::query(
                "INSERT INTO policies (agent, direction, mode, patterns, policy_id) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (agent, direction) DO UPDATE SET mode = excluded.mode,
                   patterns = excluded.patterns, policy_id = excluded.policy_id",
            )
            .bind(agent.as_str())
            .bind(policy.direction.as_str())
            .bind(policy.mode.as_str())
            .bind(patterns)
            .bind(policy.policy_id.clone().unwrap_or_default())
            .execute(&mut *conn)
            .await?;
            if *create {
                register_agent(conn, agent).await?;
            }
            insert_audit(conn, audit).await?;
            Ok(Outcome::PolicySet)
        }
        Op::DeletePolicy { agent, direction } => {
            let row = sqlx::query(
                "SELECT agent, direction, mode, patterns, policy_id FROM policies WHERE agent = $1 AND direction = $2",
            )
            .bind(agent.as_str())
            .bind(direction.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                return Ok(Outcome::PolicyDeleted(None));
            };
            let removed = policy_from_row(&row)?;
            sqlx::query("DELETE FROM policies WHERE agent = $1 AND direction = $2")
                .bind(agent.as_str())
                .bind(direction.as_str())
                .execute(&mut *conn)
                .await?;
            let mut audit = Map::new();
            audit.insert("audit_id".into(), new_id("aud").into());
            audit.insert("timestamp".into(), now().into());
            audit.insert("kind".into(), "policy_delete".into());
            audit.insert("caller".into(), "admin".into());
            audit.insert("agent".into(), agent.clone().into());
            audit.insert("direction".into(), direction.as_str().into());
            audit.insert("decision".into(), "policy_deleted".into());
            audit.insert("policy_id".into(), removed.policy_id.clone().into());
            audit.insert(
                "message".into(),
                format!("{direction} policy of {agent} deleted (now open)").into(),
            );
            insert_audit(conn, &audit).await?;
            Ok(Outcome::PolicyDeleted(Some(removed)))
        }
        Op::Lease {
            agent,
            limit,
            max_bytes,
            until,
        } => {
            let at = now();
            let lock = if backend == Backend::Postgres {
                " FOR UPDATE SKIP LOCKED"
            } else {
                ""
            };
            let rows = sqlx::query(&format!(
                "SELECT seq, body, bytes FROM inbox WHERE to_agent = $1
                   AND (lease_until IS NULL OR lease_until <= $2) ORDER BY seq LIMIT $3{lock}"
            ))
            .bind(agent.as_str())
            .bind(at)
            .bind(*limit)
            .fetch_all(&mut *conn)
            .await?;
            let mut seqs = Vec::new();
            let mut intents = Vec::new();
            let mut total = 0i64;
            for row in rows {
                let bytes: i64 = row.try_get(2)?;
                if !intents.is_empty() && total + bytes > *max_bytes {
                    break;
                }
                total += bytes;
                seqs.push(row.try_get::<i64, _>(0)?.to_string());
                intents.push(row.try_get::<String, _>(1)?);
            }
            if !seqs.is_empty() {
                sqlx::query(&format!(
                    "UPDATE inbox SET lease_until = $1 WHERE seq IN ({})",
                    seqs.join(", ")
                ))
                .bind(*until)
                .execute(&mut *conn)
                .await?;
            }
            let remaining: i64 = sqlx::query(
                "SELECT COUNT(*) FROM inbox WHERE to_agent = $1 AND (lease_until IS NULL OR lease_until <= $2)",
            )
            .bind(agent.as_str())
            .bind(at)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            Ok(Outcome::Leased { intents, remaining })
        }
        Op::Ack { agent, ids } => {
            let mut acked = Vec::new();
            let mut unknown = Vec::new();
            for id in ids {
                let removed = sqlx::query(
                    "DELETE FROM inbox WHERE to_agent = $1 AND intent_id = $2 RETURNING bytes",
                )
                .bind(agent.as_str())
                .bind(id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(r) = removed {
                    let bytes: i64 = r.try_get(0)?;
                    sqlx::query(
                        "UPDATE inbox_counts SET intents = intents - 1, bytes = bytes - $2 WHERE agent = $1",
                    )
                    .bind(agent.as_str())
                    .bind(bytes)
                    .execute(&mut *conn)
                    .await?;
                    acked.push(id.clone());
                } else {
                    unknown.push(id.clone());
                }
            }
            Ok(Outcome::Acked { acked, unknown })
        }
        Op::Reload => Ok(Outcome::Reloaded(Box::new(load_from(conn).await?))),
        Op::SetToolPolicy {
            agent,
            body,
            create,
            audit,
            ..
        } => {
            let version = crate::tools::next_version(conn, agent).await?;
            sqlx::query("INSERT INTO tool_policies (agent, version, body, created_at) VALUES ($1, $2, $3, $4)")
                .bind(agent.as_str())
                .bind(version)
                .bind(body.as_str())
                .bind(now())
                .execute(&mut *conn)
                .await?;
            if *create {
                register_agent(conn, agent).await?;
            }
            let mut audit = audit.clone();
            audit.insert("version".into(), version.into());
            insert_audit(conn, &audit).await?;
            Ok(Outcome::ToolPolicySet { version })
        }
        Op::DeleteToolPolicy { agent, by } => crate::tools::delete_policy(conn, agent, by).await,
        Op::CreateApproval { row, audit } => {
            crate::tools::insert_approval(conn, row).await?;
            insert_audit(conn, audit).await?;
            let e = crate::webhook::event("approval.pending", row.view(now()));
            crate::webhook::enqueue(conn, webhooks, &e).await?;
            Ok(Outcome::Recorded)
        }
        Op::DecideApproval {
            id,
            grant,
            by,
            note,
        } => {
            let outcome =
                crate::tools::decide_approval(conn, id, *grant, by, note.as_deref()).await?;
            if let Outcome::Approval(Ok(row)) = &outcome {
                let e = crate::webhook::event("approval.decided", row.view(now()));
                crate::webhook::enqueue(conn, webhooks, &e).await?;
            }
            Ok(outcome)
        }
        Op::UseApproval {
            id,
            agent,
            tool,
            args_hash,
        } => crate::tools::use_approval(conn, id, agent, tool, args_hash).await,
        Op::ClaimOutbox { limit } => Ok(Outcome::Claimed(
            crate::webhook::claim(conn, backend == Backend::Postgres, *limit).await?,
        )),
        Op::SettleOutbox { due, outcome } => {
            crate::webhook::settle(conn, due, outcome).await?;
            Ok(Outcome::Recorded)
        }
    }
}

/// Keeps this instance's policies in step with the database when other
/// instances change them (PostgreSQL's LISTEN/NOTIFY): a reload, through
/// the writer, after every notification and after every reconnection (when
/// notifications may have been missed).
pub async fn follow(store: Store, writer: Writer, shared: Arc<Shared>) {
    use sqlx::postgres::PgListener;
    let pause = std::time::Duration::from_millis(200);
    loop {
        let mut listener = match PgListener::connect(&store.url).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("gateway: policy updates: cannot connect ({e}); retrying");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        if let Err(e) = listener
            .listen_all([POLICY_CHANNEL, APPROVAL_CHANNEL])
            .await
        {
            eprintln!("gateway: policy updates: LISTEN failed ({e}); retrying");
            tokio::time::sleep(pause).await;
            continue;
        }
        // Whatever changed while we were not listening.
        reload(&writer).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(first)) => {
                    // Coalesce a burst of notifications into one reload.
                    let mut policies = first.channel() == POLICY_CHANNEL;
                    let mut approvals = first.channel() == APPROVAL_CHANNEL;
                    while let Ok(Ok(Some(n))) = tokio::time::timeout(
                        std::time::Duration::from_millis(2),
                        listener.try_recv(),
                    )
                    .await
                    {
                        policies |= n.channel() == POLICY_CHANNEL;
                        approvals |= n.channel() == APPROVAL_CHANNEL;
                    }
                    if approvals {
                        shared.approval_changed();
                    }
                    if policies {
                        reload(&writer).await;
                    }
                }
                Ok(None) => {
                    // The connection was lost; try_recv reconnects next time.
                    shared.approval_changed();
                    reload(&writer).await;
                }
                Err(e) => {
                    eprintln!("gateway: policy updates: {e}; reconnecting");
                    tokio::time::sleep(pause).await;
                    break;
                }
            }
        }
    }
}

async fn reload(writer: &Writer) {
    if let Err(e) = writer.write(Op::Reload).await {
        eprintln!("gateway: policy updates: reloading failed ({e})");
    }
}
