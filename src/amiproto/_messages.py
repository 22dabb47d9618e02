"""What the core hands out: messages from the server and items about actions.

Messages keep ``raw``, the exact bytes the server sent. Their headers are
decoded and split the first time someone asks for them, because a program that
only routes on ``Event.name`` and ``action_id`` should not pay for the rest;
the result is cached, and the same bytes always give the same headers, so a
message is safe to share between threads once the core has returned it.

With the C speedups, ``Message.headers`` and ``Message.action_id`` are C
getters (``message_getters``); the first parses in one call and leaves each
value undecoded until it is read. The pure-Python getters are their twins.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, ClassVar, Literal

from . import _accel
from ._headers import _NO_NAMES, DECODE_ERRORS, Headers, _shape_of_key, headers_of_text

if TYPE_CHECKING:
    from ._actions import Action

__all__ = [
    "NEED_DATA",
    "ActionCompleted",
    "ConnectionClosed",
    "Event",
    "Greeting",
    "LoginResult",
    "Message",
    "NeedData",
    "Response",
    "UnknownMessage",
]


# Encodings (as spelled to the Connection) in which a line's ASCII bytes are its
# ASCII characters and a byte below 0x80 is never part of another character: the
# first line of a message can then be read alone, and a header name found in bytes.
ASCII_FIRST_LINE = frozenset(
    {"utf-8", "utf8", "UTF-8", "ascii", "us-ascii", "latin-1", "latin1", "iso-8859-1", "cp1252"}
)


# A response's first line ("Response: Success\r") -> its status: a server uses a
# handful. Bounded, so that one inventing statuses cannot grow it for ever.
_STATUS_OF_LINE: dict[bytes, str] = {}
_STATUS_LINES_LIMIT = 64


class _Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return f"amiproto.{self.value}"


NEED_DATA: Literal[_Sentinel.NEED_DATA] = _Sentinel.NEED_DATA
"""Returned by ``next_event()`` when the bytes so far hold no complete item."""

NeedData = Literal[_Sentinel.NEED_DATA]

# The ActionID header line, as the header parser would read it: a name that is
# "actionid" in any case, a colon, one optional space, the value to the line end.
_ACTION_ID_LINE = re.compile(rb"\n(?i:actionid): ?([^\n]*)")
# The same as the first line; apart, because an alternation with ``\A`` would cost
# the search above its fast scan for a literal LF.
_ACTION_ID_FIRST_LINE = re.compile(rb"(?i:actionid): ?([^\n]*)")


# The C twin of the getters of Message.headers and Message.action_id (see _accel); None
# means pure Python. It makes the getters from the classes whose slots they read.
_C_MESSAGE_GETTERS: (
    Callable[..., tuple[Callable[[Message], Headers], Callable[[Message], str | None]]] | None
) = _accel.c_function(__name__, "_C_MESSAGE_GETTERS")


class Greeting:
    """The banner line, e.g. ``Asterisk Call Manager/11.0.0``."""

    __slots__ = ("name", "raw", "version")

    def __init__(self, raw: bytes, encoding: str = "utf-8") -> None:
        self.raw = raw
        line = raw.decode(encoding, DECODE_ERRORS).rstrip("\r\n")
        name, slash, version = line.rpartition("/")
        self.name = name if slash else line
        self.version = version if slash else ""

    def __repr__(self) -> str:
        return f"Greeting(name={self.name!r}, version={self.version!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Greeting) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Message:
    """A block of header lines from the server, ended by an empty line.

    ``headers`` holds every ``name: value`` line in order; ``unparsed`` the lines
    that have no colon, so nothing the server sent is dropped. ``truncated`` is
    true for a message that end of file cut short.
    """

    # Every slot but ``_unparsed`` is set when a message is built (``_headers``
    # to None until parsed): reading a slot that is unset raises inside, which
    # costs more than setting it.
    __slots__ = ("_encoding", "_headers", "_truncated", "_unparsed", "raw")

    kind: ClassVar[str] = "message"

    def __init__(self, raw: bytes, *, encoding: str = "utf-8", truncated: bool = False) -> None:
        self.raw = raw
        self._headers: Headers | None = None
        self._encoding = encoding
        self._truncated = truncated

    @property
    def encoding(self) -> str:
        """The encoding the message's bytes are decoded with."""
        return self._encoding

    @property
    def truncated(self) -> bool:
        """True when end of file cut this message short."""
        return self._truncated

    def _header_end(self) -> int:
        """Where the header lines end in ``raw``; -1 for the end of ``raw``."""
        return -1

    def _parse(self) -> Headers:
        """Parse the headers in Python (the C getter's twin, and its way for other encodings)."""
        end = self._header_end()
        raw = self.raw
        headers, unparsed = headers_of_text(
            (raw if end < 0 else raw[:end]).decode(self._encoding, DECODE_ERRORS)
        )
        self._unparsed = tuple(unparsed) if unparsed else ()
        self._headers = headers
        return headers

    def _python_headers(self) -> Headers:
        headers = self._headers
        return self._parse() if headers is None else headers

    if TYPE_CHECKING:

        @property
        def headers(self) -> Headers:
            """Every ``name: value`` line, in order, duplicates kept; parsed on first use."""

    else:
        # Chosen by _speedups_switched() below: the C getter, or _python_headers.
        headers = property(_python_headers)

    @property
    def unparsed(self) -> tuple[str, ...]:
        """Lines of this message that are not ``name: value`` headers."""
        if self._headers is None:
            self.headers  # noqa: B018 (parses, and sets _unparsed)
        return self._unparsed

    def _python_action_id(self) -> str | None:
        raw = self.raw
        found = _ACTION_ID_FIRST_LINE.match(raw) or _ACTION_ID_LINE.search(raw)
        if found is None:
            return None
        value = found.group(1)
        if value[-1:] == b"\r":
            value = value[:-1]
        return value.decode(self._encoding, DECODE_ERRORS)

    if TYPE_CHECKING:

        @property
        def action_id(self) -> str | None:
            """The first ``ActionID`` header (any case), or None; read without a full parse."""

    else:
        # Chosen by _speedups_switched() below: the C getter, or _python_action_id.
        action_id = property(_python_action_id)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Shortcut for ``headers.get``."""
        return self.headers.get(name, default)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and type(other) is type(self) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.headers)!r})"


_message_action_id: Callable[[Message], str | None] = Message.action_id.fget  # type: ignore[attr-defined]


class Response(Message):
    """The server's answer to an action."""

    __slots__ = ("_body", "_status", "orphan")

    kind: ClassVar[str] = "response"

    def __init__(
        self,
        raw: bytes,
        *,
        encoding: str = "utf-8",
        truncated: bool = False,
        body_start: int | None = None,
        orphan: bool = False,
    ) -> None:
        super().__init__(raw, encoding=encoding, truncated=truncated)
        self.orphan = orphan
        """True when no action sent on this connection was waiting for this response."""
        # Where the text of an old ``Response: Follows`` body begins in ``raw``.
        self._body = body_start
        self._status: str | None = None  # read once, when first asked for

    def as_orphan(self) -> Response:
        """The same response, marked as one nobody was waiting for."""
        orphan = Response(
            self.raw,
            encoding=self.encoding,
            truncated=self.truncated,
            body_start=self._body,
            orphan=True,
        )
        orphan._headers = self._headers
        orphan._status = self._status
        if self._headers is not None:
            orphan._unparsed = self._unparsed
        return orphan

    def _header_end(self) -> int:
        return -1 if self._body is None else self._body

    def _may_announce_list(self) -> bool:
        """False when this response surely has neither an ``EventList`` header nor a
        message that says a list "will follow": then it opens no list, and the core
        knows it without parsing the headers. True when it may (or cannot tell)."""
        if self._headers is not None or self._encoding not in ASCII_FIRST_LINE:
            return True
        # Both in any case; a header named EventList holds these bytes in any of
        # these encodings, and so does a message that ends with "will follow".
        # find(), not "in": bytes.__contains__ first tries its argument as an int.
        lowered = self.raw.lower()
        return lowered.find(b"eventlist") >= 0 or lowered.find(b"will follow") >= 0

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header, or None."""
        if self._body is not None:
            return self.headers.get("ActionID")
        return _message_action_id(self)

    @property
    def status(self) -> str:
        """``success``, ``error``, ``follows``, ``goodbye``, or whatever else came, lower-cased."""
        status = self._status
        if status is None:
            status = self._status = self._read_status()
        return status

    def _read_status(self) -> str:
        # The first line, when it is the Response header as the parser would read
        # it, without parsing the rest: every answer's status is read, few others.
        raw = self.raw
        encoding = self._encoding
        if raw.startswith(b"Response: Success\r\n") and encoding in ASCII_FIRST_LINE:
            return "success"  # most answers
        if raw.startswith(b"Response:") and encoding in ASCII_FIRST_LINE:
            end = raw.find(b"\n")
            line = raw if end < 0 else raw[:end]
            status = _STATUS_OF_LINE.get(line)
            if status is None:
                status = line[9:].decode(encoding, DECODE_ERRORS).strip().lower()
                # ASCII lines only: they mean the same in every encoding here.
                if line.isascii() and len(_STATUS_OF_LINE) < _STATUS_LINES_LIMIT:
                    _STATUS_OF_LINE[line] = status
            return status
        return (self.headers.get("Response") or "").strip().lower()

    @property
    def success(self) -> bool:
        """The server accepted the action: ``Success`` (or ``Follows``, ``Goodbye``, ``Pong``)."""
        # The status as read already (the C answerer sets it), without the property's call:
        # every answer's success is read once.
        status = self._status
        if status is None:
            status = self.status
        return status in ("success", "follows", "goodbye", "pong")

    @property
    def message(self) -> str | None:
        """The ``Message`` header: why an ``Error``, or what a ``Success`` did; None without it."""
        return self.headers.get("Message")

    @property
    def event_list(self) -> str | None:
        """The ``EventList`` header, lower-cased (``start`` opens a list)."""
        value = self.headers.get("EventList")
        return None if value is None else value.strip().lower()

    @property
    def output(self) -> list[str]:
        """Command output, one string a line, whichever way the server framed it.

        Asterisk 14 and later send ``Output:`` headers; older ones send the CLI
        text after ``Response: Follows`` up to ``--END COMMAND--``.
        """
        lines = self.headers.get_all("Output")
        if self._body is not None:
            body = self.raw[self._body :].decode(self.encoding, DECODE_ERRORS)
            end = body.rfind("--END COMMAND--")
            if end >= 0:
                body = body[:end]
            if body:
                body_lines = body.split("\n")
                if body_lines[-1] in ("", "\r"):
                    body_lines.pop()
                lines.extend(line[:-1] if line.endswith("\r") else line for line in body_lines)
        return lines


def new_response(raw: bytes, encoding: str) -> Response:
    """``Response(raw, encoding=encoding)``, made without the calls: one per answer."""
    response = _new_response(Response)
    response.raw = raw
    response._headers = None
    response._encoding = encoding
    response._truncated = False
    response.orphan = False
    response._body = None
    response._status = None
    return response


_new_response = Response.__new__


class Event(Message):
    """Something that happened on the server, named by its ``Event`` header."""

    __slots__ = ("_name",)

    kind: ClassVar[str] = "event"
    event_name: ClassVar[str | None] = None

    def __init__(
        self,
        raw: bytes,
        *,
        encoding: str = "utf-8",
        truncated: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(raw, encoding=encoding, truncated=truncated)
        if name is None:
            name = event_name_of(raw, encoding)
            if name is None:
                name = (self.headers.get("Event") or "").strip()
        self._name = name

    if TYPE_CHECKING:

        @property
        def name(self) -> str:
            """The event's name, from its ``Event`` header."""

    else:
        # A property whose getter is C code: routing reads every event's name, and
        # a Python getter would cost more than the dictionary lookup that follows.
        name = property(attrgetter("_name"), doc="The event's name, from its ``Event`` header.")

    @property
    def event_list(self) -> str | None:
        """The ``EventList`` header, lower-cased (``complete`` ends a list)."""
        value = self.headers.get("EventList")
        return None if value is None else value.strip().lower()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, headers={list(self.headers)!r})"


