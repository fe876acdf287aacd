"""The decision flow through the installed wheel: the shared flow vectors of
tests/vectors/flow.json (as tests/vectors.rs runs them), in the sync flow
(`check`) and the async one (`check_async`), plus what only Python has:
real `async def` callbacks, coroutines closed rather than left unawaited,
cancellation."""

import asyncio
import gc
import warnings

import pytest

from agentguard import ApprovalRequired, Policy, PolicyResult, ToolDenied
from conftest import load_vectors

CASES = load_vectors("flow")
NAMES = {c["name"] for c in CASES}
assert len(CASES) >= 20 and len(NAMES) == len(CASES)


class Crash(Exception):
    """What a scripted callback raises."""


async def settle(value=None, error=None):
    await asyncio.sleep(0)  # a real suspension, as an I/O-bound hook has
    if error is not None:
        raise Crash(error)
    return value


ANSWERS = {"true": True, "false": False, "string": "yes", "none": None, "object": {"ok": True}}


class Script:
    """The callbacks a case scripts (see make_flow_vectors.py's docstring).
    Each records its call when called, as the Rust runner does: a pending
    hook's coroutine may never run (the sync flow closes it)."""

    def __init__(self, case):
        self.case = case
        self.events = []
        self.depth = 0
        self.policy = None

    def hook_outcome(self, script, failure):
        if script in ("ok", "reenter"):
            return None
        if script == "throw":
            raise Crash(failure)
        if script == "pending_ok":
            return settle()
        if script == "pending_throw":
            return settle(error=failure)
        raise AssertionError(f"unknown hook script {script!r}")

    def approve(self, result):
        assert isinstance(result, PolicyResult) and result.needs_approval
        self.events.append(f"approve {result.tool}")
        script = self.case["hooks"]["approve"]
        if script == "throw":
            raise Crash("approver crashed")
        if script == "pending_true":
            return settle(True)
        if script == "pending_throw":
            return settle(error="approver crashed")
        return ANSWERS[script]

    def on_decision(self, entry):
        self.events.append(f"on_decision {entry.tool} {entry.decision} log={len(self.policy.audit_log)}")
        script = self.case["hooks"]["on_decision"]
        if script == "reenter" and self.depth == 0:
            self.depth += 1
            try:
                self.policy.check(self.case["reenter_tool"])
            finally:
                self.depth -= 1
        return self.hook_outcome(script, "sink down")

    def on_deny(self, result):
        self.events.append(f"on_deny {result.tool} {result.decision.value}")
        return self.hook_outcome(self.case["hooks"]["on_deny"], "alert failed")

    def make_policy(self):
        hooks = self.case["hooks"]
        options = {}
        if hooks["approve"] != "absent":
            options["on_approval"] = self.approve
        if hooks["on_decision"] != "absent":
            options["on_decision"] = self.on_decision
        if hooks["on_deny"] != "absent":
            options["on_deny"] = self.on_deny
        self.policy = Policy.from_dict(self.case["policy"], **options)
        return self.policy


def run(case, mode):
    """(result dict or None, error or None, events, log) of one run."""
    script = Script(case)
    policy = script.make_policy()
    kwargs = {"context": case["context"]}
    result = error = None
    try:
        if mode == "sync":
            result = policy.check(case["tool"], **kwargs)
        else:
            result = asyncio.run(policy.check_async(case["tool"], **kwargs))
    except (Crash, TypeError) as e:
        error = e
    log = [e.to_dict() for e in policy.audit_log]
    for entry in log:
        assert isinstance(entry.pop("timestamp"), float)
    return result, error, script.events, log


def check_outcome(case, outcome):
    result, error, events, log = outcome
    want = case["expect"]
    if want["error"] is None:
        assert error is None, f"expected a result, got {error!r}"
        assert result.to_dict() == want["result"]
    else:
        assert result is None, f"expected an error, got {result!r}"
        if want["error"]["kind"] == "hook":
            assert type(error) is Crash and str(error) == want["error"]["message"]
        else:
            assert type(error) is TypeError, repr(error)
            assert error.kind == want["error"]["kind"]
            assert str(error) == want["error"]["message"]["python"]
    assert events == want["events"]
    assert log == want["log"]


