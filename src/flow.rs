//! The decision flow, once: evaluate (pure), ask the approver when the
//! result needs approval, record the audit entry, run `on_decision` and
//! `on_deny`.
//!
//! Every binding runs a check through [`Policy::decide`] (or, for an
//! asynchronous approver, through the same steps one by one:
//! [`Policy::answer_approval`] and [`Policy::record`]), implementing
//! [`Hooks`] by calling into its language. What a hook observes, the order
//! the hooks run in, what a failing or non-boolean approver does and every
//! message are decided here, and pinned by the flow vectors in
//! `tests/vectors/flow.json` that the Rust, JavaScript and Python suites all
//! run.
//!
//! The order, and what each step sees:
//!
//! 1. the verdict is evaluated (pure; a binding may have cached it);
//! 2. a `require_approval` verdict with an approver is answered: `true`
//!    allows, `false` denies, anything else is an error (a Promise or
//!    coroutine in the synchronous flow, a string, `None`, a truthy object);
//!    an error raised by the approver propagates. Nothing is recorded when
//!    the approver fails: the call is neither allowed nor audited;
//! 3. when audit is on, the entry is appended to the log, so `on_decision`
//!    finds its own entry already in the log, and an entry made by a
//!    re-entrant check from inside a hook comes after it;
//! 4. `on_decision` receives the entry; then, for a deny, `on_deny` runs.
//!    Both run even if the other fails; the first failure is returned, so
//!    the caller gets an error instead of a result (fail closed). In the
//!    synchronous flow a hook that returns a Promise or coroutine is such a
//!    failure: its outcome would arrive after the decision.

use crate::audit::AuditEntry;
use crate::decision::{Decision, Verdict};
use crate::error::{Error, ErrorKind};
use crate::policy::Policy;

/// The largest tool name accepted by the flow, in bytes of UTF-8: 1 MiB.
/// Longer names are an [`ErrorKind::TooLong`] error before anything is
/// decided; the bindings refuse them before copying them anywhere.
pub const MAX_NAME_BYTES: usize = 1 << 20;

/// Checks a tool name against [`MAX_NAME_BYTES`].
///
/// ```
/// assert!(agentguard::check_name("drop_table").is_ok());
/// let err = agentguard::check_name(&"x".repeat((1 << 20) + 1)).unwrap_err();
/// assert_eq!(err.kind(), agentguard::ErrorKind::TooLong);
/// ```
pub fn check_name(tool: &str) -> Result<(), Error> {
    name_length(tool.len())
}

/// The same check as [`check_name`], on a length in bytes of UTF-8 that a
/// binding measured without copying the name.
pub fn name_length(bytes: usize) -> Result<(), Error> {
    if bytes > MAX_NAME_BYTES {
        return Err(Error::new(
            ErrorKind::TooLong,
            format!("tool name is {bytes} bytes of UTF-8; the limit is {MAX_NAME_BYTES} (1 MiB)"),
        ));
    }
    Ok(())
}

/// What an approval callback returned, as the binding saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A real `true`.
    Approve,
    /// A real `false`.
    Refuse,
    /// A Promise (JS) or a coroutine / awaitable (Python): an answer that
    /// has not arrived yet.
    Pending,
    /// Anything else, described for the message (`string "yes"`).
    Invalid(String),
}

impl From<bool> for Answer {
    fn from(b: bool) -> Answer {
        if b {
            Answer::Approve
        } else {
            Answer::Refuse
        }
    }
}

/// Where [`Policy::ask_approval`] left a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// The verdict to record: no approval was needed or asked for, or the
    /// approver's answer is applied.
    Decided(Verdict),
    /// The approver's answer has not arrived ([`Mode::Async`] only): await
    /// it, then apply it with [`Policy::answer_approval`]. The verdict is
    /// still the pending one.
    Pending(Verdict),
}

/// What `on_decision` or `on_deny` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    /// It ran to completion.
    Done,
    /// It returned a Promise or coroutine: it has not finished.
    Pending,
}

