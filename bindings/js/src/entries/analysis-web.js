// agentguard/analysis for browsers, bundlers and Deno (bundled to
// analysis-web.mjs). Importing it fetches agentguard_analysis_bg.wasm
// relative to this module (bundlers recognise and copy it); importing only
// `agentguard` never does. Who loads the bytes themselves calls
// `initSync(module)` or `await init(x)` from agentguard/analysis.
import { init, setLoadError } from "../analysis/wasm.js";

try {
  await init(new URL("./agentguard_analysis_bg.wasm", import.meta.url));
} catch (e) {
  // Leave the module importable; the first use throws with this cause.
  setLoadError(e);
}

export * from "../analysis/index.js";
