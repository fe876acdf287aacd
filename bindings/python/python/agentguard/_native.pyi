"""Type stubs for the native half of agentguard (``agentguard._native``)."""

from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from typing_extensions import Required, TypedDict

from ._types import Decision

__version__: str
DEFAULT_AUDIT_CAPACITY: int

_P = TypeVar("_P", bound="Policy")

def fnmatch(name: str, pattern: str, /) -> bool:
    """Whether ``name`` matches the fnmatch ``pattern`` (CPython's
    ``fnmatch.fnmatchcase``): the matcher every policy uses."""

def denied_message(tool: str, reason: str) -> str:
    """``ToolDenied``'s message, the core's: ``Tool 'drop_table' denied:
    denied by pattern: drop_*``."""

def denial_text(tool: str, decision: str, reason: str, matched_rule: Optional[str] = None) -> str:
    """The text a model reads for a call that did not run, the core's: the
    tool, the reason and the deciding rule, named when the reason does not
    already name it; for ``require_approval``, that it needs a person's
    approval."""

#: (Stub-only aliases.) The structured rule that decided: ``{"list": "deny", "index": 0}`` (a
#: pattern of one of the lists) or ``{"id": "..."}`` (a rule of ``rules``).
_RuleRef = Dict[str, Union[str, int]]
#: A shadow rule that fired: ``{"id": "...", "decision": "deny"}``.
_ShadowHit = Dict[str, str]

#: (Stub-only aliases.) The policy file format's ``rules`` (CONDITIONS.md):
#: a condition is an object of operators, all of which must hold for the
#: value at its argument path; a misspelt operator is a type error here and
#: a ``PolicyError`` at run time.
_Patterns = Union[str, Sequence[str]]
_Scalar = Union[str, int, float, bool]
_Condition = TypedDict(
    "_Condition",
    {
        "glob": _Patterns,
        "not_glob": _Patterns,
        "in": Sequence[_Scalar],
        "not_in": Sequence[_Scalar],
        "lt": Union[int, float],
        "lte": Union[int, float],
        "gt": Union[int, float],
        "gte": Union[int, float],
        "path_under": _Patterns,
        "path_glob": _Patterns,
        "command": Union[str, Sequence[Union[str, Sequence[str]]]],
        "present": bool,
    },
    total=False,
)
#: A rule: ``id``, ``tool`` and ``decision`` are required.
_RuleSpec = TypedDict(
    "_RuleSpec",
    {
        "id": Required[str],
        "tool": Required[_Patterns],
        "decision": Required[Literal["allow", "deny", "require_approval"]],
        "when": Mapping[str, _Condition],
        "reason": str,
        "mode": Literal["enforce", "shadow"],
    },
    total=False,
)
#: A call's arguments: argument names to values (JSON data where a
#: condition reads them).
_Args = Optional[Mapping[str, Any]]

