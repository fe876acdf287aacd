//! Connections: the accept loop with per-address and total limits, header
//! timeouts, and a shutdown that cannot hang.
//!
//! On SIGTERM or SIGINT the listener closes at once; idle keep-alive
//! connections close at once; a request being handled gets the grace
//! period to finish (its response closes its connection); whatever is left
//! after that is cut. A second signal exits at once. Every acknowledged
//! write is committed before its response, so cutting loses nothing.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Connection limits and timeouts.
#[derive(Clone, Debug)]
pub struct NetLimits {
    /// Open connections from one IP address; more are closed at once.
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
    /// A request's headers must arrive within this time (also how long an
    /// idle keep-alive connection is kept).
    pub header_timeout: Duration,
    /// How long requests being handled get to finish at shutdown.
    pub grace: Duration,
}

impl Default for NetLimits {
    fn default() -> NetLimits {
        NetLimits {
            per_address: 256,
            total: 8192,
            header_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(2),
        }
    }
}

/// After the first signal the process exits by this time whatever its
/// connections do.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(4500);

/// Resolves at the first SIGTERM or SIGINT; a second one exits the process
/// at once (status 1), and so does the deadline after the first.
pub fn signals() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("signals: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("signals: {e}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        println!("{name}: stopping");
        let _ = tx.send(());
        tokio::select! {
            again = async { tokio::select! { _ = term.recv() => "SIGTERM", _ = int.recv() => "SIGINT" } } => {
                eprintln!("gateway: {again} again: exiting now");
            }
            _ = tokio::time::sleep(SHUTDOWN_DEADLINE) => {
                eprintln!("gateway: not stopped {} ms after {name}; exiting anyway (acknowledged writes are committed)", SHUTDOWN_DEADLINE.as_millis());
            }
        }
        std::process::exit(1);
    });
    Ok(async move {
        let _ = rx.await;
    })
}

/// Counts a connection against its address and the total while it lives.
struct Slot {
    counts: Arc<Mutex<(HashMap<IpAddr, usize>, usize)>>,
    ip: IpAddr,
}

impl Slot {
    fn take(
        counts: &Arc<Mutex<(HashMap<IpAddr, usize>, usize)>>,
        ip: IpAddr,
        limits: &NetLimits,
    ) -> Option<Slot> {
        let mut c = counts.lock().ok()?;
        let (by_ip, total) = &mut *c;
        let n = by_ip.entry(ip).or_insert(0);
        if *n >= limits.per_address || *total >= limits.total {
            if *n == 0 {
                by_ip.remove(&ip);
            }
            return None;
        }
        *n += 1;
        *total += 1;
        Some(Slot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock() {
            let (by_ip, total) = &mut *c;
            *total -= 1;
            if let Some(n) = by_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    by_ip.remove(&self.ip);
                }
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then shuts down as
/// the module says.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: NetLimits,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let counts = Arc::new(Mutex::new((HashMap::new(), 0usize)));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        // Out of file descriptors or an aborted handshake:
                        // wait a moment instead of spinning.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let Some(slot) = Slot::take(&counts, peer.ip(), &limits) else {
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.grace) => {}
    }
}
