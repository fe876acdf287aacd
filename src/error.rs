//! The one error type of the core.

use std::fmt;

/// What kind of problem an [`Error`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not valid JSON.
    Json,
    /// A policy (or an entry of it) is not a JSON object.
    NotAnObject,
    /// A key that the format does not have (a typo such as `"denny"`).
    UnknownKey,
    /// A field holds a value of the wrong type (a number where a string
    /// belongs, say).
    WrongType,
    /// A field has the right type but a value outside its domain (a
    /// `default` other than `"allow"` or `"deny"`, say).
    InvalidValue,
    /// A required field is missing.
    MissingField,
    /// A key appears twice in one JSON object (`{"deny": [..], "deny": []}`):
    /// never resolved by letting one of them win.
    DuplicateKey,
    /// An input is larger than the documented limit (a tool name over
    /// [`crate::MAX_NAME_BYTES`]).
    TooLong,
    /// A callback of the synchronous flow returned a Promise or a coroutine:
    /// its answer or its failure would come after the decision.
    AsyncHook,
    /// An approval callback returned something other than a boolean.
    NotABool,
}

impl ErrorKind {
    /// A stable, lower-case name for the kind, used by the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Json => "json",
            ErrorKind::NotAnObject => "not_an_object",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::DuplicateKey => "duplicate_key",
            ErrorKind::TooLong => "too_long",
            ErrorKind::AsyncHook => "async_hook",
            ErrorKind::NotABool => "not_a_bool",
        }
    }
}

/// An invalid policy file or value: what is wrong, and where.
///
/// `field` names the offending key (`"allow"`, or the unknown key itself)
/// and `index` the position inside an array field, so a message can point at
/// `allow[3]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    field: Option<String>,
    index: Option<usize>,
    message: String,
}

impl Error {
    /// An error of `kind` with a description and no location. Bindings use
    /// it for problems they find while converting values (a number too
    /// large for JSON, say), so every error has one shape.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            field: None,
            index: None,
            message: message.into(),
        }
    }

    /// The same error located at `field` (and `index` inside it, for an
    /// array): Display then reads `field[index]: message`.
    pub fn at(mut self, field: impl Into<String>, index: Option<usize>) -> Error {
        self.field = Some(field.into());
        self.index = index;
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The offending key, if the problem is in one.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The offending position inside an array field.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// The description without the location prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.field, self.index) {
            (Some(field), Some(i)) => write!(f, "{field}[{i}]: {}", self.message),
            // An unknown or duplicate key's message names the key and its
            // place itself.
            (Some(field), None)
                if !matches!(self.kind, ErrorKind::UnknownKey | ErrorKind::DuplicateKey) =>
            {
                write!(f, "{field}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}