class UnknownMessage(Message):
    """A block with neither a ``Response`` nor an ``Event`` header: kept, not dropped."""

    __slots__ = ()

    kind: ClassVar[str] = "unknown"


def event_name_of(raw: bytes, encoding: str = "utf-8") -> str | None:
    """The name of an event whose first line is ``Event: NAME``, read without a full parse."""
    if not raw.startswith(b"Event:"):
        return None
    end = raw.find(b"\n")
    value = raw[6:] if end < 0 else raw[6:end]
    return value.strip().decode(encoding, DECODE_ERRORS)


def _speedups_switched() -> None:
    """Give ``Message.headers`` and ``Message.action_id`` the getters the switch chose (see _accel)."""
    global _message_action_id  # noqa: PLW0603 - Response.action_id calls the chosen getter
    make_getters = _C_MESSAGE_GETTERS
    headers: Callable[[Message], Headers] = Message._python_headers
    action_id: Callable[[Message], str | None] = Message._python_action_id
    if make_getters is not None:
        headers, action_id = make_getters(
            Message, Response, Headers, _shape_of_key, _NO_NAMES, Message._parse, action_id
        )
    # setattr: these are typed as properties above, for the type checker.
    setattr(Message, "headers", property(headers, doc="Every ``name: value`` line, in order."))  # noqa: B010
    doc = "The first ``ActionID`` header (any case), or None; read without a full parse."
    setattr(Message, "action_id", property(action_id, doc=doc))  # noqa: B010
    _message_action_id = action_id


