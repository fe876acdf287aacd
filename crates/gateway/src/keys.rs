//! The API keys file: who may call the gateway, and as whom.
//!
//! ```json
//! {"keys": {"<key>": {"role": "agent", "agent": "ops-agent"},
//!           "<key>": {"role": "admin", "name": "alice"},
//!           "<key>": {"role": "approver", "name": "bob"}}}
//! ```
//!
//! An admin manages policies and can approve; an approver grants or
//! refuses pending tool calls; an agent asks (as its `agent`). A `name`
//! (optional, for people's keys) is who the audit says decided.
//!
//! Read strictly: an unknown key, a wrong type or a repeated key anywhere is
//! an error that says where (a repeated API key is located, never printed:
//! it is a secret). Keys are kept only as SHA-256 digests.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use agentguard::describe_value as describe;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The shortest API key accepted, in characters.
pub const MIN_KEY_LEN: usize = 8;

/// What a key may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Manages policies, reads the audit, approves.
    Admin,
    /// Grants or refuses pending tool calls.
    Approver,
    /// Sends intents as, reads the inbox of, and asks for tool decisions
    /// as, one agent (an address id).
    Agent(String),
}

/// A key's role and who holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// What the key may do.
    pub role: Role,
    /// Who decided, as the audit names it: the entry's `name`, else the role
    /// and the first 8 hex digits of the key's SHA-256 (never the key).
    pub name: String,
}

/// The keys of a gateway, by SHA-256 of the key.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    by_hash: HashMap<[u8; 32], Holder>,
    /// The secret that signs webhook bodies (`"webhook_secret"`).
    pub webhook_secret: Option<String>,
}

impl Keys {
    /// Reads and checks a keys file. The error names the file.
    pub fn load(path: &Path) -> Result<Keys, String> {
        let fail = |what: String| format!("keys file {}: {what}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Keys::parse(&text).map_err(fail)
    }

    /// Reads keys from the text of a keys file.
    pub fn parse(text: &str) -> Result<Keys, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file = Top
            .deserialize(&mut de)
            .and_then(|e| de.end().map(|()| e))
            .map_err(|e| {
                let s = e.to_string();
                if e.is_data() {
                    s
                } else {
                    format!("not valid JSON: {s}")
                }
            })?;
        let mut by_hash = HashMap::new();
        for (n, (key, entry)) in file.entries.into_iter().enumerate() {
            let (role, name) =
                check_entry(&key, &entry).map_err(|m| format!("keys entry {}: {m}", n + 1))?;
            let hash = digest(&key);
            let name = name.unwrap_or_else(|| {
                let who = match &role {
                    Role::Admin => "admin".to_string(),
                    Role::Approver => "approver".to_string(),
                    Role::Agent(a) => a.clone(),
                };
                let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
                format!("{who} (key {hex})")
            });
            by_hash.insert(hash, Holder { role, name });
        }
        Ok(Keys {
            by_hash,
            webhook_secret: file.webhook_secret,
        })
    }

    /// The role of `key`, if it is one of ours.
    pub fn role(&self, key: &str) -> Option<&Role> {
        self.holder(key).map(|h| &h.role)
    }

    /// The role and name of `key`, if it is one of ours.
    pub fn holder(&self, key: &str) -> Option<&Holder> {
        self.by_hash.get(&digest(key))
    }

