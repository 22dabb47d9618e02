"""The server side of AMI framing: read actions, write responses and events.

It exists so that a simulator or a proxy reuses the client's framer and header
parser instead of growing a second AMI parser.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._actions import check_header, encode_value
from ._errors import LocalProtocolError
from ._framing import DEFAULT_MAX_BUFFER_SIZE, DEFAULT_MAX_MESSAGE_SIZE, Framer
from ._headers import DECODE_ERRORS, Headers, parse_header_lines
from ._messages import NEED_DATA, ConnectionClosed, NeedData
from ._redact import redact_pairs

__all__ = ["GREETING", "ReceivedAction", "ServerConnection", "format_message"]

_SERVER_NAME = "Asterisk Call Manager"
_AMI_VERSION = "11.0.0"  # Asterisk 22's

GREETING = f"{_SERVER_NAME}/{_AMI_VERSION}\r\n".encode()
"""The banner Asterisk 22 sends first on every connection."""


class ReceivedAction:
    """One action as a server read it."""

    __slots__ = ("headers", "raw", "truncated", "unparsed")

    def __init__(self, raw: bytes, encoding: str = "utf-8", truncated: bool = False) -> None:
        self.raw = raw
        pairs, unparsed = parse_header_lines(raw.decode(encoding, DECODE_ERRORS))
        self.headers = Headers(pairs)
        self.unparsed = tuple(unparsed)
        self.truncated = truncated

    @property
    def name(self) -> str:
        """The ``Action`` header (empty when missing)."""
        return (self.headers.get("Action") or "").strip()

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header, or None."""
        return self.headers.get("ActionID")

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (any case), or ``default``."""
        return self.headers.get(name, default)

    def __repr__(self) -> str:
        return f"ReceivedAction({redact_pairs(self.headers)!r})"


class ServerConnection:
    """Server side of one AMI connection: bytes in, ``ReceivedAction`` objects out."""

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    ) -> None:
        self.encoding = encoding
        self._framer = Framer(
            expect_greeting=False, max_message_size=max_message_size, max_buffer_size=max_buffer_size
        )
        self._closed = False

    def receive_data(self, data: bytes) -> None:
        """Store bytes from the client; ``b""`` means end of file."""
        self._framer.feed(data)

    def next_action(self) -> ReceivedAction | ConnectionClosed | NeedData:
        """The next action the client sent, ``ConnectionClosed`` once at its end, or ``NEED_DATA``."""
        if self._closed:
            return NEED_DATA
        frame = self._framer.next_frame()
        if frame is not None:
            return ReceivedAction(frame.raw, self.encoding, frame.truncated)
        if self._framer.eof:
            self._closed = True
            return ConnectionClosed()
        return NEED_DATA

    def greeting(self, name: str = _SERVER_NAME, version: str = _AMI_VERSION) -> bytes:
        """The banner line; Asterisk 22's (``GREETING``) by default."""
        for part in (name, version):
            if not isinstance(part, str) or "\r" in part or "\n" in part or "\0" in part:
                raise LocalProtocolError(f"a greeting part must be a str without CR, LF or NUL: {part!r}")
        return encode_value("greeting", f"{name}/{version}\r\n", self.encoding)

    def format(self, pairs: Iterable[tuple[str, str]]) -> bytes:
        """``format_message`` in this connection's encoding."""
        return format_message(pairs, self.encoding)


def format_message(pairs: Iterable[tuple[str, str]], encoding: str = "utf-8") -> bytes:
    """``name: value`` lines and the closing empty line, checked against header injection."""
    lines = []
    for name, value in pairs:
        if not isinstance(value, str):
            raise LocalProtocolError(f"value of {name!r} must be str, not {type(value).__name__}")
        check_header(name, value)
        lines.append(f"{name}: {value}\r\n")
    if not lines:
        raise LocalProtocolError("a message needs at least one header")
    lines.append("\r\n")
    try:
        return "".join(lines).encode(encoding, DECODE_ERRORS)
    except UnicodeEncodeError:
        pass
    for line in lines:
        name, _, value = line.partition(": ")
        encode_value(name, name, encoding, part="header name")
        encode_value(name, value, encoding)
    raise AssertionError("unreachable: every header encodes")  # pragma: no cover
