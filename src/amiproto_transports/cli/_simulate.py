"""``amiproto simulate``: run the embedded simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from amiproto import RemoteProtocolError

from ..simulator import DEFAULT_USERS, Simulator
from ._common import DEFAULT_PORT, UsageError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run the AMI simulator in the foreground",
        description="Serve AMI like an Asterisk 22 would, on loopback, until Ctrl-C. "
        "Default user: admin / wordpass with all rights.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--calls-per-second", type=float, metavar="R", help="originate calls at this rate")
    parser.add_argument("--replay", metavar="FILE.rx", help="stream this recording's events (.rx or .rx.gz)")
    parser.add_argument("--replay-rate", type=float, metavar="R", help="events per second for --replay")
    parser.add_argument("--manager-conf", metavar="FILE", help="users and permissions from a manager.conf")
    parser.add_argument("--verbose", action="store_true", help="log connections and actions")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for option in ("calls_per_second", "replay_rate"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be positive")
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        simulator = Simulator(
            manager_conf=args.manager_conf,
            calls_per_second=args.calls_per_second,
            replay=args.replay,
            replay_rate=args.replay_rate,
            log=log if args.verbose else None,
        )
    except OSError as error:  # also a .gz file that is not gzip
        where = error.filename or args.replay
        raise UsageError(f"cannot read {where}: {error.strerror or error}") from None
    except RemoteProtocolError as error:
        raise UsageError(f"{args.replay} is not an AMI recording: {error}") from None
    except ValueError as error:  # a malformed manager.conf (ManagerConfError names the line)
        raise UsageError(str(error)) from None

    def ready(host: str, port: int) -> None:
        users = "" if args.manager_conf else f" (user admin, secret {DEFAULT_USERS['admin'][0]})"
        print(f"AMI simulator listening on {host}:{port}{users}; Ctrl-C stops it", flush=True)

    try:
        simulator.serve_forever(args.host, args.port, ready=ready)
    except KeyboardInterrupt:
        sys.stdout.write("stopped\n")
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return 0
