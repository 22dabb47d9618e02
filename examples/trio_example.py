"""The trio client: log in, read events with ``async for``, run actions in a nursery, leave.

python examples/trio_example.py --host 127.0.0.1 --port 5038
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

import trio

import amiproto
from amiproto_transports.trio import connect


async def run(host: str, port: int, username: str, secret: str, duration: float) -> int:
    try:
        async with connect(host, port, username=username, secret=secret, timeout=5, keepalive=5) as client:
            results: list[amiproto.ActionCompleted] = []

            async def send(action: amiproto.Action) -> None:
                results.append(await client.send_action(action))

            events = client.events(timeout=duration)  # buffers from here on
            async with trio.open_nursery() as nursery:
                nursery.start_soon(send, amiproto.Action("Ping"))
                nursery.start_soon(send, amiproto.Action("Command", Command="core show uptime"))
                nursery.start_soon(partial(send, amiproto.Action("UserEvent", UserEvent="TrioExample")))
            for result in results:
                print(f"{result.action.name}: {'ok' if result.success else 'failed'}")
            async for event in events:  # ends after `duration` seconds without an event
                print(f"event: {event.name} {event.get('UserEvent') or ''}")
    except amiproto.AuthenticationError as error:
        print(f"bad credentials: {error}", file=sys.stderr)
        return 1
    except amiproto.ConnectionLost as error:
        print(f"connection failed: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--secret", default="wordpass")
    parser.add_argument("--duration", type=float, default=0.5)
    args = parser.parse_args(argv)
    return trio.run(run, args.host, args.port, args.username, args.secret, args.duration)


if __name__ == "__main__":
    sys.exit(main())
