"""``amiproto events``: tail events, live, one line each (or JSON lines)."""

from __future__ import annotations

import argparse
import queue
import time

import amiproto

from ._common import UsageError, add_connection_options, add_output_options, open_client, target
from ._output import Terminal

__all__ = ["add_parser", "run"]

# Enough to ride out a slow terminal; past it the client's own bounded queue
# takes over, dropping the oldest events and counting them.
_BUFFER = 10_000
_POLL = 0.2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "events",
        help="tail events",
        description="Print events as they arrive until Ctrl-C, --count or --duration. Without --host, "
        "an embedded simulator with call traffic is used.",
    )
    parser.add_argument(
        "--filter",
        metavar="NAME",
        action="append",
        default=[],
        help="only events of this name (any case); repeat or separate with commas",
    )
    parser.add_argument("--count", type=int, metavar="N", help="stop after N events")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--calls-per-second",
        type=float,
        default=2.0,
        metavar="R",
        help="call rate of the embedded simulator (default 2)",
    )
    add_output_options(parser, json_help="one JSON object per event")
    add_connection_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if args.calls_per_second <= 0:
        raise UsageError("--calls-per-second must be positive")
    wanted = {name.strip().lower() for value in args.filter for name in value.split(",") if name.strip()}
    term = Terminal(plain=args.plain, json_lines=args.json)
    deadline = None if args.duration is None else time.monotonic() + args.duration
    inbox: queue.Queue[tuple[float, amiproto.Event]] = queue.Queue(_BUFFER)

    def on_event(event: amiproto.Event) -> None:
        if not wanted or event.name.lower() in wanted:
            inbox.put((time.time(), event))

    shown = 0
    lost = False
    with (
        target(args, calls_per_second=args.calls_per_second) as where,
        open_client(where, callbacks=[("", on_event)]) as client,
    ):
        try:
            while args.count is None or shown < args.count:
                wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
                if wait <= 0:
                    break
                try:
                    when, event = inbox.get(timeout=wait)
                except queue.Empty:
                    if not client.is_connected() and inbox.empty():
                        lost = True
                        break
                    continue
                term.event(event, when)
                shown += 1
        except KeyboardInterrupt:
            pass  # Ctrl-C is how a tail ends
        if client.dropped_events:
            term.warn(f"{client.dropped_events} events dropped: the output could not keep up")
    if lost:
        raise UsageError(f"the connection to {where.label} was closed after {shown} events")
    return 0
