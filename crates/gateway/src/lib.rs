//! `agentguard serve`: the gateway. Per-agent action policies (send and
//! receive; open, allowlist or denylist) enforced outside the agents on
//! every intent, with a 403 and an audit record for a blocked one; inboxes
//! with at-least-once delivery (a lease, then an acknowledgement); a
//! dashboard. Storage is SQLite (a file, the default) or PostgreSQL, where
//! any number of instances share one database.
//!
//! The decisions are the core's ([`agentguard::ActionPolicies`]); this
//! crate is HTTP, authentication and durability.

pub mod cli;
pub mod http;
pub mod keys;
pub mod mcp;
pub mod mcp_upstream;
pub mod net;
pub mod store;
pub mod tools;
pub mod util;
pub mod webhook;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use http::Limits;
pub use keys::Keys;
pub use store::{Backend, Store};

/// Where the gateway keeps its state.
#[derive(Clone, Debug)]
pub enum Storage {
    /// `DIR/agentguard.db` (SQLite).
    DataDir(PathBuf),
    /// A `postgres://` URL.
    Database(String),
}

/// Everything `agentguard serve` is told.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address to listen on (`127.0.0.1` by default).
    pub host: String,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The API keys file.
    pub keys: PathBuf,
    /// SQLite or PostgreSQL.
    pub storage: Storage,
    /// Quotas and leases.
    pub limits: Limits,
    /// Connection limits and timeouts.
    pub net: net::NetLimits,
    /// Where events are POSTed (`--webhook`, http:// URLs).
    pub webhooks: Vec<String>,
    /// MCP servers served at `/mcp/{name}` (`--mcp-config`), the browser
    /// origins allowed besides loopback ones, and how long an elicitation
    /// waits for its answer.
    pub mcp: Option<(
        std::collections::BTreeMap<String, mcp::Upstream>,
        Vec<String>,
        Duration,
    )>,
}

/// Opens the storage, starts the writer (and, on PostgreSQL, the follower
/// of other instances' policy changes), listens, calls `ready` with the
/// address, and serves until SIGTERM or SIGINT. Errors before listening
/// are returned as a message for the operator.
pub async fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let keys = Keys::load(&config.keys)?;
    for url in &config.webhooks {
        check_webhook(url)?;
    }
    let secret = match (&keys.webhook_secret, config.webhooks.is_empty()) {
        (_, true) => None,
        (Some(s), false) => Some(s.clone()),
        (None, false) => {
            return Err(format!(
                "--webhook needs a \"webhook_secret\" (at least {} characters) in the keys file {}, to sign the events",
                keys::MIN_SECRET_LEN,
                config.keys.display()
            ))
        }
    };
    let mut store = match &config.storage {
        Storage::DataDir(dir) => Store::open_sqlite(dir).await,
        Storage::Database(url) => Store::open_postgres(url).await,
    }
    .map_err(|e| format!("database: {e}"))?;
    store.webhooks = Arc::new(config.webhooks.clone());
    let loaded = store.load().await.map_err(|e| format!("database: {e}"))?;
    let shared = Arc::new(writer::Shared::new(loaded));
    let (writer, writer_task) = writer::Writer::start(store.clone(), shared.clone());
    let delivery = secret.map(|secret| {
        tokio::spawn(webhook::deliver(
            writer.clone(),
            secret,
            shared.webhook_wake.clone(),
        ))
    });
    let follower = (store.backend() == Backend::Postgres).then(|| {
        tokio::spawn(writer::follow(
            store.clone(),
            writer.clone(),
            shared.clone(),
        ))
    });
    let app = Arc::new(http::App {
        keys,
        store: store.clone(),
        writer,
        shared,
        limits: config.limits.clone(),
        mcp: config
            .mcp
            .clone()
            .map(|(servers, origins, wait)| Arc::new(mcp::Host::new(servers, origins, wait))),
    });
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen: {e}"))?;
    let stop = net::signals()?;
    ready(addr);
    net::serve(listener, http::router(app.clone()), config.net, stop).await;
    // Every acknowledged write is committed already; let queued ones finish.
    drop(app);
    // The follower and the webhook task write through the writer: stop
    // them first (an attempt cut short is retried after the next start).
    for task in [follower, delivery].into_iter().flatten() {
        task.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), writer_task).await;
    let _ = tokio::time::timeout(Duration::from_millis(500), store.close()).await;
    Ok(())
}

/// A webhook URL must be `http://host[:port]/...` (the gateway speaks plain
/// HTTP to receivers; put a TLS proxy beside it for https).
fn check_webhook(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|e| format!("--webhook {url:?} is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "--webhook {url:?} must be an http:// URL with a host (https: put a TLS proxy beside the gateway)"
        ));
    }
    Ok(())
}
