// A tiny stdio MCP server whose tools can change between runs and while it
// runs: for tool pinning and notifications/tools/list_changed through the
// proxy. argv: TOOLS_FILE, a JSON array of tool definitions, read again on
// every tools/list. tools/call "announce-change" sends
// notifications/tools/list_changed (then answers); any other tool answers
// with its name and arguments.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [toolsFile] = process.argv.slice(2);
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
    return;
  }
  if (msg.id === undefined || msg.method === undefined) return;
  const reply = (result) => send({ jsonrpc: '2.0', id: msg.id, result });
  switch (msg.method) {
    case 'initialize':
      reply({ protocolVersion: msg.params.protocolVersion,
              capabilities: { tools: { listChanged: true } },
              serverInfo: { name: 'changing-server', version: '1.0.0' } });
      break;
    case 'tools/list':
      reply({ tools: JSON.parse(readFileSync(toolsFile, 'utf8')) });
      break;
    case 'tools/call':
      if (msg.params.name === 'announce-change') {
        send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      }
      reply({ content: [{ type: 'text', text: `${msg.params.name} ${JSON.stringify(msg.params.arguments ?? {})}` }] });
      break;
    default:
      reply({});
  }
});
