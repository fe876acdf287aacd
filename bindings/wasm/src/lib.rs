//! The wasm-bindgen adapter behind the npm package: values and errors only.
//!
//! Every decision, reason string, approval outcome, audit entry and flow
//! message comes from the core; this crate turns them into numbers and
//! strings JavaScript can hold, and JavaScript's callbacks into the core's
//! [`Hooks`].
//!
//! - A verdict crosses the boundary as one `u32` code (the rule's index and
//!   tag, see [`TAG_BITS`]) and, when shadow rules fired, their 64-bit set
//!   beside it in the shadow slot (see [`SHADOWED`], [`shadow_slot`]): no
//!   table, no limit. JavaScript asks [`WasmPolicy::describe`] once per
//!   distinct verdict for the result's JSON (the core's serde form) and
//!   caches it: a `Policy` is immutable, so a verdict always means the same
//!   thing.
//! - Tool names travel through a scratch buffer in wasm memory
//!   ([`scratch`]): JavaScript writes the UTF-8 bytes there and passes their
//!   length, so a check copies no string through wasm-bindgen. A call's
//!   arguments follow the name there, as the JSON text of only the values
//!   the rules for that tool read ([`WasmPolicy::argument_paths`]; the
//!   conversion is bindings/js/src/args.js).
//! - `check()` is [`WasmPolicy::decide`]: the core's [`Policy::decide_from`]
//!   with JavaScript's callbacks behind [`Hooks`] (the `JsHooks` object that
//!   bindings/js/src/policy.js passes in). The audit log is the core's
//!   [`AuditLog`], kept here.
//! - Errors of the core cross as a [`CoreError`] object (kind, field, index,
//!   message), never as a string JavaScript would have to parse; an error a
//!   callback threw crosses back untouched.
// Only the wasm32 build has anything to adapt; on the host the crate is empty,
// so `cargo build --workspace` needs no wasm-bindgen.
#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

mod action;
#[cfg(feature = "analysis")]
mod analysis;

use std::cell::{Cell, RefCell};

use agentguard::{
    check_name, name_length, Answer, AuditEntry, AuditLog, Decision, DefaultDecision, Error,
    FlowError, Hooks, Mode, Names, Policy, PolicySpec, Returned, Rule, Shadow, Verdict,
    ACTION_POLICY_KEYS, MAX_NAME_BYTES, POLICY_KEYS,
};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// The context of an audit entry: the JSON text of a non-empty object that
/// JavaScript made from the caller's object at decision time (JSON data
/// only, see bindings/js/src/data.js), kept and written back verbatim. The
/// core never reads a context, only records it; parsing it into a map here
/// would cost 3 KB of the .wasm's gzipped budget and an allocation per key.
type Ctx = Box<serde_json::value::RawValue>;

/// What [`WasmPolicy::remember`] returns for a name it cannot keep (not
/// UTF-8, or over the name limit: JavaScript never passes one, so this means
/// a bug; the caller throws instead of caching).
const INVALID: u32 = u32::MAX;
/// The code JavaScript passes to [`WasmPolicy::decide`] when it has no
/// verdict cached for the name: evaluate it first.
const EVALUATE: u32 = u32::MAX;
/// What the calls that decide on the name alone return, having done
/// nothing, when a rule for that name reads arguments: JavaScript then
/// converts the arguments those rules read and calls
/// [`WasmPolicy::evaluate_call`] or [`WasmPolicy::decide_call`]. (No code
/// is this: its tag, 14, is none of the tags below.)
const NEEDS_ARGS: u32 = u32::MAX - 1;
/// What the flow calls return when they failed: the error (a callback's
/// exception, or a [`CoreError`]) waits in [`take_failure`]. A `Result`
/// return would make wasm-bindgen allocate a JavaScript array per call, on
/// the hottest path of the package.
const FAILED: u32 = u32::MAX;

const DENY: u32 = 0;
const APPROVAL: u32 = 1;
const APPROVED: u32 = 2;
const APPROVAL_DENIED: u32 = 3;
const ALLOW: u32 = 4;
const NOT_IN_ALLOW_LIST: u32 = 5;
const NO_MATCHING_RULE: u32 = 6;
const BY_RULE: u32 = 7;
const RULE_APPROVED: u32 = 8;
const RULE_APPROVAL_DENIED: u32 = 9;
/// A verdict's rule is coded `index << TAG_BITS | tag`.
const TAG_BITS: u32 = 4;
/// A code with this bit set has shadow rules: their set (64 bits, more than
/// a code holds beside its rule) is in the shadow slot ([`shadow_slot`]),
/// written by whoever passes the code on, right before: wasm when it
/// returns a code or hands one to a callback, JavaScript when it passes one
/// back in. Read at once by the receiver, before anything else can run.
const SHADOWED: u32 = 1 << 31;

/// A name argument with this bit set is an id in the policy's table of
/// remembered names ([`WasmPolicy::remember`]), not a length of bytes in
/// the scratch buffer.
const NAME_ID: usize = 1 << 31;

