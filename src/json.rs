//! Reading JSON values strictly: what the error messages say about a value.

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// What a rejected value is, for an error message: `number 5`,
/// `string "drop_*"`, `an array`.
pub(crate) fn type_name(v: &Value) -> String {
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

/// An array of string patterns; the error names `field` and the index of
/// the first element that is not a string.
pub(crate) fn string_patterns(field: &str, v: &Value) -> Result<Vec<String>, Error> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(Error::new(
                    ErrorKind::WrongType,
                    format!("expected a string pattern, got {}", type_name(other)),
                )
                .at(field, Some(i))),
            })
            .collect(),
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
