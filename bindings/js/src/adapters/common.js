// What the framework adapters share: the text a model reads for a call the
// policy stopped, the per-call context, and the shape of a policy.
/** Whether `p` can decide calls: a Policy, or anything with its evaluate/checkAsync. */
export function isPolicy(p) {
  return p !== null && typeof p === "object" && typeof p.evaluate === "function" && typeof p.checkAsync === "function";
}

/**
 * The text the model reads for a call that did not run: the tool, the
 * reason and the deciding rule (named when the reason does not already).
 */
export function denialText(r) {
  const rule = r.matchedRule ?? null;
  const named = rule !== null && !String(r.reason).includes(rule) ? ` (rule: ${rule})` : "";
  if (r.decision === "require_approval") return `Tool '${r.tool}' was not run: ${r.reason}${named}; it needs a person's approval.`;
  return `Tool '${r.tool}' denied: ${r.reason}${named}`;
}

/** The context of one call: `context` itself, or what the function returns for the call. */
export function contextFor(context, call) {
  if (typeof context === "function") return context(call) ?? null;
  return context ?? null;
}
