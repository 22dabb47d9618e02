"""Cutting a byte stream into AMI messages, on bytes, before any decoding.

A line ends at LF (a CR before it is dropped later, when headers are parsed); a
message ends at an empty line, so both ``\\n\\r\\n`` and ``\\n\\n`` close one. That
one rule covers CRLF, bare LF, and the mixed endings real servers send, such as
``Message: text\\n\\r\\n\\r\\n`` (the stray empty line is a separator, not a message).

Old servers answer ``Command`` with ``Response: Follows``, a few header lines,
then raw CLI text up to ``--END COMMAND--``; that text may hold empty lines, so
those messages are framed by the marker instead. Their header lines end in
CRLF and the CLI text in bare LF, which is how the two are told apart.

Every search resumes where the last one stopped, and consumed bytes are cut
from the front of a ``bytearray`` (O(1) in CPython), so the work per byte does
not depend on how the stream was chunked. A large ``bytes`` object fed (a
socket read) is kept as it is, behind that buffer: the C fast path frames its
events where they lie, up to the first response or message it leaves to the
general path, and copies only what it leaves (most often the message the read
cut short), while every other path first appends it to the buffer.

The framer serves both roles: a client reads the server's messages, and the
simulator reads the client's actions with the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import repeat
from typing import TypeVar

from ._errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "DEFAULT_MAX_BUFFER_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "PLAIN_END",
    "BuiltRun",
    "Frame",
    "Framer",
    "RunTaker",
]

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Bytes one message may hold (``max_message_size``); a longer one, ended or not, raises
``RemoteProtocolError`` and puts the connection in its error state."""
DEFAULT_MAX_BUFFER_SIZE = 64 * 1024 * 1024
"""Bytes received and not yet framed (``max_buffer_size``); past it ``receive_data()`` raises
``RemoteProtocolError``. Reading ``next_event()`` between reads keeps it small."""

END_COMMAND = b"--END COMMAND--"

_MESSAGE_END = re.compile(rb"\n\r?\n")  # LF CRLF, or a bare LF LF
# The same, or a line that repeats an Event's or a Response's first header (glued).
_EVENT_END_OR_GLUED = re.compile(rb"\n(?:\r?\n|Event:)")
_RESPONSE_END_OR_GLUED = re.compile(rb"\n(?:\r?\n|Response:)")
# A header line inside a Follows message: a token name, a colon, CRLF at the end.
_FOLLOWS_HEADER = re.compile(rb"[A-Za-z0-9_-]+:[^\n]*\r\n\Z")
_FOLLOWS_FIRST_LINE = re.compile(rb"(?i)\s*response\s*:\s*follows\s*\Z")
_FIRST_LINE_LOOK = 200  # how far the fast path looks for the end of a Response's first line
# How far one call of the pure-Python fast path looks for message ends. It copies and
# splits what it looks at, and a message for the general path ends the call: looking at
# the whole buffer each time made a large buffer with many such messages quadratic. After
# such a message the window is small, and it doubles with each call that takes it all.
_PLAIN_WINDOW_MIN = 4 * 1024
_PLAIN_WINDOW_MAX = 64 * 1024

# Why a C fast path (``_speedups.take_events``) stopped.
_C_STOP_NEED_DATA = 0  # the next message is plain so far, and incomplete
_C_STOP_GENERAL = 1  # the next message is for the general path

# What closes a plain message; the pure-Python fast path hands messages out without it.
PLAIN_END = b"\n\r\n"

_Built = TypeVar("_Built")

# A run as a C fast path builds it: objects made of the plain messages up to the
# first response, and that response's bytes (or None).
BuiltRun = tuple[list[_Built], "bytes | None"]

# A C fast path: called with the buffer, the size limit, where to resume the scan
# of an incomplete message and where its first line ends, then its own arguments;
# gives what it built, a response's bytes or None, the bytes it consumed, why it
# stopped, and where to resume.
RunTaker = Callable[..., tuple[list[_Built], "bytes | None", int, int, int, int]]

# Bytes from which a bytes object fed is kept as it is rather than copied: below it
# the copy costs less than framing in place (a memoryview per call).
_KEEP_FROM = 16 * 1024

# Framer modes for the message being read.
_START, _BLOCK, _FOLLOWS_HEADERS, _FOLLOWS_LOOKAHEAD, _FOLLOWS_BODY = range(5)


