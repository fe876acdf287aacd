// agentguard/analysis for Cloudflare workerd and Vercel edge-light (bundled
// to analysis-workerd.mjs): the analysis module imported as a compiled
// WebAssembly.Module, as the main entry does (see workerd.js).
import wasmModule from "./agentguard_analysis_bg.wasm";
import { initSync } from "../analysis/wasm.js";

initSync(wasmModule);

export * from "../analysis/index.js";
