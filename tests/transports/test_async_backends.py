"""The two async backends keep one contract: the timer and the wake-up calls."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import trio
import trio.testing

from amiproto_transports._async import Backend
from amiproto_transports._async import _trio as trio_backend
from amiproto_transports._async._asyncio import AsyncioBackend
from amiproto_transports._async._trio import TrioBackend
from amiproto_transports._shared import RECV_SIZE, Options, _limits
from amiproto_transports.sync import connect

Body = Callable[[Backend[Any], list[float]], Coroutine[Any, Any, None]]


def options_for_tests() -> Options:
    arguments = {name: p.default for name, p in inspect.signature(connect).parameters.items()}
    arguments.update(host="127.0.0.1", port=1)
    return Options.from_arguments(arguments)


def run(kind: str, body: Body) -> list[float]:
    """Run ``body`` with a backend of ``kind`` whose tasks run; the times its timer fired."""
    options = options_for_tests()
    fired: list[float] = []

    async def main() -> None:
        backend: Backend[Any]
        backend_type: Any = AsyncioBackend if kind == "asyncio" else TrioBackend
        backend = backend_type(options, lambda: fired.append(backend.now()), lambda reason: None)
        async with backend.running({}, backend.stop):
            await body(backend, fired)

    if kind == "asyncio":
        asyncio.run(asyncio.wait_for(main(), 5))
    else:
        trio.run(main)
    return fired


@pytest.mark.parametrize("kind", ["asyncio", "trio"])
def test_the_timer_fires_once_at_the_earliest_deadline_armed(kind: str) -> None:
    async def body(backend: Backend[Any], fired: list[float]) -> None:
        start = backend.now()
        backend.arm(start + 5)
        backend.arm_before(start + 0.05)  # earlier: replaces it
        backend.arm_before(start + 6)  # later: ignored
        while not fired and backend.now() < start + 2:
            await backend.sleep(0.01)
        assert len(fired) == 1 and fired[0] >= start + 0.05
        backend.arm(backend.now() + 0.05)
        backend.arm(None)  # disarmed
        await backend.sleep(0.15)
        assert len(fired) == 1

    run(kind, body)


@pytest.mark.parametrize("kind", ["asyncio", "trio"])
def test_a_wakeup_forgets_an_earlier_set_and_ends_at_its_deadline(kind: str) -> None:
    async def body(backend: Backend[Any], fired: list[float]) -> None:
        wakeup = backend.wakeup()
        assert not await wakeup.wait(backend.now() - 1)  # past: at once
        wakeup.set()
        start = backend.now()
        assert not await wakeup.wait(start + 0.05)  # the set came before this wait
        assert backend.now() >= start + 0.05

        async def set_soon() -> None:
            await backend.sleep(0.02)
            wakeup.set()

        if isinstance(backend, AsyncioBackend):
            task = asyncio.ensure_future(set_soon())
            assert await wakeup.wait(backend.now() + 2)
            await task
        else:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(set_soon)
                assert await wakeup.wait()

    run(kind, body)


def test_trio_a_come_answer_is_a_cancel_point_but_no_schedule_point() -> None:
    from amiproto_transports._async._trio import Pending

    async def main() -> None:
        others_ran = []

        async def other() -> None:
            others_ran.append(True)

        pending: Pending[int] = Pending()
        pending.set_result(7)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            for _ in range(3):
                assert await pending.get() == 7
            assert not others_ran  # no schedule point: the other task has not run yet
        reached = False
        with trio.CancelScope() as scope:
            scope.cancel()
            await pending.get()
            reached = True
        assert scope.cancelled_caught and not reached

    trio.run(main)


def test_trio_reads_at_most_512_kib_between_checkpoints() -> None:
    in_a_row = trio_backend._READS_IN_A_ROW
    assert in_a_row == 1 or in_a_row * RECV_SIZE <= 512 * 1024


@pytest.mark.timeout(30)
@pytest.mark.skipif(not trio_backend._EAGER_WRITES, reason="no reads in a row where a socket is no file")
def test_trio_reads_a_few_full_reads_in_a_row_then_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trio_backend, "RECV_SIZE", 64)
    monkeypatch.setattr(_limits, "RECV_SIZE", 64)
    monkeypatch.setattr(_limits, "SMALL_RECV_SIZE", 64)
    monkeypatch.setattr(trio_backend, "_READS_IN_A_ROW", 4)  # as with 128 KiB reads
    near, far = socket.socketpair()
    checkpoints: list[int] = []

    async def main() -> None:
        backend = TrioBackend(options_for_tests(), lambda: None, lambda reason: None)
        backend._asked = 64
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(near))
        receive_some = stream.receive_some

        async def counted(max_bytes: int | None = None) -> bytes:
            checkpoints.append(len(got))
            return await receive_some(max_bytes)

        stream.receive_some = counted  # type: ignore[method-assign]
        backend.stream = stream
        got: list[bytes] = []
        data = bytes(range(64)) * 10
        far.sendall(data)
        with trio.fail_after(5):
            while len(got) < 10:
                got.append(await backend.read())
            # Drained after a full read: the next read finds nothing at once, and waits.
            async with trio.open_nursery() as nursery:

                async def send_last() -> None:
                    await trio.sleep(0.05)  # the reader waits first
                    far.sendall(b"last")

                nursery.start_soon(send_last)
                got.append(await backend.read())
        assert b"".join(got) == data + b"last"
        await stream.aclose()

    try:
        trio.run(main)
    finally:
        far.close()
    # Reads 1, 5 and 9 went through trio (_READS_IN_A_ROW is 4), then the wait for "last".
    assert checkpoints == [0, 4, 8, 10]


@pytest.mark.timeout(30)
def test_trio_reads_small_until_a_read_fills_its_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads ask SMALL_RECV_SIZE, RECV_SIZE only after one that filled its buffer (see
    next_recv_size): each read allocates what it asks for."""
    monkeypatch.setattr(_limits, "RECV_SIZE", 64)
    monkeypatch.setattr(_limits, "SMALL_RECV_SIZE", 16)
    near, far = socket.socketpair()

    async def main() -> None:
        backend = TrioBackend(options_for_tests(), lambda: None, lambda reason: None)
        backend._asked = 16
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(near))
        backend.stream = stream
        far.sendall(bytes(100))
        with trio.fail_after(5):
            sizes = [len(await backend.read()) for _ in range(3)]
            assert sizes == [16, 64, 20]  # full at 16, then 64 asked; the rest, 20 < 64
            far.sendall(bytes(100))
            await trio.sleep(0.05)
            assert len(await backend.read()) == 16  # small again after a read that was not full
        await stream.aclose()

    try:
        trio.run(main)
    finally:
        far.close()


def test_trio_reads_the_runs_own_clock() -> None:
    """``now`` is the run's clock (a mock one too), read without trio.current_time."""
    seen: list[tuple[float, float]] = []

    async def main() -> None:
        backend = TrioBackend(options_for_tests(), lambda: None, lambda reason: None)
        seen.append((backend.now(), trio.current_time()))
        await trio.sleep(100)  # at once on the autojumping clock
        seen.append((backend.now(), trio.current_time()))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    (before, trio_before), (after, trio_after) = seen
    assert before == trio_before and after == trio_after and after - before >= 100
