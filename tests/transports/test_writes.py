"""How the clients' writes leave: whole, in core order, and early in a burst."""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio

import amiproto
from amiproto import Action
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client
from amiproto_transports._shared import EAGER_BYTES, Options
from amiproto_transports._sync_writer import Writer
from amiproto_transports.simulator import Simulator

from .harness import scripted_server


def recorder(received: bytearray, done: threading.Event) -> Callable[[socket.socket], None]:
    """A server script that keeps every byte the client sends until ``done`` is set."""

    def script(sock: socket.socket) -> None:
        sock.settimeout(0.05)
        while not done.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            received.extend(data)

    return script


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    stop = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        stop.wait(0.01)
    raise AssertionError("condition not met in time")


def actions_in(data: bytes) -> list[amiproto.ReceivedAction]:
    """What a server makes of ``data``; every byte must belong to a whole action."""
    server = amiproto.ServerConnection()
    server.receive_data(bytes(data))
    found = []
    while isinstance(action := server.next_action(), amiproto.ReceivedAction):
        found.append(action)
    return found


def burst(count: int, prefix: str = "") -> list[Action]:
    return [Action("Ping", ActionID=f"{prefix}{n}", Pad="x" * 40) for n in range(count)]


def test_a_burst_reaches_the_server_while_the_caller_still_submits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without its writer thread, the client can only send what callers send themselves.
    def idle_writer(self: Writer) -> None:
        self.closing.wait(10.0)

    monkeypatch.setattr(Writer, "run", idle_writer)
    received = bytearray()
    done = threading.Event()
    with (
        scripted_server(recorder(received, done)) as address,
        sync_client.connect(*address, timeout=5) as client,
    ):
        actions = burst(200)
        for action in actions:
            client.submit(action)
        wait_for(lambda: len(received) >= EAGER_BYTES)
        native: Any = client
        with native._core_lock:
            assert len(native._writer.buffer) < EAGER_BYTES  # the rest waits for the writer
        done.set()
        sent = actions_in(bytes(received))
        assert [a.action_id for a in sent] == [a.get("ActionID") for a in actions[: len(sent)]]
        client._shutdown()  # no Logoff: it could not leave


