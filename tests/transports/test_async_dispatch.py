"""Where the async clients run callbacks: in the reader's task while none must be awaited."""

from __future__ import annotations

import asyncio

import trio

from amiproto import Action, Event
from amiproto_transports import asyncio as aio_client
from amiproto_transports import trio as trio_client
from amiproto_transports.simulator import Simulator


def test_asyncio_runs_plain_callbacks_in_the_reader_task() -> None:
    tasks: list[str] = []

    async def slow(event: Event) -> None:
        tasks.append(f"awaited in {asyncio.current_task().get_name()}")  # type: ignore[union-attr]
        await asyncio.sleep(0.01)

    def plain(event: Event) -> None:
        tasks.append(asyncio.current_task().get_name())  # type: ignore[union-attr]

    async def main(address: tuple[str, int]) -> None:
        async with aio_client.connect(*address, timeout=5, username="admin", secret="wordpass") as client:
            client.register_callback("UserEvent", plain)
            await client.send_action(Action("UserEvent", UserEvent="One"))
            client.register_callback("UserEvent", slow)
            await client.send_action(Action("UserEvent", UserEvent="Two"))
            for _ in range(100):
                if len(tasks) == 3:
                    break
                await asyncio.sleep(0.01)

    with Simulator().running() as address:
        asyncio.run(main(address))
    assert tasks == ["amiproto-reader", "amiproto-reader", "awaited in amiproto-dispatch"]


def test_trio_runs_plain_callbacks_in_the_reader_task() -> None:
    tasks: list[str] = []

    async def slow(event: Event) -> None:
        tasks.append("awaited in " + trio.lowlevel.current_task().name.rsplit(".", 1)[-1])
        await trio.sleep(0.01)

    def plain(event: Event) -> None:
        tasks.append(trio.lowlevel.current_task().name.rsplit(".", 1)[-1])

    async def main(address: tuple[str, int]) -> None:
        async with trio_client.connect(*address, timeout=5, username="admin", secret="wordpass") as client:
            client.register_callback("UserEvent", plain)
            await client.send_action(Action("UserEvent", UserEvent="One"))
            client.register_callback("UserEvent", slow)
            await client.send_action(Action("UserEvent", UserEvent="Two"))
            for _ in range(100):
                if len(tasks) == 3:
                    break
                await trio.sleep(0.01)

    with Simulator().running() as address:
        trio.run(main, address)
    assert tasks == ["_read_loop", "_read_loop", "awaited in _dispatch_loop"]
