import { checkString } from "./util.js";
import { requireWasm, wasmFnmatch } from "./wasm.js";

/**
 * CPython 3.11's `fnmatch.fnmatchcase(name, pattern)`, exactly: the matcher
 * every policy uses.
 */
export function fnmatch(name, pattern) {
  checkString(name, "fnmatch: name");
  checkString(pattern, "fnmatch: pattern");
  requireWasm();
  return wasmFnmatch(name, pattern);
}
