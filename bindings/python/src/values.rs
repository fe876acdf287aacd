//! `PolicyResult` and `AuditEntry`: tokenfence's value classes, holding what
//! the core decided.

use std::sync::Arc;

use agentguard::{Decision, RuleRef, ShadowHit};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use serde_json::Value;

use crate::convert::{self, to_json, to_py, types, Loc};

/// An audit entry's context: a copy of the caller's dict, made when the
/// decision was made, which nothing outside the entry ever holds.
pub struct Context(Py<PyAny>);

impl Context {
    /// A private copy of `obj` (`copy.deepcopy`), so that changing the
    /// caller's dict afterwards cannot rewrite the audit log. An object
    /// that cannot be copied is a `TypeError` saying so: an entry never
    /// falls back to holding the caller's reference.
    pub fn copy(obj: &Bound<'_, PyAny>) -> PyResult<Context> {
        Ok(Context(deep_copy(obj, "the context")?.unbind()))
    }

    /// A fresh copy for a reader, who may change it at will.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        deep_copy(self.0.bind(py), "the audit entry's context")
    }

    fn bind<'a, 'py>(&'a self, py: Python<'py>) -> &'a Bound<'py, PyAny> {
        self.0.bind(py)
    }
}

/// The core copies entries (one for the log, one for `on_decision`); the
/// copies share the context object, which no one can change.
impl Clone for Context {
    fn clone(&self) -> Context {
        Python::attach(|py| Context(self.0.clone_ref(py)))
    }
}

fn deep_copy<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    types(py)?.deepcopy.bind(py).call1((obj,)).map_err(|e| {
        if !e.is_instance_of::<pyo3::exceptions::PyException>(py) {
            return e; // KeyboardInterrupt and friends pass through
        }
        let err = PyTypeError::new_err(format!(
            "{what} cannot be copied for the audit log ({}: {}); an audit entry \
                 keeps a copy made at decision time, never a reference to the caller's object",
            e.get_type(py)
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            e.value(py)
        ));
        err.set_cause(py, Some(e));
        err
    })
}

/// PolicyResult(decision, tool, reason, matched_rule=None, rule=None, shadow=())
///
/// The outcome of `Policy.check` and `Policy.evaluate`: frozen, with
/// tokenfence's fields, equality, hash and `repr`.
///
/// - `decision`: a `Decision` member;
/// - `tool`: the tool name that was checked;
/// - `reason`: why, in tokenfence's words (`"denied by pattern: drop_*"`);
/// - `matched_rule`: the pattern that decided, or the id of the rule of
///   `rules` that decided, or `None` when the policy's default decided;
/// - `rule` (beyond tokenfence): the rule that decided, structured:
///   `{"list": "deny", "index": 0}` for a pattern, `{"id": "small-refunds"}`
///   for a rule of `rules`, or `None` when the default decided;
/// - `shadow` (beyond tokenfence): the shadow rules that fired (reported,
///   never enforced), in the policy's order, a tuple of `{"id",
///   "decision"}` dicts.
///
/// `to_dict()` is the JSON form every agentguard binding shares. Equality
/// and hash are tokenfence's: `decision`, `tool`, `reason` and
/// `matched_rule`.
#[pyclass(frozen, module = "agentguard", name = "PolicyResult")]
pub struct PolicyResult {
    decision: Decision,
    tool: Py<PyString>,
    reason: Py<PyString>,
    matched_rule: Option<Py<PyString>>,
    rule: Option<RuleRef>,
    shadow: Vec<ShadowHit>,
}

impl PolicyResult {
    /// A result from parts the binding already holds as Python strings.
    pub fn from_parts(
        decision: Decision,
        tool: Py<PyString>,
        reason: Py<PyString>,
        matched_rule: Option<Py<PyString>>,
        rule: Option<RuleRef>,
        shadow: Vec<ShadowHit>,
    ) -> PolicyResult {
        PolicyResult {
            decision,
            tool,
            reason,
            matched_rule,
            rule,
            shadow,
        }
    }

    /// The decision, as the core's type.
    pub fn core_decision(&self) -> Decision {
        self.decision
    }

