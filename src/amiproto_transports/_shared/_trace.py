"""The wire trace: both directions logged at DEBUG, with credentials hidden."""

from __future__ import annotations

import logging

from amiproto._redact import redact_wire

__all__ = ["WIRE_LOGGER", "redact", "trace"]

WIRE_LOGGER = logging.getLogger("amiproto.wire")

_FROM_CLIENT = "->"


def trace(enabled: bool, direction: str, data: bytes) -> None:
    """Log ``data`` at DEBUG on ``amiproto.wire`` when ``enabled`` (``direction``: ``->`` or ``<-``)."""
    if not data or not enabled or not WIRE_LOGGER.isEnabledFor(logging.DEBUG):
        return
    WIRE_LOGGER.debug("%s %s", direction, redact(data, direction).decode("utf-8", "backslashreplace"))


def redact(data: bytes, direction: str = _FROM_CLIENT) -> bytes:
    """``data`` as the trace shows it: the policy of ``amiproto._redact``."""
    return redact_wire(data, from_client=direction == _FROM_CLIENT)
