"""The sync client's two workers: callbacks run where events were read, and a slow
callback never stops the reading nor delays an answer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import amiproto
from amiproto import Action
from amiproto_transports import sync as sync_client
from amiproto_transports.simulator import Simulator

from .harness import read_action, scripted_server


def user_event(n: int) -> bytes:
    return f"Event: UserEvent\r\nUserEvent: E{n}\r\n\r\n".encode()


def test_callbacks_run_on_the_thread_that_read_their_events() -> None:
    readers: set[str] = set()
    runners: list[str] = []
    done = threading.Event()
    go = threading.Event()

    def script(sock: socket.socket) -> None:
        go.wait(5)
        for n in range(200):
            sock.sendall(user_event(n))
        done.wait(5)

    with scripted_server(script) as address, sync_client.connect(*address, timeout=5) as client:
        native: Any = client
        receive = native._session.receive

        def recording_receive(data: bytes, now: float) -> Any:
            readers.add(threading.current_thread().name)
            return receive(data, now)

        native._session.receive = recording_receive
        client.register_callback("UserEvent", lambda e: runners.append(threading.current_thread().name))
        go.set()
        for _ in range(500):
            if len(runners) == 200:
                break
            threading.Event().wait(0.01)
        done.set()
        client._shutdown()
    assert len(runners) == 200
    # Nobody awaited an answer: no reason to hand the events to another thread.
    assert set(runners) <= readers and len(readers) == 1


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)
    return True


@pytest.mark.timeout(30)
def test_a_stuck_callback_holds_the_reading_back_until_an_answer_is_awaited() -> None:
    go = threading.Event()
    stuck = threading.Event()
    release = threading.Event()

    def script(sock: socket.socket) -> None:
        go.wait(5)
        sock.sendall(user_event(0))
        stuck.wait(5)  # only once the callback holds the reader's thread
        sock.sendall(b"".join(user_event(n) for n in range(1, 50)))
        action_id = read_action(sock)["actionid"]
        sock.sendall(f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n\r\n".encode())
        release.wait(5)

    def hold(event: amiproto.Event) -> None:
        if event.headers.get("UserEvent") == "E0":
            stuck.set()
            release.wait(10)  # released only once the answer below has come

    with scripted_server(script) as address, sync_client.connect(*address, timeout=5, queue_size=5) as client:
        native: Any = client
        client.register_callback("UserEvent", hold)
        go.set()
        # The other worker takes the reading over after _LEND_LIMIT, fills the queue,
        # and holds the rest back instead of dropping it: TCP makes the server wait.
        assert wait_for(lambda: native._roles.waiting_for_room and bool(native._queue.held))
        assert client.dropped_events == 0 and len(native._queue) == 5
        # An answer cannot wait behind the stuck callback: the oldest are dropped instead.
        answered = client.send_action(Action("Ping"), timeout=2).success
        dropped = client.dropped_events
        queued = len(native._queue)
        release.set()
        client._shutdown()
    assert answered
    assert dropped > 0 and queued <= 5


@pytest.mark.timeout(30)
def test_close_wakes_a_reader_waiting_for_room() -> None:
    go = threading.Event()
    release = threading.Event()

    def script(sock: socket.socket) -> None:
        go.wait(5)
        sock.sendall(b"".join(user_event(n) for n in range(50)))
        release.wait(5)

    with scripted_server(script) as address:
        client = sync_client.connect(*address, timeout=5, queue_size=5)
        native: Any = client
        client.register_callback("UserEvent", lambda e: release.wait(10))
        go.set()
        assert wait_for(lambda: native._roles.waiting_for_room)
        reader = native._workers[native._roles.reader]
        client.close()  # nobody awaits an answer: only close() may end the wait
        ended = not reader.is_alive()  # joined within the close grace
        release.set()
    assert ended
    assert client.dropped_events == 0


def burst_script(count: int, go: threading.Event, done: threading.Event) -> Callable[[socket.socket], None]:
    """Send ``count`` tiny numbered events as fast as the socket takes them."""
    payload = b"".join(b"Event: T\r\nN: %d\r\n\r\n" % n for n in range(count))

    def script(sock: socket.socket) -> None:
        go.wait(5)
        sock.sendall(payload)
        done.wait(5)

    return script


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pause_every", [0, 20_000])
def test_a_burst_of_tiny_events_is_not_dropped_when_callbacks_keep_up(pause_every: int) -> None:
    # One read brings far more events than the queue holds; with pauses, the other
    # worker also takes the reading over and must wait for room while callbacks run.
    count = 200_000
    seen: list[int] = []
    done = threading.Event()
    go = threading.Event()

    def counting(event: amiproto.Event) -> None:
        seen.append(int(event.get("N") or -1))
        if pause_every and len(seen) % pause_every == 0:
            time.sleep(sync_client._LEND_LIMIT * 2)
        if len(seen) == count:
            done.set()

    with (
        scripted_server(burst_script(count, go, done)) as address,
        sync_client.connect(*address, timeout=5, queue_size=1000) as client,
    ):
        client.register_callback("T", counting)
        go.set()
        wait_for(lambda: done.is_set() or len(seen) + client.dropped_events >= count, timeout=30)
        dropped = client.dropped_events
        done.set()
        client._shutdown()
    assert dropped == 0
    assert seen == list(range(count))  # in order, whichever worker held them back


def test_an_answer_awaited_during_a_stuck_callback_is_read_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the hand-over can save the answers: the watchdog would wait ten seconds.
    monkeypatch.setattr(sync_client, "_LEND_LIMIT", 10.0)
    release = threading.Event()
    answers: list[bool] = []
    with (
        Simulator().running() as address,
        sync_client.connect(*address, timeout=5, username="admin", secret="wordpass") as client,
    ):
        client.register_callback("UserEvent", lambda e: release.wait(5))
        # Its event arrives right after its answer: the reader is lent to the callback...
        assert client.send_action(Action("UserEvent", UserEvent="Hold")).success
        # ...while these are sent from this thread and from the stuck callback's peers.
        for _ in range(3):
            answers.append(client.send_action(Action("Ping"), timeout=2).success)
        release.set()
    assert answers == [True, True, True]


def test_a_callback_may_close_the_client() -> None:
    closed = threading.Event()
    took: list[float] = []

    def close_on_event(event: amiproto.Event) -> None:
        started = time.monotonic()
        client.close()  # Logoff is answered while this callback holds its thread
        took.append(time.monotonic() - started)
        closed.set()

    with Simulator().running() as address:
        client = sync_client.connect(*address, timeout=5, username="admin", secret="wordpass")
        client.register_callback("UserEvent", close_on_event)
        client.send_action(Action("UserEvent", UserEvent="Bye"))
        assert closed.wait(5)
    assert took[0] < 2.0  # not a join timeout
    assert not client.is_connected()
    with pytest.raises(amiproto.ConnectionLost):
        client.send_action(Action("Ping"))


def event_of_64_bytes(n: int) -> bytes:
    event = b"Event: T\r\nN: %s\r\n\r\n" % str(n).rjust(47, "0").encode()
    assert len(event) == 64
    return event


@pytest.mark.timeout(30)
def test_reads_that_fill_their_buffer_go_on_at_once_then_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every read fills its buffer exactly: the reader tries the next at once without
    # waiting, and when that finds nothing yet, waits for the rest as usual.
    monkeypatch.setattr(sync_client, "RECV_SIZE", 64)
    go = threading.Event()
    second = threading.Event()
    done = threading.Event()

    def script(sock: socket.socket) -> None:
        go.wait(5)
        sock.sendall(b"".join(event_of_64_bytes(n) for n in range(20)))
        second.wait(5)
        sock.sendall(b"".join(event_of_64_bytes(n) for n in range(20, 40)))
        done.wait(5)

    seen: list[int] = []
    with scripted_server(script) as address, sync_client.connect(*address, timeout=5) as client:
        client.register_callback("T", lambda e: seen.append(int(e.get("N") or -1)))
        go.set()
        assert wait_for(lambda: len(seen) == 20)
        second.set()
        assert wait_for(lambda: len(seen) == 40)
        assert client.is_connected()
        done.set()
    assert seen == list(range(40))


@pytest.mark.timeout(30)
def test_a_waiting_caller_wakes_the_reader_only_when_its_deadline_passed() -> None:
    sim = Simulator()
    with (
        sim.running() as address,
        sync_client.connect(*address, username="admin", secret="wordpass", timeout=5) as client,
    ):
        native: Any = client
        wakes: list[float] = []
        wake = native._wake

        def counted_wake() -> None:
            wakes.append(time.monotonic())
            wake()

        native._wake = counted_wake
        assert client.send_action(Action("Ping"), timeout=5).success
        assert wakes == []  # answered: the reader never needed to learn the deadline
        sim.set_fault("stall")
        started = time.monotonic()
        with pytest.raises(amiproto.ActionTimeout):
            client.send_action(Action("Ping"), timeout=0.3)
        taken = time.monotonic() - started
        # Timed out by the core at its deadline (the caller woke the reader for it), long
        # before the extra wait (sync._GRACE) the caller allows a stuck reader.
        assert 0.25 <= taken < 0.3 + sync_client._GRACE / 2, taken
        assert len(wakes) == 1 and wakes[0] - started >= 0.29
        sim.set_fault(None)
