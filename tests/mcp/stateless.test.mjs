// The stateless protocol (2026-07-28) through `agentguard mcp`: a scripted
// raw JSON-RPC client (no SDK speaks it here yet) in front of
// tests/mcp/stateless-server.mjs. No initialize: each request carries its
// `_meta` (protocol version, client info, capabilities). A call that needs
// approval is answered `input_required` with the proxy's elicitation form
// and a signed requestState; the retry carries the answer and the state
// back. Tampered, expired and foreign states are refused; the server's own
// input_required after an approval keeps working.
//
// AGENTGUARD_BIN: the binary (default target/release/agentguard).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, 'target/release/agentguard');
const SERVER = join(ROOT, 'tests/mcp/stateless-server.mjs');
const POLICY = { default: 'allow', deny: ['delete_*'], require_approval: ['move_file', 'ask_reason'] };
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'scripted-client', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};

function proxy(t, flags = []) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-mcp-stateless-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(POLICY));
  const record = join(dir, 'record.jsonl');
  writeFileSync(record, '');
  const audit = join(dir, 'audit.jsonl');
  const child = spawn(BIN, ['mcp', '--policy', join(dir, 'policy.json'), '--audit', audit, '--approval', 'elicit', ...flags,
    '--', process.execPath, SERVER, record], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (l) => {
    const m = JSON.parse(l);
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  let next = 1;
  const request = (method, params) => {
    const id = next++;
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: META } }) + '\n');
    return new Promise((resolve) => waiting.set(id, resolve));
  };
  const seen = () => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const auditLines = () => (existsSync(audit) ? readFileSync(audit, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { request, seen, auditLines, child };
}

const APPROVE = { agentguard_approval: { action: 'accept', content: { approve: true } } };
const text = (m) => m.result.content.map((c) => c.text).join('\n');

test('stateless: no initialize; listing filtered; approval by input_required and a signed retry', async (t) => {
  const p = proxy(t);
  const discover = await p.request('server/discover', {});
  assert.equal(discover.result.serverInfo.name, 'stateless-stub');
  const list = await p.request('tools/list', {});
  assert.deepEqual(list.result.tools.map((x) => x.name), ['move_file', 'ask_reason']);
  assert.match(list.result.tools[0].description, /Every call needs a human's approval first/);

  const args = { source: '/a', destination: '/b' };
  const first = await p.request('tools/call', { name: 'move_file', arguments: args });
  assert.equal(first.result.resultType, 'input_required');
  const form = first.result.inputRequests.agentguard_approval;
  assert.equal(form.method, 'elicitation/create');
  assert.equal(form.params.mode, 'form');
  assert.match(form.params.message, /Tool: move_file/);
  const state = first.result.requestState;
  assert.match(state, /^agentguard1\.[0-9a-f]+\.[0-9a-f]{64}$/);
  assert.ok(!p.seen().some((m) => m.method === 'tools/call'), 'nothing reached the server yet');

  const ok = await p.request('tools/call', { name: 'move_file', arguments: args, requestState: state, inputResponses: APPROVE });
  assert.equal(text(ok), 'move_file {"source":"/a","destination":"/b"}');
  const forwarded = p.seen().filter((m) => m.method === 'tools/call');
  assert.equal(forwarded.length, 1);
  assert.equal(forwarded[0].params.requestState, undefined, "the proxy's state never reaches the server");
  assert.equal(forwarded[0].params.inputResponses, undefined);

  // Tampered: one hex digit of the payload changed.
  const i = 'agentguard1.'.length + 8;
  const tampered = state.slice(0, i) + (state[i] === '0' ? '1' : '0') + state.slice(i + 1);
  const bad = await p.request('tools/call', { name: 'move_file', arguments: args, requestState: tampered, inputResponses: APPROVE });
  assert.equal(bad.result.isError, true);
  assert.match(text(bad), /^Blocked by policy: the call to tool 'move_file' was not run\..*not issued by this proxy, or was altered/);
  // The approved state replayed with other arguments.
  const other = await p.request('tools/call', { name: 'move_file', arguments: { source: '/a', destination: '/etc/x' },
    requestState: state, inputResponses: APPROVE });
  assert.match(text(other), /belongs to another call/);
  const declined = await p.request('tools/call', { name: 'move_file', arguments: args, requestState: state,
    inputResponses: { agentguard_approval: { action: 'decline' } } });
  assert.match(text(declined), /The user declined to approve it\./);
  const denied = await p.request('tools/call', { name: 'delete_all', arguments: {} });
  assert.equal(denied.error.code, -32602);
  assert.equal(p.seen().filter((m) => m.method === 'tools/call').length, 1, 'only the approved call reached the server');

  p.child.stdin.end();
  await new Promise((r) => p.child.once('exit', r));
  assert.deepEqual(p.auditLines().map((l) => [l.tool, l.approval, l.action]), [
    ['move_file', 'requested', 'input_required'],
    ['move_file', 'approved', 'forwarded'],
    ['move_file', 'invalid_state', 'blocked'],
    ['move_file', 'invalid_state', 'blocked'],
    ['move_file', 'declined', 'blocked'],
    ['delete_all', 'not_required', 'hidden'],
  ]);
  assert.equal(p.auditLines()[0].client.name, 'scripted-client');
});

test('stateless: an expired state is refused', async (t) => {
  const p = proxy(t, ['--approval-timeout', '1']);
  const args = { source: '/a', destination: '/b' };
  const first = await p.request('tools/call', { name: 'move_file', arguments: args });
  await new Promise((r) => setTimeout(r, 1300));
  const late = await p.request('tools/call', { name: 'move_file', arguments: args,
    requestState: first.result.requestState, inputResponses: APPROVE });
  assert.equal(late.result.isError, true);
  assert.match(text(late), /The approval expired before the call was retried/);
  assert.ok(!p.seen().some((m) => m.method === 'tools/call'));
});

test("stateless: the server's own input_required after an approval comes back to it, not asked again", async (t) => {
  const p = proxy(t);
  const first = await p.request('tools/call', { name: 'ask_reason', arguments: {} });
  const approved = await p.request('tools/call', { name: 'ask_reason', arguments: {},
    requestState: first.result.requestState, inputResponses: APPROVE });
  assert.equal(approved.result.resultType, 'input_required');
  assert.equal(approved.result.inputRequests.reason.params.message, 'Why?');
  assert.match(approved.result.requestState, /^agentguard1\./, "the server's state travels inside the proxy's");
  const done = await p.request('tools/call', { name: 'ask_reason', arguments: {},
    requestState: approved.result.requestState, inputResponses: { reason: { action: 'accept', content: { why: 'tidy up' } } } });
  assert.equal(text(done), 'reason: tidy up');
  const calls = p.seen().filter((m) => m.method === 'tools/call');
  assert.deepEqual(calls.map((m) => m.params.requestState ?? null), [null, 'srv-1']);
});
