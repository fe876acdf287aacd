#!/usr/bin/env node
// The agentguard mesh gateway: every intent (an action request from one
// agent to another) passes here, is checked against the sender's `send` and
// the receiver's `receive` action policies, and is delivered to the
// receiver's inbox or refused with a 403 and an audit record. The agents
// never see the policies, so no prompt can talk its way past them.
//
//   node examples/gateway/server.mjs --port 8787 --data-dir ./mesh-data --keys keys.json
//
// The semantics (addresses, modes, patterns, violation messages, the policy
// store format) are the core's, through the npm package's ActionPolicies;
// this file is HTTP, authentication and durability.

import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { ActionPolicies, PolicyError } from "agentguard";

import { AppendLog, SegmentedLog, readJsonLines, removeStaleTemporaries, writeFileAtomic } from "./store.mjs";
import { findDuplicateKey, formatPath } from "./strict-json.mjs";

/** Request bodies above this many bytes get a 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How many audit records are kept in memory (older ones are read from disk). */
export const AUDIT_MEMORY = 50_000;
/** The audit log's active file is rotated into a segment past this size. */
export const AUDIT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** An inbox is compacted while running once this many of its lines are taken. */
export const INBOX_COMPACT_LINES = 10_000;
const DASHBOARD = fileURLToPath(new URL("./dashboard.html", import.meta.url));

/** An error that becomes a JSON response: `{error, message, ...extra}`. */
export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {Record<string, unknown>} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

const bad = (message, extra) => new HttpError(400, "bad_request", message, extra);

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function hashKey(key) {
  return createHash("sha256").update(key).digest("hex");
}

/**
 * Reads and checks an API keys file:
 * `{"keys": {"<key>": {"agent": "<address id>", "role": "agent"}, "<key>": {"role": "admin"}}}`.
 *
 * @param {string} path
 * @returns {Map<string, {role: "agent" | "admin", agent: string | null}>} by sha256 of the key
 */
export function loadKeys(path) {
  let doc;
  let duplicate;
  try {
    const text = readFileSync(path, "utf8");
    doc = JSON.parse(text);
    duplicate = findDuplicateKey(text);
  } catch (e) {
    throw new Error(`keys file ${path}: ${e.message}`);
  }
  const fail = (what) => {
    throw new Error(`keys file ${path}: ${what}`);
  };
  if (duplicate !== null) fail(describeDuplicateKey(duplicate));
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) fail(`expected an object, got ${describe(doc)}`);
  for (const k of Object.keys(doc)) if (k !== "keys") fail(`unknown key ${JSON.stringify(k)} (known keys: keys)`);
  const keys = doc.keys;
  if (keys === null || typeof keys !== "object" || Array.isArray(keys)) fail(`"keys" must be an object, got ${describe(keys)}`);
  const out = new Map();
  let n = 0;
  for (const [key, entry] of Object.entries(keys)) {
    n += 1;
    const where = `keys entry ${n}`;
    if (key.length < 8) fail(`${where}: a key must be at least 8 characters long`);
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) fail(`${where}: expected an object, got ${describe(entry)}`);
    for (const k of Object.keys(entry)) if (k !== "role" && k !== "agent") fail(`${where}: unknown key ${JSON.stringify(k)} (known keys: role, agent)`);
    if (entry.role === "admin") {
      if (entry.agent !== undefined) fail(`${where}: an admin key has no "agent"`);
      out.set(hashKey(key), { role: "admin", agent: null });
    } else if (entry.role === "agent") {
      if (typeof entry.agent !== "string") fail(`${where}: an agent key needs "agent": "<address id>", got ${describe(entry.agent)}`);
      let id;
      try {
        id = ActionPolicies.resolveAddress(entry.agent);
      } catch (e) {
        fail(`${where}: ${e.message}`);
      }
      out.set(hashKey(key), { role: "agent", agent: id });
    } else {
      fail(`${where}: "role" must be "agent" or "admin", got ${describe(entry.role)}`);
    }
  }
  return out;
}

/**
 * A duplicate key in the keys file, said so that the operator can find it.
 * An API key is a secret: a repeated one is named by its entry numbers and
 * places in the file, never printed.
 *
 * @param {import("./strict-json.mjs").DuplicateKey} d
 */
