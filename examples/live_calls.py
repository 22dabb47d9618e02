"""Follow the calls on a PBX with the live model: one line when a call starts, is answered, ends.

    python examples/live_calls.py 127.0.0.1:5038 --user admin --secret wordpass [--count 10]

The client fills ``client.live`` at login (and again after a reconnect) and keeps
it current from events; this program only reads it and listens to its changes.
Try it against the simulator: ``amiproto simulate --calls-per-second 2``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from amiproto.live import Call, CallAdded, CallChanged, CallRemoved, Change
from amiproto_transports.sync import connect


def duration(call: Call) -> str:
    if call.started is None or call.ended is None:
        return "?"
    return f"{call.ended - call.started:.1f} s"


def describe(change: Change) -> str | None:
    """One line for a change to a call; None for the changes this program ignores."""
    if isinstance(change, CallAdded):
        return f"call {change.call.linkedid} started"
    if isinstance(change, CallChanged) and "answered" in change.fields and change.call.answered:
        return f"call {change.call.linkedid} answered"
    if isinstance(change, CallRemoved):
        return f"call {change.call.linkedid} ended after {duration(change.call)}"
    return None


def follow(address: str, username: str, secret: str, count: int | None) -> int:
    host, _, port = address.rpartition(":")
    printed = 0
    enough = threading.Event()

    def on_change(change: Change) -> None:
        nonlocal printed
        line = describe(change)
        if line is None or enough.is_set():
            return
        print(time.strftime("%H:%M:%S"), line, flush=True)
        printed += 1
        if count is not None and printed >= count:
            enough.set()

    with connect(host, int(port), username=username, secret=secret, live=True, reconnect=True) as client:
        with client.live_lock:  # a consistent view while the client thread applies events
            up = list(client.live.calls.values())
        print(f"{len(up)} calls up at login: {', '.join(call.linkedid for call in up) or 'none'}", flush=True)
        for kind in (CallAdded, CallChanged, CallRemoved):
            client.register_live_callback(kind, on_change)
        try:
            while not enough.wait(0.5):
                if client.wait_closed(0):
                    return 1
        except KeyboardInterrupt:
            pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="HOST:PORT of the AMI server")
    parser.add_argument("--user", default=os.environ.get("AMI_USERNAME", "admin"))
    parser.add_argument("--secret", default=os.environ.get("AMI_SECRET", ""))
    parser.add_argument("--count", type=int, help="stop after this many lines about calls")
    args = parser.parse_args()
    return follow(args.address, args.user, args.secret, args.count)


if __name__ == "__main__":
    sys.exit(main())
