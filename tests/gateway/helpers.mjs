// Shared by the gateway tests: start the real server as a child process on
// 127.0.0.1 with a fresh data directory, and talk to it over HTTP.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const GATEWAY = join(ROOT, "examples/gateway");
export const SERVER = join(GATEWAY, "server.mjs");
export const CLI = join(GATEWAY, "cli.mjs");
/**
 * Where `make mesh-cli` installed the agentguard-mesh command (make
 * test-gateway passes it; the default is the Makefile's).
 */
export const MESH_BIN_DIR = process.env.AGENTGUARD_MESH_BIN ?? join(ROOT, "target/mesh/bin");

/** The agentguard package as the gateway resolves it (the installed tarball). */
export const agentguard = createRequire(join(GATEWAY, "package.json"))("agentguard");

export const ADMIN = "test-admin-key-0001";
/** Agent keys: `key-<agent>` for each agent. */
export const AGENTS = [
  "analytics-agent",
  "ops-agent",
  "reporting-agent",
  "tenant-a-bot",
  "tenant-a-db",
  "tenant-b-bot",
  "tenant-b-db",
];
export const keyOf = (agent) => `key-${agent}`;

/** A temporary directory removed by `cleanup()`. */
export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "agentguard-gateway-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the test keys file into `dir` and returns its path. */
export function writeKeys(dir) {
  const keys = { [ADMIN]: { role: "admin" } };
  for (const a of AGENTS) keys[keyOf(a)] = { agent: a, role: "agent" };
  const path = join(dir, "keys.json");
  writeFileSync(path, JSON.stringify({ keys }));
  return path;
}

/**
 * Starts `server.mjs --port 0` and waits for its `listening on` line
 * (`env` is added to the environment). Resolves to
 * `{url, child, output(), stop(), kill9(), exited}`.
 */
export function startServer({ dataDir, keysFile, extraArgs = [], env = {} }) {
  const child = spawn(process.execPath, [SERVER, "--port", "0", "--data-dir", dataDir, "--keys", keysFile, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start in 10 s; stdout: ${out}; stderr: ${err}`));
    }, 10_000);
    const onData = () => {
      const first = out.split("\n")[0];
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
      if (m && out.includes("\n")) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolve({
          url: m[1],
          child,
          output: () => ({ stdout: out, stderr: err }),
          stop: async () => {
            child.kill("SIGTERM");
            return exited;
          },
          kill9: async () => {
            child.kill("SIGKILL");
            return exited;
          },
          exited,
        });
      } else if (out.includes("\n") && !first.startsWith("listening on")) {
        clearTimeout(timer);
        reject(new Error(`first line was not "listening on ...": ${first}`));
      }
    };
    child.stdout.on("data", onData);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stderr: ${err}`));
    });
  });
}

/**
 * One HTTP request; resolves to `{status, body, headers}` (body parsed as
 * JSON when it is JSON).
 */
export async function call(url, method, path, { key, body, raw, headers = {} } = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(key === undefined ? {} : { "x-api-key": key }), ...headers },
    body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const policyPath = (agent) => `/v1/mesh/agents/${encodeURIComponent(agent)}/policies/action`;

/** A fresh gateway for one test, stopped after it. */
export async function freshGateway(t) {
  const dir = tempDir(t);
  const keysFile = writeKeys(dir);
  const dataDir = join(dir, "data");
  const server = await startServer({ dataDir, keysFile });
  t.after(() => server.stop());
  return { ...server, dir, dataDir, keysFile };
}

/**
 * Spawns `server.mjs --port 0` without waiting for anything; resolves
 * nothing. Returns `{child, exited, output()}` where `exited` resolves to
 * `{code, signal}`.
 */
export function spawnServer({ dataDir, keysFile, extraArgs = [], env = {} }) {
  const child = spawn(process.execPath, [SERVER, "--port", "0", "--data-dir", dataDir, "--keys", keysFile, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/**
 * Runs `server.mjs` expecting it to die before it listens (a crash point
 * set through `env`); resolves to `{code, signal, stdout, stderr}`. Killed
 * after `timeoutMs` if it neither dies nor listens.
 */
export async function runServerToExit({ timeoutMs = 20_000, ...options }) {
  const s = spawnServer(options);
  const timer = setTimeout(() => s.child.kill("SIGKILL"), timeoutMs);
  const { code, signal } = await s.exited;
  clearTimeout(timer);
  return { code, signal, ...s.output() };
}

/** Sends one intent from `from` to `to`; resolves to the response. */
export function sendIntent(url, from, to, intentType, payload = null) {
  return call(url, "POST", "/v1/mesh/intents", { key: keyOf(from), body: { intent_type: intentType, to_agent: to, payload } });
}

/** Takes every queued intent of `agent`, a page of `limit` at a time. */
export async function drainInbox(url, agent, limit = 1000) {
  const all = [];
  for (let i = 0; i < 10_000; i++) {
    const r = await call(url, "GET", `/v1/mesh/inbox?limit=${limit}`, { key: keyOf(agent) });
    if (r.status !== 200) throw new Error(`inbox: ${r.status} ${JSON.stringify(r.body)}`);
    all.push(...r.body.intents);
    if (r.body.remaining === 0) return all;
  }
  throw new Error("inbox did not drain");
}
