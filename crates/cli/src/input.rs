//! Reading what the command is given: policy and fixture files (JSON or
//! YAML, by extension) and `--args`, all strictly.
//!
//! JSON policies go to [`Policy::from_json`], the core's own strict reader.
//! YAML is read into a [`serde_json::Value`] by [`StrictValue`] below, as
//! strictly as JSON: a key repeated in one mapping, a key that is not a
//! string, a tag, or a number that is not finite is an error; so the value
//! handed to [`Policy::from_value`] is exactly what the same policy written
//! as JSON would be.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use agentguard::analysis::{Fixture, Location};
use agentguard::{ErrorKind, Policy};
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::lines::Lines;
use crate::text::location_path;

/// An error the command reports as `agentguard: <what>: <message>`, exit 2.
#[derive(Debug)]
pub struct Failure {
    /// The file (as given) or the option the problem is in.
    pub what: String,
    /// What is wrong.
    pub message: String,
}

impl Failure {
    pub fn new(what: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            what: what.into(),
            message: message.into(),
        }
    }

    /// A problem in a file, at a line when one is known: `p.yaml:7`.
    fn at_line(path: &str, line: Option<usize>, message: impl Into<String>) -> Failure {
        match line {
            Some(l) => Failure::new(format!("{path}:{l}"), message),
            None => Failure::new(path, message),
        }
    }

    /// An error of the core about a file: its message as the core wrote
    /// it, placed at the line its field starts on. `prefix` is what the
    /// core's paths have and the file's do not (`fixtures` in
    /// `fixtures[3].expect`).
    fn core(path: &str, lines: &Lines, prefix: &str, e: &agentguard::Error) -> Failure {
        Failure::at_line(path, error_line(lines, prefix, e), e.to_string())
    }
}

/// The line a core error points at, from its field and index: the second
/// occurrence of a repeated key, the line a JSON-lines fixture is on
/// (`line 4`), or else the line of the field or of the nearest part of
/// the document that holds it.
fn error_line(lines: &Lines, prefix: &str, e: &agentguard::Error) -> Option<usize> {
    let field = e.field()?;
    if let Some(rest) = field.strip_prefix("line ") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok();
    }
    let mut path = field.strip_prefix(prefix).unwrap_or(field).to_string();
    if let Some(i) = e.index() {
        path.push_str(&format!("[{i}]"));
    }
    if e.kind() == ErrorKind::DuplicateKey {
        return lines.all(&path).get(1).copied();
    }
    lines.find_inside(&path)
}

/// The two formats a file can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// `.yaml` and `.yml` (any case) are YAML; everything else is JSON.
    pub fn of(path: &str) -> Format {
        match Path::new(path).extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => {
                Format::Yaml
            }
            _ => Format::Json,
        }
    }
}

