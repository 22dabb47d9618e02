"""Running the sans-IO sessions on real sockets: one thread, an asyncio task, or a trio task.

Each runner does the same few things: accept a connection and make a
``Session``; feed it what the socket reads; write what ``data_to_send`` gives,
in large batches, as fast as the socket takes it; advance the shared ``World``
at its deadlines; close a session's socket once it is ``closing`` and flushed.

One connection never harms the others: an exception out of a session (a bug,
since a session answers bad input itself) is logged to the ``amiproto.simulator``
logger and closes that connection only; the runner goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ._session import Session
from ._world import World

__all__ = [
    "ACCEPT_BACKOFF",
    "IDLE_WAKE",
    "pieces",
    "READ_SIZE",
    "AsyncioServer",
    "ThreadServer",
    "addr",
    "report_closed",
    "report_crash",
    "timeout_for",
]

READ_SIZE = 65536
IDLE_WAKE = 0.05  # the longest a runner sleeps without looking at the world's timers
ACCEPT_BACKOFF = 0.1
"""Seconds the thread runner stops accepting after accept() failed for want of resources
(EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener stays readable, so it would otherwise spin
at full CPU. Waiting clients stay in the backlog. asyncio (1 s) and trio (0.1 s) pause so
themselves."""
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

Log = Callable[[str], None]

logger = logging.getLogger("amiproto.simulator")


def report_crash(log: Log | None, session: Session | None, where: str) -> None:
    """Log the exception being handled; the caller closes that one connection."""
    remote = session.remote if session is not None else ("?", 0)
    logger.exception("simulator: connection from %s:%s failed in %s; closing it", remote[0], remote[1], where)
    if log is not None:
        log(f"connection from {remote[0]}:{remote[1]} closed: internal error in {where}")


def report_closed(log: Log | None, session: Session) -> None:
    """Say why the simulator closed a connection by itself (a limit), if it did."""
    if log is not None and session.close_reason is not None:
        log(f"connection from {session.remote[0]}:{session.remote[1]} closed: {session.close_reason}")


def pieces(world: World, data: bytes) -> list[bytes]:
    """``data`` as the writes that send it: one write, or with ``write_each_message``
    one per message, as Asterisk writes each answer and event as it is made (a
    client then reads many small segments rather than one large one)."""
    if not world.write_each_message:
        return [data]
    parts = data.split(b"\r\n\r\n")
    out = [part + b"\r\n\r\n" for part in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])  # the start of a message cut at the batch's end
    return out


def timeout_for(world: World, now: float) -> float:
    deadline = world.next_deadline()
    if deadline is None:
        return IDLE_WAKE
    return min(max(deadline - now, 0.0), IDLE_WAKE)


def addr(address: Any) -> tuple[str, int]:
    return (str(address[0]), int(address[1])) if isinstance(address, tuple) else ("127.0.0.1", 0)


class _SocketConn:
    __slots__ = ("out", "session", "sock")

    def __init__(self, sock: socket.socket, session: Session) -> None:
        self.sock = sock
        self.session = session
        self.out: list[bytes] = []  # the writes still to make, the first maybe begun


class ThreadServer:
    """All connections of one simulator served by one background thread with ``selectors``."""

    def __init__(self, world: World, host: str, port: int, log: Log | None = None) -> None:
        self.world = world
        self.log = log
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.setblocking(False)
        self.address = addr(self.listener.getsockname())
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._conns: dict[socket.socket, _SocketConn] = {}
        self._accept_again: float | None = None  # when a paused listener is watched again
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"ami-simulator:{self.address[1]}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection, and join the thread; idempotent."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stopping:
                now = time.monotonic()
                timeout = timeout_for(self.world, now)
                if self._accept_again is not None:
                    if now >= self._accept_again:
                        self._accept_again = None
                        self._selector.register(self.listener, selectors.EVENT_READ, None)
                    else:
                        timeout = min(timeout, self._accept_again - now)
                for key, _ in self._selector.select(timeout):
                    sock = key.fileobj
                    if sock is self.listener:
                        self._accept()
                    elif sock is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    else:
                        assert isinstance(sock, socket.socket)
                        conn = self._conns.get(sock)
                        if conn is not None:
                            self._contained(self._read, conn, now)
                now = time.monotonic()
                try:
                    self.world.advance(now)
                except Exception:
                    report_crash(self.log, None, "the timers")
                for conn in list(self._conns.values()):
                    self._contained(self._write, conn, now)
        finally:
            for conn in list(self._conns.values()):
                self._close(conn)
            self._selector.close()
            self.listener.close()
            self._wake_r.close()
            self._wake_w.close()

    def _contained(self, step: Callable[[_SocketConn, float], None], conn: _SocketConn, now: float) -> None:
        try:
            step(conn, now)
        except Exception:
            report_crash(self.log, conn.session, step.__name__.strip("_"))
            self._close(conn)

    def _accept(self) -> None:
        try:
            sock, remote = self.listener.accept()
        except OSError as error:
            if error.errno in _ACCEPT_CAPACITY_ERRNOS:
                self._selector.unregister(self.listener)
                self._accept_again = time.monotonic() + ACCEPT_BACKOFF
                logger.warning("simulator: accept() failed (%s); pausing %s s", error, ACCEPT_BACKOFF)
            return
        sock.setblocking(False)
        # As the asyncio and trio runners (whose streams set it by default): answers
        # leave at once, not held by Nagle until the client's delayed ACK.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            session = Session(self.world, time.monotonic(), local=self.address, remote=addr(remote))
        except Exception:
            report_crash(self.log, None, "accept")
            sock.close()
            return
        conn = _SocketConn(sock, session)
        self._conns[sock] = conn
        self._selector.register(sock, selectors.EVENT_READ, None)
        if self.log is not None:
            self.log(f"connection from {remote[0]}:{remote[1]}")

    def _read(self, conn: _SocketConn, now: float) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        conn.session.receive_data(data, time.monotonic())
        if not data:
            # The client is gone; nothing more can be delivered.
            self._close(conn)

    def _write(self, conn: _SocketConn, now: float) -> None:
        session = conn.session
        if conn.sock not in self._conns:
            return
        if session.abandoned:
            self._close(conn)  # what the socket has not taken is dropped with it
            return
        out = conn.out
        while True:
            if not out:
                data = session.data_to_send(now)
                if not data:
                    break
                out.extend(reversed(pieces(self.world, data)))  # popped from the end
            try:
                sent = conn.sock.send(out[-1])
            except BlockingIOError:
                break
            except OSError:
                self._close(conn)
                return
            if sent < len(out[-1]):
                out[-1] = out[-1][sent:]
                break
            out.pop()
        if not conn.out and session.closing:
            self._close(conn)
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        if self._selector.get_key(conn.sock).events != wanted:
            self._selector.modify(conn.sock, wanted)

    def _close(self, conn: _SocketConn) -> None:
        if self._conns.pop(conn.sock, None) is None:
            return
        report_closed(self.log, conn.session)
        conn.session.connection_lost()
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
        conn.sock.close()


class _AsyncioProtocol(asyncio.Protocol):
    def __init__(self, server: AsyncioServer) -> None:
        self.server = server
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        remote = addr(transport.get_extra_info("peername"))
        self.session = Session(self.server.world, time.monotonic(), local=self.server.address, remote=remote)
        self.server.protocols.add(self)
        if self.server.log is not None:
            self.server.log(f"connection from {remote[0]}:{remote[1]}")
        self.flush()

    def data_received(self, data: bytes) -> None:
        assert self.session is not None
        try:
            self.session.receive_data(data, time.monotonic())
        except Exception:
            self.crashed("read")
            return
        self.server.flush_all()

    def eof_received(self) -> bool:
        if self.session is not None:
            try:
                self.session.receive_data(b"", time.monotonic())
            except Exception:
                self.crashed("read")
        return False

    def crashed(self, where: str) -> None:
        report_crash(self.server.log, self.session, where)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.protocols.discard(self)
        if self.session is not None:
            report_closed(self.server.log, self.session)
            self.session.connection_lost()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.flush()

    def flush(self) -> None:
        try:
            self._flush()
        except Exception:
            self.crashed("write")

    def _flush(self) -> None:
        transport, session = self.transport, self.session
        if transport is None or session is None or transport.is_closing():
            return
        if session.abandoned:
            transport.abort()  # close() would wait for the client to read the buffer
            return
        now = time.monotonic()
        while not self.paused:
            data = session.data_to_send(now)
            if not data:
                break
            for piece in pieces(self.server.world, data):
                transport.write(piece)
        if session.closing and not session.wants_write(now):
            transport.close()
        elif not self.paused and session.wants_write(now):
            # Let other connections and the reader run between big batches.
            asyncio.get_running_loop().call_soon(self.flush)


class AsyncioServer:
    """The simulator as asyncio tasks: a listening server and a timer task."""

    def __init__(self, world: World, log: Log | None = None) -> None:
        self.world = world
        self.log = log
        self.protocols: set[_AsyncioProtocol] = set()
        self.address = ("127.0.0.1", 0)
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    def flush_all(self) -> None:
        try:
            self.world.dispatch()
        except Exception:
            report_crash(self.log, None, "event delivery")
        for protocol in list(self.protocols):
            protocol.flush()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _AsyncioProtocol(self), host, port)
        self.address = addr(self._server.sockets[0].getsockname())
        self._ticker = asyncio.create_task(self._tick())
        return self.address

    async def _tick(self) -> None:
        while True:
            now = time.monotonic()
            try:
                self.world.advance(now)
            except Exception:
                report_crash(self.log, None, "the timers")
            self.flush_all()
            await asyncio.sleep(timeout_for(self.world, time.monotonic()))

    def close(self) -> None:
        """Stop listening and drop every connection; safe to call twice."""
        if self._server is not None:
            self._server.close()
        if self._ticker is not None:
            self._ticker.cancel()
        for protocol in list(self.protocols):
            if protocol.transport is not None:
                protocol.transport.abort()

    async def aclose(self) -> None:
        self.close()
        if self._ticker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            await self._server.wait_closed()
