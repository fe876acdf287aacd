// Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys
// without a word, so a keys file that names one key twice would silently
// lose an entry (or a field of one); the gateway refuses such a file
// instead. No package on the registry fitted (small, kept up, and saying
// where the duplicate is), and this example is to be replaced by the Rust
// gateway, whose serde reader rejects duplicates itself, so it is a small
// scanner of its own: it runs after JSON.parse has accepted the text, so
// it only has to follow strings and brackets, never to judge syntax.

/**
 * @typedef {{key: string, index: number}} ObjectStep  a member of an object:
 *   its key and its position among that object's members (0-based)
 * @typedef {{index: number}} ArrayStep  an element of an array (0-based)
 * @typedef {{line: number, column: number}} Position  1-based; columns count UTF-16 code units
 * @typedef {{
 *   key: string,
 *   path: Array<ObjectStep | ArrayStep>,
 *   index: number,
 *   firstIndex: number,
 *   at: Position,
 *   first: Position,
 * }} DuplicateKey
 *   `key`, decoded (so `"a"` and `"\u0061"` are the same key); `path`, the
 *   steps from the top-level value to the object holding it ([] for the
 *   top-level object); `index` / `firstIndex`, the member positions of the
 *   repeat and of the first occurrence in that object; `at` / `first`,
 *   where the two keys' opening quotes are in the text.
 */

/**
 * The first repeated key in `text` (in document order: the repeat that
 * comes earliest in the text), or null when every object's keys are
 * distinct. `text` must be JSON that JSON.parse accepts; anything else
 * throws a SyntaxError.
 *
 * @param {string} text
 * @returns {DuplicateKey | null}
 */
export function findDuplicateKey(text) {
  JSON.parse(text);
  /**
   * One open object or array. `members`: an object's keys so far, with the
   * member position and place of each; `count`: members or elements so far;
   * `step`: how the parent reaches this value.
   *
   * @type {Array<{members: Map<string, {index: number, at: Position}> | null, count: number, step: ObjectStep | ArrayStep | null}>}
   */
  const stack = [];
  // The step under which the next value is reached (set by a key, or by an
  // array element starting).
  let nextStep = null;
  let expectKey = false;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  let i = 0;
  const path = () => stack.slice(1).map((f) => f.step);
  const valueStarts = () => {
    const top = stack.at(-1);
    if (top !== undefined && top.members === null) {
      nextStep = { index: top.count };
      top.count += 1;
    }
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x0a: // \n
        line += 1;
        lineStart = i + 1;
        i += 1;
        break;
      case 0x20:
      case 0x09:
      case 0x0d:
      case 0x2c: // ,
      case 0x3a: // :
        i += 1;
        break;
      case 0x7b: // {
      case 0x5b: {
        // [
        valueStarts();
        stack.push({ members: c === 0x7b ? new Map() : null, count: 0, step: nextStep });
        nextStep = null;
        expectKey = c === 0x7b;
        i += 1;
        break;
      }
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        expectKey = stack.at(-1)?.members != null;
        i += 1;
        break;
      case 0x22: {
        // a string: find its closing quote (a backslash always escapes the next character)
        const start = i;
        i += 1;
        while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
        i += 1;
        const top = stack.at(-1);
        if (expectKey && top?.members) {
          const key = JSON.parse(text.slice(start, i));
          const at = { line, column: start - lineStart + 1 };
          const seen = top.members.get(key);
          if (seen !== undefined) {
            return { key, path: path(), index: top.count, firstIndex: seen.index, at, first: seen.at };
          }
          top.members.set(key, { index: top.count, at });
          nextStep = { key, index: top.count };
          top.count += 1;
          expectKey = false;
        } else {
          valueStarts();
          expectKey = top?.members != null;
        }
        break;
      }
      default: {
        // a number, true, false or null: up to the next delimiter
        valueStarts();
        while (i < n && !/[\s,\]}]/.test(text[i])) i += 1;
        expectKey = stack.at(-1)?.members != null;
      }
    }
  }
  return null;
}

/**
 * `path` (a {@link DuplicateKey}'s) as JavaScript-like text: `keys["a b"][2].role`;
 * "the top level" for [].
 *
 * @param {Array<ObjectStep | ArrayStep>} path
 * @returns {string}
 */
export function formatPath(path) {
  if (path.length === 0) return "the top level";
  let out = "";
  for (const step of path) {
    if (!("key" in step)) out += `[${step.index}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(step.key)) out += out === "" ? step.key : `.${step.key}`;
    else out += `[${JSON.stringify(step.key)}]`;
  }
  return out;
}
