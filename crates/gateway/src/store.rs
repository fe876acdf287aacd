//! Storage: SQLite (a file, the default) or PostgreSQL, through one type.
//!
//! Every state change and its audit record are one transaction. Writes go
//! through one task per process (see [`crate::writer`]) that commits many
//! requests' changes together (group commit): one transaction, one fsync.
//! The schema is versioned (`migrations/`) and brought up to date at start.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentguard::{ActionMode, ActionPolicies, ActionPolicy, Direction, Policy};
use serde_json::{Map, Value};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

/// The PostgreSQL channel on which a policy change is announced.
pub const POLICY_CHANNEL: &str = "agentguard_policies";
/// The PostgreSQL channel on which a decided approval is announced.
pub const APPROVAL_CHANNEL: &str = "agentguard_approvals";

/// Which database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A file; one gateway process.
    Sqlite,
    /// A server; any number of gateway processes.
    Postgres,
}

/// A storage failure: the database is unreachable, full, or refused a
/// statement. Requests that meet one get a 503; nothing is decided.
#[derive(Clone, Debug)]
pub struct StoreError(pub String, pub Cause);

/// Why a storage operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// No connection to the database (refused, lost, the pool timed out):
    /// every other write would fail the same way.
    Connection,
    /// The database refused this statement (full, a constraint, damage).
    Statement,
}

impl StoreError {
    /// A failure of this statement, with a message.
    pub fn new(message: impl Into<String>) -> StoreError {
        StoreError(message.into(), Cause::Statement)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let cause = match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Cause::Connection,
            _ => Cause::Statement,
        };
        StoreError(e.to_string(), cause)
    }
}