export function describeDuplicateKey({ key, path, index, firstIndex, at, first }) {
  const place = (p) => `line ${p.line}, column ${p.column}`;
  const where = `${place(at)}; first at ${place(first)}`;
  const [top, entry, ...rest] = path;
  if (path.length === 1 && top.key === "keys") {
    return `duplicate key in "keys": entry ${index + 1} (${place(at)}) is the same API key as entry ${firstIndex + 1} (${place(first)}); the key itself is not printed`;
  }
  let container = path.length === 0 ? "at the top level" : `in ${formatPath(path)}`;
  if (top?.key === "keys" && entry !== undefined) {
    container = `in keys entry ${entry.index + 1}${rest.length > 0 ? ` (at ${formatPath(rest)})` : ""}`;
  }
  return `duplicate key ${JSON.stringify(key)} ${container} (${where})`;
}

function newId(prefix) {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function tooLarge() {
  return new HttpError(413, "payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes (1 MB)`);
}

async function readJson(req) {
  const raw = await readBody(req);
  if (raw.length === 0) throw new HttpError(400, "invalid_json", "request body is empty; expected a JSON object");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new HttpError(400, "invalid_json", "request body is not valid UTF-8");
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `request body is not valid JSON: ${e.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "invalid_json", `request body must be a JSON object, got ${describe(value)}`);
  }
  return value;
}

/** A PolicyError or TypeError from the package as a 400. */
function asBadRequest(e) {
  if (e instanceof PolicyError) {
    return new HttpError(400, "invalid_policy", e.message, { kind: e.kind, field: e.field, index: e.index });
  }
  if (e instanceof TypeError) return bad(e.message);
  return e;
}

/**
 * An input error from the package about one request field, as a 400 that
 * names the field as the HTTP API calls it.
 */
function renamed(e, label, field) {
  if (!(e instanceof PolicyError) && !(e instanceof TypeError)) return e;
  const message = e.message.replace(/^[a-z_]+: /, "");
  return bad(`${label}: ${message}`, { field });
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

function queryLimit(url, fallback, max) {
  const raw = url.searchParams.get("limit");
  if (raw === null) return fallback;
  if (!/^[0-9]{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw bad(`limit must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

const POLICY_ROUTE = /^\/v1\/mesh\/agents\/([^/]+)\/policies\/action$/;

/**
 * The gateway's state and request handler, without a listening socket.
 * `await Gateway.open(...)` loads the data directory.
 */
export class Gateway {
  /** @type {ActionPolicies} */
  #policies;
  #keys;
  #dataDir;
  #policyPath;
  /** @type {SegmentedLog} */
  #audit;
  /**
   * Per receiver: `log`, the inbox file; `queue`, its durable, untaken
   * intents in file order; `base`, how many intents compactions dropped from
   * the front of the file (its header line says so); `taken`, how many were
   * handed out in all (the cursor, counted from the first intent ever, not
   * from the file's first line); `durableTaken`, the cursor as last written;
   * `cursorWrites`, the chain that keeps cursor writes and compactions in
   * order.
   *
   * @type {Map<string, {log: AppendLog, queue: object[], base: number, taken: number, durableTaken: number, cursorWrites: Promise<void>}>}
   */
  #inboxes = new Map();
  #policyWrites = Promise.resolve();
  #compactLines;
  #warn;

  constructor(keys, dataDir, policies, audit, compactLines, warn) {
    this.#keys = keys;
    this.#dataDir = dataDir;
    this.#policyPath = join(dataDir, "policies.json");
    this.#policies = policies;
    this.#audit = audit;
    this.#compactLines = compactLines;
    this.#warn = warn;
  }

  /**
   * Loads (or creates) a data directory, and compacts every inbox that has
   * taken intents (see {@link compactInbox}) before it serves anything.
   *
   * @param {{keys: Map<string, {role: string, agent: string | null}>, dataDir: string, warn?: (m: string) => void,
   *   auditSegmentBytes?: number, auditMemory?: number, inboxCompactLines?: number}} options
   *   `auditSegmentBytes`: rotate the audit log past this size (default {@link AUDIT_SEGMENT_BYTES});
   *   `auditMemory`: audit records kept in memory (default {@link AUDIT_MEMORY});
   *   `inboxCompactLines`: compact an inbox while running once this many of its lines are taken
   *   (default {@link INBOX_COMPACT_LINES})
   */
  static async open({
    keys,
    dataDir,
    warn = (m) => console.warn(`warning: ${m}`),
    auditSegmentBytes = AUDIT_SEGMENT_BYTES,
    auditMemory = AUDIT_MEMORY,
    inboxCompactLines = INBOX_COMPACT_LINES,
  }) {
    mkdirSync(join(dataDir, "inbox"), { recursive: true });
    removeStaleTemporaries(dataDir);
    removeStaleTemporaries(join(dataDir, "inbox"));
    const policyPath = join(dataDir, "policies.json");
    let policies;
    let text = null;
    try {
      text = readFileSync(policyPath, "utf8");
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
    try {
      policies = text === null ? new ActionPolicies() : ActionPolicies.fromJSON(text);
    } catch (e) {
      throw new Error(`${policyPath}: ${e.message}`);
    }
    const audit = await SegmentedLog.open({ dir: dataDir, name: "audit", segmentBytes: auditSegmentBytes, memory: auditMemory, warn });
    const gw = new Gateway(keys, dataDir, policies, audit, inboxCompactLines, warn);
    const inboxDir = join(dataDir, "inbox");
    for (const name of readdirSync(inboxDir).sort()) {
      const m = /^(.+)\.jsonl$/.exec(name);
      if (!m) continue;
      const box = gw.#loadInbox(m[1]);
      // A failed compaction leaves the old file, which is still right: warn (compactInbox does) and go on.
      if (box.durableTaken > box.base) await gw.compactInbox(m[1]).catch(() => {});
    }
    return gw;
  }

  #loadInbox(agent) {
    const path = join(this.#dataDir, "inbox", `${agent}.jsonl`);
    const cursorPath = join(this.#dataDir, "inbox", `${agent}.taken`);
    const lines = readJsonLines(path, this.#warn);
    const header = lines.length > 0 && typeof lines[0].inbox_base === "number" ? lines[0] : null;
    const base = header === null ? 0 : header.inbox_base;
    const records = header === null ? lines : lines.slice(1);
    let taken = 0;
    try {
      taken = JSON.parse(readFileSync(cursorPath, "utf8")).taken;
    } catch (e) {
      if (e.code !== "ENOENT") throw new Error(`${cursorPath}: ${e.message}`);
    }
    if (!Number.isSafeInteger(taken) || taken < base || taken > base + records.length) {
      throw new Error(
        `${cursorPath}: the cursor (${JSON.stringify(taken)} taken) does not fit ${path} (intents ${base} to ${base + records.length}); the data directory is damaged`,
      );
    }
    const box = {
      log: new AppendLog(path),
      queue: records.slice(taken - base),
      base,
      taken,
      durableTaken: taken,
      cursorWrites: Promise.resolve(),
    };
    this.#inboxes.set(agent, box);
    return box;
  }

  /**
   * Rewrites `agent`'s inbox file with only the intents not durably taken,
   * behind a header line `{"inbox_base": N}` that says how many were dropped
   * (the cursor file keeps counting from the first intent ever, so it needs
   * no change and the two files never disagree). The rewrite is atomic
   * (temporary file, fsync, rename, directory fsync): a crash leaves the old
   * file or the new one, both complete. It runs between cursor writes and
   * with the inbox's appends held, so no acknowledged intent can be missed.
   * Runs at startup for every inbox with taken intents, and while running
   * once `inboxCompactLines` lines are taken.
   *
   * @param {string} agent
   * @returns {Promise<{dropped: number, kept: number}>}
   */
  compactInbox(agent) {
    const box = this.#inbox(agent);
    const run = box.cursorWrites.then(() =>
      box.log.exclusive(async () => {
        const upTo = box.durableTaken;
        if (upTo === box.base) return { dropped: 0, kept: box.queue.length };
        const text = await readFile(box.log.path, "utf8");
        const lines = text.split("\n");
        if (lines.at(-1) === "") lines.pop();
        const first = lines.length > 0 && lines[0].startsWith('{"inbox_base":') ? 1 : 0;
        const keep = lines.slice(first + (upTo - box.base));
        const header = JSON.stringify({ inbox_base: upTo });
        await writeFileAtomic(box.log.path, `${[header, ...keep].join("\n")}\n`, "compact");
        const dropped = upTo - box.base;
        box.base = upTo;
        return { dropped, kept: keep.length };
      }),
    );
    box.cursorWrites = run.then(
      () => {},
      (e) => this.#warn(`${box.log.path}: compaction failed (${e.message}); the file is unchanged`),
    );
    return run;
  }

  #inbox(agent) {
    return this.#inboxes.get(agent) ?? this.#loadInbox(agent);
  }

  /** Every agent the gateway knows: those with keys and those with policies. */
  knownAgents() {
    const ids = new Set(this.#policies.agents);
    for (const k of this.#keys.values()) if (k.agent !== null) ids.add(k.agent);
    return [...ids].sort();
  }

  #isKnownAgent(id) {
    for (const k of this.#keys.values()) if (k.agent === id) return true;
    return false;
  }

  #authenticate(req) {
    const key = req.headers["x-api-key"];
    if (typeof key !== "string" || key === "") {
      throw new HttpError(401, "unauthorized", "missing API key: send it in the x-api-key header");
    }
    const who = this.#keys.get(hashKey(key));
    if (who === undefined) throw new HttpError(401, "unauthorized", "unknown API key");
    return who;
  }

  #requireAdmin(who, what) {
    if (who.role !== "admin") {
      throw new HttpError(403, "forbidden", `only admin keys can ${what}; this key belongs to agent ${JSON.stringify(who.agent)}`);
    }
  }

  #record(record) {
    return this.#audit.append({ audit_id: newId("aud"), timestamp: Date.now() / 1000, ...record });
  }

  /** Persists the current policies; calls are serialised, each writes the latest state. */
  #savePolicies() {
    const next = this.#policyWrites.then(() =>
      writeFileAtomic(this.#policyPath, `${JSON.stringify(this.#policies.toJSON(), null, 1)}\n`),
    );
    this.#policyWrites = next.catch(() => {});
    return next;
  }

  #policyView(agent) {
    const both = this.#policies.get(agent);
    const view = {};
    for (const d of ["send", "receive"]) {
      const p = both[d];
      view[d] = p === null ? { direction: d, mode: "open", patterns: [], policy_id: null } : { policy_id: null, ...p };
    }
    return view;
  }

  /** The node:http request listener. */
  handle = (req, res) => {
    this.#route(req, res).catch((e) => {
      if (e instanceof HttpError) {
        const err = e;
        const headers = err.status === 413 ? { connection: "close" } : err.headers ?? {};
        send(res, err.status, { error: err.code, message: err.message, ...err.extra }, headers);
        if (err.status === 413) req.resume();
      } else {
        console.error(e);
        if (!res.headersSent) send(res, 500, { error: "internal", message: "internal error; see the gateway's log" });
        else res.destroy();
      }
    });
  };

  async #route(req, res) {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const allow = (methods) => {
      if (!methods.includes(method)) {
        const e = new HttpError(405, "method_not_allowed", `${method} is not allowed on ${path}; use ${methods.join(", ")}`);
        e.headers = { allow: methods.join(", ") };
        throw e;
      }
    };

    if (path === "/" || path === "/dashboard") {
      allow(["GET"]);
      const html = readFileSync(DASHBOARD);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": html.length, "cache-control": "no-store" });
      res.end(html);
      return;
    }
    if (path === "/healthz") {
      allow(["GET"]);
      send(res, 200, { ok: true });
      return;
    }
    const policyMatch = POLICY_ROUTE.exec(path);
    if (policyMatch) {
      allow(["GET", "PUT", "DELETE"]);
      const who = this.#authenticate(req);
      this.#requireAdmin(who, "manage action policies");
      let raw;
      try {
        raw = decodeURIComponent(policyMatch[1]);
      } catch {
        throw bad(`agent id in the path is not valid percent-encoding: ${JSON.stringify(policyMatch[1])}`);
      }
      let agent;
      try {
        agent = ActionPolicies.resolveAddress(raw);
      } catch (e) {
        throw renamed(e, "agent id in the path", "agent");
      }
      if (method === "GET") return send(res, 200, { ok: true, agent, policies: this.#policyView(agent) });
      if (method === "PUT") return this.#putPolicy(req, res, agent);
      return this.#deletePolicy(res, url, agent);
    }
    if (path === "/v1/mesh/intents") {
      allow(["POST"]);
      return this.#postIntent(req, res, this.#authenticate(req));
    }
    if (path === "/v1/mesh/inbox") {
      allow(["GET"]);
      return this.#takeInbox(res, url, this.#authenticate(req));
    }
    if (path === "/v1/mesh/audit") {
      allow(["GET"]);
      const who = this.#authenticate(req);
      this.#requireAdmin(who, "read the audit trail");
      return this.#readAudit(res, url);
    }
    if (path === "/v1/mesh/agents") {
      allow(["GET"]);
      const who = this.#authenticate(req);
      this.#requireAdmin(who, "list agents");
      const agents = this.knownAgents().map((agent) => ({ agent, policies: this.#policyView(agent) }));
      return send(res, 200, { ok: true, agents });
    }
    throw new HttpError(404, "not_found", `no route for ${path}`);
  }

  async #putPolicy(req, res, agent) {
    const body = await readJson(req);
    if ("policy_id" in body) throw bad("policy_id is assigned by the gateway; leave it out");
    const policyId = newId("pol");
    let previous;
    try {
      previous = this.#policies.set(agent, { ...body, policy_id: policyId });
    } catch (e) {
      throw asBadRequest(e);
    }
    try {
      await this.#savePolicies();
    } catch (e) {
      // Not durable: undo, so memory never holds what the disk does not.
      if (previous === null) this.#policies.delete(agent, body.direction);
      else this.#policies.set(agent, previous);
      throw e;
    }
    const stored = this.#policies.get(agent, body.direction);
    await this.#record({
      kind: "policy_set",
      caller: "admin",
      agent,
      direction: stored.direction,
      decision: "policy_set",
      policy_id: policyId,
      message: `${stored.direction} policy of ${agent} set to ${stored.mode} [${stored.patterns.join(", ")}]`,
    });
    send(res, 200, {
      ok: true,
      policy_id: policyId,
      agent,
      direction: stored.direction,
      mode: stored.mode,
      patterns: stored.patterns,
    });
  }

  async #deletePolicy(res, url, agent) {
    const direction = url.searchParams.get("direction");
    if (direction !== "send" && direction !== "receive") {
      throw bad(`the direction query parameter must be "send" or "receive", got ${direction === null ? "none" : JSON.stringify(direction)}`);
    }
    const removed = this.#policies.delete(agent, direction);
    if (removed !== null) {
      try {
        await this.#savePolicies();
      } catch (e) {
        this.#policies.set(agent, removed);
        throw e;
      }
      await this.#record({
        kind: "policy_delete",
        caller: "admin",
        agent,
        direction,
        decision: "policy_deleted",
        policy_id: removed.policy_id ?? null,
        message: `${direction} policy of ${agent} deleted (now open)`,
      });
    }
    send(res, 200, { ok: true, agent, direction, mode: "open", removed_policy_id: removed?.policy_id ?? null });
  }

  async #postIntent(req, res, who) {
    if (who.role !== "agent") {
      throw new HttpError(403, "forbidden", "only agent keys can send intents (the key's agent is the sender)");
    }
    const body = await readJson(req);
    for (const k of Object.keys(body)) {
      if (k !== "intent_type" && k !== "to_agent" && k !== "payload") {
        throw bad(`unknown key ${JSON.stringify(k)} in intent (known keys: intent_type, to_agent, payload)`, { field: k });
      }
    }
    for (const k of ["intent_type", "to_agent"]) {
      if (typeof body[k] !== "string") {
        throw bad(`${k}: expected a string, got ${body[k] === undefined ? "nothing (it is required)" : describe(body[k])}`, { field: k });
      }
    }
    const from = who.agent;
    let violation;
    let to;
    try {
      to = ActionPolicies.resolveAddress(body.to_agent);
    } catch (e) {
      throw renamed(e, "to_agent", "to_agent");
    }
    try {
      violation = this.#policies.checkIntent({ from, to, intentType: body.intent_type });
    } catch (e) {
      throw renamed(e, "intent_type", "intent_type");
    }
    if (!this.#isKnownAgent(to)) {
      throw new HttpError(404, "unknown_agent", `no agent ${JSON.stringify(to)} is registered with this gateway`);
    }
    const base = { kind: "intent", caller: from, intent_type: body.intent_type, from_agent: from, to_agent: to };
    if (violation !== null) {
      const policy = this.#policies.get(violation.address_id, violation.direction);
      await this.#record({
        ...base,
        direction: violation.direction,
        decision: "blocked",
        policy_id: policy?.policy_id ?? null,
        message: violation.message,
        ...(violation.pattern === undefined ? {} : { pattern: violation.pattern }),
      });
      return send(res, 403, violation);
    }
    const intent = {
      intent_id: newId("int"),
      intent_type: body.intent_type,
      from_agent: from,
      to_agent: to,
      payload: body.payload ?? null,
      created_at: Date.now() / 1000,
    };
    const box = this.#inbox(to);
    // The queue must list intents in file order (the cursor counts lines):
    // push when the append resolves, and appends resolve in file order.
    // Only a durable intent is visible to the receiver.
    const queued = box.log.append(intent).then(() => {
      box.queue.push(intent);
    });
    await Promise.all([
      queued,
      this.#record({
        ...base,
        intent_id: intent.intent_id,
        direction: null,
        decision: "delivered",
        policy_id: this.#policies.get(to, "receive")?.policy_id ?? null,
        message: `Intent type '${body.intent_type}' delivered to ${to}`,
      }),
    ]);
    send(res, 202, { ok: true, intent_id: intent.intent_id });
  }

  async #takeInbox(res, url, who) {
    if (who.role !== "agent") throw new HttpError(403, "forbidden", "only agent keys have an inbox");
    const limit = queryLimit(url, 100, 1000);
    const box = this.#inbox(who.agent);
    // Removed from the queue at once, so a concurrent take cannot get them too.
    const intents = box.queue.splice(0, limit);
    if (intents.length > 0) {
      box.taken += intents.length;
      const taken = box.taken;
      const path = join(this.#dataDir, "inbox", `${who.agent}.taken`);
      // Taken means taken: the cursor is durable before the intents are
      // handed over. Writes are chained, so the file ends at the highest count.
      const write = box.cursorWrites.then(async () => {
        await writeFileAtomic(path, `${JSON.stringify({ taken })}\n`);
        box.durableTaken = taken;
      });
      box.cursorWrites = write.catch(() => {});
      try {
        await write;
      } catch (e) {
        // Not durable: hand nothing over; the intents go back to the front.
        box.queue.unshift(...intents);
        box.taken -= intents.length;
        throw e;
      }
      if (box.durableTaken - box.base >= this.#compactLines) this.compactInbox(who.agent).catch(() => {});
    }
    send(res, 200, { ok: true, intents, remaining: box.queue.length });
  }

  async #readAudit(res, url) {
    const limit = queryLimit(url, 100, 1000);
    const agent = url.searchParams.get("agent");
    const decision = url.searchParams.get("decision");
    const rawBefore = url.searchParams.get("before");
    let before;
    if (rawBefore !== null) {
      if (!/^[0-9]{1,15}$/.test(rawBefore) || Number(rawBefore) < 1) {
        throw bad(`before must be a record's seq (an integer from 1), got ${JSON.stringify(rawBefore)}`);
      }
      before = Number(rawBefore);
    }
    const page = await this.#audit.page({
      before,
      limit,
      match: (r) =>
        (agent === null || agent === "" || r.caller === agent || r.to_agent === agent || r.agent === agent) &&
        (decision === null || decision === "" || r.decision === decision),
    });
    send(res, 200, { ok: true, records: page.records, next_before: page.next_before });
  }

  /** Waits for pending writes and closes the files. */
  async close() {
    await this.#policyWrites;
    await this.#audit.close();
    for (const box of this.#inboxes.values()) {
      await box.cursorWrites;
      await box.log.close();
    }
  }
}

