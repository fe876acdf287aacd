-- agentguard gateway schema, version 3 (PostgreSQL): the webhook outbox.
-- One row per event and receiver, written in the transaction of the change
-- it reports; delivered (or given up) by a background task, retried with
-- backoff, across restarts. An attempt under way moves next_attempt_at
-- ahead first, so another instance leaves the row alone meanwhile.
CREATE TABLE webhook_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION,
    failed_at DOUBLE PRECISION,
    last_error TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (delivered_at, failed_at, next_attempt_at);
