// The tool-call list: one call a line, `tool` or `tool {json args}`.

/**
 * One line of the tool-call list. `args` is the parsed arguments object, or
 * `null` for a line without arguments. A line that cannot be called (its
 * arguments are not a JSON object) has `error`, and `errorAt`: the span of
 * the line to mark, as offsets into the whole text.
 * @typedef {{
 *   line: number, text: string, start: number,
 *   tool: string, args: object | null, argsText: string | null,
 *   error: string | null, errorAt: { start: number, end: number } | null,
 * }} Call
 */

// A line's arguments start at the first `{` or `[` after a space or tab
// (`[` so that an array is reported rather than taken for part of a name).
const WITH_ARGS = /^(.+?)[ \t]+([{[].*)$/s;

/** What `JSON.parse` said, with its offset into `text` when it gave one. */
function jsonError(err, text) {
  const message = String(err?.message ?? err);
  const m = /at position (\d+)/.exec(message);
  let offset = m ? Number(m[1]) : null;
  if (offset !== null && offset > text.length) offset = text.length;
  return { message, offset };
}

/**
 * The calls in the tool-call list, with their line numbers (1-based) and
 * where they are in the text. Blank lines are skipped; a tool name is the
 * line up to its arguments, untrimmed (a name may hold spaces).
 * @param {string} text
 * @returns {Call[]}
 */
export function parseCalls(text) {
  const calls = [];
  let start = 0;
  const lines = text.split("\n");
  lines.forEach((raw, n) => {
    const lineStart = start;
    start += raw.length + 1;
    const line = raw.replace(/\r$/, "");
    if (line === "") return;
    const call = { line: n + 1, text: line, start: lineStart, tool: line, args: null, argsText: null, error: null, errorAt: null };
    calls.push(call);
    if (/^[ \t]*[{[]/.test(line)) {
      call.tool = "";
      call.error = `line ${n + 1}: a tool name comes first, then its arguments`;
      call.errorAt = { start: lineStart, end: lineStart + line.length };
      return;
    }
    const m = WITH_ARGS.exec(line);
    if (!m) return;
    call.tool = m[1];
    call.argsText = m[2];
    const argsStart = lineStart + line.length - m[2].length;
    const wholeArgs = { start: argsStart, end: argsStart + m[2].length };
    let args;
    try {
      args = JSON.parse(m[2]);
    } catch (err) {
      const { message, offset } = jsonError(err, m[2]);
      call.error = `line ${n + 1}: the arguments are not valid JSON: ${message}`;
      // From where the parser stopped to the end of the line: the text that broke it.
      call.errorAt = offset === null ? wholeArgs : { start: Math.min(argsStart + offset, wholeArgs.end - 1), end: wholeArgs.end };
      return;
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      call.error = `line ${n + 1}: the arguments must be a JSON object, got ${Array.isArray(args) ? "an array" : JSON.stringify(args)}`;
      call.errorAt = wholeArgs;
      return;
    }
    call.args = args;
  });
  return calls;
}
