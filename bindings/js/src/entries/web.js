// Browsers, bundlers (Vite, esbuild, webpack 5) and Deno (bundled to
// web.mjs). The .wasm is fetched relative to this module, which bundlers
// recognise and copy; top-level await makes `import { Policy }` just work.
// Who loads the bytes themselves calls `initSync(module)` or `await init(x)`.
import { init, setLoadError } from "../wasm.js";

try {
  await init(new URL("./agentguard_bg.wasm", import.meta.url));
} catch (e) {
  // Leave the module importable: `init()` / `initSync()` can still load it,
  // and using it before then throws an error that includes this cause.
  setLoadError(e);
}

export * from "../index.js";
