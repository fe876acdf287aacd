// The stub MCP server of the proxy benchmark: newline-delimited JSON-RPC on
// stdio, answering initialize, tools/list and tools/call (a small text
// result echoing the path) as fast as Node can, so the figures are the
// transport's and the proxy's, not a server's work.
const out = process.stdout;
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let nl;
  let batch = '';
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    if (msg.id === undefined || msg.method === undefined) continue;
    let result;
    switch (msg.method) {
      case 'initialize':
        result = { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} },
                   serverInfo: { name: 'bench-server', version: '1.0.0' } };
        break;
      case 'tools/list':
        result = { tools: [
          { name: 'read_file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } },
          { name: 'delete_file', inputSchema: { type: 'object' } },
        ] };
        break;
      case 'tools/call':
        result = { content: [{ type: 'text', text: `ok ${msg.params.arguments?.path ?? ''}` }] };
        break;
      default:
        result = {};
    }
    batch += JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }) + '\n';
  }
  if (batch) out.write(batch);
});