/// A file's text, read as UTF-8 (a leading byte-order mark dropped).
pub fn read_text(path: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::new(path, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Failure::new(
            path,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// A policy file, compiled, with what is needed to point into it.
pub struct PolicyFile {
    /// The path as given on the command line.
    pub path: String,
    pub policy: Policy,
    /// Where each part of the file starts, for line numbers in output.
    pub lines: Lines,
}

impl PolicyFile {
    /// Where a location is, for text output: `policy.json:12`, or just the
    /// path when the line is not known.
    pub fn place(&self, loc: &Location) -> String {
        match self.lines.find(&location_path(loc)) {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Reads and compiles a policy file (JSON or YAML by extension).
pub fn load_policy(path: &str) -> Result<PolicyFile, Failure> {
    let text = read_text(path)?;
    let format = Format::of(path);
    let lines = match format {
        Format::Json => Lines::json(&text),
        Format::Yaml => Lines::yaml(&text),
    };
    let policy = match format {
        Format::Json => Policy::from_json(&text),
        Format::Yaml => Policy::from_value(
            &yaml_value(&text, "policy", "")
                .map_err(|e| Failure::at_line(path, e.line, e.message))?,
        ),
    }
    .map_err(|e| Failure::core(path, &lines, "", &e))?;
    Ok(PolicyFile {
        path: path.to_string(),
        policy,
        lines,
    })
}

/// A fixtures file, parsed, with the line each fixture starts on.
pub struct FixtureFile {
    pub fixtures: Vec<Fixture>,
    /// `lines[i]`: the line of fixture `i`, when known.
    pub lines: Vec<Option<usize>>,
}

/// Reads fixtures: a JSON array, JSON lines, or (`.yaml`/`.yml`) a YAML
/// sequence of fixtures.
pub fn load_fixtures(path: &str) -> Result<FixtureFile, Failure> {
    let text = read_text(path)?;
    match Format::of(path) {
        Format::Yaml => {
            let lines = Lines::yaml(&text);
            let value = yaml_value(&text, "fixtures", "fixtures")
                .map_err(|e| Failure::at_line(path, e.line, e.message))?;
            let Value::Array(items) = value else {
                return Err(Failure::new(
                    path,
                    "fixtures must be a sequence of {tool, args?, expect, rule?} mappings",
                ));
            };
            let fixtures = items
                .iter()
                .enumerate()
                .map(|(i, v)| Fixture::from_value(v, &format!("fixtures[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::core(path, &lines, "fixtures", &e))?;
            let lines = (0..fixtures.len())
                .map(|i| lines.exact(&format!("[{i}]")))
                .collect();
            Ok(FixtureFile { fixtures, lines })
        }
        Format::Json => {
            let array = text.trim_start().starts_with('[');
            let lines = if array {
                Lines::json(&text)
            } else {
                Lines::default()
            };
            let fixtures = Fixture::parse_many(&text)
                .map_err(|e| Failure::core(path, &lines, "fixtures", &e))?;
            let lines = if array {
                (0..fixtures.len())
                    .map(|i| lines.exact(&format!("[{i}]")))
                    .collect()
            } else {
                // JSON lines: fixture i is the i-th line that is not blank.
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(n, _)| Some(n + 1))
                    .collect()
            };
            Ok(FixtureFile { fixtures, lines })
        }
    }
}

/// `--args`: a JSON object, read strictly (a repeated key is an error).
pub fn parse_args(text: &str) -> Result<Map<String, Value>, Failure> {
    let fail = |m: String| Failure::new("--args", m);
    let mut de = serde_json::Deserializer::from_str(text);
    let dup = RefCell::new(None);
    let value = StrictValue::root(&dup, "arguments", "")
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| match &*dup.borrow() {
            Some(d) => fail(d.message()),
            None => fail(format!("invalid JSON: {e}")),
        })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(fail(format!(
            "the arguments must be a JSON object, got {}",
            kind_of(&other)
        ))),
    }
}

/// Why YAML text is not a JSON value: the message, and for a repeated key
/// the line of its second occurrence (a syntax error says where in its
/// message).
#[derive(Debug, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub line: Option<usize>,
}

/// YAML text as the JSON value it stands for, strictly. A repeated key
/// gets the message the core gives for JSON (`duplicate key "path" in
/// rules[0].when: ...`): `what` names the document when the key is at its
/// top level (`the policy object`), and `root` starts the places in it as
/// the core starts them (`fixtures` for `fixtures[2]`; empty for a
/// policy). Anything else is `invalid YAML: ... at line 3 column 5`.
pub fn yaml_value(text: &str, what: &str, root: &str) -> Result<Value, YamlError> {
    let de = serde_norway::Deserializer::from_str(text);
    let dup = RefCell::new(None);
    StrictValue::root(&dup, what, root)
        .deserialize(de)
        .map_err(|e| match &*dup.borrow() {
            // The parser places the error at the start of the mapping; the
            // repeated key itself is on the second line that holds it.
            Some(d) => YamlError {
                message: d.message(),
                line: Lines::yaml(text)
                    .all(d.path.strip_prefix(root).unwrap_or(&d.path))
                    .get(1)
                    .copied(),
            },
            None => YamlError {
                message: format!("invalid YAML: {e}"),
                line: None,
            },
        })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads any self-describing input (JSON, YAML) into a [`Value`]: keys must
/// be strings and appear once per mapping, numbers must be finite, and
/// nothing outside JSON's data model (a YAML tag) is accepted.
struct StrictValue<'a> {
    /// Where the value is: `""` for the top level, `rules[0].when`.
    path: String,
    /// What the document is, for the top level: `the policy object`.
    what: &'a str,
    /// Set when a key is repeated, so that the caller can say where (the
    /// parser itself only knows where the mapping starts).
    dup: &'a RefCell<Option<Duplicate>>,
}

/// A repeated key: the key, the mapping it is in (`the policy object`,
/// `rules[0].when`), and its path (`rules[0].when.path`).
struct Duplicate {
    key: String,
    place: String,
    path: String,
}

impl Duplicate {
    /// The core's message for the same key repeated in JSON.
    fn message(&self) -> String {
        format!(
            "duplicate key {} in {}: each key may appear only once",
            Value::String(self.key.clone()),
            self.place
        )
    }
}

impl<'a> StrictValue<'a> {
    fn root(dup: &'a RefCell<Option<Duplicate>>, what: &'a str, root: &str) -> StrictValue<'a> {
        StrictValue {
            path: root.to_string(),
            what,
            dup,
        }
    }

    fn place(&self) -> String {
        if self.path.is_empty() {
            format!("the {} object", self.what)
        } else {
            self.path.clone()
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a JSON value at {} (null, a boolean, a number, a string, a sequence or a mapping; YAML tags are not allowed)",
            self.place()
        )
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, _) = data.variant::<String>()?;
        Err(A::Error::custom(format!(
            "the YAML tag !{tag} is not allowed (a policy holds only JSON values)"
        )))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue {
            path: format!("{}[{}]", self.path, items.len()),
            what: self.what,
            dup: self.dup,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key { at: self.place() })? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if out.contains_key(&key) {
                let dup = Duplicate {
                    key,
                    place: self.place(),
                    path,
                };
                let message = dup.message();
                *self.dup.borrow_mut() = Some(dup);
                return Err(A::Error::custom(message));
            }
            let value = map.next_value_seed(StrictValue {
                path,
                what: self.what,
                dup: self.dup,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key: a string, nothing else (YAML's `1:`, `true:` or `~:`
/// would be a number, a boolean or null, which JSON has no key for).
struct Key {
    at: String,
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl Key {
    fn not_string<E: serde::de::Error>(&self, what: String) -> E {
        E::custom(format!("a key is {what}; keys must be strings (quote it)"))
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string key in {}", self.at)
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        Err(self.not_string(format!("the boolean {v}")))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Err(self.not_string(format!("the number {v}")))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        Err(self.not_string(format!("the number {v}")))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
        Err(self.not_string(format!("the number {v}")))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        Err(self.not_string("null".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_is_json() {
        let v = yaml_value(
            "deny: [drop_*]\nrules:\n  - id: a\n    when: {amount: {lte: 1.5}}\n",
            "policy",
            "",
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"deny": ["drop_*"], "rules": [{"id": "a", "when": {"amount": {"lte": 1.5}}}]})
        );
    }

    #[test]
    fn yaml_rejects_duplicates_everywhere() {
        let e = yaml_value("deny: [a]\ndeny: []\n", "policy", "").unwrap_err();
        assert_eq!(
            e,
            YamlError {
                message:
                    "duplicate key \"deny\" in the policy object: each key may appear only once"
                        .into(),
                line: Some(2)
            }
        );
        // Word for word what the core says of the same JSON.
        let core = Policy::from_json(r#"{"deny": ["a"], "deny": []}"#).unwrap_err();
        assert_eq!(core.to_string(), e.message);
        let e = yaml_value(
            "rules:\n  - id: a\n    when:\n      path: {glob: x}\n      path: {glob: y}\n",
            "policy",
            "",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "duplicate key \"path\" in rules[0].when: each key may appear only once"
        );
        assert_eq!(e.line, Some(5));
        // The same key spelt two ways is still the same key.
        let e = yaml_value("deny: [a]\n\"deny\": []\n", "policy", "").unwrap_err();
        assert!(e.message.contains("duplicate key \"deny\""), "{e:?}");
        assert_eq!(e.line, Some(2));
        let e = yaml_value("- tool: a\n  tool: b\n", "fixtures", "fixtures").unwrap_err();
        assert_eq!(
            e.message,
            "duplicate key \"tool\" in fixtures[0]: each key may appear only once"
        );
        assert_eq!(e.line, Some(2));
        // Word for word what the core says of the same JSON.
        let core = Fixture::parse_many(r#"[{"tool": "a", "tool": "b"}]"#).unwrap_err();
        assert_eq!(core.to_string(), e.message);
    }

    #[test]
    fn yaml_rejects_what_json_cannot_say() {
        for (text, want) in [
            ("1: a\n", "keys must be strings"),
            ("true: a\n", "keys must be strings"),
            ("~: a\n", "keys must be strings"),
            (
                "deny: !regex a\n",
                "deny: the YAML tag !regex is not allowed",
            ),
            ("rules: [{when: {a: {lt: .nan}}}]\n", "not a finite number"),
            ("rules: [{when: {a: {lt: -.inf}}}]\n", "not a finite number"),
            ("a: 1\n---\nb: 2\n", "more than one document"),
        ] {
            let e = yaml_value(text, "policy", "").unwrap_err();
            assert!(e.message.contains(want), "{text:?}: {e:?}");
        }
    }

    #[test]
    fn yaml_keeps_merge_keys_literal() {
        // `<<` is not applied: the core then rejects it as an unknown key.
        let v = yaml_value("base: &b {deny: [x]}\n<<: *b\n", "policy", "").unwrap();
        assert!(v.get("<<").is_some());
    }

    #[test]
    fn args_are_strict() {
        assert_eq!(parse_args(r#"{"a": 1}"#).unwrap()["a"], 1);
        let e = parse_args(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(e.message.contains("duplicate key \"a\""), "{}", e.message);
        let e = parse_args("[1]").unwrap_err();
        assert!(e.message.contains("must be a JSON object"), "{}", e.message);
        assert!(parse_args(r#"{"a": 1} x"#).is_err());
    }
}
