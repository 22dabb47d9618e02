"""The wire trace: both directions logged at DEBUG, with secrets hidden."""

from __future__ import annotations

import logging
import re

__all__ = ["WIRE_LOGGER", "redact", "trace"]

WIRE_LOGGER = logging.getLogger("amiproto.wire")

_SECRET_LINE = re.compile(rb"(?im)^((?:secret|key)[ \t]*:)[^\r\n]*")


def trace(enabled: bool, direction: str, data: bytes) -> None:
    """Log ``data`` at DEBUG on ``amiproto.wire`` when ``enabled``, with Secret and Key hidden."""
    if not data or not enabled or not WIRE_LOGGER.isEnabledFor(logging.DEBUG):
        return
    WIRE_LOGGER.debug("%s %s", direction, redact(data).decode("utf-8", "backslashreplace"))


def redact(data: bytes) -> bytes:
    """``data`` with the values of Secret and Key lines replaced."""
    return _SECRET_LINE.sub(rb"\1 <redacted>", data)
