-- agentguard gateway schema, version 1 (SQLite).
-- One action policy per agent and direction.
CREATE TABLE policies (
    agent TEXT NOT NULL,
    direction TEXT NOT NULL,
    mode TEXT NOT NULL,
    patterns TEXT NOT NULL,   -- a JSON array of strings
    policy_id TEXT NOT NULL,
    PRIMARY KEY (agent, direction)
);
-- Agents without a key that an admin created a policy for (?create=true).
CREATE TABLE agents (
    agent TEXT PRIMARY KEY
);
-- Delivered intents until their receiver acknowledges them. lease_until:
-- handed out and not acknowledged, back in the inbox after that time
-- (seconds since the epoch); NULL: never handed out.
CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id TEXT NOT NULL UNIQUE,
    to_agent TEXT NOT NULL,
    body TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    lease_until REAL
);
CREATE INDEX inbox_by_agent ON inbox (to_agent, seq);
-- The audit: one ordered log (seq), the record as JSON in body, and the
-- fields the API filters on.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    caller TEXT,
    agent TEXT,
    to_agent TEXT,
    decision TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_by_decision ON audit (decision, to_agent);
CREATE INDEX audit_by_caller ON audit (caller);
CREATE INDEX audit_by_to_agent ON audit (to_agent);
CREATE INDEX audit_by_agent ON audit (agent);
