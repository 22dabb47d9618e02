"""LockedTLS: one TLS socket read and written by two threads, one call at a time."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme

from amiproto_transports._tls_socket import LockedTLS


@pytest.fixture
def tls_pair() -> Iterator[tuple[LockedTLS, ssl.SSLSocket]]:
    """A client LockedTLS and the server's blocking SSLSocket, over loopback."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[ssl.SSLSocket] = []

    def accept() -> None:
        raw, _ = listener.accept()
        raw.settimeout(10)
        accepted.append(server_context.wrap_socket(raw, server_side=True))

    thread = threading.Thread(target=accept)
    thread.start()
    raw = socket.create_connection(listener.getsockname(), timeout=10)
    client = client_context.wrap_socket(raw, server_hostname="127.0.0.1")
    thread.join(10)
    server = accepted[0]
    try:
        yield LockedTLS(client, 65536), server
    finally:
        for sock in (client, server, listener):
            sock.close()


def read_until(tls: LockedTLS, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        select.select([tls.sock], [], [], 5)
        data = tls.recv()
        if data is None:
            continue
        assert data, "end of stream before everything came"
        out += data
    return bytes(out)


@pytest.mark.timeout(30)
def test_nothing_yet_data_and_the_end(tls_pair: tuple[LockedTLS, ssl.SSLSocket]) -> None:
    tls, server = tls_pair
    assert tls.recv() is None  # no whole record: wait, not the end
    payload = os.urandom(300_000)
    threading.Thread(target=server.sendall, args=(payload,)).start()
    assert read_until(tls, len(payload)) == payload
    server.settimeout(1)

    def close_notify() -> None:
        with contextlib.suppress(OSError):  # unwrap then waits for ours, in vain
            server.unwrap()

    threading.Thread(target=close_notify).start()  # the end of the stream
    select.select([tls.sock], [], [], 5)
    while (data := tls.recv()) is None:
        select.select([tls.sock], [], [], 5)
    assert data == b""


@pytest.mark.timeout(30)
def test_both_directions_at_once_from_two_threads(tls_pair: tuple[LockedTLS, ssl.SSLSocket]) -> None:
    tls, server = tls_pair
    up = os.urandom(4_000_000)
    down = os.urandom(4_000_000)
    got_up = bytearray()

    def serve() -> None:
        # The server echoes nothing: it sends its own stream while it reads ours.
        sender = threading.Thread(target=server.sendall, args=(down,))
        sender.start()
        while len(got_up) < len(up):
            got_up.extend(server.recv(65536))
        sender.join(20)

    server_thread = threading.Thread(target=serve)
    server_thread.start()
    writer = threading.Thread(target=tls.sendall, args=(up,))  # waits for room while the reader reads
    writer.start()
    assert read_until(tls, len(down)) == down
    writer.join(20)
    server_thread.join(20)
    assert bytes(got_up) == up
