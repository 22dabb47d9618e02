"""Building blocks of answers that the session and the handlers share."""

from __future__ import annotations

from amiproto import ReceivedAction, format_message

__all__ = ["Pairs", "aid", "response"]

Pairs = list[tuple[str, str]]


def aid(action: ReceivedAction) -> Pairs:
    """The ``ActionID`` header to echo, if the action had one."""
    action_id = action.action_id
    return [] if action_id is None else [("ActionID", action_id)]


def response(action: ReceivedAction, status: str, pairs: Pairs) -> bytes:
    return format_message([("Response", status), *aid(action), *pairs])
