//! `Policy`: tokenfence's `Policy` class over the core's compiled policy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use agentguard::{
    Answer, Approval, AuditLog, Decision, FlowError, Hooks, Mode, Names, PolicySpec, Returned,
    Rule, Verdict,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Value};

use crate::args::{self, PathsByTool};
use crate::convert::{self, core_error, policy_error, types, Loc};
use crate::values::{AuditEntry, Context, PolicyResult};

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

/// Python strings for reasons and matched rules, made once per pattern or
/// rule on first use: they are a pure function of the verdict.
struct Strings {
    n_deny: usize,
    n_approval: usize,
    /// Indexed like the core's patterns: deny, then require_approval, then
    /// allow.
    rule: Vec<PyOnceLock<Py<PyString>>>,
    reason: Vec<PyOnceLock<Py<PyString>>>,
    approved: Vec<PyOnceLock<Py<PyString>>>,
    approval_denied: Vec<PyOnceLock<Py<PyString>>>,
    default_reason: PyOnceLock<Py<PyString>>,
    /// Indexed like `rules`: the id (the matched rule), the reason when it
    /// decides, and the reasons after an approval answer.
    rule_id: Vec<PyOnceLock<Py<PyString>>>,
    rule_reason: Vec<PyOnceLock<Py<PyString>>>,
    rule_approved: Vec<PyOnceLock<Py<PyString>>>,
    rule_approval_denied: Vec<PyOnceLock<Py<PyString>>>,
}

fn cells(n: usize) -> Vec<PyOnceLock<Py<PyString>>> {
    (0..n).map(|_| PyOnceLock::new()).collect()
}

