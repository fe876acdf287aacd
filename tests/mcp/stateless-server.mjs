// A stdio MCP server of the stateless protocol (2026-07-28): no initialize;
// every request carries `_meta`; results carry resultType. argv: RECORD_FILE
// (every line it reads is appended there). Tools: move_file (echoes what it
// received), ask_reason (answers input_required with its own requestState
// "srv-1" until the retry brings it back with inputResponses.reason), and
// delete_all.
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [record] = process.argv.slice(2);
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const INFO = { name: 'stateless-stub', version: '1.0.0' };

createInterface({ input: process.stdin }).on('line', (line) => {
  appendFileSync(record, line + '\n');
  const msg = JSON.parse(line);
  if (msg.id === undefined || msg.method === undefined) return;
  const reply = (result) => send({ jsonrpc: '2.0', id: msg.id,
    result: { resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': INFO }, ...result } });
  const p = msg.params ?? {};
  switch (msg.method) {
    case 'server/discover':
      reply({ supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, serverInfo: INFO });
      break;
    case 'tools/list':
      reply({ tools: ['move_file', 'ask_reason', 'delete_all'].map((name) => ({ name, inputSchema: { type: 'object' } })) });
      break;
    case 'tools/call':
      if (p.name === 'ask_reason' && p.requestState !== 'srv-1') {
        reply({ resultType: 'input_required', requestState: 'srv-1',
          inputRequests: { reason: { method: 'elicitation/create', params: { mode: 'form', message: 'Why?',
            requestedSchema: { type: 'object', properties: { why: { type: 'string' } } } } } } });
      } else if (p.name === 'ask_reason') {
        reply({ content: [{ type: 'text', text: `reason: ${p.inputResponses?.reason?.content?.why}` }] });
      } else {
        reply({ content: [{ type: 'text', text: `${p.name} ${JSON.stringify(p.arguments)}` }] });
      }
      break;
    default:
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
  }
});
