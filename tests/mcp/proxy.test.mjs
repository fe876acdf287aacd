// `agentguard mcp` end to end: the official TypeScript SDK's Client, through
// StdioClientTransport, spawning the built agentguard binary in front of
// real servers (@modelcontextprotocol/server-filesystem on a temp directory,
// @modelcontextprotocol/server-everything) and of a raw stub server for the
// lifecycle cases. No network: everything is stdio between local processes.
//
// AGENTGUARD_BIN: the binary (default target/release/agentguard).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, 'target/release/agentguard');
const MODULES = join(ROOT, 'node_modules/@modelcontextprotocol');
const FS_SERVER = join(MODULES, 'server-filesystem/dist/index.js');
const EVERYTHING = join(MODULES, 'server-everything/dist/index.js');
const STUB = join(ROOT, 'tests/mcp/stub-server.mjs');
const FS_POLICY = readFileSync(join(ROOT, 'examples/mcp/fs-policy.json'), 'utf8');

const EVERYTHING_POLICY = {
  name: 'everything',
  default: 'allow',
  deny: ['get-env', 'gzip-*'],
  require_approval: ['get-sum'],
  rules: [
    { id: 'no-secret-echoes', tool: 'echo', when: { message: { glob: '*secret*' } },
      decision: 'deny', reason: 'echoing secrets is not allowed' },
  ],
};

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-mcp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An SDK client connected to `agentguard mcp ... -- node SERVER ARGS`. */
async function connect(t, { policy, server, serverArgs = [], flags = [], capabilities = {}, handlers = {} }) {
  const dir = tempDir(t);
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, typeof policy === 'string' ? policy : JSON.stringify(policy));
  const auditPath = join(dir, 'audit.jsonl');
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', '--policy', policyPath, '--audit', auditPath, ...flags, '--',
           process.execPath, server, ...serverArgs],
    stderr: 'pipe',
    cwd: dir,
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities });
  if (handlers.elicit) client.setRequestHandler(ElicitRequestSchema, handlers.elicit);
  if (handlers.sample) client.setRequestHandler(CreateMessageRequestSchema, handlers.sample);
  await client.connect(transport);
  t.after(() => client.close());
  const audit = () => (existsSync(auditPath) ? readFileSync(auditPath, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { client, dir, audit, auditPath, stderr: () => stderr };
}

const text = (r) => r.content.map((c) => c.text).join('\n');

async function filesystem(t, opts = {}) {
  const ws = join(tempDir(t), 'workspace');
  spawnSync('mkdir', ['-p', ws]);
  const policy = FS_POLICY.replaceAll('"/workspace"', JSON.stringify(ws));
  const c = await connect(t, { policy, server: FS_SERVER, serverArgs: [ws], ...opts });
  return { ...c, ws };
}

test('filesystem: tools/list hides what the policy always denies and notes the rest', async (t) => {
  const { client } = await filesystem(t);
  const { tools } = await client.listTools();
  const names = tools.map((x) => x.name);
  // The server's own order, less the hidden tools.
  assert.deepEqual(names, ['read_file', 'read_text_file', 'read_media_file', 'write_file', 'edit_file',
    'create_directory', 'list_directory', 'list_directory_with_sizes', 'directory_tree', 'move_file',
    'search_files', 'get_file_info', 'list_allowed_directories']);
  assert.ok(!names.includes('read_multiple_files'), 'denied whatever its arguments: hidden');
  const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
  assert.match(byName.write_file.description, /\n\n\[agentguard policy\] Allowed only for some arguments/);
  assert.match(byName.edit_file.description, /Some calls need a human's approval first; the others are blocked/);
  assert.doesNotMatch(byName.list_allowed_directories.description, /agentguard/);
  assert.deepEqual(byName.write_file.inputSchema.required, ['path', 'content']);
});

test('filesystem: a write under the workspace runs, ../ and .env are blocked, hidden tools are unknown', async (t) => {
  const { client, ws, audit, dir } = await filesystem(t);
  const ok = await client.callTool({ name: 'write_file', arguments: { path: join(ws, 'notes.txt'), content: 'hello' } });
  assert.ok(!ok.isError, text(ok));
  assert.equal(readFileSync(join(ws, 'notes.txt'), 'utf8'), 'hello');

  const escape = await client.callTool({ name: 'write_file', arguments: { path: `${ws}/../escape.txt`, content: 'x' } });
  assert.equal(escape.isError, true);
  assert.equal(text(escape), "Blocked by policy: the call to tool 'write_file' was not run. "
    + "Rule: none (the policy's default). Reason: not in allow list (default: deny).");
  assert.ok(!existsSync(join(ws, '..', 'escape.txt')), 'nothing reached the server');

  writeFileSync(join(ws, '.env'), 'API_KEY=s3cr3t\n');
  const secret = await client.callTool({ name: 'read_text_file', arguments: { path: join(ws, '.env') } });
  assert.equal(secret.isError, true);
  assert.match(text(secret), /Rule: no-secrets\. Reason: secrets are off limits\./);
  assert.doesNotMatch(text(secret), /s3cr3t/);

  const read = await client.callTool({ name: 'read_text_file', arguments: { path: join(ws, 'notes.txt') } });
  assert.equal(text(read), 'hello');

  await assert.rejects(
    client.callTool({ name: 'read_multiple_files', arguments: { paths: [join(ws, 'notes.txt')] } }),
    (e) => e instanceof McpError && e.code === -32602 && /Unknown tool: read_multiple_files/.test(e.message),
  );

  const lines = audit();
  assert.deepEqual(lines.map((l) => [l.tool, l.decision, l.action]), [
    ['write_file', 'allow', 'forwarded'],
    ['write_file', 'deny', 'blocked'],
    ['read_text_file', 'deny', 'blocked'],
    ['read_text_file', 'allow', 'forwarded'],
    ['read_multiple_files', 'deny', 'hidden'],
  ]);
  for (const l of lines) {
    assert.equal(l.client.name, 'proxy-test');
    assert.equal(l.server.name, 'secure-filesystem-server');
    assert.match(l.arguments_sha256, /^[0-9a-f]{64}$/);
    assert.equal(l.approval, 'not_required');
    assert.equal(typeof l.timestamp, 'number');
    assert.equal(typeof l.latency_us, 'number');
    assert.ok(l.id !== null);
  }
  assert.equal(lines[0].matched_rule, 'workspace-writes');
  assert.deepEqual(lines[0].rule, { id: 'workspace-writes' });
  assert.equal(lines[2].reason, 'secrets are off limits');
  const raw = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
  assert.ok(!raw.includes('hello') && !raw.includes('notes.txt'), 'arguments appear as digests only');
});

test('filesystem: approval needed and the client cannot be asked', async (t) => {
  const { client, ws, audit } = await filesystem(t, { flags: ['--approval', 'elicit'] });
  writeFileSync(join(ws, 'a.txt'), 'a');
  const r = await client.callTool({ name: 'move_file', arguments: { source: join(ws, 'a.txt'), destination: join(ws, 'b.txt') } });
  assert.equal(r.isError, true);
  assert.match(text(r), /^Approval required by policy: the call to tool 'move_file' was not run\. Rule: moves-need-approval\./);
  assert.match(text(r), /does not support MCP elicitation/);
  assert.ok(existsSync(join(ws, 'a.txt')));
  assert.equal(audit()[0].approval, 'unavailable');
});

test('everything: prompts, resources, progress, sampling and elicitation from the server pass through', async (t) => {
  let sampled = null;
  let elicited = null;
  const { client } = await connect(t, {
    policy: EVERYTHING_POLICY,
    server: EVERYTHING,
    capabilities: { sampling: {}, elicitation: { form: {} } },
    handlers: {
      sample: async (req) => {
        sampled = req.params;
        return { model: 'stub-model', role: 'assistant', content: { type: 'text', text: 'sampled by the test' } };
      },
      elicit: async (req) => {
        elicited = req.params;
        return { action: 'decline' };
      },
    },
  });
  const v = client.getServerVersion();
  assert.equal(v.name, 'mcp-servers/everything');

  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === 'simple-prompt'));
  const p = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Oslo' } });
  assert.match(JSON.stringify(p.messages), /Oslo/);

  const { resources } = await client.listResources();
  assert.ok(resources.length > 0);
  const res = await client.readResource({ uri: resources[0].uri });
  assert.equal(res.contents[0].uri, resources[0].uri);

  const { tools } = await client.listTools();
  const names = tools.map((x) => x.name);
  assert.ok(names.includes('echo') && names.includes('trigger-sampling-request'));
  assert.ok(!names.includes('get-env') && !names.includes('gzip-file-as-resource'), 'denied tools hidden');
  assert.match(tools.find((x) => x.name === 'get-sum').description, /Every call needs a human's approval first/);

  const progress = [];
  const long = await client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  assert.match(text(long), /Long running operation completed/);
  assert.deepEqual(progress, [1, 2, 3]);

  const s = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
  assert.match(text(s), /sampled by the test/);
  assert.equal(sampled.maxTokens, 5);

  const e = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  assert.match(text(e), /User declined/);
  assert.match(elicited.message, /Please provide inputs/);

  const echo = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
  assert.equal(text(echo), 'Echo: hi');
  const no = await client.callTool({ name: 'echo', arguments: { message: 'the secret is 42' } });
  assert.equal(no.isError, true);
  assert.match(text(no), /Rule: no-secret-echoes\. Reason: echoing secrets is not allowed\./);

  // Cancellation: the client's notifications/cancelled reaches the server.
  const ac = new AbortController();
  const cancelled = client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 50 } },
    undefined,
    { signal: ac.signal, onprogress: () => ac.abort('enough') },
  );
  await assert.rejects(cancelled);
  await client.ping();
});

