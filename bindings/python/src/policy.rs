//! `Policy`: tokenfence's `Policy` class over the core's compiled policy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use agentguard::{AuditLog, Decision, Hooks, PolicySpec, Rule, Verdict};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Value};

use crate::convert::{self, policy_error, types, Loc};
use crate::values::{clone_entry, AuditEntry, Context, PolicyResult};

/// Names at least this long are matched with the GIL released: below it,
/// matching takes less time than releasing and re-taking the GIL.
const DETACH_MIN_BYTES: usize = 4096;

/// The keyword options that are behaviour, not part of the file format.
const OPTIONS: [&str; 4] = ["on_deny", "on_approval", "on_decision", "audit_capacity"];

/// A keyword argument that can be left out, told apart from an explicit
/// `None` (`Policy(default=None)` is an error, not the default).
pub enum Arg<'py> {
    Omitted,
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Arg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(obj.to_owned()))
    }
}

/// Python strings for reasons and matched rules, made once per rule on
/// first use: they are a pure function of the verdict.
struct Strings {
    n_deny: usize,
    n_approval: usize,
    /// Indexed like the core's rules: deny, then require_approval, then allow.
    rule: Vec<PyOnceLock<Py<PyString>>>,
    reason: Vec<PyOnceLock<Py<PyString>>>,
    approved: Vec<PyOnceLock<Py<PyString>>>,
    approval_denied: Vec<PyOnceLock<Py<PyString>>>,
    default_reason: PyOnceLock<Py<PyString>>,
}

fn cells(n: usize) -> Vec<PyOnceLock<Py<PyString>>> {
    (0..n).map(|_| PyOnceLock::new()).collect()
}

impl Strings {
    fn new(spec: &PolicySpec) -> Strings {
        let (nd, na) = (spec.deny.len(), spec.require_approval.len());
        let n = nd + na + spec.allow.len();
        Strings {
            n_deny: nd,
            n_approval: na,
            rule: cells(n),
            reason: cells(n),
            approved: cells(na),
            approval_denied: cells(na),
            default_reason: PyOnceLock::new(),
        }
    }

    /// Where a rule's pattern sits in the flat lists.
    fn flat(&self, rule: Rule) -> Option<usize> {
        match rule {
            Rule::Deny(i) => Some(i),
            Rule::Approval(i) | Rule::Approved(i) | Rule::ApprovalDenied(i) => {
                Some(self.n_deny + i)
            }
            Rule::Allow(i) => Some(self.n_deny + self.n_approval + i),
            Rule::NotInAllowList | Rule::NoMatchingRule => None,
        }
    }
}

/// A least-privilege policy for an agent's tool calls: a drop-in for
/// tokenfence's `Policy`, decided by the agentguard core.
///
/// - `allow`, `deny`, `require_approval`: lists (or tuples) of fnmatch
///   patterns. Deny wins, then approval, then allow; within a list the
///   first matching pattern decides.
/// - `default`: `"deny"` (the default) or `"allow"`, for a tool no rule
///   covers.
/// - `audit`: record every decision in `audit_log` (default `True`).
/// - `on_deny(result)`: called after each deny.
/// - `on_approval(result)`: called for an approval-gated tool; a truthy
///   answer allows it, a falsy one denies it. Without it the result stays
///   `REQUIRE_APPROVAL`.
/// - `name`: the policy's name (default `"default"`).
/// - `on_decision(entry)`: receives every `AuditEntry` as it is made.
/// - `audit_capacity`: how many entries `audit_log` keeps (default 10 000;
///   the oldest go first and `audit_dropped` counts them).
///
/// Stricter than tokenfence: a wrong type or an unknown `default` raises
/// `PolicyError` (a `ValueError`) naming the field and index. One policy
/// may be shared by many threads.
///
/// `copy.copy`, `copy.deepcopy` and `pickle` make an independent policy
/// with the same rules, callbacks, `audit_capacity` and audit log.
#[pyclass(frozen, subclass, module = "agentguard", name = "Policy")]
pub struct Policy {
    core: agentguard::Policy,
    log: Mutex<Trail>,
    /// Set once: by the constructor when a callback is given, or by
    /// `__setstate__` on a copy that `_restore_policy` made.
    callbacks: OnceLock<Callbacks>,
    /// True from `_restore_policy` until the copy's `__setstate__`: the one
    /// window in which a policy takes its callbacks and audit log from
    /// outside. Every other policy refuses `__setstate__`.
    restoring: AtomicBool,
    strings: Strings,
}

