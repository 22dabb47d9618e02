"""A small blocking AMI client for the simulator's tests: amiproto.Connection over a socket."""

from __future__ import annotations

import socket
import time
from typing import Any

import amiproto

TIMEOUT = 5.0


class AmiClient:
    """Send actions and collect what comes back, with a timeout on every wait."""

    def __init__(self, address: tuple[str, int], timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection(address, timeout=timeout)
        self.conn = amiproto.Connection(action_id_prefix="t")
        self.items: list[Any] = []
        self.events: list[amiproto.Event] = []
        self.closed = False
        self.greeting = self.wait_for(lambda item: isinstance(item, amiproto.Greeting))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AmiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pump(self, deadline: float) -> bool:
        """Read once (up to the deadline); False when nothing more can come."""
        if self.closed:
            return False
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            data = b""
        self.conn.receive_data(data)
        if not data:
            self.closed = True
        while True:
            item = self.conn.next_event()
            if item is amiproto.NEED_DATA:
                break
            self.items.append(item)
            if isinstance(item, amiproto.Event):
                self.events.append(item)
        more = self.conn.data_to_send()  # the core's own next step, e.g. the MD5 Login
        if more and not self.closed:
            self.sock.sendall(more)
        return not self.closed

    def wait_for(self, predicate: Any, timeout: float | None = None) -> Any:
        """The first item (old or new) for which ``predicate`` is true; AssertionError on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        seen = 0
        while True:
            for item in self.items[seen:]:
                if predicate(item):
                    return item
            seen = len(self.items)
            if time.monotonic() >= deadline or not self._pump(deadline):
                for item in self.items[seen:]:
                    if predicate(item):
                        return item
                raise AssertionError(f"timed out or closed waiting; got {self.items[-5:]!r}")

    def action(self, name: str, pairs: list[tuple[str, str]] | None = None, **headers: str) -> Any:
        """Send an action and return its ``ActionCompleted``."""
        action = amiproto.Action(name, pairs or [], **headers)
        self.sock.sendall(self.conn.send(action))
        action_id = self.conn.pending_action_ids[-1]
        return self.wait_for(
            lambda item: isinstance(item, amiproto.ActionCompleted) and item.action_id == action_id
        )

    def login(self, username: str = "admin", secret: str = "wordpass", **kwargs: Any) -> Any:
        self.sock.sendall(self.conn.login(username, secret, **kwargs))
        return self.wait_for(lambda item: isinstance(item, amiproto.LoginResult))

    def wait_closed(self, timeout: float | None = None) -> None:
        self.wait_for(lambda item: isinstance(item, amiproto.ConnectionClosed), timeout)

    def wait_event(self, name: str, timeout: float | None = None) -> amiproto.Event:
        event: amiproto.Event = self.wait_for(
            lambda item: isinstance(item, amiproto.Event) and item.name == name, timeout
        )
        return event


def read_raw(address: tuple[str, int], send: bytes, until: bytes, timeout: float = TIMEOUT) -> bytes:
    """Raw bytes from the server after sending ``send``, until ``until`` appears or it closes."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(send)
        data = b""
        deadline = time.monotonic() + timeout
        while until not in data and time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data
