"""The package, and agentguard.integrations itself, import and work with no
agent framework installed: each framework is hidden from a fresh
interpreter, and only the adapter that needs it fails, with the extra to
install."""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)

FRAMEWORKS = ["mcp", "mcp_types", "agents", "openai", "langchain_core", "langgraph", "pydantic_ai"]
ADAPTERS = {"mcp": "agentguard[mcp]", "openai_agents": "agentguard[openai-agents]",
            "langchain": "agentguard[langchain]",
            "pydantic_ai": "agentguard[pydantic-ai]"}

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys
    HIDDEN = set(sys.argv[1].split(","))

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    import agentguard, agentguard.integrations
    from agentguard import Policy
    from agentguard.integrations import always_denied, denial_message
    p = Policy(allow=["read_*"], deny=["drop_*"])
    assert p.check("read_x").allowed and always_denied(p, "drop_x")
    assert denial_message(p.evaluate("drop_x")).startswith("Tool 'drop_x' denied")
    assert not (HIDDEN & {m.split(".")[0] for m in sys.modules}), "a framework was imported"
    for module, extra in %r.items():
        try:
            __import__("agentguard.integrations." + module)
        except ImportError as e:
            assert extra in str(e), e
        else:
            raise AssertionError(module + " imported without its framework")
    print("ok")
    """
) % (ADAPTERS,)


def test_core_and_integrations_import_with_no_framework():
    done = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(FRAMEWORKS)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_importing_agentguard_imports_no_framework():
    done = subprocess.run([sys.executable, "-c",
                           "import sys, agentguard, agentguard.integrations;"
                           f"print(sorted(set({FRAMEWORKS!r}) & {{m.split('.')[0] for m in sys.modules}}))"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_denial_message_names_the_rule_once_as_the_npm_adapters_do():
    from agentguard import Policy
    from agentguard.integrations import denial_message

    p = Policy(allow=["read_*"], deny=["drop_*"], require_approval=["git_push"],
               rules=[{"id": "no-secrets", "tool": "write_file", "decision": "deny", "reason": "secrets are off limits"}])
    assert denial_message(p.evaluate("drop_x")) == "Tool 'drop_x' denied: denied by pattern: drop_*"
    assert denial_message(p.evaluate("write_file")) == "Tool 'write_file' denied: secrets are off limits (rule: no-secrets)"
    assert denial_message(p.evaluate("other")) == "Tool 'other' denied: not in allow list (default: deny)"
    assert denial_message(p.evaluate("git_push")) == (
        "Tool 'git_push' was not run: requires approval per pattern: git_push; it needs a person's approval.")


def test_policy_always_denied_is_the_cores_cheap_proof():
    from agentguard import Policy

    p = Policy(
        deny=["drop_*"],
        allow=["read_*"],
        rules=[
            {"id": "w", "tool": "write_file", "when": {"path": {"path_under": "/w"}}, "decision": "allow"},
            {"id": "nuke", "tool": "nuke_*", "decision": "deny", "when": {}},
        ],
    )
    assert p.always_denied("drop_table")  # a deny pattern
    assert p.always_denied("nuke_it")  # an unconditional deny rule
    assert p.always_denied("send_email")  # denied, no rule with conditions for it
    assert not p.always_denied("write_file")  # allowed under /w
    assert p.check("write_file", args={"path": "/w/a"}).allowed
    assert not p.always_denied("read_file")


def test_a_gateway_client_is_taken_where_a_policy_is_and_hides_nothing():
    from agentguard import GatewayClient, Policy
    from agentguard.integrations import always_denied
    from agentguard.integrations._flow import checked, needs_approval

    client = GatewayClient("http://127.0.0.1:9", "key")  # never asked here
    assert always_denied(client, "drop_x") is False  # the gateway decides each call
    assert needs_approval(client, "git_push", {}) is False  # waited for on the gateway instead
    assert checked(client) is client
    with pytest.raises(ValueError, match="granted or denied on the gateway"):
        checked(client, approver=lambda req: True)
    with pytest.raises(ValueError, match="LangGraph's interrupt cannot answer"):
        checked(client, framework_approval="LangGraph's interrupt")
    with pytest.raises(TypeError, match="agentguard.Policy or agentguard.GatewayClient"):
        checked({"deny": ["x"]})
    policy = Policy(require_approval=["git_push"])
    assert checked(policy, approver=lambda req: True) is policy and needs_approval(policy, "git_push", {})
