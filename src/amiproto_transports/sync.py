"""A blocking, thread-safe AMI client on ``socket``, over the amiproto core.

Use::

    import amiproto
    from amiproto_transports.sync import connect

    with connect("127.0.0.1", 5038, username="admin", secret="wordpass") as client:
        client.register_callback("Newchannel", lambda event: print(event.get("Channel")))
        result = client.send_action(amiproto.actions.CoreShowChannels(), timeout=5)
        print(result.success, len(result.events))

``connect()`` logs in and returns a ``Client``; ``send_action`` blocks until
the answer (``submit`` returns a ``concurrent.futures.Future`` instead);
callbacks run on the client's threads. ``help(connect)`` lists the options
(``reconnect``, ``keepalive``, ``events``, ``ssl``, limits).

How it works
------------
Threads: the caller's, two workers and one writer.

- One worker at a time is the reader (the roles and their hand-over rules are
  a table in ``_sync_roles``). It waits in ``select`` for data, for a
  wake-up byte, or until the core's next deadline (keepalive, action
  timeouts): it never polls. After a read that filled its buffer it reads
  again at once, without waiting (on a plain socket, where ``recv`` can be
  asked not to block). It feeds the core, wakes waiting ``send_action``
  calls directly, and queues events for the callbacks. With ``reconnect=True``
  it also reconnects.
- Callbacks run in arrival order, one batch after another, on the reader's own
  thread, where the events were just made: handing every read to another
  thread cost more than the callbacks (a GIL hand-over and every event's memory
  crossing to another core). Meanwhile the reading is *lent* to the callbacks,
  and the other worker takes it over at once when a thread awaits an answer,
  or once the callbacks have run ``_LEND_LIMIT``; the first worker then finishes
  the queued callbacks and becomes the standby. So a slow callback never
  delays an answer; it stops the reading only while the queue has no room.
- Between the reader and the callbacks sits a bounded queue (``queue_size``
  messages). What one read brings beyond its room is held back, and the
  reader reads no more until the callbacks have queued it (it runs them
  itself, or waits while the other worker does): TCP then makes the server
  wait, and callbacks that keep up on average lose nothing. Meanwhile no
  keepalive runs, as nothing is read. Only while a thread awaits an answer
  must the reading go on: then the *oldest* queued messages are dropped and
  counted in ``client.dropped_events``. Because
  answers are delivered by the reader, a callback may call ``send_action``
  itself without deadlock.
- Writes (``_sync_writer``): bytes join one buffer under the core lock, in
  the order the core made them, and the writer thread sends it, whole. A
  caller sends the buffer itself, without blocking, every ``EAGER_BYTES``.
  While more than ``max_send_buffer`` bytes are unsent (the server reads
  slowly, or not at all), ``send_action``, ``submit`` and ``login`` wait for
  room, at most their timeout, before the core sees the action; then they
  raise ``ActionTimeout``, with nothing of it queued or pending.
- ``close()`` waits at most ``CLOSE_GRACE`` for its Logoff (and so for the
  unsent bytes before it), then aborts the socket, dropping what is unsent,
  and waits at most ``CLOSE_GRACE`` more for the threads.
- Over TLS the reader and the writer take turns inside the SSL object
  (``LockedTLS``), which OpenSSL requires; callers then leave writing to the
  writer thread.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl as _ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as _FutureTimeout
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult, Response

from ._future import LightFuture
from ._shared import (
    CLOSE_GRACE,
    DEFAULT_MAX_LIST_EVENTS,
    DEFAULT_QUEUE_SIZE,
    EAGER_BYTES,
    RECV_SIZE,
    SEND_HIGH_WATER,
    SMALL_RECV_SIZE,
    Backoff,
    Batch,
    Callback,
    CallbackKey,
    CallbackRegistry,
    Callbacks,
    Delivered,
    Disconnected,
    DropOldest,
    HoldBack,
    Options,
    Reconnected,
    Session,
    SyncClient,
    Unregister,
    connect_error,
    login_outcome,
    next_recv_size,
    outcome,
    run_callbacks_sync,
)
from ._shared._protocol import ChangeT, MessageT
from ._sync_roles import Role, Workers
from ._sync_writer import Writer
from ._tls_socket import LockedTLS

if TYPE_CHECKING:
    # Only the annotations need it: the live model is imported when a client asks for one.
    from amiproto.live import PBX, Change

__all__ = ["Client", "connect"]

log = logging.getLogger("amiproto.sync")

_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)  # 0 where recv cannot be asked not to wait
_LEND_LIMIT = 0.02  # seconds the reader may run callbacks before the other worker reads instead
# Extra wait beyond an action's own timeout before the caller gives up on the reader
# (the core's timer normally fires first; this only guards against a stuck reader).
_GRACE = 2.0
_Waiter = Future  # Future[ActionCompleted] or Future[LoginResult]


class _Subscription:
    """The buffer behind one ``events()`` iterator."""

    def __init__(self, client: Client, maxsize: int, timeout: float | None) -> None:
        self.client = client
        self.queue: DropOldest[Event] = DropOldest(maxsize)
        self.cond = threading.Condition(threading.Lock())
        self.timeout = timeout
        self._ready: list[Event] = []

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if not self._ready:
            with self.cond:
                queue = self.queue
                # wait_for re-checks after every wake-up and keeps one deadline: only
                # an event, the end of the connection or the timeout ends the wait.
                self.cond.wait_for(lambda: bool(queue) or queue.closed, self.timeout)
                self._ready = queue.take()
                self._ready.reverse()
            if not self._ready:
                self.close()
                raise StopIteration
        return self._ready.pop()

    def close(self) -> None:
        """Stop receiving events; the iterator ends."""
        self.client._unsubscribe(self)


class _ModelThenCore:
    """The live model's lock, then the core lock: what the reader holds while the core
    routes what it read, so a thread that holds ``live_lock`` sees the model still.
    In that order everywhere: a thread that holds ``live_lock`` may send."""

    __slots__ = ("_core", "_model")

    def __init__(self, model: threading.RLock, core: threading.Lock) -> None:
        self._model = model
        self._core = core

    def __enter__(self) -> None:
        self._model.acquire()
        try:
            self._core.acquire()
        except BaseException:
            self._model.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self._core.release()
        self._model.release()


class Client:
    """A blocking AMI client. Make one with ``connect()``; see the module docstring."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._session: Session[_Waiter[Any]] = Session(options)
        self._callbacks = CallbackRegistry()
        for key, callback in (options.callbacks or {}).items():  # before anything is read
            self._callbacks.register(key, callback)
        self._core_lock = threading.Lock()
        self._live_lock = threading.RLock()
        # What the reader holds to feed the core: the core lock alone without a live model.
        self._reading_lock: _ModelThenCore | threading.Lock = (
            self._core_lock
            if self._session.live is None
            else _ModelThenCore(self._live_lock, self._core_lock)
        )
        self._closing = threading.Event()
        self._writer = Writer(
            self._core_lock,
            self._closing,
            self._broken,
            tls=options.ssl is not None,
            eager_bytes=EAGER_BYTES,
            high_water=options.max_send_buffer,
        )
        self._queue: HoldBack[Delivered] = HoldBack(options.queue_size)
        # Guards the queue and the two workers' roles.
        # Its lock is taken directly where a read passes (``with`` on a Condition is
        # two Python calls, on a lock none); waits and notifies go through the Condition.
        self._queue_lock = threading.Lock()
        self._queue_cond = threading.Condition(self._queue_lock)
        self._roles = Workers(2, _LEND_LIMIT)
        self._subscriptions: list[_Subscription] = []
        self._sub_dropped = 0
        self._sock: socket.socket | None = None
        self._tls: LockedTLS | None = None  # the reader's and writer's calls on a TLS socket
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._planned: float | None = None  # the deadline the reader sleeps until
        self._ready = False
        self._workers: list[threading.Thread] = []
        self._give_up = False  # set when a reconnect's login is refused
        self._reconnect_attempts = 0
        # The reconnect attempts since a connection last proved itself (Session.proven), and
        # their delays: a re-login that fails, or a connection dropped before it sent
        # anything, is one more attempt of the same backoff, not a fresh start.
        self._retries: Iterator[tuple[int, float]] | None = None
        self._announced_up = True  # the program was told the client is up (a Disconnected pairs with it)
        self._ended = threading.Event()  # closed for good: see wait_closed

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
        """Call ``callback(message)`` on a worker thread for each matching message, in order.

        ``key``: an event name or a glob of names (``"Queue*"``; both any case), an
        ``amiproto.Message`` subclass (isinstance), ``""`` for every event, or None for
        orphan responses. For type checkers the callback takes that class
        (``events.Newchannel`` gives ``Newchannel``), an ``Event`` for a name or ``""``, a
        ``Response`` for None. Returns a function that
        removes this registration. Exceptions from a callback are logged and ignored.
        """
        return self._callbacks.register(key, callback)

    @property
    def live(self) -> PBX:
        """The live model (``amiproto.live.PBX``) that ``connect(..., live=True)`` keeps
        current; raises ``amiproto.LocalProtocolError`` when connected without ``live``.

        It is updated on the reader thread while ``live_lock`` is held: hold it to read
        several objects as one consistent picture, briefly, and do not wait for an
        answer while holding it (the reader would wait for it, and the answer with it).
        """
        return self._session.live_model()

    @property
    def live_lock(self) -> threading.RLock:
        """Held while the live model is updated; hold it to read the model consistently."""
        return self._live_lock

    @overload
    def register_live_callback(
        self, kind: type[ChangeT], callback: Callable[[ChangeT], object]
    ) -> Unregister: ...
    @overload
    def register_live_callback(self, kind: None, callback: Callable[[Change], object]) -> Unregister: ...
    def register_live_callback(self, kind: type[Any] | None, callback: Callback) -> Unregister:
        """Call ``callback(change)`` for each change of the live model of class ``kind``
        (``amiproto.live.ChannelAdded``...; None: every change), on the worker threads
        and in the one order of the event callbacks: a change right after the event that
        made it, through the same bounded queue (``queue_size``, see ``dropped_events``).
        Returns a function that removes the registration. By the time it runs, the model
        may have moved on (read it under ``live_lock``); the change carries the live
        object and, for a ``...Changed``, the old and new value of each field.
        """
        return self._callbacks.register_change(kind, callback)

    def is_connected(self) -> bool:
        """True while the socket is up (and, when credentials were given, logged in)."""
        return self._ready and not self._closing.is_set()

    def submit(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> Future[ActionCompleted]:
        """Send ``action`` without waiting for its answer; the Future resolves as ``send_action``
        would return or raise (``wait_for_result`` as there).

        Many ``submit`` calls in a row pipeline actions from one thread. While more than
        ``max_send_buffer`` bytes are unsent, it waits for room, at most ``timeout``, and
        then raises ``ActionTimeout`` itself, with nothing of the action queued.
        """
        return self._submit(action, timeout, wait_for_result)[1]

    def _submit(
        self,
        action: Action,
        timeout: float | None,
        wait_for_result: bool = False,
        *,
        sends_at: int | None = None,
        waits: bool = False,
    ) -> tuple[str, Future[ActionCompleted], float | None]:
        """Queue ``action``; the caller sends the queued bytes itself once ``sends_at``
        are queued (default ``EAGER_BYTES``) and nobody else is writing. Returns its
        ActionID, its Future and its deadline (``time.monotonic``; None: no timeout).

        ``waits``: the caller waits for the answer and wakes the reader itself if the
        deadline passes first (``send_action``); otherwise the reader is woken now when
        this deadline comes before the one it sleeps until."""
        future: Future[ActionCompleted] = LightFuture()
        if timeout is None:
            timeout = self.options.timeout
        if not self._ready or self._closing.is_set():
            raise amiproto.ConnectionLost("not connected")
        now = time.monotonic()
        writer = self._writer
        with self._core_lock:
            if writer.unsent_locked() > writer.high_water:
                timeout, now = self._wait_for_room_locked(action.name, timeout, now)
            action_id, data = self._session.send(
                action, timeout, now, future, wait_for_result=wait_for_result
            )
            chunk = writer.queue_for_caller_locked(data, EAGER_BYTES if sends_at is None else sends_at)
        self._want_answer()
        if chunk is not None:
            writer.send_eagerly(*chunk)
        deadline = None if timeout is None else now + timeout
        if deadline is not None and not waits:
            self._wake_if_sooner(deadline)
        return action_id, future, deadline

    def _wait_for_room_locked(
        self, name: str, timeout: float | None, now: float
    ) -> tuple[float | None, float]:
        """Under the core lock, before the core sees the action: wait while too many bytes
        are unsent. Returns what is left of ``timeout``, and the time now; raises
        ``ActionTimeout`` when no room came in time, ``ConnectionLost`` when closing."""
        deadline = None if timeout is None else now + timeout
        writer = self._writer
        if not writer.wait_for_room_locked(deadline):
            raise amiproto.ActionTimeout(
                f"{name}: no room to send in time ({writer.unsent_locked()} bytes unsent,"
                f" max_send_buffer {writer.high_water})"
            )
        if self._closing.is_set():
            raise amiproto.ConnectionLost("closed by the program")
        now = time.monotonic()
        return (None if deadline is None else max(0.0, deadline - now)), now

    def send_action(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> ActionCompleted:
        """Send ``action`` and wait for everything that belongs to it.

        ``timeout`` defaults to the client's ``timeout``. Returns the core's
        ``ActionCompleted`` (an error response is a result with ``success`` False), whose
        ``response`` is never None; raises ``ActionTimeout``, ``ConnectionLost``, or
        ``AuthenticationError`` for a refused ``Login``.

        ``wait_for_result=True``: an ``Originate`` with a true ``Async`` completes only
        when its ``OriginateResponse`` has come too, held in ``.result``; ``success`` is
        false when that says ``Response: Failure`` (see its ``Reason``). ``timeout``
        covers the whole wait (Originate's own ``Timeout`` is in ms; allow for it). An
        error response completes at once; other actions are unaffected.
        """
        timeout = self.options.timeout if timeout is None else timeout
        # Sent by this thread, which waits next anyway: no hand-over to the writer. Nor
        # is the reader woken to learn the deadline: the answer wakes it long before, as
        # a rule, and else this thread does, once the deadline has passed.
        action_id, future, deadline = self._submit(action, timeout, wait_for_result, sends_at=1, waits=True)
        try:
            if deadline is None:
                return future.result()
            try:
                return future.result(max(0.0, deadline - time.monotonic()))
            except _FutureTimeout:
                self._wake()  # the reader times the action out (the core's deadline has passed)
            return future.result(_GRACE)
        except _FutureTimeout:
            raise amiproto.ActionTimeout(f"{action.name} got no answer in time") from None
        finally:
            if not future.done():  # given up on (or interrupted): the answer will be ignored
                self._forget(action_id, future)

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str = "md5",
        events: bool | str | None = True,
        timeout: float | None = None,
    ) -> LoginResult:
        """Log in (MD5 challenge or plain); raises ``AuthenticationError`` when refused.

        These credentials are the ones a reconnect logs in with again.
        """
        timeout = self.options.timeout if timeout is None else timeout
        future: Future[LoginResult] = LightFuture()
        log.info("logging in as %s (%s)", username, auth)
        if not self._ready or self._closing.is_set():
            raise amiproto.ConnectionLost("not connected")
        now = time.monotonic()
        try:
            with self._core_lock:
                if self._writer.unsent_locked() > self._writer.high_water:
                    timeout, now = self._wait_for_room_locked("Login", timeout, now)
                data = self._session.login(
                    username, secret, auth=auth, events=events, timeout=timeout, now=now, waiter=future
                )
                self._writer.queue_locked(data)
            self._want_answer()
            if timeout is not None:
                self._wake_if_sooner(now + timeout)
            return login_outcome(future.result(None if timeout is None else timeout + _GRACE))
        except _FutureTimeout:
            raise amiproto.ActionTimeout("login got no answer in time") from None
        finally:
            if not future.done():  # given up on: a later login must not find it in progress
                with self._core_lock:
                    if self._session.login_waiter is future:
                        self._session.login_waiter = None

    def events(self, timeout: float | None = None) -> _Subscription:
        """An iterator over events from now on; it ends after ``timeout`` seconds without
        one, or when the client is closed for good (see ``wait_closed``). Its buffer drops
        the oldest like the callbacks'.

        With ``reconnect``, a lost connection does not end it: it yields the synthetic
        ``Disconnected`` event, then, once connected again, ``Reconnected`` and the new
        connection's events (those the server sent meanwhile are lost). A ``timeout``
        shorter than the outage ends it, though. Without ``reconnect`` it ends with the
        connection.
        """
        subscription = _Subscription(self, self.options.queue_size, timeout)
        with self._core_lock:
            # Under the lock _end_consumers takes its list with: one made after it ran
            # (closed, or given up reconnecting) ends at once instead of waiting for ever.
            if self._ended_locked():
                subscription.queue.closed = True
            self._subscriptions = [*self._subscriptions, subscription]
        return subscription

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the client is closed for good; False if ``timeout`` seconds passed first.

        Closed for good: ``close()`` was called, or the connection ended and no reconnect
        follows (``reconnect`` off, or it gave up: attempts spent, or a re-login refused).
        A connection lost and made again with ``reconnect`` does not end the wait, so
        ``client.wait_closed()`` is the main loop of a program that works in callbacks.
        Callbacks stay registered across reconnects and see ``Disconnected`` and
        ``Reconnected``; the callbacks already queued still run after the end.
        """
        return self._ended.wait(timeout)

    def _ended_locked(self) -> bool:
        """Under the core lock: no more events will come."""
        if self._queue.closed or self._closing.is_set():
            return True
        return not self._session.open and not self.options.reconnect

    def close(self) -> None:
        """Log off when possible, close the socket, stop the threads. Idempotent.

        Bounded whatever the server does: the Logoff gets ``CLOSE_GRACE`` seconds (its
        room to be sent included); then the socket is aborted, unsent bytes dropped, and
        the threads get ``CLOSE_GRACE`` more to finish (a callback that blocks is left).
        """
        if self._closing.is_set():
            return
        if self.is_connected() and self._session.conn.authenticated:
            with contextlib.suppress(amiproto.AMIError, OSError):
                grace = min(CLOSE_GRACE, self.options.timeout or CLOSE_GRACE)
                self.send_action(Action("Logoff"), timeout=grace)
        self._shutdown()

    def _shutdown(self) -> None:
        self._closing.set()
        with self._core_lock:
            # Under the lock, after _closing: a reconnect installs its socket before
            # this (and it is shut here) or sees _closing and closes it itself.
            sock = self._sock
            unsent = self._writer.unsent_locked()
        if sock is not None:
            with contextlib.suppress(OSError):
                if unsent:
                    # Abort: a reset, and no kernel buffer kept trying to send for us.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
        self._wake()
        with self._queue_cond:
            self._queue_cond.notify_all()  # a reader waiting for room
        self._writer.stop()
        current = threading.current_thread()
        deadline = time.monotonic() + CLOSE_GRACE
        for thread in self._workers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._writer.join(max(0.0, deadline - time.monotonic()))
        if sock is not None:
            sock.close()
        self._wake_r.close()
        self._wake_w.close()
        self._ended.set()  # also when a callback that blocks keeps a worker past CLOSE_GRACE

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- opening --

    def _open_socket(self) -> socket.socket:
        options = self.options
        try:
            sock = socket.create_connection((options.host, options.port), timeout=options.timeout)
        except OSError as error:
            raise connect_error(options, error) from error
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if options.ssl is not None:
                context: _ssl.SSLContext = options.ssl
                sock = context.wrap_socket(sock, server_hostname=options.server_hostname or options.host)
            sock.settimeout(None)
        except OSError as error:
            sock.close()  # a failed handshake: not left for the garbage collector
            raise connect_error(options, error) from error
        return sock

    def _use_socket_locked(self, sock: socket.socket, first: bytes = b"") -> None:
        """Under the core lock: read and write ``sock`` from now on, starting with ``first``."""
        self._tls = LockedTLS(sock, RECV_SIZE) if isinstance(sock, _ssl.SSLSocket) else None
        self._sock = sock
        self._writer.use_locked(sock, self._tls, first)

    def _start(self) -> None:
        sock = self._open_socket()
        with self._core_lock:
            self._use_socket_locked(sock)
        self._ready = True
        log.info("connected to %s:%s", self.options.host, self.options.port)
        self._workers = [
            threading.Thread(target=self._work, args=(n,), name=f"amiproto-worker-{n + 1}", daemon=True)
            for n in range(len(self._roles.roles))
        ]
        self._writer.start()
        for worker in self._workers:
            worker.start()

    # -- waiters, wake-ups, write failures --

    def _forget(self, action_id: str, waiter: _Waiter[Any]) -> None:
        with self._core_lock:
            if self._session.waiters.get(action_id) is waiter:
                del self._session.waiters[action_id]

    def _wake_if_sooner(self, deadline: float) -> None:
        # The reader sleeps until the deadline it last asked the core for; wake it
        # only when this new one is sooner (the usual case asks nothing of anyone).
        planned = self._planned
        if planned is None or deadline < planned:
            # Marked as planned at once, so that a burst of sends wakes the reader once
            # (the byte makes the reader ask the core again, whatever it had planned).
            self._planned = deadline
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _broken(self, reason: str) -> None:
        """A write failed: shut the socket so the reader ends the session and fails waiters."""
        log.warning("%s", reason)
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- reading --

    def _read_as_reader(self, me: int) -> bool:
        """Read (and reconnect) while this thread is the reader; False once reading has
        ended for good, True when the other worker took the reading over."""
        try:
            while True:
                reason = self._read_until_lost(me)
                if reason is None:
                    return True
                self._on_lost(reason)
                if self._closing.is_set() or self._give_up or not self.options.reconnect:
                    break
                if self._announced_up:  # the program was told it is up: not a failed attempt
                    self._announced_up = False
                    # The other worker runs its callbacks while this one waits to reconnect.
                    self._deliver([Disconnected.make(Reason=reason)], wake_standby=True)
                if self._retries is None or self._session.proven:
                    self._retries = enumerate(self.options.backoff.delays(), 1)
                if self._reconnect(self._retries) == 0:
                    break
        except Exception:  # a bug here must not leave waiters hanging
            log.exception("reader failed")
            self._on_lost("reader failed")
        self._ready = False
        self._end_consumers()
        return False

    def _read_until_lost(self, me: int) -> str | None:
        """Read until the connection ends (its reason) or the reading moves to the
        other worker while this one runs callbacks (None)."""
        sock = self._sock
        assert sock is not None
        session = self._session
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ, "sock")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        tls = self._tls
        # While the socket has more than one read holds, the next read is tried at once,
        # without waiting in select: at a busy server's rate that wait cost a system
        # call and a pass of the selector per read. Not over TLS (records, not bytes).
        try_first = _DONTWAIT if tls is None else 0
        more = False  # the last read filled its buffer: more is likely waiting
        asked = SMALL_RECV_SIZE  # see next_recv_size
        try:
            while True:
                # The queue's deque, not its __len__: this runs once per read.
                if self._queue.items and self._dispatch_inline(me):
                    return None
                if self._queue.held:
                    if not self._wait_for_room(me):
                        return "closed by the program"
                    continue  # nothing read until all held back is queued
                with self._core_lock:
                    deadline = session.deadline()
                    # Under the lock: a submit in between compares with this deadline.
                    self._planned = deadline
                readable = more
                if not more:
                    now = time.monotonic()
                    wait = None if deadline is None else max(0.0, deadline - now)
                    for key, _ in selector.select(wait):
                        if key.data == "wake":
                            with contextlib.suppress(OSError):
                                self._wake_r.recv(4096)
                        else:
                            readable = True
                # On every pass: a server that always has more to read never stops a close.
                if self._closing.is_set():
                    return "closed by the program"
                if readable:
                    try:
                        if tls is not None:
                            received = tls.recv()
                        else:
                            received = sock.recv(asked, try_first if more else 0)
                    except BlockingIOError:
                        more = False  # drained after all: wait in select next time
                        continue
                    except OSError as error:
                        with self._reading_lock:
                            batch = session.lose(f"read failed: {error}")
                        self._apply(batch)
                        return batch.closed or "read failed"
                    if received is None:
                        continue  # not a whole TLS record yet
                    more = try_first != 0 and len(received) == asked
                    asked = next_recv_size(asked, len(received))
                    closed, taken_over = self._feed(me, received)
                    if closed is not None:
                        return closed
                    if taken_over:
                        return None
                if deadline is not None and time.monotonic() >= deadline:
                    with self._reading_lock:
                        batch = session.timer(time.monotonic())
                        self._writer.buffer += batch.outgoing
                    self._apply(batch)
                    if batch.closed is not None:
                        return batch.closed
        finally:
            selector.close()

    def _feed(self, me: int, received: bytes) -> tuple[str | None, bool]:
        """Give what the reader read to the core and act on it, running the callbacks
        of its messages at once (``_dispatch_inline``). Returns the reason when the
        connection ended, and whether the other worker took the reading over meanwhile.
        The batch dies here, before the next read: its events alive beside the next
        read's made the garbage collector run in mid-parse."""
        with self._reading_lock:
            batch = self._session.receive(received, time.monotonic())
            # Joined under the same lock, so no action overtakes them.
            self._writer.buffer += batch.outgoing
        messages = batch.deliver
        if batch.closed is not None or not messages:
            self._apply(batch)
            return batch.closed, False
        self._apply(batch, deliver=False)
        self._to_subscriptions(messages)
        return None, self._dispatch_inline(me, messages)

    def _apply(self, batch: Batch[_Waiter[Any]], *, deliver: bool = True) -> None:
        """Act on what the core said: write its own bytes, wake waiters, and (unless
        ``deliver`` is false) queue its messages for the callbacks."""
        if batch.closed is not None:
            self._ready = False  # before any waiter learns of the loss

        if batch.outgoing:
            self._writer.kick()  # for what the core queued by itself, joined in core order above
        for waiter, completed in batch.completed:
            # Mapped here, so that a submit() Future raises as send_action would.
            try:
                waiter.set_result(outcome(completed))
            except amiproto.AMIError as error:
                waiter.set_exception(error)
        for login_waiter, result in batch.logins:
            if login_waiter is not None:
                login_waiter.set_result(result)
            else:
                self._relogged(result)
        if deliver and batch.deliver:
            self._deliver(batch.deliver)

    def _deliver(self, messages: list[Delivered], *, wake_standby: bool = False) -> None:
        """Queue ``messages`` for the callbacks, holding back what does not fit. The reader
        runs them itself at the top of its loop; ``wake_standby`` asks the standby worker
        to, for a reader about to block."""
        with self._queue_cond:
            self._queue.offer(messages)
            if wake_standby:
                self._queue_cond.notify_all()
        self._to_subscriptions(messages)

    def _to_subscriptions(self, messages: list[Delivered]) -> None:
        """Give the events among ``messages`` to every ``events()`` iterator."""
        subscriptions = self._subscriptions
        if subscriptions:
            events = [m for m in messages if isinstance(m, Event)]
            if not events:
                return  # orphan responses and unknown messages are not for iterators
            for subscription in subscriptions:
                with subscription.cond:
                    before = subscription.queue.dropped
                    subscription.queue.extend(events)
                    self._sub_dropped += subscription.queue.dropped - before
                    subscription.cond.notify()

    def _on_lost(self, reason: str) -> None:
        """Fail every waiter at once: nobody may hang on a dead connection."""
        self._ready = False
        with self._reading_lock:
            self._session.lose(reason)
            waiters = self._session.fail_all()
        if waiters:
            log.warning("connection lost (%s): failing %d waiting action(s)", reason, len(waiters))
        else:
            log.info("connection ended: %s", reason)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(amiproto.ConnectionLost(reason))
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # A close alone leaves a writer blocked in sendall on it for ever.
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    # -- reconnecting --

    def _reconnect(self, retries: Iterator[tuple[int, float]]) -> int:
        """Connect again with the attempts and delays left in ``retries``; returns the
        attempt that connected, 0 when giving up."""
        for attempt, delay in retries:
            if self._closing.wait(delay):
                return 0
            try:
                sock = self._open_socket()
            except amiproto.ConnectionLost as error:
                log.info("reconnect attempt %d failed: %s", attempt, error)
                continue
            with self._core_lock:
                if self._closing.is_set():  # closed while connecting: _shutdown saw the old socket
                    sock.close()
                    return 0
                self._session.reset()
                self._use_socket_locked(sock, self._session.start_relogin(time.monotonic()))
                self._reconnect_attempts = attempt
            self._writer.kick()
            log.info("reconnected to %s:%s (attempt %d)", self.options.host, self.options.port, attempt)
            if self._session.credentials is None:
                self._ready = True
                self._announced_up = True
                self._deliver([Reconnected.make(Attempts=str(attempt), Reapplied="0")])
            return attempt
        log.error("giving up reconnecting")
        return 0

    def _relogged(self, result: LoginResult) -> None:
        """The login a reconnect started has its answer: re-apply state and tell the program."""
        failed = self._session.relogin_failed(result)
        if failed is not None:
            log.log(
                logging.ERROR if failed.give_up else logging.WARNING, "login after reconnect %s", failed.log
            )
            self._give_up = failed.give_up
            self._broken(failed.reason)
            return
        self._announced_up = True
        with self._core_lock:
            self._writer.buffer += self._session.reapply_bytes(time.monotonic())
            count = len(self._session.reapply)
        self._writer.kick()
        self._ready = True
        self._deliver([Reconnected.make(Attempts=str(self._reconnect_attempts), Reapplied=str(count))])

    # -- dispatching --

    def _work(self, me: int) -> None:
        """The body of worker ``me``: take the role the table gives it (see ``_sync_roles``)
        and act it out, until the reading has ended and no callbacks are left."""
        roles = self._roles
        cond = self._queue_cond
        while True:
            with cond:
                while (role := roles.take_work(me, bool(self._queue))) is None:
                    cond.wait(roles.wait_time())
            if role is Role.STOPPED:
                return
            if role is Role.CALLING_BACK:
                self._run_callbacks(me)
            elif not self._read_as_reader(me):
                with cond:
                    roles.end_reading(me)
                    cond.notify_all()

    def _answer_awaited(self) -> bool:
        """A thread awaits an answer (or the reader, its re-login's): the reading must go on.
        Read without the core lock: a thread that adds a waiter then calls _want_answer."""
        session = self._session
        return bool(session.waiters) or session.login_waiter is not None or session.relogin

    def _wait_for_room(self, me: int) -> bool:
        """From the reader, holding back messages the queue has no room for: wait until
        the other worker's callbacks have queued them all, unless an answer is awaited,
        when what does not fit is dropped, oldest first, so as to read on at once.
        False when the program closes the client meanwhile."""
        cond = self._queue_cond
        queue = self._queue
        roles = self._roles
        closing = self._closing
        with cond:
            roles.wait_for_room(me)  # first: see Workers.wait_for_room

            def wait_over() -> bool:
                return not (queue.held and roles.calling_back) or self._answer_awaited() or closing.is_set()

            # Woken by the callbacks' take (room), their end, _want_answer and _shutdown.
            cond.wait_for(wait_over)
            if closing.is_set():
                return False  # end_reading moves it; the callbacks left still run
            awaited = bool(queue.held) and roles.calling_back and self._answer_awaited()
            if awaited:
                queue.release_held()
            # Without a worker calling back, the loop runs what is held itself.
            roles.room_wait_over(me, awaited)
        return True

    def _dispatch_inline(self, me: int, messages: list[Delivered] | None = None) -> bool:
        """From the reader: run the callbacks of ``messages`` (just read), or else of
        the queued ones, on this thread, where the events were just made (a hand-over
        per read to another thread costs more than the callbacks). Fresh messages
        skip the queue when it is empty, nobody else runs callbacks and they fit in
        it; otherwise they join it, behind the older ones. Meanwhile the reading is lent: the other
        worker takes it over at once if an answer is awaited, or once the callbacks
        took ``_LEND_LIMIT``. True when the other worker took the reading over meanwhile."""
        cond = self._queue_cond
        queue = self._queue
        roles = self._roles
        with self._queue_lock:
            # Taken at once as they would be from the queue: only when they all fit in it.
            # queue.items for the queue (no __len__ call), as at the top of the read loop.
            if messages is not None and (queue.items or roles.calling_back or len(messages) > queue.maxsize):
                queue.offer(messages)  # in order, after those queued before
                messages = None
            if roles.calling_back or not (messages or queue.items):
                return False
            if roles.lend(me, self._answer_awaited()):
                cond.notify_all()
        return self._run_callbacks(me, messages) is not Role.READING

    def _run_callbacks(self, me: int, first: list[Delivered] | None = None) -> Role:
        """Run the callbacks of ``first``, then of the queue until it is empty; worker
        ``me`` is LENDING or CALLING_BACK. Returns its next role."""
        queue = self._queue
        cond = self._queue_cond
        roles = self._roles
        messages = first
        while True:
            if messages is None:
                with self._queue_lock:
                    held = bool(queue.held)
                    messages = queue.take()
                    if held and not queue.held and roles.waiting_for_room:
                        cond.notify_all()  # all it held back is queued: the reader reads on
                    if not messages:
                        # Under the lock that saw it empty: a reader queueing more from now on
                        # finds nobody calling back and runs them itself.
                        return roles.callbacks_done(me)
            try:
                run_callbacks_sync(self._callbacks, messages, log)
            except BaseException:  # a bug: callbacks' own exceptions are logged in there
                with cond:
                    roles.callbacks_done(me)
                    if queue:
                        cond.notify_all()  # the other worker runs them (or stops waiting for room)
                raise
            messages = None

    def _want_answer(self) -> None:
        """An answer is now awaited: if the reader is lent to callbacks, let the other
        worker read, so that no callback delays it."""
        roles = self._roles
        # Hints without the lock: the usual case is neither.
        if (roles.lending and not roles.hand_over) or roles.waiting_for_room:
            with self._queue_cond:
                if roles.answer_awaited():
                    self._queue_cond.notify_all()

    def _end_consumers(self) -> None:
        self._ended.set()
        with self._queue_cond:
            self._queue.closed = True
        with self._core_lock:  # see events()
            subscriptions = self._subscriptions
        for subscription in subscriptions:
            with subscription.cond:
                subscription.queue.closed = True
                subscription.cond.notify()

    def _unsubscribe(self, subscription: _Subscription) -> None:
        with self._core_lock:
            self._subscriptions = [s for s in self._subscriptions if s is not subscription]


def connect(
    host: str | None = None,
    port: int | None = None,
    *,
    username: str | None = None,
    secret: str | None = None,
    auth: str = "md5",
    events: bool | str | None = True,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | bool | None = None,
    server_hostname: str | None = None,
    keepalive: float | None = None,
    keepalive_timeout: float | None = None,
    reconnect: bool = False,
    backoff: Backoff | None = None,
    trace: bool = False,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    max_send_buffer: int = SEND_HIGH_WATER,
    max_list_events: int = DEFAULT_MAX_LIST_EVENTS,
    retry_refused_login: bool = False,
    callbacks: Callbacks | None = None,
    live: bool | PBX = False,
) -> Client:
    """Connect (and log in when ``username`` is given); the client is a context manager.

    ``host``, ``port``, ``username`` and ``secret``, when not given (None), are read
    from the environment variables ``AMI_HOST``, ``AMI_PORT`` (default 5038),
    ``AMI_USERNAME`` and ``AMI_SECRET``; an argument given always wins. So
    ``connect()`` alone connects (and logs in) where the environment says.

    ``timeout``: connect timeout and default action timeout (None: wait for ever).
    ``keepalive``: seconds of silence before a Ping; no answer within
    ``keepalive_timeout`` (default: the same) ends the connection.
    ``reconnect``: on loss, reconnect with ``backoff``, log in again, re-send the
    last ``Events`` and every ``Filter`` action, then deliver a synthetic
    ``Reconnected`` event to callbacks (a ``Disconnected`` one when the loss is seen).
    A re-login that gets no answer is one more failed attempt; one the server refuses
    ends the retries, unless ``retry_refused_login``. The backoff starts afresh only
    after a connection has proven itself (the server sent more than its greeting and
    the re-login's answer): one dropped at once is one more attempt too.
    ``ssl``: an ``ssl.SSLContext``, or True for ``ssl.create_default_context()``
    (verifying the server's certificate and name, ``server_hostname`` or ``host``).
    ``max_send_buffer``: bytes of actions that may wait unsent (the server reads
    slowly) before another waits for room, at most its timeout (see ``Client.submit``).
    ``max_list_events``: events one list action may collect; past it the action raises
    ``amiproto.ListTooLong`` and the rest of its list arrives as ordinary events.
    ``trace``: log both directions at DEBUG on ``amiproto.wire``, Secret/Key redacted.
    ``callbacks``: ``{key: callback}``, each registered as ``register_callback(key,
    callback)`` before the login is sent, so that the events sent right after it
    (``FullyBooted``) reach them; registering after ``connect()`` returns may miss those.
    A change class of ``amiproto.live`` as a key registers a live callback.
    ``live``: keep ``client.live``, a live model of the PBX (``amiproto.live.PBX``),
    current: True for a new one, or the ``PBX`` to keep (``PBX(history=50)``). Each
    login, and each re-login after a reconnect, sends its snapshot actions and applies
    their answers, and every event, as they arrive; ``connect()`` returns once the model
    is filled (``client.live.synced``), raising ``ActionTimeout`` (or ``ListTooLong``,
    see ``max_list_events``) when a snapshot action did not complete. An error answer
    (QueueStatus without app_queue) leaves that part empty and does not stop it.
    ``register_live_callback`` sees its changes.
    Raises ``amiproto.ConnectFailed`` (a ``ConnectionLost`` and a ``ConnectionError``,
    with the reason in its message) when the connection cannot be made, and
    ``AuthenticationError`` when the login is refused.
    """
    options = Options.from_arguments(locals())  # first: locals() is exactly the parameters
    client = Client(options)
    client._start()
    if options.username is not None:  # the argument, or AMI_USERNAME
        try:
            client.login(options.username, options.secret or "", auth=auth, events=events, timeout=timeout)
        except BaseException:
            client._shutdown()
            raise
    return client


if TYPE_CHECKING:

    def _check(client: Client) -> SyncClient:
        return client
