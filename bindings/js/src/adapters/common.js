// What the framework adapters share: the text a model reads for a call the
// policy stopped (the core's, through the package), the per-call context,
// and the shape of a policy.
export { denialText } from "agentguard";
/** Whether `p` can decide calls: a Policy, or anything with its evaluate/checkAsync. */
export function isPolicy(p) {
  return p !== null && typeof p === "object" && typeof p.evaluate === "function" && typeof p.checkAsync === "function";
}

/** The context of one call: `context` itself, or what the function returns for the call. */
export function contextFor(context, call) {
  if (typeof context === "function") return context(call) ?? null;
  return context ?? null;
}