/// Which callbacks the JavaScript policy has, as [`WasmPolicy::new`] gets
/// them: the flow calls into JavaScript only for these.
const ON_APPROVAL: u32 = 1;
const ON_DECISION: u32 = 2;
const ON_DENY: u32 = 4;

/// The code of a verdict without shadow rules.
fn plain_code(rule: Rule) -> Result<u32, JsValue> {
    let (index, tag) = match rule {
        Rule::Deny(i) => (i, DENY),
        Rule::Approval(i) => (i, APPROVAL),
        Rule::Approved(i) => (i, APPROVED),
        Rule::ApprovalDenied(i) => (i, APPROVAL_DENIED),
        Rule::Allow(i) => (i, ALLOW),
        Rule::NotInAllowList => (0, NOT_IN_ALLOW_LIST),
        Rule::NoMatchingRule => (0, NO_MATCHING_RULE),
        Rule::ByRule(i) => (i, BY_RULE),
        Rule::RuleApproved(i) => (i, RULE_APPROVED),
        Rule::RuleApprovalDenied(i) => (i, RULE_APPROVAL_DENIED),
    };
    // A policy cannot hold 2^27 patterns in a 4 GiB address space; should
    // one try, it is an error, never another code.
    if index >= 1 << (31 - TAG_BITS) {
        return Err(internal(format!(
            "rule index {index} does not fit a verdict code"
        )));
    }
    Ok((index as u32) << TAG_BITS | tag)
}

/// An error of the core (or of this adapter), as JavaScript receives it:
/// `kind` (the core's [`agentguard::ErrorKind`] name, or `internal` for a
/// bug in the binding), `field`, `index`, the bare `message` and `display`
/// (`field[index]: message`, the text a JavaScript error carries).
/// bindings/js turns it into a `PolicyError`, `TypeError` or `RangeError`.
#[wasm_bindgen]
pub struct CoreError {
    kind: &'static str,
    field: Option<String>,
    index: Option<usize>,
    message: String,
    display: String,
}

#[wasm_bindgen]
impl CoreError {
    /// The error as `[kind, field, index, message, display]` (one getter
    /// keeps the .wasm small; JavaScript reads them once).
    #[wasm_bindgen(getter)]
    pub fn parts(&self) -> String {
        serde_json::to_string(&(
            self.kind,
            &self.field,
            self.index,
            &self.message,
            &self.display,
        ))
        // (Strings and numbers always serialise; should that change, the
        // error is still an error.)
        .unwrap_or_else(|_| {
            r#"["internal",null,null,"","agentguard: an error that cannot be described"]"#.into()
        })
    }
}

impl CoreError {
    fn internal(message: impl Into<String>) -> CoreError {
        let message = message.into();
        CoreError {
            kind: "internal",
            field: None,
            index: None,
            display: format!("agentguard: {message} (a bug in the binding; please report it)"),
            message,
        }
    }
}

impl From<&Error> for CoreError {
    fn from(e: &Error) -> CoreError {
        CoreError {
            kind: e.kind().as_str(),
            field: e.field().map(str::to_string),
            index: e.index(),
            message: e.message().to_string(),
            display: e.to_string(),
        }
    }
}

/// The core's error, ready to throw.
fn thrown(e: &Error) -> JsValue {
    CoreError::from(e).into()
}

fn internal(message: impl Into<String>) -> JsValue {
    CoreError::internal(message).into()
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| internal(format!("cannot serialise: {e}")))
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static FAILURE: RefCell<Option<JsValue>> = const { RefCell::new(None) };
    static SHADOW: Cell<u64> = const { Cell::new(0) };
}

/// The address in wasm memory of the shadow slot: the set of fired shadow
/// rules (a little-endian `u64`, bit k for the k-th shadow rule in file
/// order) of the last code passed across with [`SHADOWED`]. It never moves.
#[wasm_bindgen(js_name = shadowSlot)]
pub fn shadow_slot() -> usize {
    SHADOW.with(|s| s.as_ptr() as usize)
}

/// A flow call's outcome as a code: the value, or [`FAILED`] with the error
/// kept for [`take_failure`]. (No valid code or result is `FAILED`: a
/// verdict code's tag is at most 9.)
fn code_or_failed(outcome: Result<u32, JsValue>) -> u32 {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            FAILURE.with(|f| *f.borrow_mut() = Some(e));
            FAILED
        }
    }
}

/// The error of the flow call that just returned [`FAILED`] (JavaScript
/// takes it at once, before anything else can run).
#[wasm_bindgen(js_name = takeFailure)]
pub fn take_failure() -> JsValue {
    FAILURE
        .with(|f| f.borrow_mut().take())
        .unwrap_or_else(|| internal("a flow call failed without an error"))
}

/// Makes the scratch buffer at least `len` bytes long (exactly `len` when it
/// grows) and returns its address in wasm memory. The address stays valid
/// until the next call to this or [`release_scratch`].
#[wasm_bindgen]
pub fn scratch(len: usize) -> *mut u8 {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let have = s.len();
        if have < len {
            s.reserve_exact(len - have);
            s.resize(len, 0);
        }
        s.as_mut_ptr()
    })
}