impl Strings {
    fn new(spec: &PolicySpec) -> Strings {
        let (nd, na) = (spec.deny.len(), spec.require_approval.len());
        let n = nd + na + spec.allow.len();
        let nr = spec.rules.len();
        Strings {
            n_deny: nd,
            n_approval: na,
            rule: cells(n),
            reason: cells(n),
            approved: cells(na),
            approval_denied: cells(na),
            default_reason: PyOnceLock::new(),
            rule_id: cells(nr),
            rule_reason: cells(nr),
            rule_approved: cells(nr),
            rule_approval_denied: cells(nr),
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
            // A rule of `rules` (not cached here) or a default.
            _ => None,
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
/// - `on_approval(result)`: called for an approval-gated tool; it must
///   return `True` (allow) or `False` (deny): any other answer is a
///   `TypeError`, never an approval. Without it the result stays
///   `REQUIRE_APPROVAL`. An `async def` approver needs `check_async`.
/// - `name`: the policy's name (default `"default"`).
/// - `rules`: rules with argument conditions (beyond tokenfence), a list of
///   dicts `{"id", "tool", "decision", "when"?, "reason"?, "mode"?}`:
///   `Policy(rules=[{"id": "small-refunds", "tool": "refund", "decision":
///   "allow", "when": {"amount": {"lte": 100}}}])` allows `refund` called
///   with `args={"amount": 20}`. When in doubt, the restrictive rule
///   applies: a `deny` or `require_approval` rule fires when its conditions
///   are true or unknown (a missing argument, a wrong type); an `allow` rule
///   needs proof (every condition true). A rule with `"mode": "shadow"`
///   never decides; when it fires it is listed in `shadow` on the result
///   and the audit entry.
/// - `on_decision(entry)`: receives every `AuditEntry` as it is made (the
///   entry is already in `audit_log`).
/// - `audit_capacity`: how many entries `audit_log` keeps (an int, default
///   10 000; the oldest go first and `audit_dropped` counts them).
///
/// Stricter than tokenfence: a wrong type or an unknown `default` raises
/// `PolicyError` (a `ValueError`) naming the field and index (for a rule:
/// the rule, argument path and operator, `rules[0].when.amount.lte`). One
/// policy may be shared by many threads.
///
/// `check(tool, *, args=None, context=None)` runs the decision flow;
/// `evaluate(tool, *, args=None)` only decides; `check_async` and
/// `enforce_async` await asynchronous callbacks.
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
    /// Per tool name, the argument paths its rules' conditions read: all
    /// of a call's arguments that is ever converted.
    paths: PathsByTool,
    /// The arguments of a call that has none (or none a condition reads),
    /// made once: an empty map is not free to make.
    no_args: Map<String, Value>,
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
    // As the file format: `rules` only when there are any, so a tokenfence
    // policy's dict stays tokenfence's.
    if !spec.rules.is_empty() {
        let rules = spec
            .rules
            .iter()
            .map(|r| convert::to_py(py, &r.to_value()))
            .collect::<PyResult<Vec<_>>>()?;
        kwargs.set_item("rules", PyList::new(py, rules)?)?;
    }
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

/// The Python side of the core's decision flow ([`agentguard::Policy::decide`]
/// and its steps): calls the callbacks and turns what they return into the
/// core's terms. The order, what each callback sees and every message are
/// the core's.
struct PyHooks<'a, 'py> {
    py: Python<'py>,
    policy: &'a Policy,
    tool: &'a Bound<'py, PyString>,
    mode: Mode,
    /// The final result, once `on_deny` needed it: `check` returns the very
    /// object `on_deny` saw.
    result: Option<Bound<'py, PolicyResult>>,
    /// The async flow only: what the approver returned, to be awaited.
    approval: Option<Bound<'py, PyAny>>,
    /// The async flow only: what `on_decision` and `on_deny` returned, to
    /// be awaited, in the order they ran.
    pending: Vec<Bound<'py, PyAny>>,
}

impl<'a, 'py> PyHooks<'a, 'py> {
    fn new(policy: &'a Policy, tool: &'a Bound<'py, PyString>, mode: Mode) -> Self {
        PyHooks {
            py: tool.py(),
            policy,
            tool,
            mode,
            result: None,
            approval: None,
            pending: Vec::new(),
        }
    }

    /// What an approver returned, as the core's answer: only a real `bool`
    /// is one. An awaitable is pending (closed in the sync flow, where it
    /// will never be awaited); anything else is described for the core's
    /// `not_a_bool` message.
    fn answer(&mut self, value: Bound<'py, PyAny>) -> PyResult<Answer> {
        if let Ok(b) = value.cast::<PyBool>() {
            return Ok(b.is_true().into());
        }
        let t = types(self.py)?;
        if t.is_awaitable(&value)? {
            match self.mode {
                Mode::Sync => t.close_unawaited(&value),
                Mode::Async => self.approval = Some(value),
            }
            return Ok(Answer::Pending);
        }
        Ok(Answer::Invalid(describe(&value)))
    }

    /// What `on_decision` or `on_deny` returned: an awaitable is pending
    /// (closed in the sync flow, kept for awaiting in the async one);
    /// anything else is ignored, as tokenfence ignores it.
    fn returned(&mut self, value: Bound<'py, PyAny>) -> PyResult<Returned> {
        if value.is_none() {
            return Ok(Returned::Done);
        }
        let t = types(self.py)?;
        if !t.is_awaitable(&value)? {
            return Ok(Returned::Done);
        }
        match self.mode {
            Mode::Sync => t.close_unawaited(&value),
            Mode::Async => self.pending.push(value),
        }
        Ok(Returned::Pending)
    }
}

/// `str 'yes'`, `NoneType None`, `dict {'ok': True}`: a non-boolean answer
/// as the core's message shows it, its `repr` cut short if long.
fn describe(value: &Bound<'_, PyAny>) -> String {
    const MAX_CHARS: usize = 200;
    let repr = match value.repr() {
        Ok(r) => r.to_string(),
        Err(_) => "(its repr() raised)".to_string(),
    };
    let repr = match repr.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &repr[..cut]),
        None => repr,
    };
    format!("{} {repr}", convert::type_name(value))
}

impl Hooks<Context> for PyHooks<'_, '_> {
    type Error = PyErr;
    const NAMES: Names = Names::PYTHON;

    fn now(&mut self) -> f64 {
        agentguard::unix_now()
    }

