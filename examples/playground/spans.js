// Where things are in the policy text, so the editor can highlight the rule
// that decided and the place an error names. A small JSON scanner: it only
// records positions; the package does the real parsing and validation.

/**
 * A half-open range of UTF-16 offsets into the policy text.
 * @typedef {{ start: number, end: number }} Span
 */

/**
 * Positions in a policy's JSON text, keyed by path, the way the core names
 * fields in its errors: `"deny"` (the value of a top-level key), `"deny[2]"`
 * (an array element), `"rules[3].when.amount.lte"` (a value deeper down:
 * object keys joined by `.`, an argument path's own dots kept), and
 * `"key:deny"` / `"key:rules[0].bogus"` (the key itself, quotes included).
 * @typedef {{ spans: Map<string, Span>, error: null | { offset: number, message: string } }} PolicySpans
 */

const WS = new Set([" ", "\t", "\n", "\r"]);

/**
 * Scans `text` as JSON and records the span of every key and every value,
 * at every depth, by its path. Never throws: a syntax error comes back as
 * `error` with the offset where scanning stopped (the spans found before it
 * are kept).
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
  // `path` names this value ("" for the policy itself, which is not recorded).
  const value = (path) => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") object(path);
    else if (c === "[") array(path);
    else if (c === '"') string();
    else if (i >= text.length) fail("unexpected end of text");
    else literal();
    if (path !== "") spans.set(path, { start, end: i });
  };
  const object = (path) => {
    i++;
    ws();
    if (text[i] === "}") return void i++;
    for (;;) {
      ws();
      const keyStart = i;
      string();
      let key;
      try {
        key = JSON.parse(text.slice(keyStart, i));
      } catch {
        i = keyStart;
        fail("bad escape in a key");
      }
      const child = path === "" ? key : `${path}.${key}`;
      spans.set(`key:${child}`, { start: keyStart, end: i });
      ws();
      if (text[i] !== ":") fail("expected ':'");
      i++;
      value(child);
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return void i++;
      else fail("expected ',' or '}'");
    }
  };
  const array = (path) => {
    i++;
    ws();
    if (text[i] === "]") return void i++;
    for (let n = 0; ; n++) {
      value(`${path}[${n}]`);
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return void i++;
      else fail("expected ',' or ']'");
    }
  };
  try {
    value("");
    ws();
    if (i < text.length) fail("trailing characters");
    return { spans, error: null };
  } catch (e) {
    if (e instanceof Error) throw e;
    return { spans, error: e };
  }
}

/** `rules[0].when.a` -> `rules[0].when`, `rules[0]` -> `rules`, `rules` -> null. */
function parentPath(path) {
  const m = /^(.*?)(?:\.[^.[\]]*|\[\d+\])$/.exec(path);
  return m && m[1] !== "" ? m[1] : null;
}

/**
 * The span an error with this field and index points at: the key for an
 * unknown key or a bad argument path; else the element, else the value,
 * else the key; else (a missing field, say) the nearest enclosing value
 * that is in the text; `null` when there is none.
 * @param {PolicySpans} scanned
 * @param {string | null | undefined} field like `allow` or `rules[3].when.amount.lte`
 * @param {number | null | undefined} index the element of `field`'s array, if any
 * @param {string} [kind] the error's kind
 * @param {string} [message] the error's message
 * @returns {Span | null}
 */
export function errorSpan(scanned, field, index, kind, message = "") {
  if (!field) return null;
  const { spans } = scanned;
  const key = spans.get(`key:${field}`);
  if (key && (kind === "unknown_key" || /not an argument path/.test(message))) return key;
  if (index !== null && index !== undefined && spans.has(`${field}[${index}]`)) {
    return spans.get(`${field}[${index}]`);
  }
  const own = spans.get(field) ?? key;
  if (own) return own;
  for (let p = parentPath(field); p !== null; p = parentPath(p)) {
    if (spans.has(p)) return spans.get(p);
  }
  return null;
}
