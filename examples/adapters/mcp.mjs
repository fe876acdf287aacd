import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { Policy } from "agentguard";
import { guardClient } from "agentguard/mcp";

// Any MCP server (stdio, HTTP); here one in process with two tools.
const server = new McpServer({ name: "files", version: "1.0.0" });
const ok = async () => ({ content: [{ type: "text", text: "done" }] });
server.registerTool("write_file", { inputSchema: { path: z.string() } }, ok);
server.registerTool("delete_file", { inputSchema: { path: z.string() } }, ok);
const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
await server.connect(serverSide);

const policy = new Policy({
  deny: ["delete_*"],
  rules: [{ id: "workspace", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" }],
});
const client = guardClient(new Client({ name: "agent", version: "1.0.0" }), policy, { context: { agentId: "bot-1" } });
await client.connect(clientSide);

console.log((await client.listTools()).tools.map((t) => t.name)); // [ 'write_file' ]
const inside = await client.callTool({ name: "write_file", arguments: { path: "/workspace/a.txt" } });
console.log(inside.content[0].text); // done
const outside = await client.callTool({ name: "write_file", arguments: { path: "/etc/passwd" } });
console.log(outside.isError, outside.content[0].text); // true Tool 'write_file' denied: not in allow list (default: deny)
await client.close();
