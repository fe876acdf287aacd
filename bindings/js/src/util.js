// Small value checks shared by the API classes.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` is well-formed UTF-16 (no lone surrogate). */
export const isWellFormed =
  typeof String.prototype.isWellFormed === "function"
    ? (s) => s.isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/** Where the first lone surrogate of `s` is (-1: none). */
export function loneSurrogateAt(s) {
  const m = LONE_SURROGATE.exec(s);
  return m === null ? -1 : m.index;
}

/** A short description of a value's type, for error messages. */
export function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  switch (typeof v) {
    case "string":
      return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof v} ${String(v)}`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      if (typeof v.then === "function") return "a Promise";
      return "an object";
  }
}

/**
 * Checks that `value` is a string of well-formed Unicode: a `TypeError`
 * otherwise, naming `what`.
 */
export function checkString(value, what) {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  }
  if (!isWellFormed(value)) {
    throw new TypeError(
      `${what} is not well-formed Unicode: lone surrogate at index ${loneSurrogateAt(value)}`,
    );
  }
}
