"""The Python section of README.md and the example are run, not just read."""

import re
import subprocess
import sys

from conftest import ROOT


def _python_blocks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- BEGIN python -->(.*?)<!-- END python -->", readme, re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 2
    return blocks


def test_readme_python_examples_run():
    for block in _python_blocks():
        exec(compile(block, "README.md", "exec"), {})


def test_package_readme_examples_run(gateway, monkeypatch, capsys):
    # The GatewayClient example runs against a real gateway with the
    # README's policy; a person refuses its approval meanwhile.
    from gateway_server import readme_gateway_policy

    agent, key = gateway.new_agent(readme_gateway_policy())
    monkeypatch.setenv("AGENTGUARD_URL", gateway.url)
    monkeypatch.setenv("AGENTGUARD_API_KEY", key)
    person = gateway.answer_when_asked(agent, "git_push", grant=False, after=0.2)
    text = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "bindings/python/README.md", "exec"), {})
    person.result()
    assert "Tool 'git_push' denied: approval denied via callback (pattern: git_push)" in capsys.readouterr().out
    assert gateway.decisions(agent) == ["allow", "deny", "require_approval", "deny"]


def test_readme_states_the_polarity_rule():
    section = re.search(r"<!-- BEGIN python -->(.*?)<!-- END python -->",
                        (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    assert "When in doubt, the restrictive rule applies; an allow rule needs proof." in section
    assert 'args={"path": "/workspace/../etc/passwd"}' in section


def test_readme_migration_is_one_line():
    first = _python_blocks()[0]
    assert "# from tokenfence import Policy, ToolDenied\nfrom agentguard import Policy, ToolDenied" in first


def test_tokenfence_accepts_what_the_readme_says_we_reject():
    # The README's "why": tokenfence turns a string into one pattern per
    # character, `*` among them, and ignores a misspelt key.
    import tokenfence

    assert tokenfence.Policy(allow="read_*").check("anything").allowed
    assert tokenfence.Policy.from_dict({"denny": ["drop_*"], "default": "allow"}).check("drop_table").allowed


def test_tokenfence_behaves_as_the_readme_says_for_the_issue_9_differences():
    import asyncio
    import json
    import warnings

    import tokenfence

    db = dict(deny=["drop_*"], require_approval=["write_*"], default="allow")
    # Any truthy answer approves, "no" included; a coroutine is truthy.
    assert tokenfence.Policy(**db, on_approval=lambda r: "no").check("write_x").allowed

    async def never():
        return False

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tokenfence.Policy(**db, on_approval=lambda r: never()).check("write_x").allowed
        import gc

        gc.collect()
    assert any("never awaited" in str(w.message) for w in caught)
    # The audit entry keeps the caller's dict: changing it rewrites the log.
    p = tokenfence.Policy(**db)
    ctx = {"agent_id": "data-bot"}
    p.check("read_x", context=ctx)
    ctx["agent_id"] = "someone-else"
    assert p.audit_log[0].context == {"agent_id": "someone-else"}
    # A repeated key: json.loads keeps the last, and drop_table is allowed.
    text = '{"deny": ["drop_*"], "default": "allow", "deny": []}'
    assert tokenfence.Policy.from_dict(json.loads(text)).check("drop_table").allowed
    # Decision does not equal its value.
    assert tokenfence.Policy(**db).check("drop_x").decision != "deny"
    assert asyncio.iscoroutinefunction(never)


def test_quickstart_example_runs():
    run = subprocess.run([sys.executable, str(ROOT / "bindings/python/examples/quickstart.py")],
                         capture_output=True, text=True, timeout=60, check=True)
    lines = run.stdout.splitlines()
    assert lines[1].split() == ["block", "drop_table", "denied", "by", "pattern:", "drop_*"]
    assert lines[2].split()[:2] == ["run", "write_database"]
    assert lines[-1].startswith("5 audit entries")


def _example(name):
    """The block after `<!-- example: NAME -->` and the one after `<!-- output: NAME -->`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(rf"<!-- example: {name} -->\s*```[a-z]*\n(.*?)```", readme, re.S)
    out = re.search(rf"<!-- output: {name}(?: [^>]*?)? -->\s*```[a-z]*\n(.*?)```", readme, re.S)
    assert code and out, f"README.md has no example/output {name!r}"
    return code.group(1), out.group(1)


def test_readme_python_quickstart_prints_what_it_shows(tmp_path):
    # Run as the README says: `python agent.py`, with the installed wheel.
    code, output = _example("quickstart-python")
    assert code.startswith("# agent.py\n")
    (tmp_path / "agent.py").write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, "agent.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == output
