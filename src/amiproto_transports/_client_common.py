"""What the sync, asyncio and trio clients share, written once.

The core (``amiproto.Connection``) makes every protocol decision. This module
holds the glue that is the same in every I/O world and that would otherwise be
written three times:

- ``AMIClient``: the typing Protocol every client is checked against (``SyncClient`` and
  ``AsyncClient`` are its two parametrisations);
- ``CallbackRegistry``: which callbacks a message goes to, and in what order;
- ``DropOldest``: the bounded queue between reader and dispatcher, and its overflow policy;
- ``Session``: the core plus the adapter's ``dict[action_id, waiter]``, credentials and
  the actions to re-apply after a reconnect; it turns bytes and timer ticks into a
  ``Batch`` that says which waiters to wake, which messages to dispatch, and whether
  the connection ended;
- ``Backoff``: the jittered exponential reconnect delay;
- ``trace`` and ``outcome``: the redacted wire trace and the one place where core
  results become exceptions.

Nothing here touches a socket, a thread, a task or a clock.
"""

from __future__ import annotations

import logging
import random
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult, Message, Response

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "AMIClient",
    "AsyncClient",
    "Backoff",
    "Batch",
    "Callback",
    "CallbackKey",
    "CallbackRegistry",
    "Disconnected",
    "DropOldest",
    "Options",
    "Reconnected",
    "Session",
    "SyncClient",
    "Unregister",
    "connect_error",
    "login_outcome",
    "outcome",
    "redact",
    "trace",
]

WIRE_LOGGER = logging.getLogger("amiproto.wire")

DEFAULT_QUEUE_SIZE = 10_000
"""Messages the reader may queue for the dispatcher before the oldest are dropped."""

CallbackKey = str | type[Message] | None
"""An event name, a message class (matched with isinstance), ``""`` for every event,
or None for orphan responses."""

Callback = Callable[[Any], object]
"""Called with one message. Async clients await what it returns when that is awaitable."""

Unregister = Callable[[], None]
"""What ``register_callback`` returns: call it to remove that registration."""


# -- the shape every client has --------------------------------------------------


SendT_co = TypeVar("SendT_co", covariant=True)
LoginT_co = TypeVar("LoginT_co", covariant=True)
EventsT_co = TypeVar("EventsT_co", covariant=True)
CloseT_co = TypeVar("CloseT_co", covariant=True)


class AMIClient(Protocol[SendT_co, LoginT_co, EventsT_co, CloseT_co]):
    """The one shape of every client. The type parameters are what the blocking
    methods return: the results themselves for the sync client, awaitables of
    them for asyncio and trio (an ``async def`` method returns a coroutine)."""

    @property
    def dropped_events(self) -> int: ...

    def register_callback(self, key: CallbackKey, callback: Callback) -> Unregister: ...

    def send_action(self, action: Action, timeout: float | None = None) -> SendT_co: ...

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str = "md5",
        events: bool | str | None = True,
        timeout: float | None = None,
    ) -> LoginT_co: ...

    def events(self, timeout: float | None = None) -> EventsT_co: ...

    def is_connected(self) -> bool: ...

    def close(self) -> CloseT_co: ...


SyncClient = AMIClient[ActionCompleted, LoginResult, Iterator[Event], None]
"""The blocking client's surface (``amiproto_transports.sync.Client``)."""

AsyncClient = AMIClient[
    Awaitable[ActionCompleted], Awaitable[LoginResult], AsyncIterator[Event], Awaitable[None]
]
"""The asyncio and trio clients' surface: the same names, awaited."""