_speedups_switched()


@dataclass(frozen=True, slots=True)
class ActionCompleted:
    """Everything that belongs to one action sent with ``Connection.send()``.

    Emitted right after its last message: the Response, or for a list action the
    event that closes the list. ``complete`` is false when the answer never
    arrived whole (end of file, timeout, or ``too_many_events``); ``warnings``
    reports oddities that did not stop completion, such as a ``ListItems`` count
    that disagrees with the events that came.

    ``too_many_events`` is true when a list brought more items than the
    connection's ``max_list_events``: the action was given up at that point,
    ``events`` holds the items collected until then, and the rest of the list
    arrives as ordinary events.

    ``result`` is the event that reported the outcome of an action sent with
    ``wait_for_result`` (the ``OriginateResponse`` of an async ``Originate``), or
    None: not waited for, or it never came (then ``complete`` is false).
    ``success`` is false when it says ``Response: Failure`` (see its ``Reason``).

    ``response`` is None only when the action ended before any answer: a
    timeout (``timed_out``) or the end of the connection. The clients raise
    ``ActionTimeout`` or ``ConnectionLost`` then, so the ``ActionCompleted``
    they return always has one; ``get(name)`` reads its headers either way.
    """

    action_id: str
    action: Action
    response: Response | None
    events: tuple[Event, ...] = ()
    complete: bool = True
    timed_out: bool = False
    warnings: tuple[str, ...] = ()
    is_list: bool = False
    too_many_events: bool = False
    result: Event | None = None

    @property
    def success(self) -> bool:
        """The response says Success, it came whole, and so did any awaited result."""
        if not (self.complete and self.response is not None and self.response.success):
            return False
        if self.result is None:
            return True
        outcome = self.result.get("Response")
        return outcome is not None and outcome.strip().lower() == "success"

    def get(self, name: str, default: str | None = None) -> str | None:
        """The response's header ``name`` (any case); ``default`` without it or a response."""
        if self.response is None:
            return default
        return self.response.get(name, default)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The end of a login started with ``Connection.login()``.

    ``answered`` is false when no answer came: then ``timed_out`` tells a login
    timeout from a connection that ended first, and the login was not refused.
    ``action_id`` is the ActionID of the action ``login()`` sent (the Challenge with
    MD5): it tells which of several logins in flight this one ends.
    """

    success: bool
    username: str
    response: Response | None
    message: str | None = None
    answered: bool = True
    timed_out: bool = False
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The connection is over; nothing more will come."""

    reason: str = "end of file"
    pending: tuple[str, ...] = field(default=())


