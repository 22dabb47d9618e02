"""The one boundary where core results and transport failures become exceptions."""

from __future__ import annotations

import os

import amiproto
from amiproto import ActionCompleted, LoginResult

from ._options import Options

__all__ = ["connect_error", "login_outcome", "outcome"]


def outcome(completed: ActionCompleted) -> ActionCompleted:
    """The one place where a core result becomes an exception, or passes through.

    A ``Response: Error`` is a result, not an exception, except for a ``Login``
    sent by hand, which raises ``AuthenticationError`` like ``login()`` does. A
    list given up at the core's ``max_list_events`` raises ``ListTooLong``.
    """
    response = completed.response
    if completed.complete and response is not None and response.success:
        return completed  # the usual case, decided at once
    if completed.timed_out:
        name = f"{completed.action.name} ({completed.action_id})"
        response = completed.response
        if response is not None and response.success and not completed.is_list:
            # Waited for a result event (wait_for_result): the action is under way, and
            # its result will still come, as an ordinary event.
            raise amiproto.ActionTimeout(f"{name} was accepted, but its result did not come in time")
        raise amiproto.ActionTimeout(f"{name} got no answer in time")
    if completed.too_many_events:
        raise amiproto.ListTooLong(
            f"{completed.action.name} ({completed.action_id}) was given up after "
            f"{len(completed.events)} list items (max_list_events)"
        )
    if not completed.complete:
        raise amiproto.ConnectionLost(
            f"the connection ended before {completed.action.name} ({completed.action_id}) was answered"
        )
    if completed.action.name.lower() == "login" and response is not None and not response.success:
        raise amiproto.AuthenticationError(response.message or "login refused")
    return completed


def login_outcome(result: LoginResult) -> LoginResult:
    """The result of a successful login; otherwise the exception that says why not."""
    if result.success:
        return result
    if not result.answered:
        lost = amiproto.ActionTimeout if result.timed_out else amiproto.ConnectionLost
        raise lost(f"login as {result.username!r}: {result.message}")
    raise amiproto.AuthenticationError(
        f"login as {result.username!r} refused: {result.message or 'no reason given'}"
    )


def connect_error(options: Options, error: BaseException) -> amiproto.ConnectFailed:
    """A failed connect, in the package's exception family (and an ``OSError``), with a reason.

    Some failures say nothing in ``str()`` (asyncio's and trio's timeouts, a bare
    ``OSError()``): their reason is then their kind, so the message never ends empty.
    """
    reason = _reason(error, options)
    return amiproto.ConnectFailed(f"cannot connect to {options.host}:{options.port}: {reason}")


def _reason(error: BaseException, options: Options) -> str:
    if isinstance(error, TimeoutError):  # trio's TooSlowError is mapped to it by its backend
        return f"no connection within {options.timeout} s (timed out)"
    text = str(error).strip() or type(error).__name__
    if isinstance(error, OSError) and error.errno:
        # asyncio says "Connect call failed" for a refusal: the system's words say which.
        words = os.strerror(error.errno)
        if words.lower() not in text.lower():
            text = f"{text} ({words})"
    return text
