// Shared by the gateway tests: start the real gateway (`agentguard serve`,
// the Rust binary) as a child process on 127.0.0.1 with fresh storage, and
// talk to it over HTTP.
//
// Storage: SQLite in the test's data directory by default; with
// AGENTGUARD_TEST_DATABASE_URL set (make test-gateway-postgres), a fresh
// PostgreSQL database per data directory on that server (created here,
// dropped when the test file's process exits), so that the same tests run
// on both.

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The agentguard command (make test-gateway passes the one it built). */
export const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, "target/cli/release/agentguard");

/** The PostgreSQL server the tests use, if any (an admin URL). */
export const DATABASE_URL = process.env.AGENTGUARD_TEST_DATABASE_URL || null;

/** Runs SQL on the PostgreSQL server of DATABASE_URL (or another database's URL). */
export function psql(sql, url = DATABASE_URL) {
  return execFileSync("psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql], { encoding: "utf8", timeout: 30_000 });
}

/** `url` with its database name replaced. */
export function databaseUrl(name, url = DATABASE_URL) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const created = new Set();
process.on("exit", () => {
  for (const name of created) {
    try {
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {
      // the server is gone: nothing to drop
    }
  }
});

/** A fresh database (dropped at exit); its URL. */
export function freshDatabase(tag) {
  const name = `agentguard_test_${createHash("sha256").update(`${tag}:${process.pid}`).digest("hex").slice(0, 16)}`;
  if (!created.has(name)) {
    psql(`CREATE DATABASE ${name}`);
    created.add(name);
  }
  return databaseUrl(name);
}

/** The storage flags for a data directory: itself (SQLite) or its own PostgreSQL database. */
export function storageArgs(dataDir) {
  return DATABASE_URL === null ? ["--data-dir", dataDir] : ["--database", freshDatabase(dataDir)];
}

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
 * Starts `agentguard serve --port 0` and waits for its `listening on` line
 * (`env` is added to the environment; `database`, a postgres:// URL, replaces
 * the storage of `dataDir`). Resolves to
 * `{url, child, output(), stop(), kill9(), exited}`.
 */
export function startServer({ dataDir, keysFile, extraArgs = [], env = {}, database }) {
  const storage = database === undefined ? storageArgs(dataDir) : ["--database", database];
  const child = spawn(BIN, ["serve", "--port", "0", ...storage, "--keys", keysFile, ...extraArgs], {
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
    // "close" comes after the process's output is read to its end ("exit"
    // can come first), so the message carries all of stderr.
    child.once("close", (code) => {
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
 * Spawns `agentguard serve --port 0` without waiting for anything; resolves
 * nothing (`database` as for startServer). Returns `{child, exited, output()}`
 * where `exited` resolves to `{code, signal}`.
 */
export function spawnServer({ dataDir, keysFile, extraArgs = [], env = {}, database }) {
  const storage = database === undefined ? storageArgs(dataDir) : ["--database", database];
  const child = spawn(BIN, ["serve", "--port", "0", ...storage, "--keys", keysFile, ...extraArgs], {
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
 * Runs `agentguard serve` expecting it to die before it listens (a crash point
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

/**
 * Takes every queued intent of `agent`, a page of `limit` at a time, and
 * acknowledges each page (unless `ack` is false: then they come back after
 * the lease).
 */
export async function drainInbox(url, agent, limit = 1000, { ack = true } = {}) {
  const all = [];
  for (let i = 0; i < 10_000; i++) {
    const r = await call(url, "GET", `/v1/mesh/inbox?limit=${limit}`, { key: keyOf(agent) });
    if (r.status !== 200) throw new Error(`inbox: ${r.status} ${JSON.stringify(r.body)}`);
    all.push(...r.body.intents);
    if (ack && r.body.intents.length > 0) {
      const a = await call(url, "POST", "/v1/mesh/inbox/ack", { key: keyOf(agent), body: { intent_ids: r.body.intents.map((x) => x.intent_id) } });
      if (a.status !== 200) throw new Error(`ack: ${a.status} ${JSON.stringify(a.body)}`);
    }
    if (r.body.remaining === 0) return all;
  }
  throw new Error("inbox did not drain");
}
