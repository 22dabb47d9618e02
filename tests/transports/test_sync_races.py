"""Races of the sync client's threads, each widened on purpose so that it shows every time.

Found in review: each test failed before its fix (named in its docstring)."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pytest

import amiproto
from amiproto import Action
from amiproto_transports import sync as sync_client
from amiproto_transports._shared import Backoff
from amiproto_transports.simulator import Simulator

from .harness import GREETING, scripted_connections, scripted_server

pytestmark = pytest.mark.timeout(60)


def counting_server(received: list[int], done: threading.Event) -> Callable[[socket.socket], None]:
    def script(sock: socket.socket) -> None:
        sock.settimeout(0.05)
        while not done.is_set():
            try:
                data = sock.recv(1 << 20)
            except TimeoutError:
                continue
            if not data:
                return
            received[0] += len(data)

    return script


class SlowEagerSend:
    """A socket whose first send runs ``meanwhile()`` first: other threads' turn."""

    def __init__(self, sock: socket.socket, meanwhile: Callable[[], object]) -> None:
        self.sock = sock
        self.meanwhile: Callable[[], object] | None = meanwhile

    def send(self, data: bytes, flags: int = 0) -> int:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self.sock.send(data, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_callers_waiting_for_room_never_take_the_writers_wake_up() -> None:
    """Callers waiting for buffer room and the writer once shared one Condition, and a
    notify() meant for the writer could wake a caller: the writer then slept for ever."""
    received = [0]
    done = threading.Event()
    threads: list[threading.Thread] = []
    with scripted_server(counting_server(received, done)) as address:
        client = sync_client.connect(*address, timeout=5)
        native: Any = client

        def submit_big(n: int) -> None:
            client.submit(Action("UserEvent", UserEvent=f"Big{n}", Data="y" * 600_000), timeout=30)

        def meanwhile() -> None:  # while the first caller is in its eager send
            for n in range(3):
                thread = threading.Thread(target=submit_big, args=(n,), daemon=True)
                thread.start()
                threads.append(thread)
                time.sleep(0.2)

        native._writer.sock = SlowEagerSend(native._writer.sock, meanwhile)
        client.submit(Action("UserEvent", UserEvent="First", Data="x" * 3000))
        for thread in threads:
            thread.join(8.0)
        stuck = [thread for thread in threads if thread.is_alive()]
        native._writer.sock = native._writer.sock.sock
        done.set()
        client._shutdown()
    assert not stuck


def test_a_submit_during_the_readers_deadline_update_is_not_slept_past(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader published the deadline it sleeps until after releasing the core lock:
    an action sent in between did not wake it, and its timeout never fired."""
    in_window = threading.Event()
    armed = threading.Event()

    class Widened(sync_client.Client):
        @property
        def _planned(self) -> float | None:
            return self.__dict__.get("_p")

        @_planned.setter
        def _planned(self, value: float | None) -> None:
            worker = threading.current_thread().name.startswith("amiproto-worker")
            if armed.is_set() and value is None and worker:
                armed.clear()
                in_window.set()
                time.sleep(0.3)  # the reader, between asking the core and publishing
            self.__dict__["_p"] = value

    monkeypatch.setattr(sync_client, "Client", Widened)
    done = threading.Event()

    def never_answer(sock: socket.socket) -> None:
        done.wait(10)

    with scripted_server(never_answer) as address:
        client = sync_client.connect(*address, timeout=5)
        armed.set()
        with pytest.raises(amiproto.ActionTimeout):
            client.submit(Action("Ping", ActionID="a1"), timeout=0.2).result(3)
        assert in_window.wait(3)
        second = client.submit(Action("Ping", ActionID="a2"), timeout=0.5)
        try:
            with pytest.raises(amiproto.ActionTimeout):
                second.result(3.0)
        except FutureTimeout:
            pytest.fail("the reader slept past the action's deadline")
        finally:
            done.set()
            client._shutdown()


def test_a_callback_raising_system_exit_ends_no_worker() -> None:
    """Callbacks run on the workers, which read the socket: a SystemExit from one would
    have ended the reading for good."""
    with Simulator().running() as address:
        client = sync_client.connect(*address, timeout=2, username="admin", secret="wordpass")
        client.register_callback("UserEvent", lambda e: sys.exit(0))
        for _ in range(2):
            client.send_action(Action("UserEvent", UserEvent="Exit"))
            time.sleep(0.1)
        native: Any = client
        assert all(worker.is_alive() for worker in native._workers)
        assert client.send_action(Action("Ping"), timeout=2).success
        client.close()


def test_the_rest_of_an_eager_send_never_goes_on_a_reconnected_socket() -> None:
    """What an eager send left was put back in front of the new connection's login,
    though its actions had already failed with ConnectionLost."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    first: list[socket.socket] = []
    second = bytearray()
    got_second = threading.Event()
    accepted = threading.Event()
    stop = threading.Event()

    def serve() -> None:
        conn1, _ = listener.accept()
        conn1.sendall(GREETING)
        first.append(conn1)
        accepted.set()
        conn2, _ = listener.accept()
        conn2.sendall(GREETING)
        conn2.settimeout(0.05)
        while not stop.is_set():
            try:
                data = conn2.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            second.extend(data)
            got_second.set()
        conn2.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client = sync_client.connect(
        *listener.getsockname()[:2], timeout=5, reconnect=True, backoff=Backoff(initial=0.01, jitter=0.0)
    )
    native: Any = client
    writer = native._writer
    old = writer.sock
    assert accepted.wait(5)

    class DiesDuringSend:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def send(self, data: bytes, flags: int = 0) -> int:
            first[0].close()  # the server goes away, and the reader reconnects meanwhile
            for _ in range(500):
                if writer.sock is not self and writer.sock is not old and native._ready:
                    break
                time.sleep(0.01)
            raise BrokenPipeError(32, "Broken pipe")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.sock, name)

    writer.sock = DiesDuringSend(old)
    stale = client.submit(Action("UserEvent", UserEvent="Stale", ActionID="stale-1", Data="z" * 3000))
    with pytest.raises(amiproto.ConnectionLost):
        stale.result(5)
    got_second.wait(1)
    time.sleep(0.3)
    stop.set()
    server.join(5)
    client._shutdown()
    listener.close()
    assert b"stale-1" not in second


def test_a_writer_blocked_on_a_lost_connection_is_freed_for_the_next() -> None:
    """The lost socket was closed without a shutdown, which leaves a writer blocked in
    sendall on it: after a reconnect nothing was ever written again."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2)
    listener.settimeout(10)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        conn1, _ = listener.accept()  # greets, then never reads
        conn1.sendall(GREETING)
        conns.append(conn1)
        conn2, _ = listener.accept()
        conn2.sendall(GREETING)
        conns.append(conn2)
        conn2.settimeout(0.05)
        buffer = b""
        while not stop.is_set():
            try:
                data = conn2.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return  # closed by the test's end
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                if found := re.search(rb"ActionID: (\S+)", block):
                    conn2.sendall(
                        b"Response: Success\r\nActionID: " + found.group(1) + b"\r\nPing: Pong\r\n\r\n"
                    )

    threading.Thread(target=serve, daemon=True).start()
    client = sync_client.connect(
        *listener.getsockname()[:2],
        timeout=2,
        keepalive=0.3,
        keepalive_timeout=0.3,
        reconnect=True,
        backoff=Backoff(initial=0.01, jitter=0.0),
    )
    notices: list[amiproto.Event] = []
    client.register_callback("Reconnected", notices.append)

    def burst() -> None:
        try:
            for n in range(30):
                client.submit(Action("UserEvent", UserEvent=f"Big{n}", Data="y" * 400_000), timeout=1)
        except amiproto.AMIError:
            pass

    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    sender.join(3)
    for _ in range(300):
        if notices:
            break
        time.sleep(0.01)
    try:
        assert notices
        assert client.send_action(Action("Ping"), timeout=1).success
    finally:
        stop.set()
        for conn in conns:
            conn.close()
        client._shutdown()
        listener.close()


def test_close_during_a_reconnect_stops_the_client_and_its_new_socket() -> None:
    """close() while a reconnect was connecting: it shut the old socket, never the new
    one, and the reader went on reading the new connection after close() returned."""
    patched = threading.Event()
    opening = threading.Event()
    gate = threading.Event()
    streaming = threading.Event()
    stop = threading.Event()

    def drop(sock: socket.socket) -> None:
        patched.wait(5)  # then the first connection is reset: the client reconnects

    def stream_events(sock: socket.socket) -> None:
        # Always something to read, so that the reader is never idle.
        number = 0
        while not stop.is_set():
            number += 1
            sock.sendall(f"Event: UserEvent\r\nUserEvent: tick\r\nN: {number}\r\n\r\n".encode())
            streaming.set()
            time.sleep(0.005)

    with scripted_connections(drop, stream_events) as address:
        client = sync_client.connect(
            *address, timeout=5, reconnect=True, backoff=Backoff(initial=0.01, jitter=0.0)
        )
        native: Any = client
        original = native._open_socket

        def slow_open() -> socket.socket:
            opening.set()
            assert gate.wait(5)
            sock: socket.socket = original()
            streaming.wait(5)  # the reader's first look finds something to read
            return sock

        native._open_socket = slow_open
        patched.set()
        try:
            assert opening.wait(5)
            closer = threading.Thread(target=client.close, daemon=True)
            closer.start()
            assert native._closing.wait(5)
            gate.set()  # the reconnect's connect completes after close() began
            closer.join(10)
            assert not closer.is_alive()
            for worker in native._workers:
                worker.join(5)
            assert not any(worker.is_alive() for worker in native._workers)
            assert native._sock is None or native._sock.fileno() == -1
        finally:
            stop.set()
            gate.set()
            client._shutdown()
