"""The other Python AMI libraries' own reading paths, fed from memory as a socket would feed them.

Each reader takes ``Segments`` (the bytes that arrive at once, in order, as a TCP
stack hands them over) and calls ``keep`` once for every message the library
makes of them. Nothing is re-implemented: each library's own code reads the bytes,
only its socket or transport is replaced by a stand-in that hands over the next
segment, and each library reads as much at a time as it does from a real socket.

- panoramisk: ``AMIProtocol.data_received`` for every segment (asyncio calls it so),
  with a stub transport and a stub manager; ``handle_message`` is wrapped to see
  every message, and still runs.
- pystrix: ``_MessageReader.run`` (the body of its reader thread, run here in the
  calling thread) over ``_SynchronisedSocket.read_message``, whose file is the
  ``io.BufferedReader`` that ``socket.makefile("rb")`` makes, over a stand-in raw
  socket. Its messages end in its queues, where its ``Manager`` takes them from.
- asterisk-ami: ``AMIClient.listen`` (the body of its reader thread) with a
  stand-in socket for ``recv``, at its default ``buffer_size``; its listeners'
  ``on_event`` and ``on_response`` see every message.
- astami: ``AsyncAMIClient._read_until(EOM)`` then ``AMIResponse.from_raw``,
  what its ``_read_response`` does for every message, over an
  ``asyncio.StreamReader`` fed one segment per turn of the event loop (as its
  transport does); astami reads responses only, and skips whatever else comes.

The end of the bytes is the end of the connection: each library sees it its own
way (an empty read, or for pystrix, which would loop on an empty read, a reset).
Past ``deadline`` the segments end early and ``Segments.timed_out`` is set, so
that a library that is quadratic in the size of one message can be stopped.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PEERS", "Peer", "Segments", "TimeBoxExceeded"]

Keep = Callable[[object], None]
_FAR = 3600.0  # seconds: timeouts of the libraries' own that must never fire here


class TimeBoxExceeded(Exception):
    """A reader was stopped at its deadline, having taken ``fed`` of ``total`` bytes."""

    def __init__(self, seconds: float, fed: int, total: int) -> None:
        super().__init__(f"stopped after {seconds:.1f} s, {fed / total:.0%} of the bytes read")
        self.seconds, self.fed, self.total = seconds, fed, total


class Segments:
    """Bytes as a socket hands them over: at most one segment, and at most ``limit`` bytes, a read."""

    def __init__(self, segments: Sequence[bytes], deadline: float | None = None) -> None:
        self._segments = segments
        self._next = 0
        self._rest = b""
        self._deadline = deadline
        self.total = sum(map(len, segments))
        self.fed = 0
        self.timed_out = False

    def take(self, limit: int) -> bytes:
        """The next bytes, or ``b""`` at the end (or past the deadline)."""
        if self._rest:
            piece, self._rest = self._rest[:limit], self._rest[limit:]
        elif self._next == len(self._segments):
            return b""
        elif self._deadline is not None and time.perf_counter() > self._deadline:
            self.timed_out = True
            return b""
        else:
            piece = self._segments[self._next]
            self._next += 1
            if len(piece) > limit:
                piece, self._rest = piece[:limit], piece[limit:]
        self.fed += len(piece)
        return piece


# -- panoramisk ------------------------------------------------------------------------


class _PanoramiskTransport:
    """What AMIProtocol needs of an asyncio transport when it only reads."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class _PanoramiskManager:
    """What AMIProtocol needs of its Manager (``factory``) while messages come in."""

    save_stream = None
    forgetable_actions = ("ping", "login")

    def __init__(self) -> None:
        self.awaiting_actions: list[object] = []

    def dispatch(self, event: object) -> list[str]:
        return []

    def connection_lost(self, exc: object) -> None:
        pass


def read_panoramisk(source: Segments, keep: Keep) -> None:
    from panoramisk.ami_protocol import AMIProtocol  # noqa: PLC0415 (optional: the bench extra)

    protocol = AMIProtocol()
    protocol.connection_made(_PanoramiskTransport())
    # What Manager.connection_made sets on its protocol.
    protocol.factory = _PanoramiskManager()
    protocol.encoding = "utf8"
    handle_message = protocol.handle_message

    def seen(message: object) -> None:
        keep(message)
        handle_message(message)

    protocol.handle_message = seen
    # asyncio's selector transport reads up to 256 KiB at a time.
    while data := source.take(256 * 1024):
        protocol.data_received(data)


# -- pystrix ---------------------------------------------------------------------------


class _RawSocket(io.RawIOBase):
    """The raw stream under ``socket.makefile("rb")``; the end of the bytes is a reset."""

    def __init__(self, source: Segments) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.take(len(buffer))
        if not data:
            raise ConnectionResetError("the end of the recorded bytes")
        buffer[: len(data)] = data
        return len(data)