/// The three callbacks (each optional).
struct Callbacks {
    on_deny: Option<Py<PyAny>>,
    on_approval: Option<Py<PyAny>>,
    on_decision: Option<Py<PyAny>>,
}

static NO_CALLBACKS: Callbacks = Callbacks {
    on_deny: None,
    on_approval: None,
    on_decision: None,
};

/// The audit log, plus the dropped count a copy carries over from the
/// policy it was copied from (the core's log counts only its own drops).
struct Trail {
    log: AuditLog<Context>,
    dropped_before: u64,
}

impl Trail {
    fn new(capacity: usize) -> Trail {
        Trail {
            log: AuditLog::with_capacity(capacity),
            dropped_before: 0,
        }
    }

    fn dropped(&self) -> u64 {
        self.log.dropped().saturating_add(self.dropped_before)
    }
}

fn callback(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Py<PyAny>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_callable() => Ok(Some(o.clone().unbind())),
        Some(o) => Err(PyTypeError::new_err(format!(
            "{what} must be callable or None, not {}",
            convert::type_name(o)
        ))),
    }
}

/// The keyword arguments that rebuild `spec` through the constructor.
fn spec_kwargs<'py>(py: Python<'py>, spec: &PolicySpec) -> PyResult<Bound<'py, PyDict>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("name", &spec.name)?;
    kwargs.set_item("allow", &spec.allow)?;
    kwargs.set_item("deny", &spec.deny)?;
    kwargs.set_item("require_approval", &spec.require_approval)?;
    kwargs.set_item("default", spec.default.as_str())?;
    kwargs.set_item("audit", spec.audit)?;
    Ok(kwargs)
}

/// `cls(**spec, **options)`, so subclasses get their own class back.
fn build<'py>(
    cls: &Bound<'py, PyType>,
    spec: &PolicySpec,
    options: Option<&Bound<'py, PyDict>>,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = spec_kwargs(cls.py(), spec)?;
    if let Some(options) = options {
        for (k, v) in options.iter() {
            let key = k.cast::<PyString>()?.to_str()?;
            if !OPTIONS.contains(&key) {
                return Err(PyTypeError::new_err(format!(
                    "{method}() got an unexpected keyword argument {key:?}: \
                     options are {}; the rules come from the policy itself",
                    OPTIONS.join(", ")
                )));
            }
            kwargs.set_item(k, v)?;
        }
    }
    cls.call((), Some(&kwargs))
}

/// The Python side of the core's decision flow. The approval callback runs
/// before `record` (see `Policy::decide`), so `approve` is never asked here.
struct PyHooks<'a, 'py> {
    py: Python<'py>,
    policy: &'a Policy,
    result: &'a Bound<'py, PolicyResult>,
}

impl Hooks<Context> for PyHooks<'_, '_> {
    type Error = PyErr;

    fn now(&mut self) -> f64 {
        agentguard::unix_now()
    }

    fn approve(&mut self, _: &agentguard::PolicyResult) -> Option<PyResult<bool>> {
        None
    }

    /// Appends the entry to the shared log, then hands it to `on_decision`.
    /// The lock is held only for the push, not while callbacks run, so a
    /// callback may use the policy again; the entry a full log pushes out
    /// is freed after the lock is released.
    fn on_decision(&mut self, entry: &agentguard::AuditEntry<Context>) -> PyResult<()> {
        let py = self.py;
        // Freeing the evicted entry's context may run Python code (a
        // `__del__`): do it with the lock released.
        let evicted = self.policy.lock_log(py).log.push(clone_entry(py, entry));
        drop(evicted);
        if let Some(sink) = &self.policy.callbacks().on_decision {
            let entry = Bound::new(py, AuditEntry::new_from(clone_entry(py, entry)))?;
            sink.bind(py).call1((entry,))?;
        }
        Ok(())
    }

    fn on_deny(&mut self, _: &agentguard::PolicyResult) -> PyResult<()> {
        if let Some(cb) = &self.policy.callbacks().on_deny {
            cb.bind(self.py).call1((self.result,))?;
        }
        Ok(())
    }
}

