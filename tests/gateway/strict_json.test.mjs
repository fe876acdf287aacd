// The gateway's duplicate-key scanner (examples/gateway/strict-json.mjs):
// exact cases, then random documents against a reference built from the
// same tree, then the keys file's messages.

import assert from "node:assert/strict";
import { test } from "node:test";

import { findDuplicateKey, formatPath } from "../../examples/gateway/strict-json.mjs";

const dup = (text) => findDuplicateKey(text);
/** Just the key and where it is, for short assertions. */
const brief = (text) => {
  const d = dup(text);
  return d === null ? null : { key: d.key, path: formatPath(d.path), index: d.index, firstIndex: d.firstIndex };
};

test("no duplicates: null, whatever the shape", () => {
  for (const text of [
    "{}",
    "[]",
    "1",
    '"a"',
    "null",
    "true",
    '{"a": 1, "b": 2, "c": {"a": 1, "b": {"a": [1, {"a": 2}]}}}',
    '[{"a": 1}, {"a": 2}, [{"a": 3}]]',
    '{"a": "a", "b": "a"}', // equal values are fine
    '{"a": {"x": 1}, "b": {"x": 1}}', // sibling objects are separate scopes
    '{"": 1, " ": 2, "a ": 3, "A": 4, "a": 5}', // keys differ by space or case
    '{"\\u00e9": 1, "e\\u0301": 2}', // é precomposed and decomposed: different strings
    '{"a": "}{\\"\\\\", "b": "[[", "c": "\\\\"}', // brackets, quotes and backslashes inside strings
    '{"k": -1.5e+10, "l": 0, "m": [true, false, null, 1E-2]}',
    ' \t\r\n{ "a" : 1 , "b" : [ ] } \n',
  ]) {
    assert.equal(dup(text), null, text);
  }
});

test("a repeated key is found, with its decoded name, path, positions and places", () => {
  assert.deepEqual(dup('{"a": 1, "b": 2, "a": 3}'), {
    key: "a",
    path: [],
    index: 2,
    firstIndex: 0,
    at: { line: 1, column: 18 },
    first: { line: 1, column: 2 },
  });
  const text = '{\n  "keys": {\n    "k1": {"role": "admin"},\n    "k2": {"agent": "x", "role": "agent", "role": "admin"}\n  }\n}\n';
  assert.deepEqual(dup(text), {
    key: "role",
    path: [
      { key: "keys", index: 0 },
      { key: "k2", index: 1 },
    ],
    index: 2,
    firstIndex: 1,
    at: { line: 4, column: 43 },
    first: { line: 4, column: 26 },
  });
});

test("keys are compared decoded: escapes, surrogate pairs, the empty key, __proto__", () => {
  assert.equal(brief('{"a": 1, "\\u0061": 2}').key, "a");
  assert.equal(brief('{"\\/": 1, "/": 2}').key, "/");
  assert.equal(brief('{"\\"": 1, "\\u0022": 2}').key, '"');
  assert.equal(brief('{"\\\\": 1, "\\u005c": 2}').key, "\\");
  assert.equal(brief('{"😀": 1, "\\ud83d\\ude00": 2}').key, "😀");
  assert.equal(brief('{"\\uD83D\\uDE00": 1, "\\ud83d\\ude00": 2}').key, "😀");
  assert.equal(brief('{"": 1, "": 2}').key, "");
  assert.equal(brief('{"__proto__": 1, "__proto__": {}}').key, "__proto__");
  assert.equal(brief('{"constructor": 1, "toString": 2, "constructor": 3}').key, "constructor");
  // A lone surrogate is a key JSON.parse accepts; two of them are a duplicate.
  assert.equal(brief('{"\\ud800": 1, "\\ud800": 2}').key, "\ud800");
});

test("the first repeat in the text wins, at any depth, in arrays too", () => {
  assert.deepEqual(brief('{"x": {"b": 1, "b": 2}, "x": 3}'), { key: "b", path: "x", index: 1, firstIndex: 0 });
  assert.deepEqual(brief('{"x": 1, "x": {"b": 1, "b": 2}}'), { key: "x", path: "the top level", index: 1, firstIndex: 0 });
  assert.deepEqual(brief('[1, {"a": 1}, [0, 0, {"q": [{"z": 1, "y": 2, "z": 3}]}]]'), { key: "z", path: "[2][2].q[0]", index: 2, firstIndex: 0 });
  assert.deepEqual(brief('{"a b": [{"c": {"": {"d": 1, "d": 1}}}]}'), { key: "d", path: '["a b"][0].c[""]', index: 1, firstIndex: 0 });
  // Values that are strings, numbers, literals, objects and arrays keep the count right.
  assert.deepEqual(brief('{"a": "s", "b": 1, "c": true, "d": null, "e": {}, "f": [], "g": [{}], "a": 0}'), {
    key: "a",
    path: "the top level",
    index: 7,
    firstIndex: 0,
  });
});