    /// The agents that have keys, sorted, without repeats.
    pub fn agents(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_hash
            .values()
            .filter_map(|h| match &h.role {
                Role::Agent(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `agent` has a key.
    pub fn has_agent(&self, agent: &str) -> bool {
        self.by_hash
            .values()
            .any(|h| matches!(&h.role, Role::Agent(a) if a == agent))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn check_entry(key: &str, entry: &Value) -> Result<(Role, Option<String>), String> {
    if key.chars().count() < MIN_KEY_LEN {
        return Err(format!(
            "a key must be at least {MIN_KEY_LEN} characters long"
        ));
    }
    let Value::Object(map) = entry else {
        return Err(format!("expected an object, got {}", describe(entry)));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "role" | "agent" | "name"))
    {
        return Err(format!(
            "unknown key {} (known keys: role, agent, name)",
            serde_json::to_string(k).unwrap_or_default()
        ));
    }
    let name = match map.get("name") {
        None => None,
        Some(Value::String(n))
            if !n.trim().is_empty()
                && n.chars().count() <= 128
                && !n.chars().any(char::is_control) =>
        {
            Some(n.clone())
        }
        Some(other) => {
            return Err(format!(
                "\"name\" must be 1 to 128 characters without control characters, got {}",
                describe(other)
            ))
        }
    };
    let role = match map.get("role") {
        Some(Value::String(r)) if r == "admin" || r == "approver" => {
            if map.contains_key("agent") {
                return Err(format!("an {r} key has no \"agent\""));
            }
            if r == "admin" {
                Role::Admin
            } else {
                Role::Approver
            }
        }
        Some(Value::String(r)) if r == "agent" => match map.get("agent") {
            Some(Value::String(a)) => agentguard::resolve_address(a)
                .map(|id| Role::Agent(id.to_string()))
                .map_err(|e| e.to_string())?,
            other => {
                return Err(format!(
                    "an agent key needs \"agent\": \"<address id>\", got {}",
                    other.map_or_else(|| "nothing".to_string(), describe)
                ))
            }
        },
        other => {
            return Err(format!(
                "\"role\" must be \"agent\", \"admin\" or \"approver\", got {}",
                other.map_or_else(|| "nothing".to_string(), describe)
            ))
        }
    };
    Ok((role, name))
}

type Entries = Vec<(String, Value)>;

/// The shortest webhook secret accepted, in characters.
pub const MIN_SECRET_LEN: usize = 16;

/// What the file holds: the key entries, and the webhook secret.
struct File {
    entries: Entries,
    webhook_secret: Option<String>,
}

/// The top-level object: `keys` and nothing else, once.
struct Top;

impl<'de> DeserializeSeed<'de> for Top {
    type Value = File;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<File, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top {
    type Value = File;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object {\"keys\": {...}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<File, A::Error> {
        let mut keys = None;
        let mut webhook_secret = None;
        let mut seen = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if seen.contains(&k) {
                return Err(de::Error::custom(format!(
                    "duplicate key {} at the top level",
                    json_string(&k)
                )));
            }
            seen.push(k.clone());
            if k == "keys" {
                keys = Some(map.next_value_seed(KeyMap)?);
            } else if k == "webhook_secret" {
                let v: Value = map.next_value()?;
                match v {
                    Value::String(s) if s.chars().count() >= MIN_SECRET_LEN => webhook_secret = Some(s),
                    other => {
                        return Err(de::Error::custom(format!(
                            "\"webhook_secret\" must be a string of at least {MIN_SECRET_LEN} characters, got {}",
                            match other {
                                Value::String(_) => "a shorter string".to_string(),
                                o => describe(&o),
                            }
                        )))
                    }
                }
            } else {
                map.next_value::<IgnoredAny>()?;
                return Err(de::Error::custom(format!(
                    "unknown key {} (known keys: keys, webhook_secret)",
                    json_string(&k)
                )));
            }
        }
        let entries = keys.ok_or_else(|| de::Error::custom("missing \"keys\""))?;
        Ok(File {
            entries,
            webhook_secret,
        })
    }
}

/// `"keys": {...}`: each API key once.
struct KeyMap;

impl<'de> DeserializeSeed<'de> for KeyMap {
    type Value = Entries;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Entries, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyMap {
    type Value = Entries;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"keys\" to be an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut out: Entries = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if let Some(first) = out.iter().position(|(e, _)| *e == k) {
                return Err(de::Error::custom(format!(
                    "duplicate key in \"keys\": entry {} is the same API key as entry {}; the key itself is not printed",
                    out.len() + 1,
                    first + 1
                )));
            }
            let v = map.next_value_seed(Entry(out.len() + 1))?;
            out.push((k, v));
        }
        Ok(out)
    }
}

/// One entry's object, fields once each (any JSON value otherwise; checked
/// after parsing).
struct Entry(usize);

impl<'de> DeserializeSeed<'de> for Entry {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a keys entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!(
                    "duplicate key {} in keys entry {}",
                    json_string(&k),
                    self.0
                )));
            }
            let v = map.next_value_seed(Strict)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
}

