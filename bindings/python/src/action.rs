//! `ActionPolicies` for Python: the core's action policies (what each agent
//! may send and receive) behind a thin class. Python values are converted
//! to the core's JSON and back; every rule, message and error is the core's.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{policy_error, text, to_json, to_py, Loc};

/// Registers the class on the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ActionPolicies>()
}

fn policy_to_py<'py>(
    py: Python<'py>,
    p: Option<&agentguard::ActionPolicy>,
) -> PyResult<Bound<'py, PyAny>> {
    match p {
        Some(p) => to_py(py, &p.to_value()),
        None => Ok(py.None().into_bound(py)),
    }
}

fn direction(obj: &Bound<'_, PyAny>) -> PyResult<agentguard::Direction> {
    let d = text(obj, "direction")?;
    agentguard::Direction::parse(d).map_err(|e| policy_error(obj.py(), &e))
}

const TOP: Loc<'static> = Loc {
    field: None,
    index: None,
};

/// The action policies of many agents: at most one per agent and direction
/// (``send``: what the agent may initiate; ``receive``: what it may be asked
/// to do). An agent or direction without a policy is open.
///
/// ``ActionPolicies(store=None)`` starts empty, or from a store dict
/// ``{"policies": [{"agent", "direction", "mode", "patterns", "policy_id"?}]}``
/// read strictly (``PolicyError`` naming the field and index).
#[pyclass(module = "agentguard._native", name = "ActionPolicies")]
pub struct ActionPolicies {
    inner: agentguard::ActionPolicies,
}

#[pymethods]
impl ActionPolicies {
    #[new]
    #[pyo3(signature = (store = None))]
    fn new(py: Python<'_>, store: Option<&Bound<'_, PyAny>>) -> PyResult<ActionPolicies> {
        let inner = match store {
            None => agentguard::ActionPolicies::new(),
            Some(s) => agentguard::ActionPolicies::from_value(&to_json(s, TOP)?)
                .map_err(|e| policy_error(py, &e))?,
        };
        Ok(ActionPolicies { inner })
    }

    /// Reads a store from a dict, strictly.
    #[staticmethod]
    fn from_dict(py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<ActionPolicies> {
        ActionPolicies::new(py, Some(store))
    }

    /// Reads a store from JSON text, strictly.
    #[staticmethod]
    fn from_json(py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<ActionPolicies> {
        let t = text(store, "store")?;
        let inner = agentguard::ActionPolicies::from_json(t).map_err(|e| policy_error(py, &e))?;
        Ok(ActionPolicies { inner })
    }

    /// ``agent://org/env/name`` -> ``name``; a bare id is returned as is;
    /// anything else raises ``PolicyError``.
    #[staticmethod]
    fn resolve_address(address: &Bound<'_, PyAny>) -> PyResult<String> {
        let a = text(address, "address")?;
        agentguard::resolve_address(a)
            .map(str::to_string)
            .map_err(|e| policy_error(address.py(), &e))
    }

    /// Sets ``agent``'s policy for ``policy["direction"]``
    /// (``{"direction", "mode", "patterns", "policy_id"?}``); returns the
    /// policy it replaced, or ``None``.
    fn set<'py>(
        &mut self,
        agent: &Bound<'py, PyAny>,
        policy: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = agent.py();
        let agent = text(agent, "agent")?;
        let policy = agentguard::ActionPolicy::from_value(&to_json(policy, TOP)?)
            .map_err(|e| policy_error(py, &e))?;
        let previous = self
            .inner
            .set(agent, policy)
            .map_err(|e| policy_error(py, &e))?;
        policy_to_py(py, previous.as_ref())
    }

    /// ``agent``'s policy for ``direction`` (``None``: open); without a
    /// direction, ``{"send": ..., "receive": ...}``.
    #[pyo3(signature = (agent, direction = None))]
    fn get<'py>(
        &self,
        agent: &Bound<'py, PyAny>,
        direction: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = agent.py();
        let agent = text(agent, "agent")?;
        let one = |d| {
            self.inner
                .get(agent, d)
                .map_err(|e| policy_error(py, &e))
                .and_then(|p| policy_to_py(py, p))
        };
        match direction {
            Some(d) => one(self::direction(d)?),
            None => {
                let dict = PyDict::new(py);
                dict.set_item("send", one(agentguard::Direction::Send)?)?;
                dict.set_item("receive", one(agentguard::Direction::Receive)?)?;
                Ok(dict.into_any())
            }
        }
    }

    /// Removes ``agent``'s policy for ``direction`` (back to open); returns
    /// it, or ``None``.
    fn delete<'py>(
        &mut self,
        agent: &Bound<'py, PyAny>,
        direction: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = agent.py();
        let agent = text(agent, "agent")?;
        let d = self::direction(direction)?;
        let removed = self
            .inner
            .delete(agent, d)
            .map_err(|e| policy_error(py, &e))?;
        policy_to_py(py, removed.as_ref())
    }

    /// Decides an intent: the sender's ``send`` policy, then the receiver's
    /// ``receive`` policy. Returns ``None`` if it passes, else the violation
    /// ``{"error": "action_policy_violation", "message", "direction",
    /// "address_id", "pattern"?}``. A malformed address or an empty intent
    /// type raises ``PolicyError``.
    fn check_intent<'py>(
        &self,
        from_agent: &Bound<'py, PyAny>,
        to_agent: &Bound<'py, PyAny>,
        intent_type: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = from_agent.py();
        let from = text(from_agent, "from_agent")?;
        let to = text(to_agent, "to_agent")?;
        let t = text(intent_type, "intent_type")?;
        match self
            .inner
            .check_intent(from, to, t)
            .map_err(|e| policy_error(py, &e))?
        {
            None => Ok(py.None().into_bound(py)),
            Some(v) => to_py(py, &v.to_value()),
        }
    }

    /// The ids of the agents that have at least one policy, sorted.
    #[getter]
    fn agents(&self) -> Vec<String> {
        self.inner.agents().map(str::to_string).collect()
    }

    /// The store as a dict, readable by ``from_dict``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.to_value())
    }

    /// The store as JSON text.
    fn to_json(&self) -> String {
        self.inner.to_value().to_string()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ActionPolicies(agents={}, policies={})",
            self.inner.agents().count(),
            self.inner.len()
        )
    }
}
