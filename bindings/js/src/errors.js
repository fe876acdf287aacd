// The package's Error subclasses. One definition per runtime: every entry
// (import and require alike on Node) exports these same classes.

/** A policy file (or options object) that cannot be loaded. */
export class PolicyError extends Error {
  constructor(message, { kind, field = null, index = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "PolicyError";
    this.kind = kind;
    this.field = field;
    this.index = index;
  }
}

/** Thrown by `enforce()` for a denied tool. */
export class ToolDenied extends Error {
  constructor(result) {
    super(`Tool '${result.tool}' denied: ${result.reason}`);
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
