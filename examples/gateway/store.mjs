// Durable files for the gateway: a JSON document replaced atomically, and
// append-only JSON-lines logs whose appends are fsynced before they count.
//
// Nothing here knows about policies or intents; server.mjs decides what is
// stored where.

import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, readFile, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Fault injection for the crash tests: when the environment variable
 * `AGENTGUARD_GATEWAY_CRASH_AT` names this point, the process kills itself
 * with SIGKILL right here, as a power cut would. Unset in normal runs.
 *
 * @param {string} name e.g. `compact:written`, `rotate:renamed`
 */
export function crashPoint(name) {
  if (process.env.AGENTGUARD_GATEWAY_CRASH_AT === name) process.kill(process.pid, "SIGKILL");
}

async function syncDir(dir) {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `text` to `path` so that a reader (or a restart after a crash)
 * sees either the old file or the new one, never a mix: a temporary file in
 * the same directory, fsync, rename over `path`, fsync of the directory.
 *
 * @param {string} path
 * @param {string} text
 * @param {string} [label] names the crash points `<label>:written` (the
 *   temporary file is complete, not yet renamed) and `<label>:renamed`
 *   (renamed, directory not yet fsynced); see {@link crashPoint}
 */
export async function writeFileAtomic(path, text, label) {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (label) crashPoint(`${label}:written`);
  await rename(tmp, path);
  if (label) crashPoint(`${label}:renamed`);
  await syncDir(dirname(path));
}

/** Removes temporary files an interrupted `writeFileAtomic` left in `dir`. */
export function removeStaleTemporaries(dir) {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".") && name.includes(".tmp-")) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Reads a JSON-lines file written by {@link AppendLog}. A last line without
 * its newline is a torn write (the process died mid-append, so the append was
 * never acknowledged): it is reported through `warn`, cut off the file so the
 * next append starts on a fresh line, and skipped. A damaged line anywhere
 * else is corruption, not a torn write, and throws.
 *
 * @param {string} path
 * @param {(message: string) => void} warn
 * @returns {unknown[]} the records, in order
 */