/// Which flow is running: the synchronous `check` or `check_async`, which
/// awaits a pending approver and pending hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `check()` / `enforce()`: every hook must finish before it returns.
    Sync,
    /// `checkAsync()` / `check_async()`: the binding awaits what is pending.
    Async,
}

/// How a language spells the names that flow messages mention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names {
    /// The approval callback (`onApproval`, `on_approval`).
    pub on_approval: &'static str,
    /// The audit sink (`onDecision`, `on_decision`).
    pub on_decision: &'static str,
    /// The deny callback (`onDeny`, `on_deny`).
    pub on_deny: &'static str,
    /// The synchronous entry points (`check() / enforce()`).
    pub sync_calls: &'static str,
    /// The asynchronous entry points (`checkAsync() / enforceAsync()`).
    pub async_calls: &'static str,
    /// What an unfinished answer is called (`a Promise`, `a coroutine`).
    pub pending: &'static str,
    /// The two boolean values (`true or false`, `True or False`).
    pub booleans: &'static str,
}

impl Names {
    /// Rust's names (the [`Hooks`] methods).
    pub const RUST: Names = Names {
        on_approval: "approve",
        on_decision: "on_decision",
        on_deny: "on_deny",
        sync_calls: "decide()",
        async_calls: "answer_approval() and record() in Mode::Async",
        pending: "Answer::Pending",
        booleans: "true or false",
    };
    /// The npm package's names.
    pub const JS: Names = Names {
        on_approval: "onApproval",
        on_decision: "onDecision",
        on_deny: "onDeny",
        sync_calls: "check() / enforce()",
        async_calls: "checkAsync() / enforceAsync()",
        pending: "a Promise",
        booleans: "true or false",
    };
    /// The Python package's names.
    pub const PYTHON: Names = Names {
        on_approval: "on_approval",
        on_decision: "on_decision",
        on_deny: "on_deny",
        sync_calls: "check() / enforce()",
        async_calls: "check_async() / enforce_async()",
        pending: "a coroutine",
        booleans: "True or False",
    };
}

/// A failure of the flow: a hook raised (`Hook`, the host language's own
/// error, passed through untouched), or the flow refused an input or a hook's
/// answer (`Flow`, the core's error: a name over the limit, a non-boolean
/// approval, a Promise in the synchronous flow). Either way the caller gets
/// no result: nothing is allowed by a failure.
#[derive(Debug, PartialEq, Eq)]
pub enum FlowError<E> {
    /// A hook raised this.
    Hook(E),
    /// The flow refused something; the bindings raise it as a `TypeError`
    /// (kinds `async_hook`, `not_a_bool`) or `RangeError` / `ValueError`
    /// (kind `too_long`).
    Flow(Error),
}

/// The side effects around a decision, implemented by each binding by
/// calling into its language. The order they run in is fixed by
/// [`Policy::decide`].
pub trait Hooks<C> {
    /// The error a hook can raise (an exception of the host language).
    type Error;

    /// How this language names things in flow messages.
    const NAMES: Names;

    /// The current time, in seconds since the Unix epoch.
    fn now(&mut self) -> f64;

    /// Asks for approval of an approval-gated verdict for `tool`. `None`
    /// when no approval callback is configured (the result stays
    /// `require_approval`).
    fn approve(&mut self, tool: &str, pending: Verdict) -> Option<Result<Answer, Self::Error>>;

    /// Whether `on_decision` is set (when it is not, the entry is made
    /// only for the log).
    fn has_on_decision(&self) -> bool;

    /// Appends an entry to the binding's audit log (a core [`crate::AuditLog`]).
    fn append(&mut self, entry: AuditEntry<C>);

    /// Appends the entry `policy` makes for `verdict` on `tool` at
    /// `timestamp` with `context` to the binding's audit log: what the flow
    /// calls to record a decision. The default makes the entry
    /// ([`AuditEntry::of`]) and hands it to [`Hooks::append`]; a binding
    /// whose log keeps verdicts (an `AuditLog<C, Verdict>`, which makes the
    /// entries when it is read) records them here instead, and makes no
    /// entry at all.
    fn append_verdict(
        &mut self,
        policy: &Policy,
        tool: &str,
        verdict: Verdict,
        timestamp: f64,
        context: Option<C>,
    ) {
        self.append(AuditEntry::of(policy, tool, verdict, timestamp, context));
    }