impl Policy {
    fn callbacks(&self) -> &Callbacks {
        self.callbacks.get().unwrap_or(&NO_CALLBACKS)
    }

    fn lock_log(&self, py: Python<'_>) -> MutexGuard<'_, Trail> {
        // Waits with the GIL released, so a thread holding the lock can
        // always finish. A panic while holding it cannot leave the log
        // half-written (a push is one VecDeque operation), so a poisoned
        // lock is still safe to use.
        self.log
            .lock_py_attached(py)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn evaluate(&self, py: Python<'_>, tool: &str) -> Verdict {
        if tool.len() >= DETACH_MIN_BYTES {
            py.detach(|| self.core.evaluate(tool))
        } else {
            self.core.evaluate(tool)
        }
    }

    fn cached<'py>(
        &self,
        py: Python<'py>,
        cell: &PyOnceLock<Py<PyString>>,
        make: impl FnOnce() -> String,
    ) -> Py<PyString> {
        cell.get_or_init(py, || PyString::new(py, &make()).unbind())
            .clone_ref(py)
    }

    /// The Python `PolicyResult` of a verdict, from cached strings.
    fn py_result<'py>(
        &self,
        py: Python<'py>,
        tool: &Bound<'py, PyString>,
        v: Verdict,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        let s = &self.strings;
        let reason_cell = match (v.rule, s.flat(v.rule)) {
            (Rule::Approved(i), _) => &s.approved[i],
            (Rule::ApprovalDenied(i), _) => &s.approval_denied[i],
            (_, Some(flat)) => &s.reason[flat],
            (_, None) => &s.default_reason,
        };
        let reason = self.cached(py, reason_cell, || self.core.reason(v).to_string());
        let rule = s.flat(v.rule).map(|flat| {
            self.cached(py, &s.rule[flat], || {
                self.core.matched_rule(v.rule).unwrap_or("").to_string()
            })
        });
        Bound::new(
            py,
            PolicyResult::from_parts(v.decision, tool.clone().unbind(), reason, rule),
        )
    }

    /// The core's `Policy::decide`, on verdicts so that the strings come
    /// from the cache: evaluate; for an approval-gated tool with a callback,
    /// ask it (Python truthiness) and resolve the verdict; then `record`
    /// (audit entry, `on_decision`, `on_deny`). A raising approver
    /// propagates before anything is recorded or allowed.
    fn decide<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        let py = tool.py();
        let name = convert::text(tool, "tool name")?;
        let tool = tool.cast::<PyString>()?;
        // tokenfence keeps `context or {}`: an empty context is no context.
        let context = match context {
            Some(c) if c.is_truthy()? => Some(c.clone().unbind()),
            _ => None,
        };
        let mut verdict = self.evaluate(py, name);
        if verdict.decision == Decision::RequireApproval {
            if let Some(approver) = &self.callbacks().on_approval {
                let pending = self.py_result(py, tool, verdict)?;
                let answer = approver.bind(py).call1((pending,))?.is_truthy()?;
                verdict = self.core.resolve_verdict(verdict, answer);
            }
        }
        let result = self.py_result(py, tool, verdict)?;
        let mut hooks = PyHooks {
            py,
            policy: self,
            result: &result,
        };
        // The shared log is filled by `PyHooks::on_decision`, so no lock is
        // held while Python callbacks run; the core's own push goes nowhere.
        let mut unused = AuditLog::with_capacity(0);
        self.core.record(
            &self.core.result(name, verdict),
            context,
            &mut unused,
            &mut hooks,
        )?;
        Ok(result)
    }
}

