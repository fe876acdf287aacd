//! Values and errors across the boundary: Python `str` to `&str`, Python
//! objects to the JSON value the core's strict parser reads and back, and
//! core errors to the exception classes of `agentguard._types`.

use agentguard::{Decision, ErrorKind};
use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// The pure-Python half of the package (the `Decision` members, the
/// exception classes, the coroutines of `agentguard._aio`) and the standard
/// library functions the binding calls, looked up once.
pub struct Types {
    decisions: [Py<PyAny>; 3],
    pub decision_cls: Py<PyAny>,
    pub policy_error: Py<PyAny>,
    pub tool_denied: Py<PyAny>,
    pub approval_required: Py<PyAny>,
    /// `agentguard._aio.check_async` and `enforce_async`.
    pub check_async: Py<PyAny>,
    pub enforce_async: Py<PyAny>,
    /// `inspect.isawaitable`.
    isawaitable: Py<PyAny>,
    /// `(types.CoroutineType, types.GeneratorType)`: the awaitables that
    /// warn if they are dropped unawaited, and can be closed instead.
    closable: Py<PyAny>,
    /// `copy.deepcopy`.
    pub deepcopy: Py<PyAny>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

/// The classes of `agentguard._types`.
pub fn types(py: Python<'_>) -> PyResult<&'static Types> {
    TYPES.get_or_try_init(py, || {
        let m = py.import("agentguard._types")?;
        let cls = m.getattr("Decision")?;
        let member = |name: &str| cls.getattr(name).map(Bound::unbind);
        let aio = py.import("agentguard._aio")?;
        let stdlib = py.import("types")?;
        let closable = (
            stdlib.getattr("CoroutineType")?,
            stdlib.getattr("GeneratorType")?,
        );
        Ok(Types {
            decisions: [
                member("ALLOW")?,
                member("DENY")?,
                member("REQUIRE_APPROVAL")?,
            ],
            decision_cls: cls.clone().unbind(),
            policy_error: m.getattr("PolicyError")?.unbind(),
            tool_denied: m.getattr("ToolDenied")?.unbind(),
            approval_required: m.getattr("ApprovalRequired")?.unbind(),
            check_async: aio.getattr("check_async")?.unbind(),
            enforce_async: aio.getattr("enforce_async")?.unbind(),
            isawaitable: py.import("inspect")?.getattr("isawaitable")?.unbind(),
            closable: closable.into_pyobject(py)?.into_any().unbind(),
            deepcopy: py.import("copy")?.getattr("deepcopy")?.unbind(),
        })
    })
}

impl Types {
    /// The `Decision` enum member for a core decision.
    pub fn decision<'py>(&self, py: Python<'py>, d: Decision) -> &Bound<'py, PyAny> {
        self.decisions[match d {
            Decision::Allow => 0,
            Decision::Deny => 1,
            Decision::RequireApproval => 2,
        }]
        .bind(py)
    }

    /// The core decision of a `Decision` member (or of its value, `"deny"`).
    pub fn decision_of(&self, obj: &Bound<'_, PyAny>) -> PyResult<Decision> {
        let py = obj.py();
        let member = self.decision_cls.bind(py).call1((obj,))?;
        for d in [Decision::Allow, Decision::Deny, Decision::RequireApproval] {
            if member.is(self.decision(py, d)) {
                return Ok(d);
            }
        }
        Err(PyTypeError::new_err("not a Decision member"))
    }

    /// Whether a callback's return value is an awaitable (a coroutine, a
    /// Future, anything with `__await__`): an answer that has not arrived.
    pub fn is_awaitable(&self, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.isawaitable.bind(obj.py()).call1((obj,))?.is_truthy()
    }

    /// Closes an awaitable the flow will not await, if it is a coroutine
    /// (or generator-based one): Python warns "coroutine ... was never
    /// awaited" about one dropped unclosed. Other awaitables (a Future) are
    /// left alone: they belong to whoever made them.
    pub fn close_unawaited(&self, obj: &Bound<'_, PyAny>) {
        let py = obj.py();
        if obj.is_instance(self.closable.bind(py)).unwrap_or(false) {
            // An unstarted coroutine closes without running any code; should
            // a started one raise here, the flow is failing with an error
            // anyway, so that error is the one the caller needs.
            if let Err(e) = obj.call_method0("close") {
                e.write_unraisable(py, Some(obj));
            }
        }
    }
}

/// The name of an object's type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

/// A `str` argument as UTF-8. Not a `str`: `TypeError`. A lone surrogate:
/// `UnicodeEncodeError` saying which argument, never a repaired string.
pub fn text<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a str> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a str, not {}",
            type_name(obj)
        )));
    };
    s.to_str().map_err(|e| surrogate_error(s, what, e))
}

/// A decision given by name (`"allow"`, `"deny"`, `"require_approval"`; a
/// `Decision` is such a `str`): the core's names; anything else is a
/// `ValueError` (or the `TypeError` of a non-`str`).
pub fn decision(obj: &Bound<'_, PyAny>) -> PyResult<Decision> {
    let name = text(obj, "decision")?;
    Decision::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "decision must be \"allow\", \"deny\" or \"require_approval\", got {name:?}"
        ))
    })
}

/// Rewords the `UnicodeEncodeError` of a string with a lone surrogate so it
/// names the argument, keeping its position.
fn surrogate_error(s: &Bound<'_, PyString>, what: &str, original: PyErr) -> PyErr {
    let py = s.py();
    let value = original.value(py);
    let (Ok(start), Ok(end)) = (value.getattr("start"), value.getattr("end")) else {
        return original;
    };
    let reason = format!(
        "{what} is not well-formed Unicode (a lone surrogate); \
         agentguard refuses it rather than deciding on a repaired string"
    );
    match py
        .get_type::<PyUnicodeEncodeError>()
        .call1(("utf-8", s, start, end, reason))
    {
        Ok(err) => {
            let err = PyErr::from_value(err);
            err.set_cause(py, Some(original));
            err
        }
        Err(e) => e,
    }
}

