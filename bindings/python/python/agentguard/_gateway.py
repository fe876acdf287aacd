"""``GatewayClient``: the decisions of an ``agentguard serve`` gateway, with
the shape of ``Policy`` (``evaluate`` / ``check`` / ``enforce`` and their
``_async`` forms), so the policy lives outside the agent's process and the
same adapter code runs on either.

Nothing is decided here: every decision, reason and rule is the gateway's
answer (its core's), turned into the package's own ``PolicyResult``. The
client only asks, waits on a pending approval by long-poll, and asks again
with the approval's id. Whatever goes wrong (HTTP, network, an answer that
is not a decision) is a ``GatewayError``, never an allow.

Standard library only (``urllib.request``).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Dict, Generator, Mapping, Optional, Tuple

from ._native import PolicyResult
from ._native import _enforce  # type: ignore[attr-defined]  # private: enforce's rule, once
from ._types import Decision, GatewayError

__all__ = ["GatewayClient", "GatewayDecision"]

#: The longest ``?wait=`` the gateway takes on a long-poll, in seconds.
MAX_WAIT_SECONDS = 60
#: The largest answer read from the gateway.
_MAX_ANSWER_BYTES = 8 * 1024 * 1024
_RESULT_KEYS = ("tool", "decision", "reason", "matched_rule", "rule", "shadow")
#: What an API key may be in the x-api-key header: visible ASCII, inner spaces.
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


@dataclass(frozen=True)
class GatewayDecision:
    """A gateway's answer to a tool call: the decision as the package's own
    ``PolicyResult`` (equal to, and printed like, the one a local ``Policy``
    makes for the same call), and the gateway's ``approval`` record of the
    call, as the gateway sent it (``{"id": "apr_...", "status": "pending" |
    "granted" | "denied" | "used" | "expired", "expires_at", ...}``), or
    ``None`` when the call needed no approval."""

    result: PolicyResult
    approval: Optional[Dict[str, Any]] = None


# A request of the decision flow: method, path, JSON body, timeout (s); or
# (_SLEEP, "", None, seconds): a pause.
_Request = Tuple[str, str, Optional[bytes], float]
_SLEEP = "SLEEP"
_Flow = Generator[_Request, Dict[str, Any], Any]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the key is never sent anywhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


class _Abort:
    """Ends the requests of one awaiting call when it is cancelled: their
    sockets are shut down, so the thread blocked on a long-poll returns at
    once (instead of holding ``asyncio.run``'s exit for up to a minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list = []
        self._aborted = False

    def wrap(self, connection_class: type) -> type:
        abort = self

        class Connection(connection_class):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                abort._register(self.sock)

        return Connection

    def _register(self, sock: Any) -> None:
        with self._lock:
            if not self._aborted:
                self._sockets.append(sock)
                return
        _shut(sock)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _AbortableHTTP(urllib.request.HTTPHandler):
    def __init__(self, abort: _Abort) -> None:
        super().__init__()
        self._abort = abort

    def do_open(self, http_class, req, **kwargs):  # noqa: D102
        return super().do_open(self._abort.wrap(http_class), req, **kwargs)


class _AbortableHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, abort: _Abort) -> None:
        super().__init__()
        self._abort = abort

    def do_open(self, http_class, req, **kwargs):  # noqa: D102
        return super().do_open(self._abort.wrap(http_class), req, **kwargs)


def _encode(body: Mapping[str, Any]) -> bytes:
    # Lone surrogates fail here (UnicodeEncodeError, a ValueError), NaN too:
    # a bad input is the caller's error, never sent.
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _bad(message: str, status: Optional[int] = 200) -> GatewayError:
    return GatewayError(message, status=status, code="bad_answer")


def _snippet(raw: bytes) -> str:
    text = raw[:200].decode("utf-8", "replace")
    return repr(text) + ("..." if len(raw) > 200 else "")