/// Any value below an entry, with the core's duplicate-key rule.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // Values inside an entry are strings in a good file; anything else is
        // refused after parsing, so a repeat nested deeper needs no check.
        serde::Deserialize::deserialize(d)
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_file() {
        let k = Keys::parse(
            r#"{"keys": {"admin-key-1": {"role": "admin"}, "agent-key-1": {"role": "agent", "agent": "agent://o/e/ops-agent"}}}"#,
        )
        .unwrap();
        assert_eq!(k.role("admin-key-1"), Some(&Role::Admin));
        assert_eq!(
            k.role("agent-key-1"),
            Some(&Role::Agent("ops-agent".into()))
        );
        assert_eq!(k.role("nope"), None);
        assert_eq!(k.agents(), vec!["ops-agent".to_string()]);
        assert!(k
            .holder("admin-key-1")
            .unwrap()
            .name
            .starts_with("admin (key "));
        let k = Keys::parse(r#"{"keys": {"approver-key-1": {"role": "approver", "name": "bob"}}}"#)
            .unwrap();
        assert_eq!(
            k.holder("approver-key-1").unwrap(),
            &Holder {
                role: Role::Approver,
                name: "bob".into()
            }
        );
    }

    #[test]
    fn repeats_are_located_and_secrets_not_printed() {
        let e = Keys::parse("{\"keys\": {\n\"s3cret-key-0042\": {\"role\": \"admin\"},\n\"s3cret-key-0042\": {\"role\": \"admin\"}}}").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(e, "duplicate key in \"keys\": entry 2 is the same API key as entry 1; the key itself is not printed at line 3 column 17");
        let e = Keys::parse(
            r#"{"keys": {"agent-key-1": {"role": "agent", "agent": "a", "\u0072ole": "admin"}}}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("duplicate key \"role\" in keys entry 1 at line 1"),
            "{e}"
        );
        let e = Keys::parse(r#"{"keys": {}, "keys": {}}"#).unwrap_err();
        assert!(
            e.starts_with("duplicate key \"keys\" at the top level at line 1"),
            "{e}"
        );
    }

    #[test]
    fn bad_entries() {
        for (text, want) in [
            (
                r#"{"keys": {"short": {"role": "admin"}}}"#,
                "keys entry 1: a key must be at least 8 characters long",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "root"}}}"#,
                "keys entry 1: \"role\" must be \"agent\", \"admin\" or \"approver\", got string \"root\"",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "approver", "agent": "a"}}}"#,
                "keys entry 1: an approver key has no \"agent\"",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "approver", "name": ""}}}"#,
                "keys entry 1: \"name\" must be 1 to 128 characters without control characters, got string \"\"",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "agent"}}}"#,
                "keys entry 1: an agent key needs \"agent\": \"<address id>\", got nothing",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "admin", "agent": "a"}}}"#,
                "keys entry 1: an admin key has no \"agent\"",
            ),
            (
                r#"{"keys": {"long-enough": {"role": "admin", "x": 1}}}"#,
                "keys entry 1: unknown key \"x\" (known keys: role, agent, name)",
            ),
        ] {
            assert_eq!(Keys::parse(text).unwrap_err(), want);
        }
        assert!(Keys::parse(r#"{"keys": {}, "extra": 1}"#)
            .unwrap_err()
            .starts_with("unknown key \"extra\" (known keys: keys, webhook_secret)"));
        assert!(Keys::parse(r#"{"keys": {}, "webhook_secret": "short"}"#)
            .unwrap_err()
            .starts_with("\"webhook_secret\" must be a string of at least 16 characters, got a shorter string"));
        assert_eq!(
            Keys::parse(r#"{"keys": {}, "webhook_secret": "0123456789abcdef"}"#)
                .unwrap()
                .webhook_secret
                .as_deref(),
            Some("0123456789abcdef")
        );
        assert!(Keys::parse(r#"{"keys": {"a": 1,}}"#)
            .unwrap_err()
            .starts_with("not valid JSON"));
        assert!(Keys::parse(
            r#"{"keys": {"agent-key-1": {"role": "agent", "agent": "agent://a/b"}}}"#
        )
        .unwrap_err()
        .contains("not a valid agent address"));
    }
}