/// Shrinks the scratch buffer back to `keep` bytes after a large name, so
/// that one call's memory goes back to the allocator instead of staying
/// reserved for the life of the page. Returns the buffer's new address.
#[wasm_bindgen(js_name = releaseScratch)]
pub fn release_scratch(keep: usize) -> *mut u8 {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() > keep {
            s.truncate(keep);
            s.shrink_to_fit();
        }
        s.as_mut_ptr()
    })
}

/// The name in the first `len` bytes of the scratch buffer.
fn name_in(scratch: &[u8], len: usize) -> Result<&str, JsValue> {
    match scratch.get(..len).map(std::str::from_utf8) {
        Some(Ok(tool)) => Ok(tool),
        _ => Err(internal("the tool name in the scratch buffer is not UTF-8")),
    }
}

/// A call's arguments: the JSON text of an object in the `args_len` bytes
/// of the scratch buffer after the name's `len`. JavaScript made it from
/// only the values the rules read, and checked them (bindings/js/src/args.js).
fn args_in(scratch: &[u8], len: usize, args_len: usize) -> Result<Map<String, Value>, JsValue> {
    let text = len
        .checked_add(args_len)
        .and_then(|end| scratch.get(len..end))
        .ok_or_else(|| internal("the arguments are not in the scratch buffer"))?;
    // From a &str: the .wasm already has serde_json's reader of text (the
    // policy's), and a second one, of bytes, would cost 8 KB gzipped.
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| {
            internal("the arguments in the scratch buffer are not the JSON text of an object")
        })
}

/// The core's limit on tool names ([`MAX_NAME_BYTES`]), for JavaScript's
/// check before it copies a name into wasm memory.
#[wasm_bindgen(js_name = maxNameBytes)]
pub fn max_name_bytes() -> u32 {
    MAX_NAME_BYTES as u32
}

/// Throws the core's `too_long` error for a name of `bytes` bytes of UTF-8
/// over the limit (JavaScript measured it without copying the name).
#[wasm_bindgen(js_name = checkNameLength)]
pub fn check_name_length(bytes: f64) -> Result<(), JsValue> {
    // Saturating: a count past usize::MAX is over the limit all the same.
    name_length(bytes as usize).map_err(|e| thrown(&e))
}

/// The keys of the formats JavaScript reads from caller objects, from the
/// core. JavaScript reads each known key by property access and passes
/// every other own key on, for the core to name.
#[wasm_bindgen(js_name = formatKeys)]
pub fn format_keys() -> Result<String, JsValue> {
    let entry: Vec<&str> = std::iter::once("agent").chain(ACTION_POLICY_KEYS).collect();
    // `[policy, action policy, store, store entry]`; the store format is
    // ActionPolicies::from_value's: `{"policies": [{"agent", ...an action
    // policy}, ...]}`.
    to_json(&(POLICY_KEYS, ACTION_POLICY_KEYS, ["policies"], entry))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;

    /// The JavaScript side of [`Hooks`] (bindings/js/src/policy.js): each
    /// method calls the policy's callback for the check that is running and
    /// converts what it returned. A callback's exception comes back as the
    /// `Err` of these methods (wasm-bindgen's `catch`), so it never unwinds
    /// through wasm.
    pub type JsHooks;

    /// `onApproval` for the pending verdict `code`: `true` or `false`,
    /// `null` for a Promise (a handler is already attached), or a
    /// description of anything else (`string "yes"`).
    #[wasm_bindgen(method, catch)]
    fn approve(this: &JsHooks, code: u32) -> Result<JsValue, JsValue>;

    /// `onDecision` with the entry as `[to_dict() JSON, matched rule]`: 1 if
    /// it returned a Promise, else 0.
    #[wasm_bindgen(method, catch)]
    fn decision(this: &JsHooks, entry: &str) -> Result<u32, JsValue>;

    /// `onDeny` with the final verdict `code`: 1 if it returned a Promise.
    #[wasm_bindgen(method, catch)]
    fn deny(this: &JsHooks, code: u32) -> Result<u32, JsValue>;
}

/// An approver's answer as bindings/js classified it (see [`JsHooks`]).
fn answer_of(value: &JsValue) -> Answer {
    if let Some(b) = value.as_bool() {
        Answer::from(b)
    } else if value.is_null() {
        Answer::Pending
    } else {
        Answer::Invalid(
            value
                .as_string()
                .unwrap_or_else(|| "a value that is not a boolean".into()),
        )
    }
}

fn returned(pending: u32) -> Returned {
    if pending == 0 {
        Returned::Done
    } else {
        Returned::Pending
    }
}

/// An audit entry as JavaScript builds its `AuditEntry` from it: the core's
/// `to_dict()` JSON, and the matched rule itself (which `to_dict()` leaves
/// out when it is empty, as tokenfence does).
fn entry_json(entry: &AuditEntry<Ctx>) -> Result<String, JsValue> {
    Ok(format!(
        "[{},{}]",
        to_json(entry)?,
        to_json(&entry.matched_rule)?
    ))
}

