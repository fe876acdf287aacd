-- agentguard gateway schema, version 4 (SQLite): each inbox's size, kept
-- beside it (updated in the transaction of every delivery and
-- acknowledgement), so a quota check reads one row instead of the inbox.
CREATE TABLE inbox_counts (
    agent TEXT PRIMARY KEY,
    intents INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT INTO inbox_counts (agent, intents, bytes)
    SELECT to_agent, COUNT(*), SUM(bytes) FROM inbox GROUP BY to_agent;
