"""The trio backend: a writer task, a timer task, and ``Pending`` for waiters.

The reader reads with ``receive_some``; while the socket holds more than a read,
up to ``_READS_IN_A_ROW`` reads go without a checkpoint between them. The writer
is the only task that awaits a write, so a cancelled caller can never
leave half an action on the wire; while it is idle, a caller writes a burst's
first bytes itself (``_write_eagerly``). The bytes queued and the chunk the writer
is sending count as unsent, against ``max_send_buffer``. The timer sleeps in a cancel scope whose
deadline is moved to the core's next deadline after every change.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import trio

from .._shared import EAGER_BYTES, RECV_SIZE, SMALL_RECV_SIZE, Options, connect_error, next_recv_size
from ._base import Task

__all__ = ["Pending", "TrioBackend"]

_EAGER_WRITES = sys.platform != "win32"  # there a socket is not a file descriptor
# Reads the reader makes in a row, each after one that filled its buffer, before it
# lets trio run the other tasks: a pass of trio's run loop per 128 KiB read cost a busy
# client a twentieth of its time (bench_clients.py, events). Up to 512 KiB in a row, so
# that other tasks wait no longer with larger reads (1 MiB, with the C core: then one
# read at a time). Not on Windows either.
_READS_IN_A_ROW = max(1, 512 * 1024 // RECV_SIZE)
ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

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
        self._task: trio.lowlevel.Task | None = None
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        """Whether a result or an exception is set."""
        return self._done

    def set_result(self, value: T) -> None:
        """Set the result and wake the waiter; ignored once done."""
        if not self._done:
            self._value = value
            self._finish()

    def set_exception(self, error: BaseException) -> None:
        """Set the exception ``get()`` raises and wake the waiter; ignored once done."""
        if not self._done:
            self._error = error
            self._finish()

    def _finish(self) -> None:
        self._done = True
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)

    async def wait(self) -> None:
        """Until a result or an exception is set; a cancellation leaves the waiter unset.

        Already set, it returns at once: a cancel point, but no schedule point (as
        awaiting a done asyncio Future). Waiting in order on a window of answers that
        mostly came already otherwise cost a turn of trio's run loop each."""
        if self._done:
            await trio.lowlevel.checkpoint_if_cancelled()
            return
        self._task = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

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


