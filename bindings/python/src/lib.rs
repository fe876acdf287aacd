//! The Python extension `agentguard._native`: the agentguard core as a
//! native drop-in for tokenfence's `Policy`.
//!
//! Thin on purpose: every decision, reason string, audit entry and the order
//! of the hooks come from the core crate; this crate converts Python values
//! to Rust and back, and core errors to Python exceptions. The pure-Python
//! part of the package (`agentguard/_types.py`) holds only the `Decision`
//! enum and the exception classes.

use pyo3::prelude::*;

mod action;
mod analysis;
mod args;
mod convert;
mod policy;
mod values;

/// The native module. Each area of the package registers its classes here,
/// one line each.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_AUDIT_CAPACITY", agentguard::DEFAULT_AUDIT_CAPACITY)?;
    m.add_function(wrap_pyfunction!(fnmatch, m)?)?;
    m.add_function(wrap_pyfunction!(denied_message, m)?)?;
    m.add_function(wrap_pyfunction!(denial_text, m)?)?;
    m.add_function(wrap_pyfunction!(policy::restore_policy, m)?)?;
    m.add_function(wrap_pyfunction!(policy::enforce_result, m)?)?;
    m.add_class::<policy::Policy>()?;
    m.add_class::<values::PolicyResult>()?;
    m.add_class::<values::AuditEntry>()?;
    action::register(m)?;
    analysis::register(m)?;
    // Other areas: `mod x;` above and `x::register(m)?;` here, then the
    // re-export in python/agentguard/__init__.py and the stub in _native.pyi.
    Ok(())
}

/// Whether `name` matches the fnmatch `pattern`, exactly as CPython 3.11's
/// `fnmatch.fnmatchcase` decides (case-sensitive, no escape character):
/// the matcher every policy uses.
///
/// Raises `TypeError` if either argument is not a `str`, and
/// `UnicodeEncodeError` if one holds a lone surrogate.
#[pyfunction]
fn fnmatch(name: &Bound<'_, PyAny>, pattern: &Bound<'_, PyAny>) -> PyResult<bool> {
    let name = convert::text(name, "name")?;
    let pattern = convert::text(pattern, "pattern")?;
    Ok(agentguard::fnmatch(name, pattern))
}

/// `ToolDenied`'s message, the core's (tokenfence's words):
/// `Tool 'drop_table' denied: denied by pattern: drop_*`.
#[pyfunction]
fn denied_message(tool: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(agentguard::denied_message(
        convert::text(tool, "tool")?,
        convert::text(reason, "reason")?,
    ))
}

/// The text a model reads for a call that did not run, the core's: the
/// tool, the reason and the deciding rule, named when the reason does not
/// already name it; for `require_approval`, that it needs a person's
/// approval. `decision` is `"deny"` or `"require_approval"` (a `Decision`
/// is one); anything else is a `ValueError`.
#[pyfunction]
#[pyo3(signature = (tool, decision, reason, matched_rule = None))]
fn denial_text(
    tool: &Bound<'_, PyAny>,
    decision: &Bound<'_, PyAny>,
    reason: &Bound<'_, PyAny>,
    matched_rule: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let decision = convert::decision(decision)?;
    let matched_rule = match matched_rule {
        Some(r) if !r.is_none() => Some(convert::text(r, "matched_rule")?),
        _ => None,
    };
    Ok(agentguard::denial_text(
        convert::text(tool, "tool")?,
        decision,
        convert::text(reason, "reason")?,
        matched_rule,
    ))
}