def no_unawaited_warnings(fn):
    """Runs fn with every warning recorded (a coroutine dropped unawaited
    warns when it is collected) and fails on any."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn()
        gc.collect()
    assert [str(w.message) for w in caught] == []
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_flow_vector(case):
    check_outcome(case, no_unawaited_warnings(lambda: run(case, case["mode"])))


SYNC_ONLY_SCRIPTS = {"pending_true", "pending_throw", "pending_ok"}
SAME_IN_BOTH = [c for c in CASES if c["mode"] == "sync"
                and not SYNC_ONLY_SCRIPTS & set(c["hooks"].values())]


@pytest.mark.parametrize("case", SAME_IN_BOTH, ids=lambda c: c["name"])
def test_sync_vectors_without_coroutines_are_the_same_in_check_async(case):
    check_outcome(case, no_unawaited_warnings(lambda: run(case, "async")))


def test_every_script_value_is_exercised():
    used = {(hook, c["hooks"][hook], c["mode"]) for c in CASES for hook in c["hooks"]}
    for hook, script in [("approve", "string"), ("approve", "none"), ("approve", "object"),
                         ("approve", "throw"), ("on_decision", "reenter")]:
        assert (hook, script, "sync") in used
    for hook in ["approve", "on_decision", "on_deny"]:
        assert any(h == hook and s.startswith("pending") and m == "async" for h, s, m in used), hook


DB = dict(allow=["read_*"], deny=["drop_*"], require_approval=["write_*"])


def test_a_real_async_def_approver():
    async def approve(result):
        await asyncio.sleep(0)
        return result.tool == "write_ok"

    policy = Policy(**DB, on_approval=approve)
    ok = asyncio.run(policy.check_async("write_ok", context={"a": 1}))
    no = asyncio.run(policy.check_async("write_no"))
    assert ok.reason == "approved via callback (pattern: write_*)" and ok.allowed
    assert no.reason == "approval denied via callback (pattern: write_*)" and no.denied
    assert [(e.tool, e.decision, e.context) for e in policy.audit_log] == [
        ("write_ok", "allow", {"a": 1}), ("write_no", "deny", {})]


@pytest.mark.parametrize("answer, described", [
    ("yes", "str 'yes'"), (None, "NoneType None"), (1, "int 1"), ([0], "list [0]")])
def test_async_approver_must_settle_to_a_bool(answer, described):
    async def approve(result):
        return answer

    policy = Policy(**DB, on_approval=approve)
    with pytest.raises(TypeError) as info:
        asyncio.run(policy.check_async("write_x"))
    assert info.value.kind == "not_a_bool"
    assert str(info.value) == (f"on_approval must return True or False, got {described}; "
                               "the tool stays unapproved")
    assert policy.audit_log == []


def test_an_approval_that_settles_to_another_coroutine_is_refused_and_closed():
    async def inner():
        return True

    async def approve(result):
        return inner()

    policy = Policy(**DB, on_approval=approve)

    def attempt():
        with pytest.raises(TypeError) as info:
            asyncio.run(policy.check_async("write_x"))
        return info.value

    err = no_unawaited_warnings(attempt)
    assert err.kind == "async_hook"
    assert str(err) == "on_approval resolved to a coroutine; an approval must settle to True or False"
    assert policy.audit_log == []


def test_async_hooks_are_awaited_in_order_after_both_ran():
    order = []

    async def on_decision(entry):
        order.append("on_decision started")
        await asyncio.sleep(0)
        order.append("on_decision finished")

    async def on_deny(result):
        order.append("on_deny started")
        await asyncio.sleep(0)
        order.append("on_deny finished")

    policy = Policy(**DB, on_decision=on_decision, on_deny=on_deny)
    result = asyncio.run(policy.check_async("drop_x"))
    assert result.denied
    assert order == ["on_decision started", "on_decision finished", "on_deny started", "on_deny finished"]


def test_async_flow_raises_the_first_failure_after_awaiting_everything():
    finished = []

    async def on_decision(entry):
        raise Crash("sink down")

    async def on_deny(result):
        await asyncio.sleep(0)
        finished.append(result.tool)
        raise Crash("alert failed")

    policy = Policy(**DB, on_decision=on_decision, on_deny=on_deny)
    with pytest.raises(Crash, match="sink down"):
        asyncio.run(policy.check_async("drop_x"))
    assert finished == ["drop_x"] and len(policy.audit_log) == 1


def test_a_hook_failing_before_awaiting_comes_first():
    # on_deny raises while the flow runs; on_decision's coroutine fails only
    # when awaited, later: the earlier failure is the one raised.
    async def on_decision(entry):
        raise Crash("sink down")

    def on_deny(result):
        raise Crash("alert failed")

    policy = Policy(**DB, on_decision=on_decision, on_deny=on_deny)
    with pytest.raises(Crash, match="alert failed"):
        no_unawaited_warnings(lambda: asyncio.run(policy.check_async("drop_x")))


def test_cancelled_while_awaiting_the_approver_records_nothing():
    async def main():
        gate = asyncio.Event()

        async def approve(result):
            gate.set()
            await asyncio.sleep(3600)
            return True

        policy = Policy(**DB, on_approval=approve)
        task = asyncio.ensure_future(policy.check_async("write_x"))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return policy

    policy = asyncio.run(main())
    assert policy.audit_log == []


def test_cancelled_while_awaiting_hooks_closes_the_rest():
    async def main():
        gate = asyncio.Event()

        async def on_decision(entry):
            gate.set()
            await asyncio.sleep(3600)

        async def on_deny(result):
            raise AssertionError("never started")

        policy = Policy(**DB, on_decision=on_decision, on_deny=on_deny)
        task = asyncio.ensure_future(policy.check_async("drop_x"))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return policy

    policy = no_unawaited_warnings(lambda: asyncio.run(main()))
    assert [e.tool for e in policy.audit_log] == ["drop_x"]


def test_enforce_async():
    async def approve(result):
        return result.tool == "write_ok"

    policy = Policy(**DB, on_approval=approve)

    async def main():
        assert (await policy.enforce_async("write_ok")).allowed
        assert (await policy.enforce_async("read_x")).allowed
        with pytest.raises(ToolDenied) as denied:
            await policy.enforce_async("write_no")
        assert type(denied.value) is ToolDenied
        assert str(denied.value) == "Tool 'write_no' denied: approval denied via callback (pattern: write_*)"
        with pytest.raises(ToolDenied, match="denied by pattern: drop_"):
            await policy.enforce_async("drop_x", context={"k": 1})

    asyncio.run(main())
    unapproved = Policy(**DB)
    with pytest.raises(ApprovalRequired):
        asyncio.run(unapproved.enforce_async("write_x"))
    assert [e.tool for e in policy.audit_log] == ["write_ok", "read_x", "write_no", "drop_x"]


def test_check_async_checks_its_arguments_like_check():
    policy = Policy(**DB)
    with pytest.raises(TypeError, match="tool name must be a str, not int"):
        asyncio.run(policy.check_async(5))
    with pytest.raises(UnicodeEncodeError):
        asyncio.run(policy.check_async("read_\ud800"))
    with pytest.raises(ValueError, match="tool name is 1048577 bytes of UTF-8"):
        asyncio.run(policy.check_async("r" * (2**20 + 1)))
    assert policy.audit_log == []


def test_check_async_is_a_coroutine_and_sync_callbacks_work():
    seen = []
    policy = Policy(**DB, on_approval=lambda r: True, on_decision=seen.append, on_deny=seen.append)
    coro = policy.check_async("write_x")
    assert asyncio.iscoroutine(coro)
    assert asyncio.run(coro).allowed
    assert asyncio.run(policy.check_async("drop_x")).denied
    assert [type(s).__name__ for s in seen] == ["AuditEntry", "AuditEntry", "PolicyResult"]


# Item 3 of issue 9: in the synchronous flow, only a real bool is an answer.

@pytest.mark.parametrize("answer, described", [
    ("yes", "str 'yes'"), ("", "str ''"), (None, "NoneType None"), (1, "int 1"), (0, "int 0"),
    ({"ok": True}, "dict {'ok': True}"), ([], "list []"),
])
def test_a_non_bool_answer_is_a_type_error_never_a_decision(answer, described):
    decided = []
    policy = Policy(**DB, on_approval=lambda r: answer, on_decision=decided.append)
    for method in (policy.check, policy.enforce):
        with pytest.raises(TypeError) as info:
            method("write_x")
        assert info.value.kind == "not_a_bool"
        assert str(info.value) == (f"on_approval must return True or False, got {described}; "
                                   "the tool stays unapproved")
    assert policy.audit_log == [] and decided == []


def test_a_truthy_object_is_not_an_approval():
    class Truthy:
        def __bool__(self):
            raise AssertionError("the answer's truthiness is never asked")

        def __repr__(self):
            return "Truthy()"

    policy = Policy(**DB, on_approval=lambda r: Truthy())
    with pytest.raises(TypeError, match=r"got Truthy Truthy\(\);"):
        policy.check("write_x")


def test_a_huge_repr_is_cut_short_in_the_message():
    policy = Policy(**DB, on_approval=lambda r: "y" * 10_000)
    with pytest.raises(TypeError) as info:
        policy.check("write_x")
    assert len(str(info.value)) < 400 and "yyy..." in str(info.value)


def test_async_def_approver_in_check_is_a_type_error_without_a_warning():
    ran = []

    async def approve(result):
        ran.append(result.tool)
        return True

    policy = Policy(**DB, on_approval=approve)

    def attempt():
        with pytest.raises(TypeError) as info:
            policy.check("write_x")
        return info.value

    err = no_unawaited_warnings(attempt)
    assert err.kind == "async_hook"
    assert str(err) == ("on_approval returned a coroutine inside check() / enforce(); that is not an "
                        "answer, and the tool stays unapproved. Use check_async() / enforce_async() "
                        "for an asynchronous approver")
    assert ran == [] and policy.audit_log == []


def test_an_awaitable_that_is_not_a_coroutine_is_pending_too():
    class Later:
        def __await__(self):
            return iter(())

    policy = Policy(**DB, on_approval=lambda r: Later())
    with pytest.raises(TypeError, match="on_approval returned a coroutine") as info:
        policy.enforce("write_x")
    assert info.value.kind == "async_hook"


@pytest.mark.parametrize("hook", ["on_decision", "on_deny"])
def test_async_def_hooks_in_check_are_type_errors_without_a_warning(hook):
    ran = []

    async def callback(value):
        ran.append(value)

    policy = Policy(**DB, **{hook: callback})

    def attempt():
        with pytest.raises(TypeError) as info:
            policy.check("drop_x")
        return info.value

    err = no_unawaited_warnings(attempt)
    assert err.kind == "async_hook"
    assert str(err) == (f"{hook} returned a coroutine inside check() / enforce(); it would finish "
                        "after the decision and a failure would be lost. Use check_async() / "
                        "enforce_async() for asynchronous hooks")
    assert ran == []
    assert [e.tool for e in policy.audit_log] == ["drop_x"]  # recorded, then the error
    # The same callbacks are fine in the async flow.
    assert asyncio.run(policy.check_async("drop_y")).denied
    assert len(ran) == 1


# Issue 15: the answer to a call's approval, obtained outside on_approval
# (a person answering through an agent framework), given to check as
# `approved`: the core applies it, and the call's one entry carries it.

def test_approved_answers_require_approval_in_the_one_entry():
    asked = []
    policy = Policy(**DB, on_approval=lambda r: asked.append(r) or True)
    yes = policy.check("write_x", approved=True)
    no = policy.check("write_y", approved=False, context={"user": "u1"})
    assert (yes.decision, yes.reason) == ("allow", "approved via callback (pattern: write_*)")
    assert (no.decision, no.reason) == ("deny", "approval denied via callback (pattern: write_*)")
    assert asked == [], "on_approval is not asked when the answer is given"
    assert [(e.tool, e.decision, e.reason, e.context) for e in policy.audit_log] == [
        ("write_x", "allow", "approved via callback (pattern: write_*)", {}),
        ("write_y", "deny", "approval denied via callback (pattern: write_*)", {"user": "u1"}),
    ]


def test_approved_is_ignored_for_a_decision_that_is_not_require_approval():
    policy = Policy(**DB)
    assert policy.check("read_x", approved=False).allowed
    assert policy.check("drop_x", approved=True).denied
    assert policy.check("write_x", approved=None).needs_approval
    assert [e.decision for e in policy.audit_log] == ["allow", "deny", "require_approval"]


@pytest.mark.parametrize("value", ["yes", 1, 0, {"ok": True}, []])
def test_a_non_bool_approved_is_a_type_error_and_nothing_is_recorded(value):
    policy = Policy(**DB)
    for call in (policy.check, policy.enforce):
        with pytest.raises(TypeError, match="approved must be True or False"):
            call("write_x", approved=value)
    for call in (policy.check_async, policy.enforce_async):
        with pytest.raises(TypeError, match="approved must be True or False"):
            call("write_x", approved=value)  # at the call, before any coroutine
    assert policy.audit_log == []


def test_approved_in_enforce_and_the_async_calls():
    decided = []
    policy = Policy(**DB, on_approval=lambda r: False, on_decision=decided.append)
    assert policy.enforce("write_x", approved=True).allowed
    with pytest.raises(ToolDenied) as denied:
        policy.enforce("write_x", approved=False)
    assert type(denied.value) is ToolDenied

    async def main():
        assert (await policy.check_async("write_a", approved=True)).allowed
        assert (await policy.enforce_async("write_b", approved=True)).allowed
        with pytest.raises(ToolDenied):
            await policy.enforce_async("write_c", approved=False)

    asyncio.run(main())
    assert [(e.tool, e.decision) for e in policy.audit_log] == [
        ("write_x", "allow"), ("write_x", "deny"), ("write_a", "allow"), ("write_b", "allow"), ("write_c", "deny")]
    assert len(decided) == 5


def test_approved_in_check_keeps_the_sync_rules_for_hooks():
    async def sink(entry):
        pass

    policy = Policy(**DB, on_decision=sink)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="on_decision returned a coroutine inside check"):
            policy.check("write_x", approved=True)
        gc.collect()
    # Recorded (the entry is made before the hook runs), but no result.
    assert [e.decision for e in policy.audit_log] == ["allow"]
