"""``amiproto top``: the live model on one screen, redrawn in place until Ctrl-C."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from typing import TextIO

from ._common import (
    UsageError,
    add_connection_options,
    add_output_options,
    open_client,
    positive_seconds,
    target,
)
from ._output import Style, color_enabled

__all__ = ["add_parser", "run"]

# Alternate screen, cursor hidden: the shell's screen comes back as it was on exit.
_ENTER = "\x1b[?1049h\x1b[?25l"
_LEAVE = "\x1b[?25h\x1b[?1049l"
_HOME = "\x1b[H"
_CLEAR_LINE = "\x1b[K"
_CLEAR_BELOW = "\x1b[J"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "top",
        help="watch channels, calls and queues live",
        description="Show the PBX's channels, calls, bridges and queues, kept current from events "
        "and redrawn in place, until Ctrl-C or --duration. Without --host, an embedded simulator "
        "with call traffic is used. When stdout is not a terminal, each refresh is printed as a "
        "block of lines.",
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=1.0,
        metavar="S",
        help="seconds between refreshes (default 1)",
    )
    parser.add_argument("--duration", type=positive_seconds, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--once", action="store_true", help="print one screen once the model is filled, and exit"
    )
    parser.add_argument(
        "--calls-per-second",
        type=float,
        default=2.0,
        metavar="R",
        help="call rate of the embedded simulator (default 2)",
    )
    add_output_options(parser)
    add_connection_options(parser)
    parser.set_defaults(run=run)


class _Screen:
    """Draws frames: in place on a terminal, as blocks separated by a blank line otherwise."""

    def __init__(self, out: TextIO, *, plain: bool) -> None:
        isatty = getattr(out, "isatty", None)
        self.out = out
        self.tty = bool(isatty is not None and isatty())
        self.style = Style(color_enabled(out, plain=plain))
        self._entered = False
        self._frames = 0

    def size(self) -> tuple[int, int | None]:
        if not self.tty:
            return 200, None
        size = shutil.get_terminal_size((100, 24))
        return size.columns, size.lines

    def draw(self, lines: list[str]) -> None:
        if self.tty:
            if not self._entered:
                self.out.write(_ENTER)
                self._entered = True
            self.out.write(_HOME + "".join(line + _CLEAR_LINE + "\r\n" for line in lines) + _CLEAR_BELOW)
        else:
            self.out.write(("\n" if self._frames else "") + "".join(line + "\n" for line in lines))
        self._frames += 1
        self.out.flush()

    def close(self) -> None:
        if self._entered:
            self.out.write(_LEAVE)
            self.out.flush()
            self._entered = False


def run(args: argparse.Namespace) -> int:
    if args.calls_per_second <= 0:
        raise UsageError("--calls-per-second must be positive")
    from ._top_view import render  # noqa: PLC0415 - the live model loads the catalogue: only when run

    screen = _Screen(sys.stdout, plain=args.plain)
    deadline = None if args.duration is None else time.monotonic() + args.duration
    lost = False
    with (
        target(args, calls_per_second=args.calls_per_second) as where,
        # A watch outlives a server restart: the client logs in again and refills the model.
        open_client(where, events=True, live=True, reconnect=True) as client,
    ):
        try:
            while True:
                width, height = screen.size()
                state = None if client.is_connected() else screen.style("reconnecting", "red")
                with client.live_lock:
                    lines = render(
                        client.live,
                        time.time(),
                        label=where.label,
                        width=width,
                        height=height,
                        style=screen.style,
                        state=state,
                    )
                screen.draw(lines)
                if args.once:
                    break
                wait = args.interval if deadline is None else min(args.interval, deadline - time.monotonic())
                if wait <= 0:
                    break
                if client.wait_closed(wait):
                    lost = True  # closed for good: the reconnects gave up
                    break
        except KeyboardInterrupt:
            pass  # Ctrl-C is how a watch ends
        finally:
            screen.close()
    if lost:
        raise UsageError(f"the connection to {where.label} was closed")
    return 0
