// agentguard/analysis for Node (bundled to analysis-node.cjs; analysis-node.mjs
// re-exports it). The main entry is ./node.cjs itself, so a Policy from
// `agentguard` is the class seen here. Nothing is read at load: the
// analysis module (agentguard_analysis_bg.wasm) is read and instantiated on
// the first call, synchronously.
"use strict";

const api = require("../analysis/index.js");
const { setLoader } = require("../analysis/wasm.js");

/** The .wasm's bytes from `read`, or an error that says what to do if the file is missing. */
function readWasm(read) {
  try {
    return read();
  } catch (e) {
    const hint =
      e && e.code === "ENOENT"
        ? " (in a bundle, copy node_modules/agentguard/agentguard_analysis_bg.wasm next to it)"
        : "";
    throw new Error(`cannot read agentguard_analysis_bg.wasm: ${e && e.message}${hint}`, { cause: e });
  }
}

setLoader(() =>
  readWasm(() => require("node:fs").readFileSync(require("node:path").join(__dirname, "agentguard_analysis_bg.wasm"))),
);

module.exports = api;

// For analysis-node.mjs only (not part of the API): a loader written in ESM,
// for when a bundler has made this file an ES module without require or
// __dirname. Still lazy: the first call reads the file.
Object.defineProperty(module.exports, Symbol.for("agentguard.node.analysisWasm"), {
  value(read) {
    setLoader(() => readWasm(read));
  },
});
