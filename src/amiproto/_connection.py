"""The client side of one AMI connection, as a pure state machine.

Bytes go in through ``receive_data()``; ``next_event()`` hands out one item at
a time (``Greeting``, ``Response``, ``Event``, ``UnknownMessage``,
``ActionCompleted``, ``LoginResult``, ``ConnectionClosed``) or ``NEED_DATA``;
``send()`` turns an ``Action`` into bytes. Bytes the core itself decides to send
(a keepalive Ping, the second step of an MD5 login) wait in ``data_to_send()``.

Time is an argument: pass ``now`` (any monotonic clock, in seconds) to the
calls that take it, ask ``next_deadline()`` when to call ``handle_timer(now)``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import _accel
from ._actions import Action, check_header, encode_value
from ._errors import LocalProtocolError, RemoteProtocolError
from ._framing import DEFAULT_MAX_BUFFER_SIZE, DEFAULT_MAX_MESSAGE_SIZE, PLAIN_END, Frame, Framer, RunTaker
from ._headers import DECODE_ERRORS, parse_header_lines
from ._messages import (
    ASCII_FIRST_LINE,
    NEED_DATA,
    ActionCompleted,
    ConnectionClosed,
    Event,
    Greeting,
    LoginResult,
    NeedData,
    Response,
    UnknownMessage,
    event_name_of,
    new_completed,
    new_response,
)
from ._registry import event_class
from ._state import TRANSITIONS, Input, State, transition

__all__ = ["Connection", "Item"]

Item = Greeting | Response | Event | UnknownMessage | ActionCompleted | LoginResult | ConnectionClosed

DEFAULT_MAX_LIST_EVENTS = 100_000
"""Events one list action may collect (``max_list_events``); past it the action completes
with ``too_many_events`` (the clients raise ``ListTooLong``) and the rest come as ordinary events."""

_LIST_END_VALUES = ("complete", "cancelled")
_EVENT_NAME_CACHE_SIZE = 4096
"""Event names the connection remembers the class of; a server sending ever new names fills it once."""
_LOGIN_NAMES = ("login", "challenge")
# Actions that, sent with a true Async header, report their outcome later in one
# event with the same ActionID: action name (lower case) -> that event's name.
_RESULT_EVENTS = {"originate": "OriginateResponse"}
# The words Asterisk's ast_true() reads as true.
_TRUE_WORDS = frozenset(("yes", "true", "y", "t", "1", "on"))

_READY_ON_SEND = TRANSITIONS[State.READY, Input.SEND]

# The C helper that hides events from the cyclic GC (see _speedups.c); None: pure Python.
_C_UNTRACK: Callable[[list[Item], type[Event]], None] | None = _accel.c_function(__name__, "_C_UNTRACK")
# The C fast path that frames a run of plain messages and builds its events in one
# call (Framer.take_built_run); None: pure Python (take_plain_run, then _on_blocks).
_C_TAKE_EVENTS: RunTaker[Item] | None = _accel.c_function(__name__, "_C_TAKE_EVENTS")
# Makes what lets _C_TAKE_EVENTS complete ordinary actions itself, as their answers
# come (what _answered does in pure Python); None: pure Python.
_C_ANSWERER: Callable[..., object] | None = _accel.c_function(__name__, "_C_ANSWERER")
# Makes what sends an ordinary action in one call (what _send does); None: pure Python.
_C_SENDER: Callable[..., Callable[[Connection, Action, float | None, float | None], bytes | None]] | None = (
    _accel.c_function(__name__, "_C_SENDER")
)

# What a pending action is, beyond an ordinary request (_PLAIN_LOGIN: a Login the
# program sent itself, whose answer still tells the state machine the outcome).
_PLAIN, _CHALLENGE_STEP, _LOGIN_STEP, _KEEPALIVE, _PLAIN_LOGIN = range(5)


@dataclass
class _Credentials:
    username: str
    secret: str = field(repr=False)
    events: str | None
    timeout: float | None
    started_by: str | None = None  # the ActionID login() sent, for the LoginResult


class _Pending:
    """One action sent and not yet completed (a plain class: one is made per action)."""

    __slots__ = (
        "action",
        "credentials",
        "deadline",
        "events",
        "is_list",
        "response",
        "result",
        "result_event",
        "role",
        "simple",
    )

    def __init__(
        self,
        action: Action,
        deadline: float | None,
        role: int = _PLAIN,
        credentials: _Credentials | None = None,
    ) -> None:
        self.action = action
        self.deadline = deadline
        self.role = role
        self.credentials = credentials
        self.response: Response | None = None
        self.is_list = False
        self.events: list[Event] = []
        self.result_event: str | None = None  # the event that ends this action, when waited for
        self.result: Event | None = None
        # Completed by its response and nothing else, with no other effect: what
        # the C answerer may complete by itself (see _speedups.c, answer()).
        self.simple = role == _PLAIN and action.list_complete_event is None


# An action's timeout: (deadline, tie-breaker, action id, pending).
_Deadline = tuple[float, int, str, _Pending]


class Connection:
    """Client side of one AMI connection. See the module docstring for the flow.

    ``max_message_size`` (16 MiB) and ``max_buffer_size`` (64 MiB) bound what one
    message and the unread bytes may hold. ``max_list_events`` (100 000) bounds the
    items one list action may collect: past it the action completes at once with
    ``complete=False`` and ``too_many_events=True``, keeping the items collected so
    far, and the rest of its list arrives as ordinary events.
    """

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        keepalive_interval: float | None = None,
        keepalive_timeout: float | None = None,
        action_id_prefix: str | None = None,
        max_list_events: int = DEFAULT_MAX_LIST_EVENTS,
    ) -> None:
        "".encode(encoding)  # fail early on an unknown codec
        if isinstance(max_list_events, bool) or not isinstance(max_list_events, int) or max_list_events < 1:
            raise LocalProtocolError(f"max_list_events must be a positive int, not {max_list_events!r}")
        self.encoding = encoding
        self.max_list_events = max_list_events
        self.keepalive_interval = keepalive_interval
        self.keepalive_timeout = keepalive_interval if keepalive_timeout is None else keepalive_timeout
        self._framer = Framer(
            expect_greeting=True, max_message_size=max_message_size, max_buffer_size=max_buffer_size
        )
        self._state = State.AWAITING_GREETING
        self._items: deque[Item] = deque()
        self._outbox = bytearray()
        self._pending: dict[str, _Pending] = {}
        # Pending actions that collect events (open lists, awaited results): while
        # none does, events skip the correlation step.
        self._collecting = 0
        # Raw "Event:" line tails seen on the fast path -> (name, class).
        self._event_names: dict[bytes, tuple[str, type[Event]]] = {}
        # With C: completes ordinary actions inside the fast path's run, so that a
        # read of many answers is one call; it reads the status from the first
        # line, so only where that line reads as ASCII.
        self._answers_inline = encoding in ASCII_FIRST_LINE
        self._answerer = (
            _C_ANSWERER(self._pending, Response, ActionCompleted, _Pending)
            if _C_ANSWERER is not None and self._answers_inline
            else None
        )
        # Action timeouts: (deadline, tie-breaker, action id, pending). Most come in
        # order (one timeout, a clock that goes on): those wait in a FIFO, which costs
        # no comparisons; the rest in a heap. Entries of actions completed since are
        # dropped lazily (_soonest_deadline).
        self._deadlines_in_order: deque[_Deadline] = deque()
        self._deadlines: list[_Deadline] = []
        self._deadline_order = itertools.count()
        # With C: sends an ordinary action while READY in one call; the rest, and
        # what it declines, goes through _send. Only where sending leaves READY as it is.
        self._sender = (
            _C_SENDER(
                self._pending,
                self._deadlines_in_order,
                self._deadlines,
                self._deadline_order,
                heapq.heappush,
                Action,
                _Pending,
                State.READY,
                _PLAIN,
            )
            if _C_SENDER is not None and _READY_ON_SEND is State.READY
            else None
        )
        # A random prefix keeps our ActionIDs apart from other clients' on the same server.
        self._id_prefix = action_id_prefix if action_id_prefix is not None else secrets.token_hex(4)
        check_header("ActionID", self._id_prefix)
        encode_value("ActionID", self._id_prefix, encoding)
        self._next_id = 1  # advanced only by an action that is sent
        self._closed_emitted = False
        self._error: RemoteProtocolError | None = None
        self.greeting: Greeting | None = None
        self.last_action_id: str | None = None
        """The ActionID of the latest action sent, generated or given."""
        self.authenticated = False
        self.username: str | None = None
        # Keepalive bookkeeping, in the caller's clock.
        self._now: float | None = None
        self._idle_since: float | None = None
        self._ping_deadline: float | None = None

    # -- state ---------------------------------------------------------------

    @property
    def state(self) -> State:
        """Where the connection is in its life (see ``amiproto.State``)."""
        return self._state

    @property
    def pending_action_ids(self) -> list[str]:
        """ActionIDs sent and not yet completed, oldest first."""
        return list(self._pending)

    def _move(self, event: Input) -> None:
        self._state = transition(self._state, event)

    def _clock(self, now: float | None) -> None:
        if now is not None:
            self._now = now
            if self._idle_since is None:
                self._idle_since = now

    # -- receiving -------------------------------------------------------------

    def receive_data(self, data: bytes, now: float | None = None) -> None:
        """Store bytes from the server; ``b""`` means end of file.

        ``now`` (optional) marks the peer alive for keepalive purposes.
        """
        if self._error is not None:
            # The cause travels with every later call, whichever loop shape found it.
            error = self._error
            raise RemoteProtocolError(f"cannot receive data: the connection is in error: {error}") from error
        if self._state is State.CLOSED:
            raise LocalProtocolError(f"cannot receive data when the connection is {self._state.value}")
        try:
            self._framer.feed(data)
        except RemoteProtocolError as error:
            self._fail(error)
            raise
        if data and now is not None:
            self._now = now  # as _clock(now) would, without a call per read
            self._idle_since = now
            self._ping_deadline = None

    def next_event(self) -> Item | NeedData:
        """The next item in wire order, or ``NEED_DATA``."""
        items = self._items
        if not items and not self._fill(one=True):
            return NEED_DATA
        return items.popleft()

    def next_events(self) -> list[Item]:
        """Every item the bytes so far hold, in wire order; an empty list means ``NEED_DATA``.

        The same items as calling ``next_event()`` until ``NEED_DATA``, in one call:
        cheaper for a program that handles them in a loop anyway.
        """
        self._fill(one=False)
        items = list(self._items)
        self._items.clear()
        if _C_UNTRACK is not None:
            # Batches are what programs queue; untracked, queued events cost the
            # garbage collector nothing (they cannot be part of a cycle).
            _C_UNTRACK(items, Event)
        return items

    def _fill(self, *, one: bool) -> bool:
        """Turn buffered bytes into items (stopping at the first when ``one``); any ready?"""
        items = self._items
        framer = self._framer
        while not (one and items):
            if self._error is not None:
                if items:
                    break  # hand out what came before the error first
                raise RemoteProtocolError(f"the connection is in error: {self._error}") from self._error
            if self._closed_emitted:
                break
            try:
                take = _C_TAKE_EVENTS
                if take is not None:
                    args = (self._event_names, self._learn_event_name, self.encoding, Event, self._answerer)
                    built = framer.take_built_run(take, args)
                    if built is not None:
                        run, response = built
                        if run or response is not None:
                            self._on_built(run, response)
                        if framer.waiting:
                            break  # a plain message so far, waiting for the rest
                        continue
                else:
                    blocks = framer.take_plain_run()
                    if blocks is not None:
                        if not blocks:
                            break  # a plain message so far, waiting for the rest
                        self._on_blocks(blocks)
                        continue
                frame = framer.next_frame()
            except RemoteProtocolError as error:
                self._fail(error)
                if items:
                    break
                raise
            if frame is not None:
                self._on_frame(frame)
            elif framer.eof:
                self._close("end of file", Input.END_OF_FILE)
            else:
                break
        return bool(items)

    def _fail(self, error: RemoteProtocolError) -> None:
        if self._state not in (State.CLOSED, State.ERROR):
            self._move(Input.REMOTE_ERROR)
        self._error = error

    def _on_blocks(self, blocks: list[bytes]) -> None:
        """Messages from the framer's fast path, each without its closing ``PLAIN_END``.

        This is the hot loop of the pure-Python core: events are built inline, and the
        name and class of each distinct ``Event:`` line are looked up once.
        """
        if self._state is State.AWAITING_GREETING:
            self._move(Input.MESSAGE)
        names = self._event_names
        new = Event.__new__
        append = self._items.append
        encoding = self.encoding
        answers = self._answers_inline
        for block in blocks:
            raw = block + PLAIN_END
            if not block.startswith(b"Event:"):
                response = new_response(raw, encoding)
                if not (answers and self._answered(response)):
                    self._on_response(response)
                continue
            line_end = block.find(b"\n")
            key = block[6:line_end] if line_end >= 0 else block[6:]
            known = names.get(key)
            if known is None:
                known = self._learn_event_name(key)
            name, cls = known
            event = new(cls)
            event.raw = raw
            event._headers = None
            event._name = name
            event._encoding = encoding
            event._truncated = False
            append(event)
            if self._collecting:
                self._correlate(event)

    def _answered(self, response: Response) -> bool:
        """Complete an ordinary action with its answer, when that is all its answer
        does (as ``_on_response`` would, with fewer steps); False, having changed
        nothing, for any other answer. The pure-Python twin of the C answerer
        (``_speedups.c``, answer()): the same answers, the same items."""
        raw = response.raw
        if raw.startswith(b"Response: Success\r\n"):
            status = "success"
        elif raw.startswith(b"Response: Error\r\n"):
            status = "error"
        else:
            return False  # Goodbye moves the state machine; odd spellings are read in full
        lowered = raw.lower()
        if lowered.find(b"eventlist") >= 0 or lowered.find(b"will follow") >= 0:
            return False  # it may open a list
        action_id = response.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None or not pending.simple or pending.response is not None:
            return False
        assert action_id is not None
        response._status = status
        del self._pending[action_id]
        append = self._items.append
        append(response)
        append(new_completed(action_id, pending.action, response, (), True, False, (), False, False, None))
        return True

    def _on_built(self, run: list[Item], response: bytes | None) -> None:
        """Items the C fast path built (events as ``_on_blocks`` does; responses that
        completed ordinary actions, each followed by its ``ActionCompleted``, as
        ``_on_response`` does), then the response that ended their run, if one did."""
        if self._state is State.AWAITING_GREETING:
            self._move(Input.MESSAGE)
        if self._collecting:
            append = self._items.append
            for item in run:
                if isinstance(item, Event):
                    self._on_event(item)
                else:
                    append(item)  # already handled in C
        else:
            self._items.extend(run)
        if response is not None:
            self._on_response(new_response(response, self.encoding))

    def _learn_event_name(self, key: bytes) -> tuple[str, type[Event]]:
        name = key.strip().decode(self.encoding, DECODE_ERRORS)
        known = (name, event_class(name))
        # Bounded, so that a server sending ever new names cannot grow it for ever.
        if len(self._event_names) < _EVENT_NAME_CACHE_SIZE:
            self._event_names[key] = known
        return known

    def _on_frame(self, frame: Frame) -> None:
        raw = frame.raw
        encoding = self.encoding
        if frame.is_greeting:
            self.greeting = Greeting(raw, encoding)
            self._move(Input.GREETING)
            self._items.append(self.greeting)
            return
        if self._state is State.AWAITING_GREETING:
            self._move(Input.MESSAGE)
        name = event_name_of(raw, encoding)
        if name is not None:
            cls = event_class(name)
            self._on_event(cls(raw, encoding=encoding, truncated=frame.truncated, name=name))
        elif raw.startswith(b"Response:") or frame.body_start is not None:
            self._on_response(
                Response(raw, encoding=encoding, truncated=frame.truncated, body_start=frame.body_start)
            )
        else:
            self._on_unusual(raw, frame.truncated)

    def _on_unusual(self, raw: bytes, truncated: bool) -> None:
        """A message that does not start with ``Event:`` or ``Response:``: classify by its headers."""
        pairs, _ = parse_header_lines(raw.decode(self.encoding, DECODE_ERRORS))
        names = [name.strip().lower() for name, _ in pairs]
        if "event" in names and (
            names.index("event") < names.index("response") if "response" in names else True
        ):
            name = pairs[names.index("event")][1].strip()
            cls = event_class(name)
            self._on_event(cls(raw, encoding=self.encoding, truncated=truncated, name=name))
        elif "response" in names:
            self._on_response(Response(raw, encoding=self.encoding, truncated=truncated))
        else:
            self._items.append(UnknownMessage(raw, encoding=self.encoding, truncated=truncated))

    def _on_response(self, response: Response) -> None:
        action_id = response.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None or pending.response is not None:
            self._items.append(response.as_orphan())
            return
        pending.response = response
        self._items.append(response)
        if response.status == "goodbye":  # read from the first line: no parse
            self._move(Input.GOODBYE)
        assert action_id is not None
        if pending.result_event is not None:
            # An error response ends the action at once; a success waits for the result
            # event, unless that came first.
            if response.success and not response.truncated and pending.result is None:
                return
            self._complete(action_id, pending, complete=not response.truncated)
            return
        if self._starts_list(response, pending.action):
            pending.is_list = True
            self._collecting += 1
            return
        # A response cut short by end of file is not a whole answer.
        self._complete(action_id, pending, complete=not response.truncated)

    @staticmethod
    def _starts_list(response: Response, action: Action) -> bool:
        if not response._may_announce_list():
            # Neither an EventList header nor a "will follow" message: the answers of
            # nearly every action, decided without parsing their headers.
            return (
                action.list_complete_event is not None and response.success and response.status != "follows"
            )
        if response.event_list == "start":
            return True
        if not response.success or response.status == "follows":
            return False
        if action.list_complete_event is not None:
            return True
        # Servers before EventList headers announced lists in words only.
        message = response.message
        return message is not None and message.rstrip().lower().endswith("will follow")

    def _on_event(self, event: Event) -> None:
        self._items.append(event)
        if self._collecting:
            self._correlate(event)

    def _correlate(self, event: Event) -> None:
        """Attach an event to the open list it belongs to, and close the list at its end."""
        action_id = event.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None:
            return
        assert action_id is not None
        if pending.result_event is not None:
            self._take_result(action_id, pending, event)
            return
        if not pending.is_list:
            return
        if self._ends_list(event, pending):
            pending.events.append(event)
            self._complete(action_id, pending, complete=not event.truncated)
        elif len(pending.events) < self.max_list_events:
            pending.events.append(event)
        else:
            # A list that never ends must not grow without bound: give it up here;
            # with the action gone, its later events are ordinary events.
            self._complete(action_id, pending, complete=False, too_many_events=True)

    def _take_result(self, action_id: str, pending: _Pending, event: Event) -> None:
        """Keep the result event an action waits for; with its response in, that completes it."""
        if pending.result is not None or event.name.lower() != (pending.result_event or "").lower():
            return
        pending.result = event
        if pending.response is not None:
            self._complete(action_id, pending, complete=not event.truncated)

    @staticmethod
    def _ends_list(event: Event, pending: _Pending) -> bool:
        if event.event_list in _LIST_END_VALUES:
            return True
        expected = pending.action.list_complete_event
        if expected is not None:
            return event.name.lower() == expected.lower()
        response = pending.response
        legacy = response is not None and response.event_list is None
        return legacy and event.name.endswith("Complete")

    def _complete(
        self,
        action_id: str,
        pending: _Pending,
        *,
        complete: bool = True,
        timed_out: bool = False,
        too_many_events: bool = False,
    ) -> None:
        del self._pending[action_id]
        is_list = pending.is_list
        if is_list or pending.result_event is not None:
            self._collecting -= 1
        events = tuple(pending.events) if pending.events else ()
        warnings = tuple(_check_list_items(events)) if is_list and complete and events else ()
        response = pending.response
        self._items.append(
            new_completed(
                action_id,
                pending.action,
                response,
                events,
                complete and response is not None,
                timed_out,
                warnings,
                is_list,
                too_many_events,
                pending.result,
            )
        )
        role = pending.role
        if role == _PLAIN:
            return
        if role == _KEEPALIVE:
            # Answered (or lost): the peer is alive as of the latest time we were given.
            self._ping_deadline = None
            if self._now is not None:
                self._idle_since = self._now
        elif role in (_CHALLENGE_STEP, _LOGIN_STEP):
            self._advance_login(pending, complete=complete, timed_out=timed_out)
        elif response is not None:  # _PLAIN_LOGIN
            self._record_login(response.success, pending.action.get("Username"))

    # -- login -----------------------------------------------------------------

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str = "md5",
        events: bool | str | None = None,
        timeout: float | None = None,
        now: float | None = None,
    ) -> bytes:
        """Start a login; the bytes returned go to the server.

        ``auth="md5"`` sends ``Challenge`` first and then ``Login`` with ``Key`` =
        md5(challenge + secret), queued in ``data_to_send()`` when the challenge
        arrives; ``auth="plain"`` sends ``Login`` with ``Secret``. ``events`` is
        the ``Events`` header: True for on, False for off, or a class mask such as
        ``"call,system"``. The outcome is a ``LoginResult`` from ``next_event()``.
        """
        if auth not in ("md5", "plain"):
            raise LocalProtocolError(f"auth must be 'md5' or 'plain', not {auth!r}")
        if events is True or events is False:
            events_value: str | None = "on" if events else "off"
        else:
            events_value = events
        # Checked here, whichever auth: with MD5 they are sent only after the
        # Challenge round trip, too late to refuse them to the caller.
        self._check_credentials(username, secret, events_value)
        credentials = _Credentials(username, secret, events_value, timeout)
        if auth == "md5":
            data = self._send(Action("Challenge", AuthType="MD5"), timeout, now, _CHALLENGE_STEP, credentials)
        else:
            pairs = [("Username", username), ("Secret", secret)]
            if events_value is not None:
                pairs.append(("Events", events_value))
            data = self._send(Action("Login", pairs), timeout, now, _LOGIN_STEP, credentials)
        credentials.started_by = self.last_action_id
        return data

    def _check_credentials(self, username: object, secret: object, events: object) -> None:
        """Refuse what the Login action could not carry, before any byte is produced."""
        for name, value in (("Username", username), ("Secret", secret), ("Events", events)):
            if value is None and name == "Events":
                continue
            if not isinstance(value, str):
                kind = type(value).__name__
                expected = "a str, True, False or None" if name == "Events" else "a str"
                raise LocalProtocolError(f"login(): {name} must be {expected}, not {kind}")
            check_header(name, value)
            encode_value(name, value, self.encoding)

    def _advance_login(self, pending: _Pending, *, complete: bool, timed_out: bool) -> None:
        credentials = pending.credentials
        assert credentials is not None
        response = pending.response
        answered = complete and not timed_out and response is not None
        if pending.role == _CHALLENGE_STEP and answered and response is not None and response.success:
            challenge = response.get("Challenge")
            if challenge is not None:
                # surrogateescape: the exact bytes of a challenge or secret that is not text.
                secret_bytes = (challenge + credentials.secret).encode(self.encoding, "surrogateescape")
                key = hashlib.md5(secret_bytes).hexdigest()
                pairs = [("AuthType", "MD5"), ("Username", credentials.username), ("Key", key)]
                if credentials.events is not None:
                    pairs.append(("Events", credentials.events))
                login = Action("Login", pairs)
                # The Login step gets the same timeout, counted from the latest ``now`` given.
                self._outbox += self._send(login, credentials.timeout, None, _LOGIN_STEP, credentials)
                return
        success = pending.role == _LOGIN_STEP and answered and response is not None and response.success
        self._record_login(success, credentials.username)
        if answered and response is not None:
            message = response.message
        else:
            message = "no answer to the login: " + ("timed out" if timed_out else "the connection ended")
        self._items.append(
            LoginResult(
                success,
                credentials.username,
                response,
                message,
                answered=answered,
                timed_out=timed_out,
                action_id=credentials.started_by,
            )
        )

    def _record_login(self, success: bool, username: str | None) -> None:
        if success:
            self.authenticated = True
            self.username = username
        if self._state == State.LOGGING_IN:
            self._move(Input.LOGIN_ACCEPTED if success else Input.LOGIN_REJECTED)

    # -- sending ---------------------------------------------------------------

    def send(
        self,
        action: Action,
        *,
        timeout: float | None = None,
        now: float | None = None,
        wait_for_result: bool = False,
    ) -> bytes:
        """Register ``action`` and return its bytes for the socket.

        An ``ActionID`` given in the action is used as it is; otherwise one is
        generated. ``timeout`` (seconds, needs a ``now`` here or earlier) makes
        ``handle_timer()`` complete the action as timed out.

        ``wait_for_result``: an action that reports its outcome in a later event
        (``Originate`` with a true ``Async``: ``OriginateResponse``, same ActionID)
        completes only when that event has come too; ``ActionCompleted.result``
        holds it and ``success`` reads it. An error response still completes at
        once; ``timeout`` covers the whole wait; any other action (a synchronous
        Originate too) completes with its response, as without it.
        """
        sender = self._sender
        data = None if sender is None else sender(self, action, timeout, now)
        if data is None:
            if not isinstance(action, Action):
                raise LocalProtocolError(f"send() takes an amiproto.Action, not {type(action).__name__}")
            data = self._send(action, timeout, now, _PLAIN, None)
        if wait_for_result:
            result_event = _result_event_of(action)
            if result_event is not None:
                assert self.last_action_id is not None
                pending = self._pending[self.last_action_id]
                pending.result_event = result_event
                pending.simple = False
                self._collecting += 1
        return data

    def _send(
        self,
        action: Action,
        timeout: float | None,
        now: float | None,
        role: int,
        credentials: _Credentials | None,
    ) -> bytes:
        # Every check comes before any change: a refused action leaves no state,
        # no waiter and no deadline behind.
        lowered = action.name.lower()
        if lowered in _LOGIN_NAMES:
            event = Input.SEND_LOGIN
            if role == _PLAIN and lowered == "login":
                role = _PLAIN_LOGIN
        elif lowered == "logoff":
            event = Input.SEND_LOGOFF
        else:
            event = Input.SEND
        if event is Input.SEND and self._state is State.READY:
            next_state = _READY_ON_SEND  # the usual case, without hashing two enums
        else:
            next_state = transition(self._state, event)
        deadline = None
        if timeout is not None:
            clock = now if now is not None else self._now
            if clock is None:
                raise LocalProtocolError("a timeout needs the current time: pass now=")
            deadline = clock + timeout
        action_id = action.action_id if action.headers else None  # most actions the core numbers have none
        numbered = action_id is None
        if action_id is None:
            action_id = f"{self._id_prefix}-{self._next_id}"
            # Safe by construction: the prefix was checked once, and the rest is a number.
            action = action._with_checked_id(action_id)
        elif action_id in self._pending:
            raise LocalProtocolError(f"ActionID {action_id!r} is already waiting for an answer")
        data = action.serialize(self.encoding)
        if now is not None:
            self._clock(now)
        self._state = next_state
        self._next_id += numbered
        self.last_action_id = action_id
        pending = self._pending[action_id] = _Pending(action, deadline, role, credentials)
        if deadline is not None:
            entry = (deadline, next(self._deadline_order), action_id, pending)
            in_order = self._deadlines_in_order
            if not in_order or deadline >= in_order[-1][0]:
                in_order.append(entry)
            else:
                heapq.heappush(self._deadlines, entry)
        return data

    def data_to_send(self) -> bytes:
        """Bytes the core decided to send by itself (keepalive, MD5 login step); clears them."""
        if not self._outbox:
            return b""  # the usual case: asked after every action sent
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    # -- time ------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``handle_timer()`` should next be called, in the caller's clock; None: never."""
        # Asked once per read by every client: no list, no min() for the usual case.
        if self._state in (State.CLOSED, State.ERROR):
            return None
        soonest = self._soonest_deadline()
        deadline = None if soonest is None else soonest[0]
        if self.keepalive_interval is None:
            return deadline
        if self._ping_deadline is not None:
            keepalive = self._ping_deadline
        elif self._idle_since is not None:
            keepalive = self._idle_since + self.keepalive_interval
        else:
            return deadline
        return keepalive if deadline is None else min(deadline, keepalive)

    def _soonest_deadline(self) -> _Deadline | None:
        """The entry of the pending action that times out first, or None; the entries
        of actions completed since are dropped on the way, each once."""
        pending = self._pending
        in_order = self._deadlines_in_order
        while in_order:
            first = in_order[0]
            if pending.get(first[2]) is first[3]:
                break
            in_order.popleft()
        heap = self._deadlines
        while heap and pending.get(heap[0][2]) is not heap[0][3]:
            heapq.heappop(heap)
        if not heap:
            return in_order[0] if in_order else None
        # Tie-breakers are unique: entries compare by (deadline, tie-breaker) alone.
        return min(in_order[0], heap[0]) if in_order else heap[0]

    def handle_timer(self, now: float) -> None:
        """Act on every deadline at or before ``now``: time out actions, ping, or declare the peer dead."""
        self._clock(now)
        if self._state in (State.CLOSED, State.ERROR):
            return
        while (soonest := self._soonest_deadline()) is not None and soonest[0] <= now:
            if self._deadlines_in_order and self._deadlines_in_order[0] is soonest:
                self._deadlines_in_order.popleft()
            else:
                heapq.heappop(self._deadlines)
            _, _, action_id, pending = soonest
            self._complete(action_id, pending, complete=False, timed_out=True)
        if self.keepalive_interval is None or self._state == State.CLOSING:
            return
        if self._ping_deadline is not None:
            if now >= self._ping_deadline:
                self._close(
                    f"keepalive: no answer to Ping within {self.keepalive_timeout} s",
                    Input.PEER_DEAD,
                )
        elif self._idle_since is not None and now >= self._idle_since + self.keepalive_interval:
            ping_id = f"{self._id_prefix}-keepalive-{self._next_id}"
            self._next_id += 1
            self._outbox += self._send(Action("Ping", ActionID=ping_id), None, now, _KEEPALIVE, None)
            self._ping_deadline = now + (self.keepalive_timeout or 0.0)

    def _close(self, reason: str, event: Input) -> None:
        pending = tuple(self._pending)
        for action_id in pending:
            self._complete(action_id, self._pending[action_id], complete=False)
        self._move(event)
        self._closed_emitted = True
        self._items.append(ConnectionClosed(reason, pending))


def _result_event_of(action: Action) -> str | None:
    """The event that will report ``action``'s outcome, or None when its response does."""
    event = _RESULT_EVENTS.get(action.name.lower())
    if event is None:
        return None
    asynchronous = action.get("Async")
    if asynchronous is None or asynchronous.strip().lower() not in _TRUE_WORDS:
        return None
    return event


def _check_list_items(events: tuple[Event, ...]) -> list[str]:
    """Compare the count a list's last event announces with the items that came."""
    final = events[-1]
    announced = final.get("ListItems")
    if announced is None:
        announced = final.get("Items")
    if announced is None:
        return []
    try:
        expected = int(announced.strip())
    except ValueError:
        return [f"{final.name}: ListItems is not a number: {announced!r}"]
    arrived = len(events) - 1
    if expected != arrived:
        return [f"{final.name} announced {expected} items, {arrived} arrived"]
    return []