# -- options -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial * factor**n`` capped at ``maximum``, each scaled by a
    random factor in ``[1 - jitter, 1]`` so that many clients do not return in step.
    ``attempts`` None means retry for ever."""

    initial: float = 0.1
    maximum: float = 10.0
    factor: float = 2.0
    jitter: float = 0.5
    attempts: int | None = None

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        uniform = (rng or random.Random()).uniform
        n = 0
        while self.attempts is None or n < self.attempts:
            base = min(self.maximum, self.initial * self.factor**n)
            yield base * uniform(1.0 - self.jitter, 1.0)
            n += 1


@dataclass(frozen=True)
class Options:
    """Everything ``connect()`` takes, in one place for the three clients."""

    host: str
    port: int = 5038
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    auth: str = "md5"
    events: bool | str | None = True
    timeout: float | None = 10.0
    ssl: Any = None  # an ssl.SSLContext; Any because trio and asyncio type it differently
    server_hostname: str | None = None
    keepalive: float | None = None
    keepalive_timeout: float | None = None
    reconnect: bool = False
    backoff: Backoff = Backoff()
    trace: bool = False
    queue_size: int = DEFAULT_QUEUE_SIZE


# -- synthetic notices ---------------------------------------------------------------


class _Notice(Event):
    """An event the client makes itself (never sent by Asterisk), delivered like any other."""

    __slots__ = ()

    event_name: ClassVar[str | None] = None

    @classmethod
    def make(cls, **fields: str) -> _Notice:
        assert cls.event_name is not None
        pairs = [("Event", cls.event_name), *fields.items()]
        return cls(amiproto.format_message(pairs), name=cls.event_name)


class Disconnected(_Notice):
    """The connection was lost and the client is reconnecting. Header ``Reason``."""

    __slots__ = ()
    event_name = "Disconnected"


class Reconnected(_Notice):
    """The client reconnected, logged in again and re-applied its event mask and filters.

    Headers ``Attempts`` (connection attempts it took) and ``Reapplied`` (actions re-sent).
    Anything the program derived from events (channel lists...) should be rebuilt now.
    """

    __slots__ = ()
    event_name = "Reconnected"


# -- callbacks -----------------------------------------------------------------------


class CallbackRegistry:
    """Callbacks by key; ``matching(message)`` lists those a message goes to.

    Rules: an ``Event`` goes to callbacks registered under its name (compared
    without case), under ``""``, and under any class it is an instance of; an
    orphan ``Response`` (one no action waits for) goes to callbacks under None
    and under classes it is an instance of; other messages go only to matching
    classes. Matching callbacks run in registration order. The registry is
    copy-on-write, so a dispatcher may read it while another thread registers.
    """

    def __init__(self) -> None:
        self._entries: tuple[tuple[object, CallbackKey, Callback], ...] = ()
        self._cache: dict[tuple[type, str | None], tuple[Callback, ...]] = {}

    def register(self, key: CallbackKey, callback: Callback) -> Unregister:
        if not (key is None or isinstance(key, str) or (isinstance(key, type) and issubclass(key, Message))):
            raise TypeError(f"a callback key is an event name, a Message class, '' or None; not {key!r}")
        if not callable(callback):
            raise TypeError(f"callback {callback!r} is not callable")
        token = object()
        lowered = key.lower() if isinstance(key, str) else key
        self._entries = (*self._entries, (token, lowered, callback))
        self._cache = {}

        def unregister() -> None:
            self._entries = tuple(entry for entry in self._entries if entry[0] is not token)
            self._cache = {}

        return unregister

    def matching(self, message: Message) -> tuple[Callback, ...]:
        # Keyed on the exact name; case is folded only when the cache is filled.
        if isinstance(message, Event):
            cache_key: tuple[type, str | None] = (type(message), message.name)
        elif isinstance(message, Response) and message.orphan:
            cache_key = (type(message), None)
        else:
            cache_key = (type(message), "\0")
        cache = self._cache
        found = cache.get(cache_key)
        if found is None:
            # Both read once: a concurrent register() replaces them, never mutates them.
            found = cache[cache_key] = tuple(self._select(cache_key, self._entries))
        return found

    @staticmethod
    def _select(
        cache_key: tuple[type, str | None], entries: tuple[tuple[object, CallbackKey, Callback], ...]
    ) -> Iterator[Callback]:
        cls, name = cache_key
        name = None if name is None else name.lower()
        is_event = issubclass(cls, Event)
        for _, key, callback in entries:
            if isinstance(key, type):
                if issubclass(cls, key):
                    yield callback
            elif is_event:
                if key in ("", name):
                    yield callback
            elif key is None and name is None:
                yield callback


# -- the reader-to-dispatcher queue ----------------------------------------------------

T = TypeVar("T")


class DropOldest(Generic[T]):
    """A bounded FIFO whose overflow policy is: drop the oldest items and count them.

    A slow consumer then loses the stalest events instead of stalling the reader
    (which would delay every waiting ``send_action``) or growing without bound.
    Not locked: the sync client guards it with a Condition.
    """

    __slots__ = ("closed", "dropped", "items")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("queue size must be at least 1")
        self.items: deque[T] = deque(maxlen=maxsize)
        self.dropped = 0
        self.closed = False

    def extend(self, new: list[T]) -> None:
        items = self.items
        before = len(items)
        items.extend(new)
        lost = before + len(new) - len(items)
        if lost:
            self.dropped += lost

    def take(self) -> list[T]:
        taken = list(self.items)
        self.items.clear()
        return taken

    def __len__(self) -> int:
        return len(self.items)


# -- the session: core + waiters ---------------------------------------------------------

W = TypeVar("W")

# Actions whose effect on the server lasts for the session and must be re-applied
# after a reconnect, and whether only the latest one counts.
_REAPPLIED = {"filter": False, "events": True}


@dataclass(slots=True)
class Batch(Generic[W]):
    """What one ``receive``/``timer`` call produced, for the adapter to act on."""

    completed: list[tuple[W, ActionCompleted]] = field(default_factory=list)
    logins: list[tuple[W | None, LoginResult]] = field(default_factory=list)
    deliver: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    outgoing: bytes = b""
    """Bytes the core queued by itself meanwhile (MD5 second step, keepalive Ping), to write."""
    closed: str | None = None


@dataclass
class _Credentials:
    username: str
    secret: str = field(repr=False)
    auth: str
    events: bool | str | None


class Session(Generic[W]):
    """One client's protocol state across reconnects; the adapter supplies waiters ``W``.

    Not thread-safe: the sync client calls it under its core lock.
    """

    def __init__(self, options: Options) -> None:
        self.options = options
        self.conn = self._new_conn()
        self.waiters: dict[str, W] = {}
        self.login_waiter: W | None = None
        self.relogin = False
        self.closed_reason: str | None = None
        self.credentials: _Credentials | None = None
        self.reapply: list[Action] = []
        self._trace = options.trace

    def _new_conn(self) -> amiproto.Connection:
        return amiproto.Connection(
            keepalive_interval=self.options.keepalive,
            keepalive_timeout=self.options.keepalive_timeout,
        )

    def reset(self) -> None:
        """A fresh core for a new socket; waiters must have been failed already."""
        assert not self.waiters and self.login_waiter is None
        self.conn = self._new_conn()
        self.closed_reason = None
        self.relogin = False

    @property
    def open(self) -> bool:
        return self.closed_reason is None

    # -- outgoing --

    def send(self, action: Action, timeout: float | None, now: float, waiter: W) -> tuple[str, bytes]:
        """Register ``waiter`` for ``action``; returns its ActionID and the bytes to write."""
        if not isinstance(action, Action):
            raise amiproto.LocalProtocolError(f"send_action takes an amiproto.Action, not {action!r}")
        if self.closed_reason is not None:
            raise amiproto.ConnectionLost(f"not connected: {self.closed_reason}")
        conn = self.conn
        data = conn.send(action, timeout=timeout, now=now)
        action_id = conn.last_action_id
        assert action_id is not None
        # Anything the core queued by itself was made earlier, so it goes first.
        queued = conn.data_to_send()
        if queued:
            data = queued + data
        self.waiters[action_id] = waiter
        if action.name.lower() in _REAPPLIED:
            self._remember(action)
        if self._trace:
            trace(self.options, "->", data)
        return action_id, data

    def _remember(self, action: Action) -> None:
        name = action.name.lower()
        latest_only = _REAPPLIED.get(name)
        if latest_only is None:
            return
        if latest_only:
            self.reapply = [old for old in self.reapply if old.name.lower() != name]
        # Without its ActionID, so that a re-send gets a fresh one.
        self.reapply.append(
            Action(action.name, [(k, v) for k, v in action.headers if k.lower() != "actionid"])
        )

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str,
        events: bool | str | None,
        timeout: float | None,
        now: float,
        waiter: W | None,
    ) -> bytes:
        if self.closed_reason is not None:
            raise amiproto.ConnectionLost(f"not connected: {self.closed_reason}")
        if self.login_waiter is not None:
            raise amiproto.LocalProtocolError("a login is already in progress")
        data = self.conn.data_to_send() + self.conn.login(
            username, secret, auth=auth, events=events, timeout=timeout, now=now
        )
        self.credentials = _Credentials(username, secret, auth, events)
        self.login_waiter = waiter
        trace(self.options, "->", data)
        return data

    def start_relogin(self, now: float) -> bytes:
        """After a reconnect: log in again with the last credentials (if any)."""
        credentials = self.credentials
        if credentials is None:
            return b""
        self.relogin = True
        timeout = self.options.timeout
        data = self.conn.login(
            credentials.username,
            credentials.secret,
            auth=credentials.auth,
            events=credentials.events,
            timeout=timeout,
            now=now,
        )
        trace(self.options, "->", data)
        return data

    def reapply_bytes(self, now: float) -> bytes:
        """Re-send the filters and event mask; their answers go to no waiter."""
        out = bytearray()
        for action in self.reapply:
            out += self.conn.send(action, timeout=self.options.timeout, now=now)
        trace(self.options, "->", bytes(out))
        return bytes(out)

    def outgoing(self) -> bytes:
        """Bytes the core queued by itself (MD5 second step, keepalive Ping)."""
        data = self.conn.data_to_send()
        if data and self._trace:
            trace(self.options, "->", data)
        return data

    def deadline(self) -> float | None:
        return None if self.closed_reason is not None else self.conn.next_deadline()

    # -- incoming --

    def receive(self, data: bytes, now: float) -> Batch[W]:
        batch: Batch[W] = Batch()
        if self.closed_reason is not None:
            batch.closed = self.closed_reason
            return batch
        if self._trace:
            trace(self.options, "<-", data)
        try:
            self.conn.receive_data(data, now)
        except amiproto.RemoteProtocolError as error:
            self._drain(batch)
            self._lost(batch, f"protocol error: {error}")
            return batch
        self._drain(batch)
        return batch

    def timer(self, now: float) -> Batch[W]:
        batch: Batch[W] = Batch()
        if self.closed_reason is not None:
            batch.closed = self.closed_reason
            return batch
        self.conn.handle_timer(now)
        self._drain(batch)
        return batch

    def lose(self, reason: str) -> Batch[W]:
        """The transport failed (socket error, write failure): end the session."""
        batch: Batch[W] = Batch()
        if self.closed_reason is None:
            self._lost(batch, reason)
        batch.closed = self.closed_reason
        return batch

    def _lost(self, batch: Batch[W], reason: str) -> None:
        self.closed_reason = batch.closed = reason

    def _drain(self, batch: Batch[W]) -> None:
        self._route(batch)
        batch.outgoing = self.outgoing()

    def _route(self, batch: Batch[W]) -> None:
        next_events = self.conn.next_events
        waiters = self.waiters
        completed = batch.completed
        deliver = batch.deliver
        events = batch.events
        while True:
            try:
                # Items that came before a protocol error are handed out first; the
                # error itself is raised by the next call.
                items = next_events()
            except amiproto.RemoteProtocolError as error:
                self._lost(batch, f"protocol error: {error}")
                return
            if not items:
                return
            for item in items:
                # Answers to actions first: they are the hot path.
                if isinstance(item, ActionCompleted):
                    waiter = waiters.pop(item.action_id, None)
                    if waiter is not None:
                        completed.append((waiter, item))
                    elif item.timed_out or not item.success:
                        logging.getLogger("amiproto.client").debug("unclaimed %r", item)
                elif isinstance(item, Response):
                    if item.orphan:
                        deliver.append(item)
                elif isinstance(item, Event):
                    deliver.append(item)
                    events.append(item)
                elif isinstance(item, LoginResult):
                    batch.logins.append((self.login_waiter, item))
                    self.login_waiter = None
                elif isinstance(item, amiproto.ConnectionClosed):
                    self._lost(batch, item.reason)
                    return
                elif isinstance(item, amiproto.UnknownMessage):
                    deliver.append(item)

    def fail_all(self) -> list[W]:
        """Every waiter still registered, removed; the adapter fails them with ConnectionLost."""
        failed = list(self.waiters.values())
        self.waiters.clear()
        if self.login_waiter is not None:
            failed.append(self.login_waiter)
            self.login_waiter = None
        return failed


# -- error mapping and tracing ------------------------------------------------------------


def outcome(completed: ActionCompleted) -> ActionCompleted:
    """The one place where a core result becomes an exception, or passes through.

    A ``Response: Error`` is a result, not an exception, except for a ``Login``
    sent by hand, which raises ``AuthenticationError`` like ``login()`` does.
    """
    if completed.timed_out:
        raise amiproto.ActionTimeout(f"{completed.action.name} ({completed.action_id}) got no answer in time")
    if not completed.complete:
        raise amiproto.ConnectionLost(
            f"the connection ended before {completed.action.name} ({completed.action_id}) was answered"
        )
    response = completed.response
    if completed.action.name.lower() == "login" and response is not None and not response.success:
        raise amiproto.AuthenticationError(response.message or "login refused")
    return completed


def login_outcome(result: LoginResult) -> LoginResult:
    """The result of a successful login; otherwise the exception that says why not."""
    if result.success:
        return result
    if not result.answered:
        lost = amiproto.ActionTimeout if result.timed_out else amiproto.ConnectionLost
        raise lost(f"login as {result.username!r}: {result.message}")
    raise amiproto.AuthenticationError(
        f"login as {result.username!r} refused: {result.message or 'no reason given'}"
    )


def connect_error(options: Options, error: BaseException) -> amiproto.ConnectionLost:
    """A failed connect, in the package's exception family."""
    return amiproto.ConnectionLost(f"cannot connect to {options.host}:{options.port}: {error}")


_SECRET_LINE = re.compile(rb"(?im)^((?:secret|key)[ \t]*:)[^\r\n]*")


def trace(options: Options, direction: str, data: bytes) -> None:
    """Log ``data`` at DEBUG on ``amiproto.wire`` when tracing, with Secret and Key hidden."""
    if not data or not options.trace or not WIRE_LOGGER.isEnabledFor(logging.DEBUG):
        return
    WIRE_LOGGER.debug("%s %s", direction, redact(data).decode("utf-8", "backslashreplace"))


def redact(data: bytes) -> bytes:
    """``data`` with the values of Secret and Key lines replaced."""
    return _SECRET_LINE.sub(rb"\1 <redacted>", data)
