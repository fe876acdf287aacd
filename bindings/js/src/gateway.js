// GatewayClient: the decisions of a gateway (`agentguard serve`), where the
// policy lives outside the agent's process, with the shape of a Policy
// (evaluate, check, enforce), so every adapter takes either.
//
//   evaluate     POST /v1/tools/evaluate: pure, nothing audited;
//   checkAsync   POST /v1/tools/check: the gateway's decision, audited
//                there. A require_approval with a pending approval waits
//                for the person (GET /v1/approvals/{id}?wait=S, long
//                polls, up to approvalTimeout), then asks again with the
//                approval's id and returns that answer: allow once
//                granted, the gateway's deny once refused, still
//                require_approval when nobody answered in time.
//
// Decisions, reasons and approvals are the gateway's (its core); this file
// only moves them. Anything but a decision (an HTTP error, no answer, an
// answer of another shape) is a GatewayError, never an allow. Zero
// dependencies: the global fetch (Node 18+, workers, browsers) or one given.

import { fieldOf, jsonText } from "./data.js";
import { ApprovalRequired, GatewayError, ToolDenied, structured } from "./errors.js";
import { gatewayResult } from "./policy.js";
import { checkString, describe } from "./util.js";

/** The longest long-poll the gateway serves (its MAX_WAIT_SECONDS). */
const MAX_WAIT_SECONDS = 60;
const DEFAULT_APPROVAL_TIMEOUT = 300;
const DEFAULT_REQUEST_TIMEOUT = 30;
const OPTION_KEYS = ["approvalTimeout", "requestTimeout", "fetch", "signal"];
const DECISIONS = new Set(["allow", "deny", "require_approval"]);
/** What an API key may be in the x-api-key header: visible ASCII, inner spaces. */
const KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

function seconds(value, what, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`GatewayClient: ${what} must be a number of seconds, got ${describe(value)}`);
  }
  if (value < 0 || !Number.isFinite(value)) {
    throw new RangeError(`GatewayClient: ${what} must be a finite number of seconds, at least 0, got ${value}`);
  }
  return value;
}

