// The one instantiated wasm module, shared by everything in the package.
//
// `glue.js` is wasm-bindgen's output for bindings/wasm/ (copied in by
// scripts/build-pkg.mjs). This file owns its initialisation, the core's
// errors as JavaScript errors, and the fast path for handing a tool name to
// wasm: the UTF-8 bytes go straight into a scratch buffer in wasm memory (no
// allocation per call, see bindings/wasm/src/lib.rs).

import * as glue from "./glue.js";
import { PolicyError, structured } from "./errors.js";
import { describe, isWellFormed, loneSurrogateAt } from "./util.js";

let exports = null;
let loadError = null;
// How to get the module or its bytes on first use, if an entry gave a way
// (the Node entries read the file next to them); used once.
let loader = null;

// The scratch buffer: its address, its size in bytes, and a view of memory.
// Up to KEEP bytes it stays allocated between calls; a longer name gets a
// buffer of its own size, given back by releaseScratch() after its call, so
// memory does not stay reserved for the largest name ever checked.
const KEEP = 64 * 1024;
let scratchPtr = 0;
let scratchCap = 0;
let bytes = new Uint8Array(0);
const encoder = new TextEncoder();

// The core's limit on tool names, in bytes of UTF-8 (read once loaded).
let maxNameBytes = 0;
// The address of the shadow slot (bindings/wasm: shadow_slot): the 64-bit
// set of fired shadow rules beside a verdict code with the SHADOWED bit.
let shadowPtr = 0;

function ready(wasmExports) {
  exports = wasmExports;
  loadError = null;
  maxNameBytes = glue.maxNameBytes();
  shadowPtr = glue.shadowSlot();
  reserve(1024);
  return undefined;
}

/** Instantiates the module synchronously from a `WebAssembly.Module` or its bytes. */
export function initSync(moduleOrBytes) {
  if (exports !== null) return undefined;
  if (moduleOrBytes === undefined || moduleOrBytes === null) {
    throw new TypeError(
      "agentguard: initSync() needs the compiled WebAssembly.Module or the bytes of agentguard_bg.wasm",
    );
  }
  return ready(glue.initSync({ module: moduleOrBytes }));
}

/**
 * Instantiates the module asynchronously from a URL, a `Response` (or a
 * promise of one), a `WebAssembly.Module` or the bytes. Without an argument
 * it fetches `agentguard_bg.wasm` next to the web entry.
 */
export async function init(input) {
  if (exports !== null) return undefined;
  const wasmExports = await glue.default(input === undefined ? undefined : { module_or_path: input });
  if (exports === null) ready(wasmExports);
  return undefined;
}

/** Records why loading at import time failed, for the error `requireWasm()` throws. */
export function setLoadError(error) {
  loadError = error;
}

/**
 * Sets the function that returns the module or its bytes, called by the
 * first `requireWasm()` that finds the module not instantiated.
 */
export function setLoader(load) {
  loader = load;
}

/** Whether the module is instantiated. */
export function isReady() {
  return exports !== null;
}

/** Instantiates the module with the loader if there is one; throws unless it is then instantiated. */
export function requireWasm() {
  if (exports !== null) return;
  if (loader !== null) {
    const load = loader;
    loader = null;
    try {
      initSync(load());
      return;
    } catch (e) {
      loadError = e;
    }
  }
  const hint =
    "agentguard: the WebAssembly module is not initialised; call `await init()` or `initSync(module)` first";
  const err = new Error(loadError ? `${hint} (loading it failed: ${loadError.message ?? loadError})` : hint);
  if (loadError) err.cause = loadError;
  throw err;
}

/**
 * The JavaScript error for what a wasm call threw: the core's errors
 * (a `CoreError`) become a `PolicyError` (`as: "policy"`, loading a policy
 * or store) or a `TypeError` (`as: "type"`, the decision flow), except
 * `too_long`, always a `RangeError`, and `internal` (a bug in the binding),
 * a plain `Error`; each carries `kind`, `field` and `index`. Anything else
 * (what a callback threw) is returned untouched.
 */
export function fromCore(e, as) {
  if (!(e instanceof glue.CoreError)) return e;
  const [kind, field, index, , display] = JSON.parse(e.parts);
  e.free();
  if (kind === "too_long") return structured(new RangeError(display), kind, field, index);
  if (kind === "internal") return structured(new Error(display), kind, field, index);
  if (as === "policy") return new PolicyError(display, { kind, field, index });
  return structured(new TypeError(display), kind, field, index);
}

/** The error of the wasm flow call that just returned FAILED, as `fromCore` makes it. */
export function failure(as) {
  return fromCore(glue.takeFailure(), as);
}

