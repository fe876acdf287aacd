//! The core's analysis for Python: `lint`, `diff` and `test_policy`. Each
//! answer is the core's serde JSON as Python data (what `json.loads` of the
//! core's JSON would make); fixtures are read by the core
//! (`Fixture::parse_many`), so a bad one raises the core's `PolicyError`.

use agentguard::analysis::{self, Fixture};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{policy_error, to_json, to_py, Loc};
use crate::policy::Policy;

const TOP: Loc<'static> = Loc {
    field: None,
    index: None,
};

/// Registers the functions on the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lint, m)?)?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(test_policy, m)?)?;
    Ok(())
}

/// A policy argument: a `Policy`, or what `Policy.from_json` (a `str`) or
/// `Policy.from_dict` (anything else) reads, compiled by the core.
enum Compiled<'py> {
    Object(Bound<'py, Policy>),
    Core(Box<agentguard::Policy>),
}

impl Compiled<'_> {
    fn core(&self) -> &agentguard::Policy {
        match self {
            Compiled::Object(p) => p.get().core(),
            Compiled::Core(p) => p,
        }
    }
}

fn compiled<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Compiled<'py>> {
    if let Ok(p) = obj.cast::<Policy>() {
        return Ok(Compiled::Object(p.clone()));
    }
    let py = obj.py();
    let core = if let Ok(s) = obj.cast::<PyString>() {
        agentguard::Policy::from_json(crate::convert::text(s.as_any(), "policy")?)
    } else {
        agentguard::Policy::from_value(&to_json(obj, TOP)?)
    };
    core.map(|p| Compiled::Core(Box::new(p)))
        .map_err(|e| policy_error(py, &e))
}

/// The core's serde JSON of an answer as Python data.
fn to_data<'py>(
    py: Python<'py>,
    value: serde_json::Result<serde_json::Value>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = value.map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// The lint findings of a policy: a list of dicts (`code`, `severity`,
/// `location`, `message`, `hint`, `related`, `witness`).
#[pyfunction]
fn lint<'py>(py: Python<'py>, policy: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let p = compiled(policy)?;
    let core = p.core();
    let findings = py.detach(|| analysis::lint(core));
    to_data(py, serde_json::to_value(&findings))
}

/// Every way a decision changes from `old` to `new`: a dict (`changes`,
/// `reason_changes`, `exact`, `notes`), each change with a witness call.
#[pyfunction]
fn diff<'py>(
    py: Python<'py>,
    old: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (old, new) = (compiled(old)?, compiled(new)?);
    let (old, new) = (old.core(), new.core());
    let d = py.detach(|| analysis::diff(old, new));
    to_data(py, serde_json::to_value(&d))
}

/// Runs fixtures (a list of dicts, or JSON / JSON lines text) against a
/// policy: a dict (`total`, `passed`, `failures`, `unexercised`).
#[pyfunction]
fn test_policy<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    fixtures: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = compiled(policy)?;
    // Text as given; Python data as its JSON text, so the core reads both
    // the same way (and names a bad fixture `fixtures[i]` either way).
    let parsed = if let Ok(s) = fixtures.cast::<PyString>() {
        Fixture::parse_many(crate::convert::text(s.as_any(), "fixtures")?)
    } else {
        let value = to_json(fixtures, TOP)?;
        Fixture::parse_many(&value.to_string())
    }
    .map_err(|e| policy_error(py, &e))?;
    let core = p.core();
    let report = py.detach(|| analysis::test(core, &parsed));
    to_data(py, serde_json::to_value(&report))
}