/// A compiled policy and its audit log, owned by a JavaScript `Policy`.
#[wasm_bindgen]
pub struct WasmPolicy {
    inner: Policy,
    // Interior mutability: every method takes `&self`, so a callback may
    // call back into this policy (a check from inside onDecision) without
    // wasm-bindgen refusing a second borrow. The log is borrowed only for the
    // length of an append or a read, never across a call into JavaScript.
    // It keeps verdicts, not entries (`AuditLog<Ctx, Verdict>`): a check
    // records its decision without allocating, and the entries are made
    // when the log is read.
    log: RefCell<AuditLog<Ctx, Verdict>>,
    callbacks: u32,
    // The names JavaScript's per-name cache holds, by id: a cached name is
    // passed as its id instead of being written again (see NAME_ID).
    names: RefCell<Vec<Box<str>>>,
    /// Whether any rule reads an argument (else no name needs arguments).
    reads: bool,
    /// The bits a shadow set of this policy can have (one per shadow rule).
    shadows: u64,
}

/// The flow's [`Hooks`] for one check: JavaScript's callbacks (only those
/// the policy has; none without `js`) and this policy's log.
struct Bridge<'a> {
    policy: &'a WasmPolicy,
    js: Option<&'a JsHooks>,
    /// The time JavaScript read at the call, in milliseconds, when no
    /// callback can run before the entry is made (else it is asked then).
    now_ms: Option<f64>,
}

impl Bridge<'_> {
    /// The JavaScript hooks, if the policy has callback `which`.
    fn has(&self, which: u32) -> Option<&JsHooks> {
        self.js.filter(|_| self.policy.callbacks & which != 0)
    }
}

impl Hooks<Ctx> for Bridge<'_> {
    type Error = JsValue;
    const NAMES: Names = Names::JS;

    fn now(&mut self) -> f64 {
        self.now_ms.unwrap_or_else(date_now) / 1000.0
    }

    fn approve(&mut self, _: &str, pending: Verdict) -> Option<Result<Answer, JsValue>> {
        let js = self.has(ON_APPROVAL)?;
        Some(
            self.policy
                .code(pending)
                .and_then(|code| js.approve(code))
                .map(|v| answer_of(&v)),
        )
    }

    fn has_on_decision(&self) -> bool {
        self.has(ON_DECISION).is_some()
    }

    // The flow records through append_verdict (below), which this log
    // keeps; it has no use for a finished entry, and the core makes none
    // for it.
    fn append(&mut self, _: AuditEntry<Ctx>) {}

    fn append_verdict(
        &mut self,
        policy: &Policy,
        tool: &str,
        verdict: Verdict,
        timestamp: f64,
        context: Option<Ctx>,
    ) {
        self.policy
            .log
            .borrow_mut()
            .record(policy, tool, verdict, timestamp, context);
    }

    fn on_decision(&mut self, entry: &AuditEntry<Ctx>) -> Result<Returned, JsValue> {
        match self.has(ON_DECISION) {
            Some(js) => js.decision(&entry_json(entry)?).map(returned),
            None => Ok(Returned::Done),
        }
    }

    fn on_deny(&mut self, _: &str, verdict: Verdict) -> Result<Returned, JsValue> {
        match self.has(ON_DENY) {
            Some(js) => js.deny(self.policy.code(verdict)?).map(returned),
            None => Ok(Returned::Done),
        }
    }
}

fn flow_error(e: FlowError<JsValue>) -> JsValue {
    match e {
        FlowError::Hook(e) => e,
        FlowError::Flow(e) => thrown(&e),
    }
}

#[wasm_bindgen]
impl WasmPolicy {
    /// Parses and compiles a policy file (strictly: the core's errors). The
    /// log keeps `audit_capacity` entries; `callbacks` says which of
    /// `onApproval` (1), `onDecision` (2), `onDeny` (4) JavaScript has.
    #[wasm_bindgen(constructor)]
    pub fn new(
        spec_json: &str,
        audit_capacity: f64,
        callbacks: u32,
    ) -> Result<WasmPolicy, JsValue> {
        let spec = PolicySpec::from_json(spec_json).map_err(|e| thrown(&e))?;
        let inner = Policy::new(spec).map_err(|e| thrown(&e))?;
        let shadows = match inner.shadow_hits(Shadow(u64::MAX)).len() {
            n if n >= 64 => u64::MAX,
            n => (1u64 << n) - 1,
        };
        Ok(WasmPolicy {
            reads: !inner.argument_paths().is_empty(),
            shadows,
            inner,
            // Saturating: no log can hold more entries than memory anyway.
            log: RefCell::new(AuditLog::with_capacity(audit_capacity as usize)),
            callbacks,
            names: RefCell::new(Vec::new()),
        })
    }

    /// The pure step on the name alone for the `len` UTF-8 bytes in the
    /// scratch buffer: the verdict code, [`NEEDS_ARGS`], or [`FAILED`].
    pub fn evaluate(&self, len: usize) -> u32 {
        code_or_failed(SCRATCH.with(|s| {
            let s = s.borrow();
            let tool = name_in(&s, len)?;
            if self.needs_args(tool) {
                return Ok(NEEDS_ARGS);
            }
            self.code(self.inner.evaluate(tool))
        }))
    }

