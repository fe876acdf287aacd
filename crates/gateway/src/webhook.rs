//! Webhooks: `approval.pending`, `approval.decided` and `decision.deny`
//! events, POSTed as JSON to every `--webhook URL`.
//!
//! Durable: an event is a row of the outbox per URL, written in the
//! transaction of the change it reports, so an event exists exactly when
//! its change does. A background task delivers due rows, retries with
//! backoff (1 s doubling to 10 minutes; given up after [`MAX_ATTEMPTS`]),
//! and picks up where it left off after a restart. Never on the decision
//! path: a slow or dead receiver delays nothing but its own events.
//!
//! Signed: `X-Agentguard-Signature: sha256=<hex HMAC-SHA256 of the body>`
//! with the keys file's `webhook_secret`; `X-Agentguard-Event` names the
//! event and `X-Agentguard-Delivery` is the outbox row's id (the same on a
//! retry, so a receiver can drop repeats).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::{AnyConnection, Row};
use tokio::sync::{Notify, Semaphore};

use crate::store::StoreError;
use crate::util::{new_id, now};
use crate::writer::{Op, Outcome, Writer};

/// Attempts before an event is given up (marked failed, with its last error).
pub const MAX_ATTEMPTS: i64 = 20;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_SECONDS: f64 = 600.0;
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// An event's JSON: `{"id", "event", "created_at", "data"}`.
pub fn event(kind: &str, data: Value) -> Value {
    json!({"id": new_id("evt"), "event": kind, "created_at": now(), "data": data})
}

/// Writes `event` into the outbox, one row per URL, on `conn` (inside the
/// writer's transaction).
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    urls: &[String],
    event: &Value,
) -> Result<(), StoreError> {
    let kind = event["event"].as_str().unwrap_or("").to_string();
    let body = event.to_string();
    let at = now();
    for url in urls {
        sqlx::query(
            "INSERT INTO webhook_outbox (url, event, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(url.as_str())
        .bind(kind.as_str())
        .bind(body.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The signature header's value for `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i64) -> f64 {
    let exp = attempts.clamp(0, 30) as i32;
    2f64.powi(exp).min(MAX_BACKOFF_SECONDS)
}

/// An outbox row due for an attempt.
#[derive(Clone, Debug)]
pub struct Due {
    id: i64,
    url: String,
    event: String,
    body: String,
    attempts: i64,
}

/// Claims up to `limit` due rows on `conn` (the writer's transaction):
/// moves their next attempt ahead by the attempt timeout and a margin, so
/// no other instance takes them meanwhile.
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    postgres: bool,
    limit: i64,
) -> Result<Vec<Due>, StoreError> {
    let at = now();
    let lock = if postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT id, url, event, body, attempts FROM webhook_outbox
         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
         ORDER BY id LIMIT $2{lock}"
    ))
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut due = Vec::new();
    for r in rows {
        let d = Due {
            id: r.try_get(0)?,
            url: r.try_get(1)?,
            event: r.try_get(2)?,
            body: r.try_get(3)?,
            attempts: r.try_get(4)?,
        };
        sqlx::query("UPDATE webhook_outbox SET next_attempt_at = $1 WHERE id = $2")
            .bind(at + ATTEMPT_TIMEOUT.as_secs_f64() + 5.0)
            .bind(d.id)
            .execute(&mut *conn)
            .await?;
        due.push(d);
    }
    Ok(due)
}

/// Records how an attempt went, on `conn` (the writer's transaction).
pub(crate) async fn settle(
    conn: &mut AnyConnection,
    d: &Due,
    outcome: &Result<(), String>,
) -> Result<(), StoreError> {
    let at = now();
    let attempts = d.attempts + 1;
    let q = match outcome {
        Ok(()) => sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $1, attempts = $2, last_error = NULL WHERE id = $3",
        )
        .bind(at)
        .bind(attempts)
        .bind(d.id),
        Err(e) if attempts >= MAX_ATTEMPTS => sqlx::query(
            "UPDATE webhook_outbox SET failed_at = $1, attempts = $2, last_error = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(attempts)
        .bind(e.clone())
        .bind(d.id),
        Err(e) => sqlx::query(
            "UPDATE webhook_outbox SET next_attempt_at = $1, attempts = $2, last_error = $3 WHERE id = $4",
        )
        .bind(at + backoff(d.attempts))
        .bind(attempts)
        .bind(e.clone())
        .bind(d.id),
    };
    q.execute(conn).await?;
    Ok(())
}

async fn attempt(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    secret: &str,
    d: &Due,
) -> Result<(), String> {
    let req = hyper::Request::builder()
        .method("POST")
        .uri(&d.url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("agentguard-gateway/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-agentguard-event", d.event.as_str())
        .header("x-agentguard-delivery", d.id.to_string())
        .header(
            "x-agentguard-signature",
            signature(secret, d.body.as_bytes()),
        )
        .body(Full::new(Bytes::from(d.body.clone())))
        .map_err(|e| format!("bad request: {e}"))?;
    let status = tokio::time::timeout(ATTEMPT_TIMEOUT, async {
        let res = client.request(req).await.map_err(|e| {
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = s.to_string();
                source = s.source();
            }
            why
        })?;
        let status = res.status();
        // Read (and drop) the answer, so the connection can be reused.
        let _ = res.into_body().collect().await;
        Ok::<_, String>(status)
    })
    .await
    .map_err(|_| format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()))??;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

/// Attempts at once, at most (each holds one receiver connection).
pub const MAX_IN_FLIGHT: usize = 32;

/// Delivers the outbox until the process ends: due rows at once when
/// `wake` is notified (a commit wrote events), else every second. Rows are
/// claimed and settled through the writer (the one writer of the
/// database); each attempt runs on its own, so a hanging receiver holds
/// only its own attempts, never the others'.
pub async fn deliver(writer: Writer, secret: String, wake: Arc<Notify>) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match writer.write(Op::ClaimOutbox { limit: free as i64 }).await {
                Ok(Outcome::Claimed(due)) => {
                    claimed = due.len();
                    for d in due {
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let (client, writer, secret, wake) =
                            (client.clone(), writer.clone(), secret.clone(), wake.clone());
                        tokio::spawn(async move {
                            let outcome = attempt(&client, &secret, &d).await;
                            let retry = outcome.is_err() && d.attempts + 1 < MAX_ATTEMPTS;
                            let wait = backoff(d.attempts);
                            if let Err(e) = writer.write(Op::SettleOutbox { due: d, outcome }).await
                            {
                                eprintln!("gateway: webhook: recording a delivery failed ({e})");
                            }
                            drop(slot);
                            if retry {
                                // Look again when the retry is due, not at
                                // the next once-a-second poll.
                                tokio::time::sleep(Duration::from_secs_f64(wait + 0.01)).await;
                                wake.notify_one();
                            }
                        });
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("gateway: webhook: reading the outbox failed ({e})"),
            }
        }
        if claimed > 0 && claimed == free {
            // Maybe more due: as soon as a slot frees.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(backoff(0), 1.0);
        assert_eq!(backoff(3), 8.0);
        assert_eq!(backoff(10), MAX_BACKOFF_SECONDS);
        assert_eq!(backoff(1000), MAX_BACKOFF_SECONDS);
    }
}
