// Node (bundled to node.cjs; node.mjs re-exports it, so `import` and
// `require` share one set of classes). The .wasm sits next to this file and
// is instantiated synchronously on first require.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initSync } from "../wasm.js";

initSync(readFileSync(join(__dirname, "agentguard_bg.wasm")));

export * from "../index.js";
