// Reading the caller's objects as JSON data, strictly, into the JSON text
// the core reads.
//
// JSON.stringify is not strict enough: it reads only own enumerable keys
// (a class getter, an inherited or non-enumerable `deny` would be silently
// dropped), turns a Map or a Set into `{}`, NaN into null and a Date into a
// string, and drops functions and symbols. Any of those in a policy could
// read as an empty deny list, which under `"default": "allow"` allows
// everything. Here a policy object is read the way its author reads it (each
// key of the format by property access, whatever defines it), and every
// value must be JSON data, or it is an error that names where it is.

import { isWellFormed, loneSurrogateAt } from "./util.js";

/**
 * What a value that is not JSON data is, for an error message: `a Map`,
 * `a function`, `an instance of Endpoint`.
 */
export function kindOf(v) {
  switch (typeof v) {
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "bigint":
      return `a BigInt (${v}n)`;
    case "number":
      return `the number ${v}`;
    default:
      break;
  }
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  if (tag !== "Object") return `${/^[AEIOU]/.test(tag) ? "an" : "a"} ${tag}`;
  const name = typeof v.constructor === "function" ? v.constructor.name : "";
  return name ? `an instance of ${name}` : "an object with a prototype of its own";
}

/**
 * A plain object: made by a literal, JSON.parse or `Object.create(null)`,
 * in this realm or another (a vm context, an iframe); not a class instance,
 * a Map, a Date, ...
 */
export function isPlainObject(v) {
  const proto = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return true;
  return (
    Object.getPrototypeOf(proto) === null &&
    Object.prototype.toString.call(v) === "[object Object]" &&
    Object.prototype.hasOwnProperty.call(proto, "constructor") &&
    typeof proto.constructor === "function" &&
    proto.constructor.name === "Object" &&
    proto.constructor.prototype === proto
  );
}

/** `path.key`, or `path["odd key"]` when the key is not a plain name. */
export function keyPath(path, key) {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

const TWO_53 = 2 ** 53;
const TWO_64 = 2 ** 64;

/**
 * A finite number as JSON text, exactly: the core reads an integer literal
 * as that integer, and JSON.stringify writes an integer past 2^53 as the
 * shortest decimal that reads back as the same double (1152921504606847000
 * for 2 ** 60), which is another integer; those are written digit by digit.
 */
export function numberText(n) {
  if ((n >= TWO_53 || n <= -TWO_53) && n < TWO_64 && n > -TWO_64 && Number.isInteger(n)) return BigInt(n).toString();
  return JSON.stringify(n);
}

/**
 * `value` as JSON text, if it is JSON data: null, booleans, finite numbers,
 * well-formed strings, and arrays (without holes or `undefined`) and plain
 * objects of those. Object keys are the own string keys, enumerable or not
 * (getters are read); a key holding `undefined` is left out, as JSON does.
 * Anything else calls `fail(path, description, kind)`, which throws.
 */
export function jsonText(value, path, fail, stack = []) {
  switch (typeof value) {
    case "string":
      if (!isWellFormed(value)) {
        fail(path, `a string that is not well-formed Unicode (lone surrogate at ${loneSurrogateAt(value)})`, "invalid_value");
      }
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) fail(path, `${kindOf(value)} is not JSON data`, "wrong_type");
      return numberText(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      break;
    default:
      fail(path, `${kindOf(value)} is not JSON data`, "wrong_type");
  }
  if (stack.includes(value)) fail(path, "a cyclic reference is not JSON data", "wrong_type");
  stack.push(value);
  const parts = [];
  let text;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = `${path}[${i}]`;
      if (!(i in value)) fail(at, "a hole in an array is not JSON data", "wrong_type");
      const item = value[i];
      if (item === undefined) fail(at, "undefined is not JSON data", "wrong_type");
      parts.push(jsonText(item, at, fail, stack));
    }
    text = `[${parts.join(",")}]`;
  } else if (isPlainObject(value)) {
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === "symbol") fail(path, `a symbol key (${String(key)}) is not JSON data`, "wrong_type");
      const v = value[key];
      if (v === undefined) continue;
      const at = keyPath(path, key);
      if (!isWellFormed(key)) fail(at, "a key that is not well-formed Unicode is not JSON data", "invalid_value");
      parts.push(`${JSON.stringify(key)}:${jsonText(v, at, fail, stack)}`);
    }
    text = `{${parts.join(",")}}`;
  } else {
    fail(path, `${kindOf(value)} is not JSON data`, "wrong_type");
  }
  stack.pop();
  return text;
}

/**
 * A format object (a policy, an action policy, a store) as JSON text, read
 * the way its author reads it: each of `keys` by property access (an own or
 * inherited property, a getter, a class's; `undefined` is absent), each own
 * key that is not one of them (enumerable or not, a symbol's description
 * included) passed on with a null value, so that the core names it as the
 * unknown key it is. `readers[key]` reads that key's value instead of
 * `jsonText` (a list of nested format objects).
 *
 * Something that is not an object at all (a string, an array, null) is
 * passed on as JSON data for the core to refuse by name; a Map, a Date, a
 * function or the like is `fail`ed here.
 */
export function objectText(obj, path, keys, fail, readers = {}) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return jsonText(obj, path, fail);
  if (Object.prototype.toString.call(obj) !== "[object Object]") {
    fail(path, `${kindOf(obj)} is not an object of the format`, "not_an_object");
  }
  const parts = [];
  const read = (key) => {
    const v = obj[key];
    if (v === undefined) return;
    const at = keyPath(path, key);
    const text = Object.prototype.hasOwnProperty.call(readers, key) ? readers[key](v, at) : jsonText(v, at, fail, [obj]);
    parts.push(`${JSON.stringify(key)}:${text}`);
  };
  const own = new Set();
  for (const key of Reflect.ownKeys(obj)) {
    if (typeof key === "string" && keys.includes(key)) {
      own.add(key);
      read(key);
      continue;
    }
    const name = typeof key === "symbol" ? String(key) : key;
    if (!isWellFormed(name)) fail(keyPath(path, name), "a key that is not well-formed Unicode", "unknown_key");
    parts.push(`${JSON.stringify(name)}:null`);
  }
  for (const key of keys) if (!own.has(key)) read(key);
  return `{${parts.join(",")}}`;
}

/**
 * Splits a path like `deny[1]` into the error fields the core uses: the
 * field (`deny`, or the whole path when nested deeper) and the index of a
 * final `[i]`.
 */
export function fieldOf(path) {
  const m = /^(.*)\[(\d+)\]$/.exec(path);
  return m === null ? { field: path === "" ? null : path, index: null } : { field: m[1], index: Number(m[2]) };
}
