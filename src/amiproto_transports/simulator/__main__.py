"""``python -m amiproto_transports.simulator --port 5038 [--manager-conf FILE] ...``

The options are those of ``amiproto simulate`` (see ``_options``); here
connections are logged with or without ``--verbose``. User errors (an
unreadable or malformed manager.conf or recording, a bad rate, a port that
cannot be bound) are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ._options import OptionError, add_arguments, open_simulator, serve

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
    add_arguments(parser)
    # This entry point has always logged connections; --verbose is accepted for a common command line.
    parser.set_defaults(verbose=True)
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    def ready(host: str, port: int) -> None:
        print(f"AMI simulator listening on {host}:{port}", flush=True)

    try:
        serve(open_simulator(args, log if args.verbose else None), args, ready)
    except OptionError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        sys.stderr.flush()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
