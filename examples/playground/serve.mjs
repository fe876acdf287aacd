#!/usr/bin/env node
// A tiny static server for the playground, on loopback only: the page from
// this folder at `/`, and the agentguard package (the built `pkg/`, or any
// installed copy) at `/agentguard/`, where the page's import map points.
//
//   node examples/playground/serve.mjs [--port 8099] [--pkg path/to/agentguard]

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Resolves a URL path inside `root`, or null when it would leave it. */
function inside(root, urlPath) {
  const file = resolve(root, `.${urlPath}`);
  return file === root || file.startsWith(root + sep) ? file : null;
}

/**
 * Starts the server and resolves once it listens.
 * @param {{ port?: number, host?: string, pkgDir?: string, root?: string, mounts?: Record<string, string> }} [options]
 *   `port` 0 picks a free one; `mounts` maps extra URL prefixes (like
 *   `/bundle/`) to folders.
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startServer({ port = 8099, host = "127.0.0.1", pkgDir, root = HERE, mounts = {} } = {}) {
  const pkg = resolve(pkgDir ?? join(HERE, "..", "..", "pkg"));
  const table = Object.entries({ ...mounts, "/agentguard/": pkg })
    .map(([prefix, dir]) => [prefix, resolve(dir)])
    .concat([["/", resolve(root)]]);
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400).end("bad path");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const [prefix, dir] = table.find(([p]) => path.startsWith(p));
    let file = inside(dir, path.slice(prefix.length - 1));
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, "index.html");
      if (!file) throw new Error("outside");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      // Browsers ask for one unprompted; a missing icon is not an error.
      if (path === "/favicon.ico") return void res.writeHead(204).end();
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}`);
    }
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, ok);
  });
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://${host}:${address.port}/`,
    // Browsers keep idle keep-alive connections open; end them so close()
    // returns as soon as the server stops, whoever called it.
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const pkgDir = arg("pkg");
  const { url } = await startServer({ port: Number(arg("port") ?? process.env.PORT ?? 8099), pkgDir });
  console.log(`agentguard playground: ${url}  (Ctrl+C stops it)`);
}
