"""Which values are credentials, and how they are hidden.

One policy for every place a message can be shown: ``repr()`` of actions and
received actions, errors, the clients' wire trace, the simulator's log and the
CLI's recordings.

- From the client: the values of ``Secret`` (a plain password) and ``Key`` (an
  MD5 digest, from which the password can be brute-forced with the challenge);
  and an ``UpdateConfig`` that sets a config key named below (``Var-000000:
  secret`` with its ``Value-000000``). The header names stay, so a reader still
  sees that a login happened.
- From the server: config content whose key is named below, as ``GetConfig``
  shows it (``Line-000001-000002: secret=...``) and as ``GetConfigJSON`` does
  (``"secret":"..."``). A server's ``Key`` header is an AstDB key, not a
  credential, and stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CONFIG_SECRET_KEYS",
    "REDACTED",
    "SECRET_HEADERS",
    "is_secret",
    "redact_pairs",
    "redact_wire",
    "secret_names",
]

SECRET_HEADERS = frozenset({"secret", "key"})
"""Lower-cased names of the headers whose values a client sends as credentials."""

CONFIG_SECRET_KEYS = frozenset({"secret", "md5secret", "password", "md5_cred"})
"""Lower-cased config keys whose values are credentials (manager.conf, iax.conf, pjsip.conf)."""

REDACTED = "<redacted>"
"""What stands in for a credential."""

_REPLACEMENT = REDACTED.encode()


def _alternatives(names: Iterable[str]) -> bytes:
    return b"|".join(re.escape(name.encode()) for name in sorted(names))


_CONFIG_KEYS = _alternatives(CONFIG_SECRET_KEYS)
_CLIENT_SECRET_LINE = re.compile(rb"(?im)^((?:" + _alternatives(SECRET_HEADERS) + rb")[ \t]*:)[^\r\n]*")
_CONFIG_LINE = re.compile(rb"(?im)^(line-\d+-\d+[ \t]*:[ \t]*(?:" + _CONFIG_KEYS + rb")[ \t]*=)[^\r\n]*")
_CONFIG_JSON = re.compile(rb'(?i)("(?:' + _CONFIG_KEYS + rb')"\s*:\s*")(?:[^"\\\r\n]|\\.)*(")')
_CONFIG_VAR = re.compile(rb"(?im)^var-(\d+)[ \t]*:[ \t]*(?:" + _CONFIG_KEYS + rb")[ \t]*\r?$")


def is_secret(name: str) -> bool:
    """Whether header ``name`` of a client's action holds a credential."""
    return name.strip().lower() in SECRET_HEADERS


def secret_names(pairs: Iterable[tuple[object, object]]) -> frozenset[str]:
    """The lower-cased, stripped names among a client's ``(name, value)`` pairs whose
    values are credentials: ``Secret``, ``Key``, and each ``Value-N`` whose ``Var-N`` names
    a config secret. Pairs that are not two strings count for nothing."""
    names = set()
    for name, value in pairs:
        if not isinstance(name, str):
            continue
        lowered = name.strip().lower()
        if lowered in SECRET_HEADERS:
            names.add(lowered)
        elif (
            lowered.startswith("var-")
            and isinstance(value, str)
            and value.strip().lower() in CONFIG_SECRET_KEYS
        ):
            names.add(f"value-{lowered[4:]}")
    return frozenset(names)


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A client's ``(name, value)`` pairs with the values of credentials replaced."""
    pairs = list(pairs)
    secret = secret_names(pairs)
    return [(name, REDACTED if name.strip().lower() in secret else value) for name, value in pairs]


def redact_wire(data: bytes, *, from_client: bool) -> bytes:
    """Wire bytes with every credential's value replaced.

    Works on whole lines, and on whole messages for ``UpdateConfig`` (whose
    ``Value-N`` follows its ``Var-N``): a caller that has only part of a line
    must hold the rest back until the line ends.
    """
    if from_client:
        data = _CLIENT_SECRET_LINE.sub(rb"\1 " + _REPLACEMENT, data)
        for number in {match.group(1) for match in _CONFIG_VAR.finditer(data)}:
            value_line = re.compile(rb"(?im)^(value-" + number + rb"[ \t]*:)[^\r\n]*")
            data = value_line.sub(rb"\1 " + _REPLACEMENT, data)
        return data
    data = _CONFIG_LINE.sub(rb"\1" + _REPLACEMENT, data)
    return _CONFIG_JSON.sub(rb"\1" + _REPLACEMENT + rb"\2", data)