class ShortSends:
    """A socket whose first ``send`` takes a few bytes only, after ``meanwhile()`` ran:
    what another thread would do while the caller is in the system call."""

    def __init__(self, sock: socket.socket, meanwhile: Callable[[], object]) -> None:
        self.sock = sock
        self.meanwhile: Callable[[], object] | None = meanwhile

    def send(self, data: bytes, flags: int = 0) -> int:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is None:
            return self.sock.send(data, flags)
        meanwhile()
        return self.sock.send(data[:10], flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_the_rest_of_a_short_eager_send_goes_before_what_came_meanwhile() -> None:
    received = bytearray()
    done = threading.Event()
    with (
        scripted_server(recorder(received, done)) as address,
        sync_client.connect(*address, timeout=5) as client,
    ):
        native: Any = client
        later = Action("Ping", ActionID="later")
        native._writer.sock = ShortSends(native._writer.sock, lambda: client.submit(later))
        big = Action("UserEvent", UserEvent="Big", ActionID="big", Data="y" * EAGER_BYTES)
        client.submit(big)
        wait_for(lambda: len(actions_in(bytes(received))) == 2)
        assert [a.action_id for a in actions_in(bytes(received))] == ["big", "later"]
        done.set()
        native._writer.sock = native._writer.sock.sock
        client._shutdown()


def test_threads_bursting_at_once_keep_every_action_whole_and_in_order() -> None:
    received = bytearray()
    done = threading.Event()
    threads, per_thread = 6, 300
    with (
        scripted_server(recorder(received, done)) as address,
        sync_client.connect(*address, timeout=5) as client,
    ):

        def submit_all(thread: int) -> None:
            for action in burst(per_thread, f"t{thread}-"):
                client.submit(action, timeout=5)

        workers = [threading.Thread(target=submit_all, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
        wait_for(lambda: len(actions_in(bytes(received))) == threads * per_thread)
        done.set()
        ids = [a.action_id or "" for a in actions_in(bytes(received))]
        for thread in range(threads):
            mine = [i for i in ids if i.startswith(f"t{thread}-")]
            assert mine == [f"t{thread}-{n}" for n in range(per_thread)]
        client._shutdown()


def test_no_eager_send_through_tls() -> None:
    # An SSLSocket's send() takes no flags: callers leave TLS writes to the writer thread.
    arguments = {name: p.default for name, p in inspect.signature(sync_client.connect).parameters.items()}
    arguments.update(host="127.0.0.1", port=1, ssl=ssl.create_default_context())
    client = sync_client.Client(Options.from_arguments(arguments))
    writer = client._writer
    assert not writer.eager
    writer.buffer += b"x" * (2 * EAGER_BYTES)
    assert writer.take_eager_chunk_locked() is None


def test_asyncio_writes_a_burst_before_the_loop_turns() -> None:
    received = bytearray()
    done = threading.Event()

    async def main(address: tuple[str, int]) -> None:
        async with aio_client.connect(*address, timeout=5) as client:
            for action in burst(200):
                client.submit(action).add_done_callback(lambda f: f.cancelled() or f.exception())
            # The loop does not turn while this blocks: only eager writes can have left.
            wait_for(lambda: len(received) >= EAGER_BYTES)
            done.set()

    with scripted_server(recorder(received, done)) as address:
        asyncio.run(main(address))
    sent = actions_in(bytes(received))
    assert sent and [a.action_id for a in sent] == [str(n) for n in range(len(sent))]


def test_trio_writes_a_burst_before_the_writer_task_runs() -> None:
    received = bytearray()
    done = threading.Event()

    async def main(address: tuple[str, int]) -> None:
        async with trio_client.connect(*address, timeout=5) as client:
            for action in burst(200):
                client.submit(action)
            # No checkpoint while this blocks: the writer task cannot have run.
            wait_for(lambda: len(received) >= EAGER_BYTES)
            done.set()
            native: Any = client
            native._session.waiters.clear()  # nobody waits: close() need not fail them

    with scripted_server(recorder(received, done)) as address:
        trio.run(main, address)
    sent = actions_in(bytes(received))
    assert sent and [a.action_id for a in sent] == [str(n) for n in range(len(sent))]


def test_trio_never_writes_past_the_writer_task_while_it_sends() -> None:
    received = bytearray()
    done = threading.Event()

    async def main(address: tuple[str, int]) -> None:
        async with trio_client.connect(*address, timeout=5) as client:
            native: Any = client
            backend = native._backend
            backend._sending = True  # as while send_all waits for room
            pending = [client.submit(action, timeout=0.3) for action in burst(100)]
            assert len(backend._outgoing) > EAGER_BYTES  # all left to the writer
            backend._sending = False
            for answer in pending:
                with pytest.raises(amiproto.ActionTimeout):
                    await answer.get()
            done.set()

    with scripted_server(recorder(received, done)) as address:
        trio.run(main, address)
    assert [a.action_id for a in actions_in(bytes(received))] == [str(n) for n in range(100)]


def test_a_sync_caller_waits_for_room_until_its_deadline_or_until_bytes_leave() -> None:
    lock = threading.Lock()
    writer = Writer(lock, threading.Event(), lambda reason: None, tls=False, eager_bytes=10, high_water=100)
    with lock:
        writer.buffer += b"x" * 100
        assert writer.wait_for_room_locked(None)  # at the bound: room
        writer.in_flight = 1  # one byte over, and nobody will write it
        assert not writer.wait_for_room_locked(time.monotonic() + 0.05)

    def written() -> None:
        with lock:
            writer.in_flight = 0
            writer.room.notify_all()

    threading.Timer(0.05, written).start()
    with lock:
        assert writer.wait_for_room_locked(time.monotonic() + 5)
        assert writer.unsent_locked() == 100


# -- callers that send their own actions ------------------------------------------------


def test_a_caller_about_to_wait_sends_its_action_itself() -> None:
    lock = threading.Lock()
    writer = Writer(
        lock, threading.Event(), lambda reason: None, tls=False, eager_bytes=1000, high_water=10**6
    )
    left, right = socket.socketpair()
    with left, right:
        with lock:
            writer.use_locked(left, None)
            writer.idle = True  # as a writer thread waiting
            chunk = writer.queue_for_caller_locked(b"one", 1)
            assert chunk == (left, b"one") and writer.writing and writer.idle  # not woken
            # Another caller meanwhile: left to the one writing, the writer not woken.
            assert writer.queue_for_caller_locked(b"two", 1) is None and writer.idle
        writer.send_eagerly(*chunk)  # sends its own bytes, then the other caller's
        assert not writer.writing and not writer.buffer and writer.unsent_locked() == 0
        right.settimeout(5)
        received = b""
        while len(received) < 6:
            received += right.recv(100)
        assert received == b"onetwo"
        with lock:
            # A burst's caller (at_least = eager_bytes) leaves small writes to the writer.
            assert writer.queue_for_caller_locked(b"three", 1000) is None
            assert not writer.idle  # woken for them


def test_many_threads_send_action_each_gets_its_own_answer_or_its_timeout() -> None:
    threads, per_thread = 8, 40
    results: dict[int, list[str | None]] = {n: [] for n in range(threads)}
    errors: list[BaseException] = []
    sim = Simulator()
    with (
        sim.running() as address,
        sync_client.connect(*address, username="admin", secret="wordpass", timeout=5) as client,
    ):

        def work(thread: int) -> None:
            try:
                for n in range(per_thread):
                    answer = client.send_action(Action("Ping", ActionID=f"t{thread}-{n}"), timeout=5)
                    assert answer.success
                    results[thread].append(answer.response.action_id if answer.response else None)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert not errors and not any(worker.is_alive() for worker in workers)
        assert results == {n: [f"t{n}-{i}" for i in range(per_thread)] for n in range(threads)}

        # Unanswered now: every thread's timeout is honoured, none waits for another's.
        sim.set_fault("stall")
        timings: list[float] = []

        def time_out(thread: int) -> None:
            started = time.monotonic()
            try:
                client.send_action(Action("Ping", ActionID=f"late{thread}"), timeout=0.3 + thread * 0.05)
            except amiproto.ActionTimeout:
                timings.append(time.monotonic() - started - thread * 0.05)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=time_out, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
        assert not errors and len(timings) == threads
        assert all(0.25 <= taken < 2.3 for taken in timings), timings
        sim.set_fault(None)
