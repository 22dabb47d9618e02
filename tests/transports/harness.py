"""One async face over the three clients, and a TLS-terminating proxy for the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult
from amiproto.live import PBX
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client
from amiproto_transports._shared import AsyncClient, Callback, CallbackKey, SyncClient, Unregister
from amiproto_transports._tls_socket import LockedTLS

# Enough worker threads that 200 blocking send_action calls really run at once.
_LIMITER = anyio.CapacityLimiter(256)


class Face:
    """The async surface the tests use; ``native`` is the client under test."""

    def __init__(self, kind: str, native: SyncClient | AsyncClient) -> None:
        self.kind = kind
        self.native = native

    def register_callback(self, key: CallbackKey, callback: Callback) -> Unregister:
        return self.native.register_callback(key, callback)

    def register_live_callback(self, kind: Any, callback: Callback) -> Unregister:
        return self.native.register_live_callback(kind, callback)

    @property
    def live(self) -> PBX:
        return self.native.live

    def read_live(self, read: Callable[[PBX], Any]) -> Any:
        """``read(client.live)`` as one consistent picture: under the sync client's
        ``live_lock``; the async clients change it only between two awaits."""
        native = self.native
        if isinstance(native, sync_client.Client):
            with native.live_lock:
                return read(native.live)
        return read(native.live)

    def is_connected(self) -> bool:
        return self.native.is_connected()

    @property
    def dropped_events(self) -> int:
        return self.native.dropped_events

    async def send_action(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> ActionCompleted:
        native = self.native
        if isinstance(native, sync_client.Client):
            send = partial(native.send_action, action, timeout, wait_for_result=wait_for_result)
            return await anyio.to_thread.run_sync(send, limiter=_LIMITER)
        assert isinstance(native, (aio_client.Client, trio_client.Client))
        return await native.send_action(action, timeout, wait_for_result=wait_for_result)

    async def submit_all(
        self, actions: list[Action], timeout: float | None = None, *, wait_for_result: bool = False
    ) -> list[ActionCompleted | amiproto.AMIError]:
        """``submit()`` every action in one burst from one thread or task, then collect
        each result or the AMIError it raised, in order."""
        native = self.native
        results: list[ActionCompleted | amiproto.AMIError] = []
        if isinstance(native, sync_client.Client):

            def run() -> None:
                futures = [
                    native.submit(action, timeout, wait_for_result=wait_for_result) for action in actions
                ]
                for future in futures:
                    try:
                        results.append(future.result(5.0))
                    except amiproto.AMIError as error:
                        results.append(error)

            await anyio.to_thread.run_sync(run)
        elif isinstance(native, aio_client.Client):
            futures = [native.submit(action, timeout, wait_for_result=wait_for_result) for action in actions]
            for outcome in await asyncio.gather(*futures, return_exceptions=True):
                assert isinstance(outcome, (ActionCompleted, amiproto.AMIError)), outcome
                results.append(outcome)
        else:
            assert isinstance(native, trio_client.Client)
            pending = [native.submit(action, timeout, wait_for_result=wait_for_result) for action in actions]
            for answer in pending:
                try:
                    results.append(await answer.get())
                except amiproto.AMIError as error:
                    results.append(error)
        return results

    async def login(
        self, username: str, secret: str, auth: str = "md5", timeout: float | None = None
    ) -> LoginResult:
        native = self.native
        if isinstance(native, sync_client.Client):
            login = partial(native.login, username, secret, auth=auth, timeout=timeout)
            return await anyio.to_thread.run_sync(login)
        assert isinstance(native, (aio_client.Client, trio_client.Client))
        return await native.login(username, secret, auth=auth, timeout=timeout)

    async def collect_events(self, count: int, timeout: float, start: Callable[[], Any]) -> list[Event]:
        """Open an events() iterator, call ``start`` (it may return an awaitable), and read
        ``count`` events or until ``timeout`` seconds pass without one."""
        native = self.native
        got: list[Event] = []
        if isinstance(native, sync_client.Client):
            iterator = native.events(timeout=timeout)

            def read() -> None:
                for event in iterator:
                    got.append(event)
                    if len(got) >= count:
                        iterator.close()
                        return

            async with anyio.create_task_group() as group:
                group.start_soon(partial(anyio.to_thread.run_sync, read))
                started = start()
                if started is not None:
                    await started
            return got
        assert isinstance(native, (aio_client.Client, trio_client.Client))
        events = native.events(timeout=timeout)

        async def read_async() -> None:
            async for event in events:
                got.append(event)
                if len(got) >= count:
                    break
            await events.aclose()

        # Read while ``start`` runs, as the sync client's thread does: an iterator that
        # ends too early must be seen to end, not be handed everything at once later.
        async with anyio.create_task_group() as group:
            group.start_soon(read_async)
            started = start()
            if started is not None:
                await started
        return got

    def unsent_bytes(self) -> int:
        """Bytes of actions the client holds that the socket has not taken yet."""
        native = self.native
        if isinstance(native, sync_client.Client):
            writer = native._writer
            with writer.wake:
                return writer.unsent_locked()
        assert isinstance(native, (aio_client.Client, trio_client.Client))
        backend: Any = native._backend  # each backend's own buffers
        if isinstance(native, aio_client.Client):
            transport = backend._transport
            queued = 0 if transport is None or transport.is_closing() else transport.get_write_buffer_size()
            return len(backend._outgoing) + queued
        return len(backend._outgoing) + int(backend._in_flight)

    async def wait_closed(self, timeout: float) -> bool:
        """The client's ``wait_closed()``, given at most ``timeout`` seconds; True when it returned."""
        native = self.native
        if isinstance(native, sync_client.Client):
            return await anyio.to_thread.run_sync(native.wait_closed, timeout)
        assert isinstance(native, (aio_client.Client, trio_client.Client))
        with anyio.move_on_after(timeout):
            await native.wait_closed()
            return True
        return False

    async def close(self) -> None:
        native = self.native
        if isinstance(native, sync_client.Client):
            await anyio.to_thread.run_sync(native.close)
        else:
            assert isinstance(native, (aio_client.Client, trio_client.Client))
            await native.close()


