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
pub mod net;
pub mod store;
pub mod tools;
pub mod util;
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
}

/// Opens the storage, starts the writer (and, on PostgreSQL, the follower
/// of other instances' policy changes), listens, calls `ready` with the
/// address, and serves until SIGTERM or SIGINT. Errors before listening
/// are returned as a message for the operator.
pub async fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let keys = Keys::load(&config.keys)?;
    let store = match &config.storage {
        Storage::DataDir(dir) => Store::open_sqlite(dir).await,
        Storage::Database(url) => Store::open_postgres(url).await,
    }
    .map_err(|e| format!("database: {e}"))?;
    let loaded = store.load().await.map_err(|e| format!("database: {e}"))?;
    let shared = Arc::new(writer::Shared::new(loaded));
    let (writer, writer_task) = writer::Writer::start(store.clone(), shared.clone());
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
    let _ = tokio::time::timeout(Duration::from_secs(1), writer_task).await;
    if let Some(f) = follower {
        f.abort();
    }
    let _ = tokio::time::timeout(Duration::from_millis(500), store.close()).await;
    Ok(())
}
