"""The simulator served by any of its runners, for tests that run against all three."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from amiproto_transports.simulator import Simulator

RUNNERS = ["thread", "asyncio", "trio"]


@contextlib.contextmanager
def serving(sim: Simulator, runner: str) -> Iterator[tuple[str, int]]:
    """Run ``sim`` on ``runner`` (asyncio and trio in a thread of their own); yield its address."""
    if runner == "thread":
        with sim.running() as address:
            yield address
        return
    started: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    async def asyncio_main() -> None:
        async with sim.running_asyncio() as address:
            started.put(address)
            while not stop.is_set():
                await asyncio.sleep(0.01)

    async def trio_main() -> None:
        trio = pytest.importorskip("trio")
        async with sim.running_trio() as address:
            started.put(address)
            while not stop.is_set():
                await trio.sleep(0.01)

    def run() -> None:
        try:
            if runner == "asyncio":
                asyncio.run(asyncio_main())
            else:
                import trio

                trio.run(trio_main)
        except BaseException as error:  # handed to the test thread
            started.put(error)

    if runner == "trio":
        pytest.importorskip("trio")
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    address = started.get(timeout=10)
    assert isinstance(address, tuple), address
    try:
        yield address
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
        assert started.empty(), started.get()  # the runner itself never failed
