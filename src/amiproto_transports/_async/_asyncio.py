"""The asyncio backend: a ``Protocol`` for reading, ``transport.write`` for writing.

The core's deadlines are served by one ``loop.call_at`` handle re-armed after
every change, so nothing polls. Bytes are queued in the same step as the core
made them and written once per loop iteration, or every ``EAGER_BYTES`` of a
burst (many actions sent at once share a write), so they go out whole and in
order, and cancelling a ``send_action`` can never cut one in half. The
transport's write buffer limits are set to ``max_send_buffer``: while it holds
more, the transport has paused the protocol, and ``has_room()`` is false.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from .._shared import EAGER_BYTES, RECV_SIZE, SMALL_RECV_SIZE, Options, connect_error, next_recv_size
from ._base import Task

__all__ = ["AsyncioBackend", "Stream"]


T = TypeVar("T")


class Stream(asyncio.Protocol):
    """The socket's chunks as they come, for the reader task.

    A ``StreamReader`` copies every chunk twice (into its buffer, then out again);
    at AMI event rates that costs more than the rest of the read path, so the
    reader takes the transport's own ``bytes`` from here. Reading pauses while
    more than ``RECV_SIZE`` bytes wait.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._error: OSError | None = None
        self._read_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self.sizes_reads = False  # the transport's max_size is set read by read
        self.writable = asyncio.Event()  # cleared while the transport holds too much unsent
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.sizes_reads:
            transport: Any = self.transport
            transport.max_size = next_recv_size(transport.max_size, len(data))
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > RECV_SIZE and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # callers waiting for room meet the lost connection instead
        self._eof = True
        if exc is not None:
            self._error = exc if isinstance(exc, OSError) else ConnectionResetError(str(exc))
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter = self._data_waiter
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
        data = self._chunks[0]
        if len(data) > RECV_SIZE:  # a transport that read more at once: cut (a copy)
            self._chunks[0] = data[RECV_SIZE:]
            data = data[:RECV_SIZE]
        else:
            self._chunks.popleft()
        self._buffered -= len(data)
        if self._read_paused and self._buffered <= RECV_SIZE and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()
        return data


def _itself(future: T) -> T:
    return future  # an asyncio Future is awaited as it is


class AsyncioBackend:
    """``Backend`` on asyncio (see ``_base.Backend`` for the contract)."""

    errors: tuple[type[BaseException], ...] = (OSError,)

    def __init__(
        self, options: Options, on_timer: Callable[[], None], on_write_failed: Callable[[str], None]
    ) -> None:
        # Write failures reach the reader through connection_lost: on_write_failed is not needed.
        self.options = options
        self._loop = loop = asyncio.get_running_loop()
        # The loop's clock, which its timers run on: time.monotonic itself when the
        # loop keeps asyncio's own (it is read once per action sent).
        self.now = time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        self.waiter: Callable[[], asyncio.Future[Any]] = loop.create_future
        self.result: Callable[[asyncio.Future[Any]], Awaitable[Any]] = _itself
        self._on_timer = on_timer
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.stream: Stream | None = None
        self._transport: asyncio.Transport | None = None
        self._outgoing = bytearray()
        self._flush_scheduled = False
        self._aborted = True  # until open()
        self._tasks: list[asyncio.Task[None]] = []

    def wakeup(self) -> _Wakeup:
        return _Wakeup(self._loop)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    # -- the timer --

    def arm(self, deadline: float | None) -> None:
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self._loop.call_at(deadline, self._fire)

    def arm_before(self, deadline: float) -> None:
        if self._timer_at is None or deadline < self._timer_at:
            self.arm(deadline)

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        self._on_timer()

    # -- the connection --

    async def open(self) -> None:
        options = self.options
        loop = self._loop
        try:
            _, stream = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Stream(loop),
                    options.host,
                    options.port,
                    ssl=options.ssl,
                    server_hostname=(options.server_hostname or options.host) if options.ssl else None,
                ),
                options.timeout,
            )
        except (OSError, asyncio.TimeoutError) as error:
            raise connect_error(options, error) from error
        self.stream = stream
        self._transport = transport = stream.transport
        assert transport is not None
        # asyncio has no public read size: its socket transports read ``max_size`` bytes
        # at a time (256 KiB), an attribute of theirs since Python 3.4. Where it is, the
        # stream sets it read by read (next_recv_size), at most RECV_SIZE (see there why
        # no more); elsewhere Stream.read cuts the chunks.
        if isinstance(getattr(transport, "max_size", None), int):
            transport.max_size = SMALL_RECV_SIZE  # type: ignore[attr-defined]
            stream.sizes_reads = True
        # Paused above the bound and resumed at once below it: ``has_room`` is the flag.
        limit = options.max_send_buffer
        transport.set_write_buffer_limits(high=limit, low=limit)
        self._outgoing.clear()
        self._aborted = False

    def reading(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()  # abort() ends the stream itself

    def read(self) -> Awaitable[bytes]:
        assert self.stream is not None
        return self.stream.read()

    def write(self, data: bytes) -> None:
        """Queue bytes in core order; one write per loop iteration sends them all, or
        one per ``EAGER_BYTES`` in a burst, so that the server starts on the first
        actions while the caller makes the next ones."""
        if data and not self._aborted:
            self._outgoing += data
            if len(self._outgoing) >= EAGER_BYTES:
                self._write_out()
            elif not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush)

    def has_room(self) -> bool:
        # Our own buffer holds less than EAGER_BYTES plus one action: written at once past it.
        stream = self.stream
        return self._aborted or stream is None or stream.writable.is_set()

    async def wait_for_room(self, deadline: float | None) -> bool:
        stream = self.stream
        if stream is None:
            return True
        remaining = None if deadline is None else deadline - self._loop.time()
        if remaining is not None and remaining <= 0:
            return False
        try:
            await asyncio.wait_for(stream.writable.wait(), remaining)
        except asyncio.TimeoutError:
            return False
        return True

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._write_out()

    def _write_out(self) -> None:
        if self._outgoing and self._transport is not None and not self._aborted:
            self._transport.write(bytes(self._outgoing))
        self._outgoing.clear()

    def abort(self) -> None:
        self._aborted = True
        self._outgoing.clear()
        if self._transport is not None:
            self._transport.abort()

    async def aclose(self) -> None:
        self.abort()  # the transport's buffer goes with it

    # -- tasks --

    @contextlib.asynccontextmanager
    async def running(
        self, tasks: Mapping[str, Task], close: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        loop = self._loop
        self._tasks = [loop.create_task(run(), name=name) for name, run in tasks.items()]
        try:
            yield
        finally:
            await close()

    async def stop(self) -> None:
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        for task in others:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _Wakeup:
    """``_base.Wakeup`` on an ``asyncio.Event``."""

    __slots__ = ("_event", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, deadline: float | None = None) -> bool:
        event = self._event
        event.clear()
        if deadline is None:
            await event.wait()
            return True
        remaining = deadline - self._loop.time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except asyncio.TimeoutError:
            return False
        return True