#[pymethods]
impl Policy {
    #[new]
    #[pyo3(signature = (
        *,
        allow = None,
        deny = None,
        require_approval = None,
        default = Arg::Omitted,
        audit = Arg::Omitted,
        on_deny = None,
        on_approval = None,
        name = None,
        on_decision = None,
        audit_capacity = agentguard::DEFAULT_AUDIT_CAPACITY as i64,
    ))]
    #[pyo3(
        text_signature = "(*, allow=None, deny=None, require_approval=None, default='deny', \
                          audit=True, on_deny=None, on_approval=None, name=None, \
                          on_decision=None, audit_capacity=10000)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        allow: Option<&Bound<'_, PyAny>>,
        deny: Option<&Bound<'_, PyAny>>,
        require_approval: Option<&Bound<'_, PyAny>>,
        default: Arg<'_>,
        audit: Arg<'_>,
        on_deny: Option<&Bound<'_, PyAny>>,
        on_approval: Option<&Bound<'_, PyAny>>,
        name: Option<&Bound<'_, PyAny>>,
        on_decision: Option<&Bound<'_, PyAny>>,
        audit_capacity: i64,
    ) -> PyResult<Policy> {
        // The keywords become the file format's JSON object, so the core's
        // strict parser judges them and words every error.
        let mut map = Map::new();
        let fields = [
            ("name", name.map(|n| Arg::Given(n.clone()))),
            ("allow", allow.map(|a| Arg::Given(a.clone()))),
            ("deny", deny.map(|d| Arg::Given(d.clone()))),
            (
                "require_approval",
                require_approval.map(|r| Arg::Given(r.clone())),
            ),
            ("default", Some(default)),
            ("audit", Some(audit)),
        ];
        for (key, arg) in fields {
            if let Some(Arg::Given(obj)) = arg {
                let loc = Loc {
                    field: Some(key),
                    index: None,
                };
                map.insert(key.to_string(), convert::to_json(&obj, loc)?);
            }
        }
        let spec = PolicySpec::from_value(&Value::Object(map)).map_err(|e| policy_error(py, &e))?;
        let capacity = usize::try_from(audit_capacity).map_err(|_| {
            PyValueError::new_err(format!(
                "audit_capacity must be a non-negative int, got {audit_capacity}"
            ))
        })?;
        let strings = Strings::new(&spec);
        let core = agentguard::Policy::new(spec).map_err(|e| policy_error(py, &e))?;
        let given = Callbacks {
            on_deny: callback(on_deny, "on_deny")?,
            on_approval: callback(on_approval, "on_approval")?,
            on_decision: callback(on_decision, "on_decision")?,
        };
        let callbacks = OnceLock::new();
        if given.on_deny.is_some() || given.on_approval.is_some() || given.on_decision.is_some() {
            // Set now, so `__setstate__` can never replace them.
            let _ = callbacks.set(given);
        }
        Ok(Policy {
            core,
            log: Mutex::new(Trail::new(capacity)),
            callbacks,
            restoring: AtomicBool::new(false),
            strings,
        })
    }

    /// Decides whether `tool` may run: a `PolicyResult` with the decision,
    /// the reason and the matched rule. Runs the approval callback for an
    /// approval-gated tool, records an `AuditEntry` (with `context`, a dict
    /// kept as given) when auditing is on, and calls `on_deny` after a deny.
    ///
    /// Raises `TypeError` if `tool` is not a `str`, `UnicodeEncodeError` if
    /// it holds a lone surrogate, and whatever a callback raises (nothing
    /// is allowed then).
    #[pyo3(signature = (tool, *, context = None))]
    fn check<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        self.decide(tool, context)
    }

    /// Like `check`, but raises `ToolDenied` for a deny and
    /// `ApprovalRequired` (a `ToolDenied`) for an approval-gated tool that no
    /// callback approved; returns the `PolicyResult` of an allowed tool.
    #[pyo3(signature = (tool, *, context = None))]
    fn enforce<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        let py = tool.py();
        let result = self.decide(tool, context)?;
        let class = match result.get().core_decision() {
            Decision::Allow => return Ok(result),
            Decision::Deny => &types(py)?.tool_denied,
            Decision::RequireApproval => &types(py)?.approval_required,
        };
        let kwargs = PyDict::new(py);
        kwargs.set_item("tool", result.getattr("tool")?)?;
        kwargs.set_item("reason", result.getattr("reason")?)?;
        kwargs.set_item("matched_rule", result.getattr("matched_rule")?)?;
        Err(PyErr::from_value(class.bind(py).call((), Some(&kwargs))?))
    }

    /// The policy's name.
    #[getter]
    fn name(&self) -> &str {
        self.core.name()
    }

    /// A copy of the audit trail, oldest first (at most `audit_capacity`
    /// entries).
    #[getter]
    fn audit_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let copies: Vec<_> = self
            .lock_log(py)
            .log
            .entries()
            .map(|e| clone_entry(py, e))
            .collect();
        let entries = copies
            .into_iter()
            .map(|e| Bound::new(py, AuditEntry::new_from(e)))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, entries)
    }

    /// How many entries left the audit log to respect `audit_capacity`
    /// since the last `clear_audit()`.
    #[getter]
    fn audit_dropped(&self, py: Python<'_>) -> u64 {
        self.lock_log(py).dropped()
    }

    /// The most entries `audit_log` keeps.
    #[getter]
    fn audit_capacity(&self, py: Python<'_>) -> usize {
        self.lock_log(py).log.capacity()
    }

    /// Clears the audit log (and the dropped count).
    fn clear_audit(&self, py: Python<'_>) {
        // Swap under the lock, drop the old entries (and the contexts they
        // hold) after releasing it: dropping can run Python code.
        let mut log = self.lock_log(py);
        let capacity = log.log.capacity();
        let old = std::mem::replace(&mut *log, Trail::new(capacity));
        drop(log);
        drop(old);
    }

    /// The rules as tokenfence's `to_dict()`: `name`, `allow`, `deny`,
    /// `require_approval`, `default`, `audit` (fresh lists).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        spec_kwargs(py, self.core.spec())
    }

    /// The rules as compact JSON text: the `to_dict()` object, keys in the
    /// same order.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(self.core.spec()).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// A policy from a dict in the `to_dict()` format (loaded from JSON or
    /// YAML, say). Strict, unlike tokenfence: an unknown key (`"denny"`) or
    /// a wrong type raises `PolicyError` naming the key and index. `options`
    /// are the behaviour keywords: `on_deny`, `on_approval`, `on_decision`,
    /// `audit_capacity`.
    #[classmethod]
    #[pyo3(signature = (data, **options))]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let loc = Loc {
            field: None,
            index: None,
        };
        let value = convert::to_json(data, loc)?;
        let spec = PolicySpec::from_value(&value).map_err(|e| policy_error(py, &e))?;
        build(cls, &spec, options, "from_dict")
    }

    /// A policy from JSON text in the `to_dict()` format; strict like
    /// `from_dict` (invalid JSON is a `PolicyError` of kind `"json"`).
    #[classmethod]
    #[pyo3(signature = (text, **options))]
    fn from_json<'py>(
        cls: &Bound<'py, PyType>,
        text: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let text = convert::text(text, "text")?;
        let spec = PolicySpec::from_json(text).map_err(|e| policy_error(py, &e))?;
        build(cls, &spec, options, "from_json")
    }

    /// Copy and pickle support. `copy.copy`, `copy.deepcopy` and `pickle`
    /// rebuild the policy with `_restore_policy` from its rules and
    /// `audit_capacity`, then hand it this state through `__setstate__`:
    /// the callbacks, the audit log (`AuditEntry` objects and the dropped
    /// count) and a subclass instance's `__dict__`. The state is applied
    /// after the copy exists, so a callback that refers back to the policy
    /// (a bound method of the object that owns it) copies and pickles too.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.get();
        let (copies, dropped, capacity) = {
            let trail = this.lock_log(py);
            let copies: Vec<_> = trail.log.entries().map(|e| clone_entry(py, e)).collect();
            (copies, trail.dropped(), trail.log.capacity())
        };
        let entries = copies
            .into_iter()
            .map(|e| Bound::new(py, AuditEntry::new_from(e)))
            .collect::<PyResult<Vec<_>>>()?;
        let state = PyDict::new(py);
        let cb = this.callbacks();
        for (key, value) in [
            ("on_deny", &cb.on_deny),
            ("on_approval", &cb.on_approval),
            ("on_decision", &cb.on_decision),
        ] {
            state.set_item(key, value.as_ref().map(|c| c.bind(py)))?;
        }
        state.set_item("audit_log", PyList::new(py, entries)?)?;
        state.set_item("audit_dropped", dropped)?;
        // A Python subclass's own attributes, as `object.__reduce_ex__`
        // would keep them.
        if let Ok(attrs) = slf.getattr("__dict__") {
            if attrs.is_truthy()? {
                state.set_item("__dict__", attrs)?;
            }
        }
        let restore = py
            .import("agentguard._native")?
            .getattr("_restore_policy")?;
        let args = (slf.get_type(), this.to_dict(py)?, capacity);
        (restore, args, state).into_pyobject(py)
    }

    /// Completes a copy made by `_restore_policy` (see `__reduce__`); a
    /// policy is immutable, so on any other policy this raises `TypeError`.
    fn __setstate__(slf: &Bound<'_, Self>, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let state = state.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "Policy state must be a dict, not {}",
                convert::type_name(state)
            ))
        })?;
        for key in state.keys() {
            let known = key.extract::<&str>().is_ok_and(|k| STATE_KEYS.contains(&k));
            if !known {
                return Err(PyValueError::new_err(format!(
                    "unknown key {} in Policy state: expected {}",
                    key.repr()?,
                    STATE_KEYS.join(", ")
                )));
            }
        }
        let given = Callbacks {
            on_deny: callback(state.get_item("on_deny")?.as_ref(), "on_deny")?,
            on_approval: callback(state.get_item("on_approval")?.as_ref(), "on_approval")?,
            on_decision: callback(state.get_item("on_decision")?.as_ref(), "on_decision")?,
        };
        let mut entries = Vec::new();
        if let Some(log) = state.get_item("audit_log")? {
            for item in log.try_iter()? {
                let item = item?;
                let entry = item.cast::<AuditEntry>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "audit_log in Policy state must hold AuditEntry objects, not {}",
                        convert::type_name(&item)
                    ))
                })?;
                entries.push(clone_entry(py, entry.get().inner()));
            }
        }
        let dropped: u64 = match state.get_item("audit_dropped")? {
            Some(d) => d.extract()?,
            None => 0,
        };
        if !this.restoring.swap(false, Ordering::AcqRel) {
            return Err(PyTypeError::new_err(
                "Policy is immutable: __setstate__ only completes a copy made by \
                 copy.copy, copy.deepcopy or pickle",
            ));
        }
        if this.callbacks.set(given).is_err() {
            return Err(PyTypeError::new_err(
                "Policy already has its callbacks: __setstate__ cannot replace them",
            ));
        }
        // Fill a new log, then swap it in: entries pushed out by a small
        // capacity are freed without the lock held.
        let mut trail = Trail::new(this.lock_log(py).log.capacity());
        for entry in entries {
            drop(trail.log.push(entry));
        }
        trail.dropped_before = dropped;
        let old = std::mem::replace(&mut *this.lock_log(py), trail);
        drop(old);
        if let Some(attrs) = state.get_item("__dict__")? {
            slf.getattr("__dict__")?.call_method1("update", (attrs,))?;
        }
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let spec = self.core.spec();
        let list =
            |v: &Vec<String>| -> PyResult<String> { Ok(PyList::new(py, v)?.repr()?.to_string()) };
        Ok(format!(
            "Policy(name={}, allow={}, deny={}, require_approval={}, default={})",
            PyString::new(py, &spec.name).repr()?,
            list(&spec.allow)?,
            list(&spec.deny)?,
            list(&spec.require_approval)?,
            PyString::new(py, spec.default.as_str()).repr()?,
        ))
    }
}

