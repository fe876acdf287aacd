//! Tool pinning (`--pin FILE`): the SHA-256 of each tool's definition, as
//! the server first listed it, kept in a JSON file. A tool whose definition
//! later differs from its pin is hidden and its calls refused, until the pin
//! file is updated (`agentguard mcp pin`), the defence against a server
//! that rewrites a tool (its description, its schema) after it was trusted.
//!
//! The file:
//!
//! ```json
//! {"version": 1, "tools": {"read_file": "<64 hex digits>", "...": "..."}}
//! ```
//!
//! read strictly (an unknown or repeated key, a bad digest: an error) and
//! written atomically (a temporary file in the same directory, then a
//! rename).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::sha256_hex;

/// The fields of a tool that its pin covers: what a client shows the model
/// or the user, and what decides how arguments are read.
pub const PINNED_FIELDS: [&str; 6] = [
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
];

/// The pin file's format version.
pub const VERSION: u32 = 1;

/// The definition hash of one tool (an object from a `tools/list` result):
/// SHA-256, hex, of the canonical JSON (keys sorted at every level, no
/// spaces) of an object holding the tool's [`PINNED_FIELDS`] that are
/// present. `None` when the tool has no string name.
pub fn definition_hash(tool: &Value) -> Option<String> {
    tool.get("name")?.as_str()?;
    let mut s = String::from("{");
    let mut first = true;
    let mut fields: Vec<&str> = PINNED_FIELDS.to_vec();
    fields.sort_unstable();
    for f in fields {
        if let Some(v) = tool.get(f) {
            if !first {
                s.push(',');
            }
            first = false;
            canonical(&Value::String(f.to_string()), &mut s);
            s.push(':');
            canonical(v, &mut s);
        }
    }
    s.push('}');
    Some(sha256_hex(s.as_bytes()))
}

/// Canonical JSON: object keys sorted (by their UTF-8 bytes), no spaces,
/// strings and numbers as serde_json writes them.
pub fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A map that refuses a repeated key (serde_json keeps the last one).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct StrictMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StrictMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of tool names to SHA-256 digests")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<StrictMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    if v.len() != 64 || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                        return Err(serde::de::Error::custom(format_args!(
                            "tools.{k}: not a SHA-256 digest (64 lowercase hex digits)"
                        )));
                    }
                    if out.insert(k.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format_args!(
                            "tools: duplicate key {k:?}"
                        )));
                    }
                }
                Ok(StrictMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    version: u32,
    tools: StrictMap,
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: u32,
    tools: &'a BTreeMap<String, String>,
}

/// Pins: tool name to definition hash.
pub type Pins = BTreeMap<String, String>;

/// Reads a pin file; a missing file is no pins.
pub fn load(path: &Path) -> Result<Pins, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::new()),
        Err(e) => return Err(format!("{}: cannot read the pin file: {e}", path.display())),
    };
    parse(&text).map_err(|e| format!("{}: invalid pin file: {e}", path.display()))
}

/// Parses a pin file's text, strictly.
pub fn parse(text: &str) -> Result<Pins, String> {
    let f: FileIn = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if f.version != VERSION {
        return Err(format!(
            "version {} is not supported (this agentguard writes {VERSION})",
            f.version
        ));
    }
    Ok(f.tools.0)
}

