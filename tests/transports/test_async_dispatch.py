"""Where the async clients run callbacks: in the reader's task while none must be awaited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import trio

from amiproto import Action, Event
from amiproto_transports import asyncio as aio_client
from amiproto_transports import trio as trio_client
from amiproto_transports.simulator import Simulator

# The name each library gives the reader's and the dispatcher's tasks.
READER = {"asyncio": "amiproto-reader", "trio": "_read_loop"}
DISPATCHER = {"asyncio": "amiproto-dispatch", "trio": "_dispatch_loop"}


def task_name(kind: str) -> str:
    if kind == "asyncio":
        task = asyncio.current_task()
        return "" if task is None else task.get_name()
    return trio.lowlevel.current_task().name.rsplit(".", 1)[-1]


@pytest.mark.parametrize("kind", ["asyncio", "trio"])
def test_plain_callbacks_run_in_the_reader_task(kind: str) -> None:
    tasks: list[str] = []
    sleep: Any = asyncio.sleep if kind == "asyncio" else trio.sleep
    connect: Any = aio_client.connect if kind == "asyncio" else trio_client.connect

    async def slow(event: Event) -> None:
        tasks.append(f"awaited in {task_name(kind)}")
        await sleep(0.01)

    def plain(event: Event) -> None:
        tasks.append(task_name(kind))

    async def main(address: tuple[str, int]) -> None:
        async with connect(*address, timeout=5, username="admin", secret="wordpass") as client:
            client.register_callback("UserEvent", plain)
            await client.send_action(Action("UserEvent", UserEvent="One"))
            client.register_callback("UserEvent", slow)
            await client.send_action(Action("UserEvent", UserEvent="Two"))
            for _ in range(100):
                if len(tasks) == 3:
                    break
                await sleep(0.01)

    with Simulator().running() as address:
        if kind == "asyncio":
            asyncio.run(main(address))
        else:
            trio.run(main, address)
    assert tasks == [READER[kind], READER[kind], f"awaited in {DISPATCHER[kind]}"]
