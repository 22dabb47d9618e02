"""The asyncio client's protocol-level stream: chunks in order, read flow control, end and failure."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from amiproto_transports._async import _asyncio as aio_backend
from amiproto_transports._shared import RECV_SIZE, SMALL_RECV_SIZE, Options
from amiproto_transports.sync import connect


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True
        self.closing = False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.closing


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 5))


def test_chunks_come_in_order_and_reading_pauses_while_too_much_waits() -> None:
    async def body() -> None:
        stream = aio_backend.Stream(asyncio.get_running_loop())
        transport = FakeTransport()
        stream.connection_made(transport)
        half = b"x" * (RECV_SIZE // 2)
        stream.data_received(half)
        stream.data_received(half)
        assert transport.reading  # exactly the limit waits: still reading
        stream.data_received(b"more")
        assert not transport.reading
        assert await stream.read() == half
        assert transport.reading  # back under the limit
        assert await stream.read() == half
        assert await stream.read() == b"more"
        stream.eof_received()
        assert await stream.read() == b""

    run(body)


def test_a_reader_waiting_is_woken_by_data_and_by_a_failure() -> None:
    async def body() -> None:
        stream = aio_backend.Stream(asyncio.get_running_loop())
        stream.connection_made(FakeTransport())
        waiting = asyncio.ensure_future(stream.read())
        await asyncio.sleep(0)
        stream.data_received(b"Event: A\r\n\r\n")
        assert await waiting == b"Event: A\r\n\r\n"
        waiting = asyncio.ensure_future(stream.read())
        await asyncio.sleep(0)
        stream.connection_lost(RuntimeError("tls alert"))
        with pytest.raises(OSError, match="tls alert"):
            await waiting

    run(body)


def test_a_chunk_longer_than_a_read_comes_in_pieces_of_at_most_recv_size() -> None:
    # The transport may read more at once than RECV_SIZE; the reader still gets at
    # most that much per read, so that one read's events stay few (see RECV_SIZE).
    async def body() -> None:
        stream = aio_backend.Stream(asyncio.get_running_loop())
        transport = FakeTransport()
        stream.connection_made(transport)
        chunk = bytes(range(256)) * (RECV_SIZE // 128 + 1)  # two reads and a bit
        stream.data_received(chunk)
        assert not transport.reading
        pieces = [await stream.read()]
        assert not transport.reading  # more than RECV_SIZE still waits
        pieces.append(await stream.read())
        assert transport.reading
        pieces.append(await stream.read())
        assert [len(piece) for piece in pieces] == [RECV_SIZE, RECV_SIZE, len(chunk) - 2 * RECV_SIZE]
        assert b"".join(pieces) == chunk
        stream.data_received(b"next")
        assert await stream.read() == b"next"

    run(body)


def test_the_socket_transport_starts_with_small_reads_sized_by_the_stream() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        arguments = {name: p.default for name, p in inspect.signature(connect).parameters.items()}
        arguments.update(host="127.0.0.1", port=port)
        backend = aio_backend.AsyncioBackend(Options.from_arguments(arguments), lambda: None, lambda _: None)
        await backend.open()
        try:
            transport: Any = backend.stream.transport if backend.stream else None
            if not hasattr(type(transport), "max_size"):
                pytest.skip("this event loop's transport has no read size of its own")
            assert transport.max_size == SMALL_RECV_SIZE and backend.stream is not None
            assert backend.stream.sizes_reads
        finally:
            await backend.aclose()
            server.close()
            await server.wait_closed()

    run(body)


def test_the_transport_reads_small_until_a_read_fills_its_buffer() -> None:
    """``max_size`` follows next_recv_size read by read, where the stream sizes reads."""

    async def body() -> None:
        stream = aio_backend.Stream(asyncio.get_running_loop())
        transport = FakeTransport()
        transport.max_size = SMALL_RECV_SIZE  # type: ignore[attr-defined]
        stream.connection_made(transport)
        stream.sizes_reads = True
        stream.data_received(b"x" * SMALL_RECV_SIZE)
        assert transport.max_size == RECV_SIZE  # type: ignore[attr-defined]
        stream.data_received(b"x" * (RECV_SIZE - 1))
        assert transport.max_size == SMALL_RECV_SIZE  # type: ignore[attr-defined]
        stream.data_received(b"y")
        assert transport.max_size == SMALL_RECV_SIZE  # type: ignore[attr-defined]

    run(body)