/**
 * How long requests already being handled get to finish when the gateway
 * stops, before their connections are cut (a request whose body never
 * finishes arriving would otherwise hold the stop forever).
 */
export const SHUTDOWN_GRACE_MS = 2_000;
/**
 * After the first SIGTERM or SIGINT the process exits by this deadline,
 * whatever its connections or files are doing (a second signal exits at
 * once). Nothing acknowledged is lost either way: every write is durable
 * before its response is sent.
 */
export const SHUTDOWN_DEADLINE_MS = 4_500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a gateway on `host:port` (port 0 picks a free one).
 *
 * `close()` stops it: no new connections; a request that arrives after
 * that on a connection opened before gets a 503 and the connection closes;
 * idle keep-alive connections are closed at once; requests being handled
 * get `graceMs` (default {@link SHUTDOWN_GRACE_MS}) to finish, each
 * response closing its connection; then every connection left is
 * destroyed, and the gateway's files are closed once their pending writes
 * are done. Calling it again returns the same promise.
 *
 * @param {{port?: number, host?: string, dataDir: string, keysFile: string,
 *   auditSegmentBytes?: number, auditMemory?: number, inboxCompactLines?: number}} options
 *   the last three as in {@link Gateway.open}
 * @returns {Promise<{url: string, port: number, gateway: Gateway, close: (options?: {graceMs?: number}) => Promise<void>}>}
 */
