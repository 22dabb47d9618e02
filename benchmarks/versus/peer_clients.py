"""panoramisk's client and a raw socket against the simulator: the loopback runs of ``run.py``.

They have the shape of ``bench_clients.py``'s runs for our clients, so that every
row of a table is timed the same way: events are counted by ``bench_clients.Counter``
from the first to the ``expected``-th; round trips go ``WINDOW`` Pings at a time,
each window waited for before the next is sent. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from bench_clients import TIMEOUT, WINDOW, Counter

__all__ = ["panoramisk_events", "panoramisk_pings", "raw_socket_pings"]

_USERNAME, _SECRET = "admin", "wordpass"  # the simulator's default user
_LONG = 60.0  # seconds for a whole run of events


def _manager(address: tuple[str, int]) -> Any:
    from panoramisk import Manager  # noqa: PLC0415 (optional: the bench extra)

    host, port = address
    # Its keepalive and reconnection must not start within a run.
    return Manager(
        loop=asyncio.get_running_loop(),
        host=host,
        port=port,
        username=_USERNAME,
        secret=_SECRET,
        ping_delay=3600,
        reconnect_timeout=3600,
    )


async def _logged_in(manager: Any) -> None:
    await asyncio.wait_for(manager.connect(), TIMEOUT)
    login = manager.authenticated_future
    if login is not None:
        await asyncio.wait_for(login, TIMEOUT)
    if not manager.authenticated:
        raise RuntimeError("panoramisk: the login was refused")


async def _panoramisk_events(address: tuple[str, int], expected: int) -> float:
    done = asyncio.Event()
    counter = Counter(expected, done.set)
    manager = _manager(address)
    # One catch-all callback, with the signature panoramisk calls.
    manager.register_event("*", lambda _manager, event: counter.callback(event))
    try:
        await _logged_in(manager)
        try:
            await asyncio.wait_for(done.wait(), _LONG)
        except asyncio.TimeoutError:
            raise RuntimeError(f"panoramisk: only {counter.count} of {expected} events") from None
    finally:
        manager.close()
    return counter.elapsed()


def panoramisk_events(address: tuple[str, int], expected: int) -> float:
    """Seconds from the first event's callback to the ``expected``-th's."""
    return asyncio.run(_panoramisk_events(address, expected))


async def _panoramisk_pings(address: tuple[str, int], total: int) -> float:
    manager = _manager(address)
    try:
        await _logged_in(manager)
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            answers = [manager.send_action({"Action": "Ping"}) for _ in range(WINDOW)]
            replies = await asyncio.wait_for(asyncio.gather(*answers), TIMEOUT)
            if not all(reply.success for reply in replies):
                raise RuntimeError("panoramisk: a Ping failed")
        return time.perf_counter() - started
    finally:
        manager.close()


def panoramisk_pings(address: tuple[str, int], total: int) -> float:
    """Seconds for ``total`` Pings, ``WINDOW`` in flight at a time."""
    return asyncio.run(_panoramisk_pings(address, total))


class _RawConnection:
    """A blocking socket: bytes out, whole messages back, found with ``bytearray.find``."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self._buffer = bytearray()
        self._searched = 0  # where the next search for the end of a message starts

    def next_message(self) -> bytes:
        while (end := self._buffer.find(b"\r\n\r\n", self._searched)) < 0:
            self._searched = max(0, len(self._buffer) - 3)
            data = self.sock.recv(256 * 1024)
            if not data:
                raise ConnectionError("the simulator closed the connection")
            self._buffer += data
        message = bytes(self._buffer[: end + 4])
        del self._buffer[: end + 4]
        self._searched = 0
        return message

    def close(self) -> None:
        self.sock.close()


def raw_socket_pings(address: tuple[str, int], total: int) -> float:
    """The floor: a window of Pings in one ``sendall``, their answers counted as they come."""
    connection = _RawConnection(address)
    try:
        connection.sock.sendall(
            f"Action: Login\r\nUsername: {_USERNAME}\r\nSecret: {_SECRET}\r\n\r\n".encode()
        )
        # The greeting line comes first, in the same block as the login's answer.
        if b"Authentication accepted" not in connection.next_message():
            raise RuntimeError("raw socket: the login was refused")
        window = b"".join(b"Action: Ping\r\nActionID: %d\r\n\r\n" % i for i in range(WINDOW))
        answer = b"Response: Success\r\nActionID: "
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            connection.sock.sendall(window)
            answered = 0
            while answered < WINDOW:
                answered += connection.next_message().startswith(answer)
        return time.perf_counter() - started
    finally:
        connection.close()
