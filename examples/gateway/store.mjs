// Durable files for the gateway: a JSON document replaced atomically, and
// append-only JSON-lines logs whose appends are fsynced before they count.
//
// Nothing here knows about policies or intents; server.mjs decides what is
// stored where.

import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, rmSync, ftruncateSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `text` to `path` so that a reader (or a restart after a crash)
 * sees either the old file or the new one, never a mix: a temporary file in
 * the same directory, fsync, rename over `path`, fsync of the directory.
 *
 * @param {string} path
 * @param {string} text
 */
export async function writeFileAtomic(path, text) {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
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
  const text = buf.subarray(0, end).toString("utf8");
  const records = [];
  let lineNo = 0;
  for (const line of text.split("\n")) {
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
 */
export class AppendLog {
  #path;
  #fh = null;
  #pending = [];
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
      if (this.#flushing === null) this.#flushing = this.#flush();
    });
  }

  async #flush() {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          if (this.#fh === null) this.#fh = await open(this.#path, "a", 0o600);
          await this.#fh.write(batch.map((p) => p.line).join(""));
          await this.#fh.sync();
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#flushing = null;
    }
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