    /// Whether every call of the tool named by the `len` UTF-8 bytes in the
    /// scratch buffer is denied whatever its arguments (the core's
    /// `Policy::always_denied`): 1 yes, 0 not shown, or [`FAILED`].
    #[wasm_bindgen(js_name = alwaysDenied)]
    pub fn always_denied(&self, len: usize) -> u32 {
        code_or_failed(SCRATCH.with(|s| {
            let s = s.borrow();
            let tool = name_in(&s, len)?;
            Ok(u32::from(self.inner.always_denied(tool)))
        }))
    }

    /// The pure step for a call: the name in the first `len` bytes of the
    /// scratch buffer, its arguments in the `args_len` bytes after it (the
    /// JSON text of an object). The verdict code, or [`FAILED`].
    #[wasm_bindgen(js_name = evaluateCall)]
    pub fn evaluate_call(&self, len: usize, args_len: usize) -> u32 {
        code_or_failed(SCRATCH.with(|s| {
            let s = s.borrow();
            let tool = name_in(&s, len)?;
            check_name(tool).map_err(|e| thrown(&e))?;
            let args = args_in(&s, len, args_len)?;
            self.code(self.inner.evaluate_call(tool, &args))
        }))
    }

    /// `check()` of a call with arguments (laid out as for
    /// [`WasmPolicy::evaluate_call`]): the core's synchronous flow from
    /// [`Policy::evaluate_call`]'s verdict, with `hooks` when the policy has
    /// callbacks, else with `now_ms` for the entry. The final verdict code,
    /// or [`FAILED`].
    #[wasm_bindgen(js_name = decideCall)]
    pub fn decide_call(
        &self,
        len: usize,
        args_len: usize,
        hooks: &JsHooks,
        now_ms: f64,
        context: Option<String>,
    ) -> u32 {
        let context = match parse_context(context) {
            Ok(context) => context,
            Err(e) => return code_or_failed(Err(e)),
        };
        if self.callbacks == 0 {
            // No callback can run (the flow only reads the time), so nothing
            // writes to the scratch buffer meanwhile: decide on it in place.
            return SCRATCH.with(|s| {
                let s = s.borrow();
                match (name_in(&s, len), args_in(&s, len, args_len)) {
                    (Ok(tool), Ok(args)) => {
                        self.decide_args(tool, &args, context, None, Some(now_ms))
                    }
                    (Err(e), _) | (_, Err(e)) => code_or_failed(Err(e)),
                }
            });
        }
        // A callback may check again, which rewrites the scratch buffer: the
        // name and the arguments are copied out of it first.
        let start = SCRATCH.with(|s| {
            let s = s.borrow();
            Ok::<_, JsValue>((name_in(&s, len)?.to_string(), args_in(&s, len, args_len)?))
        });
        match start {
            Ok((tool, args)) => self.decide_args(&tool, &args, context, Some(hooks), None),
            Err(e) => code_or_failed(Err(e)),
        }
    }

    /// The argument paths the rules for the name in the first `len` bytes
    /// of the scratch buffer read ([`Policy::argument_paths_for`]), as JSON:
    /// `[["to"], ["recipient", "email"]]`. JavaScript asks once per name
    /// that [`NEEDS_ARGS`], and converts only the values there.
    #[wasm_bindgen(js_name = argumentPaths)]
    pub fn argument_paths(&self, len: usize) -> Result<String, JsValue> {
        SCRATCH.with(|s| to_json(&self.inner.argument_paths_for(name_in(&s.borrow(), len)?)))
    }

    /// Keeps the `len` bytes of the scratch buffer as a name for later
    /// calls to pass by id, the twin of JavaScript's per-name cache. Returns
    /// the id (ids count up from 0 until [`WasmPolicy::forget_names`]), or
    /// [`INVALID`].
    pub fn remember(&self, len: usize) -> u32 {
        SCRATCH.with(|s| match name_in(&s.borrow(), len) {
            // Only names within the limit: decide_bare takes a remembered
            // name as checked.
            Ok(tool) if check_name(tool).is_ok() => {
                let mut names = self.names.borrow_mut();
                names.push(tool.into());
                (names.len() - 1) as u32
            }
            _ => INVALID,
        })
    }

    /// Forgets every remembered name (JavaScript emptied its cache).
    #[wasm_bindgen(js_name = forgetNames)]
    pub fn forget_names(&self) {
        let names = std::mem::take(&mut *self.names.borrow_mut());
        drop(names);
    }

    /// `check()`: the core's synchronous flow ([`Policy::decide_from`]) for
    /// the name in the scratch buffer, from its verdict `code` ([`EVALUATE`]:
    /// none cached yet), with `context` (JSON text of a non-empty object)
    /// for the audit entry. Returns the final verdict code, or [`FAILED`]
    /// with what a callback threw or the core's flow error.
    pub fn decide(&self, len: usize, code: u32, hooks: &JsHooks, context: Option<String>) -> u32 {
        self.decide_with(len, code, context, Some(hooks), None)
    }

