"""The asyncio and trio clients, written once against a ``Backend``.

Tasks: a reader (reads, feeds the core, resolves waiters, reconnects when asked
to) and a dispatcher, plus whatever the backend runs for itself (trio: a writer
and a timer). Callbacks run in arrival order: in the reader's task, right after
their batch was read, until one returns an awaitable; the dispatcher task awaits
it and runs the rest (``InlineFirst``), so the reader never waits for a callback.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult, Response

from .._shared import (
    CLOSE_GRACE,
    Batch,
    Callback,
    CallbackKey,
    CallbackRegistry,
    Delivered,
    Disconnected,
    DropOldest,
    InlineFirst,
    Options,
    Reconnected,
    Session,
    Unregister,
    login_outcome,
    outcome,
)
from .._shared._protocol import ChangeT, MessageT
from ._base import Backend, Waiter, Wakeup

if TYPE_CHECKING:
    # Only the annotations need it: the live model is imported when a client asks for one.
    from amiproto.live import PBX, Change

__all__ = ["Events", "SharedClient"]

W = TypeVar("W", bound=Waiter)
Self = TypeVar("Self", bound="SharedClient[Any]")


class Events:
    """The async iterator ``events()`` returns; it buffers from the moment it is made."""

    def __init__(self, client: SharedClient[Any], timeout: float | None) -> None:
        self.client = client
        self.timeout = timeout
        self.queue: DropOldest[Event] = DropOldest(client.options.queue_size)
        self.ready = client._backend.wakeup()
        self._taken: list[Event] = []
        # Made after the client closed, or gave up reconnecting: no more events will come.
        if client._queue.closed or client._closing or not (client._session.open or client.options.reconnect):
            self.queue.closed = True
        client._subscriptions = [*client._subscriptions, self]

    def __aiter__(self) -> Events:
        return self

    async def __anext__(self) -> Event:
        if not self._taken:
            queue = self.queue
            deadline = None if self.timeout is None else self.client._backend.now() + self.timeout
            # One deadline for the whole wait; a wake-up is only a hint, so re-check:
            # only an event, the end of the connection or the timeout ends it.
            while not queue and not queue.closed:
                if not await self.ready.wait(deadline):
                    break
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


class SharedClient(Generic[W]):
    """What the asyncio and trio ``Client`` classes are, given their backend and logger."""

    def __init__(self, options: Options, backend: type[Backend[W]], log: logging.Logger) -> None:
        self.options = options
        self._log = log
        self._backend = backend(options, self._on_timer, self._abort)
        # Bound once: the hot paths call them per action and per read.
        self._write = self._backend.write
        self._arm_timer = self._backend.arm
        self._arm_before = self._backend.arm_before
        self._session: Session[W] = Session(options)
        self._callbacks = CallbackRegistry()
        for key, callback in (options.callbacks or {}).items():  # before anything is read
            self._callbacks.register(key, callback)
        self._queue: DropOldest[Delivered] = DropOldest(options.queue_size)
        self._dispatch = InlineFirst(self._callbacks, self._queue, log)
        self._queue_ready = self._backend.wakeup()
        self._subscriptions: list[Events] = []
        self._sub_dropped = 0
        self._ready = False
        self._closing = False
        self._give_up = False
        self._reconnect_attempts = 0
        # The reconnect attempts since a connection last proved itself (Session.proven), and
        # their delays: a re-login that fails, or a connection dropped before it sent
        # anything, is one more attempt of the same backoff, not a fresh start.
        self._retries: Iterator[tuple[int, float]] | None = None
        self._announced_up = True  # the program was told the client is up (a Disconnected pairs with it)
        self._ended = False  # closed for good: see wait_closed
        self._ended_waiters: list[Wakeup] = []  # one per wait_closed() call: a Wakeup has one waiter

    # -- public API --

    @property
    def dropped_events(self) -> int:
        """Messages dropped because the dispatcher queue or an ``events()`` buffer was full."""
        return self._queue.dropped + self._sub_dropped

    @overload
    def register_callback(
        self, key: type[MessageT], callback: Callable[[MessageT], object]
    ) -> Unregister: ...
    @overload
    def register_callback(self, key: str, callback: Callable[[Event], object]) -> Unregister: ...
    @overload
    def register_callback(self, key: None, callback: Callable[[Response], object]) -> Unregister: ...
    def register_callback(self, key: CallbackKey, callback: Callback) -> Unregister:
        """Call ``callback(message)`` from the dispatcher task, awaiting it if it returns an
        awaitable. ``key``: an event name or a glob of names (``"Queue*"``), a Message
        class, ``""`` (every event) or None (orphan responses). Returns a function that
        removes the registration. Typed as ``sync.Client.register_callback``: a class key
        types the callback's message."""
        return self._callbacks.register(key, callback)

    @property
    def live(self) -> PBX:
        """The live model (``amiproto.live.PBX``) that ``connect(..., live=True)`` keeps
        current; raises ``amiproto.LocalProtocolError`` when connected without ``live``.
        It changes only in the reader task, between two awaits of yours: what one step of
        a task reads is consistent. See ``sync.connect`` for ``live``."""
        return self._session.live_model()

    @overload
    def register_live_callback(
        self, kind: type[ChangeT], callback: Callable[[ChangeT], object]
    ) -> Unregister: ...
    @overload
    def register_live_callback(self, kind: None, callback: Callable[[Change], object]) -> Unregister: ...
    def register_live_callback(self, kind: type[Any] | None, callback: Callback) -> Unregister:
        """Call ``callback(change)`` for each change of the live model of class ``kind``
        (``amiproto.live.ChannelAdded``...; None: every change), as event callbacks are
        called (awaited if it returns an awaitable) and in their order: a change right
        after the event that made it. Returns a function that removes the registration."""
        return self._callbacks.register_change(kind, callback)

    def is_connected(self) -> bool:
        return self._ready and not self._closing

    async def send_action(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> ActionCompleted:
        """Send ``action`` and wait for all of its answer; see ``sync.Client.send_action``.

        ``wait_for_result=True``: an ``Originate`` with a true ``Async`` completes only
        when its ``OriginateResponse`` has come too, held in ``.result``; ``success`` is
        false when that says ``Response: Failure`` (see its ``Reason``). ``timeout``
        covers the whole wait (Originate's own ``Timeout`` is in ms; allow for it). An
        error response completes at once; other actions are unaffected.

        While more than ``max_send_buffer`` bytes are unsent, it first waits for room,
        at most ``timeout``, then raises ``ActionTimeout`` with nothing of it queued.
        """
        if timeout is None:
            timeout = self.options.timeout
        if not self._backend.has_room():
            timeout = await self._wait_for_room(action.name, timeout)
        action_id, waiter = self._submit(action, timeout, wait_for_result)
        # Waiting for the answer is the back-pressure: it needs the bytes sent first. A
        # wait for the socket before it would outlast the action's timeout on a full one.
        try:
            result: ActionCompleted = await self._backend.result(waiter)
        except BaseException:
            # Cancelled: forget the waiter (and only it); the answer will be ignored.
            # A waiter that failed was removed already.
            if self._session.waiters.get(action_id) is waiter:
                del self._session.waiters[action_id]
            raise
        return result

    async def _wait_for_room(self, name: str, timeout: float | None) -> float | None:
        """Wait while too many bytes are unsent; what is left of ``timeout``. Raises
        ``ActionTimeout`` when no room came in time."""
        backend = self._backend
        deadline = None if timeout is None else backend.now() + timeout
        while not backend.has_room():
            if not await backend.wait_for_room(deadline):
                raise self._no_room(name)
        return None if deadline is None else max(0.0, deadline - backend.now())

    def _no_room(self, name: str) -> amiproto.ActionTimeout:
        limit = self.options.max_send_buffer
        return amiproto.ActionTimeout(f"{name}: no room to send in time (over max_send_buffer {limit} bytes)")

    def _submit(self, action: Action, timeout: float | None, wait_for_result: bool = False) -> tuple[str, W]:
        """Queue ``action`` now. More than ``max_send_buffer`` bytes unsent: ``ActionTimeout``
        at once, with nothing queued (``send_action`` has waited for room before)."""
        if timeout is None:
            timeout = self.options.timeout
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        backend = self._backend
        if not backend.has_room():
            raise self._no_room(action.name)
        waiter = backend.waiter()
        now = backend.now()
        action_id, data = self._session.send(action, timeout, now, waiter, wait_for_result=wait_for_result)
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
        backend = self._backend
        waiter = backend.waiter()
        self._log.info("logging in as %s (%s)", username, auth)
        if not self._ready or self._closing:
            raise amiproto.ConnectionLost("not connected")
        if not backend.has_room():
            timeout = await self._wait_for_room("Login", timeout)
            if not self._ready or self._closing:
                raise amiproto.ConnectionLost("not connected")
        now = backend.now()
        data = self._session.login(
            username, secret, auth=auth, events=events, timeout=timeout, now=now, waiter=waiter
        )
        try:
            if timeout is not None:
                self._arm_before(now + timeout)
            self._write(data)
            result: LoginResult = await backend.result(waiter)
        finally:
            # Cancelled or not: a login nobody waits for no longer blocks the next one.
            if self._session.login_waiter is waiter:
                self._session.login_waiter = None
        return login_outcome(result)

    def events(self, timeout: float | None = None) -> Events:
        """Events from now on (``async for``); ends after ``timeout`` s without one, or when
        the client is closed for good (see ``wait_closed``). Its buffer drops the oldest
        like the callbacks' queue.

        With ``reconnect``, a lost connection does not end it: it yields the synthetic
        ``Disconnected`` event, then, once connected again, ``Reconnected`` and the new
        connection's events (those the server sent meanwhile are lost). A ``timeout``
        shorter than the outage ends it, though. Without ``reconnect`` it ends with the
        connection.
        """
        return Events(self, timeout)

    async def wait_closed(self) -> None:
        """Return once the client is closed for good (bound it with the event loop's own
        timeouts: ``asyncio.timeout``, ``trio.move_on_after``).

        Closed for good: ``close()`` was called, or the connection ended and no reconnect
        follows (``reconnect`` off, or it gave up: attempts spent, or a re-login refused).
        A connection lost and made again with ``reconnect`` does not end the wait, so
        ``await client.wait_closed()`` is the main loop of a program that works in
        callbacks. Callbacks stay registered across reconnects and see ``Disconnected``
        and ``Reconnected``.
        """
        wakeup = self._backend.wakeup()
        self._ended_waiters.append(wakeup)
        try:
            while not self._ended:  # no await between this check and the wait: no lost wake-up
                await wakeup.wait()
        finally:
            self._ended_waiters.remove(wakeup)

    async def close(self) -> None:
        """Log off when possible, close the connection, stop the tasks. Idempotent.

        Bounded whatever the server does: the Logoff gets ``CLOSE_GRACE`` seconds (its
        room to be sent included); then the connection is aborted, unsent bytes dropped.
        """
        if self._closing:
            return
        if self.is_connected() and self._session.conn.authenticated:
            with contextlib.suppress(amiproto.AMIError, *self._backend.errors):
                grace = min(CLOSE_GRACE, self.options.timeout or CLOSE_GRACE)
                await self.send_action(Action("Logoff"), timeout=grace)
        self._closing = True
        self._on_lost("closed by the program")
        await self._backend.stop()
        self._end_consumers()

    async def __aenter__(self: Self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- opening --

    @contextlib.asynccontextmanager
    async def _connected(
        self: Self,
        username: str | None,
        secret: str | None,
        auth: str,
        events: bool | str | None,
        timeout: float | None,
    ) -> AsyncIterator[Self]:
        """What ``connect()`` does: connect, start the tasks, log in, and close on exit."""
        await self._open()
        tasks = {"amiproto-reader": self._read_loop, "amiproto-dispatch": self._dispatch_loop}
        async with self._backend.running(tasks, self.close):
            if username is not None:
                await self.login(username, secret or "", auth=auth, events=events, timeout=timeout)
            yield self

    async def _open(self) -> None:
        await self._backend.open()
        self._ready = True
        self._log.info("connected to %s:%s", self.options.host, self.options.port)

    # -- timers and failures --

    def _on_timer(self) -> None:
        batch = self._session.timer(self._backend.now())
        self._apply(batch)
        if batch.closed is not None:
            self._backend.abort()  # the reader sees the end and fails the waiters

    def _abort(self, reason: str) -> None:
        """End the current connection for ``reason``: the reader notices and fails the waiters."""
        if self._session.open:
            self._log.warning("%s", reason)
            self._apply(self._session.lose(reason))
        self._backend.abort()

    # -- reading --

    async def _read_loop(self) -> None:
        try:
            while True:
                reason = await self._read_until_lost()
                self._on_lost(reason)
                await self._backend.aclose()
                if self._closing or self._give_up or not self.options.reconnect:
                    break
                if self._announced_up:  # the program was told it is up: not a failed attempt
                    self._announced_up = False
                    self._deliver([Disconnected.make(Reason=reason)])
                if self._retries is None or self._session.proven:
                    self._retries = enumerate(self.options.backoff.delays(), 1)
                if not await self._reconnect(self._retries):
                    break
        except Exception:
            self._log.exception("reader failed")
            self._on_lost("reader failed")
        except BaseException:
            self._on_lost("closed by the program")  # cancelled
            raise
        finally:
            self._ready = False
            self._end_consumers()

    async def _read_until_lost(self) -> str:
        backend = self._backend
        session = self._session
        read, now, errors, apply = backend.read, backend.now, backend.errors, self._apply
        with backend.reading():
            while True:
                try:
                    data = await read()
                except errors as error:
                    batch = session.lose(f"read failed: {error}")
                else:
                    batch = session.receive(data, now())
                apply(batch)
                if batch.closed is not None:
                    return batch.closed
        return session.closed_reason or "aborted"

    def _apply(self, batch: Batch[W]) -> None:
        if batch.closed is not None:
            self._ready = False  # before any waiter learns of the loss
        if batch.outgoing:
            self._write(batch.outgoing)
        for waiter, completed in batch.completed:
            if not waiter.done():  # an asyncio Future may have been cancelled
                # Mapped here, so that a submit() answer raises as send_action would.
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
        deadline = self._session.deadline()
        if batch.closed is not None:
            self._arm_timer(deadline)
        elif deadline is not None:
            # Only a sooner deadline re-arms: a timer armed for an earlier one just wakes
            # the client early (the core finds nothing due, and the timer is armed again),
            # where re-arming after every read made and cancelled a timer per action.
            self._arm_before(deadline)

    def _deliver(self, messages: list[Delivered]) -> None:
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
        self._backend.abort()  # drops what was queued: it was meant for this connection
        self._arm_timer(self._session.deadline())

    def _fail_waiters(self, reason: str) -> None:
        waiters = self._session.fail_all()
        if waiters:
            self._log.warning("connection lost (%s): failing %d waiting action(s)", reason, len(waiters))
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(amiproto.ConnectionLost(reason))

    # -- reconnecting --

    async def _reconnect(self, retries: Iterator[tuple[int, float]]) -> bool:
        """Connect again with the attempts and delays left in ``retries``; False when giving up."""
        backend = self._backend
        options = self.options
        for attempt, delay in retries:
            await backend.sleep(delay)
            try:
                await backend.open()
            except amiproto.ConnectionLost as error:
                self._log.info("reconnect attempt %d failed: %s", attempt, error)
                continue
            self._session.reset()
            self._reconnect_attempts = attempt
            self._write(self._session.start_relogin(backend.now()))
            self._arm_timer(self._session.deadline())
            self._log.info("reconnected to %s:%s (attempt %d)", options.host, options.port, attempt)
            if self._session.credentials is None:
                self._ready = True
                self._announced_up = True
                self._deliver([Reconnected.make(Attempts=str(attempt), Reapplied="0")])
            return True
        self._log.error("giving up reconnecting")
        return False

    def _relogged(self, result: LoginResult) -> None:
        failed = self._session.relogin_failed(result)
        if failed is not None:
            level = logging.ERROR if failed.give_up else logging.WARNING
            self._log.log(level, "login after reconnect %s", failed.log)
            self._give_up = failed.give_up
            self._abort(failed.reason)
            return
        self._announced_up = True
        self._write(self._session.reapply_bytes(self._backend.now()))
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
                await ready.wait()
            await dispatch.run_pending()

    def _end_consumers(self) -> None:
        self._ended = True
        for wakeup in self._ended_waiters:
            wakeup.set()
        self._queue.closed = True
        self._queue_ready.set()
        for subscription in self._subscriptions:
            subscription.queue.closed = True
            subscription.ready.set()
