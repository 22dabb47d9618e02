"""The asyncio client: log in, follow events with a callback, list channels, leave.

python examples/asyncio_example.py --host 127.0.0.1 --port 5038
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import amiproto
from amiproto_transports.asyncio import connect


async def run(host: str, port: int, username: str, secret: str, duration: float) -> int:
    seen: dict[str, int] = {}

    async def count(event: amiproto.Event) -> None:  # async callbacks are awaited
        seen[event.name] = seen.get(event.name, 0) + 1

    # Given to connect(), the callbacks are in place before the login is sent: they see
    # FullyBooted, which the server sends right after it (register_callback would be late).
    callbacks = {"": count}
    try:
        async with connect(
            host, port, username=username, secret=secret, timeout=5, keepalive=5, callbacks=callbacks
        ) as client:
            pong = await client.send_action(amiproto.Action("Ping"))
            print(f"Ping: {pong.response.get('Ping') if pong.response else None}")
            # Many actions at once; the core matches each answer to its ActionID.
            uptime, channels = await asyncio.gather(
                client.send_action(amiproto.Action("Command", Command="core show uptime")),
                client.send_action(amiproto.Action("CoreShowChannels")),
            )
            print("\n".join(uptime.response.output if uptime.response else []))
            print(f"{len(channels.events) - 1} channel(s) up")
            await asyncio.sleep(duration)
    except amiproto.AuthenticationError as error:
        print(f"bad credentials: {error}", file=sys.stderr)
        return 1
    except amiproto.ConnectionLost as error:
        print(f"connection failed: {error}", file=sys.stderr)
        return 1
    print(f"events seen: {dict(sorted(seen.items()))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--secret", default="wordpass")
    parser.add_argument("--duration", type=float, default=1.0)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.host, args.port, args.username, args.secret, args.duration))


if __name__ == "__main__":
    sys.exit(main())