    fn approve(&mut self, _: &str, pending: Verdict) -> Option<PyResult<Answer>> {
        let approver = self.policy.callbacks().on_approval.as_ref()?;
        let answer = self
            .policy
            .py_result(self.py, self.tool, pending)
            .and_then(|result| approver.bind(self.py).call1((result,)))
            .and_then(|value| self.answer(value));
        Some(answer)
    }

    fn has_on_decision(&self) -> bool {
        self.policy.callbacks().on_decision.is_some()
    }

    /// The lock is held for the push only, never while Python code runs, so
    /// a callback may use the policy again (its entries come after this
    /// one); the entry a full log pushes out is freed after the lock is
    /// released, as freeing a context may run a `__del__`.
    fn append(&mut self, entry: agentguard::AuditEntry<Context>) {
        let evicted = self.policy.lock_log(self.py).log.push(entry);
        drop(evicted);
    }

    fn on_decision(&mut self, entry: &agentguard::AuditEntry<Context>) -> PyResult<Returned> {
        let Some(sink) = &self.policy.callbacks().on_decision else {
            return Ok(Returned::Done);
        };
        let entry = Bound::new(self.py, AuditEntry::new_from(entry.clone()))?;
        let value = sink.bind(self.py).call1((entry,))?;
        self.returned(value)
    }

    fn on_deny(&mut self, _: &str, verdict: Verdict) -> PyResult<Returned> {
        let Some(cb) = &self.policy.callbacks().on_deny else {
            return Ok(Returned::Done);
        };
        let result = self.policy.py_result(self.py, self.tool, verdict)?;
        self.result = Some(result.clone());
        let value = cb.bind(self.py).call1((result,))?;
        self.returned(value)
    }
}

/// A failure of the flow as the Python exception to raise: a callback's own
/// exception as it is, the core's refusals by their kind.
fn flow_error(py: Python<'_>, e: FlowError<PyErr>) -> PyErr {
    match e {
        FlowError::Hook(e) => e,
        FlowError::Flow(e) => core_error(py, &e),
    }
}

/// Where the async flow (`agentguard._aio`) stands between its steps: the
/// tool, the verdict so far and the context copied when the check began.
/// Made and read by the native steps only.
#[pyclass(frozen, module = "agentguard._native", name = "_FlowStep")]
pub struct FlowStep {
    tool: Py<PyString>,
    verdict: Verdict,
    context: Option<Context>,
}

impl Policy {
    /// The core's compiled policy (for the analysis, crate::analysis).
    pub(crate) fn core(&self) -> &agentguard::Policy {
        &self.core
    }

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

    /// The core's pure step on a call (with the GIL released for long
    /// names).
    fn evaluate_call(&self, py: Python<'_>, tool: &str, args: &Map<String, Value>) -> Verdict {
        if tool.len() >= DETACH_MIN_BYTES {
            py.detach(|| self.core.evaluate_call(tool, args))
        } else {
            self.core.evaluate_call(tool, args)
        }
    }

