-- agentguard gateway schema, version 2 (PostgreSQL): tool policies and approvals.
-- Every version of every agent's tool policy; the newest is in force. A
-- deletion is a version with body NULL.
CREATE TABLE tool_policies (
    agent TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (agent, version)
);
-- Tool calls waiting for, or given, a person's answer. status: pending,
-- granted, denied, used (a granted approval spent on its one allowed call).
-- An approval is bound to the agent, the tool and a hash of the arguments.
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    tool TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    decided_by TEXT,
    decided_at DOUBLE PRECISION,
    note TEXT,
    used_at DOUBLE PRECISION
);
CREATE INDEX approvals_by_status ON approvals (status, created_at);