    /// Receives every audit entry, after it is in the log.
    fn on_decision(&mut self, entry: &AuditEntry<C>) -> Result<Returned, Self::Error>;

    /// Runs after each deny.
    fn on_deny(&mut self, tool: &str, verdict: Verdict) -> Result<Returned, Self::Error>;
}

impl Policy {
    /// The synchronous flow: check, the approver for an approval-gated tool,
    /// then [`Policy::record`]. Returns the final verdict (turn it into a
    /// result with [`Policy::result`]).
    ///
    /// ```
    /// use agentguard::{Answer, AuditEntry, AuditLog, Hooks, JsonMap, Names, Policy, Returned, Verdict};
    ///
    /// struct Approver { log: AuditLog }
    /// impl Hooks<JsonMap> for Approver {
    ///     type Error = std::convert::Infallible;
    ///     const NAMES: Names = Names::RUST;
    ///     fn now(&mut self) -> f64 { agentguard::unix_now() }
    ///     fn approve(&mut self, tool: &str, _: Verdict) -> Option<Result<Answer, Self::Error>> {
    ///         Some(Ok((tool == "send_email").into()))
    ///     }
    ///     fn has_on_decision(&self) -> bool { false }
    ///     fn append(&mut self, entry: AuditEntry) { self.log.push(entry); }
    ///     fn on_decision(&mut self, _: &AuditEntry) -> Result<Returned, Self::Error> { Ok(Returned::Done) }
    ///     fn on_deny(&mut self, _: &str, _: Verdict) -> Result<Returned, Self::Error> { Ok(Returned::Done) }
    /// }
    ///
    /// let policy = Policy::from_json(r#"{"require_approval": ["send_*"], "default": "allow"}"#).unwrap();
    /// let mut hooks = Approver { log: AuditLog::default() };
    /// let v = policy.decide("send_email", None, &mut hooks).unwrap();
    /// assert_eq!(&*policy.result("send_email", v).reason, "approved via callback (pattern: send_*)");
    /// let v = policy.decide("send_sms", None, &mut hooks).unwrap();
    /// assert_eq!(v.decision.as_str(), "deny");
    /// assert_eq!(hooks.log.len(), 2);
    /// ```
    pub fn decide<C: Clone, H: Hooks<C>>(
        &self,
        tool: &str,
        context: Option<C>,
        hooks: &mut H,
    ) -> Result<Verdict, FlowError<H::Error>> {
        self.decide_call(tool, &serde_json::Map::new(), context, hooks)
    }

    /// [`Policy::decide`] for a call with arguments: the pure step is
    /// [`Policy::evaluate_call`].
    pub fn decide_call<C: Clone, H: Hooks<C>>(
        &self,
        tool: &str,
        args: &serde_json::Map<String, serde_json::Value>,
        context: Option<C>,
        hooks: &mut H,
    ) -> Result<Verdict, FlowError<H::Error>> {
        check_name(tool).map_err(FlowError::Flow)?;
        let verdict = self.evaluate_call(tool, args);
        self.decide_from(tool, verdict, context, hooks)
    }

    /// [`Policy::decide`] from a verdict the binding already has (the JS
    /// per-name cache keeps the outcome of the pure step; everything after
    /// it runs here).
    pub fn decide_from<C: Clone, H: Hooks<C>>(
        &self,
        tool: &str,
        verdict: Verdict,
        context: Option<C>,
        hooks: &mut H,
    ) -> Result<Verdict, FlowError<H::Error>> {
        let verdict = match self.ask_approval(tool, verdict, hooks, Mode::Sync)? {
            Approval::Decided(v) | Approval::Pending(v) => v,
        };
        self.record(tool, verdict, context, hooks, Mode::Sync)?;
        Ok(verdict)
    }