    /// [`WasmPolicy::decide`] for a policy without callbacks (no hooks to
    /// pass: nothing calls back), with the time JavaScript read, in
    /// milliseconds since the epoch, for the entry: the hottest call of the
    /// package, `check()` with audit on.
    #[wasm_bindgen(js_name = decideBare)]
    pub fn decide_bare(&self, len: usize, code: u32, now_ms: f64, context: Option<String>) -> u32 {
        if self.callbacks != 0 {
            return code_or_failed(Err(internal("decideBare on a policy with callbacks")));
        }
        if context.is_none() && len & NAME_ID != 0 {
            // The commonest check of all (a repeated name, no context): the
            // same flow as decide_with, with the absent context known here,
            // which spares moving an empty map through every call (7% of
            // this check). Remembered names are within the name limit.
            let names = self.names.borrow();
            let Some(tool) = names.get(len & !NAME_ID) else {
                return code_or_failed(Err(internal(format!(
                    "no remembered name {}",
                    len & !NAME_ID
                ))));
            };
            let verdict = match self.verdict(code) {
                Ok(verdict) => verdict,
                Err(e) => return code_or_failed(Err(e)),
            };
            let mut bridge = self.bridge(None, Some(now_ms));
            return match self.inner.decide_from(tool, verdict, None, &mut bridge) {
                Ok(v) if v == verdict => code,
                Ok(v) => code_or_failed(self.code(v)),
                Err(e) => code_or_failed(Err(flow_error(e))),
            };
        }
        self.decide_with(len, code, context, None, Some(now_ms))
    }

    /// Step 2 of `checkAsync()`, and of `check()` given `approved`: applies
    /// the settled answer of an asynchronous approver, or the caller's
    /// answer (classified as for [`JsHooks`]), to the pending verdict `code` ([`Policy::answer_approval`] in [`Mode::Async`]): the
    /// final code, or [`FAILED`].
    #[wasm_bindgen(js_name = answerApproval)]
    pub fn answer_approval(&self, code: u32, answer: JsValue) -> u32 {
        code_or_failed(self.verdict(code).and_then(|verdict| {
            self.inner
                .answer_approval(verdict, answer_of(&answer), Mode::Async, &Names::JS)
                .map_err(|e| thrown(&e))
                .and_then(|v| self.code(v))
        }))
    }

    /// Steps 3 and 4 on their own: [`Policy::record`], in [`Mode::Async`]
    /// for `checkAsync()` (a callback's Promise is JavaScript's to await),
    /// or in [`Mode::Sync`] when `sync` (`check()` with an approval answer
    /// given by the caller: a Promise from a callback is then the core's
    /// error). 0, or [`FAILED`].
    pub fn record(
        &self,
        len: usize,
        code: u32,
        hooks: &JsHooks,
        context: Option<String>,
        sync: bool,
    ) -> u32 {
        let mode = if sync { Mode::Sync } else { Mode::Async };
        code_or_failed(parse_context(context).and_then(|context| {
            self.with_name(len, |tool| {
                let verdict = self.verdict(code)?;
                let mut bridge = self.bridge(Some(hooks), None);
                self.inner
                    .record(tool, verdict, context, &mut bridge, mode)
                    .map(|()| 0)
                    .map_err(flow_error)
            })
        }))
    }

    /// A verdict code (with its shadow set in the slot) as `[pure,
    /// result]`: whether the pure step can give it (an approval's outcome
    /// cannot), and the result as the core serialises it (`{"tool",
    /// "decision", "reason", "matched_rule", "rule", "shadow"}`) with an
    /// empty tool for JavaScript to fill in.
    pub fn describe(&self, code: u32) -> Result<String, JsValue> {
        let verdict = self.verdict(code)?;
        let pure = !matches!(
            verdict.rule,
            Rule::Approved(_)
                | Rule::ApprovalDenied(_)
                | Rule::RuleApproved(_)
                | Rule::RuleApprovalDenied(_)
        );
        Ok(format!(
            "[{pure},{}]",
            to_json(&self.inner.result("", verdict))?
        ))
    }

    /// The kept audit entries, oldest first, as a JSON array of
    /// `[to_dict(), matched rule]` pairs.
    #[wasm_bindgen(js_name = auditLog)]
    pub fn audit_log(&self) -> Result<String, JsValue> {
        let log = self.log.borrow();
        let mut out = String::from("[");
        for (i, entry) in log.entries_of(&self.inner).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&entry_json(&entry)?);
        }
        out.push(']');
        Ok(out)
    }

    /// How many entries were dropped to respect the capacity since the last
    /// [`WasmPolicy::clear_audit`].
    #[wasm_bindgen(getter, js_name = auditDropped)]
    pub fn audit_dropped(&self) -> f64 {
        self.log.borrow().dropped() as f64
    }

    /// Empties the log and resets the dropped count.
    #[wasm_bindgen(js_name = clearAudit)]
    pub fn clear_audit(&self) {
        self.log.borrow_mut().clear();
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

    /// Whether any rule reads an argument: if not, every verdict depends on
    /// the tool's name alone.
    #[wasm_bindgen(getter, js_name = readsArguments)]
    pub fn reads_arguments(&self) -> bool {
        self.reads
    }

    /// The policy file (tokenfence's `to_dict()`) as JSON text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.spec().to_value().to_string()
    }
}

