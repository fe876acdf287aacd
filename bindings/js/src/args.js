// A call's arguments, from JavaScript to the core: only the values at the
// argument paths that the conditions of the rules for the called tool read
// (the core's Policy::argument_paths_for, asked once per tool name), with
// the objects along each path, become the JSON text the core decides on. A
// call with a huge argument object costs nothing for what no condition
// reads, and what no condition reads may be anything.
//
// The rules are the Python binding's (bindings/python/src/args.rs), so both
// languages accept and refuse the same calls:
//   - `args` itself must be a plain object (or null / undefined: no
//     arguments); anything else is a TypeError.
//   - Where a condition reads a value, it must be JSON data: null, booleans,
//     numbers, well-formed strings, arrays (no holes, no undefined) and
//     plain objects of those. A function, symbol, BigInt, Map, Set, Date,
//     class instance, a cycle or a lone surrogate is a TypeError naming its
//     path (`args.to[1]: ...`). NaN and the infinities become `{}`: unknown
//     to every operator, present to `present` (CONDITIONS.md: "NaN or an
//     infinity is unknown"). Integers are passed exactly (2 ** 60 is
//     1152921504606846976, not JSON.stringify's 1152921504606847000).
//   - A value only looked into on the way to a longer path must be a plain
//     object; other JSON data there (a string, an array, null, ...) makes
//     the path below missing; anything else is a TypeError.
//   - Values are read the way their author wrote them: by property access
//     (getters and Proxy traps run), except that a key Object.prototype also
//     has (`constructor`, `toString`, `__proto__`, ...) is read only when
//     the object has it as its own, so an inherited method is never taken
//     for an argument.

import { structured } from "./errors.js";
import { fieldOf, isPlainObject, kindOf, numberText } from "./data.js";
import { describe, isWellFormed, loneSurrogateAt } from "./util.js";

/**
 * How deep arrays and objects may nest in the JSON text of a call's
 * arguments, counted from `args` itself: the core's JSON reader stops at
 * 128 levels. (A cycle is found before: it is refused as one.)
 */
const MAX_DEPTH = 100;

/**
 * The paths `[["to"], ["recipient", "email"]]` as a tree: each node a list
 * of children `{ key, text, own, leaf, node, path }`.
 */
export function pathTree(paths) {
  const root = [];
  for (const segments of paths) {
    let node = root;
    segments.forEach((key, k) => {
      let child = node.find((c) => c.key === key);
      if (child === undefined) {
        child = {
          key,
          // The key as JSON text, made once.
          text: JSON.stringify(key),
          // Read only as an own property (see above).
          own: key in Object.prototype,
          leaf: false,
          node: [],
          path: `args.${segments.slice(0, k + 1).join(".")}`,
        };
        node.push(child);
      }
      if (k + 1 === segments.length) child.leaf = true;
      node = child.node;
    });
  }
  return root;
}

function fail(path, description, kind) {
  const { field, index } = fieldOf(path);
  throw structured(new TypeError(`${path}: ${description}`), kind, field, index);
}

/** Checks `args` (the option) and returns it, or null for none. */
export function argsOf(args) {
  if (args === undefined || args === null) return null;
  if (typeof args !== "object" || !isPlainObject(args)) {
    throw structured(
      new TypeError(`args must be a plain object of argument names to values, got ${args === null || typeof args !== "object" ? describe(args) : kindOf(args)}`),
      "wrong_type",
      "args",
    );
  }
  return args;
}

/**
 * The JSON text of the values of `args` (a plain object, or null) that the
 * paths of `tree` read.
 */
export function argsText(args, tree) {
  if (args === null) return "{}";
  return objectText(args, tree, 1) ?? "{}";
}

/** The children of `node` found in `obj`, as a JSON object; null if none is. */
function objectText(obj, node, depth) {
  let out = null;
  for (let i = 0; i < node.length; i++) {
    const c = node[i];
    const v = c.own && !Object.prototype.hasOwnProperty.call(obj, c.key) ? undefined : obj[c.key];
    if (v === undefined) continue;
    let text;
    if (c.leaf) {
      text = valueText(v, c.path, depth + 1, null);
    } else if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      // Only longer paths read it: a plain object is looked into.
      if (!isPlainObject(v)) {
        fail(c.path, `expected a plain object to look into (or other JSON data), got ${kindOf(v)}`, "wrong_type");
      }
      if (depth + 1 > MAX_DEPTH) fail(c.path, `arrays and objects nested deeper than ${MAX_DEPTH} levels`, "invalid_value");
      text = objectText(v, c.node, depth + 1);
      if (text === null) continue;
    } else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null || Array.isArray(v)) {
      // Other JSON data is not an object: the paths below are missing.
      continue;
    } else {
      fail(c.path, `expected a plain object to look into (or other JSON data), got ${kindOf(v)}`, "wrong_type");
    }
    out = out === null ? `{${c.text}:${text}` : `${out},${c.text}:${text}`;
  }
  return out === null ? null : `${out}}`;
}

/** A value a condition reads, as JSON text, all of it (`stack`: the containers above it). */
function valueText(v, path, depth, stack) {
  switch (typeof v) {
    case "string":
      if (!isWellFormed(v)) {
        fail(path, `a string that is not well-formed Unicode (lone surrogate at index ${loneSurrogateAt(v)}); agentguard refuses it rather than deciding on a repaired string`, "invalid_value");
      }
      return JSON.stringify(v);
    case "number":
      // NaN and the infinities: unknown to every operator, yet present.
      return Number.isFinite(v) ? numberText(v) : "{}";
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      break;
    default:
      fail(path, `${kindOf(v)} is not JSON data`, "wrong_type");
  }
  const array = Array.isArray(v);
  if (!array && !isPlainObject(v)) fail(path, `${kindOf(v)} is not JSON data`, "wrong_type");
  if (stack !== null && stack.includes(v)) fail(path, "a cyclic reference is not JSON data", "wrong_type");
  if (depth > MAX_DEPTH) fail(path, `arrays and objects nested deeper than ${MAX_DEPTH} levels`, "invalid_value");
  const inner = stack === null ? [v] : stack;
  if (stack !== null) stack.push(v);
  let text;
  if (array) {
    const parts = [];
    for (let i = 0; i < v.length; i++) {
      const at = `${path}[${i}]`;
      if (!(i in v)) fail(at, "a hole in an array is not JSON data", "wrong_type");
      const item = v[i];
      if (item === undefined) fail(at, "undefined is not JSON data", "wrong_type");
      parts.push(valueText(item, at, depth + 1, inner));
    }
    text = `[${parts.join(",")}]`;
  } else {
    const parts = [];
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key === "symbol") fail(path, `a symbol key (${String(key)}) is not JSON data`, "wrong_type");
      const at = `${path}.${key}`;
      if (!isWellFormed(key)) fail(at, `a key that is not well-formed Unicode (lone surrogate at index ${loneSurrogateAt(key)})`, "invalid_value");
      const item = v[key];
      // As in JSON: a key holding undefined is left out.
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${valueText(item, at, depth + 1, inner)}`);
    }
    text = `{${parts.join(",")}}`;
  }
  if (stack !== null) stack.pop();
  return text;
}
