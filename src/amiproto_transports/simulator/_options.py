"""The simulator's command line: one set of options for ``python -m`` and ``amiproto simulate``.

Both add the same options with ``add_arguments``, build the simulator with
``open_simulator`` and run it with ``serve``; each entry point keeps only its
own description, its "listening" line and how it reports an ``OptionError``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from amiproto import RemoteProtocolError

from ._simulator import DEFAULT_LIMITS, Simulator

__all__ = ["DEFAULT_PORT", "OptionError", "add_arguments", "open_simulator", "serve"]

DEFAULT_PORT = 5038
"""Where Asterisk's manager listens unless told otherwise."""


class OptionError(Exception):
    """A user error in the options or in a file they name; its text is one line for stderr."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--calls-per-second", type=float, metavar="R", help="originate calls at this rate")
    parser.add_argument(
        "--replay",
        metavar="FILE.rx",
        help="stream this recording's events (.rx or .rx.gz) to logged-in clients",
    )
    parser.add_argument(
        "--replay-rate",
        type=float,
        metavar="R",
        help="events per second for --replay (default: as fast as possible)",
    )
    parser.add_argument(
        "--auth-timeout",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_LIMITS.auth_timeout,
        help="close a client that has not logged in after this long "
        f"(default {DEFAULT_LIMITS.auth_timeout:g})",
    )
    parser.add_argument(
        "--max-unauthenticated",
        type=int,
        metavar="N",
        default=DEFAULT_LIMITS.max_unauthenticated,
        help="connections that may wait to log in; more are closed at once "
        f"(default {DEFAULT_LIMITS.max_unauthenticated})",
    )
    parser.add_argument("--manager-conf", metavar="FILE", help="users and permissions from a manager.conf")
    parser.add_argument(
        "--write-each-message",
        action="store_true",
        help="send each message in a write of its own, as Asterisk does (default: what is due in one write)",
    )
    parser.add_argument("--verbose", action="store_true", help="log connections and actions")


def open_simulator(args: argparse.Namespace, log: Callable[[str], None] | None) -> Simulator:
    """The simulator the options ask for; ``OptionError`` for a bad value or file."""
    if not 0 <= args.port < 65536:
        raise OptionError(f"--port {args.port} is not a TCP port")
    if args.max_unauthenticated < 1:
        raise OptionError("--max-unauthenticated must be at least 1")
    for option in ("calls_per_second", "replay_rate", "auth_timeout"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            raise OptionError(f"--{option.replace('_', '-')} must be positive")
    try:
        return Simulator(
            manager_conf=args.manager_conf,
            calls_per_second=args.calls_per_second,
            replay=args.replay,
            replay_rate=args.replay_rate,
            log=log,
            auth_timeout=args.auth_timeout,
            max_unauthenticated=args.max_unauthenticated,
            write_each_message=args.write_each_message,
        )
    except OSError as error:  # also a .gz file that is not gzip
        where = error.filename or args.replay
        raise OptionError(f"cannot read {where}: {error.strerror or error}") from None
    except RemoteProtocolError as error:
        raise OptionError(f"{args.replay} is not an AMI recording: {error}") from None
    except ValueError as error:  # a malformed manager.conf (ManagerConfError names the line)
        raise OptionError(str(error)) from None


def serve(simulator: Simulator, args: argparse.Namespace, ready: Callable[[str, int], None]) -> None:
    """Serve in the foreground until Ctrl-C; ``OptionError`` when the address cannot be bound."""
    try:
        simulator.serve_forever(args.host, args.port, ready=ready)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    except OSError as error:
        raise OptionError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
