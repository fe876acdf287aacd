// Cloudflare workerd and Vercel edge-light (bundled to workerd.mjs). They
// forbid compiling wasm from bytes at run time, so the .wasm is imported as
// a compiled WebAssembly.Module (wrangler and Vercel bundle it that way)
// and instantiated synchronously.
import wasmModule from "./agentguard_bg.wasm";
import { initSync } from "../wasm.js";

initSync(wasmModule);

export * from "../index.js";
