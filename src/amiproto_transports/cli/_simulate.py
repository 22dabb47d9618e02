"""``amiproto simulate``: run the embedded simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse

from ..simulator import DEFAULT_USERS
from ..simulator._options import OptionError, add_arguments, open_simulator, serve
from ._common import UsageError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run the AMI simulator in the foreground",
        description="Serve AMI like an Asterisk 22 would, on loopback, until Ctrl-C. "
        "Default user: admin / wordpass with all rights.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def log(line: str) -> None:
        print(line, flush=True)

    def ready(host: str, port: int) -> None:
        users = "" if args.manager_conf else f" (user admin, secret {DEFAULT_USERS['admin'][0]})"
        print(f"AMI simulator listening on {host}:{port}{users}; Ctrl-C stops it", flush=True)

    try:
        serve(open_simulator(args, log if args.verbose else None), args, ready)
    except OptionError as error:
        raise UsageError(str(error)) from None
    return 0