/// The connection pool and what it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) url: String,
    /// Where events go (`--webhook`): an outbox row per event and URL is
    /// written in the transaction of the change it reports.
    pub(crate) webhooks: Arc<Vec<String>>,
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "policies inbox audit",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "tool policies approvals",
        include_str!("../migrations/sqlite/0002_tools_approvals.sql"),
    ),
    (
        3,
        "webhook outbox",
        include_str!("../migrations/sqlite/0003_webhook_outbox.sql"),
    ),
    (
        4,
        "inbox counts",
        include_str!("../migrations/sqlite/0004_inbox_counts.sql"),
    ),
    (
        5,
        "approvals by call",
        include_str!("../migrations/sqlite/0005_approvals_by_call.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "policies inbox audit",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "tool policies approvals",
        include_str!("../migrations/postgres/0002_tools_approvals.sql"),
    ),
    (
        3,
        "webhook outbox",
        include_str!("../migrations/postgres/0003_webhook_outbox.sql"),
    ),
    (
        4,
        "inbox counts",
        include_str!("../migrations/postgres/0004_inbox_counts.sql"),
    ),
    (
        5,
        "approvals by call",
        include_str!("../migrations/postgres/0005_approvals_by_call.sql"),
    ),
];

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations: Vec<Migration> = list
        .iter()
        .map(|&(v, d, sql)| {
            Migration::new(
                v,
                Cow::Borrowed(d),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// `%`, `?` and `#` would end or change a SQLite URL's path.
fn sqlite_url(path: &Path) -> String {
    let mut out = String::from("sqlite://");
    for c in path.display().to_string().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out.push_str("?mode=rwc");
    out
}

impl Store {
    /// Opens (creating it if needed) `DIR/agentguard.db`.
    pub async fn open_sqlite(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::new(format!("cannot create {}: {e}", dir.display())))?;
        let url = sqlite_url(&dir.join("agentguard.db"));
        Store::open(&url, Backend::Sqlite).await
    }

    /// Connects to a PostgreSQL database (`postgres://...`).
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Store::open(url, Backend::Postgres).await
    }

    async fn open(url: &str, backend: Backend) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::new(format!("bad database URL: {e}")))?;
        // One connection first, so that a database that cannot be opened
        // (not a database, refused, no such file) is reported as itself
        // instead of as a pool timeout.
        let mut probe = AnyConnection::connect_with(&options).await?;
        if backend == Backend::Sqlite {
            probe.execute("PRAGMA journal_mode = WAL").await?;
        }
        probe.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never wait for the writer; FULL: a
                        // commit is on disk (the WAL fsynced) before it returns.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store {
            pool,
            backend,
            url: url.to_string(),
            webhooks: Arc::new(Vec::new()),
        };
        let m = match backend {
            Backend::Sqlite => migrator(SQLITE_MIGRATIONS),
            Backend::Postgres => migrator(POSTGRES_MIGRATIONS),
        };
        m.run(&store.pool)
            .await
            .map_err(|e| StoreError::new(format!("migrating the database schema: {e}")))?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every stored policy, and the agents created through `?create=true`.
    pub async fn load(&self) -> Result<Loaded, StoreError> {
        let mut conn = self.connection().await?;
        load_from(&mut conn).await
    }

    /// A page of the audit, newest first: records with `seq < before`
    /// matching the filters, at most `limit`; and the `before` of the next
    /// page (`None` at the end).
    pub async fn audit_page(
        &self,
        before: Option<i64>,
        limit: i64,
        agent: Option<&str>,
        decision: Option<&str>,
    ) -> Result<(Vec<Value>, Option<i64>), StoreError> {
        let rows = sqlx::query(
            "SELECT seq, body FROM audit
             WHERE seq < $1
               AND ($2 = '' OR caller = $2 OR to_agent = $2 OR agent = $2)
               AND ($3 = '' OR decision = $3)
             ORDER BY seq DESC LIMIT $4",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(agent.unwrap_or(""))
        .bind(decision.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() as i64 > limit;
        let mut records = Vec::new();
        let mut last = None;
        for row in rows.into_iter().take(limit as usize) {
            let seq: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            records.push(audit_record(seq, &body)?);
            last = Some(seq);
        }
        Ok((records, if more { last } else { None }))
    }

    /// Per agent: intents delivered to it, intents blocked that it sent or
    /// was sent, intents in its inbox not yet acknowledged.
    pub async fn counts(&self) -> Result<Vec<(String, &'static str, i64)>, StoreError> {
        let mut out = Vec::new();
        for (sql, what) in [
            ("SELECT to_agent, COUNT(*) FROM audit WHERE decision = 'delivered' GROUP BY to_agent", "delivered"),
            ("SELECT to_agent, COUNT(*) FROM audit WHERE decision = 'blocked' GROUP BY to_agent", "blocked"),
            ("SELECT caller, COUNT(*) FROM audit WHERE decision = 'blocked' AND caller <> to_agent GROUP BY caller", "blocked"),
            ("SELECT agent, intents FROM inbox_counts", "queued"),
        ] {
            for row in sqlx::query(sql).fetch_all(&self.pool).await? {
                let agent: Option<String> = row.try_get(0)?;
                if let Some(agent) = agent {
                    out.push((agent, what, row.try_get::<i64, _>(1)?));
                }
            }
        }
        Ok(out)
    }

    /// A connection for one group of writes.
    pub(crate) async fn connection(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }
}

/// Every stored policy, and the agents created through `?create=true`, as
/// `conn` sees them (the writer's transaction, or a connection of its own).
pub(crate) async fn load_from(conn: &mut AnyConnection) -> Result<Loaded, StoreError> {
    let rows = sqlx::query(
        "SELECT agent, direction, mode, patterns, policy_id FROM policies ORDER BY agent, direction",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut policies = ActionPolicies::new();
    for row in rows {
        let agent: String = row.try_get(0)?;
        let policy = policy_from_row(&row)?;
        policies
            .set(&agent, policy)
            .map_err(|e| StoreError::new(format!("stored policy of {agent}: {e}")))?;
    }
    let created = sqlx::query("SELECT agent FROM agents")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let mut tools = HashMap::new();
    for row in sqlx::query(
        "SELECT t.agent, t.version, t.body FROM tool_policies t
         WHERE t.version = (SELECT MAX(v.version) FROM tool_policies v WHERE v.agent = t.agent)",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let agent: String = row.try_get(0)?;
        let version: i64 = row.try_get(1)?;
        let body: Option<String> = row.try_get(2)?;
        if let Some(body) = body {
            let policy = Policy::from_json(&body).map_err(|e| {
                StoreError::new(format!(
                    "stored tool policy of {agent} (version {version}): {e}"
                ))
            })?;
            tools.insert(agent, (version, Arc::new(policy)));
        }
    }
    Ok(Loaded {
        policies,
        created,
        tools,
    })
}

/// What a gateway decides with, as the database holds it.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Every agent's action policies.
    pub policies: ActionPolicies,
    /// Agents created through `?create=true`.
    pub created: BTreeSet<String>,
    /// Every agent's tool policy in force, with its version.
    pub tools: HashMap<String, (i64, Arc<Policy>)>,
}

/// A stored policy row (`agent, direction, mode, patterns, policy_id`) as
/// an [`ActionPolicy`].
pub(crate) fn policy_from_row(row: &sqlx::any::AnyRow) -> Result<ActionPolicy, StoreError> {
    let direction: String = row.try_get(1)?;
    let mode: String = row.try_get(2)?;
    let patterns: String = row.try_get(3)?;
    let policy_id: String = row.try_get(4)?;
    let bad = |e: String| StoreError::new(format!("a stored policy is damaged: {e}"));
    let direction = Direction::parse(&direction).map_err(|e| bad(e.to_string()))?;
    let mode = ActionMode::parse(&mode).map_err(|e| bad(e.to_string()))?;
    let patterns: Vec<String> = serde_json::from_str(&patterns).map_err(|e| bad(e.to_string()))?;
    Ok(ActionPolicy::new(direction, mode, patterns).with_id(policy_id))
}

/// An audit record as the API shows it: `seq` first, then its fields.
pub(crate) fn audit_record(seq: i64, body: &str) -> Result<Value, StoreError> {
    let fields: Map<String, Value> = serde_json::from_str(body)
        .map_err(|e| StoreError::new(format!("audit record {seq} is damaged: {e}")))?;
    let mut out = Map::new();
    out.insert("seq".into(), seq.into());
    out.extend(fields);
    Ok(Value::Object(out))
}
