// The package's Error subclasses. One definition per runtime: every entry
// (import and require alike on Node) exports these same classes.
import { deniedMessage } from "./messages.js";

/** A policy file (or action policy store) that cannot be loaded. */
export class PolicyError extends Error {
  constructor(message, { kind, field = null, index = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "PolicyError";
    this.kind = kind;
    this.field = field;
    this.index = index;
  }
}

/**
 * `error` (a TypeError, RangeError, ...) with the structured fields every
 * error of the package carries, so no caller parses a message: `kind` (the
 * core's error kind), `field` and `index` (where, or null).
 */
export function structured(error, kind, field = null, index = null) {
  error.kind = kind;
  error.field = field;
  error.index = index;
  return error;
}

/** Thrown by `enforce()` for a denied tool. */
export class ToolDenied extends Error {
  constructor(result) {
    super(deniedMessage(result.tool, result.reason));
    this.name = "ToolDenied";
    this.tool = result.tool;
    this.reason = result.reason;
    this.matchedRule = result.matchedRule;
    this.result = result;
  }
}

/** Thrown by `enforce()` for an approval-gated tool that no approver granted. */
export class ApprovalRequired extends ToolDenied {
  constructor(result) {
    super(result);
    this.name = "ApprovalRequired";
  }
}

/**
 * A gateway (`agentguard serve`) that did not give a decision: an HTTP
 * error (its JSON `error` code and `message`), no answer (network, timeout)
 * or an answer that is not the gateway's. Never an allow.
 */
export class GatewayError extends Error {
  constructor(message, { status = null, code = null, body = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}