test("lines and columns: CRLF, tabs, keys after multi-line values", () => {
  const d = dup('{\r\n\t"a": [\r\n 1,\r\n 2\r\n ],\r\n\t"a": 0\r\n}');
  assert.deepEqual({ at: d.at, first: d.first }, { at: { line: 6, column: 2 }, first: { line: 2, column: 2 } });
  // A string holding escaped newlines stays on its line.
  const e = dup('{"s": "one\\ntwo\\nthree", "s": 1}');
  assert.deepEqual(e.at, { line: 1, column: 26 });
});

test("text JSON.parse refuses is a SyntaxError, never a scan of bad input", () => {
  for (const text of ["", "{", '{"a": 1,}', "{'a': 1}", '{"a": 1} x', "[1, 2", '{"a" 1}', "\ufeff{}", "NaN"]) {
    assert.throws(() => dup(text), SyntaxError, JSON.stringify(text));
  }
});

test("deep nesting and large objects: linear, no recursion limit of its own", () => {
  const depth = 2000;
  const deep = `${'{"a": ['.repeat(depth)}1${"]}".repeat(depth)}`;
  assert.equal(dup(deep), null);
  const deepDup = `${'{"a": ['.repeat(depth)}{"k": 1, "k": 2}${"]}".repeat(depth)}`;
  const d = dup(deepDup);
  assert.equal(d.key, "k");
  assert.equal(d.path.length, depth * 2);
  const members = Array.from({ length: 100_000 }, (_, i) => `"key-${i}": {"role": "agent", "agent": "a${i}"}`);
  const big = `{"keys": {${members.join(", ")}}}`;
  const started = performance.now();
  assert.equal(dup(big), null);
  const last = dup(`{"keys": {${members.join(", ")}, "key-99999": {}}}`);
  assert.deepEqual({ key: last.key, index: last.index, firstIndex: last.firstIndex }, { key: "key-99999", index: 100_000, firstIndex: 99_999 });
  // Generous: about 0.1 s here; a quadratic scan would take minutes.
  assert.ok(performance.now() - started < 10_000, "100 000 members scan in well under 10 s");
});

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random JSON as a tree whose objects are member lists (so they can hold
 * duplicates), written with random whitespace and random escaping, and the
 * reference answer: the first repeat met in document order.
 */
function randomDocument(random) {
  const pick = (xs) => xs[Math.floor(random() * xs.length)];
  const KEYS = ["a", "b", "role", "agent", "", "é", "😀", 'q"', "\\", "a b", "__proto__"];
  const ws = () => pick(["", "", " ", "\n", "\r\n", "\t", "  \n  "]);
  const escapeKey = (k) => {
    // Any mix of plain characters and \uXXXX escapes spells the same key.
    let out = "";
    for (const ch of k) {
      if (ch === '"' || ch === "\\" || random() < 0.3) {
        for (const unit of ch.split("")) out += `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`;
      } else {
        out += ch;
      }
    }
    return `"${out}"`;
  };
  const scalar = () => pick(["1", "-0.5e3", "true", "false", "null", '"x"', '"}{]["', '"\\"\\\\"', '"a\\nb"']);
  let found = null;
  const value = (depth) => {
    const r = random();
    if (depth > 4 || r < 0.4) return scalar();
    if (r < 0.65) {
      const n = Math.floor(random() * 4);
      const items = [];
      for (let i = 0; i < n; i++) items.push(`${ws()}${value(depth + 1)}${ws()}`);
      return `[${items.join(",")}]`;
    }
    const n = Math.floor(random() * 5);
    const seen = new Set();
    const members = [];
    for (let i = 0; i < n; i++) {
      const key = pick(KEYS);
      if (seen.has(key) && found === null) found = key;
      seen.add(key);
      members.push(`${ws()}${escapeKey(key)}${ws()}:${ws()}${value(depth + 1)}${ws()}`);
    }
    return `{${members.join(",")}}`;
  };
  const text = `${ws()}${value(0)}${ws()}`;
  return { text, found };
}

test("random documents: the scanner finds exactly the reference's first repeat", () => {
  const random = rng(0x5eed);
  let withDup = 0;
  for (let i = 0; i < 5000; i++) {
    const { text, found } = randomDocument(random);
    JSON.parse(text); // the generator writes valid JSON
    const d = dup(text);
    assert.equal(d === null ? null : d.key, found, `document ${i}: ${text}`);
    if (found !== null) withDup += 1;
  }
  assert.ok(withDup > 500, `only ${withDup} of 5000 documents had a duplicate`);
});

test("formatPath", () => {
  assert.equal(formatPath([]), "the top level");
  assert.equal(formatPath([{ key: "keys", index: 0 }, { key: "x-1", index: 3 }, { index: 2 }, { key: "$ok_1", index: 0 }]), 'keys["x-1"][2].$ok_1');
  assert.equal(formatPath([{ index: 0 }, { key: "", index: 0 }]), '[0][""]');
});
