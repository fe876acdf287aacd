//! The little of JSON-RPC 2.0 the proxy reads: a frame's method and id,
//! never the rest, so fields and methods it does not know pass untouched.

use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Parse error (JSON-RPC).
pub const PARSE_ERROR: i64 = -32700;
/// Invalid request (JSON-RPC).
pub const INVALID_REQUEST: i64 = -32600;
/// Invalid params (JSON-RPC); MCP's code for an unknown tool.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error (JSON-RPC).
pub const INTERNAL_ERROR: i64 = -32603;
/// The connection to the server closed before it answered (the code the
/// official SDKs use for a closed connection).
pub const CONNECTION_CLOSED: i64 = -32000;

/// What the proxy reads of one JSON-RPC message. A derived struct, so a
/// repeated `method`, `id` or `params` is an error (a server reading the
/// first and the proxy the last could otherwise disagree on what a call is).
#[derive(Deserialize)]
pub struct Probe<'a> {
    /// The method of a request or notification.
    #[serde(borrow, default)]
    pub method: Option<std::borrow::Cow<'a, str>>,
    /// The id as written; `Some("null")` for an explicit null.
    #[serde(borrow, default, deserialize_with = "raw_some")]
    pub id: Option<&'a RawValue>,
    /// The params, raw.
    #[serde(borrow, default, deserialize_with = "raw_some")]
    pub params: Option<&'a RawValue>,
    /// The result of a response, raw.
    #[serde(borrow, default, deserialize_with = "raw_some")]
    pub result: Option<&'a RawValue>,
}

fn raw_some<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// A message: an object, or a batch (an array), or anything else JSON.
pub enum Message<'a> {
    /// One object.
    One(Probe<'a>),
    /// A batch: its elements, raw.
    Batch(Vec<&'a RawValue>),
    /// Valid JSON that is neither (a number, a string, ...).
    Other,
}

/// Reads a frame. `Err` when it is not JSON (or not UTF-8), or an object
/// with a repeated or ill-typed `method`.
pub fn parse(frame: &[u8]) -> Result<Message<'_>, serde_json::Error> {
    let text = std::str::from_utf8(frame).map_err(|e| {
        <serde_json::Error as serde::de::Error>::custom(format_args!(
            "invalid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    parse_str(text)
}

/// As [`parse`], on text.
pub fn parse_str(text: &str) -> Result<Message<'_>, serde_json::Error> {
    let t = text.trim_start();
    if t.starts_with('{') {
        serde_json::from_str(text).map(Message::One)
    } else if t.starts_with('[') {
        serde_json::from_str(text).map(Message::Batch)
    } else {
        serde_json::from_str::<serde::de::IgnoredAny>(text).map(|_| Message::Other)
    }
}

/// JSON as a [`Value`], refusing an object with a repeated key at any depth
/// (serde_json keeps the last; a server that keeps the first would run a
/// call other than the one decided).
pub fn strict_value(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|s| s.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Strict;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        Strict::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = a.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = a.next_key::<String>()? {
            let Strict(v) = a.next_value()?;
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format_args!("repeated key {k:?}")));
            }
            out.insert(k, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

/// A key for an id, the same for `1` and `1` however they were spaced or
/// escaped (a peer echoes an id after parsing and writing it again).
pub fn id_key(raw: &RawValue) -> String {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(v) => v.to_string(),
        Err(_) => raw.get().to_string(),
    }
}

fn frame(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

fn id_value(id: Option<&RawValue>) -> Value {
    id.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// A JSON-RPC error response, as a frame.
pub fn error(id: Option<&RawValue>, code: i64, message: &str) -> Bytes {
    frame(
        &json!({"jsonrpc": "2.0", "id": id_value(id), "error": {"code": code, "message": message}}),
    )
}

/// A JSON-RPC result response, as a frame.
pub fn result(id: Option<&RawValue>, result: Value) -> Bytes {
    frame(&json!({"jsonrpc": "2.0", "id": id_value(id), "result": result}))
}

/// A tool result whose only content is `text`, flagged as an error: what a
/// model reads when the proxy blocks a call.
pub fn tool_error(id: Option<&RawValue>, text: &str) -> Bytes {
    result(
        id,
        json!({"content": [{"type": "text", "text": text}], "isError": true}),
    )
}

/// A request from the proxy itself.
pub fn request(id: &str, method: &str, params: Value) -> Bytes {
    frame(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

/// A notification from the proxy itself.
pub fn notification(method: &str, params: Value) -> Bytes {
    frame(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

/// `bytes` and a newline, as a frame.
pub fn with_newline(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        let Message::One(p) = parse(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools\/call","params":{"x":1},"extra":[1,2]}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(p.method.as_deref(), Some("tools/call"));
        assert_eq!(p.id.map(|r| r.get()), Some("7"));
        assert_eq!(p.params.map(|r| r.get()), Some(r#"{"x":1}"#));

        let Message::One(p) = parse(br#"{"id":null,"result":{}}"#).unwrap() else {
            panic!()
        };
        assert_eq!(p.id.map(|r| r.get()), Some("null"));
        assert!(p.method.is_none() && p.result.is_some());

        assert!(
            matches!(parse(b"[{\"id\":1},{\"id\":2}]").unwrap(), Message::Batch(v) if v.len() == 2)
        );
        assert!(matches!(parse(b" 42 ").unwrap(), Message::Other));
    }

    #[test]
    fn refuses() {
        for bad in [
            &b"{\"method\":\"a\",\"method\":\"tools/call\"}"[..],
            b"{\"id\":1,\"id\":2}",
            b"{\"method\":1}",
            b"{\"method\":\"x\"",
            b"\xff{}",
            b"{\"a\":NaN}",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn id_keys() {
        let k = |s: &str| id_key(&serde_json::from_str::<Box<RawValue>>(s).unwrap());
        assert_eq!(k("1"), k(" 1"));
        assert_eq!(k(r#""a\u0062""#), k(r#""ab""#));
        assert_ne!(k("1"), k(r#""1""#));
    }

    #[test]
    fn answers_keep_the_id() {
        let id: Box<RawValue> = serde_json::from_str(r#""req-1""#).unwrap();
        let f = tool_error(Some(&id), "Blocked");
        let v: Value = serde_json::from_slice(&f).unwrap();
        assert_eq!(v["id"], "req-1");
        assert_eq!(v["result"]["isError"], true);
        assert_eq!(*f.last().unwrap(), b'\n');
        let v: Value = serde_json::from_slice(&error(None, PARSE_ERROR, "x")).unwrap();
        assert_eq!(v["id"], Value::Null);
    }
}
