// The shared conformance vectors, run against whatever copy of the package
// a runtime loaded: workerd, Chromium, a bundle. No imports of its own, so
// it bundles anywhere; it returns the failures instead of throwing, so the
// Node side can print them.

/** JSON with object keys sorted, so key order never decides equality. */
function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

function same(a, b) {
  return canonical(a) === canonical(b);
}

/**
 * Runs `tests/vectors/{fnmatch,policy,spec_errors}.json` against the module.
 * @param {{ Policy: any, PolicyError: any, fnmatch: (name: string, pattern: string) => boolean }} ag
 * @param {{ fnmatch: any, policy: any, spec_errors: any }} vectors
 * @returns {{ checked: number, failures: string[] }}
 */
export function runConformance(ag, vectors) {
  const failures = [];
  let checked = 0;
  const expect = (ok, what) => {
    checked++;
    if (!ok) failures.push(what);
  };

  for (const c of vectors.fnmatch.cases) {
    const got = ag.fnmatch(c.name, c.pattern);
    expect(got === c.match, `fnmatch(${JSON.stringify(c.name)}, ${JSON.stringify(c.pattern)}) = ${got}, want ${c.match}`);
  }

  for (const c of vectors.policy.cases) {
    const options = c.approval === null ? {} : { onApproval: () => c.approval };
    const policy = new ag.Policy(c.policy, options);
    const before = Date.now() / 1000;
    for (const k of c.checks) {
      const r = policy.check(k.tool, k.context === null ? undefined : { context: k.context });
      const got = [r.decision, r.reason, r.matchedRule];
      const want = [k.decision, k.reason, k.matched_rule];
      expect(same(got, want), `${c.name}: check(${JSON.stringify(k.tool)}) = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    const entries = policy.auditLog.map((e) => e.toJSON());
    const stamps = entries.map((e) => e.timestamp);
    expect(
      stamps.every((t) => typeof t === "number" && t >= before - 1 && t <= Date.now() / 1000 + 1),
      `${c.name}: audit timestamps ${JSON.stringify(stamps)} are not seconds since the epoch, now`,
    );
    const audit = entries.map(({ timestamp, ...rest }) => rest);
    expect(same(audit, c.audit), `${c.name}: audit ${JSON.stringify(audit)}, want ${JSON.stringify(c.audit)}`);
  }

  for (const c of vectors.spec_errors.cases) {
    let err = null;
    try {
      new ag.Policy(c.spec);
    } catch (e) {
      err = e;
    }
    const got = err && [err instanceof ag.PolicyError, err.kind, err.field ?? null, err.index ?? null, err.message];
    const want = [true, c.kind, c.field, c.index, c.message];
    expect(same(got, want), `${c.name}: error ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  return { checked, failures };
}
