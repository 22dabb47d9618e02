"""``python -m amiproto_transports.simulator --port 5038 [--manager-conf FILE] ...``

User errors (an unreadable or malformed manager.conf or recording, a bad rate,
a port that cannot be bound) are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from amiproto import RemoteProtocolError

from . import Simulator

PROG = "python -m amiproto_transports.simulator"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other user error here, instead of the usage block.
        sys.stderr.write(f"{PROG}: error: {message} (see '{PROG} --help')\n")
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog=PROG,
        description="Run the amiproto AMI simulator in the foreground until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5038, help="port (default 5038; 0 picks a free one)")
    parser.add_argument("--manager-conf", help="read users and permissions from this manager.conf")
    parser.add_argument("--calls-per-second", type=float, help="generate call traffic at this rate")
    parser.add_argument("--replay", help="stream the events of this .rx or .rx.gz file to logged-in clients")
    parser.add_argument(
        "--replay-rate", type=float, help="events per second for --replay (default: as fast as possible)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        return _fail(f"--port {args.port} is not a TCP port")
    for option in ("calls_per_second", "replay_rate"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            return _fail(f"--{option.replace('_', '-')} must be positive")

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        sim = Simulator(
            manager_conf=args.manager_conf,
            calls_per_second=args.calls_per_second,
            replay=args.replay,
            replay_rate=args.replay_rate,
            log=log,
        )
    except OSError as error:  # also a .gz file that is not gzip
        where = error.filename or args.replay
        return _fail(f"cannot read {where}: {error.strerror or error}")
    except RemoteProtocolError as error:
        return _fail(f"{args.replay} is not an AMI recording: {error}")
    except ValueError as error:  # a malformed manager.conf
        return _fail(str(error))

    def ready(host: str, port: int) -> None:
        print(f"AMI simulator listening on {host}:{port}", flush=True)

    try:
        sim.serve_forever(args.host, args.port, ready=ready)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    except OSError as error:
        return _fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()
    return 2


if __name__ == "__main__":
    sys.exit(main())