class TrioBackend:
    """``Backend`` on trio (see ``_base.Backend`` for the contract)."""

    errors: tuple[type[BaseException], ...] = ERRORS

    def __init__(
        self, options: Options, on_timer: Callable[[], None], on_write_failed: Callable[[str], None]
    ) -> None:
        self.options = options
        # The run's clock, which its deadlines run on: its own method, called directly (a
        # call to trio.current_time finds the run first, twice the cost, on every action).
        self.now: Callable[[], float] = trio.lowlevel.current_clock().current_time
        self.waiter: Callable[[], Pending[Any]] = Pending
        self.result: Callable[[Pending[Any]], Awaitable[Any]] = Pending.get
        self._on_timer = on_timer
        self._on_write_failed = on_write_failed
        self.stream: trio.abc.Stream | None = None
        self._aborted = True  # until open()
        self._outgoing = bytearray()
        self._write_wanted = trio.Event()
        self._sending = False  # the writer task is in send_all: callers must not write meanwhile
        self._in_flight = 0  # bytes of the chunk the writer task is sending
        self._room = trio.Event()  # set when unsent bytes were written or dropped
        self._read_scope: trio.CancelScope | None = None
        self._timer_scope: trio.CancelScope | None = None
        self._reads_left = 0  # reads the reader may make before its next checkpoint (see read)
        self._asked = SMALL_RECV_SIZE  # bytes the next read asks for (see read)
        self._deadline = math.inf
        self._scope = trio.CancelScope()  # the client's own tasks, cancelled by close()

    def wakeup(self) -> _Wakeup:
        return _Wakeup()

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)

    # -- the timer --

    def arm(self, deadline: float | None) -> None:
        deadline = math.inf if deadline is None else deadline
        if deadline != self._deadline:
            self._deadline = deadline
            if self._timer_scope is not None:
                self._timer_scope.deadline = deadline

    def arm_before(self, deadline: float) -> None:
        if deadline < self._deadline:
            self.arm(deadline)

    async def _timer_loop(self) -> None:
        while True:
            with trio.CancelScope(deadline=self._deadline) as scope:
                self._timer_scope = scope
                await trio.sleep_forever()
            self._timer_scope = None
            if trio.current_time() >= self._deadline:
                self._deadline = math.inf  # on_timer arms the next one
                self._on_timer()

    # -- the connection --

    async def open(self) -> None:
        options = self.options
        stream: trio.abc.Stream | None = None
        try:
            with trio.fail_after(math.inf if options.timeout is None else options.timeout):
                stream = await trio.open_tcp_stream(options.host, options.port)
                if options.ssl is not None:
                    stream = trio.SSLStream(
                        stream, options.ssl, server_hostname=options.server_hostname or options.host
                    )
                    await stream.do_handshake()
        except (*ERRORS, trio.TooSlowError) as error:
            if stream is not None:
                await trio.aclose_forcefully(stream)  # a failed handshake: the socket is ours
            raise connect_error(options, _why(error)) from error
        self.stream = stream
        self._outgoing.clear()
        self._aborted = False

    def reading(self) -> trio.CancelScope:
        self._read_scope = scope = trio.CancelScope()
        return scope

    async def read(self) -> bytes:
        """The next bytes. After a read that filled its buffer, the next few are tried
        at once without a checkpoint (``_READS_IN_A_ROW``); the others are trio's."""
        stream = self.stream
        assert stream is not None
        asked = self._asked  # see next_recv_size
        if self._reads_left and isinstance(stream, trio.SocketStream):
            fd = stream.socket.fileno()
            try:
                # trio's own receive_some tries the same non-blocking read first.
                data = os.read(fd, asked) if fd >= 0 else None
            except BlockingIOError:
                data = None
            if data is not None:
                self._reads_left = self._reads_left - 1 if len(data) == asked else 0
                self._asked = next_recv_size(asked, len(data))
                return data
        data = bytes(await stream.receive_some(asked))
        full = _EAGER_WRITES and len(data) == asked
        self._reads_left = _READS_IN_A_ROW - 1 if full else 0
        self._asked = next_recv_size(asked, len(data))
        return data

    def write(self, data: bytes) -> None:
        if data and not self._aborted:
            outgoing = self._outgoing
            outgoing += data
            if len(outgoing) >= EAGER_BYTES and not self._sending:
                self._write_eagerly()
            if outgoing:
                self._write_wanted.set()

    def has_room(self) -> bool:
        return self._aborted or len(self._outgoing) + self._in_flight <= self.options.max_send_buffer

    async def wait_for_room(self, deadline: float | None) -> bool:
        with trio.move_on_at(math.inf if deadline is None else deadline):
            if self._room.is_set():
                self._room = trio.Event()
            await self._room.wait()
            return True
        return False

    def _write_eagerly(self) -> None:
        """Send what the socket takes now, without awaiting: in a burst of ``submit``
        calls the writer task runs only after the last, so the server would see
        nothing until then. Only on a plain socket, and never while the writer task
        is sending, so the bytes keep their order."""
        stream = self.stream
        if not _EAGER_WRITES or not isinstance(stream, trio.SocketStream):
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
                self._write_wanted = trio.Event()
                await self._write_wanted.wait()
                continue
            data = bytes(self._outgoing)
            self._outgoing.clear()
            stream = self.stream
            assert stream is not None
            self._sending = True
            self._in_flight = len(data)
            try:
                await stream.send_all(data)
            except ERRORS as error:
                if stream is self.stream:
                    self._on_write_failed(f"write failed: {error}")
            finally:
                self._sending = False
                self._in_flight = 0
                self._room.set()

    def abort(self) -> None:
        self._aborted = True
        self._outgoing.clear()
        self._room.set()
        if self._read_scope is not None:
            self._read_scope.cancel()

    async def aclose(self) -> None:
        if self.stream is not None:
            await trio.aclose_forcefully(self.stream)

    # -- tasks --

    @contextlib.asynccontextmanager
    async def running(
        self, tasks: Mapping[str, Task], close: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        # The body's exception is carried out of the nursery and raised as itself: our
        # tasks never raise, so wrapping it in an exception group would only hide it.
        error: BaseException | None = None
        async with trio.open_nursery() as nursery:
            try:
                await nursery.start(self._run, tasks)
                yield
            except trio.Cancelled:
                raise
            except BaseException as caught:
                error = caught
            finally:
                with trio.CancelScope(shield=True):
                    await close()
        if error is not None:
            raise error

    async def _run(self, tasks: Mapping[str, Task], *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """The client's own tasks, in a scope that ``stop()`` cancels without touching the caller's."""
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    for run in tasks.values():
                        nursery.start_soon(run)  # named after their functions
                    nursery.start_soon(self._write_loop)
                    nursery.start_soon(self._timer_loop)
                    task_status.started()
        finally:
            await self.aclose()

    async def stop(self) -> None:
        self._scope.cancel()


def _why(error: BaseException) -> BaseException:
    """The error that says why a connect failed: trio's own often say nothing of it."""
    if isinstance(error, trio.TooSlowError):
        return TimeoutError()  # says nothing itself: connect_error names the timeout
    cause = error.__cause__
    if isinstance(error, trio.BrokenResourceError) and cause is not None:
        return cause  # a failed handshake (an unverified certificate, say), wrapped without a message
    attempts = getattr(cause, "exceptions", None)  # "all attempts to connect failed": a group of why
    if isinstance(error, OSError) and attempts:
        return OSError("; ".join(dict.fromkeys(str(attempt) for attempt in attempts)))
    return error


class _Wakeup:
    """``_base.Wakeup`` on a fresh ``trio.Event`` per wait."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, deadline: float | None = None) -> bool:
        with trio.move_on_at(math.inf if deadline is None else deadline):
            self._event = event = trio.Event()
            await event.wait()
            return True
        return False