export function readJsonLines(path, warn) {
  let buf;
  try {
    buf = readFileSync(path);
  } catch (e) {
    if (e.code === "ENOENT") return [];
    throw e;
  }
  const end = buf.lastIndexOf(0x0a) + 1;
  if (end < buf.length) {
    warn(
      `${path}: skipped a torn last line (${buf.length - end} bytes without a newline, from an interrupted write)`,
    );
    const fd = openSync(path, "r+");
    try {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return parseLines(buf, end, path);
}

/**
 * Appends `bytes` to the file open in append mode as `fh` and fsyncs it. If
 * either fails, the file is cut back to `sizeBefore`, so a later append never
 * lands after half a line, and the error is thrown: nothing was
 * acknowledged.
 *
 * @param {import("node:fs/promises").FileHandle} fh
 * @param {Buffer} bytes
 * @param {number} sizeBefore the file's size before this append
 */
async function appendSynced(fh, bytes, sizeBefore) {
  try {
    await fh.write(bytes);
    await fh.sync();
  } catch (e) {
    await fh.truncate(sizeBefore).catch(() => {});
    throw e;
  }
}

/**
 * The JSON records of `buf[0..end)`, one per line; a line that is not JSON
 * means the file is damaged (only a torn *last* line is expected, and the
 * callers cut that off before `end`).
 *
 * @param {Buffer} buf
 * @param {number} end
 * @param {string} path for the error message
 * @returns {any[]}
 */
function parseLines(buf, end, path) {
  const records = [];
  let lineNo = 0;
  for (const line of buf.subarray(0, end).toString("utf8").split("\n")) {
    lineNo += 1;
    if (line === "") continue;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      throw new Error(`${path}: line ${lineNo} is not valid JSON (${e.message}); the file is damaged`);
    }
  }
  return records;
}

/**
 * An append-only JSON-lines file. `append` resolves only once the line is
 * written and fsynced. Appends that arrive while a flush is running are
 * group-committed by the next one: one write and one fsync for all of them.
 * A failed write is cut back off the file (so a later append never lands
 * after half a line) and rejects its batch.
 */
export class AppendLog {
  #path;
  #fh = null;
  /** The file's length as far as this process wrote it; null until opened. */
  #size = null;
  #pending = [];
  /** @type {{fn: () => Promise<unknown>, resolve: (v: unknown) => void, reject: (e: unknown) => void}[]} */
  #exclusive = [];
  #flushing = null;

  /** @param {string} path */
  constructor(path) {
    this.#path = path;
  }

  /** The file's path. */
  get path() {
    return this.#path;
  }

  /**
   * Appends one record as a line; resolves when it is durable.
   *
   * @param {unknown} record
   * @returns {Promise<void>}
   */
  append(record) {
    const line = `${JSON.stringify(record)}\n`;
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Runs `fn` with the file closed and no write in progress: every append
   * acknowledged before is in the file, and appends that arrive meanwhile
   * wait and go to whatever file is at `path` afterwards (so `fn` may
   * replace it atomically).
   *
   * @template T
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  exclusive(fn) {
    return new Promise((resolve, reject) => {
      this.#exclusive.push({ fn, resolve, reject });
      this.#kick();
    });
  }

  #kick() {
    if (this.#flushing === null) this.#flushing = this.#flush();
  }

  async #flush() {
    try {
      while (this.#pending.length > 0 || this.#exclusive.length > 0) {
        if (this.#pending.length > 0) await this.#writeBatch();
        while (this.#exclusive.length > 0) {
          const op = this.#exclusive.shift();
          try {
            await this.#closeFile();
            op.resolve(await op.fn());
          } catch (e) {
            op.reject(e);
          }
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #writeBatch() {
    const batch = this.#pending;
    this.#pending = [];
    const text = batch.map((p) => p.line).join("");
    try {
      if (this.#fh === null) {
        this.#fh = await open(this.#path, "a", 0o600);
        this.#size = (await this.#fh.stat()).size;
      }
      const bytes = Buffer.from(text);
      await appendSynced(this.#fh, bytes, this.#size);
      this.#size += bytes.length;
      for (const p of batch) p.resolve();
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  async #closeFile() {
    if (this.#fh !== null) {
      const fh = this.#fh;
      this.#fh = null;
      this.#size = null;
      await fh.close();
    }
  }

  /** Waits for pending appends, then closes the file. */
  async close() {
    while (this.#flushing !== null) await this.#flushing;
    await this.#closeFile();
  }
}

/**
 * Parses the complete lines of a JSON-lines file without touching it: a
 * last line without its newline is a write still in flight and is left
 * out. For reading files another part of this process may be appending to.
 *
 * @param {string} path
 * @returns {Promise<object[]>}
 */
async function readCompleteLines(path) {
  let buf;
  try {
    buf = await readFile(path);
  } catch (e) {
    if (e.code === "ENOENT") return [];
    throw e;
  }
  return parseLines(buf, buf.lastIndexOf(0x0a) + 1, path);
}

/**
 * Gives every record of one file its sequence number: records written by
 * this class carry `seq`; older ones (written before records had one) get
 * the number after the previous record's, so numbering is positional and
 * the same on every load.
 */
function numbered(records, firstSeq) {
  let prev = firstSeq - 1;
  return records.map((r) => {
    if (typeof r.seq !== "number") r = { seq: prev + 1, ...r };
    prev = r.seq;
    return r;
  });
}

const SEGMENT_DIGITS = 12;

/**
 * An append-only, fsynced JSON-lines log whose records are numbered (`seq`,
 * from 1, assigned in file order) and which is rotated by size: once the
 * active file `<name>.jsonl` passes `segmentBytes`, it is renamed to the
 * segment `<name>.<first seq, 12 digits>.jsonl` (an atomic rename, then a
 * directory fsync) and a new active file starts. Nothing is ever rewritten
 * or deleted. The newest `memory` records are kept in memory; {@link page}
 * reads older ones from the segments on demand.
 */
export class SegmentedLog {
  #dir;
  #name;
  #segmentBytes;
  #memory;
  /** @type {{firstSeq: number, path: string}[]} oldest first */
  #segments;
  #activeFirstSeq;
  #nextSeq;
  #size;
  #fh = null;
  /** @type {{fields: object, resolve: (r: object) => void, reject: (e: unknown) => void}[]} */
  #pending = [];
  #flushing = null;
  /** @type {object[]} the newest records, oldest first */
  #recent;
  /** One parsed segment, for paging through it a page at a time. */
  #cache = { path: null, records: null };

  constructor(dir, name, segmentBytes, memory, state) {
    this.#dir = dir;
    this.#name = name;
    this.#segmentBytes = segmentBytes;
    this.#memory = memory;
    this.#segments = state.segments;
    this.#activeFirstSeq = state.activeFirstSeq;
    this.#nextSeq = state.nextSeq;
    this.#size = state.size;
    this.#recent = state.recent;
  }

  /**
   * Loads the log in `dir`: the segments' names, the active file (a torn
   * last line is cut off with a warning, see {@link readJsonLines}) and
   * enough of the newest segments to fill the in-memory window.
   *
   * @param {{dir: string, name: string, segmentBytes: number, memory: number, warn: (m: string) => void}} options
   */
  static async open({ dir, name, segmentBytes, memory, warn }) {
    const pattern = new RegExp(`^${name.replace(/[^\w]/g, "\\$&")}\\.(\\d{${SEGMENT_DIGITS}})\\.jsonl$`);
    const segments = readdirSync(dir)
      .map((f) => pattern.exec(f))
      .filter((m) => m !== null)
      .map((m) => ({ firstSeq: Number(m[1]), path: join(dir, m[0]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
    const activePath = join(dir, `${name}.jsonl`);
    let active = readJsonLines(activePath, warn);
    let older = [];
    let prevLast = 0;
    if (segments.length > 0) {
      const last = segments.at(-1);
      older = numbered(await readCompleteLines(last.path), last.firstSeq);
      prevLast = older.length > 0 ? older.at(-1).seq : last.firstSeq - 1;
    }
    active = numbered(active, prevLast + 1);
    const activeFirstSeq = active.length > 0 ? active[0].seq : prevLast + 1;
    const nextSeq = (active.length > 0 ? active.at(-1).seq : prevLast) + 1;
    let recent = active.slice(-memory);
    for (let i = segments.length - 1; i >= 0 && recent.length < memory; i--) {
      const records = i === segments.length - 1 ? older : numbered(await readCompleteLines(segments[i].path), segments[i].firstSeq);
      recent = [...records.slice(-(memory - recent.length)), ...recent];
    }
    let size = 0;
    try {
      size = statSync(activePath).size;
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
    return new SegmentedLog(dir, name, segmentBytes, memory, { segments, activeFirstSeq, nextSeq, size, recent });
  }

  /** The active file's path. */
  get path() {
    return join(this.#dir, `${this.#name}.jsonl`);
  }

  /** The segments' paths, oldest first. */
  get segmentPaths() {
    return this.#segments.map((s) => s.path);
  }

  /**
   * Appends `{seq, ...fields}`; resolves to that record once it is written
   * and fsynced (group-committed with concurrent appends).
   *
   * @param {object} fields
   * @returns {Promise<object>}
   */
  append(fields) {
    return new Promise((resolve, reject) => {
      this.#pending.push({ fields, resolve, reject });
      if (this.#flushing === null) this.#flushing = this.#flush();
    });
  }

  async #flush() {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        const records = batch.map((p, i) => ({ seq: this.#nextSeq + i, ...p.fields }));
        const bytes = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
        try {
          if (this.#fh === null) this.#fh = await open(this.path, "a", 0o600);
          // On failure the records are unacknowledged: their numbers are reused.
          await appendSynced(this.#fh, bytes, this.#size);
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        if (this.#size === 0) this.#activeFirstSeq = records[0].seq;
        this.#nextSeq += records.length;
        this.#size += bytes.length;
        this.#recent.push(...records);
        if (this.#recent.length > this.#memory * 1.5) this.#recent = this.#recent.slice(-this.#memory);
        batch.forEach((p, i) => p.resolve(records[i]));
        if (this.#size >= this.#segmentBytes) {
          try {
            await this.#rotate();
          } catch (e) {
            // The active file is intact; rotation is retried after the next write.
            console.warn(`warning: ${this.path}: rotation failed (${e.message}); still appending to it`);
          }
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #rotate() {
    if (this.#fh !== null) {
      const fh = this.#fh;
      this.#fh = null;
      await fh.close();
    }
    const firstSeq = this.#activeFirstSeq;
    const segment = join(this.#dir, `${this.#name}.${String(firstSeq).padStart(SEGMENT_DIGITS, "0")}.jsonl`);
    crashPoint("rotate:before-rename");
    await rename(this.path, segment);
    // Renamed: from here on the next append starts a new active file.
    this.#segments.push({ firstSeq, path: segment });
    this.#activeFirstSeq = this.#nextSeq;
    this.#size = 0;
    crashPoint("rotate:renamed");
    await syncDir(this.#dir);
  }

  /**
   * Newest first: up to `limit` records with `seq < before` for which
   * `match` is true, from memory and then, when those run out, from the
   * files on disk. `next_before` is the `before` of the next page, or null
   * once the beginning of the log was reached.
   *
   * @param {{before?: number, limit: number, match: (r: object) => boolean}} query
   * @returns {Promise<{records: object[], next_before: number | null}>}
   */
  async page({ before = Number.POSITIVE_INFINITY, limit, match }) {
    const out = [];
    let bound = before;
    const scan = (records) => {
      // records: oldest first, consecutive seqs
      let lo = 0;
      let hi = records.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (records[mid].seq < bound) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo - 1; i >= 0; i--) {
        if (match(records[i])) {
          out.push(records[i]);
          if (out.length === limit) return records[i].seq;
        }
      }
      return null;
    };
    const recent = this.#recent;
    if (recent.length > 0) {
      const done = scan(recent);
      if (done !== null) return { records: out, next_before: done };
      bound = Math.min(bound, recent[0].seq);
    }
    const files = [...this.#segments, { firstSeq: this.#activeFirstSeq, path: this.path, active: true }];
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i];
      if (f.firstSeq >= bound) continue;
      const done = scan(await this.#read(f));
      if (done !== null) return { records: out, next_before: done };
      bound = f.firstSeq;
    }
    return { records: out, next_before: null };
  }

  async #read(file) {
    if (file.active) return numbered(await readCompleteLines(file.path), file.firstSeq);
    if (this.#cache.path !== file.path) {
      this.#cache = { path: file.path, records: numbered(await readCompleteLines(file.path), file.firstSeq) };
    }
    return this.#cache.records;
  }

  /** Waits for pending appends, then closes the file. */
  async close() {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#fh !== null) {
      const fh = this.#fh;
      this.#fh = null;
      await fh.close();
    }
  }
}
