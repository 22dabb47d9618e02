"""``amiproto demo``: the whole library in a few seconds, against the embedded simulator.

Starts the simulator on a free loopback port, logs in with the MD5 challenge,
originates a few calls and shows their events live, runs a list action and a
CLI ``Command`` while the calls are up, waits for the calls to end, and prints
what happened: events by name, and each action with its round-trip time.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator

import amiproto

from ..simulator import DEFAULT_USERS, Simulator
from ..sync import Client, connect
from ._common import UsageError, add_output_options
from ._output import Terminal, columns, printable

__all__ = ["add_parser", "run"]

USER = "admin"
# Events carrying this ActionID prefix belong to the demo's own list actions:
# they are shown in the action's table, not in the live view.
_OWN = "demo-"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a short demo against the embedded simulator",
        description="Start the embedded simulator, log in (MD5), originate calls, show their events "
        "live, run a list action and a Command, and summarise. Needs nothing but Python.",
    )
    parser.add_argument("--calls", type=int, default=3, metavar="N", help="calls to originate (default 3)")
    parser.add_argument("--quiet", action="store_true", help="no live events, only the results and summary")
    add_output_options(parser)
    parser.set_defaults(run=run)


class _Demo:
    def __init__(self, term: Terminal, calls: int, live: bool) -> None:
        self.term = term
        self.calls = calls
        self.live = live
        self.counts: Counter[str] = Counter()
        self.timings: list[tuple[str, str, float]] = []
        self.hangups = 0
        self.done = threading.Event()

    def on_event(self, event: amiproto.Event) -> None:
        self.counts[event.name] += 1
        own = (event.action_id or "").startswith(_OWN)
        if event.name == "Hangup":
            self.hangups += 1
            # Each Local call is two channels, each hung up once.
            if self.hangups >= 2 * self.calls:
                self.done.set()
        if self.live and not own:
            self.term.event(event, time.time())

    def timed(
        self, client: Client, action: amiproto.Action, label: str | None = None
    ) -> amiproto.ActionCompleted:
        start = time.perf_counter()
        completed = client.send_action(action, timeout=5)
        elapsed = time.perf_counter() - start
        status = completed.response.status if completed.response is not None else "none"
        if completed.is_list:
            items = [e for e in completed.events if (e.get("EventList") or "").lower() != "complete"]
            status += f", {len(items)} items"
        self.timings.append((label or action.name, status, elapsed))
        return completed


def run(args: argparse.Namespace) -> int:
    # The catalogue is imported here, not at start: every ``amiproto`` call would pay for it.
    from amiproto import actions  # noqa: PLC0415

    if not 1 <= args.calls <= 50:
        raise UsageError("--calls must be between 1 and 50")
    term = Terminal(plain=args.plain)
    style = term.style
    demo = _Demo(term, args.calls, live=not args.quiet)
    secret = DEFAULT_USERS[USER][0]
    started = time.perf_counter()
    with Simulator().running("127.0.0.1", 0) as (host, port):
        term.heading(f"amiproto demo: embedded Asterisk simulator on {host}:{port}")
        login_start = time.perf_counter()
        with connect(host, port, username=USER, secret=secret, auth="md5", timeout=5) as client:
            demo.timings.append(("Challenge + Login (MD5)", "success", time.perf_counter() - login_start))
            term.line(f"logged in as {USER!r} with the MD5 challenge; originating {args.calls} calls")
            term.line()
            client.register_callback("", demo.on_event)
            for number in range(1, args.calls + 1):
                originate = actions.Originate(
                    channel="Local/echo@default",
                    application="Wait",
                    data="1",
                    caller_id=f"Demo {number} <100{number}>",
                    async_=True,
                )
                demo.timed(client, originate, f"Originate #{number}")
            # Let the calls reach the dialplan so that the list shows them.
            time.sleep(0.3)
            channels = demo.timed(client, actions.CoreShowChannels(action_id=_OWN + "channels"))
            command = demo.timed(
                client, actions.Command(command="core show channels", action_id=_OWN + "command")
            )
            listed = [e for e in channels.events if e.name == "CoreShowChannel"]
            with _blank_lines_around(term):
                term.heading(f"CoreShowChannels: {len(listed)} channels")
                rows = [[style(h, "bold") for h in ("Channel", "State", "Application", "Duration")]]
                rows += [
                    [
                        printable(text)
                        for text in (
                            e.get("Channel") or "",
                            e.get("ChannelStateDesc") or "",
                            f"{e.get('Application') or ''}({e.get('ApplicationData') or ''})",
                            e.get("Duration") or "",
                        )
                    ]
                    for e in listed
                ]
                term.lines("  " + line for line in columns(rows))
                term.line()
                term.heading("Command 'core show channels':")
                output = command.response.output if command.response is not None else []
                term.lines("  " + printable(line.rstrip()) for line in output)
            if not demo.done.wait(10):
                term.line(style("warning: not every call ended within 10 s", "yellow"))
            demo.timed(client, actions.Ping())
        elapsed = time.perf_counter() - started
    _summary(term, demo, elapsed)
    return 0


@contextlib.contextmanager
def _blank_lines_around(term: Terminal) -> Iterator[None]:
    """Set a block apart from the live events that may print around it."""
    term.line()
    yield
    term.line()


def _summary(term: Terminal, demo: _Demo, elapsed: float) -> None:
    style = term.style
    term.line()
    total = sum(demo.counts.values())
    term.heading(f"Summary: {total} events, {len(demo.timings)} actions in {elapsed:.1f} s")
    rows = [[style("event", "bold"), style("count", "bold")]]
    rows += [[style.event_name(name), str(count)] for name, count in demo.counts.most_common()]
    term.lines("  " + line for line in columns(rows, right=[1]))
    term.line()
    rows = [[style("action", "bold"), style("result", "bold"), style("round trip", "bold")]]
    for label, status, seconds in demo.timings:
        colour = "green" if status.startswith(("success", "pong", "goodbye")) else "red"
        rows.append([label, style(status, colour), f"{seconds * 1000:.1f} ms"])
    term.lines("  " + line for line in columns(rows, right=[2]))
