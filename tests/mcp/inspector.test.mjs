// The MCP inspector's CLI (@modelcontextprotocol/inspector-cli, the code
// behind `npx @modelcontextprotocol/inspector --cli`) listing and calling
// tools through `agentguard mcp` in front of server-filesystem, both from a
// Claude-Desktop-style config file (--config/--server) and from the command
// line. No network: stdio between local processes.
//
// Two quirks of inspector-cli 1.0.3, worked around here, not in the proxy:
// - it drops the first `--` of the server's command line (its own argument
//   parser takes it), so the proxy's command is given without `--`, which
//   `agentguard mcp` accepts (the server's command starts at the first word
//   that is not one of its options);
// - it finds its own package.json through `../package.json` relative to the
//   working directory, so it runs from a directory one level below a
//   package.json (tests/ here).
//
// AGENTGUARD_BIN: the binary (default target/release/agentguard).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, 'target/release/agentguard');
const INSPECTOR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');
const FS_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

function setup(t) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-mcp-inspector-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ws = join(dir, 'workspace');
  mkdirSync(ws);
  const policy = join(dir, 'fs-policy.json');
  writeFileSync(policy, readFileSync(join(ROOT, 'examples/mcp/fs-policy.json'), 'utf8')
    .replaceAll('"/workspace"', JSON.stringify(ws)));
  const audit = join(dir, 'audit.jsonl');
  const proxyArgs = ['mcp', '--policy', policy, '--audit', audit, process.execPath, FS_SERVER, ws];
  const config = join(dir, 'mcp.json');
  writeFileSync(config, JSON.stringify({ mcpServers: { fs: { command: BIN, args: proxyArgs } } }));
  const inspect = (...args) => {
    const r = spawnSync(process.execPath, [INSPECTOR, '--cli', ...args],
      { cwd: join(ROOT, 'tests'), encoding: 'utf8', timeout: 60000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const fromConfig = (...args) => inspect('--config', config, '--server', 'fs', ...args);
  const auditLines = () => (existsSync(audit) ? readFileSync(audit, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { ws, proxyArgs, inspect, fromConfig, auditLines };
}

test('inspector CLI: tools/list through the proxy is filtered and noted', (t) => {
  const { fromConfig } = setup(t);
  const r = fromConfig('--method', 'tools/list');
  assert.equal(r.status, 0, r.stderr);
  const { tools } = JSON.parse(r.stdout);
  const names = tools.map((x) => x.name);
  assert.ok(names.includes('write_file') && names.includes('read_text_file'));
  assert.ok(!names.includes('read_multiple_files'), 'denied whatever its arguments: hidden');
  assert.match(tools.find((x) => x.name === 'write_file').description,
    /\[agentguard policy\] Allowed only for some arguments/);
});

test('inspector CLI: calls allowed, blocked and hidden, from a config file and the command line', (t) => {
  const { ws, proxyArgs, inspect, fromConfig, auditLines } = setup(t);
  const ok = fromConfig('--method', 'tools/call', '--tool-name', 'write_file',
    '--tool-arg', `path=${join(ws, 'notes.txt')}`, 'content=hello');
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(!JSON.parse(ok.stdout).isError);
  assert.equal(readFileSync(join(ws, 'notes.txt'), 'utf8'), 'hello');

  const blocked = fromConfig('--method', 'tools/call', '--tool-name', 'write_file',
    '--tool-arg', `path=${ws}/../escape.txt`, 'content=x');
  assert.equal(blocked.status, 0, blocked.stderr);
  const b = JSON.parse(blocked.stdout);
  assert.equal(b.isError, true);
  assert.equal(b.content[0].text, "Blocked by policy: the call to tool 'write_file' was not run. "
    + "Rule: none (the policy's default). Reason: not in allow list (default: deny).");
  assert.ok(!existsSync(join(ws, '..', 'escape.txt')));

  // The command-line form: the proxy's command line after --cli.
  const hidden = inspect(BIN, ...proxyArgs, '--method', 'tools/call', '--tool-name', 'read_multiple_files',
    '--tool-arg', `paths=["${join(ws, 'notes.txt')}"]`);
  assert.equal(hidden.status, 1);
  assert.match(hidden.stderr, /MCP error -32602: Unknown tool: read_multiple_files/);

  const read = inspect(BIN, ...proxyArgs, '--method', 'tools/call', '--tool-name', 'read_text_file',
    '--tool-arg', `path=${join(ws, 'notes.txt')}`);
  assert.equal(read.status, 0, read.stderr);
  assert.equal(JSON.parse(read.stdout).content[0].text, 'hello');

  assert.deepEqual(auditLines().map((l) => [l.client.name, l.tool, l.decision, l.action]), [
    ['inspector-cli', 'write_file', 'allow', 'forwarded'],
    ['inspector-cli', 'write_file', 'deny', 'blocked'],
    ['inspector-cli', 'read_multiple_files', 'deny', 'hidden'],
    ['inspector-cli', 'read_text_file', 'allow', 'forwarded'],
  ]);
});
