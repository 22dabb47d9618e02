"""The sync client's reads: small until one fills its buffer (see ``next_recv_size``)."""

from __future__ import annotations

import itertools
import socket
import threading

import pytest

from amiproto_transports import sync as sync_client
from amiproto_transports._shared import RECV_SIZE, SMALL_RECV_SIZE, next_recv_size

from .harness import scripted_server


def test_next_recv_size() -> None:
    assert next_recv_size(SMALL_RECV_SIZE, SMALL_RECV_SIZE) == RECV_SIZE
    assert next_recv_size(RECV_SIZE, RECV_SIZE) == RECV_SIZE
    assert next_recv_size(RECV_SIZE, RECV_SIZE - 1) == SMALL_RECV_SIZE
    assert next_recv_size(SMALL_RECV_SIZE, 80) == SMALL_RECV_SIZE
    assert SMALL_RECV_SIZE < 128 * 1024 <= RECV_SIZE  # below glibc's first mapping size


class RecordingSocket(socket.socket):
    """A socket that notes each ``recv`` that brought bytes: the size asked, the size got."""

    reads: list[tuple[int, int]]

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = super().recv(size, flags)
        self.reads.append((size, len(data)))
        return data


@pytest.mark.timeout(30)
def test_the_sync_reader_asks_much_only_after_a_full_read(monkeypatch: pytest.MonkeyPatch) -> None:
    event = b"Event: Burst\r\nPrivilege: call,all\r\nPadding: " + b"p" * 200 + b"\r\n\r\n"
    burst = event * (3 * SMALL_RECV_SIZE // len(event))

    def script(sock: socket.socket) -> None:
        sock.sendall(burst)

    opened = sync_client.Client._open_socket
    sockets: list[RecordingSocket] = []

    def recording(client: sync_client.Client) -> socket.socket:
        plain = opened(client)
        wrapped = RecordingSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
        wrapped.reads = []
        sockets.append(wrapped)
        return wrapped

    monkeypatch.setattr(sync_client.Client, "_open_socket", recording)
    seen = threading.Semaphore(0)
    count = burst.count(b"Event: Burst")
    callbacks = {"Burst": lambda event: seen.release()}
    with scripted_server(script) as address, sync_client.connect(*address, timeout=5, callbacks=callbacks):
        for _ in range(count):
            assert seen.acquire(timeout=10)
    reads = sockets[0].reads
    assert reads[0][0] == SMALL_RECV_SIZE
    assert RECV_SIZE in [asked for asked, _ in reads]  # the burst filled a read
    for (asked, got), (next_asked, _) in itertools.pairwise(reads):
        assert next_asked == next_recv_size(asked, got)