async function everythingWithApproval(t, elicit, flags = []) {
  return connect(t, {
    policy: EVERYTHING_POLICY,
    server: EVERYTHING,
    flags: ['--approval', 'elicit', ...flags],
    capabilities: { elicitation: { form: {} } },
    handlers: { elicit },
  });
}

test('approval through elicitation: accept runs the call, decline and timeout block it', async (t) => {
  const asked = [];
  const accept = await everythingWithApproval(t, async (req) => {
    asked.push(req.params);
    return { action: 'accept', content: { approve: true } };
  });
  const r = await accept.client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
  assert.equal(text(r), 'The sum of 2 and 3 is 5.');
  assert.equal(asked.length, 1);
  assert.match(asked[0].message, /^agentguard: the policy requires your approval/);
  assert.match(asked[0].message, /Tool: get-sum/);
  assert.match(asked[0].message, /"a": 2/);
  assert.match(asked[0].message, /Rule: get-sum/);
  assert.equal(asked[0].requestedSchema.properties.approve.type, 'boolean');
  assert.deepEqual(accept.audit().map((l) => [l.decision, l.approval, l.action]),
    [['require_approval', 'approved', 'forwarded']]);

  const decline = await everythingWithApproval(t, async () => ({ action: 'decline' }));
  const d = await decline.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } });
  assert.equal(d.isError, true);
  assert.match(text(d), /^Blocked by policy: the call to tool 'get-sum' was not run\. Rule: get-sum\. .*The user declined to approve it\./);
  assert.equal(decline.audit()[0].approval, 'declined');

  const slow = await everythingWithApproval(t, (req, extra) => new Promise((resolve) => {
    // Never answers; the proxy's cancellation arrives as an abort.
    extra.signal.addEventListener('abort', () => resolve({ action: 'cancel' }));
  }), ['--approval-timeout', '1']);
  const started = Date.now();
  const s = await slow.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.equal(s.isError, true);
  assert.match(text(s), /No approval was given within 1 s\./);
  assert.ok(Date.now() - started < 10000);
  assert.equal(slow.audit()[0].approval, 'timeout');
});

