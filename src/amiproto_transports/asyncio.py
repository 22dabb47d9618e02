"""An asyncio AMI client over the amiproto core.

Tasks: a reader (reads the stream, feeds the core, resolves futures, and
reconnects when asked to) and a dispatcher. Callbacks run in arrival order: in
the reader's task, right after their batch was read, until one returns an
awaitable; the dispatcher task awaits it and runs the rest (``InlineFirst``),
so the reader never waits for a callback. The core's deadlines (keepalive,
action timeouts) are served by one ``loop.call_at`` handle re-armed after every
change, so nothing polls. Bytes are queued in the same step as the core made
them and written once per loop iteration, or every ``_EAGER_BYTES`` of a burst
(many actions sent at once share a write), so they go out whole and in order,
and cancelling a ``send_action`` can never cut one in half: it only forgets its
waiter, and the connection stays usable.

The reader-to-dispatcher queue is bounded (``queue_size``); on overflow the
oldest queued messages are dropped and counted in ``client.dropped_events``.
"""

from __future__ import annotations

import asyncio as _asyncio
import contextlib
import logging
import ssl as _ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult, Message

from ._shared import (
    AsyncClient,
    Backoff,
    Batch,
    Callback,
    CallbackKey,
    CallbackRegistry,
    Disconnected,
    DropOldest,
    InlineFirst,
    Options,
    Reconnected,
    Session,
    Unregister,
    connect_error,
    login_outcome,
    outcome,
)

__all__ = ["Client", "connect"]

log = logging.getLogger("amiproto.asyncio")

_RECV_SIZE = 256 * 1024
_HIGH_WATER = 256 * 1024  # await drain() only when this much is buffered for the socket
_EAGER_BYTES = 2048  # queued bytes written at once, without waiting for the loop's next turn
_Waiter = _asyncio.Future


class _Events:
    """The async iterator ``events()`` returns; it buffers from the moment it is made."""

    def __init__(self, client: Client, timeout: float | None) -> None:
        self.client = client
        self.timeout = timeout
        self.queue: DropOldest[Event] = DropOldest(client.options.queue_size)
        self.ready = _asyncio.Event()
        self._taken: list[Event] = []
        if not client._session.open and not client.options.reconnect:
            self.queue.closed = True
        client._subscriptions = [*client._subscriptions, self]

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> Event:
        if not self._taken:
            await self._wait()
            self._taken = self.queue.take()
            self._taken.reverse()
            if not self._taken:
                await self.aclose()
                raise StopAsyncIteration
        return self._taken.pop()

    async def _wait(self) -> None:
        """Until an event is queued, the connection ends, or ``timeout`` seconds pass."""
        queue = self.queue
        loop = self.client._loop
        deadline = None if self.timeout is None else loop.time() + self.timeout
        # A wake-up is only a hint: re-check, and keep the one deadline across wake-ups.
        while not queue and not queue.closed:
            self.ready.clear()
            if deadline is None:
                await self.ready.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(_asyncio.TimeoutError):
                await _asyncio.wait_for(self.ready.wait(), remaining)

    async def aclose(self) -> None:
        """Stop receiving events; the iterator ends."""
        client = self.client
        client._subscriptions = [s for s in client._subscriptions if s is not self]