class _Closable:
    def close(self) -> None:
        pass


class _PystrixManager:
    """What ``_MessageReader`` needs of pystrix's Manager."""

    _debug = False

    def __init__(self, connection: object) -> None:
        self._connection = connection

    def get_connection(self) -> object:
        return self._connection


def read_pystrix(source: Segments, keep: Keep) -> None:
    from pystrix.ami import ami  # noqa: PLC0415 (optional: the bench extra)

    # _SynchronisedSocket's state once _connect has connected; only the socket differs.
    connection = ami._SynchronisedSocket.__new__(ami._SynchronisedSocket)
    connection._timeout = _FAR
    connection._socket = _Closable()
    connection._socket_file = io.BufferedReader(_RawSocket(source))
    connection._socket_read_lock = threading.Lock()
    connection._socket_write_lock = threading.Lock()
    connection._connected = True
    connection._socket_file.readline()  # the greeting, which _connect reads
    reader = ami._MessageReader(_PystrixManager(connection), _FAR)
    reader.run()
    for message in [*reader.event_queue.queue, *reader.response_queue.queue]:
        keep(message)
    for message, _ in reader._served_requests.values():
        keep(message)


# -- asterisk-ami ----------------------------------------------------------------------


class _RecvSocket:
    def __init__(self, source: Segments) -> None:
        self._source = source

    def recv(self, size: int) -> bytes:
        return self._source.take(size)

    def close(self) -> None:
        pass


def read_asterisk_ami(source: Segments, keep: Keep) -> None:
    from asterisk.ami.client import AMIClient  # noqa: PLC0415 (optional: the bench extra)

    client = AMIClient(timeout=_FAR)
    errors: list[BaseException | None] = []
    client.add_listener(
        on_event=lambda source, event: keep(event),
        on_response=lambda source, response: keep(response),
        on_disconnect=lambda source, error: errors.append(error),
    )
    # What connect() sets before it starts listen() on its thread.
    client._socket = _RecvSocket(source)
    client.finished = threading.Event()
    client.listen()
    # listen() ends every connection with an exception, the generator's StopIteration
    # at the end of the bytes; any other is the library failing.
    failure = next((error for error in errors if not isinstance(error, StopIteration | None)), None)
    if failure is not None:
        raise failure


# -- astami ----------------------------------------------------------------------------


async def _read_astami(source: Segments, keep: Keep) -> None:
    from astami.client import EOL, EOM, AMIError, AMIResponse, AsyncAMIClient  # noqa: PLC0415 (optional: the bench extra)

    client = AsyncAMIClient(timeout=_FAR)
    reader = asyncio.StreamReader()
    client._reader = reader
    loop = asyncio.get_running_loop()

    def arrive() -> None:
        # One segment a turn of the loop, as the selector transport's data_received.
        data = source.take(256 * 1024)
        if data:
            reader.feed_data(data)
            loop.call_soon(arrive)
        else:
            reader.feed_eof()

    loop.call_soon(arrive)
    await client._read_until(EOL)  # the greeting, which connect() reads
    while True:
        try:
            raw = await client._read_until(EOM)
        except AMIError as error:
            if str(error) == "Connection closed by server":
                return
            raise
        keep(AMIResponse.from_raw(raw))


def read_astami(source: Segments, keep: Keep) -> None:
    asyncio.run(_read_astami(source, keep))


# -- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """One library: its distribution (for its version), the module it needs, its reader."""

    name: str
    module: str
    read: Callable[[Segments, Keep], None]

    def missing(self) -> str | None:
        """Why this library cannot run here, or None."""
        try:
            found = importlib.util.find_spec(self.module) is not None
        except ImportError:
            found = False
        return None if found else f"not installed (pip install {self.name}, or '.[bench]')"

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.name)
        except importlib.metadata.PackageNotFoundError:
            return None

    def run(self, segments: Sequence[bytes], keep: Keep, deadline: float | None = None) -> None:
        """Read ``segments``; raise ``TimeBoxExceeded`` if stopped at ``deadline``."""
        source = Segments(segments, deadline)
        started = time.perf_counter()
        try:
            self.read(source, keep)
        except Exception as error:
            # An early end in the middle of a message is an error to some libraries.
            if not source.timed_out:
                raise
            raise TimeBoxExceeded(time.perf_counter() - started, source.fed, source.total) from error
        if source.timed_out:
            raise TimeBoxExceeded(time.perf_counter() - started, source.fed, source.total)


PEERS: tuple[Peer, ...] = (
    Peer("panoramisk", "panoramisk.ami_protocol", read_panoramisk),
    Peer("pystrix", "pystrix.ami", read_pystrix),
    Peer("asterisk-ami", "asterisk.ami.client", read_asterisk_ami),
    Peer("astami", "astami.client", read_astami),
)
