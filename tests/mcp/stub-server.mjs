// A minimal stdio MCP server for the proxy's lifecycle and byte-faithfulness
// tests. argv: RECORD_FILE [MODE]. Every byte it reads is appended to
// RECORD_FILE; it answers initialize, tools/list, tools/call and ping.
// MODE "exit-on-call": exits with code 5 on the first tools/call, without
// answering; "exit-now": exits with code 3 at once.
import { appendFileSync } from 'node:fs';

const [record, mode] = process.argv.slice(2);
if (mode === 'exit-now') process.exit(3);

const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
let pending = '';
process.stdin.on('data', (chunk) => {
  appendFileSync(record, chunk);
  pending += chunk.toString('utf8');
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'stub: parse error' } });
      continue;
    }
    if (msg.id === undefined || msg.method === undefined) continue;
    const reply = (result) => send({ jsonrpc: '2.0', id: msg.id, result });
    switch (msg.method) {
      case 'initialize':
        reply({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} },
                serverInfo: { name: 'stub', version: '0.0.1' } });
        break;
      case 'tools/list':
        reply({ tools: [
          { name: 'echo', inputSchema: { type: 'object' } },
          { name: 'delete_everything', inputSchema: { type: 'object' } },
        ] });
        break;
      case 'tools/call':
        if (mode === 'exit-on-call') process.exit(5);
        reply({ content: [{ type: 'text', text: JSON.stringify(msg.params.arguments ?? {}) }] });
        break;
      default:
        reply({});
    }
  }
});
