// `agentguard mcp --approvals URL --key KEY`: a call the proxy's policy holds
// for approval waits in the approval queue of a live `agentguard serve`,
// where a person grants or denies it over the gateway's API (as the
// dashboard and `agentguard approvals` do). The official TypeScript SDK's
// Client spawns the built binary in front of server-everything; everything
// is local (stdio, and HTTP on 127.0.0.1).
//
//   AGENTGUARD_BIN=target/cli/release/agentguard node --test --test-timeout=120000 tests/mcp/gateway.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { BIN, ROOT, call, startServer, tempDir } from '../gateway/helpers.mjs';

const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const POLICY = { default: 'allow', deny: ['get-env'], require_approval: ['get-sum'] };
const ADMIN = 'mcp-gw-admin-key-0001';
const APPROVER = 'mcp-gw-approver-key-0001';
const AGENT = 'mcp-gw-key-desk-agent';

async function gateway(t) {
  const dir = tempDir(t);
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify({
    keys: {
      [ADMIN]: { role: 'admin', name: 'alice' },
      [APPROVER]: { role: 'approver', name: 'carol' },
      [AGENT]: { role: 'agent', agent: 'desk-agent' },
    },
  }));
  const server = await startServer({ dataDir: join(dir, 'data'), keysFile });
  t.after(() => server.stop());
  return server;
}

/** An SDK client through `agentguard mcp --policy ... FLAGS -- server-everything`. */
async function proxy(t, flags, env = {}) {
  const dir = tempDir(t);
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(POLICY));
  const auditPath = join(dir, 'audit.jsonl');
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', '--policy', policyPath, '--audit', auditPath, ...flags, '--', process.execPath, EVERYTHING],
    env: { PATH: process.env.PATH, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'gateway-approvals-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  const audit = () => (existsSync(auditPath) ? readFileSync(auditPath, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { client, audit, stderr: () => stderr };
}

const text = (r) => r.content.map((c) => c.text).join('\n');

/** The one pending approval, once it is there (a person's view). */
async function pending(url) {
  for (let i = 0; i < 200; i++) {
    const r = await call(url, 'GET', '/v1/approvals', { key: APPROVER });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.approvals.length > 0) {
      assert.equal(r.body.approvals.length, 1, JSON.stringify(r.body.approvals));
      return r.body.approvals[0];
    }
    await sleep(50);
  }
  throw new Error('no approval appeared on the gateway');
}

const decide = (url, id, verb, note) =>
  call(url, 'POST', `/v1/approvals/${id}/${verb}`, { key: APPROVER, body: note === undefined ? {} : { note } });

test('a person grants on the gateway while the call waits: it runs, once, audited on both sides', async (t) => {
  const gw = await gateway(t);
  const { client, audit } = await proxy(t, ['--approvals', gw.url, '--key', AGENT]);
  const running = client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
  const a = await pending(gw.url);
  assert.equal(a.agent, 'desk-agent');
  assert.equal(a.tool, 'get-sum');
  assert.deepEqual(a.args, { a: 2, b: 3 });
  assert.equal(a.result.reason, 'requires approval per pattern: get-sum');
  assert.equal(a.result.matched_rule, 'get-sum');
  assert.equal(a.result.asked_by, 'agent');
  assert.equal((await decide(gw.url, a.id, 'grant', 'ok')).status, 200);
  const r = await running;
  assert.equal(text(r), 'The sum of 2 and 3 is 5.');
  assert.deepEqual(audit().map((l) => [l.tool, l.approval, l.action]), [['get-sum', 'approved', 'forwarded']]);
  const used = await call(gw.url, 'GET', `/v1/approvals/${a.id}`, { key: APPROVER });
  assert.equal(used.body.approval.status, 'used', 'spent on this call');

  // Allowed and denied calls never reach the queue.
  assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
  await assert.rejects(client.callTool({ name: 'get-env', arguments: {} }), /Unknown tool: get-env/);
  const all = await call(gw.url, 'GET', '/v1/approvals?status=all', { key: APPROVER });
  assert.equal(all.body.approvals.length, 1);
});

