//! Reading JSON values strictly: what the error messages say about a value.

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// What a rejected value is, for an error message: `number 5`,
/// `string "drop_*"`, `an array`.
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", quote(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `text` as a JSON string literal, cut to its first 64 characters (an
/// error message quotes what it rejects, but never a megabyte of it).
pub(crate) fn quote(text: &str) -> String {
    const KEEP: usize = 64;
    match text.char_indices().nth(KEEP) {
        None => Value::String(text.to_string()).to_string(),
        Some((cut, _)) => {
            let shown = Value::String(text[..cut].to_string()).to_string();
            format!(
                "{}…\" ({} characters)",
                &shown[..shown.len() - 1],
                text.chars().count()
            )
        }
    }
}

/// The strings of an array; the error names `field` and the index of the
/// first element that is not a string (`expected {what}, got ...`).
pub(crate) fn strings(field: &str, items: &[Value], what: &str) -> Result<Vec<String>, Error> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(Error::new(
                ErrorKind::WrongType,
                format!("expected {what}, got {}", type_name(other)),
            )
            .at(field, Some(i))),
        })
        .collect()
}

/// An array of string patterns; the error names `field` and the index of
/// the first element that is not a string.
pub(crate) fn string_patterns(field: &str, v: &Value) -> Result<Vec<String>, Error> {
    match v {
        Value::Array(items) => strings(field, items, "a string pattern"),
        other => Err(Error::new(
            ErrorKind::WrongType,
            format!(
                "expected an array of string patterns, got {}",
                type_name(other)
            ),
        )
        .at(field, None)),
    }
}

/// A duplicate key found while reading JSON text: the key and where its
/// object sits (`""` for the top level, `policies[2]`, `rules[0].when`).
#[derive(Debug)]
struct Duplicate {
    path: String,
    key: String,
}

/// Reads one JSON value into a [`Value`], like `serde_json::Value`'s own
/// `Deserialize`, except that a key repeated in one object stops the read
/// (recorded in `dup`) instead of silently keeping the last value:
/// `{"deny": ["drop_*"], "deny": []}` must never mean an empty deny list.
struct StrictSeed<'a> {
    path: String,
    dup: &'a std::cell::RefCell<Option<Duplicate>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
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

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
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

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictSeed {
            path: format!("{}[{}]", self.path, items.len()),
            dup: self.dup,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                *self.dup.borrow_mut() = Some(Duplicate {
                    path: self.path.clone(),
                    key: key.clone(),
                });
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(StrictSeed {
                path,
                dup: self.dup,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses JSON text strictly: invalid JSON is an [`ErrorKind::Json`] error,
/// a key that appears twice in one object an [`ErrorKind::DuplicateKey`]
/// error naming the key and the object it is in. `what` names the document
/// in messages (`policy`, `action policy store`).
pub fn parse_strict(text: &str, what: &str) -> Result<Value, Error> {
    parse_strict_at(text, what, "")
}

/// [`parse_strict`] for a document whose places are named from `root`
/// (`fixtures`, so that a duplicate key is at `fixtures[0].expect`; `line
/// 3`, so that it is at `line 3.expect`).
pub(crate) fn parse_strict_at(text: &str, what: &str, root: &str) -> Result<Value, Error> {
    let dup = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = StrictSeed {
        path: root.to_string(),
        dup: &dup,
    };
    let parsed = serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match (parsed, dup.into_inner()) {
        (_, Some(Duplicate { path, key })) => Err(duplicate_key(what, &path, &key)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(Error::new(ErrorKind::Json, format!("invalid JSON: {e}"))),
    }
}

/// Reads a value from any serde deserializer (a `Deserialize` impl's
/// input) with the same duplicate-key check as [`parse_strict`].
pub(crate) fn deserialize_strict<'de, D: serde::Deserializer<'de>>(
    d: D,
    what: &str,
) -> Result<Value, D::Error> {
    let dup = std::cell::RefCell::new(None);
    let seed = StrictSeed {
        path: String::new(),
        dup: &dup,
    };
    serde::de::DeserializeSeed::deserialize(seed, d).map_err(|e| match dup.into_inner() {
        Some(Duplicate { path, key }) => serde::de::Error::custom(duplicate_key(what, &path, &key)),
        None => e,
    })
}

fn duplicate_key(what: &str, path: &str, key: &str) -> Error {
    let place = if path.is_empty() {
        format!("the {what} object")
    } else {
        path.to_string()
    };
    let field = if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    };
    Error::new(
        ErrorKind::DuplicateKey,
        format!(
            "duplicate key {} in {place}: each key may appear only once",
            quote(key)
        ),
    )
    .at(field, None)
}