    /// `(decision, tool, reason, matched_rule)`: tokenfence's fields, in
    /// order.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            [
                types(py)?.decision(py, self.decision).clone(),
                self.tool.bind(py).clone().into_any(),
                self.reason.bind(py).clone().into_any(),
                match &self.matched_rule {
                    Some(r) => r.bind(py).clone().into_any(),
                    None => py.None().into_bound(py),
                },
            ],
        )
    }

    /// The core's result, for its one JSON form.
    fn to_core(&self, py: Python<'_>) -> PyResult<agentguard::PolicyResult> {
        Ok(agentguard::PolicyResult {
            tool: self.tool.bind(py).to_str()?.to_string(),
            decision: self.decision,
            reason: Arc::from(self.reason.bind(py).to_str()?),
            matched_rule: match &self.matched_rule {
                Some(r) => Some(Arc::from(r.bind(py).to_str()?)),
                None => None,
            },
            rule: self.rule.clone(),
            shadow: self.shadow.clone(),
        })
    }
}

/// A constructor argument read from its JSON form, strictly: `parse`
/// must accept it and serialising the parsed value must give back exactly
/// the given value (no unknown key, no wrong type slips through).
fn strict<T>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    expected: &str,
    parse: impl FnOnce(Value) -> Option<T>,
    write: impl FnOnce(&T) -> Option<Value>,
) -> PyResult<T> {
    let loc = Loc {
        field: None,
        index: None,
    };
    let refuse = || {
        PyValueError::new_err(format!(
            "{what} must be {expected}, got {}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    };
    let value = to_json(obj, loc).map_err(|_| refuse())?;
    let parsed = parse(value.clone()).ok_or_else(refuse)?;
    match write(&parsed) {
        Some(back) if back == value => Ok(parsed),
        _ => Err(refuse()),
    }
}

fn rule_to_py<'py>(py: Python<'py>, rule: &RuleRef) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(rule).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// A tuple of shadow hits as dicts.
fn shadow_tuple<'py>(py: Python<'py>, shadow: &[ShadowHit]) -> PyResult<Bound<'py, PyTuple>> {
    let items = shadow
        .iter()
        .map(|hit| {
            serde_json::to_value(hit)
                .map_err(|e| PyValueError::new_err(e.to_string()))
                .and_then(|v| to_py(py, &v))
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

/// `shadow=` of a constructor: an iterable of `{"id", "decision"}` dicts.
fn shadow_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<ShadowHit>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "shadow must be a sequence of {{\"id\", \"decision\"}} dicts, not {}",
            convert::type_name(obj)
        )));
    }
    obj.try_iter()?
        .map(|hit| {
            strict(
                &hit?,
                "each shadow hit",
                "a dict {\"id\": str, \"decision\": \"allow\" | \"deny\" | \"require_approval\"}",
                |v| serde_json::from_value::<ShadowHit>(v).ok(),
                |h| serde_json::to_value(h).ok(),
            )
        })
        .collect()
}

#[pymethods]
impl PolicyResult {
    #[new]
    #[pyo3(signature = (decision, tool, reason, matched_rule = None, rule = None, shadow = None))]
    fn new(
        decision: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        reason: &Bound<'_, PyAny>,
        matched_rule: Option<&Bound<'_, PyAny>>,
        rule: Option<&Bound<'_, PyAny>>,
        shadow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PolicyResult> {
        let py = decision.py();
        let as_str = |obj: &Bound<'_, PyAny>, what: &str| -> PyResult<Py<PyString>> {
            convert::text(obj, what)?;
            Ok(obj.cast::<PyString>()?.clone().unbind())
        };
        let rule = match rule {
            Some(r) if !r.is_none() => Some(strict(
                r,
                "rule",
                "None, {\"list\": \"deny\" | \"require_approval\" | \"allow\", \"index\": int} \
                 or {\"id\": str}",
                |v| serde_json::from_value::<RuleRef>(v).ok(),
                |r| serde_json::to_value(r).ok(),
            )?),
            _ => None,
        };
        Ok(PolicyResult {
            decision: types(py)?.decision_of(decision)?,
            tool: as_str(tool, "tool")?,
            reason: as_str(reason, "reason")?,
            matched_rule: match matched_rule {
                Some(r) if !r.is_none() => Some(as_str(r, "matched_rule")?),
                _ => None,
            },
            rule,
            shadow: shadow_arg(shadow)?,
        })
    }