    /// A call's arguments as the core reads them (`None`: no argument at
    /// all, see [`Policy::args_or_none`]). `None` is `{}`; anything but a
    /// mapping is a `TypeError`. Only the values at the paths that the
    /// conditions of the rules for `tool` read are converted, none at all
    /// when no such condition exists (see `args.rs`).
    fn call_args(
        &self,
        py: Python<'_>,
        tool: &str,
        args: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Map<String, Value>>> {
        let Some(args) = args else {
            return Ok(None);
        };
        args::check_type(args)?;
        if !self.core.has_rules() {
            return Ok(None);
        }
        let paths = self
            .paths
            .get(py, &self.core, tool, tool.len() >= DETACH_MIN_BYTES);
        if paths.is_empty() {
            return Ok(None);
        }
        paths.marshal(args).map(Some)
    }

    /// The map to decide on: the converted arguments, or the empty one.
    fn args_or_none<'a>(&'a self, args: &'a Option<Map<String, Value>>) -> &'a Map<String, Value> {
        args.as_ref().unwrap_or(&self.no_args)
    }

    /// The tool argument: a well-formed `str` within the core's length
    /// limit, refused before anything is decided.
    fn tool_name<'a, 'py>(
        tool: &'a Bound<'py, PyAny>,
    ) -> PyResult<(&'a str, &'a Bound<'py, PyString>)> {
        let name = convert::text(tool, "tool name")?;
        agentguard::check_name(name).map_err(|e| core_error(tool.py(), &e))?;
        Ok((name, tool.cast::<PyString>()?))
    }

    /// The context to record: none when the caller's is empty (tokenfence
    /// keeps `context or {}`), or when nothing is recorded; else a copy made
    /// now, at decision time.
    fn context(&self, context: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Context>> {
        match context {
            Some(c) if c.is_truthy()? && self.core.audit_enabled() => Ok(Some(Context::copy(c)?)),
            _ => Ok(None),
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
        let (reason, rule) = if let Some(i) = v.rule.rule_index() {
            // A rule of `rules` decided: its strings come from the core,
            // made into Python strings once per rule.
            let reason_cell = match v.rule {
                Rule::RuleApproved(_) => &s.rule_approved[i],
                Rule::RuleApprovalDenied(_) => &s.rule_approval_denied[i],
                _ => &s.rule_reason[i],
            };
            let reason = self.cached(py, reason_cell, || self.core.reason(v).to_string());
            let id = self.cached(py, &s.rule_id[i], || {
                self.core.matched_rule(v.rule).unwrap_or("").to_string()
            });
            (reason, Some(id))
        } else {
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
            (reason, rule)
        };
        Bound::new(
            py,
            PolicyResult::from_parts(
                v.decision,
                tool.clone().unbind(),
                reason,
                rule,
                self.core.rule_ref(v.rule),
                self.core.shadow_hits(v.shadow),
            ),
        )
    }

    /// `check`: the core's flow (`decide_from`, the steps of `decide_call`
    /// after the pure one), from a verdict evaluated here (so that long
    /// names are matched with the GIL released).
    fn decide<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        let py = tool.py();
        let approved = approved_arg(approved)?;
        let (name, tool) = Self::tool_name(tool)?;
        let args = self.call_args(py, name, args)?;
        let context = self.context(context)?;
        let verdict = self.evaluate_call(py, name, self.args_or_none(&args));
        let mut hooks = PyHooks::new(self, tool, Mode::Sync);
        let verdict = match approved {
            None => self.core.decide_from(name, verdict, context, &mut hooks),
            // The caller's answer instead of on_approval's: the core's
            // steps 2 (a bool is always an answer) and 3-4.
            Some(answer) => {
                let verdict = self
                    .core
                    .answer_approval(verdict, answer.into(), Mode::Sync, &Names::PYTHON)
                    .map_err(|e| core_error(py, &e))?;
                self.core
                    .record(name, verdict, context, &mut hooks, Mode::Sync)
                    .map(|()| verdict)
            }
        }
        .map_err(|e| flow_error(py, e))?;
        match hooks.result.take() {
            Some(result) => Ok(result),
            None => self.py_result(py, tool, verdict),
        }
    }
}

/// What `_async_record` hands back: the result, the awaitables to await and
/// the first failure so far.
type Recorded<'py> = (
    Bound<'py, PolicyResult>,
    Bound<'py, PyList>,
    Option<Bound<'py, PyAny>>,
);

/// The `approved` keyword: `None` (not given), or `True` / `False`, the
/// answer to the call's approval; anything else is a `TypeError`.
fn approved_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<bool>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyBool>() {
            Ok(b) => Ok(Some(b.is_true())),
            Err(_) => Err(PyTypeError::new_err(format!(
                "approved must be True or False (or None: not given), not {}",
                convert::type_name(o)
            ))),
        },
    }
}

/// `enforce`: the result of an allowed tool; `ToolDenied` for a deny and
/// `ApprovalRequired` (a `ToolDenied`) for an approval nobody granted.
fn enforced<'py>(result: Bound<'py, PolicyResult>) -> PyResult<Bound<'py, PolicyResult>> {
    let py = result.py();
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

/// The step of `enforce_async` after the check: `enforce`'s rule, once.
#[pyfunction]
#[pyo3(name = "_enforce")]
pub fn enforce_result<'py>(
    result: &Bound<'py, PolicyResult>,
) -> PyResult<Bound<'py, PolicyResult>> {
    enforced(result.clone())
}

