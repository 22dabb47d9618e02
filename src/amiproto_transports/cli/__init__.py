"""The ``amiproto`` command: demo, events, top, action, simulate, record, replay, bench.

Exit status: 0 success; 1 the action was answered with ``Response: Error``
(``replay``: a client sent an action the recording does not have);
2 a user error (bad arguments, connection refused, timeout, bad credentials,
unknown action, malformed ``Key=Value``), reported as one line on stderr
without a traceback; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import amiproto
from amiproto import _accel

from . import _action, _bench, _demo, _events, _record, _replay, _simulate, _top
from ._common import OneLineParser, UsageError

__all__ = ["main"]

_COMMANDS = (_demo, _events, _top, _action, _simulate, _record, _replay, _bench)


def version_line() -> str:
    """``amiproto X.Y (C speedups: ...)``: a bug report says which code ran."""
    loaded = [_accel.c_function(twin.module, twin.slot) is not None for twin in _accel.TWINS]
    if all(loaded):
        speedups = "in use"
    elif not _accel.speedups_enabled():
        speedups = "off (AMIPROTO_PURE_PYTHON)"
    elif any(loaded):
        speedups = "partly built, pure Python for the rest"
    else:
        speedups = "not built, pure Python"
    return f"amiproto {amiproto.__version__} (C speedups: {speedups})"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="amiproto",
        description="Talk to the Asterisk Manager Interface, or to amiproto's embedded simulator.",
        epilog="Start with 'amiproto demo'. Each command has --help.",
    )
    parser.add_argument("--version", action="version", version=version_line())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``amiproto`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # argparse would blame the top-level parser; the words follow a subcommand.
            _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:  # argparse reports usage errors itself (status 2) and --help (0)
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except UsageError as error:
        return _fail(str(error))
    except amiproto.AuthenticationError as error:
        return _fail(f"bad credentials: {error}")
    except amiproto.ActionTimeout as error:
        return _fail(f"timed out: {error}")
    except amiproto.ConnectionLost as error:
        return _fail(str(error))
    except amiproto.LocalProtocolError as error:
        return _fail(str(error))
    except BrokenPipeError:
        # The reader of our stdout went away (``| head``): nothing left to say, and
        # the interpreter's final flush must not complain about it either.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"amiproto: error: {message}\n")
    sys.stderr.flush()
    return 2