# ActionCompleted's slots, set through their descriptors: a frozen dataclass's own
# __init__ goes through object.__setattr__ by name, which costs twice as much, and
# the core makes one per action. Unpacked here, so that a field added to the class
# and not here fails at import.
(
    _set_action_id,
    _set_action,
    _set_response,
    _set_events,
    _set_complete,
    _set_timed_out,
    _set_warnings,
    _set_is_list,
    _set_too_many_events,
    _set_result,
) = tuple[Callable[[ActionCompleted, object], None], ...](
    getattr(ActionCompleted, each.name).__set__ for each in fields(ActionCompleted)
)
_new_completed_object = ActionCompleted.__new__


def new_completed(  # noqa: PLR0917 (the fields, in the dataclass's order)
    action_id: str,
    action: Action,
    response: Response | None,
    events: tuple[Event, ...],
    complete: bool,
    timed_out: bool,
    warnings: tuple[str, ...],
    is_list: bool,
    too_many_events: bool,
    result: Event | None,
) -> ActionCompleted:
    """``ActionCompleted(...)`` with every field given, in order: the same object, made faster."""
    completed = _new_completed_object(ActionCompleted)
    _set_action_id(completed, action_id)
    _set_action(completed, action)
    _set_response(completed, response)
    _set_events(completed, events)
    _set_complete(completed, complete)
    _set_timed_out(completed, timed_out)
    _set_warnings(completed, warnings)
    _set_is_list(completed, is_list)
    _set_too_many_events(completed, too_many_events)
    _set_result(completed, result)
    return completed