test('approval: a client without the elicitation capability is told approval is required', async (t) => {
  const { client, audit } = await connect(t, {
    policy: EVERYTHING_POLICY, server: EVERYTHING, flags: ['--approval', 'elicit'],
  });
  const r = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.equal(r.isError, true);
  assert.match(text(r), /^Approval required by policy: .*does not support MCP elicitation/);
  // --approval deny (the default) never asks, even a client that could answer.
  const asked = [];
  const deny = await connect(t, {
    policy: EVERYTHING_POLICY, server: EVERYTHING, capabilities: { elicitation: {} },
    handlers: { elicit: async (req) => { asked.push(req); return { action: 'accept', content: { approve: true } }; } },
  });
  const r2 = await deny.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.match(text(r2), /--approval deny/);
  assert.equal(asked.length, 0);
  assert.deepEqual([audit()[0].approval, deny.audit()[0].approval], ['unavailable', 'unavailable']);
});

// ---- raw JSON-RPC against the stub server: lifecycle and byte fidelity ----

/** Starts the proxy in front of the stub; lines from its stdout arrive on `next()`. */
function rawProxy(t, { mode, policy = { allow: ['echo'] }, extra = [] } = {}) {
  const dir = tempDir(t);
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(policy));
  const record = join(dir, 'record.bin');
  writeFileSync(record, '');
  const child = spawn(BIN, ['mcp', '--policy', policyPath, ...extra, '--', process.execPath, STUB, record, ...(mode ? [mode] : [])],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l); else lines.push(l);
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r)));
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const send = (s) => child.stdin.write(s);
  return { child, send, next, exited, record, stderr: () => stderr };
}

const INIT = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}\n';

test('raw: unpoliced frames reach the server byte for byte; malformed JSON is answered', async (t) => {
  const p = rawProxy(t);
  const odd = '{ "jsonrpc" : "2.0",  "id" : "x-1", "method":"vendor/thing", "params":{"é":[1.50,2e3,null]}, "extra":true }\r\n';
  p.send(INIT + odd);
  assert.equal(JSON.parse(await p.next()).result.serverInfo.name, 'stub');
  assert.deepEqual(JSON.parse(await p.next()), { jsonrpc: '2.0', id: 'x-1', result: {} });
  p.send('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"a":NaN}}}\n');
  const err = JSON.parse(await p.next());
  assert.equal(err.id, null);
  assert.equal(err.error.code, -32700);
  p.send('{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}\n');
  assert.equal(JSON.parse(await p.next()).result.content[0].text, '{"a":1}');
  p.send('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_everything"}}\n');
  assert.equal(JSON.parse(await p.next()).error.message, 'Unknown tool: delete_everything');
  p.child.stdin.end();
  const { code } = await p.exited;
  assert.equal(code, 0);
  const seen = readFileSync(p.record, 'utf8');
  assert.equal(seen, INIT + odd + '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}\n',
    'what the server read: exactly the allowed frames, as sent; nothing denied or malformed');
});

