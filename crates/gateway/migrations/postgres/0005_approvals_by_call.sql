-- The open approval of an agent for one call (MCP over HTTP finds it from
-- any session: crates/gateway/src/mcp.rs, open_approval).
CREATE INDEX approvals_by_call ON approvals (agent, tool, args_hash);
