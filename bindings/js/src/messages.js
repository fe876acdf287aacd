// The core's texts for a call that may not run: the bindings and the
// adapters show these, never a copy of their wording.
import { requireWasm, wasmDenialText, wasmDeniedMessage } from "./wasm.js";

/** `ToolDenied`'s message: `Tool 'drop_table' denied: denied by pattern: drop_*` (tokenfence's words). */
export function deniedMessage(tool, reason) {
  requireWasm();
  return wasmDeniedMessage(String(tool), String(reason));
}

/**
 * The text a model reads for a call that did not run (a deny, or a
 * require_approval nobody granted): the tool, the reason and the deciding
 * rule, named when the reason does not already name it.
 */
export function denialText(result) {
  if (result === null || typeof result !== "object") throw new TypeError("denialText: expected a result of check() or evaluate()");
  requireWasm();
  const rule = result.matchedRule ?? null;
  return wasmDenialText(String(result.tool), String(result.decision), String(result.reason), rule === null ? undefined : String(rule));
}