test('raw: the server exits mid-call: the call gets an error and the proxy exits with its code', async (t) => {
  const p = rawProxy(t, { mode: 'exit-on-call' });
  p.send(INIT);
  await p.next();
  p.send('{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"echo","arguments":{}}}\n');
  const answer = JSON.parse(await p.next());
  assert.equal(answer.id, 'c1');
  assert.equal(answer.error.code, -32000);
  assert.match(answer.error.message, /MCP server exited \(exit code 5\) before answering/);
  assert.equal((await p.exited).code, 5);
});

test('raw: a server that exits at once, a bad policy and a missing command', async (t) => {
  const p = rawProxy(t, { mode: 'exit-now' });
  assert.equal((await p.exited).code, 3);

  const dir = tempDir(t);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"denny": ["x"]}');
  const r = spawnSync(BIN, ['mcp', '--policy', bad, '--', process.execPath, STUB, join(dir, 'r')], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /agentguard mcp: .*bad\.json.*denny/);
  assert.equal(r.stdout, '', 'nothing but MCP on stdout');

  const good = join(dir, 'good.json');
  writeFileSync(good, '{}');
  const m = spawnSync(BIN, ['mcp', '--policy', good, '--', join(dir, 'no-such-server')], { encoding: 'utf8', timeout: 10000 });
  assert.equal(m.status, 2);
  assert.match(m.stderr, /cannot start the server .*no-such-server/);
  assert.equal(m.stdout, '');

  const u = spawnSync(BIN, ['mcp', '--policy', good], { encoding: 'utf8', timeout: 10000 });
  assert.equal(u.status, 2, 'no command: a usage error');
});

test('raw: SIGTERM and SIGINT end the proxy and the server', async (t) => {
  for (const [sig, want] of [['SIGTERM', 143], ['SIGINT', 130]]) {
    const p = rawProxy(t);
    p.send(INIT);
    await p.next();
    const children = readFileSync(`/proc/${p.child.pid}/task/${p.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1, 'the server runs under the proxy');
    p.child.kill(sig);
    const { code } = await p.exited;
    assert.equal(code, want, sig);
    assert.throws(() => process.kill(children[0], 0), { code: 'ESRCH' }, `${sig}: the server is gone too`);
  }
});

test('raw: stdio as shell pipes, files and 2>&1 (the reactor path and the fallback) relay the same', async (t) => {
  const dir = tempDir(t);
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ allow: ['echo'] }));
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, INIT
    + '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}\n'
    + '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_everything"}}\n');
  const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  const proxy = `${q(BIN)} mcp --policy ${q(policy)} -- ${q(process.execPath)} ${q(STUB)} ${q(join(dir, 'record.bin'))}`;
  const out = join(dir, 'out.jsonl');
  for (const [how, script] of [
    ['pipes', `cat ${q(input)} | ${proxy} | cat > ${q(out)}`],
    ['files', `${proxy} < ${q(input)} > ${q(out)}`],
    ['2>&1 into one pipe', `cat ${q(input)} | ${proxy} 2>&1 | cat > ${q(out)}`],
  ]) {
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, `${how}: ${r.stderr}`);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .sort((a, b) => a.id - b.id); // the proxy answers a hidden tool at once
    assert.deepEqual(lines.map((l) => [l.id, l.result?.content?.[0]?.text ?? l.error?.message ?? l.result?.serverInfo?.name]),
      [[0, 'stub'], [1, '{"a":1}'], [2, 'Unknown tool: delete_everything']], how);
  }
});

test('raw: the server command may come without --; an unknown option is not taken for it', async (t) => {
  const dir = tempDir(t);
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ allow: ['echo'] }));
  const r = spawnSync(BIN, ['mcp', '--policy', policy, process.execPath, STUB, join(dir, 'record.bin')],
    { encoding: 'utf8', timeout: 20000, input: INIT });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).result.serverInfo.name, 'stub');
  const bad = spawnSync(BIN, ['mcp', '--policy', policy, '--audti', 'a.jsonl', process.execPath, STUB],
    { encoding: 'utf8', timeout: 20000, input: '' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option '--audti'/);
  assert.equal(bad.stdout, '');
});