export async function startGateway({ port = 0, host = "127.0.0.1", dataDir, keysFile, ...storage }) {
  const keys = loadKeys(keysFile);
  const gateway = await Gateway.open({ keys, dataDir, ...storage });
  /** Responses of requests being handled. */
  const inFlight = new Set();
  let stopping = false;
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => {
    if (stopping) {
      req.resume();
      send(res, 503, { error: "shutting_down", message: "the gateway is stopping; retry shortly" }, { connection: "close", "retry-after": "1" });
      return;
    }
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
    gateway.handle(req, res);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  let closing = null;
  const close = async (graceMs) => {
    stopping = true;
    server.close();
    // Whatever is still to be answered closes its connection afterwards.
    for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
    const deadline = Date.now() + graceMs;
    for (;;) {
      server.closeIdleConnections();
      if (inFlight.size === 0 || Date.now() >= deadline) break;
      await sleep(20);
    }
    server.closeAllConnections();
    await gateway.close();
  };
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    gateway,
    close: ({ graceMs = SHUTDOWN_GRACE_MS } = {}) => {
      closing ??= close(graceMs);
      return closing;
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8787" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string" },
      keys: { type: "string" },
      "audit-segment-bytes": { type: "string", default: String(AUDIT_SEGMENT_BYTES) },
      "audit-memory": { type: "string", default: String(AUDIT_MEMORY) },
      "inbox-compact-lines": { type: "string", default: String(INBOX_COMPACT_LINES) },
      help: { type: "boolean", short: "h" },
    },
  });
  const usage = `usage: node server.mjs --port N --data-dir DIR --keys FILE [--host 127.0.0.1]
  [--audit-segment-bytes ${AUDIT_SEGMENT_BYTES}]  rotate audit.jsonl into a numbered segment past this size
  [--audit-memory ${AUDIT_MEMORY}]  audit records kept in memory (older pages are read from disk)
  [--inbox-compact-lines ${INBOX_COMPACT_LINES}]  compact an inbox while running once this many lines are taken`;
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!values["data-dir"] || !values.keys) {
    console.error(`${usage}\n--data-dir and --keys are required`);
    process.exit(2);
  }
  if (!/^[0-9]{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    console.error(`--port must be a number from 0 to 65535, got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  const storage = {};
  for (const [flag, option] of [
    ["audit-segment-bytes", "auditSegmentBytes"],
    ["audit-memory", "auditMemory"],
    ["inbox-compact-lines", "inboxCompactLines"],
  ]) {
    if (!/^[0-9]{1,12}$/.test(values[flag]) || Number(values[flag]) < 1) {
      console.error(`--${flag} must be a positive integer, got ${JSON.stringify(values[flag])}`);
      process.exit(2);
    }
    storage[option] = Number(values[flag]);
  }
  let gw;
  try {
    gw = await startGateway({
      port: Number(values.port),
      host: values.host,
      dataDir: values["data-dir"],
      keysFile: values.keys,
      ...storage,
    });
  } catch (e) {
    console.error(`gateway: ${e.message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      console.error(`gateway: ${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping`);
    setTimeout(() => {
      console.error(`gateway: not stopped ${SHUTDOWN_DEADLINE_MS} ms after ${signal}; exiting anyway (acknowledged writes are on disk)`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    gw.close().then(
      () => process.exit(0),
      (e) => {
        console.error(`gateway: stopping failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  // Before the ready line: a supervisor may signal as soon as it reads it.
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  console.log(`listening on ${gw.url}`);
  console.log(`dashboard: ${gw.url}/dashboard`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  await main();
}