def _glued_or_follows(block: bytes) -> bool:
    """A response block that is a Follows, or has a second Response line glued in."""
    line_end = block.find(b"\n")
    first = block if line_end < 0 else block[:line_end]
    return bool(_FOLLOWS_FIRST_LINE.match(first)) or b"\nResponse:" in block


class Frame:
    """One framed unit: the banner line or one message, as raw bytes."""

    __slots__ = ("body_start", "is_greeting", "raw", "truncated")

    def __init__(
        self,
        raw: bytes,
        *,
        is_greeting: bool = False,
        body_start: int | None = None,
        truncated: bool = False,
    ) -> None:
        self.raw = raw
        self.is_greeting = is_greeting
        self.body_start = body_start
        self.truncated = truncated

    def __repr__(self) -> str:
        return (
            f"Frame({self.raw!r}, is_greeting={self.is_greeting}, "
            f"body_start={self.body_start}, truncated={self.truncated})"
        )


class Framer:
    """Incremental framer: ``feed()`` bytes, then ``next_frame()`` until it returns None."""

    def __init__(
        self,
        *,
        expect_greeting: bool = True,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    ) -> None:
        if max_message_size <= 0 or max_buffer_size < max_message_size:
            raise LocalProtocolError("need 0 < max_message_size <= max_buffer_size")
        self.max_message_size = max_message_size
        self.max_buffer_size = max_buffer_size
        self._buf = bytearray()
        # The latest bytes object fed, not copied into _buf yet: the C fast path reads
        # its messages where they lie. Its unread part, from _rest_start, follows _buf.
        self._rest = b""
        self._rest_start = 0
        self._expect_greeting = expect_greeting
        self._eof = False
        self._mode = _START
        self._scan = 0  # where the next search in the current message resumes
        # Follows: no LF between the current line's start and here (a long line that comes
        # in pieces is searched once, not from its start on each piece).
        self._line_scan = 0
        self._blank_end = 0  # Follows: end of the empty line seen after the headers
        self._body_start = 0  # Follows: where the CLI text begins
        self._plain_checked = 0  # fast path: bytes known to hold no LF CRLF and no LF LF
        self._plain_window = _PLAIN_WINDOW_MAX  # fast path: how far one call looks
        self._general_until = 0  # fast path: bytes left to the general path first
        # C fast path: where the scan of an incomplete message resumes, and where its
        # first line ends (-1: not seen yet).
        self._fast_resume = 0
        self._fast_first_lf = -1
        # The fast path found a plain message that needs more bytes, and nothing
        # else: until feed() brings some, there is no need to look again.
        self.waiting = False

    @property
    def eof(self) -> bool:
        return self._eof

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned in a frame."""
        return len(self._buf) + len(self._rest) - self._rest_start

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Store bytes (any buffer of them: only ``bytes`` is kept uncopied); ``b""`` marks
        end of file."""
        if self._eof:
            raise LocalProtocolError("data received after end of file")
        if not data:
            self._eof = True
            self.waiting = False
            return
        self.waiting = False
        if type(data) is bytes and len(data) >= _KEEP_FROM and not self._rest:
            # Kept as it is (immutable, so nobody can change it under us): the C fast
            # path frames most of it in place, and copies only what it leaves.
            self._rest = data
            self._rest_start = 0
            size = len(self._buf) + len(data)
        else:
            if self._rest:
                self._flatten()
            buf = self._buf
            buf += data
            size = len(buf)
        if size > self.max_buffer_size:
            raise RemoteProtocolError(
                f"receive buffer holds {size} bytes, over the limit of "
                f"{self.max_buffer_size} (max_buffer_size)"
            )

    def _flatten(self) -> None:
        """Copy the bytes kept in ``_rest`` to the end of ``_buf``, where every path but
        the C one reads them."""
        rest = self._rest
        if rest:
            with memoryview(rest) as view:
                self._buf += view[self._rest_start :]
            self._rest = b""
            self._rest_start = 0

    def take_plain_run(self) -> list[bytes] | None:
        """Fast path: the complete plain messages at the front of the buffer, each
        without its closing ``PLAIN_END``; or None when the general path
        (``next_frame()``) must take the next one. An empty run means that the next
        message is plain so far and needs more bytes (then ``waiting`` is true).

        Plain means framed the same way by both paths: a message that starts with
        ``Event:`` or with a ``Response:`` line that is not ``Follows``, ends at its
        first LF CRLF with no bare LF LF before, has no second line starting with its
        own first header (a glued message), and fits the size limit. Real Asterisk
        traffic is almost always plain; this makes the work per byte a few calls per
        chunk instead of several per message. ``take_built_run`` is its C twin.
        """
        self._flatten()
        if self._mode != _START or self._scan or self._expect_greeting or self._general_until > 0:
            return None
        if self.waiting:
            return []
        return self._take_plain_blocks()

    def take_built_run(self, take: RunTaker[_Built], args: tuple[object, ...]) -> BuiltRun[_Built] | None:
        """The fast path in C: ``take`` frames the plain messages ``take_plain_run``
        would take, up to and with the first response it does not handle itself, and
        builds objects of those before it (``args`` are its own arguments; with an
        answerer among them, the responses that complete ordinary actions are handled
        in the run: see ``_speedups.take_events``). None when the general path must
        take the next message; an empty run (``([], None)``) when the next message is
        plain so far and needs more bytes, and then ``waiting`` is true.
        """
        if self._mode != _START or self._scan or self._expect_greeting or self._general_until > 0:
            return None
        if self.waiting:
            return [], None
        buf = self._buf
        if self._rest:
            if not buf:
                return self._take_built_in_place(take, args)
            self._complete_cut_message()
        built, response, size, stop, self._fast_resume, self._fast_first_lf = take(
            buf, self.max_message_size, self._fast_resume, self._fast_first_lf, *args
        )
        if stop == _C_STOP_GENERAL or self._eof:
            if not built and response is None:
                return None
        elif stop == _C_STOP_NEED_DATA and not self._rest:
            # (While bytes are kept, the next call brings them in instead.)
            self.waiting = True
        if size:
            del buf[:size]
            self._plain_checked = 0
        return built, response

    def _complete_cut_message(self) -> None:
        """Bring the kept bytes, up to the first message end among them, to the message
        a read cut short at the end of ``_buf``: the C path takes it there whole."""
        rest = self._rest
        start = self._rest_start
        end = rest.find(PLAIN_END, start)
        cut = len(rest) if end < 0 else end + len(PLAIN_END)
        with memoryview(rest) as view:
            self._buf += view[start:cut]
        if cut == len(rest):
            self._rest = b""
            self._rest_start = 0
        else:
            self._rest_start = cut

    def _take_built_in_place(
        self, take: RunTaker[_Built], args: tuple[object, ...]
    ) -> BuiltRun[_Built] | None:
        """``take_built_run`` on the kept bytes, while ``_buf`` is empty: no copy but of
        what it leaves. That is most often a message a read cut short; after a
        response, or a message for the general path, it is the rest of the read,
        taken from ``_buf`` then: a response ends a call, and each call in place
        costs more than in ``_buf`` (answers to actions come in runs)."""
        rest = self._rest
        with memoryview(rest) as whole, whole[self._rest_start :] as view:
            built, response, size, stop, self._fast_resume, self._fast_first_lf = take(
                view, self.max_message_size, self._fast_resume, self._fast_first_lf, *args
            )
            self._buf += view[size:]
        self._rest = b""
        self._rest_start = 0
        if size:
            self._plain_checked = 0
        return self._built_run(built, response, stop, waiting=True)

    def _built_run(
        self, built: list[_Built], response: bytes | None, stop: int, *, waiting: bool
    ) -> BuiltRun[_Built] | None:
        """What ``take_built_run`` gives for what ``take`` returned."""
        if stop == _C_STOP_GENERAL or self._eof:
            if not built and response is None:
                return None
        elif stop == _C_STOP_NEED_DATA and waiting:
            self.waiting = True
        return built, response

    def _take_plain_blocks(self) -> list[bytes] | None:
        """The pure-Python fast path: plain messages without their closing LF CRLF.

        Splitting on ``\\n\\r\\n`` finds exactly the ends the general path finds,
        except ``\\n\\n``: a region holding one goes to the general path whole. The
        run stops at the first message that is not plain, and the general path frames
        the bytes up to its end before the fast path resumes.
        """
        buf = self._buf
        if not buf or buf[0] in (10, 13):
            return None
        checked = self._plain_checked
        window_end = checked + self._plain_window
        last = buf.rfind(PLAIN_END, checked, window_end)
        if last < 0 and window_end < len(buf):
            # No end within the window: a message longer than it, or one ended by a bare
            # LF LF. The general path frames it, with no search to the far end here.
            self._plain_window = _PLAIN_WINDOW_MIN
            return None
        if last < 0:
            # Nothing complete yet: the next look starts where this one ended.
            self._plain_checked = max(0, len(buf) - 2)
            if self._plain_so_far(buf, checked):
                self.waiting = True
                return []
            return None
        self._plain_checked = 0
        with memoryview(buf) as view:
            region = bytes(view[: last + 3])
        if b"\n\n" in region:
            self._general_until = len(region)
            self._plain_window = _PLAIN_WINDOW_MIN
            return None
        blocks = region.split(PLAIN_END)
        blocks.pop()
        limit = self.max_message_size - 3 if len(region) > self.max_message_size else len(region)
        # Mostly every message is an event within the limit: check that at C speed.
        events = sum(map(bytes.startswith, blocks, repeat(b"Event:")))
        if events == len(blocks) and (limit == len(region) or max(map(len, blocks)) <= limit):
            taken = events
        else:
            taken = events = 0
            for block in blocks:
                is_event = block.startswith(b"Event:")
                if not is_event and (not block.startswith(b"Response:") or _glued_or_follows(block)):
                    break
                if len(block) > limit:
                    break
                events += is_event
                taken += 1
        size = len(region) if taken == len(blocks) else sum(map(len, blocks[:taken])) + 3 * taken
        # Each taken event but a first one follows a "\n"; any other "\nEvent:" is glued.
        if taken and region.count(b"\nEvent:", 0, size) != events - blocks[0].startswith(b"Event:"):
            taken = next(i for i in range(taken) if b"\nEvent:" in blocks[i])
            size = sum(map(len, blocks[:taken])) + 3 * taken
        if taken < len(blocks):
            # Leave the next message to the general path, then come back.
            self._general_until = size + len(blocks[taken]) + 3
            self._plain_window = _PLAIN_WINDOW_MIN
            if not taken:
                return None
            del blocks[taken:]
        else:
            self._plain_window = min(2 * self._plain_window, _PLAIN_WINDOW_MAX)
        del buf[:size]
        self._general_until -= size
        # The C path's resume point, should the implementation be switched, is void now.
        self._fast_resume, self._fast_first_lf = 0, -1
        return blocks

    def _plain_so_far(self, buf: bytearray, checked: int) -> bool:
        """Whether the incomplete message at the front of ``buf`` is plain so far, so
        that the general path would only wait for more bytes too (as the C path does).
        Only bytes past ``checked`` are searched for a bare LF LF."""
        if self._eof or len(buf) > self.max_message_size or buf.find(b"\n\n", checked) >= 0:
            return False
        head = bytes(buf[:9])
        # A second message glued on is the general path's to cut, at once (as in C).
        since = max(0, checked - 10)
        if head.startswith(b"Event:"):
            return buf.find(b"\nEvent:", max(6, since)) < 0
        if b"Event:".startswith(head):
            return True
        if not head.startswith(b"Response:"):
            return b"Response:".startswith(head)
        if buf.find(b"\nResponse:", max(9, since)) >= 0:
            return False
        # A Follows is framed by the general path; a first line too long to read is too.
        line_end = buf.find(b"\n", 0, _FIRST_LINE_LOOK)
        if line_end < 0:
            return len(buf) < _FIRST_LINE_LOOK
        return not _FOLLOWS_FIRST_LINE.match(buf, 0, line_end)

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None when more bytes are needed (or none are left at EOF)."""
        self._flatten()
        buf = self._buf
        if self._mode == _START:
            skip = 0
            size = len(buf)
            while skip < size and buf[skip] in (10, 13):
                skip += 1
            if skip:
                del buf[:skip]
            if not buf:
                return None
            first_end = buf.find(b"\n", self._scan)
            if first_end < 0:
                self._scan = len(buf)
                return self._incomplete()
            if self._expect_greeting:
                self._expect_greeting = False
                if b":" not in buf[:first_end]:
                    return self._take(first_end + 1, is_greeting=True)
            if buf[0] in b"Rr" and _FOLLOWS_FIRST_LINE.match(buf, 0, first_end):
                self._mode = _FOLLOWS_HEADERS
                self._scan = first_end + 1
            else:
                self._mode = _BLOCK
                self._scan = first_end
        if self._mode == _BLOCK:
            return self._next_block()
        return self._next_follows()

    def _next_block(self) -> Frame | None:
        buf = self._buf
        scan = self._scan
        # One search for whichever comes first: the message's end (LF CRLF or a bare LF
        # LF), or, as some servers (and captures) run a second message into the first
        # with no empty line between, a line that repeats its first header. Searching
        # for either alone to the end of the buffer made a run of the other quadratic.
        if buf.startswith(b"Event:"):
            found = _EVENT_END_OR_GLUED.search(buf, scan)
        elif buf.startswith(b"Response:"):
            found = _RESPONSE_END_OR_GLUED.search(buf, scan)
        else:
            found = _MESSAGE_END.search(buf, scan)
        if found is None:
            # Resume here; "\nResponse:" is the longest thing looked for.
            self._scan = max(scan, len(buf) - 9)
            return self._incomplete()
        if found.group().endswith(b":"):
            # Glued: complete once the next message's first header has come.
            return self._take(found.start() + 1)
        return self._take(found.end())

    def _next_follows(self) -> Frame | None:
        buf = self._buf
        while self._mode == _FOLLOWS_HEADERS:
            line_end = buf.find(b"\n", max(self._scan, self._line_scan))
            if line_end < 0:
                self._line_scan = len(buf)
                return self._incomplete()
            line = buf[self._scan : line_end + 1]
            if line in (bytearray(b"\n"), bytearray(b"\r\n")):
                self._blank_end = line_end + 1
                self._mode = _FOLLOWS_LOOKAHEAD
            elif _FOLLOWS_HEADER.match(line) and not line.startswith(END_COMMAND):
                self._scan = line_end + 1
            else:
                self._body_start = self._scan
                self._mode = _FOLLOWS_BODY
        if self._mode == _FOLLOWS_LOOKAHEAD:
            # An empty line right after the headers either ends a message that
            # has no body (seen from some servers) or precedes a bare marker.
            line_end = buf.find(b"\n", max(self._blank_end, self._line_scan))
            if line_end < 0:
                if self._eof:
                    return self._take(self._blank_end, body_start=self._blank_end)
                self._line_scan = len(buf)
                return self._incomplete()
            if buf[self._blank_end : line_end].rstrip(b"\r").endswith(END_COMMAND):
                return self._take(line_end + 1, body_start=self._blank_end)
            return self._take(self._blank_end, body_start=self._blank_end)
        marker = buf.find(END_COMMAND, max(self._scan, self._body_start))
        if marker < 0:
            self._scan = max(self._body_start, len(buf) - len(END_COMMAND))
            return self._incomplete()
        line_end = buf.find(b"\n", max(marker, self._line_scan))
        if line_end < 0:
            self._scan = marker
            self._line_scan = len(buf)
            return self._incomplete()
        return self._take(line_end + 1, body_start=self._body_start)

    def _incomplete(self) -> Frame | None:
        """No complete frame yet: enforce the size limit, or flush the rest at EOF."""
        size = len(self._buf)
        if size > self.max_message_size:
            raise RemoteProtocolError(
                f"a message grew past {self.max_message_size} bytes without ending "
                f"(max_message_size); {size} bytes buffered"
            )
        if not self._eof or not size:
            return None
        body_start = self._body_start if self._mode == _FOLLOWS_BODY else None
        return self._take(size, body_start=body_start, truncated=True)

    def _take(
        self,
        end: int,
        *,
        is_greeting: bool = False,
        body_start: int | None = None,
        truncated: bool = False,
    ) -> Frame:
        if end > self.max_message_size:
            raise RemoteProtocolError(
                f"a {end}-byte message is over the limit of {self.max_message_size} bytes (max_message_size)"
            )
        buf = self._buf
        raw = bytes(buf[:end])
        del buf[:end]
        self._general_until -= end
        self._plain_checked = 0
        self._fast_resume = 0
        self._fast_first_lf = -1
        self._mode = _START
        self._scan = 0
        self._line_scan = 0
        return Frame(raw, is_greeting=is_greeting, body_start=body_start, truncated=truncated)