    /// Step 2 as a binding that may await runs it: asks the approver when,
    /// and only when, the verdict needs approval and an approver is
    /// configured, and applies a settled answer with
    /// [`Policy::answer_approval`]. In [`Mode::Async`] an
    /// [`Answer::Pending`] is returned as [`Approval::Pending`]: the binding
    /// awaits it and calls [`Policy::answer_approval`] with the settled value
    /// (in the synchronous flow it is an error, as there). Never `Pending`
    /// in [`Mode::Sync`].
    ///
    /// ```
    /// use agentguard::{Answer, Approval, AuditEntry, Hooks, JsonMap, Mode, Names, Policy, Returned, Verdict};
    ///
    /// /// An approver whose answer arrives later (a Promise, a coroutine).
    /// struct Later;
    /// impl Hooks<JsonMap> for Later {
    ///     type Error = ();
    ///     const NAMES: Names = Names::RUST;
    ///     fn now(&mut self) -> f64 { 0.0 }
    ///     fn approve(&mut self, _: &str, _: Verdict) -> Option<Result<Answer, ()>> { Some(Ok(Answer::Pending)) }
    ///     fn has_on_decision(&self) -> bool { false }
    ///     fn append(&mut self, _: AuditEntry) {}
    ///     fn on_decision(&mut self, _: &AuditEntry) -> Result<Returned, ()> { Ok(Returned::Done) }
    ///     fn on_deny(&mut self, _: &str, _: Verdict) -> Result<Returned, ()> { Ok(Returned::Done) }
    /// }
    ///
    /// let policy = Policy::from_json(r#"{"require_approval": ["send_*"], "default": "allow"}"#).unwrap();
    /// let v = policy.evaluate("send_email");
    /// let Ok(Approval::Pending(v)) = policy.ask_approval("send_email", v, &mut Later, Mode::Async) else { panic!() };
    /// // ... the binding awaits the answer, then:
    /// let v = policy.answer_approval(v, Answer::Approve, Mode::Async, &Names::RUST).unwrap();
    /// assert_eq!(v.decision.as_str(), "allow");
    /// // Not approval-gated: the approver is not asked.
    /// let v = policy.evaluate("read_file");
    /// assert_eq!(policy.ask_approval("read_file", v, &mut Later, Mode::Async), Ok(Approval::Decided(v)));
    /// ```
    pub fn ask_approval<C, H: Hooks<C>>(
        &self,
        tool: &str,
        verdict: Verdict,
        hooks: &mut H,
        mode: Mode,
    ) -> Result<Approval, FlowError<H::Error>> {
        if verdict.decision != Decision::RequireApproval {
            return Ok(Approval::Decided(verdict));
        }
        let Some(answer) = hooks.approve(tool, verdict) else {
            return Ok(Approval::Decided(verdict));
        };
        match answer.map_err(FlowError::Hook)? {
            Answer::Pending if mode == Mode::Async => Ok(Approval::Pending(verdict)),
            answer => self
                .answer_approval(verdict, answer, mode, &H::NAMES)
                .map(Approval::Decided)
                .map_err(FlowError::Flow),
        }
    }

    /// Step 2 on its own: applies an approver's answer to a pending verdict.
    /// `Approve` allows (`approved via callback (...)`), `Refuse` denies
    /// (`approval denied via callback (...)`); `Pending` is an error in the
    /// synchronous flow (an asynchronous binding awaits it and calls this
    /// again with the settled value); anything else is an error. A verdict
    /// that does not need approval is returned unchanged.
    pub fn answer_approval(
        &self,
        verdict: Verdict,
        answer: Answer,
        mode: Mode,
        names: &Names,
    ) -> Result<Verdict, Error> {
        if verdict.decision != Decision::RequireApproval {
            return Ok(verdict);
        }
        match answer {
            Answer::Approve => Ok(self.resolve_verdict(verdict, true)),
            Answer::Refuse => Ok(self.resolve_verdict(verdict, false)),
            Answer::Pending => Err(Error::new(
                ErrorKind::AsyncHook,
                match mode {
                    Mode::Sync => format!(
                        "{} returned {} inside {}; that is not an answer, and the tool stays unapproved. Use {} for an asynchronous approver",
                        names.on_approval, names.pending, names.sync_calls, names.async_calls
                    ),
                    Mode::Async => format!(
                        "{} resolved to {}; an approval must settle to {}",
                        names.on_approval, names.pending, names.booleans
                    ),
                },
            )),
            Answer::Invalid(what) => Err(Error::new(
                ErrorKind::NotABool,
                format!(
                    "{} must return {}, got {what}; the tool stays unapproved",
                    names.on_approval, names.booleans
                ),
            )),
        }
    }