BODY_LIMIT = 15.0  # seconds an async client's test may run, under the tests' own 20 s mark


@contextlib.asynccontextmanager
async def open_client(kind: str, host: str | None, port: int | None, **options: Any) -> AsyncIterator[Face]:
    """Connect the client of ``kind``; closes it on exit. None: from the environment."""
    options.setdefault("timeout", 5.0)
    if kind == "sync":
        client = await anyio.to_thread.run_sync(partial(sync_client.connect, host, port, **options))
        try:
            yield Face(kind, client)
        finally:
            await anyio.to_thread.run_sync(client.close)
    elif kind == "asyncio":
        with anyio.fail_after(BODY_LIMIT):
            async with aio_client.connect(host, port, **options) as aio:
                yield Face(kind, aio)
    else:
        # pytest-timeout's signal lands inside trio's run loop and does not end a hung
        # test: this deadline does, the client closed on the way out.
        with anyio.fail_after(BODY_LIMIT):
            async with trio_client.connect(host, port, **options) as trio_native:
                yield Face(kind, trio_native)


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)


async def expect_error(error: type[BaseException], coroutine: Any) -> BaseException:
    try:
        await coroutine
    except error as caught:
        return caught
    raise AssertionError(f"{error.__name__} was not raised")


GREETING = b"Asterisk Call Manager/11.0.0\r\n"


def accept_login(sock: socket.socket) -> None:
    """Read one action (a plain login) and accept it."""
    action_id = read_action(sock)["actionid"]
    answer = f"Response: Success\r\nActionID: {action_id}\r\nMessage: Authentication accepted\r\n\r\n"
    sock.sendall(answer.encode())


