// Everything the package exports, for every entry (node, web, workerd).
export { Policy, AuditEntry } from "./policy.js";
export { PolicyError, ToolDenied, ApprovalRequired, GatewayError } from "./errors.js";
export { GatewayClient } from "./gateway.js";
export { fnmatch } from "./fnmatch.js";
export { denialText } from "./messages.js";
export { init, initSync } from "./wasm.js";
export { ActionPolicies } from "./action.js";
