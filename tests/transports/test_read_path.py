"""What the sync reader does per read, counted in calls (deterministic, unlike time).

A read of one event runs the whole read path once: waiting for the socket, the
core, the roles' bookkeeping and the callbacks. Its calls are what a busy but not
saturated server (an event per wake-up) costs per event, several times over once
the caches are cold; this test keeps their number from creeping back up.
"""

from __future__ import annotations

import queue
import socket
import threading
import types
from typing import Any

import pytest

from amiproto_transports import sync as sync_client

from .harness import scripted_server

EVENT = b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/100-00000001\r\nExten: 100\r\n\r\n"
EVENTS = 60
# Python calls in amiproto and in the stdlib modules whose use is ours to choose
# (threading, enum), per one-event read: 36 when this was written, 49 before the
# roles hashed by identity and the reader took the queue's lock without its Condition
# (a margin of two for other Python versions' threading module).
BUDGET = 38


def _ours(code: types.CodeType) -> bool:
    path = code.co_filename
    return "amiproto" in path or path.endswith(("threading.py", "enum.py"))


@pytest.mark.timeout(30)
def test_a_one_event_read_stays_within_its_calls() -> None:
    acknowledged: queue.SimpleQueue[None] = queue.SimpleQueue()  # in C: no Python call counted
    finished = threading.Event()

    def script(sock: socket.socket) -> None:
        for _ in range(EVENTS):  # one at a time: each read brings exactly one
            sock.sendall(EVENT)
            try:
                acknowledged.get(timeout=10)
            except queue.Empty:
                return

    counted_thread: list[int] = []  # the thread that runs the callbacks: the reader
    calls = 0

    def count(frame: types.FrameType, event: str, _: Any) -> None:
        nonlocal calls
        if event == "call" and counted_thread and threading.get_ident() == counted_thread[0]:
            calls += _ours(frame.f_code)

    seen = 0

    def on_event(_: object) -> None:
        nonlocal seen, calls
        seen += 1
        if seen == 1:  # from the end of the first read's callback to the last's
            counted_thread.append(threading.get_ident())
            calls = 0
        elif seen == EVENTS:
            counted_thread.clear()
            finished.set()
        acknowledged.put(None)

    threading.setprofile(count)  # the client's threads start with it
    try:
        callbacks = {"Newexten": on_event}
        with scripted_server(script) as address, sync_client.connect(*address, callbacks=callbacks):
            assert finished.wait(20), f"only {seen} of {EVENTS} events came"
    finally:
        threading.setprofile(None)
    per_read = calls / (EVENTS - 1)
    assert 0 < per_read <= BUDGET, f"{per_read:.1f} Python calls per one-event read (budget {BUDGET})"
