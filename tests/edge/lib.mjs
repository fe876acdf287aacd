// Shared by the runtime tests (workerd, Chromium, bundlers): the packed
// tarball installed the way a user installs it, a wrangler-style worker
// bundle, and the conformance vectors.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, cpSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** Where these tests write: bundles, temp projects, screenshots. */
export const OUT = join(ROOT, "target", "runtimes");
/** Test artefacts a person may want to look at (screenshots). */
export const ARTIFACTS = join(ROOT, "target", "artifacts");

/**
 * The packed npm tarball: `$AGENTGUARD_TARBALL`, else the newest
 * `target/npm/agentguard-*.tgz` that `make pack` wrote.
 */
export function tarballPath() {
  if (process.env.AGENTGUARD_TARBALL) return resolve(process.env.AGENTGUARD_TARBALL);
  const dir = join(ROOT, "target", "npm");
  const found = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^agentguard-.*\.tgz$/.test(f))
        .map((f) => join(dir, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  if (found.length === 0) throw new Error(`no agentguard-*.tgz in ${dir}: run \`make pack\` first`);
  return found[0];
}

/**
 * A fresh project with the tarball installed by npm, as a user gets it.
 * Made once per tarball (keyed by its hash) and shared by the test files;
 * it is built in a temporary folder and renamed into place, so test files
 * running at once never see half an install.
 * @returns {{ tarball: string, project: string, pkgDir: string }}
 */
export function installedPackage() {
  const tarball = tarballPath();
  const hash = createHash("sha256").update(readFileSync(tarball)).digest("hex").slice(0, 12);
  const project = join(OUT, `project-${hash}`);
  const pkgDir = join(project, "node_modules", "agentguard");
  if (!existsSync(join(pkgDir, "package.json"))) {
    const tmp = `${project}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, "package.json"), JSON.stringify({ name: "runtime-tests", private: true, type: "module" }, null, 2));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error", tarball], {
      cwd: tmp,
      stdio: ["ignore", "ignore", "inherit"],
      // A synchronous child blocks the event loop, so no test timeout can fire: its own.
      timeout: 300_000,
    });
    try {
      renameSync(tmp, project);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another test file won the race
    }
  }
  return { tarball, project, pkgDir };
}

// Folders made by projectFolder, removed when the test file ends
// (AGENTGUARD_KEEP=1 keeps them for a look).
const made = [];
process.on("exit", () => {
  if (!process.env.AGENTGUARD_KEEP) for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * Copies files or folders into a fresh folder of the installed project, so
 * that `import "agentguard"` in them resolves to the installed tarball.
 * @param {string} name the folder's name inside the project
 * @param {Record<string, string>} files destination (relative) -> source path, or `{ text }` contents
 */
export function projectFolder(name, files) {
  const { project } = installedPackage();
  const dir = join(project, `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  made.push(dir);
  for (const [dest, src] of Object.entries(files)) {
    const to = join(dir, dest);
    mkdirSync(dirname(to), { recursive: true });
    if (typeof src === "string") cpSync(src, to, { recursive: true });
    else writeFileSync(to, src.text);
  }
  return dir;
}

/**
 * Bundles a worker the way wrangler does: esbuild, ESM, the `workerd`
 * (or `edge-light`) condition first, JSON inlined, and every `.wasm` import
 * left as an import of a separate module that the runtime receives compiled
 * (`CompiledWasm`), never as bytes to compile at run time.
 * @param {string} entry
 * @param {{ conditions?: string[] }} [options]
 * @returns {Promise<{ code: string, wasm: Map<string, Uint8Array>, inputs: string[] }>}
 */
export async function bundleWorker(entry, { conditions = ["workerd", "worker", "browser"] } = {}) {
  const wasm = new Map();
  const wasmModules = {
    name: "wasm-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm(\?module)?$/ }, (args) => {
        const file = resolve(args.resolveDir, args.path.replace(/\?module$/, ""));
        const bytes = readFileSync(file);
        const name = `${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}-${basename(file)}`;
        wasm.set(name, bytes);
        return { path: `./${name}`, external: true };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["browser", "module", "main"],
    conditions,
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [wasmModules],
  });
  return { code: result.outputFiles[0].text, wasm, inputs: Object.keys(result.metafile.inputs) };
}

/**
 * Starts a bundled worker in workerd through miniflare.
 * @param {{ code: string, wasm: Map<string, Uint8Array> }} bundle
 * @param {object} [extra] more Miniflare options
 */
export async function startWorker(bundle, extra = {}) {
  const { Miniflare } = await import("miniflare");
  const dir = join(OUT, "workers");
  mkdirSync(dir, { recursive: true });
  const modules = [
    { type: "ESModule", path: join(dir, "worker.mjs"), contents: bundle.code },
    ...[...bundle.wasm].map(([name, bytes]) => ({ type: "CompiledWasm", path: join(dir, name), contents: bytes })),
  ];
  const mf = new Miniflare({ modules, modulesRoot: dir, compatibilityDate: "2025-01-01", ...extra });
  await mf.ready;
  return mf;
}

/** The shared conformance vectors: `policy`, `spec_errors`, `fnmatch`. */
export function vectors(name) {
  return JSON.parse(readFileSync(join(ROOT, "tests", "vectors", `${name}.json`), "utf8"));
}

/**
 * The file a package's `exports["."]` gives under these conditions, by
 * Node's rules: in an object, the first key (in order) that is one of the
 * conditions or `default` and resolves wins; arrays are tried in order.
 * @param {any} pkgJson the package's package.json
 * @param {string[]} conditions
 * @returns {string | null} a path like `./web.mjs`
 */
export function resolveExport(pkgJson, conditions) {
  const walk = (target) => {
    if (typeof target === "string") return target;
    if (Array.isArray(target)) {
      for (const t of target) {
        const r = walk(t);
        if (r) return r;
      }
      return null;
    }
    if (target && typeof target === "object") {
      for (const [key, value] of Object.entries(target)) {
        if (key === "default" || conditions.includes(key)) {
          const r = walk(value);
          if (r) return r;
        }
      }
    }
    return null;
  };
  let root = pkgJson.exports;
  if (root && typeof root === "object" && !Array.isArray(root) && Object.keys(root).some((k) => k.startsWith("."))) root = root["."];
  return walk(root);
}

/**
 * The code block after `<!-- example: NAME -->` in the README's `runtimes`
 * section, so tests run exactly what the README tells users to write.
 * @param {string} name
 */
export function readmeExample(name) {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /<!-- BEGIN runtimes -->([\s\S]*?)<!-- END runtimes -->/.exec(readme)?.[1] ?? "";
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!m) throw new Error(`README runtimes section has no "example: ${name}" block`);
  return m[1];
}