    /// Steps 3 and 4: appends the audit entry (when audit is on) and hands
    /// it to `on_decision`, then calls `on_deny` for a deny. Both hooks run
    /// even if the other fails; the entry is recorded either way; the first
    /// failure is returned, so the caller fails closed. In [`Mode::Sync`] a
    /// hook that returns [`Returned::Pending`] is such a failure (the binding
    /// has already made sure its rejection is not left unhandled); in
    /// [`Mode::Async`] the binding awaits what is pending.
    pub fn record<C: Clone, H: Hooks<C>>(
        &self,
        tool: &str,
        verdict: Verdict,
        context: Option<C>,
        hooks: &mut H,
        mode: Mode,
    ) -> Result<(), FlowError<H::Error>> {
        let mut first: Option<FlowError<H::Error>> = None;
        let pending = |hook: &str| {
            FlowError::Flow(Error::new(
                ErrorKind::AsyncHook,
                format!(
                    "{hook} returned {} inside {}; it would finish after the decision and a failure would be lost. Use {} for asynchronous hooks",
                    H::NAMES.pending, H::NAMES.sync_calls, H::NAMES.async_calls
                ),
            ))
        };
        if self.audit_enabled() {
            let timestamp = hooks.now();
            if hooks.has_on_decision() {
                // The entry on_decision receives is the one the log holds:
                // made from the same verdict, time and context.
                let entry = AuditEntry::of(self, tool, verdict, timestamp, context.clone());
                hooks.append_verdict(self, tool, verdict, timestamp, context);
                match hooks.on_decision(&entry) {
                    Ok(Returned::Pending) if mode == Mode::Sync => {
                        first = Some(pending(H::NAMES.on_decision))
                    }
                    Ok(_) => {}
                    Err(e) => first = Some(FlowError::Hook(e)),
                }
            } else {
                hooks.append_verdict(self, tool, verdict, timestamp, context);
            }
        }
        if verdict.decision == Decision::Deny {
            match hooks.on_deny(tool, verdict) {
                Ok(Returned::Pending) if mode == Mode::Sync => {
                    first.get_or_insert_with(|| pending(H::NAMES.on_deny));
                }
                Ok(_) => {}
                Err(e) => {
                    first.get_or_insert(FlowError::Hook(e));
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Hooks that do nothing but tell the time and keep a log: no approver, no
/// sinks. The plain Rust way to run the flow.
#[derive(Clone, Debug, Default)]
pub struct LogHooks<C = crate::audit::JsonMap> {
    /// The audit log the flow appends to.
    pub log: crate::audit::AuditLog<C>,
}

impl<C> Hooks<C> for LogHooks<C> {
    type Error = std::convert::Infallible;
    const NAMES: Names = Names::RUST;

    fn now(&mut self) -> f64 {
        crate::policy::unix_now()
    }

    fn approve(&mut self, _: &str, _: Verdict) -> Option<Result<Answer, Self::Error>> {
        None
    }

    fn has_on_decision(&self) -> bool {
        false
    }

    fn append(&mut self, entry: AuditEntry<C>) {
        self.log.push(entry);
    }

    fn on_decision(&mut self, _: &AuditEntry<C>) -> Result<Returned, Self::Error> {
        Ok(Returned::Done)
    }

    fn on_deny(&mut self, _: &str, _: Verdict) -> Result<Returned, Self::Error> {
        Ok(Returned::Done)
    }
}