/// The keys of the state `Policy.__reduce__` makes.
const STATE_KEYS: [&str; 6] = [
    "on_deny",
    "on_approval",
    "on_decision",
    "audit_log",
    "audit_dropped",
    "__dict__",
];

/// Rebuilds a policy for `copy` and `pickle` (see `Policy.__reduce__`):
/// `cls.__new__(cls, **spec, audit_capacity=audit_capacity)`, with `spec`
/// read as strictly as `from_dict`, and ready for one `__setstate__`.
/// Module-level so that pickle can find it; not public API.
#[pyfunction]
#[pyo3(name = "_restore_policy")]
pub fn restore_policy<'py>(
    cls: &Bound<'py, PyType>,
    spec: &Bound<'py, PyAny>,
    audit_capacity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    if !cls.is_subclass_of::<Policy>()? {
        return Err(PyTypeError::new_err(format!(
            "_restore_policy() needs Policy or a subclass, not {}",
            cls.name()?
        )));
    }
    let loc = Loc {
        field: None,
        index: None,
    };
    let spec =
        PolicySpec::from_value(&convert::to_json(spec, loc)?).map_err(|e| policy_error(py, &e))?;
    let kwargs = spec_kwargs(py, &spec)?;
    kwargs.set_item("audit_capacity", audit_capacity)?;
    let made = cls.call_method("__new__", (cls,), Some(&kwargs))?;
    made.cast::<Policy>()?
        .get()
        .restoring
        .store(true, Ordering::Release);
    Ok(made)
}