    /// The `Decision` member.
    #[getter]
    fn decision<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(types(py)?.decision(py, self.decision).clone())
    }

    /// The tool name that was checked.
    #[getter]
    fn tool(&self, py: Python<'_>) -> Py<PyString> {
        self.tool.clone_ref(py)
    }

    /// Why, in tokenfence's words.
    #[getter]
    fn reason(&self, py: Python<'_>) -> Py<PyString> {
        self.reason.clone_ref(py)
    }

    /// The pattern (or the id of the rule of `rules`) that decided, or
    /// `None`.
    #[getter]
    fn matched_rule(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.matched_rule.as_ref().map(|r| r.clone_ref(py))
    }

    /// The rule that decided, structured (`{"list": "deny", "index": 0}`
    /// for a pattern, `{"id": "..."}` for a rule of `rules`), or `None` when
    /// the policy's default decided. A fresh dict each time.
    #[getter]
    fn rule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.rule {
            Some(rule) => rule_to_py(py, rule),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// The shadow rules that fired (reported, never enforced): a tuple of
    /// `{"id", "decision"}` dicts, empty when none did.
    #[getter]
    fn shadow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        shadow_tuple(py, &self.shadow)
    }

    /// `True` if the tool may run now (no approval pending).
    #[getter]
    fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// `True` if the tool must not run.
    #[getter]
    fn denied(&self) -> bool {
        self.decision == Decision::Deny
    }

    /// `True` if the tool needs a human's approval first.
    #[getter]
    fn needs_approval(&self) -> bool {
        self.decision == Decision::RequireApproval
    }

    /// The result's JSON form, the same in every agentguard binding:
    /// `{"tool", "decision", "reason", "matched_rule", "rule", "shadow"}`
    /// (`decision` as its string value, `None` for a missing matched rule
    /// or rule, `[]` when no shadow rule fired).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(self.to_core(py)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        to_py(py, &value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let f = self.fields(py)?;
        Ok(format!(
            "PolicyResult(decision={}, tool={}, reason={}, matched_rule={})",
            f.get_item(0)?.repr()?,
            f.get_item(1)?.repr()?,
            f.get_item(2)?.repr()?,
            f.get_item(3)?.repr()?,
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match other.cast::<PolicyResult>() {
            Ok(other) => {
                let equal = self.fields(py)?.eq(other.get().fields(py)?)?;
                Ok(py_bool(py, equal))
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields(py)?.hash()
    }

    /// Copy and pickle support: `PolicyResult(*fields, rule, shadow)`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let mut args: Vec<Bound<'py, PyAny>> = self.fields(py)?.iter().collect();
        args.push(self.rule(py)?);
        args.push(self.shadow(py)?.into_any());
        (py.get_type::<PolicyResult>(), PyTuple::new(py, args)?).into_pyobject(py)
    }
}

fn py_bool(py: Python<'_>, b: bool) -> Py<PyAny> {
    pyo3::types::PyBool::new(py, b)
        .to_owned()
        .into_any()
        .unbind()
}

/// AuditEntry(timestamp, tool, decision, reason, matched_rule=None, context=None, shadow=())
///
/// One recorded decision, as tokenfence's `AuditEntry`: `timestamp`
/// (seconds since the epoch), `tool`, `decision` (the string value:
/// `"deny"`), `reason`, `matched_rule` (or `None`) and `context` (a copy of
/// the dict the caller passed to `check`, or `{}`), plus `shadow` (the
/// shadow rules that fired, in `to_dict()` only when any did). The call's
/// arguments are never recorded (they may hold secrets). Immutable, and a record of the moment: the
/// context is copied when the entry is made and again for each reader, so
/// neither the caller's dict nor a reader's changes can rewrite it.
/// Equality is tokenfence's, over the six fields of its `repr`.
#[pyclass(frozen, module = "agentguard", name = "AuditEntry")]
pub struct AuditEntry {
    inner: agentguard::AuditEntry<Context>,
}

impl AuditEntry {
    /// Wraps a core entry.
    pub fn new_from(inner: agentguard::AuditEntry<Context>) -> AuditEntry {
        AuditEntry { inner }
    }

    /// The core entry.
    pub fn inner(&self) -> &agentguard::AuditEntry<Context> {
        &self.inner
    }

    /// `(timestamp, tool, decision, reason, matched_rule, context)`, the
    /// context uncopied: for comparing and printing only.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let context = match &self.inner.context {
            Some(c) => c.bind(py).clone(),
            None => PyDict::new(py).into_any(),
        };
        (
            self.inner.timestamp,
            self.inner.tool.as_str(),
            self.inner.decision.as_str(),
            &*self.inner.reason,
            self.inner.matched_rule.as_deref(),
            context,
        )
            .into_pyobject(py)
    }
}