class GatewayClient:
    """The tool decisions of an ``agentguard serve`` gateway for one agent
    (the agent its API key belongs to), with ``Policy``'s shape::

        from agentguard import GatewayClient

        gateway = GatewayClient("http://127.0.0.1:8787", "key-of-ops-agent")
        gateway.check("write_file", args={"path": "/workspace/a"}).allowed

    - ``evaluate`` asks ``POST /v1/tools/evaluate``: pure, nothing audited,
      no approval created;
    - ``check`` asks ``POST /v1/tools/check`` (audited by the gateway, one
      record per call). A ``require_approval`` opens an approval on the
      gateway, which a person grants or denies there (the dashboard,
      ``agentguard approvals``, the API); ``check`` waits on it by long-poll
      (``GET /v1/approvals/{id}?wait=...``) for up to ``approval_timeout``
      seconds, then asks again with the approval's id and returns that
      answer: ``allow`` once granted, ``deny`` once denied, and, still
      pending or expired, the gateway's ``require_approval`` (fail closed);
    - ``enforce`` is ``check`` that raises ``ToolDenied`` /
      ``ApprovalRequired`` as ``Policy.enforce`` does;
    - ``evaluate_async``, ``check_async``, ``enforce_async``: the same
      without blocking the event loop;
    - ``check_detailed`` (and ``check_detailed_async``) return the
      ``GatewayDecision``: the result and the gateway's approval record.

    Results are ``PolicyResult``; the decision, reason and rule are the
    gateway's, never made here. A refusal of the gateway (a bad key, no tool
    policy for the agent, an approval already used), a network failure or
    an answer that is not a decision raises ``GatewayError``.

    ``approval_timeout`` (seconds, default 300; 0: do not wait) bounds the
    wait on an approval; ``timeout`` (seconds, default 30) bounds each
    request (a long-poll gets its wait on top). The client holds no state
    between calls: one can be shared by threads and tasks.
    """

    def __init__(self, url: str, key: str, *, approval_timeout: float = 300.0, timeout: float = 30.0) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"url must be the gateway's http:// or https:// address, got {url!r}")
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {type(key).__name__}")
        if not _KEY.fullmatch(key):
            raise ValueError("key must be the agent's API key from the gateway's keys file (visible ASCII, "
                             f"inner spaces), got {'an empty string' if key == '' else 'a string with other characters'}")
        self._url = url.rstrip("/")
        self._key = key
        self._approval_timeout = _seconds("approval_timeout", approval_timeout, zero=True)
        self._timeout = _seconds("timeout", timeout, zero=False)
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def url(self) -> str:
        """The gateway's address (without a trailing ``/``)."""
        return self._url

    @property
    def approval_timeout(self) -> float:
        """How long ``check`` waits on a pending approval, in seconds."""
        return self._approval_timeout

    @property
    def timeout(self) -> float:
        """How long one request may take, in seconds (a long-poll: plus its wait)."""
        return self._timeout

    def __repr__(self) -> str:
        return f"GatewayClient({self._url!r}, approval_timeout={self._approval_timeout!r}, timeout={self._timeout!r})"

    # -- the API ---------------------------------------------------------------

    def evaluate(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                 context: Optional[Mapping[str, Any]] = None) -> PolicyResult:
        """The gateway's decision for the call, without recording it or
        opening an approval (``POST /v1/tools/evaluate``)."""
        return self._drive(self._evaluate_flow(tool, args, context)).result

    def check(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
              context: Optional[Mapping[str, Any]] = None, approved: None = None) -> PolicyResult:
        """The gateway's decision, recorded there; a ``require_approval``
        waits on the gateway's approval (see the class documentation).
        ``approved`` is refused: approvals are given on the gateway."""
        _no_approved(approved)
        return self._drive(self._check_flow(tool, args, context)).result

    def check_detailed(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                       context: Optional[Mapping[str, Any]] = None) -> GatewayDecision:
        """``check``, with the gateway's approval record of the call."""
        return self._drive(self._check_flow(tool, args, context))

    def enforce(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                context: Optional[Mapping[str, Any]] = None, approved: None = None) -> PolicyResult:
        """``check``; an allowed call's result, else ``ToolDenied`` (a deny)
        or ``ApprovalRequired`` (not granted in time), as ``Policy.enforce``."""
        return _enforce(self.check(tool, args=args, context=context, approved=approved))

    async def evaluate_async(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                             context: Optional[Mapping[str, Any]] = None) -> PolicyResult:
        """``evaluate`` without blocking the event loop."""
        return (await self._drive_async(self._evaluate_flow(tool, args, context))).result

    async def check_async(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                          context: Optional[Mapping[str, Any]] = None, approved: None = None) -> PolicyResult:
        """``check`` without blocking the event loop (the wait on an
        approval included). Cancelled while waiting, it asks nothing more."""
        _no_approved(approved)
        return (await self._drive_async(self._check_flow(tool, args, context))).result

    async def check_detailed_async(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                                   context: Optional[Mapping[str, Any]] = None) -> GatewayDecision:
        """``check_detailed`` without blocking the event loop."""
        return await self._drive_async(self._check_flow(tool, args, context))

    async def enforce_async(self, tool: str, *, args: Optional[Mapping[str, Any]] = None,
                            context: Optional[Mapping[str, Any]] = None, approved: None = None) -> PolicyResult:
        """``enforce`` without blocking the event loop."""
        return _enforce(await self.check_async(tool, args=args, context=context, approved=approved))

    # -- the flows: written once, driven blocking or awaiting -------------------

    def _evaluate_flow(self, tool: Any, args: Any, context: Any) -> _Flow:
        body = _call_body(tool, args, context)
        answer = yield ("POST", "/v1/tools/evaluate", _encode(body), self._timeout)
        return _decision(answer, tool)

    def _check_flow(self, tool: Any, args: Any, context: Any) -> _Flow:
        body = _call_body(tool, args, context)
        first = _decision((yield ("POST", "/v1/tools/check", _encode(body), self._timeout)), tool)
        approval = first.approval
        if (first.result.decision != Decision.REQUIRE_APPROVAL or approval is None
                or approval["status"] != "pending" or self._approval_timeout <= 0):
            return first
        approval_id = approval["id"]
        path = f"/v1/approvals/{urllib.parse.quote(approval_id, safe='')}"
        deadline = time.monotonic() + self._approval_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if remaining < 1:
                # The gateway waits in whole seconds: the last fraction is
                # slept here, and a decision made meanwhile is seen by the
                # check below.
                yield (_SLEEP, "", None, remaining)
                break
            wait = min(MAX_WAIT_SECONDS, int(remaining))
            view = yield ("GET", f"{path}?wait={wait}", None, wait + self._timeout)
            if _approval_status(view, approval_id) != "pending":
                break
        # The gateway decides what the approval now means for the call (and
        # records it): allow once granted, deny once denied, else still
        # require_approval.
        body["approval_id"] = approval_id
        return _decision((yield ("POST", "/v1/tools/check", _encode(body), self._timeout)), tool)

    def _drive(self, flow: _Flow) -> Any:
        try:
            request = next(flow)
            while True:
                if request[0] == _SLEEP:
                    time.sleep(request[3])
                    request = flow.send({})
                else:
                    request = flow.send(self._request(*request))
        except StopIteration as done:
            return done.value
        finally:
            flow.close()

    async def _drive_async(self, flow: _Flow) -> Any:
        try:
            request = next(flow)
            while True:
                if request[0] == _SLEEP:
                    await asyncio.sleep(request[3])
                    request = flow.send({})
                    continue
                abort = _Abort()
                try:
                    answer = await asyncio.to_thread(self._request, *request, abort)
                except asyncio.CancelledError:
                    abort.abort()
                    raise
                request = flow.send(answer)
        except StopIteration as done:
            return done.value
        finally:
            flow.close()

    # -- HTTP ------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Optional[bytes], timeout: float,
                 abort: Optional[_Abort] = None) -> Dict[str, Any]:
        """One request; the answer's JSON object, or ``GatewayError``.
        ``abort`` can end it from another thread."""
        headers = {"x-api-key": self._key, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self._url + path, data=body, method=method, headers=headers)
        where = f"{method} {self._url}{path}"
        try:
            opener = self._opener if abort is None else urllib.request.build_opener(
                _NoRedirect, _AbortableHTTP(abort), _AbortableHTTPS(abort))
            with opener.open(request, timeout=timeout) as response:
                status = response.status
                raw = response.read(_MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as e:
            raise _http_error(e, where) from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise GatewayError(f"{where}: no answer within {timeout:g} s", code="timeout") from None
            raise GatewayError(f"{where}: cannot reach the gateway: {e.reason}", code="unreachable") from None
        except TimeoutError:
            raise GatewayError(f"{where}: no answer within {timeout:g} s", code="timeout") from None
        except (OSError, HTTPException) as e:
            raise GatewayError(f"{where}: the connection failed: {e!r}", code="unreachable") from None
        if len(raw) > _MAX_ANSWER_BYTES:
            raise _bad(f"{where}: the answer is over {_MAX_ANSWER_BYTES} bytes", status)
        if status != 200:
            raise _bad(f"{where}: unexpected HTTP status {status}: {_snippet(raw)}", status)
        try:
            data = json.loads(raw)
        except ValueError:
            raise _bad(f"{where}: the answer is not JSON: {_snippet(raw)}", status) from None
        if not isinstance(data, dict):
            raise _bad(f"{where}: the answer is not a JSON object: {_snippet(raw)}", status)
        return data


def _http_error(e: urllib.error.HTTPError, where: str) -> GatewayError:
    try:
        raw = e.read(_MAX_ANSWER_BYTES)
    except (OSError, HTTPException):
        raw = b""
    finally:
        e.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        message = data.get("message")
        return GatewayError(message if isinstance(message, str) else data["error"], status=e.code,
                            code=data["error"], body=data)
    return _bad(f"{where}: HTTP {e.code} without the gateway's JSON error: {_snippet(raw)}", e.code)


# -- values ----------------------------------------------------------------


def _seconds(name: str, value: Any, *, zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be a finite number of seconds {'>= 0' if zero else '> 0'}, got {value!r}")
    return float(value)


def _no_approved(approved: Any) -> None:
    if approved is not None:
        raise TypeError(
            "a GatewayClient takes no approved=: the gateway's approvals are granted or denied on the "
            "gateway (its dashboard, `agentguard approvals`, POST /v1/approvals/{id}/grant), and check "
            "waits for them"
        )


def _call_body(tool: Any, args: Any, context: Any) -> Dict[str, Any]:
    if not isinstance(tool, str):
        raise TypeError(f"tool name must be a str, not {type(tool).__name__}")
    body: Dict[str, Any] = {"tool": tool}
    for name, value in (("args", args), ("context", context)):
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping (a dict), not {type(value).__name__}")
        body[name] = dict(value)
    return body


def _decision(data: Dict[str, Any], tool: str) -> GatewayDecision:
    """A decision answer as ``GatewayDecision``; anything else is a
    ``GatewayError`` (``bad_answer``)."""
    missing = [k for k in _RESULT_KEYS if k not in data]
    if missing:
        raise _bad(f"the answer is not a decision (no {', '.join(missing)}): {json.dumps(data)[:200]}")
    if data["tool"] != tool:
        raise _bad(f"the answer is for tool {data['tool']!r}, not {tool!r}")
    if not isinstance(data["decision"], str) or not isinstance(data["reason"], str):
        raise _bad(f"the answer's decision and reason must be strings: {json.dumps(data)[:200]}")
    try:
        result = PolicyResult(data["decision"], tool, data["reason"], data["matched_rule"], data["rule"],
                              data["shadow"])
    except (TypeError, ValueError) as e:
        raise _bad(f"the answer is not a decision: {e}") from None
    approval = data.get("approval")
    return GatewayDecision(result, None if approval is None else _checked_approval(approval))


def _checked_approval(approval: Any) -> Dict[str, Any]:
    if not (isinstance(approval, dict) and isinstance(approval.get("id"), str) and approval["id"]
            and isinstance(approval.get("status"), str)):
        raise _bad(f"the answer's approval is not an approval: {json.dumps(approval)[:200]}")
    return approval


def _approval_status(data: Dict[str, Any], approval_id: str) -> str:
    approval = _checked_approval(data.get("approval"))
    if approval["id"] != approval_id:
        raise _bad(f"asked for approval {approval_id!r}, the gateway answered {approval['id']!r}")
    return approval["status"]
