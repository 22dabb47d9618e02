"""The wire trace: both directions logged at DEBUG, with credentials hidden."""

from __future__ import annotations

import logging

from amiproto._redact import redact_wire

from ._limits import TRACE_LINE_LIMIT

__all__ = ["WIRE_LOGGER", "ReceivedTrace", "redact", "trace"]

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


class ReceivedTrace:
    """The trace of what one connection receives, a line at a time.

    Redaction works on whole lines, and a read may end mid-line (``secret=hun`` then
    ``ter2``): the unfinished line is held back, at most ``limit`` bytes, until its end
    (or the end of file) arrives. Sent bytes need none of this: they are whole actions.
    """

    def __init__(self, limit: int = TRACE_LINE_LIMIT) -> None:
        self._limit = limit
        self._tail = b""
        self._hiding = False  # inside the rest of a line over the limit

    def feed(self, data: bytes) -> None:
        """Trace ``data`` as received (``b""``: end of file, shows what was held back)."""
        if not data:
            tail, self._tail = self._tail, b""
            trace(True, "<-", tail)
            return
        if self._hiding:
            end = data.find(b"\n")
            if end < 0:
                return
            self._hiding = False
            data = data[end + 1 :]
        data = self._tail + data if self._tail else data
        end = data.rfind(b"\n") + 1
        shown, self._tail = data[:end], data[end:]
        if len(self._tail) > self._limit:
            # Redacted as it stands; what follows until its end might be a secret's rest.
            shown += self._tail + b" <rest of an over-long line not shown>"
            self._tail = b""
            self._hiding = True
        trace(True, "<-", shown)
