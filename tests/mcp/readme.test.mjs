// The README's MCP quickstart, run as written: its client configuration
// (`mcpServers`) is what starts the proxy and the server here, through the
// official TypeScript SDK's stdio client, as Claude Desktop or Cursor start
// it; only the clone's path, the built binary and the served directory are
// put in. The blocked call's result is what the README shows, in the
// quickstart ("quickstart-mcp") and in "Protect an MCP server"
// ("mcp-blocked").
//
// AGENTGUARD_BIN: the binary (default target/release/agentguard).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, 'target/release/agentguard');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The code block after `<!-- MARKER: NAME ... -->`, and what the marker says after the name. */
function block(marker, name) {
  const m = new RegExp(`<!-- ${marker}: ${name}( [^>]*?)? -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(README);
  assert.ok(m, `README.md has no "${marker}: ${name}" block`);
  return { rest: (m[1] ?? '').trim(), code: m[2] };
}

test('README: the MCP quickstart configuration blocks a call, with the text the README shows', { timeout: 120_000 }, async (t) => {
  const config = JSON.parse(block('example', 'quickstart-mcp').code);
  const server = config.mcpServers.fs;
  assert.equal(server.command, 'agentguard');
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-readme-mcp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The user's paths: the clone, and a directory to serve for /workspace.
  const args = server.args.map((a) => a.replace('/path/to/agentguard', ROOT).replace(/^\/workspace$/, dir));
  assert.ok(existsSync(args[args.indexOf('--policy') + 1]), `the policy path: ${args.join(' ')}`);
  // `npx -y @modelcontextprotocol/server-filesystem` from the clone runs the
  // copy installed there (no registry needed).
  const transport = new StdioClientTransport({ command: BIN, args, cwd: ROOT, stderr: 'pipe' });
  const client = new Client({ name: 'readme-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  t.after(() => client.close());

  for (const name of ['quickstart-mcp', 'mcp-blocked']) {
    const shown = block('output', name);
    const [, tool, json] = /^(\S+) (\{.*\})$/.exec(shown.rest) ?? [];
    assert.ok(tool, `the output marker of ${name} names the call`);
    const result = await client.callTool({ name: tool, arguments: JSON.parse(json) });
    assert.equal(result.isError, true, `${name}: ${JSON.stringify(result)}`);
    assert.equal(`${result.content.map((c) => c.text).join('\n')}\n`, shown.code, name);
  }
});
