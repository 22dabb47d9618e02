"""What one connection, and all of them together, may cost the simulator.

The numbers follow Asterisk 22's ``main/manager.c`` where it has one: a line
holds at most 1024 bytes (``inbuf[1025]``), a message at most 128 lines
(``AST_MAX_MANHEADERS``), a client has ``authtimeout`` (30 s) to log in and at
most ``authlimit`` (50) connections may be waiting to. Asterisk answers an
over-long line with ``Failed to parse message: line too long`` and too many
lines with ``Too many lines in message or allocation failure``, once the
message ends, and carries on; ``LineReader`` does the same by replacing such a
message's bad lines with a marker line that the session turns into that answer.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LINE_TOO_LONG",
    "MARKERS",
    "TOO_MANY_LINES",
    "Limits",
    "LineReader",
]

# Marker lines start with NUL: a line the client sent is cut at its first NUL (as
# Asterisk's C strings cut it), so a real line never reaches the session as one.
# A client that sends one itself only earns the same error answer.
LINE_TOO_LONG = b"\x00line too long"
TOO_MANY_LINES = b"\x00too many lines"
MARKERS = {
    LINE_TOO_LONG: "Failed to parse message: line too long",
    TOO_MANY_LINES: "Too many lines in message or allocation failure",
}


@dataclass(frozen=True)
class Limits:
    """The simulator's bounds; every one has a default taken from Asterisk or stated here."""

    auth_timeout: float = 30.0
    """Seconds a client has to log in before its connection is closed (Asterisk's ``authtimeout``)."""
    max_unauthenticated: int = 50
    """Connections allowed to wait for a login; one more is closed at once (Asterisk's ``authlimit``)."""
    max_line: int = 1024
    """Bytes in one line of an action, its line end excluded."""
    max_lines: int = 128
    """Lines in one action."""
    max_total_input: int = 32 * 1024 * 1024
    """Bytes of unfinished actions held for all connections together; the connection whose
    bytes go over it is closed. One connection holds at most about ``max_lines * max_line``."""
    max_queued_actions: int = 1024
    """Actions a client may send while a synchronous Originate holds its answers back;
    one more closes the connection (Asterisk stops reading that socket instead)."""
    max_output: int = 64 * 1024 * 1024
    """Bytes of answers and events waiting for a client that does not read; past it the
    connection is closed at once, what waits for it dropped (Asterisk drops such a client
    after its ``writetimeout``). The runner holds at most one more batch, taken for the socket."""
    max_total_output: int = 256 * 1024 * 1024
    """Bytes of answers and events waiting for all clients together, counted as for
    ``max_output``; the connection whose output goes over it is closed the same way."""

    def __post_init__(self) -> None:
        if self.auth_timeout <= 0:
            raise ValueError("auth_timeout must be positive")
        for name in (
            "max_unauthenticated",
            "max_line",
            "max_lines",
            "max_total_input",
            "max_queued_actions",
            "max_output",
            "max_total_output",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def max_message(self) -> int:
        """The most bytes one action can hold once read by ``LineReader``."""
        return (self.max_lines + 2) * (self.max_line + 2)


class LineReader:
    """Client bytes in, whole lines out, each line and each message within the limits.

    Only the line being read is held here (at most ``max_line`` bytes); lines
    over the limit, and lines past ``max_lines`` in a message, are dropped and
    the message gets one marker line instead. ``pending`` is what this
    connection holds of an unfinished action: the line being read and the
    lines already passed on for a message that has not ended.
    """

    __slots__ = ("_line", "_lines", "_marked", "_message", "_overflow", "limits")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._line = bytearray()
        self._overflow = False  # the line being read is over max_line
        self._lines = 0  # lines of the current message
        self._marked = False  # the current message already has its marker
        self._message = 0  # bytes passed on for the current message

    @property
    def pending(self) -> int:
        return len(self._line) + self._message

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        line = self._line
        max_line = self.limits.max_line
        pos = 0
        size = len(data)
        while pos < size:
            lf = data.find(b"\n", pos)
            end = size if lf < 0 else lf
            if not self._overflow:
                line += data[pos:end]
                # One more byte is allowed for the CR of a CRLF that has not ended yet.
                if len(line) > max_line + 1 or (lf >= 0 and len(line.rstrip(b"\r")) > max_line):
                    self._overflow = True
                    line.clear()
            if lf < 0:
                break
            pos = lf + 1
            out += self._end_line()
        return bytes(out)

    def _end_line(self) -> bytes:
        line = self._line
        if self._overflow:
            self._overflow = False
            return self._mark(LINE_TOO_LONG)
        if not line or line == b"\r":
            line.clear()
            self._lines = 0
            self._marked = False
            self._message = 0
            return b"\r\n"
        self._lines += 1
        if self._lines > self.limits.max_lines:
            line.clear()
            return self._mark(TOO_MANY_LINES)
        text = bytes(line) + b"\n"
        line.clear()
        self._message += len(text)
        return text

    def _mark(self, marker: bytes) -> bytes:
        """The marker line once per message; later bad lines of the message vanish."""
        if self._marked:
            return b""
        self._marked = True
        text = marker + b"\r\n"
        self._message += len(text)
        return text