/// `audit_capacity`: an `int` (not a `bool`) from 0 to `sys.maxsize`.
fn audit_capacity(arg: Arg<'_>) -> PyResult<usize> {
    let obj = match arg {
        Arg::Omitted => return Ok(agentguard::DEFAULT_AUDIT_CAPACITY),
        Arg::Given(obj) => obj,
    };
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "audit_capacity must be an int, not {}",
            convert::type_name(&obj)
        )));
    }
    obj.extract::<i64>()
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "audit_capacity must be a non-negative int no larger than sys.maxsize, got {}",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })
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
        rules = None,
        on_decision = None,
        audit_capacity = Arg::Omitted,
    ))]
    #[pyo3(
        text_signature = "(*, allow=None, deny=None, require_approval=None, default='deny', \
                          audit=True, on_deny=None, on_approval=None, name=None, rules=None, \
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
        rules: Option<&Bound<'_, PyAny>>,
        on_decision: Option<&Bound<'_, PyAny>>,
        audit_capacity: Arg<'_>,
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
            ("rules", rules.map(|r| Arg::Given(r.clone()))),
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
        let capacity = self::audit_capacity(audit_capacity)?;
        let strings = Strings::new(&spec);
        let core = agentguard::Policy::new(spec).map_err(|e| policy_error(py, &e))?;
        let paths = PathsByTool::new();
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
            paths,
            no_args: Map::new(),
        })
    }

    /// Decides whether `tool`, called with `args`, may run, and nothing
    /// else: the `PolicyResult` (decision, reason, matched rule, `rule`,
    /// `shadow`) that `check` starts from. Pure: no approval callback, no
    /// audit entry, no `on_decision` or `on_deny`. For asking "does this
    /// need approval?" before running a tool.
    ///
    /// `args` is the call's arguments, a mapping (a `dict`) of names to
    /// values; `None` means `{}`. Only the values that a condition of a rule
    /// for this tool reads are looked at: they must be JSON data (`dict`
    /// with `str` keys, `list`, `tuple`, `str`, `int`, `float`, `bool`,
    /// `None`), anything else there is an error naming its path
    /// (`args.recipient.email: ...`); what no condition reads is ignored.
    /// `True` is JSON true, never 1; NaN and the infinities are unknown to
    /// every operator (but present).
    ///
    /// Raises `TypeError` if `tool` is not a `str` or `args` not a mapping,
    /// `UnicodeEncodeError` if `tool` holds a lone surrogate, `PolicyError`
    /// (a `ValueError`, kind `"too_long"`) if it is over 1 MiB of UTF-8, and
    /// `TypeError` (a value of a type that is not JSON data, a non-`str`
    /// key) or
    /// `ValueError` (a string with a lone surrogate, an `int` outside
    /// -2**63 .. 2**64-1) for an argument a condition reads; these carry the
    /// argument's `path` (`"args.to[1]"`).
    #[pyo3(signature = (tool, *, args = None))]
    fn evaluate<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        let py = tool.py();
        let (name, tool) = Self::tool_name(tool)?;
        let args = self.call_args(py, name, args)?;
        self.py_result(
            py,
            tool,
            self.evaluate_call(py, name, self.args_or_none(&args)),
        )
    }

    /// Whether every call of `tool` is denied whatever its arguments, as
    /// far as the policy shows at once: ``True`` is always right (a
    /// ``deny`` pattern or an unconditional deny rule decides it, or it is
    /// denied and no rule with conditions applies to it); ``False`` may
    /// also mean "not shown this cheaply". What an adapter uses to leave a
    /// tool out of a listing.
    fn always_denied(&self, tool: &Bound<'_, PyAny>) -> PyResult<bool> {
        let (name, _) = Self::tool_name(tool)?;
        Ok(self.core.always_denied(name))
    }

    /// Decides whether `tool`, called with `args`, may run: a
    /// `PolicyResult` with the decision, the reason, the matched rule (a
    /// pattern, or a rule's id), `rule` and `shadow`. The flow, in this
    /// order: evaluate (as `evaluate`); for an approval-gated call, ask
    /// `on_approval`, which must return `True` or `False`; record an
    /// `AuditEntry` when auditing is on (with a copy of `context` made now,
    /// and the shadow rules that fired; never the arguments), then give it
    /// to `on_decision` (it is already in `audit_log`); after a deny, call
    /// `on_deny`.
    ///
    /// `args` as for `evaluate`. Raises what `evaluate` raises, and
    /// `TypeError` if `context` cannot be copied. Callbacks fail closed:
    /// whatever one raises propagates (an approver's before anything is
    /// recorded; `on_decision`'s or `on_deny`'s after the entry is recorded
    /// and both have run), so no result comes back. An approver that returns
    /// anything but a `bool` (a string, `None`, a coroutine) and an `async
    /// def` `on_decision` or `on_deny` are a `TypeError` too (use
    /// `check_async`).
    ///
    /// `approved` is the answer to this call's approval when it was
    /// obtained elsewhere (a person answering through an agent framework):
    /// `True` or `False` answers a `require_approval` decision instead of
    /// `on_approval`, which is then not asked, and the one audit entry
    /// carries the outcome (the core's reasons, `approved via callback
    /// (...)` / `approval denied via callback (...)`). For a decision that
    /// is not `require_approval` it is ignored. `None` (the default) means
    /// not given; anything else is a `TypeError`.
    #[pyo3(signature = (tool, *, args = None, context = None, approved = None))]
    fn check<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        self.decide(tool, args, context, approved)
    }

    /// Like `check`, but raises `ToolDenied` for a deny and
    /// `ApprovalRequired` (a `ToolDenied`) for an approval-gated call that no
    /// callback (or `approved`) approved; returns the `PolicyResult` of an
    /// allowed call.
    #[pyo3(signature = (tool, *, args = None, context = None, approved = None))]
    fn enforce<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PolicyResult>> {
        enforced(self.decide(tool, args, context, approved)?)
    }

    /// `check` for asynchronous callbacks, as a coroutine: `await
    /// policy.check_async(tool, args=..., context=...)`. An `async def` (or
    /// otherwise awaitable) `on_approval` is awaited and must settle to
    /// `True` or `False`; awaitables returned by `on_decision` and `on_deny`
    /// are awaited after both have run, and the first failure is raised.
    /// Synchronous callbacks work too. Same order, results and errors as
    /// `check`; `args` and `context` are read when the coroutine starts,
    /// before it first awaits. `approved` as for `check` (checked here, at
    /// the call: a non-`bool` is a `TypeError` before any coroutine).
    #[pyo3(signature = (tool, *, args = None, context = None, approved = None))]
    fn check_async<'py>(
        slf: &Bound<'py, Self>,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let approved = approved_arg(approved)?;
        types(py)?
            .check_async
            .bind(py)
            .call1((slf, tool, args, context, approved))
    }

    /// `enforce` for asynchronous callbacks, as a coroutine: `check_async`,
    /// then `ToolDenied` / `ApprovalRequired` as `enforce` raises them.
    #[pyo3(signature = (tool, *, args = None, context = None, approved = None))]
    fn enforce_async<'py>(
        slf: &Bound<'py, Self>,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let approved = approved_arg(approved)?;
        types(py)?
            .enforce_async
            .bind(py)
            .call1((slf, tool, args, context, approved))
    }

    /// Step 1 of `check_async` (see `agentguard._aio`): the arguments, the
    /// context copy, the verdict and the approver's answer (`approved`,
    /// when the caller gave it: then `on_approval` is not asked). Returns
    /// the step and, when the approver's answer must be awaited, the
    /// awaitable.
    #[pyo3(signature = (tool, args, context, approved = None))]
    fn _async_start<'py>(
        &self,
        tool: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, PyAny>>,
        approved: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, FlowStep>, Option<Bound<'py, PyAny>>)> {
        let py = tool.py();
        let approved = approved_arg(approved)?;
        let (name, tool) = Self::tool_name(tool)?;
        let args = self.call_args(py, name, args)?;
        let context = self.context(context)?;
        let verdict = self.evaluate_call(py, name, self.args_or_none(&args));
        let mut hooks = PyHooks::new(self, tool, Mode::Async);
        let asked = match approved {
            None => self
                .core
                .ask_approval(name, verdict, &mut hooks, Mode::Async),
            Some(answer) => self
                .core
                .answer_approval(verdict, answer.into(), Mode::Async, &Names::PYTHON)
                .map(Approval::Decided)
                .map_err(FlowError::Flow),
        };
        let (verdict, approval) = match asked.map_err(|e| flow_error(py, e))? {
            Approval::Decided(v) => (v, None),
            Approval::Pending(v) => {
                let Some(awaitable) = hooks.approval.take() else {
                    return Err(PyRuntimeError::new_err(
                        "on_approval's answer is pending but there is nothing to await",
                    ));
                };
                (v, Some(awaitable))
            }
        };
        let step = FlowStep {
            tool: tool.clone().unbind(),
            verdict,
            context,
        };
        Ok((Bound::new(py, step)?, approval))
    }

    /// Step 2 of `check_async`: the approver's settled value, applied by
    /// the core (`True` allows, `False` denies, anything else is an error).
    fn _async_answer<'py>(
        &self,
        step: &Bound<'py, FlowStep>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, FlowStep>> {
        let py = step.py();
        let s = step.get();
        let tool = s.tool.bind(py);
        let mut hooks = PyHooks::new(self, tool, Mode::Async);
        let answer = hooks.answer(value)?;
        // An awaitable that settled to another awaitable is not an answer
        // (the core says so); it will never be awaited.
        if let Some(unawaited) = hooks.approval.take() {
            types(py)?.close_unawaited(&unawaited);
        }
        let verdict = self
            .core
            .answer_approval(s.verdict, answer, Mode::Async, &Names::PYTHON)
            .map_err(|e| core_error(py, &e))?;
        let next = FlowStep {
            tool: s.tool.clone_ref(py),
            verdict,
            context: s.context.clone(),
        };
        Bound::new(py, next)
    }

    /// Step 3 of `check_async`: the core records the entry and runs
    /// `on_decision` and `on_deny`. Returns the result, the awaitables they
    /// returned (in order) and the first failure so far (an exception
    /// object, or `None`): `check_async` awaits them all before raising.
    fn _async_record<'py>(&self, step: &Bound<'py, FlowStep>) -> PyResult<Recorded<'py>> {
        let py = step.py();
        let s = step.get();
        let tool = s.tool.bind(py);
        let name = tool.to_str()?;
        let mut hooks = PyHooks::new(self, tool, Mode::Async);
        let recorded =
            self.core
                .record(name, s.verdict, s.context.clone(), &mut hooks, Mode::Async);
        let failure = recorded
            .err()
            .map(|e| flow_error(py, e).into_value(py).into_bound(py).into_any());
        let result = match hooks.result.take() {
            Some(result) => result,
            None => self.py_result(py, tool, s.verdict)?,
        };
        Ok((result, PyList::new(py, hooks.pending)?, failure))
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
        let copies: Vec<_> = self.lock_log(py).log.entries().cloned().collect();
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

    /// The policy as tokenfence's `to_dict()`: `name`, `allow`, `deny`,
    /// `require_approval`, `default`, `audit` (fresh lists), then `rules`
    /// (fresh dicts, as written) only when there are any, so a tokenfence
    /// policy's dict is exactly tokenfence's.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        spec_kwargs(py, self.core.spec())
    }

    /// The policy as compact JSON text: the `to_dict()` object, keys in the
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
            let copies: Vec<_> = trail.log.entries().cloned().collect();
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
                entries.push(entry.get().inner().clone());
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
        // tokenfence's repr, then the rules when there are any.
        let rules = match spec_kwargs(py, spec)?.get_item("rules")? {
            Some(rules) => format!(", rules={}", rules.repr()?),
            None => String::new(),
        };
        Ok(format!(
            "Policy(name={}, allow={}, deny={}, require_approval={}, default={}{rules})",
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
