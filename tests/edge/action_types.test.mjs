// The TypeScript types of ActionPolicies in the installed package:
// tests/edge/types/action.test.ts must compile under `tsc --strict`
// (nodenext), including its @ts-expect-error lines (which fail the build if
// the types are too loose).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { ROOT, installedPackage } from "./lib.mjs";

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "agentguard-types-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("ActionPolicies types compile, and misuse does not", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(installedPackage().pkgDir, join(dir, "node_modules/agentguard"));
  cpSync(join(ROOT, "tests/edge/types/action.test.ts"), join(dir, "action.test.ts"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022"], types: [] },
      files: ["action.test.ts"],
    }),
  );
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
