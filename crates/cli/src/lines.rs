//! Where each part of a policy file starts, so that findings, fixtures and
//! SARIF results can name a line: a map from a path in the document
//! (`deny[3]`, `rules[2].when.amount`, `[0]` for the first element of a
//! top-level array) to its 1-based line.
//!
//! JSON is walked exactly (the text has already been parsed, so the walk
//! can be forgiving). YAML is walked by indentation, which covers block
//! mappings and sequences, the way policies are written; a flow collection
//! (`deny: [a, b]`) is one leaf, so its parts resolve to its line.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Lines {
    /// Every line a path starts on: more than one only when a key is
    /// repeated (which the readers reject).
    at: HashMap<String, Vec<usize>>,
}

impl Lines {
    /// The line of exactly `path`.
    pub fn exact(&self, path: &str) -> Option<usize> {
        self.at.get(path).map(|l| l[0])
    }

    /// Every line `path` starts on, in order.
    pub fn all(&self, path: &str) -> &[usize] {
        self.at.get(path).map_or(&[], Vec::as_slice)
    }

    /// The line of `path`, or else of the nearest enclosing part that has
    /// one (`rules[2].when.amount` -> `rules[2].when` -> `rules[2]`).
    pub fn find(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.exact(p) {
                return Some(line);
            }
            p = parent(p)?;
        }
    }

    /// Like [`Lines::find`], but never the document as a whole: `None`
    /// when no part of it that holds `path` has a line (for an error,
    /// "line 1" would point at nothing).
    pub fn find_inside(&self, path: &str) -> Option<usize> {
        let mut p = path;
        while !p.is_empty() {
            if let Some(line) = self.exact(p) {
                return Some(line);
            }
            p = parent(p)?;
        }
        None
    }

    fn record(&mut self, path: &str, line: usize) {
        let lines = self.at.entry(path.to_string()).or_default();
        if lines.last() != Some(&line) {
            lines.push(line);
        }
    }

    /// The lines of a JSON document.
    pub fn json(text: &str) -> Lines {
        let mut walk = JsonWalk {
            s: text.as_bytes(),
            i: 0,
            line: 1,
            out: Lines::default(),
        };
        walk.value(String::new(), 0);
        walk.out
    }

    /// The lines of a YAML document (block style; see the module doc).
    pub fn yaml(text: &str) -> Lines {
        YamlWalk::default().run(text)
    }
}

/// `rules[2].when` for `rules[2].when.amount`, `rules` for `rules[2]`.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        if let Some(open) = path.rfind('[') {
            return Some(&path[..open]);
        }
    }
    Some(path.rfind('.').map_or("", |dot| &path[..dot]))
}

fn child_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

struct JsonWalk<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    out: Lines,
}

impl JsonWalk<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    fn value(&mut self, path: String, depth: usize) {
        self.skip_ws();
        self.out.record(&path, self.line);
        // The core refuses nothing for depth, serde_json stops at 128.
        if depth > 256 {
            self.i = self.s.len();
            return;
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'"') => {
                            let line = self.line;
                            let key = self.string();
                            let child = child_key(&path, &key);
                            self.out.record(&child, line);
                            self.skip_ws();
                            if self.peek() == Some(b':') {
                                self.i += 1;
                            }
                            self.value(child, depth + 1);
                        }
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut n = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return;
                        }
                        None => return,
                        Some(_) => {
                            self.value(format!("{path}[{n}]"), depth + 1);
                            n += 1;
                        }
                    }
                }
            }
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
            }
            None => {}
        }
    }

    /// A string literal starting at the opening quote, decoded.
    fn string(&mut self) -> String {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => break,
                b'\n' => self.line += 1,
                _ => {}
            }
        }
        let raw = &self.s[start..self.i.min(self.s.len())];
        serde_json::from_slice(raw).unwrap_or_default()
    }
}

/// A block mapping or sequence being read: the column its entries start at.
struct Container {
    col: usize,
    seq: bool,
    path: String,
    count: usize,
}

/// A key (or a `-` item) whose value starts on a later line.
struct Pending {
    path: String,
    col: usize,
    /// A mapping key's value may be a sequence at the key's own column.
    same_col_seq: bool,
}

#[derive(Default)]
struct YamlWalk {
    stack: Vec<Container>,
    pending: Option<Pending>,
    out: Lines,
}

