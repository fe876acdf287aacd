// The baseline of `make bench`: a hand-written pure-JS policy with the same
// semantics for ordinary names. One RegExp per pattern (fnmatch translated
// as CPython's `fnmatch.translate` does), a linear scan of deny, then
// require_approval, then allow; reasons precomputed per pattern; the same
// result objects and the same bounded audit log as the package.

function translate(pat) {
  let re = "";
  let i = 0;
  while (i < pat.length) {
    const c = pat[i++];
    if (c === "*") {
      while (pat[i] === "*") i++;
      re += "[\\s\\S]*";
    } else if (c === "?") {
      re += "[\\s\\S]";
    } else if (c === "[") {
      let j = i;
      if (pat[j] === "!") j++;
      if (pat[j] === "]") j++;
      while (j < pat.length && pat[j] !== "]") j++;
      if (j >= pat.length) {
        re += "\\[";
      } else {
        let set = pat.slice(i, j).replace(/\\/g, "\\\\");
        i = j + 1;
        if (set[0] === "!") set = `^${set.slice(1)}`;
        else if (set[0] === "^") set = `\\${set}`;
        re += `[${set}]`;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(`^(?:${re})$`, "u");
}

export class JsPolicy {
  constructor({ allow = [], deny = [], require_approval = [], default: dflt = "deny", audit = true }) {
    const rules = (list, decision, reason) =>
      list.map((p) => ({ re: translate(p), decision, reason: reason(p), pattern: p }));
    this.rules = [
      ...rules(deny, "deny", (p) => `denied by pattern: ${p}`),
      ...rules(require_approval, "require_approval", (p) => `requires approval per pattern: ${p}`),
      ...rules(allow, "allow", (p) => `allowed by pattern: ${p}`),
    ];
    this.defaultDecision = dflt;
    this.defaultReason =
      allow.length > 0 && dflt === "deny" ? "not in allow list (default: deny)" : `no matching rule (default: ${dflt})`;
    this.audit = audit;
    this.capacity = 10_000;
    this.log = [];
    this.head = 0;
    this.dropped = 0;
  }

  check(tool, options) {
    if (typeof tool !== "string") throw new TypeError("tool name must be a string");
    let decision = this.defaultDecision;
    let reason = this.defaultReason;
    let matchedRule = null;
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.re.test(tool)) {
        decision = r.decision;
        reason = r.reason;
        matchedRule = r.pattern;
        break;
      }
    }
    const result = {
      decision,
      tool,
      reason,
      matchedRule,
      allowed: decision === "allow",
      denied: decision === "deny",
      needsApproval: decision === "require_approval",
    };
    if (this.audit) {
      const entry = {
        timestamp: Date.now() / 1000,
        tool,
        decision,
        reason,
        matchedRule,
        context: options?.context ?? null,
      };
      if (this.log.length < this.capacity) this.log.push(entry);
      else {
        this.log[this.head] = entry;
        this.head = (this.head + 1) % this.capacity;
        this.dropped++;
      }
    }
    return result;
  }
}
