"""The sync client's send side: one buffer in core order, a writer thread, and callers'
own non-blocking sends.

Bytes join ``buffer`` under the client's core lock, in the order the core made
them, and whoever sends takes the whole buffer and the turn (``writing``); so
the wire order is the core's order and every action goes out whole. A caller
never makes a system call per action: actions sent in a burst, from one thread
or many, leave in a few large writes. The caller keeps the GIL meanwhile
(handing it to and fro with the reader on every write is what made one
thread's burst of ``submit`` slow), and sends the buffer itself, without
blocking, once ``eager_bytes`` are queued (see ``take_eager_chunk``).

The unsent bytes (the buffer and the chunk being sent) are bounded: a caller
queues an action only while at most ``high_water`` are unsent, and waits for
room before the core even sees the action, until its deadline
(``wait_for_room_locked``); so a refused action leaves nothing behind. Over
TLS, whose ``send()`` takes no flags, callers leave all writing to the writer
thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from ._tls_socket import LockedTLS

__all__ = ["Writer"]

_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)
_CALLER_TURNS = 4  # sends a caller makes at most in one send_eagerly, its own first


class Writer:
    """The buffer and the thread that empties it. Methods named ``*_locked`` are called
    under the client's core lock (``lock``), the one that orders the core's bytes."""

    def __init__(
        self,
        lock: threading.Lock,
        closing: threading.Event,
        on_broken: Callable[[str], None],
        *,
        tls: bool,
        eager_bytes: int,
        high_water: int,
    ) -> None:
        self.buffer = bytearray()  # bytes in core order, not yet on the socket; see high_water
        self.closing = closing
        self.on_broken = on_broken  # a write failed on the current socket: end the connection
        self.eager_bytes = eager_bytes
        self.high_water = high_water
        self.lock = lock  # taken directly on a caller's send: a Condition's ``with`` is two calls
        self.wake = threading.Condition(lock)  # only the writer thread waits on it
        self.room = threading.Condition(lock)  # callers waiting for buffer room
        self.room_waiters = 0  # guarded by the lock: callers in room.wait(); none, no notify
        self.idle = False  # guarded by the lock: the writer thread waits on ``wake``
        self.writing = False  # guarded by the lock: a thread sends bytes taken from the buffer
        self.in_flight = 0  # guarded by the lock: bytes taken from the buffer and not yet sent
        self.eager = not tls and _DONTWAIT != 0
        self.sock: socket.socket | None = None  # the socket written to; replaced on reconnect
        self.tls: LockedTLS | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="amiproto-writer", daemon=True)
        self.thread.start()

    def use_locked(self, sock: socket.socket, tls: LockedTLS | None, first: bytes = b"") -> None:
        """A new connection: write to ``sock`` from now on, starting with ``first``; what
        the old one left unsent belongs to actions that failed with it, and never goes."""
        self.sock, self.tls = sock, tls
        self.buffer[:] = first
        self.room.notify_all()

    def unsent_locked(self) -> int:
        """Bytes queued or being sent, not yet taken by the socket."""
        return len(self.buffer) + self.in_flight

    def wait_for_room_locked(self, deadline: float | None) -> bool:
        """Wait while more than ``high_water`` bytes are unsent; False if ``deadline``
        (on ``time.monotonic``) passed first. Returns at once when closing."""
        while len(self.buffer) + self.in_flight > self.high_water and not self.closing.is_set():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self.room_waiters += 1
            try:
                self.room.wait(remaining)
            finally:
                self.room_waiters -= 1
        return True

    def queue_locked(self, data: bytes) -> None:
        """Append bytes in core order and wake the writer if it sleeps. Never waits:
        callers wait for room first, and the reader must never wait (the writer may be
        stuck until the server reads, and the server until we do)."""
        buffer = self.buffer
        buffer += data
        # While a caller sends, it wakes the writer itself if it leaves bytes behind.
        if self.idle and buffer and not self.writing:
            self.idle = False
            self.wake.notify()

    def queue_for_caller_locked(self, data: bytes, at_least: int) -> tuple[socket.socket, bytes] | None:
        """Append bytes in core order; return the queued bytes for the caller to send
        itself (``send_eagerly``) once at least ``at_least`` are queued and nobody is
        writing, else None, having woken the writer for them if it sleeps.

        A caller about to wait for its answer sends its action itself (``at_least=1``):
        handing each action to the writer thread cost two thread switches."""
        self.buffer += data
        chunk = self.take_eager_chunk_locked(at_least)
        if chunk is None:
            self.queue_locked(b"")
        return chunk

    def kick(self) -> None:
        """From the reader: wake the writer for what was joined to the buffer."""
        with self.wake:
            self.queue_locked(b"")

    def take_eager_chunk_locked(self, at_least: int | None = None) -> tuple[socket.socket, bytes] | None:
        """The queued bytes for the caller to send itself, when a burst has queued
        ``at_least`` (default ``eager_bytes``) and nobody is writing; else None.

        The writer thread would get the GIL only once the caller blocks, so the
        server would see nothing of a burst until its end. Sent by the caller, the
        first actions reach the server (another process) while the caller goes on.
        """
        buffer = self.buffer
        sock = self.sock
        wanted = self.eager_bytes if at_least is None else max(1, at_least)
        if len(buffer) < wanted or self.writing or not self.eager or sock is None:
            return None
        self.writing = True
        chunk = bytes(buffer)
        buffer.clear()
        self.in_flight = len(chunk)
        return sock, chunk

    def send_eagerly(self, sock: socket.socket, chunk: bytes) -> None:
        """Send what the socket takes at once; the writer thread sends the rest. Bytes
        other callers queued meanwhile go too, a few times over, while the socket takes
        all: their callers found this one writing and left them to it."""
        for turn in range(_CALLER_TURNS):
            try:
                sent = sock.send(chunk, _DONTWAIT)
            except OSError:
                sent = 0  # full, or broken: the writer thread meets it again and reports it
            with self.lock:
                # Still first: the rest came after it. Unless a reconnect has replaced the
                # socket meanwhile: those actions failed with the old one, and never go again.
                if sent < len(chunk) and sock is self.sock:
                    self.buffer[0:0] = chunk[sent:]
                if sent and self.room_waiters:
                    self.room.notify_all()
                buffer = self.buffer
                if sent == len(chunk) and buffer and sock is self.sock and turn + 1 < _CALLER_TURNS:
                    chunk = bytes(buffer)  # still writing: the turn stays with this caller
                    buffer.clear()
                    self.in_flight = len(chunk)
                    continue
                self.writing = False
                self.in_flight = 0
                if self.idle and buffer:
                    self.idle = False
                    self.wake.notify()
                return

    def run(self) -> None:
        """The writer thread: whole buffers in core order, until closing with nothing
        left; a caller writes only when it takes the turn (``writing``) from it."""
        cond = self.wake
        buffer = self.buffer
        while True:
            with cond:
                while (not buffer or self.writing) and not self.closing.is_set():
                    self.idle = True
                    cond.wait()
                self.idle = False
                if not buffer or self.writing:
                    return  # closing, and nothing left to send (or a caller sends it)
                self.writing = True
                chunk = bytes(buffer)
                buffer.clear()
                self.in_flight = len(chunk)
                sock, tls = self.sock, self.tls
            try:
                assert sock is not None
                if tls is not None:
                    tls.sendall(chunk)
                else:
                    sock.sendall(chunk)
            except OSError as error:
                # Not a socket a reconnect has replaced already, nor one close() aborted.
                if sock is self.sock and not self.closing.is_set():
                    self.on_broken(f"write failed: {error}")
            finally:
                with cond:
                    self.writing = False
                    self.in_flight = 0
                    if self.room_waiters:
                        self.room.notify_all()

    def stop(self) -> None:
        """Closing: wake the writer thread and every caller waiting for room."""
        with self.wake:
            self.wake.notify_all()
            self.room.notify_all()

    def join(self, timeout: float) -> None:
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
