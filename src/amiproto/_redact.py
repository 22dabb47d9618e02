"""Which values are credentials, and how they are hidden.

One policy for every place a message can be shown: ``repr()`` of actions and
received actions, errors, the clients' wire trace, the simulator's log and the
CLI's recordings.

- From the client: the values of ``Secret`` (a plain password) and ``Key`` (an
  MD5 digest, from which the password can be brute-forced with the challenge).
  The header names stay, so a reader still sees that a login happened.
- From the server: ``secret=`` lines of config files, as ``GetConfig`` of
  ``manager.conf`` shows them (``Line-000001-000002: secret=...``). A server's
  ``Key`` header is an AstDB key, not a credential, and stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "SECRET_HEADERS", "is_secret", "redact_pairs", "redact_wire"]

SECRET_HEADERS = frozenset({"secret", "key"})
"""Lower-cased names of the headers whose values a client sends as credentials."""

REDACTED = "<redacted>"
"""What stands in for a credential."""

_CLIENT_SECRET_LINE = re.compile(
    rb"(?im)^((?:" + b"|".join(name.encode() for name in sorted(SECRET_HEADERS)) + rb")[ \t]*:)[^\r\n]*"
)
_SERVER_SECRET_LINE = re.compile(rb"(?im)^(line-\d+-\d+[ \t]*:[ \t]*secret[ \t]*=)[^\r\n]*")


def is_secret(name: str) -> bool:
    """Whether header ``name`` of a client's action holds a credential."""
    return name.strip().lower() in SECRET_HEADERS


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A client's ``(name, value)`` pairs with the values of credentials replaced."""
    return [(name, REDACTED if is_secret(name) else value) for name, value in pairs]


def redact_wire(data: bytes, *, from_client: bool) -> bytes:
    """Wire bytes with every credential's value replaced.

    Works on whole lines: a caller that has only part of a line must hold the
    rest back until the line ends, or a line cut before its value hides nothing.
    """
    if from_client:
        return _CLIENT_SECRET_LINE.sub(rb"\1 " + REDACTED.encode(), data)
    return _SERVER_SECRET_LINE.sub(rb"\1" + REDACTED.encode(), data)
