//! Action policies for JavaScript: the core's [`ActionPolicies`] behind a
//! thin wasm-bindgen class. Policies, violations and stores cross the
//! boundary as JSON text in the core's own format; errors as a
//! [`crate::CoreError`] (turned into a `PolicyError` by the JS class).
//!
//! The hot path, [`WasmActionPolicies::check_intent`], returns `undefined`
//! for an intent that passes: nothing is allocated or serialised unless an
//! intent is blocked.

use wasm_bindgen::prelude::*;

use agentguard::{ActionPolicies, ActionPolicy, Direction, Error};

use crate::{thrown, to_json};

fn err(e: &Error) -> JsValue {
    thrown(e)
}

fn policy_json(p: Option<ActionPolicy>) -> Option<String> {
    p.map(|p| p.to_value().to_string())
}

/// The action policies of many agents, owned by a JavaScript
/// `ActionPolicies`.
#[wasm_bindgen]
pub struct WasmActionPolicies {
    inner: ActionPolicies,
}

#[wasm_bindgen]
impl WasmActionPolicies {
    /// An empty store: every agent is open.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmActionPolicies {
        WasmActionPolicies {
            inner: ActionPolicies::new(),
        }
    }

    /// Reads a store (`{"policies": [...]}`) strictly.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<WasmActionPolicies, JsValue> {
        let inner = ActionPolicies::from_json(text).map_err(|e| err(&e))?;
        Ok(WasmActionPolicies { inner })
    }

    /// Sets `agent`'s policy (JSON `{direction, mode, patterns, policy_id?}`)
    /// and returns the one it replaces, as JSON.
    pub fn set(&mut self, agent: &str, policy_text: &str) -> Result<Option<String>, JsValue> {
        let policy = ActionPolicy::from_json(policy_text).map_err(|e| err(&e))?;
        let previous = self.inner.set(agent, policy).map_err(|e| err(&e))?;
        Ok(policy_json(previous))
    }

    /// `agent`'s policy for `direction` as JSON; `undefined` means open.
    pub fn get(&self, agent: &str, direction: &str) -> Result<Option<String>, JsValue> {
        let direction = Direction::parse(direction).map_err(|e| err(&e))?;
        let found = self.inner.get(agent, direction).map_err(|e| err(&e))?;
        Ok(policy_json(found.cloned()))
    }

    /// Removes `agent`'s policy for `direction`; returns it as JSON.
    pub fn delete(&mut self, agent: &str, direction: &str) -> Result<Option<String>, JsValue> {
        let direction = Direction::parse(direction).map_err(|e| err(&e))?;
        let removed = self.inner.delete(agent, direction).map_err(|e| err(&e))?;
        Ok(policy_json(removed))
    }

    /// Decides an intent: `undefined` if it passes, else the violation as
    /// JSON text.
    #[wasm_bindgen(js_name = checkIntent)]
    pub fn check_intent(
        &self,
        from: &str,
        to: &str,
        intent_type: &str,
    ) -> Result<Option<String>, JsValue> {
        let violation = self
            .inner
            .check_intent(from, to, intent_type)
            .map_err(|e| err(&e))?;
        // A violation that cannot be serialised is an error, never an
        // empty string (which the caller would read as "it passed").
        violation.map(|v| to_json(&v)).transpose()
    }

    /// The resolved address id of `address` (`agent://org/env/name` ->
    /// `name`).
    #[wasm_bindgen(js_name = resolveAddress)]
    pub fn resolve_address(address: &str) -> Result<String, JsValue> {
        agentguard::resolve_address(address)
            .map(str::to_string)
            .map_err(|e| err(&e))
    }

    /// The ids of the agents with at least one policy, as a JSON array.
    pub fn agents(&self) -> String {
        serde_json::Value::from(self.inner.agents().collect::<Vec<_>>()).to_string()
    }

    /// The store as JSON text (`{"policies": [...]}`).
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_value().to_string()
    }
}

impl Default for WasmActionPolicies {
    fn default() -> Self {
        WasmActionPolicies::new()
    }
}