impl WasmPolicy {
    fn bridge<'a>(&'a self, js: Option<&'a JsHooks>, now_ms: Option<f64>) -> Bridge<'a> {
        Bridge {
            policy: self,
            js,
            now_ms,
        }
    }

    /// The code of a verdict (see [`TAG_BITS`]); with its shadow set
    /// written to the slot when it has one ([`SHADOWED`]): call this right
    /// before the code crosses to JavaScript.
    fn code(&self, verdict: Verdict) -> Result<u32, JsValue> {
        let code = plain_code(verdict.rule)?;
        if verdict.shadow.is_empty() {
            return Ok(code);
        }
        SHADOW.with(|s| s.set(verdict.shadow.0));
        Ok(code | SHADOWED)
    }

    /// Whether a rule that applies to `tool` reads an argument: then its
    /// verdict depends on the call's arguments (no per-name cache holds it).
    fn needs_args(&self, tool: &str) -> bool {
        self.reads
            && self.inner.rules_apply_to(tool)
            && !self.inner.argument_paths_for(tool).is_empty()
    }

    // Written out, not through with_name's closures and `?`: this is the
    // body of every check, and the generic version cost a sixth of an
    // audited check in Node.
    fn decide_with(
        &self,
        len: usize,
        code: u32,
        context: Option<String>,
        js: Option<&JsHooks>,
        now_ms: Option<f64>,
    ) -> u32 {
        let context = match parse_context(context) {
            Ok(context) => context,
            Err(e) => return code_or_failed(Err(e)),
        };
        if self.callbacks != 0 {
            // A callback may check again, which rewrites the scratch buffer
            // and the remembered names under us: decide on a copy.
            return match self.with_name(len, |tool| Ok(tool.to_string())) {
                Ok(tool) => self.decide_on(&tool, code, context, js, now_ms),
                Err(e) => code_or_failed(Err(e)),
            };
        }
        // No callback can run (the flow only reads the time), so nothing
        // writes to the scratch buffer or the names meanwhile.
        if len & NAME_ID != 0 {
            let names = self.names.borrow();
            return match names.get(len & !NAME_ID) {
                Some(tool) => self.decide_on(tool, code, context, js, now_ms),
                None => code_or_failed(Err(internal(format!(
                    "no remembered name {}",
                    len & !NAME_ID
                )))),
            };
        }
        SCRATCH.with(|s| match name_in(&s.borrow(), len) {
            Ok(tool) => self.decide_on(tool, code, context, js, now_ms),
            Err(e) => code_or_failed(Err(e)),
        })
    }

    /// The core's synchronous flow for `tool` from verdict `code`: the
    /// final code, or [`FAILED`].
    fn decide_on(
        &self,
        tool: &str,
        code: u32,
        context: Option<Ctx>,
        js: Option<&JsHooks>,
        now_ms: Option<f64>,
    ) -> u32 {
        if let Err(e) = check_name(tool) {
            return code_or_failed(Err(thrown(&e)));
        }
        let verdict = if code == EVALUATE {
            if self.needs_args(tool) {
                return NEEDS_ARGS;
            }
            self.inner.evaluate(tool)
        } else {
            match self.verdict(code) {
                Ok(verdict) => verdict,
                Err(e) => return code_or_failed(Err(e)),
            }
        };
        let mut bridge = self.bridge(js, now_ms);
        match self.inner.decide_from(tool, verdict, context, &mut bridge) {
            Ok(v) if code != EVALUATE && v == verdict => code,
            Ok(v) => code_or_failed(self.code(v)),
            Err(e) => code_or_failed(Err(flow_error(e))),
        }
    }

    /// The core's synchronous flow for a call of `tool` with `args`, from
    /// [`Policy::evaluate_call`]'s verdict: the final code, or [`FAILED`].
    fn decide_args(
        &self,
        tool: &str,
        args: &Map<String, Value>,
        context: Option<Ctx>,
        js: Option<&JsHooks>,
        now_ms: Option<f64>,
    ) -> u32 {
        if let Err(e) = check_name(tool) {
            return code_or_failed(Err(thrown(&e)));
        }
        let verdict = self.inner.evaluate_call(tool, args);
        let mut bridge = self.bridge(js, now_ms);
        match self.inner.decide_from(tool, verdict, context, &mut bridge) {
            Ok(v) => code_or_failed(self.code(v)),
            Err(e) => code_or_failed(Err(flow_error(e))),
        }
    }

