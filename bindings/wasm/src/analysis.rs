//! The analysis of the core (lint, diff, fixture tests) for JavaScript:
//! each answer is the core's serde JSON, as text JavaScript parses; fixture
//! text is read by the core ([`Fixture::parse_many`]), its errors cross as a
//! [`crate::CoreError`].
//!
//! Only in the module built with the `analysis` feature
//! (agentguard_analysis_bg.wasm, the npm package's `agentguard/analysis`
//! entry): the analysis would take the main module over its size budget.
use agentguard::analysis::{self, Fixture};
use wasm_bindgen::prelude::*;

use crate::{thrown, to_json, WasmPolicy};

#[wasm_bindgen]
impl WasmPolicy {
    /// The findings of [`analysis::lint`], as a JSON array.
    pub fn lint(&self) -> Result<String, JsValue> {
        to_json(&analysis::lint(&self.inner))
    }

    /// [`analysis::diff`] from this policy to `new`, as a JSON object
    /// (`changes`, `reason_changes`, `exact`, `notes`).
    pub fn diff(&self, new: &WasmPolicy) -> Result<String, JsValue> {
        to_json(&analysis::diff(&self.inner, &new.inner))
    }

    /// [`analysis::test`] on the fixtures in `fixtures` (a JSON array of
    /// fixtures, or JSON lines), as a JSON object (`total`, `passed`,
    /// `failures`, `unexercised`).
    #[wasm_bindgen(js_name = testFixtures)]
    pub fn test_fixtures(&self, fixtures: &str) -> Result<String, JsValue> {
        let fixtures = Fixture::parse_many(fixtures).map_err(|e| thrown(&e))?;
        to_json(&analysis::test(&self.inner, &fixtures))
    }
}
