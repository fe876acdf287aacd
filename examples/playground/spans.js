// Where things are in the policy text, so the editor can highlight the rule
// that decided and the field an error names. A small JSON scanner: it only
// records positions; the package does the real parsing and validation.

/**
 * A half-open range of UTF-16 offsets into the policy text.
 * @typedef {{ start: number, end: number }} Span
 */

/**
 * Positions in a policy's JSON text, keyed by path:
 * `"deny"` (the value of a top-level key), `"deny[2]"` (an array element),
 * `"key:deny"` (the key itself, quotes included).
 * @typedef {{ spans: Map<string, Span>, error: null | { offset: number, message: string } }} PolicySpans
 */

const WS = new Set([" ", "\t", "\n", "\r"]);

/**
 * Scans `text` as JSON and records the span of every top-level key, every
 * top-level value and every element of a top-level array. Never throws: a
 * syntax error comes back as `error` with the offset where scanning stopped.
 * @param {string} text
 * @returns {PolicySpans}
 */
export function policySpans(text) {
  const spans = new Map();
  let i = 0;
  const fail = (message) => {
    throw { offset: Math.min(i, text.length), message };
  };
  const ws = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const string = () => {
    if (text[i] !== '"') fail("expected a string");
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 0x20) fail("control character in a string");
      i++;
    }
    if (i >= text.length) fail("unterminated string");
    i++;
  };
  const literal = () => {
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) fail("unexpected character");
    i += m[0].length;
  };
  // `path` names this value when it is recorded; `depth` 0 is the policy.
  const value = (path, depth) => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") object(depth);
    else if (c === "[") array(path, depth);
    else if (c === '"') string();
    else if (i >= text.length) fail("unexpected end of text");
    else literal();
    if (path !== null) spans.set(path, { start, end: i });
  };
  const object = (depth) => {
    i++;
    ws();
    if (text[i] === "}") return void i++;
    for (;;) {
      ws();
      const keyStart = i;
      string();
      const key = depth === 0 ? JSON.parse(text.slice(keyStart, i)) : null;
      if (key !== null) spans.set(`key:${key}`, { start: keyStart, end: i });
      ws();
      if (text[i] !== ":") fail("expected ':'");
      i++;
      value(key, depth + 1);
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return void i++;
      else fail("expected ',' or '}'");
    }
  };
  const array = (path, depth) => {
    i++;
    ws();
    if (text[i] === "]") return void i++;
    for (let n = 0; ; n++) {
      value(depth === 1 && path !== null ? `${path}[${n}]` : null, depth + 1);
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return void i++;
      else fail("expected ',' or ']'");
    }
  };
  try {
    value(null, 0);
    ws();
    if (i < text.length) fail("trailing characters");
    return { spans, error: null };
  } catch (e) {
    if (e instanceof Error) throw e;
    return { spans, error: e };
  }
}

/**
 * The span an error with this field and index points at: the key for an
 * unknown key; else the element, else the value, else the key; `null` when
 * the text has no such place.
 * @param {PolicySpans} scanned
 * @param {string | null | undefined} field
 * @param {number | null | undefined} index
 * @param {string} [kind] the error's kind
 * @returns {Span | null}
 */
export function errorSpan(scanned, field, index, kind) {
  if (!field) return null;
  const { spans } = scanned;
  if (kind === "unknown_key" && spans.has(`key:${field}`)) return spans.get(`key:${field}`);
  if (index !== null && index !== undefined && spans.has(`${field}[${index}]`)) {
    return spans.get(`${field}[${index}]`);
  }
  return spans.get(field) ?? spans.get(`key:${field}`) ?? null;
}