    /// Runs `f` on the name: `len` bytes in the scratch buffer, or a
    /// remembered name's id (with [`NAME_ID`]).
    fn with_name<T>(
        &self,
        len: usize,
        f: impl FnOnce(&str) -> Result<T, JsValue>,
    ) -> Result<T, JsValue> {
        if len & NAME_ID != 0 {
            let names = self.names.borrow();
            let tool = names
                .get(len & !NAME_ID)
                .ok_or_else(|| internal(format!("no remembered name {}", len & !NAME_ID)))?;
            if self.callbacks == 0 {
                // No callback can run, so none can remember or forget names.
                return f(tool);
            }
            let tool = tool.to_string();
            drop(names);
            return f(&tool);
        }
        if self.callbacks == 0 {
            // No callback can run (the flow only asks JavaScript for the
            // time), so nothing writes to the scratch buffer meanwhile.
            SCRATCH.with(|s| f(name_in(&s.borrow(), len)?))
        } else {
            // A callback may check again, which rewrites (and may grow) the
            // scratch buffer under us: decide from a copy, holding no borrow.
            let tool = SCRATCH.with(|s| name_in(&s.borrow(), len).map(str::to_owned))?;
            f(&tool)
        }
    }

    /// The verdict a code stands for; an error for any code this policy
    /// cannot have produced (never a default decision: that would allow
    /// under `"default": "allow"`).
    fn verdict(&self, code: u32) -> Result<Verdict, JsValue> {
        let shadow = if code & SHADOWED != 0 {
            let set = SHADOW.with(Cell::get);
            // Only rules this policy has, and at least one.
            if set == 0 || set & !self.shadows != 0 {
                return Err(internal(format!(
                    "shadow set {set:#x} is not one of this policy's"
                )));
            }
            Shadow(set)
        } else {
            Shadow::NONE
        };
        let code = code & !SHADOWED;
        let spec = self.inner.spec();
        let i = (code >> TAG_BITS) as usize;
        let default = match spec.default {
            DefaultDecision::Allow => Decision::Allow,
            DefaultDecision::Deny => Decision::Deny,
        };
        let approvals = spec.require_approval.len();
        let rule_decision = self.inner.rule_decision(i);
        let verdict = match code & ((1 << TAG_BITS) - 1) {
            DENY if i < spec.deny.len() => (Decision::Deny, Rule::Deny(i)),
            APPROVAL if i < approvals => (Decision::RequireApproval, Rule::Approval(i)),
            APPROVED if i < approvals => (Decision::Allow, Rule::Approved(i)),
            APPROVAL_DENIED if i < approvals => (Decision::Deny, Rule::ApprovalDenied(i)),
            ALLOW if i < spec.allow.len() => (Decision::Allow, Rule::Allow(i)),
            NOT_IN_ALLOW_LIST if i == 0 && self.inner.has_allow() => {
                (default, Rule::NotInAllowList)
            }
            NO_MATCHING_RULE if i == 0 && !self.inner.has_allow() => {
                (default, Rule::NoMatchingRule)
            }
            BY_RULE if rule_decision.is_some() => {
                (rule_decision.unwrap_or(Decision::Deny), Rule::ByRule(i))
            }
            RULE_APPROVED if rule_decision == Some(Decision::RequireApproval) => {
                (Decision::Allow, Rule::RuleApproved(i))
            }
            RULE_APPROVAL_DENIED if rule_decision == Some(Decision::RequireApproval) => {
                (Decision::Deny, Rule::RuleApprovalDenied(i))
            }
            _ => {
                return Err(internal(format!(
                    "verdict code {code} is not one of this policy's verdicts"
                )))
            }
        };
        Ok(Verdict {
            decision: verdict.0,
            rule: verdict.1,
            shadow,
        })
    }
}

/// The context of a check as JavaScript made it (JSON text of a non-empty
/// object); checked to be JSON, so that an entry never holds anything else.
fn parse_context(text: Option<String>) -> Result<Option<Ctx>, JsValue> {
    let Some(text) = text else {
        return Ok(None);
    };
    serde_json::value::RawValue::from_string(text)
        .map(Some)
        .map_err(|e| {
            thrown(
                &Error::new(
                    agentguard::ErrorKind::Json,
                    format!("cannot be recorded: {e}"),
                )
                .at("context", None),
            )
        })
}

/// The core's message of `ToolDenied` for `tool` and `reason`.
#[wasm_bindgen(js_name = deniedMessage)]
pub fn denied_message(tool: &str, reason: &str) -> String {
    agentguard::denied_message(tool, reason)
}

/// The core's text for a model, through an adapter, of a call that did not
/// run; `decision` is `"deny"` or `"require_approval"` (anything else is an
/// error, never a text).
#[wasm_bindgen(js_name = denialText)]
pub fn denial_text(
    tool: &str,
    decision: &str,
    reason: &str,
    matched_rule: Option<String>,
) -> Result<String, JsValue> {
    let decision = agentguard::Decision::from_name(decision)
        .ok_or_else(|| JsValue::from_str(&format!("not a decision: {decision:?}")))?;
    Ok(agentguard::denial_text(
        tool,
        decision,
        reason,
        matched_rule.as_deref(),
    ))
}

/// CPython's `fnmatch.fnmatchcase(name, pattern)`, exactly.
#[wasm_bindgen]
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    agentguard::fnmatch(name, pattern)
}