/** The keys of the formats read from caller objects, from the core (bindings/wasm: formatKeys). */
let keys = null;
export function formatKeys() {
  if (keys === null) {
    const [policy, action_policy, store, store_entry] = JSON.parse(glue.formatKeys());
    keys = { policy, action_policy, store, store_entry };
  }
  return keys;
}

function reserve(need) {
  const cap = need > KEEP ? need : Math.min(KEEP, Math.max(scratchCap * 2, 1024, need));
  scratchPtr = glue.scratch(cap);
  scratchCap = cap;
  bytes = new Uint8Array(exports.memory.buffer);
}

/** Gives the buffer of a long name back (see KEEP); a no-op otherwise. */
export function releaseScratch() {
  if (scratchCap <= KEEP) return;
  scratchPtr = glue.releaseScratch(KEEP);
  scratchCap = KEEP;
  bytes = new Uint8Array(exports.memory.buffer);
}

/** The number of bytes of `s` in UTF-8 (a lone surrogate counts 3), without copying it. */
function utf8Length(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

/**
 * Checks a tool name and writes it into the scratch buffer as UTF-8;
 * returns its length in bytes. A name that is not a string, or not
 * well-formed Unicode (a lone surrogate, which UTF-8 cannot carry: it is
 * never replaced with U+FFFD), is a `TypeError`; one over the core's limit
 * (1 MiB of UTF-8) a `RangeError`, before anything is copied. Call
 * `releaseScratch()` after the wasm call when the name was long.
 */
export function writeName(s) {
  if (typeof s !== "string") {
    throw new TypeError(`tool name must be a string, got ${describe(s)}`);
  }
  const n = s.length;
  // Each UTF-16 unit is 1 to 3 bytes: count exactly only near the limit.
  let room = n * 3;
  if (room > maxNameBytes) {
    const exact = utf8Length(s);
    if (exact > maxNameBytes) {
      try {
        glue.checkNameLength(exact);
      } catch (e) {
        throw fromCore(e, "type");
      }
      // The core agreeing with a length over its own limit is a bug: fail closed.
      throw structured(new RangeError(`tool name is ${exact} bytes of UTF-8, over the limit`), "too_long");
    }
    room = exact;
  }
  if (room > scratchCap) reserve(room);
  // wasm memory grows (and the old buffer detaches) only inside wasm calls.
  if (bytes.byteLength === 0) bytes = new Uint8Array(exports.memory.buffer);
  const buf = bytes;
  const ptr = scratchPtr;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    buf[ptr + i] = c;
  }
  if (i === n) return n;
  // Only non-ASCII names can hold a lone surrogate.
  if (!isWellFormed(s)) {
    throw new TypeError(`tool name is not well-formed Unicode: lone surrogate at index ${loneSurrogateAt(s)}`);
  }
  const { written } = encoder.encodeInto(s.slice(i), buf.subarray(ptr + i, ptr + scratchCap));
  return i + written;
}

/**
 * Writes `text` (well-formed: the JSON text of a call's arguments, see
 * args.js) into the scratch buffer at byte `offset`, after the name that
 * `writeName` put there; returns its length in bytes.
 */
export function writeText(offset, text) {
  const need = offset + text.length * 3;
  if (need > scratchCap) reserve(need);
  if (bytes.byteLength === 0) bytes = new Uint8Array(exports.memory.buffer);
  // (Built by concatenation, the text is a rope: encodeInto flattens and
  // copies it in one native step, faster than a loop over charCodeAt.)
  return encoder.encodeInto(text, bytes.subarray(scratchPtr + offset, scratchPtr + scratchCap)).written;
}

/** Word `k` (0: bits 0-31, 1: bits 32-63) of the shadow slot. */
export function shadowWord(k) {
  if (bytes.byteLength === 0) bytes = new Uint8Array(exports.memory.buffer);
  const b = bytes;
  const p = shadowPtr + 4 * k;
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** Writes a shadow set (two 32-bit words) into the shadow slot, for the wasm call that reads it next. */
export function setShadow(lo, hi) {
  if (bytes.byteLength === 0) bytes = new Uint8Array(exports.memory.buffer);
  const b = bytes;
  const p = shadowPtr;
  b[p] = lo & 0xff;
  b[p + 1] = (lo >>> 8) & 0xff;
  b[p + 2] = (lo >>> 16) & 0xff;
  b[p + 3] = lo >>> 24;
  b[p + 4] = hi & 0xff;
  b[p + 5] = (hi >>> 8) & 0xff;
  b[p + 6] = (hi >>> 16) & 0xff;
  b[p + 7] = hi >>> 24;
}

export const WasmPolicy = glue.WasmPolicy;
export const WasmActionPolicies = glue.WasmActionPolicies;
export const wasmFnmatch = glue.fnmatch;
export const wasmDeniedMessage = glue.deniedMessage;
export const wasmDenialText = glue.denialText;
