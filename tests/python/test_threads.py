"""One Policy shared by many threads: correct decisions, a consistent audit
log, and the GIL released while a long name is matched."""

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from agentguard import Policy

SPEC = dict(
    name="database-safety",
    allow=["read_database", "generate_report", "list_tables", "describe_schema"],
    deny=["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
    require_approval=["write_database", "create_table", "create_index"],
)
TOOLS = ["read_database", "drop_table", "write_database", "send_email", "create_index",
         "list_tables", "truncate_logs", "describe_schema"]
THREADS, PER_THREAD = 8, 2_000


def _expected():
    reference = Policy(**SPEC, audit=False, on_approval=lambda r: r.tool.startswith("write"))
    return {t: reference.check(t) for t in TOOLS}


def test_thread_pool_shares_one_policy():
    expected = _expected()
    sunk = []
    lock = threading.Lock()

    def sink(entry):
        with lock:
            sunk.append(entry.context["seq"])

    policy = Policy(**SPEC, on_approval=lambda r: r.tool.startswith("write"), on_decision=sink,
                    audit_capacity=THREADS * PER_THREAD)

    def worker(t):
        wrong = 0
        for i in range(PER_THREAD):
            tool = TOOLS[(t + i) % len(TOOLS)]
            if policy.check(tool, context={"thread": t, "seq": (t, i)}) != expected[tool]:
                wrong += 1
        return wrong

    with ThreadPoolExecutor(THREADS) as pool:
        assert sum(pool.map(worker, range(THREADS))) == 0

    log = policy.audit_log
    assert len(log) == THREADS * PER_THREAD and policy.audit_dropped == 0
    assert sorted(sunk) == sorted((t, i) for t in range(THREADS) for i in range(PER_THREAD))
    last = {}
    for entry in log:
        t, i = entry.context["seq"]
        want = expected[entry.tool]
        # Each entry is whole: its tool, decision and reason belong together.
        assert entry.tool == TOOLS[(t + i) % len(TOOLS)]
        assert (entry.decision, entry.reason, entry.matched_rule) == (
            want.decision.value, want.reason, want.matched_rule)
        # Each thread's entries appear in the order that thread made them.
        assert i > last.get(t, -1)
        last[t] = i


def test_bounded_log_under_threads_counts_what_it_dropped():
    policy = Policy(**SPEC, audit_capacity=100)

    def worker(t):
        for i in range(500):
            policy.check(TOOLS[i % len(TOOLS)], context={"t": t, "i": i})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    assert len(policy.audit_log) == 100
    assert policy.audit_dropped == 4 * 500 - 100
    policy.clear_audit()
    assert policy.audit_log == [] and policy.audit_dropped == 0 and policy.audit_capacity == 100


def test_check_releases_the_gil_while_matching_a_long_name():
    # With a huge switch interval, another thread gets the GIL only when the
    # running one releases it explicitly. A background thread counts while
    # it holds the GIL; if `check` kept the GIL while matching, the count
    # could not move during the calls.
    # A set scanned at every position, on names just under the 1 MiB limit:
    # about a millisecond of matching each, repeated for a fifth of a second.
    policy = Policy(deny=["*[b]*"], default="allow", audit=False)
    name = "a" * (2**20)
    count = 0
    stop = False

    def counter():
        nonlocal count
        while not stop:
            count += 1
            time.sleep(0)  # releases and re-takes the GIL

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    thread = threading.Thread(target=counter, daemon=True)
    results = []
    try:
        thread.start()
        time.sleep(0.05)
        before = count
        deadline = time.perf_counter() + 0.2
        while time.perf_counter() < deadline:
            results.append(policy.check(name))
        during = count - before
    finally:
        stop = True
        sys.setswitchinterval(old)
        thread.join()
    assert results and all(r.allowed for r in results)
    assert during > 0


def test_threads_share_one_policy_with_argument_conditions():
    # Many tool names (more than the per-name cache of argument paths keeps,
    # so it is refilled while other threads read it) and arguments: every
    # thread gets the decision a fresh policy gives.
    rules = [
        {"id": "small", "tool": "refund_*", "decision": "allow", "when": {"amount": {"lte": 100}}},
        {"id": "no-evil", "tool": "send_*", "decision": "deny", "when": {"to": {"glob": "*@evil.com"}}},
        {"id": "mail", "tool": "send_*", "decision": "allow", "when": {"to": {"glob": "*@ok.com"}}},
    ]
    calls = []
    for i in range(3000):
        calls.append((f"refund_{i}", {"amount": i % 200, "note": {i}}))
        calls.append((f"send_{i}", {"to": ["a@ok.com", "b@evil.com", "c@x.com"][i % 3]}))
    fresh = Policy(rules=rules, audit=False)
    expected = [fresh.evaluate(t, args=a).to_dict() for t, a in calls]
    assert {e["decision"] for e in expected} == {"allow", "deny"}
    shared = Policy(rules=rules, audit_capacity=100)

    def worker(t):
        wrong = 0
        for k in range(len(calls)):
            j = (k * 7 + t * 613) % len(calls)
            tool, args = calls[j]
            if shared.check(tool, args=args).to_dict() != expected[j]:
                wrong += 1
        return wrong

    with ThreadPoolExecutor(THREADS) as pool:
        assert sum(pool.map(worker, range(THREADS))) == 0
    assert shared.audit_dropped == THREADS * len(calls) - 100
