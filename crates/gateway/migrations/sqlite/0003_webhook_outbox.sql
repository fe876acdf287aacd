-- agentguard gateway schema, version 3 (SQLite): the webhook outbox.
-- One row per event and receiver, written in the transaction of the change
-- it reports; delivered (or given up) by a background task, retried with
-- backoff, across restarts. An attempt under way moves next_attempt_at
-- ahead first, so another instance leaves the row alone meanwhile.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    failed_at REAL,
    last_error TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (delivered_at, failed_at, next_attempt_at);
