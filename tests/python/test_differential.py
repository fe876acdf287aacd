"""Replays the differential corpus (`make corpus`): fnmatch cases judged by
CPython, policies judged by tokenfence 0.3.1. Zero mismatches allowed."""

import json

from agentguard import Policy, fnmatch
from conftest import CORPUS


def _lines(name):
    path = CORPUS / name
    assert path.is_file(), f"{path} missing: run `make corpus`"
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def test_fnmatch_corpus_against_cpython():
    total, mismatches = 0, []
    for case in _lines("fnmatch.jsonl"):
        total += 1
        if fnmatch(case["n"], case["p"]) is not case["m"]:
            mismatches.append(case)
    print(f"\nfnmatch corpus: {total} cases, {len(mismatches)} mismatches")
    assert total >= 100_000
    assert mismatches[:5] == []


def test_policy_corpus_against_tokenfence():
    policies = checks = 0
    mismatches = []
    for case in _lines("policy.jsonl"):
        policies += 1
        policy = Policy.from_dict(case["policy"])
        for tool, decision, reason, rule in case["checks"]:
            checks += 1
            r = policy.check(tool)
            if (r.decision.value, r.reason, r.matched_rule) != (decision, reason, rule):
                mismatches.append((case["policy"], tool, decision, reason, rule))
    print(f"\npolicy corpus: {policies} policies, {checks} checks, {len(mismatches)} mismatches")
    assert policies >= 10_000 and checks >= 100_000
    assert mismatches[:5] == []