/// A core error as the Python exception for its kind: the flow's refusals
/// of a callback's answer (`async_hook`, `not_a_bool`) are `TypeError`s,
/// everything else a `PolicyError` (a `ValueError`). Either carries the
/// core's kind as `kind`.
pub fn core_error(py: Python<'_>, e: &agentguard::Error) -> PyErr {
    match e.kind() {
        ErrorKind::AsyncHook | ErrorKind::NotABool => {
            let err = PyTypeError::new_err(e.to_string());
            if let Err(failed) = err.value(py).setattr("kind", e.kind().as_str()) {
                return failed;
            }
            err
        }
        _ => policy_error(py, e),
    }
}

/// A `PolicyError` with the core's kind, field and index; its message is
/// the core's `Display` text (`allow[2]: expected a string pattern, ...`).
pub fn policy_error(py: Python<'_>, e: &agentguard::Error) -> PyErr {
    let made = types(py).and_then(|t| {
        let kwargs = PyDict::new(py);
        kwargs.set_item("kind", e.kind().as_str())?;
        kwargs.set_item("field", e.field())?;
        kwargs.set_item("index", e.index())?;
        t.policy_error
            .bind(py)
            .call((e.to_string(),), Some(&kwargs))
    });
    match made {
        Ok(err) => PyErr::from_value(err),
        Err(e) => e,
    }
}

/// Where a value sits in the policy: the top-level key and, inside an array
/// field, the position. Errors made here are worded like the core's.
#[derive(Clone, Copy)]
pub struct Loc<'a> {
    pub field: Option<&'a str>,
    pub index: Option<usize>,
}

impl Loc<'_> {
    /// The core's error for this place, so it reads like the core's own.
    fn error(self, py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
        let mut e = agentguard::Error::new(kind, message);
        if let Some(field) = self.field {
            e = e.at(field, self.index);
        }
        policy_error(py, &e)
    }
}

/// A Python value as JSON, for the core's strict parser to judge: `dict`
/// (or any mapping) with `str` keys, `list`/`tuple`, `str`, `int`, `float`,
/// `bool`, `None`. Anything else, a non-finite float, an `int` outside
/// -2**63 .. 2**64-1 or a string with a lone surrogate is a `PolicyError`
/// naming where it is.
pub fn to_json(obj: &Bound<'_, PyAny>, loc: Loc<'_>) -> PyResult<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::String(s.to_string())),
            Err(_) => Err(loc.error(
                py,
                ErrorKind::InvalidValue,
                "a string is not well-formed Unicode (a lone surrogate)".to_string(),
            )),
        };
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        // Never rounded to a float: a rule's bound (`{"lt": 2**70 + 1}`)
        // must compare exactly, or not at all.
        return Err(loc.error(
            py,
            ErrorKind::WrongType,
            "expected a JSON value, got an int outside -2**63 .. 2**64-1, which a policy \
             cannot hold exactly"
                .to_string(),
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        if let Some(n) = Number::from_f64(f.value()) {
            return Ok(Value::Number(n));
        }
        return Err(loc.error(
            py,
            ErrorKind::WrongType,
            format!("expected a JSON value, got the float {}", f.repr()?),
        ));
    }
    let array = |items: Vec<Bound<'_, PyAny>>| -> PyResult<Value> {
        // Inside a top-level field, the position is part of the location.
        let nested = loc.field.is_some() && loc.index.is_none();
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = if nested {
                    Loc {
                        field: loc.field,
                        index: Some(i),
                    }
                } else {
                    loc
                };
                to_json(item, at)
            })
            .collect::<PyResult<Vec<Value>>>()
            .map(Value::Array)
    };
    if let Ok(list) = obj.cast::<PyList>() {
        return array(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return array(tuple.iter().collect());
    }
    let items: Option<Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)>> =
        if let Ok(dict) = obj.cast::<PyDict>() {
            Some(dict.iter().collect())
        } else if let Ok(mapping) = obj.cast::<PyMapping>() {
            Some(
                mapping
                    .items()?
                    .iter()
                    .map(|kv| kv.extract())
                    .collect::<PyResult<_>>()?,
            )
        } else {
            None
        };
    if let Some(items) = items {
        let top = loc.field.is_none();
        let mut map = Map::new();
        for (k, v) in items {
            let key = match k.cast::<PyString>().map(|s| s.to_str()) {
                Ok(Ok(key)) => key.to_string(),
                _ => {
                    return Err(loc.error(
                        py,
                        ErrorKind::WrongType,
                        format!("keys must be well-formed str, got {}", k.repr()?),
                    ))
                }
            };
            let at = if top {
                Loc {
                    field: Some(&key),
                    index: None,
                }
            } else {
                loc
            };
            // A dict cannot repeat a key, but a Mapping's items() can: never
            // let the last one win, as the core's JSON parser never does.
            if map.contains_key(&key) {
                return Err(at.error(
                    py,
                    ErrorKind::DuplicateKey,
                    format!(
                        "duplicate key {} in a mapping: each key may appear only once",
                        k.repr()?
                    ),
                ));
            }
            let value = to_json(&v, at)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    Err(loc.error(
        py,
        ErrorKind::WrongType,
        format!("expected a JSON value, got {}", type_name(obj)),
    ))
}

/// A JSON value as the Python object `json.loads` would make.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
