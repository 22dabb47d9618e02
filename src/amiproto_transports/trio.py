"""A trio AMI client over the amiproto core.

``async with connect(...) as client`` starts four tasks in a nursery of the
client's own: a reader (feeds the core, wakes waiters, reconnects when asked
to), a writer (the only task that writes to the stream, so a cancelled caller
can never leave half an action on the wire), a timer (sleeps in a cancel scope
whose deadline is moved to the core's next deadline after every change) and a
dispatcher. Callbacks run in arrival order: in the reader's task, right after
their batch was read, until one returns an awaitable; the dispatcher task awaits
it and runs the rest (``InlineFirst``), so the reader never waits for a callback.

Bytes are queued for the writer in the order the core produced them. The
reader-to-dispatcher queue is bounded (``queue_size``); on overflow the oldest
queued messages are dropped and counted in ``client.dropped_events``. Times
are on trio's clock (``trio.current_time()``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import ssl as _ssl
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio as _trio

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

__all__ = ["Client", "Pending", "connect"]

log = logging.getLogger("amiproto.trio")

_RECV_SIZE = 256 * 1024
_EAGER_BYTES = 2048  # queued bytes that a caller writes at once (see _write_eagerly)
_EAGER_WRITES = sys.platform != "win32"  # there a socket is not a file descriptor
_STREAM_ERRORS = (_trio.BrokenResourceError, _trio.ClosedResourceError, OSError)

T = TypeVar("T")


class Pending(Generic[T]):
    """An answer to come (trio has no Future): what ``Client.submit`` returns.

    ``await pending.get()`` returns the result or raises, as ``send_action``
    would; one task at a time may wait on it. Built on trio's low-level
    park/reschedule rather than a ``trio.Event``: one per action in flight makes
    this the hot path, and a parked task costs nothing until the answer wakes it.
    """

    __slots__ = ("_done", "_error", "_task", "_value")

    def __init__(self) -> None:
        self._task: _trio.lowlevel.Task | None = None
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        return self._done

    def set_result(self, value: T) -> None:
        if not self._done:
            self._value = value
            self._finish()

    def set_exception(self, error: BaseException) -> None:
        if not self._done:
            self._error = error
            self._finish()

    def _finish(self) -> None:
        self._done = True
        task = self._task
        if task is not None:
            self._task = None
            _trio.lowlevel.reschedule(task)

    async def wait(self) -> None:
        """Until a result or an exception is set; a cancellation leaves the waiter unset."""
        if self._done:
            await _trio.lowlevel.checkpoint()
            return
        self._task = _trio.lowlevel.current_task()

        def abort(_: object) -> _trio.lowlevel.Abort:
            self._task = None
            return _trio.lowlevel.Abort.SUCCEEDED

        await _trio.lowlevel.wait_task_rescheduled(abort)

    def result(self) -> T:
        """The result now; raises its exception. Only once ``done()``."""
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    async def get(self) -> T:
        """Wait for the result and return it, or raise. Cancelling this wait leaves it pending."""
        await self.wait()
        return self.result()


_Waiter = Pending


class _Events:
    """The async iterator ``events()`` returns; it buffers from the moment it is made."""

    def __init__(self, client: Client, timeout: float | None) -> None:
        self.client = client
        self.timeout = math.inf if timeout is None else timeout
        self.queue: DropOldest[Event] = DropOldest(client.options.queue_size)
        self.ready = _trio.Event()
        self._taken: list[Event] = []
        if not client._session.open and not client.options.reconnect:
            self.queue.closed = True
        client._subscriptions = [*client._subscriptions, self]

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> Event:
        if not self._taken:
            queue = self.queue
            # One deadline for the whole wait; a wake-up is only a hint, so re-check:
            # only an event, the end of the connection or the timeout ends it.
            with _trio.move_on_after(self.timeout):
                while not queue and not queue.closed:
                    self.ready = _trio.Event()
                    await self.ready.wait()
            self._taken = queue.take()
            self._taken.reverse()
            if not self._taken:
                await self.aclose()
                raise StopAsyncIteration
        return self._taken.pop()

    async def aclose(self) -> None:
        """Stop receiving events; the iterator ends."""
        client = self.client
        client._subscriptions = [s for s in client._subscriptions if s is not self]


class Client:
    """A trio AMI client. Make one with ``connect()``; see the module docstring."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._session: Session[_Waiter[Any]] = Session(options)
        self._callbacks = CallbackRegistry()
        self._queue: DropOldest[Message] = DropOldest(options.queue_size)
        self._dispatch = InlineFirst(self._callbacks, self._queue, log)
        self._queue_ready = _trio.Event()
        self._subscriptions: list[_Events] = []
        self._sub_dropped = 0
        self._stream: _trio.abc.Stream | None = None
        self._outgoing = bytearray()
        self._write_wanted = _trio.Event()
        self._writing = False  # the writer task is in send_all
        self._read_scope: _trio.CancelScope | None = None
        self._timer_scope: _trio.CancelScope | None = None
        self._scope = _trio.CancelScope()
        self._ready = False
        self._closing = False
        self._give_up = False
        self._reconnect_attempts = 0
        self._finished = _trio.Event()

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
        action_id, waiter = self._submit(action, timeout)
        try:
            await waiter.wait()
        finally:
            # Cancelled: forget the waiter (and only it); the answer will be ignored.
            if not waiter.done() and self._session.waiters.get(action_id) is waiter:
                del self._session.waiters[action_id]
        return waiter.result()

    def submit(self, action: Action, timeout: float | None = None) -> Pending[ActionCompleted]:
        """Send ``action`` now, without a task; ``await pending.get()`` returns or raises as
        ``send_action`` would. Many ``submit`` calls in a row pipeline actions cheaply.

        An answer nobody waits for any more is dropped when it comes (or its timeout passes).
        """
        return self._submit(action, timeout)[1]

    def _submit(self, action: Action, timeout: float | None) -> tuple[str, Pending[ActionCompleted]]:
        if timeout is None:
            timeout = self.options.timeout
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        waiter: Pending[ActionCompleted] = Pending()
        now = _trio.current_time()
        action_id, data = self._session.send(action, timeout, now, waiter)
        if timeout is not None:
            self._arm_before(now + timeout)
        self._write(data)
        return action_id, waiter

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
        waiter: _Waiter[LoginResult] = _Waiter()
        log.info("logging in as %s (%s)", username, auth)
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        now = _trio.current_time()
        data = self._session.login(
            username, secret, auth=auth, events=events, timeout=timeout, now=now, waiter=waiter
        )
        try:
            if timeout is not None:
                self._arm_before(now + timeout)
            self._write(data)
            await waiter.wait()
        finally:
            if not waiter.done() and self._session.login_waiter is waiter:
                self._session.login_waiter = None
        return login_outcome(waiter.result())

    def events(self, timeout: float | None = None) -> _Events:
        """Events from now on (``async for``); ends after ``timeout`` s without one, or when
        the connection ends. Its buffer drops the oldest like the callbacks' queue."""
        return _Events(self, timeout)

    async def close(self) -> None:
        """Log off when possible, close the stream, stop the tasks. Idempotent."""
        if self._closing:
            return
        if self.is_connected() and self._session.conn.authenticated:
            with contextlib.suppress(amiproto.AMIError, *_STREAM_ERRORS):
                await self.send_action(Action("Logoff"), timeout=min(2.0, self.options.timeout or 2.0))
        self._closing = True
        self._on_lost("closed by the program")
        self._scope.cancel()
        self._end_consumers()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- opening --

    async def _open_stream(self) -> _trio.abc.Stream:
        options = self.options
        try:
            with _trio.fail_after(math.inf if options.timeout is None else options.timeout):
                tcp = await _trio.open_tcp_stream(options.host, options.port)
                if options.ssl is None:
                    return tcp
                tls = _trio.SSLStream(
                    tcp, options.ssl, server_hostname=options.server_hostname or options.host
                )
                await tls.do_handshake()
                return tls
        except (*_STREAM_ERRORS, _trio.TooSlowError) as error:
            raise connect_error(options, error) from error

    async def _run(self, *, task_status: Any = _trio.TASK_STATUS_IGNORED) -> None:
        """The client's own tasks, in a scope that ``close()`` cancels without touching the caller's."""
        self._stream = await self._open_stream()
        self._ready = True
        log.info("connected to %s:%s", self.options.host, self.options.port)
        try:
            with self._scope:
                async with _trio.open_nursery() as nursery:
                    nursery.start_soon(self._read_loop)
                    nursery.start_soon(self._write_loop)
                    nursery.start_soon(self._timer_loop)
                    nursery.start_soon(self._dispatch_loop)
                    task_status.started()
        finally:
            self._ready = False
            self._fail_waiters("closed")
            self._end_consumers()
            if self._stream is not None:
                await _trio.aclose_forcefully(self._stream)
            self._finished.set()

    # -- writing --

    def _write(self, data: bytes) -> None:
        if data:
            outgoing = self._outgoing
            outgoing += data
            if len(outgoing) >= _EAGER_BYTES and not self._writing:
                self._write_eagerly()
            if outgoing:
                self._write_wanted.set()

    def _write_eagerly(self) -> None:
        """Send what the socket takes now, without awaiting: in a burst of ``submit``
        calls the writer task runs only after the last, so the server would see
        nothing until then. Only on a plain socket, and never while the writer task
        is sending (``_writing``), so the bytes keep their order."""
        stream = self._stream
        if not _EAGER_WRITES or not isinstance(stream, _trio.SocketStream):
            return
        fd = stream.socket.fileno()
        if fd < 0:
            return  # closed: the reader ends the session
        try:
            # The one way to write a trio socket without awaiting; trio itself tries
            # the same non-blocking send first.
            sent = os.write(fd, self._outgoing)
        except OSError:
            return  # full, or broken: the writer task meets it again and reports it
        del self._outgoing[:sent]

    async def _write_loop(self) -> None:
        while True:
            if not self._outgoing:
                self._write_wanted = _trio.Event()
                await self._write_wanted.wait()
                continue
            data = bytes(self._outgoing)
            self._outgoing.clear()
            stream = self._stream
            assert stream is not None
            self._writing = True
            try:
                await stream.send_all(data)
            except _STREAM_ERRORS as error:
                if stream is self._stream:
                    self._abort(f"write failed: {error}")
            finally:
                self._writing = False

    def _abort(self, reason: str) -> None:
        """End the current stream: the reader notices and fails the waiters."""
        if self._session.open:
            log.warning("%s", reason)
            self._apply(self._session.lose(reason))
        if self._read_scope is not None:
            self._read_scope.cancel()

    # -- timers --

    def _arm(self) -> None:
        scope = self._timer_scope
        if scope is not None:
            deadline = self._session.deadline()
            scope.deadline = math.inf if deadline is None else deadline

    def _arm_before(self, deadline: float) -> None:
        scope = self._timer_scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline

    async def _timer_loop(self) -> None:
        session = self._session
        while True:
            deadline = session.deadline()
            with _trio.CancelScope(deadline=math.inf if deadline is None else deadline) as scope:
                self._timer_scope = scope
                await _trio.sleep_forever()
            self._timer_scope = None
            now = _trio.current_time()
            deadline = session.deadline()
            if deadline is not None and now >= deadline:
                batch = session.timer(now)
                self._apply(batch)
                if batch.closed is not None and self._read_scope is not None:
                    self._read_scope.cancel()

    # -- reading --

    async def _read_loop(self) -> None:
        try:
            while True:
                reason = await self._read_until_lost()
                self._on_lost(reason)
                if self._stream is not None:
                    await _trio.aclose_forcefully(self._stream)
                if self._closing or self._give_up or not self.options.reconnect:
                    break
                self._deliver([Disconnected.make(Reason=reason)])
                if not await self._reconnect():
                    break
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
        with _trio.CancelScope() as scope:
            self._read_scope = scope
            while True:
                try:
                    data = await stream.receive_some(_RECV_SIZE)
                except _STREAM_ERRORS as error:
                    batch = session.lose(f"read failed: {error}")
                else:
                    batch = session.receive(bytes(data), _trio.current_time())
                self._apply(batch)
                if batch.closed is not None:
                    return batch.closed
        self._read_scope = None
        return session.closed_reason or "aborted"

    def _apply(self, batch: Batch[_Waiter[Any]]) -> None:
        if batch.closed is not None:
            self._ready = False  # before any waiter learns of the loss
        self._write(batch.outgoing)
        for waiter, completed in batch.completed:
            # Mapped here, so that a submit() answer raises as send_action would.
            try:
                waiter.set_result(outcome(completed))
            except amiproto.AMIError as error:
                waiter.set_exception(error)
        for login_waiter, result in batch.logins:
            if login_waiter is not None:
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
        self._outgoing.clear()
        self._fail_waiters(reason)
        if self._read_scope is not None:
            self._read_scope.cancel()
        self._arm()

    def _fail_waiters(self, reason: str) -> None:
        waiters = self._session.fail_all()
        if waiters:
            log.warning("connection lost (%s): failing %d waiting action(s)", reason, len(waiters))
        for waiter in waiters:
            waiter.set_exception(amiproto.ConnectionLost(reason))

    # -- reconnecting --

    async def _reconnect(self) -> bool:
        for attempt, delay in enumerate(self.options.backoff.delays(), 1):
            await _trio.sleep(delay)
            try:
                self._stream = await self._open_stream()
            except amiproto.ConnectionLost as error:
                log.info("reconnect attempt %d failed: %s", attempt, error)
                continue
            self._session.reset()
            self._outgoing.clear()
            self._reconnect_attempts = attempt
            self._write(self._session.start_relogin(_trio.current_time()))
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
            self._abort("login refused after reconnect")
            return
        self._write(self._session.reapply_bytes(_trio.current_time()))
        self._ready = True
        count = len(self._session.reapply)
        self._deliver([Reconnected.make(Attempts=str(self._reconnect_attempts), Reapplied=str(count))])

    # -- dispatching --

    async def _dispatch_loop(self) -> None:
        dispatch = self._dispatch
        while True:
            if not dispatch.pending:
                if self._queue.closed:
                    return
                self._queue_ready = _trio.Event()
                await self._queue_ready.wait()
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
    # The body's exception is carried out of the nursery and raised as itself: our
    # tasks never raise, so wrapping it in an exception group would only hide it.
    error: BaseException | None = None
    async with _trio.open_nursery() as nursery:
        try:
            await nursery.start(client._run)
            if username is not None:
                await client.login(username, secret or "", auth=auth, events=events, timeout=timeout)
            yield client
        except _trio.Cancelled:
            raise
        except BaseException as caught:
            error = caught
        finally:
            with _trio.CancelScope(shield=True):
                await client.close()
    if error is not None:
        raise error


if TYPE_CHECKING:

    def _check(client: Client) -> AsyncClient:
        return client
