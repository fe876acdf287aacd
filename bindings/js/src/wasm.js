// The one instantiated wasm module, shared by everything in the package.
//
// `glue.js` is wasm-bindgen's output for bindings/wasm/ (copied in by
// scripts/build-pkg.mjs). This file owns its initialisation and the fast
// path for handing a tool name to wasm: the UTF-8 bytes go straight into a
// scratch buffer in wasm memory (no allocation per call, see
// bindings/wasm/src/lib.rs).

import * as glue from "./glue.js";
import { isWellFormed } from "./util.js";

let exports = null;
let loadError = null;
// How to get the module or its bytes on first use, if an entry gave a way
// (the Node entries read the file next to them); used once.
let loader = null;

// The scratch buffer: its address, its size in bytes, and a view of memory.
let scratchPtr = 0;
let scratchCap = 0;
let bytes = new Uint8Array(0);
const encoder = new TextEncoder();

function ready(wasmExports) {
  exports = wasmExports;
  loadError = null;
  growScratch(256);
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

function growScratch(need) {
  let cap = Math.max(scratchCap * 2, 256);
  while (cap < need) cap *= 2;
  scratchPtr = glue.scratch(cap);
  scratchCap = cap;
  bytes = new Uint8Array(exports.memory.buffer);
}

/**
 * Writes the string `s` into the scratch buffer as UTF-8 and returns its
 * length in bytes, or -1 if `s` is not well-formed Unicode (a lone
 * surrogate, which UTF-8 cannot carry: it is never replaced with U+FFFD).
 */
export function writeScratch(s) {
  const n = s.length;
  if (n * 3 > scratchCap) growScratch(n * 3);
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
  if (!isWellFormed(s)) return -1;
  const { written } = encoder.encodeInto(s.slice(i), buf.subarray(ptr + i, ptr + scratchCap));
  return i + written;
}

export const WasmPolicy = glue.WasmPolicy;
export const wasmFnmatch = glue.fnmatch;
