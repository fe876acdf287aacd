// Node (bundled to node.cjs; node.mjs re-exports it, so `import` and
// `require` share one set of classes).
//
// Loading it reads nothing: the .wasm next to this file is read and
// instantiated synchronously on first use. That keeps `require` and
// `__dirname` out of the load path, which matters when a bundler turns
// node.mjs and this file into one ES module (esbuild --format=esm), where
// neither exists: node.mjs then hands over its own loader, written in ESM,
// before anything runs.
"use strict";

const api = require("../index.js");
const { isReady, requireWasm, setLoader } = require("../wasm.js");

/** The .wasm's bytes from `read`, or an error that says what to do if the file is missing. */
function readWasm(read) {
  try {
    return read();
  } catch (e) {
    const hint =
      e && e.code === "ENOENT"
        ? " (in a bundle, copy node_modules/agentguard/agentguard_bg.wasm next to it)"
        : "";
    throw new Error(`cannot read agentguard_bg.wasm: ${e && e.message}${hint}`, { cause: e });
  }
}

setLoader(() => readWasm(() => require("node:fs").readFileSync(require("node:path").join(__dirname, "agentguard_bg.wasm"))));

module.exports = api;

// For node.mjs only, hence a symbol and not enumerable: it is not part of
// the API. Unless the module is already instantiated (a `require` used it
// first), make `read` the loader and load now, so that an import fails
// early; a failure is kept for the error that the first use throws, and the
// module stays importable so that `initSync()` can still load it.
Object.defineProperty(module.exports, Symbol.for("agentguard.node.loadWasm"), {
  value(read) {
    if (isReady()) return;
    setLoader(() => readWasm(read));
    try {
      requireWasm();
    } catch {
      // requireWasm() recorded the cause; the first use reports it.
    }
  },
});