class PolicyResult:
    """The outcome of ``Policy.check`` / ``Policy.evaluate``: frozen, with
    tokenfence's fields, equality, hash and ``repr``, plus ``rule``,
    ``shadow`` and ``to_dict()``. A result decided by a rule of ``rules``
    names it by id (``matched_rule``, ``rule == {"id": ...}``)."""

    def __init__(
        self,
        decision: Decision | str,
        tool: str,
        reason: str,
        matched_rule: Optional[str] = None,
        rule: Optional[_RuleRef] = None,
        shadow: Optional[Iterable[_ShadowHit]] = None,
    ) -> None: ...
    @property
    def decision(self) -> Decision:
        """The ``Decision`` member (equal to its string value)."""
    @property
    def tool(self) -> str:
        """The tool name that was checked."""
    @property
    def reason(self) -> str:
        """Why, in tokenfence's words (``denied by pattern: drop_*``)."""
    @property
    def matched_rule(self) -> Optional[str]:
        """The pattern (or the id of the rule of ``rules``) that decided, or
        ``None`` when the default decided."""
    @property
    def rule(self) -> Optional[_RuleRef]:
        """The rule that decided, structured (``{"list": "deny", "index": 0}``),
        or ``None`` when the default decided."""
    @property
    def shadow(self) -> Tuple[_ShadowHit, ...]:
        """The shadow rules that fired (reported, never enforced)."""
    @property
    def allowed(self) -> bool:
        """``True`` if the tool may run now (no approval pending)."""
    @property
    def denied(self) -> bool:
        """``True`` if the tool must not run."""
    @property
    def needs_approval(self) -> bool:
        """``True`` if the tool needs a human's approval first."""
    def to_dict(self) -> Dict[str, Any]:
        """The JSON form every binding shares: ``{"tool", "decision", "reason",
        "matched_rule", "rule", "shadow"}``."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class AuditEntry:
    """One recorded decision (tokenfence's ``AuditEntry``); immutable, a
    record of the moment (its context is a copy made at decision time)."""

    def __init__(
        self,
        timestamp: float,
        tool: str,
        decision: str,
        reason: str,
        matched_rule: Optional[str] = None,
        context: Optional[Dict[str, Any]] = None,
        shadow: Optional[Iterable[_ShadowHit]] = None,
    ) -> None: ...
    @property
    def timestamp(self) -> float:
        """Seconds since the Unix epoch."""
    @property
    def tool(self) -> str:
        """The tool name."""
    @property
    def decision(self) -> str:
        """``"allow"``, ``"deny"`` or ``"require_approval"``."""
    @property
    def reason(self) -> str:
        """The reason string."""
    @property
    def matched_rule(self) -> Optional[str]:
        """The pattern that decided, or ``None``."""
    @property
    def context(self) -> Dict[str, Any]:
        """A fresh copy of the context as it was at decision time, or ``{}``."""
    @property
    def shadow(self) -> Tuple[_ShadowHit, ...]:
        """The shadow rules that fired (reported, never enforced)."""
    def to_dict(self) -> Dict[str, Any]:
        """tokenfence's ``to_dict()``: ``matched_rule``, ``context`` and
        ``shadow`` only when present (the call's arguments never are)."""
    def __eq__(self, other: object) -> bool: ...

class Policy:
    """A least-privilege policy for an agent's tool calls (a drop-in for
    tokenfence's ``Policy``), plus ``rules`` with argument conditions: when
    in doubt, the restrictive rule applies; an allow rule needs proof.
    ``copy.copy``, ``copy.deepcopy`` and ``pickle`` make an independent
    policy with the same rules, callbacks and audit log."""

    def __init__(
        self,
        *,
        allow: Optional[Sequence[str]] = None,
        deny: Optional[Sequence[str]] = None,
        require_approval: Optional[Sequence[str]] = None,
        default: str = "deny",
        audit: bool = True,
        on_deny: Optional[Callable[[PolicyResult], object]] = None,
        on_approval: Optional[Callable[[PolicyResult], Union[bool, Awaitable[bool]]]] = None,
        name: Optional[str] = None,
        rules: Optional[Sequence[_RuleSpec]] = None,
        on_decision: Optional[Callable[[AuditEntry], object]] = None,
        audit_capacity: int = 10000,
    ) -> None: ...
    @property
    def name(self) -> str:
        """The policy's name."""
    @property
    def audit_log(self) -> List[AuditEntry]:
        """A copy of the audit trail, oldest first."""
    @property
    def audit_dropped(self) -> int:
        """Entries dropped to respect ``audit_capacity`` since ``clear_audit()``."""
    @property
    def audit_capacity(self) -> int:
        """The most entries ``audit_log`` keeps."""
    def always_denied(self, tool: str) -> bool:
        """Whether every call of ``tool`` is denied whatever its arguments,
        as far as the policy shows at once: ``True`` is always right (a
        ``deny`` pattern or an unconditional deny rule decides it, or it is
        denied and no rule with conditions applies to it); ``False`` may
        also mean "not shown this cheaply". What an adapter uses to leave a
        tool out of a listing."""
    def evaluate(self, tool: str, *, args: _Args = None) -> PolicyResult:
        """Decide whether ``tool`` called with ``args`` may run, and nothing
        else (no approver, no audit entry, no callback). Only the values a
        condition reads are looked at; there they must be JSON data
        (``TypeError`` / ``ValueError`` naming the path otherwise)."""
    def check(
        self,
        tool: str,
        *,
        args: _Args = None,
        context: Optional[Dict[str, Any]] = None,
        approved: Optional[bool] = None,
    ) -> PolicyResult:
        """Decide whether ``tool`` called with ``args`` may run (runs
        callbacks, records the audit entry; the arguments are not recorded).
        ``approved`` (``True`` / ``False``) answers a ``require_approval``
        decision instead of ``on_approval`` (not asked then), so the one
        entry carries the outcome; ignored for any other decision; a
        non-``bool`` is a ``TypeError``."""
    def enforce(
        self,
        tool: str,
        *,
        args: _Args = None,
        context: Optional[Dict[str, Any]] = None,
        approved: Optional[bool] = None,
    ) -> PolicyResult:
        """Like ``check``; raises ``ToolDenied`` for a deny and ``ApprovalRequired``
        for an unapproved approval-gated call."""
    def check_async(
        self,
        tool: str,
        *,
        args: _Args = None,
        context: Optional[Dict[str, Any]] = None,
        approved: Optional[bool] = None,
    ) -> Awaitable[PolicyResult]:
        """``check`` as a coroutine that awaits asynchronous callbacks."""
    def enforce_async(
        self,
        tool: str,
        *,
        args: _Args = None,
        context: Optional[Dict[str, Any]] = None,
        approved: Optional[bool] = None,
    ) -> Awaitable[PolicyResult]:
        """``enforce`` as a coroutine that awaits asynchronous callbacks."""
    def clear_audit(self) -> None:
        """Clear the audit log and the dropped count."""
    def to_dict(self) -> Dict[str, Any]:
        """The policy as tokenfence's ``to_dict()``, plus ``rules`` when there
        are any."""
    def to_json(self) -> str:
        """The policy as compact JSON text."""
    @classmethod
    def from_dict(
        cls: Type[_P],
        data: Mapping[str, Any],
        *,
        on_deny: Optional[Callable[[PolicyResult], object]] = ...,
        on_approval: Optional[Callable[[PolicyResult], Union[bool, Awaitable[bool]]]] = ...,
        on_decision: Optional[Callable[[AuditEntry], object]] = ...,
        audit_capacity: int = ...,
    ) -> _P:
        """A policy from a ``to_dict()``-format dict, strictly (``PolicyError``)."""
    @classmethod
    def from_json(
        cls: Type[_P],
        text: str,
        *,
        on_deny: Optional[Callable[[PolicyResult], object]] = ...,
        on_approval: Optional[Callable[[PolicyResult], Union[bool, Awaitable[bool]]]] = ...,
        on_decision: Optional[Callable[[AuditEntry], object]] = ...,
        audit_capacity: int = ...,
    ) -> _P:
        """A policy from JSON text, strictly (``PolicyError``)."""

_A = TypeVar("_A", bound="ActionPolicies")

class ActionPolicies:
    """The action policies of many agents: at most one per agent and
    direction (``send``: what it may initiate; ``receive``: what it may be
    asked to do). An agent or direction without a policy is open. Agents are
    named ``agent://org/env/name`` (resolving to ``name``) or by bare id."""

    def __init__(self, store: Optional[Mapping[str, Any]] = None) -> None:
        """Empty, or read strictly from ``{"policies": [...]}`` (``PolicyError``)."""
    @classmethod
    def from_dict(cls: Type[_A], store: Mapping[str, Any]) -> _A:
        """A store from a dict, strictly."""
    @classmethod
    def from_json(cls: Type[_A], store: str) -> _A:
        """A store from JSON text, strictly."""
    @staticmethod
    def resolve_address(address: str) -> str:
        """``agent://org/env/name`` -> ``name``; a bare id as is; else ``PolicyError``."""
    def set(self, agent: str, policy: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        """Sets ``{"direction", "mode", "patterns", "policy_id"?}``; returns the replaced policy."""
    def get(self, agent: str, direction: Optional[str] = None) -> Any:
        """One direction's policy (``None``: open), or ``{"send": ..., "receive": ...}``."""
    def delete(self, agent: str, direction: str) -> Optional[Dict[str, Any]]:
        """Removes a direction's policy (back to open); returns it."""
    def check_intent(self, from_agent: str, to_agent: str, intent_type: str) -> Optional[Dict[str, Any]]:
        """``None`` if the intent passes, else the violation dict
        ``{"error": "action_policy_violation", "message", "direction", "address_id", "pattern"?}``."""
    @property
    def agents(self) -> List[str]:
        """The ids of the agents with at least one policy, sorted."""
    def to_dict(self) -> Dict[str, Any]:
        """The store, readable by ``from_dict``."""
    def to_json(self) -> str:
        """The store as JSON text."""
    def __len__(self) -> int: ...

#: (Stub-only aliases.) The analysis (``lint``, ``diff``, ``test_policy``):
#: the core's JSON as Python data, the same in every language.
_Severity = Literal["error", "warning", "info"]
_DecisionStr = Literal["allow", "deny", "require_approval"]
#: Where in a policy: ``{"field": "deny", "index": 3, "rule": None}``,
#: ``{"field": "rules[2].when.amount", "index": None, "rule": "refunds"}``.
_Location = TypedDict("_Location", {"field": str, "index": Optional[int], "rule": Optional[str]})
#: A tool call: a name and its arguments (``{}`` when none are read).
_Call = TypedDict("_Call", {"tool": str, "args": Dict[str, Any]})
#: One lint finding (``code``: ``shadowed``, ``matches-nothing``,
#: ``duplicate``, ``brace-is-literal``, ``case-bypass``, ...).
_Finding = TypedDict(
    "_Finding",
    {
        "code": str,
        "severity": _Severity,
        "location": _Location,
        "message": str,
        "hint": str,
        "related": List[_Location],
        "witness": Optional[_Call],
    },
)
#: A decision that changes: ``old`` decides ``from`` for the witness call
#: (``tool``, ``args``), ``new`` decides ``to``.
_Change = TypedDict(
    "_Change",
    {
        "from": _DecisionStr,
        "to": _DecisionStr,
        "tool": str,
        "args": Dict[str, Any],
        "old_rule": Optional[str],
        "new_rule": Optional[str],
        "old_reason": str,
        "new_reason": str,
        "wider": bool,
    },
)
#: ``changes``: the transitions; ``reason_changes``: the same decision by
#: another rule; ``exact``: ``False`` when some part was compared on
#: samples (``notes`` says which).
_Diff = TypedDict(
    "_Diff",
    {"changes": List[_Change], "reason_changes": List[_Change], "exact": bool, "notes": List[str]},
)
#: A fixture: a call and the decision (and optionally the deciding rule;
#: ``None``: the default) the policy must give it.
_Fixture = TypedDict(
    "_Fixture",
    {
        "tool": Required[str],
        "args": Optional[Mapping[str, Any]],
        "expect": Required[_DecisionStr],
        "rule": Optional[str],
    },
    total=False,
)
_Outcome = TypedDict(
    "_Outcome", {"decision": _DecisionStr, "rule": Optional[str], "reason": str}, total=False
)
_Failure = TypedDict(
    "_Failure",
    {"index": int, "tool": str, "args": Dict[str, Any], "want": _Outcome, "got": _Outcome},
)
_TestReport = TypedDict(
    "_TestReport",
    {"total": int, "passed": int, "failures": List[_Failure], "unexercised": List[_Location]},
)
#: A policy for the analysis: a ``Policy``, a ``to_dict()``-format mapping
#: (read like ``Policy.from_dict``) or its JSON text (like ``from_json``).
_PolicyLike = Union[Policy, Mapping[str, Any], str]

def lint(policy: _PolicyLike) -> List[_Finding]:
    """The lint findings of a policy (dead patterns and rules, the fnmatch
    traps, conditions that can never hold), as the core reports them."""

def diff(old: _PolicyLike, new: _PolicyLike) -> _Diff:
    """Every way a decision changes from ``old`` to ``new``, each with a
    witness call that replays."""

def test_policy(policy: _PolicyLike, fixtures: Union[Sequence[_Fixture], str]) -> _TestReport:
    """Runs fixtures (a list of dicts, or JSON / JSON lines text) against a
    policy: failures with what was wanted and what the policy decided, and
    the patterns and rules no fixture exercised. A bad fixture raises
    ``PolicyError``."""