class _Stream(_asyncio.Protocol):
    """The socket's chunks as they come, for the reader task.

    A ``StreamReader`` copies every chunk twice (into its buffer, then out again);
    at AMI event rates that costs more than the rest of the read path, so the
    reader takes the transport's own ``bytes`` from here. Reading pauses while
    more than ``_RECV_SIZE`` bytes wait, and writing waits while the transport
    asks it to (``drain``).
    """

    def __init__(self, loop: _asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: _asyncio.Transport | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._error: OSError | None = None
        self._read_paused = False
        self._data_waiter: _asyncio.Future[None] | None = None
        self._write_waiter: _asyncio.Future[None] | None = None
        self._write_paused = False

    def connection_made(self, transport: _asyncio.BaseTransport) -> None:
        assert isinstance(transport, _asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _RECV_SIZE and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if exc is not None:
            self._error = exc if isinstance(exc, OSError) else ConnectionResetError(str(exc))
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()

    def _wake_reader(self) -> None:
        waiter = self._data_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter = self._write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def read(self) -> bytes:
        """The next chunk; ``b""`` at end of file. Raises ``OSError`` on a failed connection."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            self._data_waiter = self._loop.create_future()
            try:
                await self._data_waiter
            finally:
                self._data_waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._read_paused and self._buffered <= _RECV_SIZE and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()
        return data

    async def drain(self) -> None:
        """Wait while the transport has asked writers to pause."""
        while self._write_paused and self._error is None and not self.transport_closing():
            self._write_waiter = self._loop.create_future()
            try:
                await self._write_waiter
            finally:
                self._write_waiter = None
        if self._error is not None:
            raise self._error

    def transport_closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()


class Client:
    """An asyncio AMI client. Make one with ``connect()``; see the module docstring."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._loop = _asyncio.get_running_loop()
        self._session: Session[_Waiter[Any]] = Session(options)
        self._callbacks = CallbackRegistry()
        self._queue: DropOldest[Message] = DropOldest(options.queue_size)
        self._dispatch = InlineFirst(self._callbacks, self._queue, log)
        self._queue_ready = _asyncio.Event()
        self._subscriptions: list[_Events] = []
        self._sub_dropped = 0
        self._stream: _Stream | None = None
        self._timer: _asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._ready = False
        self._closing = False
        self._give_up = False
        self._reconnect_attempts = 0
        self._tasks: list[_asyncio.Task[None]] = []
        self._outgoing = bytearray()
        self._flush_scheduled = False

    # -- public API --

    @property
    def dropped_events(self) -> int:
        """Messages dropped because the dispatcher queue or an ``events()`` buffer was full."""
        return self._queue.dropped + self._sub_dropped

    def register_callback(self, key: CallbackKey, callback: Callback) -> Unregister:
        """Call ``callback(message)`` from the dispatcher task, awaiting it if it returns an
        awaitable. ``key``: an event name, a Message class, ``""`` (every event) or None
        (orphan responses). Returns a function that removes the registration."""
        return self._callbacks.register(key, callback)

    def is_connected(self) -> bool:
        return self._ready and not self._closing

    async def send_action(self, action: Action, timeout: float | None = None) -> ActionCompleted:
        """Send ``action`` and wait for all of its answer; see ``sync.Client.send_action``."""
        action_id, future = self._submit(action, timeout)
        # The cleanup covers the drain too: a cancellation there must not leave the waiter.
        try:
            await self._drain()
            return await future
        finally:
            if not future.done() or future.cancelled():
                # Cancelled: forget the waiter; the answer will be ignored.
                if self._session.waiters.get(action_id) is future:
                    del self._session.waiters[action_id]
                future.cancel()

    def submit(self, action: Action, timeout: float | None = None) -> _asyncio.Future[ActionCompleted]:
        """Send ``action`` now, without a task; the Future resolves as ``send_action`` would
        return or raise. Many ``submit`` calls in a row pipeline actions cheaply.

        A cancelled Future's answer is ignored when it comes (or its timeout passes).
        """
        return self._submit(action, timeout)[1]

    def _submit(self, action: Action, timeout: float | None) -> tuple[str, _Waiter[ActionCompleted]]:
        if timeout is None:
            timeout = self.options.timeout
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        loop = self._loop
        future: _Waiter[ActionCompleted] = loop.create_future()
        now = loop.time()
        action_id, data = self._session.send(action, timeout, now, future)
        if timeout is not None:
            self._arm_before(now + timeout)
        self._queue_bytes(data)
        return action_id, future

    async def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str = "md5",
        events: bool | str | None = True,
        timeout: float | None = None,
    ) -> LoginResult:
        """Log in; raises ``AuthenticationError`` when refused. A reconnect reuses these credentials."""
        timeout = self.options.timeout if timeout is None else timeout
        future: _Waiter[LoginResult] = self._loop.create_future()
        log.info("logging in as %s (%s)", username, auth)
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        now = self._loop.time()
        data = self._session.login(
            username, secret, auth=auth, events=events, timeout=timeout, now=now, waiter=future
        )
        try:
            if timeout is not None:
                self._arm_before(now + timeout)
            self._queue_bytes(data)
            await self._drain()
            return login_outcome(await future)
        finally:
            if not future.done() and self._session.login_waiter is future:
                self._session.login_waiter = None

    def events(self, timeout: float | None = None) -> _Events:
        """Events from now on (``async for``); ends after ``timeout`` s without one, or when
        the connection ends. Its buffer drops the oldest like the callbacks' queue."""
        return _Events(self, timeout)

    async def close(self) -> None:
        """Log off when possible, close the connection, stop the tasks. Idempotent."""
        if self._closing:
            return
        if self.is_connected() and self._session.conn.authenticated:
            with contextlib.suppress(amiproto.AMIError, OSError):
                await self.send_action(Action("Logoff"), timeout=min(2.0, self.options.timeout or 2.0))
        self._closing = True
        self._abort()
        current = _asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(_asyncio.CancelledError, Exception):
                    await task
        self._fail_waiters("closed by the program")

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- opening --

    async def _open_stream(self) -> _Stream:
        options = self.options
        try:
            _, stream = await _asyncio.wait_for(
                self._loop.create_connection(
                    lambda: _Stream(self._loop),
                    options.host,
                    options.port,
                    ssl=options.ssl,
                    server_hostname=(options.server_hostname or options.host) if options.ssl else None,
                ),
                options.timeout,
            )
        except (OSError, _asyncio.TimeoutError) as error:
            raise connect_error(options, error) from error
        return stream

    async def _start(self) -> None:
        self._stream = await self._open_stream()
        self._ready = True
        log.info("connected to %s:%s", self.options.host, self.options.port)
        self._tasks = [
            self._loop.create_task(self._read_loop(), name="amiproto-reader"),
            self._loop.create_task(self._dispatch_loop(), name="amiproto-dispatch"),
        ]

    # -- writing --

    def _queue_bytes(self, data: bytes) -> None:
        """Queue bytes in core order; one write per loop iteration sends them all, or
        one per ``_EAGER_BYTES`` in a burst, so that the server starts on the first
        actions while the caller makes the next ones."""
        if data:
            self._outgoing += data
            if len(self._outgoing) >= _EAGER_BYTES:
                self._write_out()
            elif not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._write_out()

    def _write_out(self) -> None:
        stream = self._stream
        if self._outgoing and stream is not None and stream.transport is not None and self._session.open:
            stream.transport.write(bytes(self._outgoing))
        self._outgoing.clear()

    async def _drain(self) -> None:
        """Wait for the socket only when a lot is buffered for it already."""
        stream = self._stream
        transport = None if stream is None else stream.transport
        if stream is not None and transport is not None and transport.get_write_buffer_size() > _HIGH_WATER:
            with contextlib.suppress(OSError):
                await stream.drain()

    def _abort(self) -> None:
        stream = self._stream
        if stream is not None and stream.transport is not None:
            stream.transport.abort()

    # -- timers --

    def _arm(self) -> None:
        """Point the one timer handle at the core's next deadline."""
        deadline = self._session.deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self._loop.call_at(deadline, self._on_timer)

    def _arm_before(self, deadline: float) -> None:
        if self._timer_at is None or deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        batch = self._session.timer(self._loop.time())
        self._apply(batch)
        if batch.closed is not None:
            self._abort()  # the reader sees the end and fails the waiters

    # -- reading --

    async def _read_loop(self) -> None:
        try:
            while True:
                reason = await self._read_until_lost()
                self._on_lost(reason)
                if self._closing or self._give_up or not self.options.reconnect:
                    break
                self._deliver([Disconnected.make(Reason=reason)])
                if not await self._reconnect():
                    break
        except _asyncio.CancelledError:
            self._on_lost("closed by the program")
            raise
        except Exception:
            log.exception("reader failed")
            self._on_lost("reader failed")
        finally:
            self._ready = False
            self._end_consumers()

    async def _read_until_lost(self) -> str:
        stream = self._stream
        assert stream is not None
        session = self._session
        while True:
            try:
                data = await stream.read()
            except OSError as error:
                batch = session.lose(f"read failed: {error}")
            else:
                batch = session.receive(data, self._loop.time())
            self._apply(batch)
            if batch.closed is not None:
                return batch.closed

    def _apply(self, batch: Batch[_Waiter[Any]]) -> None:
        if batch.closed is not None:
            self._ready = False  # before any waiter learns of the loss
        self._queue_bytes(batch.outgoing)
        for waiter, completed in batch.completed:
            if not waiter.done():
                # Mapped here, so that a submit() Future raises as send_action would.
                try:
                    waiter.set_result(outcome(completed))
                except amiproto.AMIError as error:
                    waiter.set_exception(error)
        for login_waiter, result in batch.logins:
            if login_waiter is not None:
                if not login_waiter.done():
                    login_waiter.set_result(result)
            else:
                self._relogged(result)
        if batch.deliver:
            self._deliver(batch.deliver)
        self._arm()

    def _deliver(self, messages: list[Message]) -> None:
        if self._dispatch.deliver(messages):
            self._queue_ready.set()
        if self._subscriptions:
            events = [m for m in messages if isinstance(m, Event)]
            if not events:
                return  # orphan responses and unknown messages are not for iterators
            for subscription in self._subscriptions:
                queue = subscription.queue
                before = queue.dropped
                queue.extend(events)
                self._sub_dropped += queue.dropped - before
                subscription.ready.set()

    def _on_lost(self, reason: str) -> None:
        self._ready = False
        self._session.lose(reason)
        self._fail_waiters(reason)
        self._abort()
        self._arm()

    def _fail_waiters(self, reason: str) -> None:
        waiters = self._session.fail_all()
        if waiters:
            log.warning("connection lost (%s): failing %d waiting action(s)", reason, len(waiters))
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(amiproto.ConnectionLost(reason))

    # -- reconnecting --

    async def _reconnect(self) -> bool:
        for attempt, delay in enumerate(self.options.backoff.delays(), 1):
            await _asyncio.sleep(delay)
            try:
                self._stream = await self._open_stream()
            except amiproto.ConnectionLost as error:
                log.info("reconnect attempt %d failed: %s", attempt, error)
                continue
            self._session.reset()
            self._reconnect_attempts = attempt
            self._outgoing.clear()
            self._queue_bytes(self._session.start_relogin(self._loop.time()))
            self._arm()
            log.info("reconnected to %s:%s (attempt %d)", self.options.host, self.options.port, attempt)
            if self._session.credentials is None:
                self._ready = True
                self._deliver([Reconnected.make(Attempts=str(attempt), Reapplied="0")])
            return True
        log.error("giving up reconnecting")
        return False

    def _relogged(self, result: LoginResult) -> None:
        self._session.relogin = False
        if not result.success:
            log.error("login after reconnect refused: %s", result.message)
            self._give_up = True
            self._abort()
            return
        self._queue_bytes(self._session.reapply_bytes(self._loop.time()))
        self._ready = True
        count = len(self._session.reapply)
        self._deliver([Reconnected.make(Attempts=str(self._reconnect_attempts), Reapplied=str(count))])

    # -- dispatching --

    async def _dispatch_loop(self) -> None:
        dispatch = self._dispatch
        ready = self._queue_ready
        while True:
            if not dispatch.pending:
                if self._queue.closed:
                    return
                ready.clear()
                await ready.wait()
            await dispatch.run_pending()

    def _end_consumers(self) -> None:
        self._queue.closed = True
        self._queue_ready.set()
        for subscription in self._subscriptions:
            subscription.queue.closed = True
            subscription.ready.set()


@contextlib.asynccontextmanager
async def connect(
    host: str,
    port: int = 5038,
    *,
    username: str | None = None,
    secret: str | None = None,
    auth: str = "md5",
    events: bool | str | None = True,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    keepalive: float | None = None,
    keepalive_timeout: float | None = None,
    reconnect: bool = False,
    backoff: Backoff | None = None,
    trace: bool = False,
    queue_size: int = 10_000,
) -> AsyncIterator[Client]:
    """``async with connect(...) as client``: connect, log in when ``username`` is given,
    and close (Logoff first) on exit. Options as in ``amiproto_transports.sync.connect``."""
    options = Options.from_arguments(locals())  # first: locals() is exactly the parameters
    client = Client(options)
    await client._start()
    try:
        if username is not None:
            await client.login(username, secret or "", auth=auth, events=events, timeout=timeout)
        yield client
    finally:
        await client.close()


if TYPE_CHECKING:

    def _check(client: Client) -> AsyncClient:
        return client
