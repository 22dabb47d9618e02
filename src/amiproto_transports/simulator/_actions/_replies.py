"""Building blocks of answers that the session and the handlers share."""

from __future__ import annotations

from amiproto import ReceivedAction, format_message

__all__ = ["Pairs", "aid", "message_with_newline", "response"]

Pairs = list[tuple[str, str]]


def aid(action: ReceivedAction) -> Pairs:
    """The ``ActionID`` header to echo, if the action had one."""
    action_id = action.action_id
    return [] if action_id is None else [("ActionID", action_id)]


def response(action: ReceivedAction, status: str, pairs: Pairs) -> bytes:
    return format_message([("Response", status), *aid(action), *pairs])


def message_with_newline(action: ReceivedAction, status: str, message: str) -> bytes:
    """A response whose ``Message`` ends in a bare LF, as some Asterisk modules write it.

    ``format_message`` refuses a bare LF in a value, so this line is written by hand.
    """
    head = response(action, status, [])[:-2]
    return head + b"Message: " + message.encode() + b"\n\r\n\r\n"