/// The file's text for `pins`.
pub fn render(pins: &Pins) -> String {
    let mut s = serde_json::to_string_pretty(&FileOut {
        version: VERSION,
        tools: pins,
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `pins` to `path` atomically: a temporary file beside it, synced,
/// then renamed over it.
pub fn save(path: &Path, pins: &Pins) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pins".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(render(pins).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A tool whose listed definition differs from its pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The hash in the pin file.
    pub pinned: String,
    /// The hash of what the server listed.
    pub listed: String,
}

/// What one listing did to the pins.
#[derive(Debug, Default)]
pub struct Checked {
    /// Tools seen for the first time (now pinned).
    pub added: Vec<String>,
    /// Tools whose definition differs from the pin, newly found so (not yet
    /// reported), with both hashes.
    pub new_mismatches: Vec<(String, Mismatch)>,
    /// Whether the listing was changed (a tool removed).
    pub changed: bool,
}

/// The pinning state of a session.
pub struct PinState {
    path: PathBuf,
    pins: Pins,
    /// Tools hidden because their definition differs from the pin.
    mismatched: BTreeMap<String, Mismatch>,
}

impl PinState {
    /// Pins from `path` (strict; a missing file is none).
    pub fn open(path: &Path) -> Result<PinState, String> {
        Ok(PinState {
            path: path.to_path_buf(),
            pins: load(path)?,
            mismatched: BTreeMap::new(),
        })
    }

    /// The pin file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file (it may have been updated by `agentguard mcp pin`
    /// since); an unreadable file keeps the pins known.
    fn reload(&mut self) {
        match load(&self.path) {
            Ok(p) => self.pins = p,
            Err(e) => crate::session::log(&format!("{e}; keeping the pins read before")),
        }
    }

    /// Checks a `tools/list` result in place (before the policy's
    /// filtering): new tools are pinned (and the file written), tools whose
    /// definition differs from their pin are removed.
    pub fn check_listing(&mut self, result: &mut Value) -> Checked {
        let mut c = Checked::default();
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return c;
        };
        self.reload();
        let mut kept = Vec::with_capacity(tools.len());
        for tool in std::mem::take(tools) {
            let (Some(name), Some(hash)) = (
                tool.get("name").and_then(Value::as_str).map(str::to_string),
                definition_hash(&tool),
            ) else {
                kept.push(tool);
                continue;
            };
            match self.pins.get(&name) {
                None => {
                    self.pins.insert(name.clone(), hash);
                    self.mismatched.remove(&name);
                    c.added.push(name);
                }
                Some(p) if *p == hash => {
                    self.mismatched.remove(&name);
                }
                Some(p) => {
                    let m = Mismatch {
                        pinned: p.clone(),
                        listed: hash,
                    };
                    if self.mismatched.get(&name) != Some(&m) {
                        self.mismatched.insert(name.clone(), m.clone());
                        c.new_mismatches.push((name, m));
                    }
                    c.changed = true;
                    continue;
                }
            }
            kept.push(tool);
        }
        *tools = kept;
        if !c.added.is_empty() {
            if let Err(e) = save(&self.path, &self.pins) {
                crate::session::log(&format!(
                    "{}: cannot write the pin file: {e}",
                    self.path.display()
                ));
            }
        }
        c
    }

    /// Whether calls to `tool` are refused: its last listed definition
    /// differs from its pin. The file is read again first, so a pin updated
    /// meanwhile lets the call through.
    pub fn refused(&mut self, tool: &str) -> Option<Mismatch> {
        let m = self.mismatched.get(tool)?.clone();
        self.reload();
        if self.pins.get(tool) == Some(&m.listed) {
            self.mismatched.remove(tool);
            return None;
        }
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_is_canonical_and_covers_the_definition() {
        let a = json!({"name": "t", "description": "d", "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}, "a": {}}}});
        let b: Value = serde_json::from_str(
            r#"{ "inputSchema": {"properties": {"a": {}, "x": {"type":"string"}}, "type": "object"}, "description": "d", "name": "t" }"#,
        )
        .unwrap();
        assert_eq!(definition_hash(&a), definition_hash(&b));
        // Fields outside the definition do not count.
        let mut c = a.clone();
        c["_meta"] = json!({"k": 1});
        c["icons"] = json!([]);
        assert_eq!(definition_hash(&a), definition_hash(&c));
        for (field, v) in [
            ("description", json!("d2")),
            ("name", json!("t2")),
            ("title", json!("T")),
            ("inputSchema", json!({"type": "object"})),
            ("outputSchema", json!({"type": "object"})),
            ("annotations", json!({"destructiveHint": true})),
        ] {
            let mut d = a.clone();
            d[field] = v;
            assert_ne!(definition_hash(&a), definition_hash(&d), "{field}");
        }
        assert_eq!(definition_hash(&json!({"description": "no name"})), None);
        let mut s = String::new();
        canonical(&json!({"b": [1, 2.5, "é\n"], "a": null}), &mut s);
        assert_eq!(s, r#"{"a":null,"b":[1,2.5,"é\n"]}"#);
    }

    #[test]
    fn file_is_read_strictly() {
        let h = "a".repeat(64);
        assert_eq!(
            parse(&format!(r#"{{"version": 1, "tools": {{"x": "{h}"}}}}"#)).unwrap()["x"],
            h
        );
        for (bad, why) in [
            (
                format!(r#"{{"version": 1, "tools": {{"x": "{h}", "x": "{h}"}}}}"#),
                "duplicate key \"x\"",
            ),
            (
                r#"{"version": 1, "tools": {}, "tools": {}}"#.into(),
                "duplicate field",
            ),
            (
                r#"{"version": 1, "tools": {}, "extra": 1}"#.into(),
                "unknown field",
            ),
            (
                r#"{"version": 1, "tools": {"x": "ABC"}}"#.into(),
                "not a SHA-256",
            ),
            (r#"{"version": 2, "tools": {}}"#.into(), "version 2"),
            (r#"{"tools": {}}"#.into(), "missing field"),
            ("\"x\"".into(), "invalid type"),
        ] {
            let e = parse(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("agentguard-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pins.json");
        let mut pins = Pins::new();
        pins.insert("b".into(), "b".repeat(64));
        pins.insert("a".into(), "a".repeat(64));
        save(&path, &pins).unwrap();
        assert_eq!(load(&path).unwrap(), pins);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["pins.json"], "no temporary file left");
        assert_eq!(load(&dir.join("missing.json")).unwrap(), Pins::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