def refuse_login(sock: socket.socket) -> None:
    """Read one action (a plain login) and refuse it."""
    action_id = read_action(sock)["actionid"]
    answer = f"Response: Error\r\nActionID: {action_id}\r\nMessage: Authentication failed\r\n\r\n"
    sock.sendall(answer.encode())


def read_action(sock: socket.socket) -> dict[str, str]:
    """Read one action from ``sock`` (blocking); its headers, names lowered."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    return {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in head.split("\r\n"))
    }


def scripted_server(
    script: Callable[[socket.socket], None], *, receive_buffer: int | None = None
) -> contextlib.AbstractContextManager[tuple[str, int]]:
    """A one-connection AMI server on loopback: it greets, runs ``script`` on the socket,
    then holds the connection open until the block ends. ``receive_buffer`` shrinks
    the socket's receive buffer (set before listen, so that the window stays small)."""
    return scripted_connections(script, receive_buffer=receive_buffer)


@contextlib.contextmanager
def scripted_connections(
    *scripts: Callable[[socket.socket], None], receive_buffer: int | None = None
) -> Iterator[tuple[str, int]]:
    """``scripted_server`` for a client that reconnects: one script per connection, in
    turn. Each connection but the last is reset when its script returns, as a lost
    network would leave it; the last is held open until the block ends."""
    listener = socket.socket()
    if receive_buffer is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    listener.bind(("127.0.0.1", 0))
    listener.listen(len(scripts))
    listener.settimeout(5.0)
    stop = threading.Event()

    def serve() -> None:
        for number, script in enumerate(scripts, 1):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5.0)
                with contextlib.suppress(OSError):
                    conn.sendall(GREETING)
                    script(conn)
                if number < len(scripts):
                    # Reset on close: unread bytes are not waited for.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    stop.wait(10.0)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join(5.0)
        listener.close()


@contextlib.contextmanager
def tls_proxy(target: tuple[str, int], context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    """Accept TLS on loopback and relay the plain bytes to ``target`` (the simulator has no TLS)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def pump_up(source: LockedTLS, sink: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed under select()
            while True:
                select.select([source.sock], [], [], 1.0)
                data = source.recv()
                if data == b"":
                    break
                if data is not None:
                    sink.sendall(data)
        shut(source.sock, sink)

    def pump_down(source: socket.socket, sink: LockedTLS) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        shut(source, sink.sock)

    def shut(*socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(5.0)
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            tls.settimeout(None)
            upstream = socket.create_connection(target, timeout=5.0)
            upstream.settimeout(None)
            # One SSL object, two threads: one call at a time, as in the sync client.
            locked = LockedTLS(tls, 65536)
            for pumping in (partial(pump_up, locked, upstream), partial(pump_down, upstream, locked)):
                thread = threading.Thread(target=pumping, daemon=True)
                thread.start()
                threads.append(thread)

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        acceptor.join(2.0)
        listener.close()
        deadline = time.monotonic() + 2.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class GatedProxy:
    """A loopback TCP relay to ``target`` that the test can cut: ``cut()`` drops every
    connection and refuses new ones (accepted, then closed at once) until ``open()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.accepted = 0
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._live: list[socket.socket] = []
        self._all: list[socket.socket] = []  # closed at the end, once no pump uses them
        self._threads: list[threading.Thread] = []

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            socks, self._live = self._live, []
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def open(self) -> None:
        self._open.set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if not self._open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target, timeout=5.0)
            with self._lock:
                self._live += [client, upstream]
                self._all += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed under select()
            while not self._stop.is_set():
                if not select.select([source], [], [], 0.5)[0]:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> GatedProxy:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self.cut()
        self.listener.close()
        deadline = time.monotonic() + 2.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for sock in self._all:
            sock.close()


__all__ = [
    "GREETING",
    "GatedProxy",
    "accept_login",
    "refuse_login",
    "Face",
    "amiproto",
    "expect_error",
    "open_client",
    "read_action",
    "scripted_connections",
    "scripted_server",
    "tls_proxy",
    "wait_until",
]
