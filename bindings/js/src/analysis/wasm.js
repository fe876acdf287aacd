// The analysis module (agentguard_analysis_bg.wasm: the core with lint,
// diff and fixture tests, built from bindings/wasm with its `analysis`
// feature), instantiated on first use: the main module stays small, and
// whoever never analyses a policy never loads this one.
//
// `glue.js` is wasm-bindgen's output for that build (copied in by
// scripts/build-pkg.mjs).

import * as glue from "./glue.js";

let ready = false;
let loadError = null;
// How to get the module or its bytes on first use, if an entry gave a way
// (the Node entries read the file next to them); used once.
let loader = null;

/** Instantiates the analysis module synchronously from a `WebAssembly.Module` or its bytes. */
export function initSync(moduleOrBytes) {
  if (ready) return undefined;
  if (moduleOrBytes === undefined || moduleOrBytes === null) {
    throw new TypeError(
      "agentguard/analysis: initSync() needs the compiled WebAssembly.Module or the bytes of agentguard_analysis_bg.wasm",
    );
  }
  glue.initSync({ module: moduleOrBytes });
  ready = true;
  loadError = null;
  return undefined;
}

/**
 * Instantiates the analysis module asynchronously from a URL, a `Response`
 * (or a promise of one), a `WebAssembly.Module` or the bytes. Without an
 * argument it fetches `agentguard_analysis_bg.wasm` next to the web entry.
 */
export async function init(input) {
  if (ready) return undefined;
  await glue.default(input === undefined ? undefined : { module_or_path: input });
  ready = true;
  loadError = null;
  return undefined;
}

/** Records why loading at import time failed, for the error the first use throws. */
export function setLoadError(error) {
  loadError = error;
}

/** Sets the function that returns the module or its bytes, called on first use. */
export function setLoader(load) {
  loader = load;
}

/** Instantiates the module with the loader if there is one; throws unless it is then instantiated. */
export function requireWasm() {
  if (ready) return;
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
    "agentguard/analysis: the WebAssembly module is not initialised; call `await init()` or `initSync(module)` from agentguard/analysis first";
  const err = new Error(loadError ? `${hint} (loading it failed: ${loadError.message ?? loadError})` : hint);
  if (loadError) err.cause = loadError;
  throw err;
}

export const CoreError = glue.CoreError;
export const WasmPolicy = glue.WasmPolicy;