function baseUrl(url) {
  // A URL object (or anything with its href).
  const text = url !== null && typeof url === "object" && typeof url.href === "string" ? url.href : url;
  if (typeof text !== "string") {
    throw new TypeError(`GatewayClient: url must be the gateway's URL (a string or URL, like "http://127.0.0.1:8787"), got ${describe(url)}`);
  }
  let u;
  try {
    u = new URL(text);
  } catch {
    throw new TypeError(`GatewayClient: url is not a URL: ${JSON.stringify(text)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`GatewayClient: url must be http:// or https://, got ${JSON.stringify(u.protocol)}`);
  }
  if (u.username !== "" || u.password !== "") {
    throw new TypeError("GatewayClient: url must not hold credentials (the key goes in the second argument)");
  }
  if (u.search !== "" || u.hash !== "") {
    throw new TypeError(`GatewayClient: url must have no query or fragment, got ${JSON.stringify(u.href)}`);
  }
  return u.href.replace(/\/+$/, "");
}

function checkOptions(options) {
  const out = {
    approvalTimeout: DEFAULT_APPROVAL_TIMEOUT,
    requestTimeout: DEFAULT_REQUEST_TIMEOUT,
    fetch: null,
    signal: null,
  };
  if (options === undefined || options === null) return out;
  if (typeof options !== "object") {
    throw new TypeError(`GatewayClient options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`unknown GatewayClient option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  out.approvalTimeout = seconds(options.approvalTimeout, "approvalTimeout", DEFAULT_APPROVAL_TIMEOUT);
  out.requestTimeout = seconds(options.requestTimeout, "requestTimeout", DEFAULT_REQUEST_TIMEOUT);
  if (out.requestTimeout === 0) throw new RangeError("GatewayClient: requestTimeout must be above 0 seconds");
  if (options.fetch !== undefined && options.fetch !== null) {
    if (typeof options.fetch !== "function") throw new TypeError(`GatewayClient: fetch must be a function, got ${describe(options.fetch)}`);
    out.fetch = options.fetch;
  }
  const signal = options.signal;
  if (signal !== undefined && signal !== null) {
    if (typeof signal !== "object" || typeof signal.aborted !== "boolean" || typeof signal.addEventListener !== "function") {
      throw new TypeError(`GatewayClient: signal must be an AbortSignal, got ${describe(signal)}`);
    }
    out.signal = signal;
  }
  return out;
}

function dataFail(path, description, kind) {
  const { field, index } = fieldOf(path);
  throw structured(new TypeError(`${path}: ${description}`), kind, field, index);
}

/** A plain object of JSON data (or null / undefined: none), as JSON text; a TypeError otherwise. */
function objectJson(value, what) {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value) || Object.prototype.toString.call(value) !== "[object Object]") {
    throw structured(new TypeError(`${what} must be a plain object, got ${Array.isArray(value) ? "an array" : describe(value)}`), "wrong_type", what);
  }
  return jsonText(value, what, dataFail);
}

/**
 * The request body of a call, `{tool, args?, context?}` as JSON text,
 * from the options of evaluate or check (validated before anything is sent).
 */
function callBody(tool, options, what) {
  checkString(tool, "tool");
  let args = null;
  let context = null;
  if (options !== undefined && options !== null) {
    if (typeof options !== "object") {
      throw new TypeError(`${what} options must be an object like { args, context }, got ${describe(options)}`);
    }
    for (const key in options) {
      if (key === "args") args = objectJson(options.args, "args");
      else if (key === "context") context = objectJson(options.context, "context");
      else if (key === "approved" && what === "check") {
        if (options.approved === undefined || options.approved === null) continue;
        throw new TypeError(
          "approved: a gateway's approvals are given on the gateway (its dashboard, `agentguard approvals grant`, " +
            "POST /v1/approvals/{id}/grant), not by the agent; checkAsync waits for them",
        );
      } else throw new TypeError(`unknown ${what} option ${JSON.stringify(key)} (known: args, context)`);
    }
  }
  let body = `{"tool":${JSON.stringify(tool)}`;
  if (args !== null) body += `,"args":${args}`;
  if (context !== null) body += `,"context":${context}`;
  return `${body}}`;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isRule = (r) =>
  r === null ||
  (isObject(r) && (typeof r.id === "string" || (typeof r.list === "string" && Number.isSafeInteger(r.index))));
const isShadow = (s) => Array.isArray(s) && s.every((h) => isObject(h) && typeof h.id === "string" && DECISIONS.has(h.decision));
const isApproval = (a) => a === undefined || a === null || (isObject(a) && typeof a.id === "string" && typeof a.status === "string");

/**
 * A decision for `tool` from the gateway's JSON `body`, or a GatewayError
 * (bad_response) when it is not one.
 */
function resultOf(body, tool, status) {
  if (
    !isObject(body) ||
    body.tool !== tool ||
    !DECISIONS.has(body.decision) ||
    typeof body.reason !== "string" ||
    !(body.matched_rule === null || typeof body.matched_rule === "string") ||
    !isRule(body.rule) ||
    !isShadow(body.shadow) ||
    !isApproval(body.approval)
  ) {
    throw new GatewayError(`the gateway's answer is not a decision for ${JSON.stringify(tool)}: ${JSON.stringify(body)?.slice(0, 200)}`, {
      status,
      code: "bad_response",
      body: isObject(body) ? body : null,
    });
  }
  return gatewayResult(body);
}

/** An abortable pause of `ms`. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The decisions of an agentguard gateway for one agent (the agent its key
 * belongs to), with a Policy's shape. See index.d.ts for the documented API.
 */
export class GatewayClient {
  #url;
  #key;
  #fetch;
  #signal;
  #approvalTimeout;
  #requestTimeout;

  constructor(url, key, options) {
    this.#url = baseUrl(url);
    if (typeof key !== "string" || !KEY.test(key)) {
      throw new TypeError(
        `GatewayClient: key must be the agent's API key from the gateway's keys file (visible ASCII), got ${typeof key === "string" ? (key === "" ? "an empty string" : "a string with other characters") : describe(key)}`,
      );
    }
    this.#key = key;
    const opts = checkOptions(options);
    if (opts.fetch === null && typeof globalThis.fetch !== "function") {
      throw new TypeError("GatewayClient: this runtime has no global fetch; pass one as the fetch option");
    }
    this.#fetch = opts.fetch;
    this.#signal = opts.signal;
    this.#approvalTimeout = opts.approvalTimeout;
    this.#requestTimeout = opts.requestTimeout;
  }

  /** The gateway's base URL (no trailing slash). */
  get url() {
    return this.#url;
  }

  /** How long checkAsync waits for a person's answer, in seconds. */
  get approvalTimeout() {
    return this.#approvalTimeout;
  }

  /** Always true: the gateway's approval queue answers approvals, inside checkAsync. */
  get hasOnApproval() {
    return true;
  }

  /**
   * One request to the gateway: its JSON answer, or a GatewayError (the
   * caller's abort: the signal's reason). `wait`: the seconds the gateway
   * may hold it (a long-poll), on top of requestTimeout.
   */
  async #request(method, path, body, wait = 0) {
    const signal = this.#signal;
    if (signal?.aborted) throw signal.reason;
    const url = `${this.#url}${path}`;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const limit = this.#requestTimeout + wait;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limit * 1000);
    const headers = { accept: "application/json", "x-api-key": this.#key };
    if (body !== null) headers["content-type"] = "application/json";
    let res;
    let text;
    try {
      // A redirect would take the key elsewhere: not followed (its 3xx,
      // or a browser's opaque answer, is no decision).
      res = await (this.#fetch ?? globalThis.fetch)(url, { method, headers, body: body ?? undefined, signal: controller.signal, redirect: "manual" });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        throw new GatewayError(`no answer from the gateway at ${this.#url} within ${limit} s (${method} ${path.split("?")[0]})`, {
          code: "timeout",
          cause: e,
        });
      }
      throw new GatewayError(`cannot reach the gateway at ${this.#url}: ${e?.cause?.message ?? e?.message ?? String(e)}`, {
        code: "unreachable",
        cause: e,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GatewayError(`the gateway at ${this.#url} answered ${res.status} with no JSON (${method} ${path.split("?")[0]}): ${JSON.stringify(text.slice(0, 200))}`, {
        status: res.status,
        code: "bad_response",
      });
    }
    if (res.status !== 200) {
      if (isObject(json) && typeof json.error === "string" && typeof json.message === "string") {
        throw new GatewayError(json.message, { status: res.status, code: json.error, body: json });
      }
      throw new GatewayError(`the gateway at ${this.#url} answered ${res.status} (${method} ${path.split("?")[0]}): ${JSON.stringify(text.slice(0, 200))}`, {
        status: res.status,
        code: "bad_response",
        body: isObject(json) ? json : null,
      });
    }
    return json;
  }

  /**
   * The gateway's pure decision for `tool` with `options.args` under the
   * agent's policy: nothing audited, no approval asked.
   */
  async evaluate(tool, options) {
    const body = callBody(tool, options, "evaluate");
    return resultOf(await this.#request("POST", "/v1/tools/evaluate", body), tool, 200);
  }

  /**
   * The gateway's decision, audited there; a pending approval is waited
   * for (up to approvalTimeout) and the call asked again with it.
   */
  async checkAsync(tool, options) {
    const body = callBody(tool, options, "check");
    const first = resultOf(await this.#request("POST", "/v1/tools/check", body), tool, 200);
    const approval = first.approval;
    if (!first.needsApproval || approval === null || approval.status !== "pending" || this.#approvalTimeout === 0) return first;
    const path = `/v1/approvals/${encodeURIComponent(approval.id)}`;
    const deadline = Date.now() + this.#approvalTimeout * 1000;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const wait = Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000));
      if (wait === 0) {
        // Less than the gateway's smallest wait is left: the rest here.
        await sleep(left, this.#signal);
        break;
      }
      const got = await this.#request("GET", `${path}?wait=${wait}`, null, wait);
      const a = isObject(got) ? got.approval : undefined;
      if (!isObject(a) || a.id !== approval.id || typeof a.status !== "string") {
        throw new GatewayError(`the gateway's answer is not approval ${JSON.stringify(approval.id)}: ${JSON.stringify(got)?.slice(0, 200)}`, {
          status: 200,
          code: "bad_response",
          body: isObject(got) ? got : null,
        });
      }
      if (a.status !== "pending") break;
    }
    // The answer, as the gateway gives it for this approval: allow once
    // granted, its deny once refused, require_approval while nobody answered.
    const again = `${body.slice(0, -1)},"approval_id":${JSON.stringify(approval.id)}}`;
    return resultOf(await this.#request("POST", "/v1/tools/check", again), tool, 200);
  }

  /** checkAsync, throwing `ToolDenied` / `ApprovalRequired` unless allowed. */
  async enforceAsync(tool, options) {
    const r = await this.checkAsync(tool, options);
    if (r.allowed) return r;
    throw r.denied ? new ToolDenied(r) : new ApprovalRequired(r);
  }
}

// check and enforce are the async methods themselves (a gateway answers
// over the network: there is no synchronous decision).
for (const [alias, of] of [
  ["check", "checkAsync"],
  ["enforce", "enforceAsync"],
]) {
  Object.defineProperty(GatewayClient.prototype, alias, {
    value: GatewayClient.prototype[of],
    writable: true,
    configurable: true,
  });
}

// console.log(client): the URL, never the key.
Object.defineProperty(GatewayClient.prototype, Symbol.for("nodejs.util.inspect.custom"), {
  value() {
    return `GatewayClient ${JSON.stringify({ url: this.url, approvalTimeout: this.approvalTimeout })}`;
  },
  writable: true,
  configurable: true,
});
