"""The sync client's two workers: callbacks run where events were read, and a slow
callback never stops the reading nor delays an answer."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

import amiproto
from amiproto import Action
from amiproto_transports import sync as sync_client
from amiproto_transports.simulator import Simulator

from .harness import scripted_server


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


def test_a_stuck_callback_does_not_stop_the_reading() -> None:
    go = threading.Event()
    stuck = threading.Event()
    release = threading.Event()

    def script(sock: socket.socket) -> None:
        go.wait(5)
        sock.sendall(user_event(0))
        stuck.wait(5)  # only once the callback holds the reader's thread
        for n in range(1, 50):
            sock.sendall(user_event(n))
        release.wait(5)

    def hold(event: amiproto.Event) -> None:
        if event.headers.get("UserEvent") == "E0":
            stuck.set()
            release.wait(10)  # longer than the test waits for drops below

    with scripted_server(script) as address, sync_client.connect(*address, timeout=5, queue_size=5) as client:
        client.register_callback("UserEvent", hold)
        go.set()
        # Only a reader can overflow the queue: the other worker, after _LEND_LIMIT.
        for _ in range(200):
            if client.dropped_events > 0:
                break
            threading.Event().wait(0.01)
        dropped = client.dropped_events
        release.set()
        client._shutdown()
    assert stuck.is_set()
    assert dropped > 0


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
