//! `Policy::ask_approval`: step 2 of the flow as a binding that may await
//! runs it (the Python and JS `check_async`). One row per case: whether the
//! approver is asked, and what comes out, in both modes.

use agentguard::{
    Answer, Approval, AuditEntry, FlowError, Hooks, JsonMap, Mode, Names, Policy, Returned, Verdict,
};

/// An approver that answers as scripted and counts how often it is asked.
struct Approver {
    answer: Option<Result<Answer, &'static str>>,
    asked: usize,
}

impl Hooks<JsonMap> for Approver {
    type Error = &'static str;
    const NAMES: Names = Names::RUST;
    fn now(&mut self) -> f64 {
        0.0
    }
    fn approve(&mut self, _: &str, _: Verdict) -> Option<Result<Answer, &'static str>> {
        self.asked += usize::from(self.answer.is_some());
        self.answer.clone()
    }
    fn has_on_decision(&self) -> bool {
        false
    }
    fn append(&mut self, _: AuditEntry) {}
    fn on_decision(&mut self, _: &AuditEntry) -> Result<Returned, &'static str> {
        Ok(Returned::Done)
    }
    fn on_deny(&mut self, _: &str, _: Verdict) -> Result<Returned, &'static str> {
        Ok(Returned::Done)
    }
}

/// What a run came to, in short: `decided <decision> <reason>`,
/// `pending`, `hook <message>` or `<error kind>`.
fn outcome(policy: &Policy, r: Result<Approval, FlowError<&'static str>>) -> String {
    match r {
        Ok(Approval::Decided(v)) => format!("decided {} {}", v.decision, policy.reason(v)),
        Ok(Approval::Pending(v)) => {
            assert_eq!(v.decision.as_str(), "require_approval");
            "pending".into()
        }
        Err(FlowError::Hook(m)) => format!("hook {m}"),
        Err(FlowError::Flow(e)) => e.kind().as_str().into(),
    }
}

/// What the scripted approver answers: `None` when there is no approver.
type Scripted = Option<Result<Answer, &'static str>>;

#[test]
fn ask_approval_table() {
    let policy = Policy::from_json(
        r#"{"allow": ["read_*"], "deny": ["drop_*"], "require_approval": ["write_*"]}"#,
    )
    .unwrap();
    let invalid = || Some(Ok(Answer::Invalid("string \"yes\"".into())));
    #[rustfmt::skip]
    let cases: Vec<(&str, Scripted, Mode, usize, &str)> = vec![
        // tool, approver's answer (None: no approver), mode, times asked, outcome
        ("write_x", Some(Ok(Answer::Approve)), Mode::Sync, 1, "decided allow approved via callback (pattern: write_*)"),
        ("write_x", Some(Ok(Answer::Approve)), Mode::Async, 1, "decided allow approved via callback (pattern: write_*)"),
        ("write_x", Some(Ok(Answer::Refuse)), Mode::Async, 1, "decided deny approval denied via callback (pattern: write_*)"),
        ("write_x", None, Mode::Sync, 0, "decided require_approval requires approval per pattern: write_*"),
        ("write_x", None, Mode::Async, 0, "decided require_approval requires approval per pattern: write_*"),
        ("write_x", Some(Ok(Answer::Pending)), Mode::Async, 1, "pending"),
        ("write_x", Some(Ok(Answer::Pending)), Mode::Sync, 1, "async_hook"),
        ("write_x", invalid(), Mode::Sync, 1, "not_a_bool"),
        ("write_x", invalid(), Mode::Async, 1, "not_a_bool"),
        ("write_x", Some(Err("approver crashed")), Mode::Async, 1, "hook approver crashed"),
        // Not approval-gated: the approver is never asked, whatever it would say.
        ("read_x", Some(Err("approver crashed")), Mode::Sync, 0, "decided allow allowed by pattern: read_*"),
        ("drop_x", Some(Ok(Answer::Pending)), Mode::Async, 0, "decided deny denied by pattern: drop_*"),
        ("other", Some(Ok(Answer::Approve)), Mode::Async, 0, "decided deny not in allow list (default: deny)"),
    ];
    for (tool, answer, mode, asked, want) in cases {
        let mut hooks = Approver { answer, asked: 0 };
        let got = policy.ask_approval(tool, policy.evaluate(tool), &mut hooks, mode);
        assert_eq!(outcome(&policy, got), want, "{tool} {mode:?}");
        assert_eq!(hooks.asked, asked, "{tool} {mode:?}: times asked");
    }
}

#[test]
fn a_pending_answer_settles_through_answer_approval() {
    let policy = Policy::from_json(r#"{"require_approval": ["write_*"]}"#).unwrap();
    let mut hooks = Approver {
        answer: Some(Ok(Answer::Pending)),
        asked: 0,
    };
    let Ok(Approval::Pending(v)) = policy.ask_approval(
        "write_x",
        policy.evaluate("write_x"),
        &mut hooks,
        Mode::Async,
    ) else {
        panic!("expected a pending answer");
    };
    let names = Names::PYTHON;
    let refused = policy
        .answer_approval(v, Answer::Refuse, Mode::Async, &names)
        .unwrap();
    assert_eq!(
        &*policy.reason(refused),
        "approval denied via callback (pattern: write_*)"
    );
    // A settled value that is itself pending is an error, in the async wording.
    let err = policy
        .answer_approval(v, Answer::Pending, Mode::Async, &names)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "on_approval resolved to a coroutine; an approval must settle to True or False"
    );
}
