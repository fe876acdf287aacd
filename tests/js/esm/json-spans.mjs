// Where values sit in JSON text, for the replays that must know what the
// text holds exactly (a JavaScript number cannot hold every integer the
// core holds): the span of a key's value in an object, of each element of
// an array, and the integer literals of a span that no double holds.

const WS = new Set([" ", "\t", "\n", "\r"]);

function skipWs(text, i) {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

/** The end (exclusive) of the string literal that starts at `i`. */
function stringEnd(text, i) {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new Error(`unterminated string at ${i}`);
}

/** The end (exclusive) of the JSON value that starts at `i` (after blanks). */
export function valueEnd(text, i) {
  i = skipWs(text, i);
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = stringEnd(text, j) - 1;
      else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error(`unterminated ${c} at ${i}`);
  }
  const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
  if (m === null) throw new Error(`no JSON value at ${i}`);
  return i + m[0].length;
}

/** The entries of the object in `text` at [start, end): key -> [start, end) of its value. */
export function objectSpans(text, start = 0) {
  let i = skipWs(text, start);
  if (text[i] !== "{") throw new Error(`no object at ${i}`);
  const out = new Map();
  i = skipWs(text, i + 1);
  if (text[i] === "}") return out;
  for (;;) {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd));
    i = skipWs(text, keyEnd);
    if (text[i] !== ":") throw new Error(`no ':' at ${i}`);
    const vs = skipWs(text, i + 1);
    const ve = valueEnd(text, vs);
    out.set(key, [vs, ve]);
    i = skipWs(text, ve);
    if (text[i] === "}") return out;
    if (text[i] !== ",") throw new Error(`no ',' at ${i}`);
    i = skipWs(text, i + 1);
  }
}

/** The elements of the array in `text` at `start`: [start, end) of each. */
export function arraySpans(text, start = 0) {
  let i = skipWs(text, start);
  if (text[i] !== "[") throw new Error(`no array at ${i}`);
  const out = [];
  i = skipWs(text, i + 1);
  if (text[i] === "]") return out;
  for (;;) {
    const ve = valueEnd(text, i);
    out.push([i, ve]);
    i = skipWs(text, ve);
    if (text[i] === "]") return out;
    if (text[i] !== ",") throw new Error(`no ',' at ${i}`);
    i = skipWs(text, i + 1);
  }
}

const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/**
 * The integer literals in the JSON text `s` (outside strings) that the
 * core holds exactly (within -2^63 .. 2^64-1, as serde_json does) and no
 * JavaScript number holds: 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 64 - 1. Past that
 * range the core reads a double too, the same one.
 */
export function inexactIntegers(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i = stringEnd(s, i) - 1;
      continue;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
      const tok = m[0];
      i += tok.length - 1;
      if (m[1] !== undefined || m[2] !== undefined) continue;
      const exact = BigInt(tok);
      if (exact < I64_MIN || exact > U64_MAX) continue;
      if (BigInt(Number(tok)) !== exact) out.push(tok);
    }
  }
  return out;
}