test('a person denies on the gateway: the call is refused with who and why, and never runs', async (t) => {
  const gw = await gateway(t);
  const { client, audit } = await proxy(t, ['--approvals', gw.url], { AGENTGUARD_KEY: AGENT });
  const running = client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } });
  const a = await pending(gw.url);
  await decide(gw.url, a.id, 'deny', 'not now');
  const r = await running;
  assert.equal(r.isError, true);
  assert.match(text(r), /^Blocked by policy: the call to tool 'get-sum' was not run\. Rule: get-sum\./);
  assert.ok(text(r).includes(`A person denied it on the agentguard gateway (approval ${a.id}, by carol: not now).`), text(r));
  assert.deepEqual(audit().map((l) => [l.approval, l.action]), [['declined', 'blocked']]);
});

test('nobody answers in time: refused naming the approval; granted later, the same call again runs on it', async (t) => {
  const gw = await gateway(t);
  const { client, audit } = await proxy(t, ['--approvals', gw.url, '--key', AGENT, '--approval-timeout', '1']);
  const started = Date.now();
  const r = await client.callTool({ name: 'get-sum', arguments: { a: 4, b: 5 } });
  assert.ok(Date.now() - started >= 900, `waited the --approval-timeout (${Date.now() - started} ms)`);
  assert.equal(r.isError, true);
  const a = await pending(gw.url);
  assert.ok(text(r).includes(`No approval was given within 1 s. The request waits on the agentguard gateway as approval ${a.id}`), text(r));
  await decide(gw.url, a.id, 'grant');
  const again = await client.callTool({ name: 'get-sum', arguments: { b: 5, a: 4 } });
  assert.equal(text(again), 'The sum of 4 and 5 is 9.');
  const all = await call(gw.url, 'GET', '/v1/approvals?status=all', { key: APPROVER });
  assert.deepEqual(all.body.approvals.map((x) => [x.id, x.status]), [[a.id, 'used']], 'waited on the same approval, not a second one');
  assert.deepEqual(audit().map((l) => [l.approval, l.action]), [['timeout', 'blocked'], ['approved', 'forwarded']]);
});

test('a gateway that cannot be used refuses the call (fail closed); bad flags stop the proxy at start', async (t) => {
  // Nothing listens on port 1 of loopback.
  const { client, audit } = await proxy(t, ['--approvals', 'http://127.0.0.1:1', '--key', AGENT]);
  const r = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.equal(r.isError, true);
  assert.match(text(r), /The agentguard gateway's approval queue could not be used: http:\/\/127\.0\.0\.1:1\/v1\/approvals/);
  assert.deepEqual(audit().map((l) => [l.approval, l.action]), [['error', 'blocked']]);

  // A wrong key: the gateway's own message.
  const gw = await gateway(t);
  const wrong = await proxy(t, ['--approvals', gw.url, '--key', 'not-a-key']);
  const w = await wrong.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.equal(w.isError, true);
  assert.match(text(w), /401 Unauthorized: unknown API key/);

  const dir = tempDir(t);
  const policyPath = join(dir, 'p.json');
  writeFileSync(policyPath, '{}');
  const start = (args, env = {}) => spawnSync(BIN, ['mcp', '--policy', policyPath, ...args, '--', 'true'], {
    encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH, ...env },
  });
  const cases = [
    [['--approvals', 'https://gw.example', '--key', 'k'], /https is not supported by the proxy/],
    [['--approvals', 'gw.example:8080', '--key', 'k'], /expected http:\/\/HOST:PORT/],
    [['--approvals', 'http://127.0.0.1:1'], /--key/],
  ];
  for (const [args, message] of cases) {
    const p = start(args);
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
    assert.match(p.stderr, message);
  }
});