fn is_dash(t: &str) -> bool {
    t == "-" || t.starts_with("- ") || t.starts_with("-\t")
}

/// Drops a trailing comment (` #...`) from a plain value; good enough to
/// tell whether anything is left.
fn without_comment(t: &str) -> &str {
    if t.starts_with('#') {
        return "";
    }
    match t.find(" #") {
        Some(i) => t[..i].trim_end(),
        None => t.trim_end(),
    }
}

/// Whether a value holds only an anchor or a tag (`&base`, `!!map`), so
/// that the value itself starts on the next line.
fn only_properties(t: &str) -> bool {
    let t = without_comment(t);
    !t.is_empty()
        && t.split_whitespace()
            .all(|w| w.starts_with('&') || w.starts_with('!'))
}

/// `key: rest` -> the key (unquoted) and what follows the colon.
fn split_key(t: &str) -> Option<(String, &str)> {
    let after_colon = |rest: &str| -> Option<usize> {
        let r = rest.trim_start_matches([' ', '\t']);
        let skipped = rest.len() - r.len();
        let r2 = r.strip_prefix(':')?;
        if r2.is_empty() || r2.starts_with([' ', '\t']) {
            Some(skipped + 1)
        } else {
            None
        }
    };
    if let Some(body) = t.strip_prefix('"') {
        let bytes = body.as_bytes();
        let mut i = 0;
        loop {
            match bytes.get(i) {
                None => return None,
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let end = i + 2; // past the closing quote, in t
        let key = serde_json::from_str(&t[..end]).unwrap_or_else(|_| body[..i].to_string());
        let colon = after_colon(&t[end..])?;
        return Some((key, &t[end + colon..]));
    }
    if let Some(body) = t.strip_prefix('\'') {
        let mut i = 0;
        let bytes = body.as_bytes();
        loop {
            match bytes.get(i) {
                None => return None,
                Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let key = body[..i].replace("''", "'");
        let end = 1 + i + 1;
        let colon = after_colon(&t[end..])?;
        return Some((key, &t[end + colon..]));
    }
    if t.starts_with(['[', '{', '?', '&', '*', '!', '|', '>', '#']) {
        return None;
    }
    let bytes = t.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            return None;
        }
        if c == b':' && matches!(bytes.get(i + 1), None | Some(b' ') | Some(b'\t')) {
            let key = t[..i].trim_end();
            if key.is_empty() {
                return None;
            }
            return Some((key.to_string(), &t[i + 1..]));
        }
    }
    None
}

impl YamlWalk {
    fn run(mut self, text: &str) -> Lines {
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let trimmed = raw.trim_start_matches(' ');
            if trimmed.trim().is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') {
                continue;
            }
            let col = raw.len() - trimmed.len();
            if col == 0 && (raw == "---" || raw.starts_with("--- ") || raw == "...") {
                let rest = raw.get(4..).unwrap_or("").trim();
                if rest.is_empty() || rest.starts_with('#') {
                    continue;
                }
            }
            let dash = is_dash(trimmed);
            while let Some(top) = self.stack.last() {
                if top.col > col || (top.col == col && top.seq && !dash) {
                    self.stack.pop();
                } else {
                    break;
                }
            }
            if let Some(p) = self.pending.take() {
                if col > p.col || (col == p.col && dash && p.same_col_seq) {
                    self.stack.push(Container {
                        col,
                        seq: dash,
                        path: p.path,
                        count: 0,
                    });
                }
            }
            if self.stack.is_empty() {
                self.out.record("", line);
                self.stack.push(Container {
                    col,
                    seq: dash,
                    path: String::new(),
                    count: 0,
                });
            }
            if self.stack.last().is_some_and(|top| top.col == col) {
                self.entry(col, trimmed, line);
            }
            // Otherwise: a continuation of a multi-line scalar.
        }
        self.out
    }

    /// An entry of the innermost container, which starts at `col`.
    fn entry(&mut self, col: usize, text: &str, line: usize) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        if top.seq {
            if !is_dash(text) {
                return;
            }
            let path = format!("{}[{}]", top.path, top.count);
            top.count += 1;
            self.out.record(&path, line);
            let after = &text[1..];
            let rest = after.trim_start_matches([' ', '\t']);
            let inner = col + 1 + (after.len() - rest.len());
            if without_comment(rest).is_empty() || only_properties(rest) {
                self.pending = Some(Pending {
                    path,
                    col,
                    same_col_seq: false,
                });
            } else if is_dash(rest) || split_key(rest).is_some() {
                self.stack.push(Container {
                    col: inner,
                    seq: is_dash(rest),
                    path,
                    count: 0,
                });
                self.entry(inner, rest, line);
            }
        } else {
            let Some((key, rest)) = split_key(text) else {
                return;
            };
            let path = child_key(&top.path, &key);
            self.out.record(&path, line);
            let rest = rest.trim_start_matches([' ', '\t']);
            if without_comment(rest).is_empty() || only_properties(rest) {
                self.pending = Some(Pending {
                    path,
                    col,
                    same_col_seq: true,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines() {
        let text = r#"{
  "name": "x",
  "deny": [
    "a",
    "b"
  ],
  "rules": [
    {"id": "r", "tool": ["t", "u"],
     "when": {"amount": {"lte": 5}, "to.addr": {"glob": "*"}}}
  ]
}"#;
        let l = Lines::json(text);
        assert_eq!(l.exact(""), Some(1));
        assert_eq!(l.exact("name"), Some(2));
        assert_eq!(l.exact("deny"), Some(3));
        assert_eq!(l.exact("deny[1]"), Some(5));
        assert_eq!(l.exact("rules[0]"), Some(8));
        assert_eq!(l.exact("rules[0].tool[1]"), Some(8));
        assert_eq!(l.exact("rules[0].when.amount"), Some(9));
        assert_eq!(l.exact("rules[0].when.to.addr"), Some(9));
        assert_eq!(l.find("rules[0].when.amount.lte"), Some(9));
        assert_eq!(l.find("deny[7]"), Some(3));
        assert_eq!(l.find_inside("deny[7]"), Some(3));
        assert_eq!(l.find("denny"), Some(1));
        assert_eq!(l.find_inside("denny"), None);
        assert_eq!(l.find_inside(""), None);
    }

    #[test]
    fn json_top_level_array() {
        let l = Lines::json("[\n {\"tool\": \"a\"},\n\n {\"tool\": \"b\"}\n]");
        assert_eq!(l.exact("[0]"), Some(2));
        assert_eq!(l.exact("[1]"), Some(4));
    }

    #[test]
    fn yaml_lines() {
        let text = "\
# a policy
name: x
deny:
  - a   # first
  - \"b: c\"
allow:
- read_*
- 'list_*'
require_approval: [x, y]
rules:
  - id: r
    tool:
      - t
      - u
    when:
      amount: {lte: 5}
      \"to.addr\":
        glob: \"*\"
    reason: |
      - not an item
      key: not a key
  - id: s
    tool: v
";
        let l = Lines::yaml(text);
        assert_eq!(l.exact("name"), Some(2));
        assert_eq!(l.exact("deny"), Some(3));
        assert_eq!(l.exact("deny[0]"), Some(4));
        assert_eq!(l.exact("deny[1]"), Some(5));
        assert_eq!(l.exact("deny[2]"), None);
        assert_eq!(l.exact("allow[0]"), Some(7));
        assert_eq!(l.exact("allow[1]"), Some(8));
        assert_eq!(l.find("require_approval[1]"), Some(9));
        assert_eq!(l.exact("rules[0]"), Some(11));
        assert_eq!(l.exact("rules[0].id"), Some(11));
        assert_eq!(l.exact("rules[0].tool[1]"), Some(14));
        assert_eq!(l.exact("rules[0].when.amount"), Some(16));
        assert_eq!(l.exact("rules[0].when.to.addr"), Some(17));
        assert_eq!(l.exact("rules[0].when.to.addr.glob"), Some(18));
        assert_eq!(l.exact("rules[0].reason"), Some(19));
        assert_eq!(l.exact("rules[0].key"), None);
        assert_eq!(l.exact("rules[1]"), Some(22));
        assert_eq!(l.exact("rules[1].tool"), Some(23));
    }

    #[test]
    fn yaml_sequences_of_sequences_and_documents() {
        let l = Lines::yaml("---\n- tool: a\n  expect: deny\n-\n  tool: b\n- - x\n  - y\n");
        assert_eq!(l.exact("[0]"), Some(2));
        assert_eq!(l.exact("[0].expect"), Some(3));
        assert_eq!(l.exact("[1]"), Some(4));
        assert_eq!(l.exact("[1].tool"), Some(5));
        assert_eq!(l.exact("[2][1]"), Some(7));
    }
}
