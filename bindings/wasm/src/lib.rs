//! The wasm-bindgen adapter behind the npm package: values and errors only.
//!
//! Every decision, reason string and approval outcome comes from the core;
//! this module turns them into numbers and strings JavaScript can hold. A
//! verdict crosses the boundary as one `u32` code (`index * 8 + tag`, see
//! [`encode`]); JavaScript asks [`WasmPolicy::describe`] once per distinct
//! code for its decision, reason and matched rule, and caches the answer
//! (a `Policy` is immutable, so a code always means the same thing).
//!
//! Tool names travel through a scratch buffer in wasm memory ([`scratch`]):
//! JavaScript writes the UTF-8 bytes there and calls
//! [`WasmPolicy::evaluate_scratch`], so a check allocates nothing on either
//! side.
// Only the wasm32 build has anything to adapt; on the host the crate is empty,
// so `cargo build --workspace` needs no wasm-bindgen.
#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

mod action;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use agentguard::{Decision, DefaultDecision, Error, Policy, PolicySpec, Rule, Verdict};

/// The code [`WasmPolicy::evaluate_scratch`] returns for bytes that are not
/// UTF-8 (JavaScript only writes well-formed names, so this means a bug; the
/// caller throws instead of deciding).
const INVALID: u32 = u32::MAX;

const DENY: u32 = 0;
const APPROVAL: u32 = 1;
const APPROVED: u32 = 2;
const APPROVAL_DENIED: u32 = 3;
const ALLOW: u32 = 4;
const NOT_IN_ALLOW_LIST: u32 = 5;
const NO_MATCHING_RULE: u32 = 6;

fn encode(rule: Rule) -> u32 {
    let (index, tag) = match rule {
        Rule::Deny(i) => (i, DENY),
        Rule::Approval(i) => (i, APPROVAL),
        Rule::Approved(i) => (i, APPROVED),
        Rule::ApprovalDenied(i) => (i, APPROVAL_DENIED),
        Rule::Allow(i) => (i, ALLOW),
        Rule::NotInAllowList => (0, NOT_IN_ALLOW_LIST),
        Rule::NoMatchingRule => (0, NO_MATCHING_RULE),
    };
    // A policy cannot hold 2^29 patterns in a 4 GiB address space.
    (index as u32) << 3 | tag
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Makes the scratch buffer at least `len` bytes long and returns its
/// address in wasm memory. The address stays valid until the next call that
/// asks for more room.
#[wasm_bindgen]
pub fn scratch(len: usize) -> *mut u8 {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0);
        }
        s.as_mut_ptr()
    })
}

/// The core's error as JSON text: `{kind, field, index, message, display}`.
fn error_json(e: &Error) -> JsValue {
    JsValue::from_str(
        &serde_json::json!({
            "kind": e.kind().as_str(),
            "field": e.field(),
            "index": e.index(),
            "message": e.message(),
            "display": e.to_string(),
        })
        .to_string(),
    )
}

/// A compiled policy, owned by a JavaScript `Policy`.
#[wasm_bindgen]
pub struct WasmPolicy {
    inner: Policy,
}

#[wasm_bindgen]
impl WasmPolicy {
    /// Parses and compiles a policy file. Throws the error as JSON text
    /// (see [`error_json`]); JavaScript turns it into a `PolicyError`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec_json: &str) -> Result<WasmPolicy, JsValue> {
        let spec = PolicySpec::from_json(spec_json).map_err(|e| error_json(&e))?;
        let inner = Policy::new(spec).map_err(|e| error_json(&e))?;
        Ok(WasmPolicy { inner })
    }

    /// Decides for the `len` UTF-8 bytes in the scratch buffer.
    #[wasm_bindgen(js_name = evaluateScratch)]
    pub fn evaluate_scratch(&self, len: usize) -> u32 {
        SCRATCH.with(|s| {
            let s = s.borrow();
            match s.get(..len).map(std::str::from_utf8) {
                Some(Ok(tool)) => encode(self.inner.evaluate(tool).rule),
                _ => INVALID,
            }
        })
    }

    /// Decides for `tool`.
    pub fn evaluate(&self, tool: &str) -> u32 {
        encode(self.inner.evaluate(tool).rule)
    }

    /// Applies an approval answer to a verdict code (the core's
    /// `resolve_verdict`).
    pub fn resolve(&self, code: u32, approved: bool) -> u32 {
        encode(
            self.inner
                .resolve_verdict(self.verdict(code), approved)
                .rule,
        )
    }

    /// A verdict code as JSON text: `[decision, reason, matchedRule|null]`.
    pub fn describe(&self, code: u32) -> String {
        let verdict = self.verdict(code);
        serde_json::json!([
            verdict.decision.as_str(),
            &*self.inner.reason(verdict),
            self.inner.matched_rule(verdict.rule),
        ])
        .to_string()
    }

    /// The policy's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// Whether decisions are recorded in the audit log.
    #[wasm_bindgen(getter)]
    pub fn audit(&self) -> bool {
        self.inner.audit_enabled()
    }

    /// The policy file (tokenfence's `to_dict()`) as JSON text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.spec().to_value().to_string()
    }
}

impl WasmPolicy {
    fn verdict(&self, code: u32) -> Verdict {
        let i = (code >> 3) as usize;
        let default = match self.inner.spec().default {
            DefaultDecision::Allow => Decision::Allow,
            DefaultDecision::Deny => Decision::Deny,
        };
        let (decision, rule) = match code & 7 {
            DENY => (Decision::Deny, Rule::Deny(i)),
            APPROVAL => (Decision::RequireApproval, Rule::Approval(i)),
            APPROVED => (Decision::Allow, Rule::Approved(i)),
            APPROVAL_DENIED => (Decision::Deny, Rule::ApprovalDenied(i)),
            ALLOW => (Decision::Allow, Rule::Allow(i)),
            NOT_IN_ALLOW_LIST => (default, Rule::NotInAllowList),
            _ => (default, Rule::NoMatchingRule),
        };
        Verdict { decision, rule }
    }
}

/// CPython's `fnmatch.fnmatchcase(name, pattern)`, exactly.
#[wasm_bindgen]
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    agentguard::fnmatch(name, pattern)
}
