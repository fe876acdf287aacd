//! `PolicyResult` and `AuditEntry`: tokenfence's value classes, holding what
//! the core decided.

use agentguard::Decision;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::convert::{self, types};

/// The audit context as the caller gave it (a dict, kept as is).
pub type Context = Py<PyAny>;

/// PolicyResult(decision, tool, reason, matched_rule=None)
///
/// The outcome of `Policy.check`: frozen, compared and hashed by value, with
/// tokenfence's fields and `repr`.
///
/// - `decision`: a `Decision` member;
/// - `tool`: the tool name that was checked;
/// - `reason`: why, in tokenfence's words (`"denied by pattern: drop_*"`);
/// - `matched_rule`: the pattern that decided, or `None` when the policy's
///   default decided.
#[pyclass(frozen, module = "agentguard", name = "PolicyResult")]
pub struct PolicyResult {
    decision: Decision,
    tool: Py<PyString>,
    reason: Py<PyString>,
    matched_rule: Option<Py<PyString>>,
}

impl PolicyResult {
    /// A result from parts the binding already holds as Python strings.
    pub fn from_parts(
        decision: Decision,
        tool: Py<PyString>,
        reason: Py<PyString>,
        matched_rule: Option<Py<PyString>>,
    ) -> PolicyResult {
        PolicyResult {
            decision,
            tool,
            reason,
            matched_rule,
        }
    }

    /// The decision, as the core's type.
    pub fn core_decision(&self) -> Decision {
        self.decision
    }

    /// `(decision, tool, reason, matched_rule)`, the fields in order.
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
}

#[pymethods]
impl PolicyResult {
    #[new]
    #[pyo3(signature = (decision, tool, reason, matched_rule = None))]
    fn new(
        decision: &Bound<'_, PyAny>,
        tool: &Bound<'_, PyAny>,
        reason: &Bound<'_, PyAny>,
        matched_rule: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PolicyResult> {
        let py = decision.py();
        let as_str = |obj: &Bound<'_, PyAny>, what: &str| -> PyResult<Py<PyString>> {
            convert::text(obj, what)?;
            Ok(obj.cast::<PyString>()?.clone().unbind())
        };
        Ok(PolicyResult {
            decision: types(py)?.decision_of(decision)?,
            tool: as_str(tool, "tool")?,
            reason: as_str(reason, "reason")?,
            matched_rule: match matched_rule {
                Some(r) if !r.is_none() => Some(as_str(r, "matched_rule")?),
                _ => None,
            },
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

    /// The pattern that decided, or `None`.
    #[getter]
    fn matched_rule(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.matched_rule.as_ref().map(|r| r.clone_ref(py))
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

    /// Copy and pickle support: `PolicyResult(*fields)`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (py.get_type::<PolicyResult>(), self.fields(py)?).into_pyobject(py)
    }
}

fn py_bool(py: Python<'_>, b: bool) -> Py<PyAny> {
    pyo3::types::PyBool::new(py, b)
        .to_owned()
        .into_any()
        .unbind()
}

/// AuditEntry(timestamp, tool, decision, reason, matched_rule, context={})
///
/// One recorded decision, as tokenfence's `AuditEntry`: `timestamp`
/// (seconds since the epoch), `tool`, `decision` (the string value:
/// `"deny"`), `reason`, `matched_rule` (or `None`) and `context` (the dict
/// the caller passed to `check`, or `{}`). Immutable.
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

    /// `(timestamp, tool, decision, reason, matched_rule, context)`.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (
            self.inner.timestamp,
            self.inner.tool.as_str(),
            self.inner.decision.as_str(),
            &*self.inner.reason,
            self.inner.matched_rule.as_deref(),
            self.context(py),
        )
            .into_pyobject(py)
    }
}

/// A copy of a core entry; the context is the same Python object.
pub fn clone_entry(
    py: Python<'_>,
    e: &agentguard::AuditEntry<Context>,
) -> agentguard::AuditEntry<Context> {
    agentguard::AuditEntry {
        timestamp: e.timestamp,
        tool: e.tool.clone(),
        decision: e.decision,
        reason: e.reason.clone(),
        matched_rule: e.matched_rule.clone(),
        context: e.context.as_ref().map(|c| c.clone_ref(py)),
    }
}

#[pymethods]
impl AuditEntry {
    #[new]
    #[pyo3(signature = (timestamp, tool, decision, reason, matched_rule = None, context = None))]
    fn new(
        timestamp: f64,
        tool: &Bound<'_, PyAny>,
        decision: &Bound<'_, PyAny>,
        reason: &Bound<'_, PyAny>,
        matched_rule: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AuditEntry> {
        let decision = match convert::text(decision, "decision")? {
            "allow" => Decision::Allow,
            "deny" => Decision::Deny,
            "require_approval" => Decision::RequireApproval,
            other => {
                return Err(PyValueError::new_err(format!(
                    "decision must be \"allow\", \"deny\" or \"require_approval\", got {other:?}"
                )))
            }
        };
        let matched_rule = match matched_rule {
            Some(r) if !r.is_none() => Some(convert::text(r, "matched_rule")?.into()),
            _ => None,
        };
        let context = match context {
            Some(c) if c.is_truthy()? => Some(c.clone().unbind()),
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

    /// The pattern that decided, or `None`.
    #[getter]
    fn matched_rule(&self) -> Option<&str> {
        self.inner.matched_rule.as_deref()
    }

    /// The context dict passed to `check` (the same object), or `{}`.
    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match &self.inner.context {
            Some(c) => c.bind(py).clone(),
            None => PyDict::new(py).into_any(),
        }
    }

    /// The entry as tokenfence's `to_dict()`: `timestamp`, `tool`,
    /// `decision`, `reason`, then `matched_rule` and `context` only when
    /// present.
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
            d.set_item("context", ctx.bind(py))?;
        }
        Ok(d)
    }

    /// Copy and pickle support: `AuditEntry(*fields)`, the context as
    /// given (`None` when there was none).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let e = &self.inner;
        let args = (
            e.timestamp,
            e.tool.as_str(),
            e.decision.as_str(),
            &*e.reason,
            e.matched_rule.as_deref(),
            e.context.as_ref().map(|c| c.bind(py)),
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