#[pymethods]
impl AuditEntry {
    #[new]
    #[pyo3(signature = (timestamp, tool, decision, reason, matched_rule = None, context = None, shadow = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        timestamp: f64,
        tool: &Bound<'_, PyAny>,
        decision: &Bound<'_, PyAny>,
        reason: &Bound<'_, PyAny>,
        matched_rule: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        shadow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AuditEntry> {
        let decision = convert::decision(decision)?;
        let matched_rule = match matched_rule {
            Some(r) if !r.is_none() => Some(convert::text(r, "matched_rule")?.into()),
            _ => None,
        };
        let context = match context {
            Some(c) if c.is_truthy()? => Some(Context::copy(c)?),
            _ => None,
        };
        Ok(AuditEntry {
            inner: agentguard::AuditEntry {
                timestamp,
                tool: convert::text(tool, "tool")?.to_string(),
                decision,
                reason: convert::text(reason, "reason")?.into(),
                matched_rule,
                context,
                shadow: shadow_arg(shadow)?,
            },
        })
    }

    /// Seconds since the Unix epoch when the decision was made.
    #[getter]
    fn timestamp(&self) -> f64 {
        self.inner.timestamp
    }

    /// The tool name.
    #[getter]
    fn tool(&self) -> &str {
        &self.inner.tool
    }

    /// The decision's value: `"allow"`, `"deny"` or `"require_approval"`.
    #[getter]
    fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }

    /// The reason string.
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }

    /// The pattern (or the id of the rule of `rules`) that decided, or `None`.
    #[getter]
    fn matched_rule(&self) -> Option<&str> {
        self.inner.matched_rule.as_deref()
    }

    /// A copy of the context as it was when the decision was made, or `{}`.
    /// Each read is a fresh copy: changing it changes nothing in the log.
    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.context {
            Some(c) => c.read(py),
            None => Ok(PyDict::new(py).into_any()),
        }
    }

    /// The shadow rules that fired (reported, never enforced): a tuple of
    /// `{"id", "decision"}` dicts, empty when none did.
    #[getter]
    fn shadow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        shadow_tuple(py, &self.inner.shadow)
    }

    /// The entry as tokenfence's `to_dict()`: `timestamp`, `tool`,
    /// `decision`, `reason`, then `matched_rule` and `context` (a copy)
    /// only when present, and `shadow` only when a shadow rule fired.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("timestamp", self.inner.timestamp)?;
        d.set_item("tool", &self.inner.tool)?;
        d.set_item("decision", self.inner.decision.as_str())?;
        d.set_item("reason", &*self.inner.reason)?;
        if let Some(rule) = self.inner.dict_matched_rule() {
            d.set_item("matched_rule", rule)?;
        }
        if let Some(ctx) = &self.inner.context {
            d.set_item("context", ctx.read(py)?)?;
        }
        if !self.inner.shadow.is_empty() {
            let hits: Value = serde_json::to_value(&self.inner.shadow)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            d.set_item("shadow", to_py(py, &hits)?)?;
        }
        Ok(d)
    }

    /// Copy and pickle support: `AuditEntry(*fields, shadow)`, the context
    /// as recorded (`None` when there was none).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let e = &self.inner;
        let args = (
            e.timestamp,
            e.tool.as_str(),
            e.decision.as_str(),
            &*e.reason,
            e.matched_rule.as_deref(),
            e.context.as_ref().map(|c| c.bind(py)),
            shadow_tuple(py, &e.shadow)?,
        );
        (py.get_type::<AuditEntry>(), args).into_pyobject(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let f = self.fields(py)?;
        Ok(format!(
            "AuditEntry(timestamp={}, tool={}, decision={}, reason={}, matched_rule={}, context={})",
            f.get_item(0)?.repr()?,
            f.get_item(1)?.repr()?,
            f.get_item(2)?.repr()?,
            f.get_item(3)?.repr()?,
            f.get_item(4)?.repr()?,
            f.get_item(5)?.repr()?,
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match other.cast::<AuditEntry>() {
            Ok(other) => {
                let equal = self.fields(py)?.eq(other.get().fields(py)?)?;
                Ok(py_bool(py, equal))
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }
}
