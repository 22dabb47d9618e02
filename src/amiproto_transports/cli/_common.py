"""What the subcommands share: connection options, the embedded fallback, user errors.

The rule for where a command connects: to the host and port that the options,
the ``--profile`` or the ``AMI_HOST``/``AMI_PORT`` variables give (a port alone
means 127.0.0.1; ``_config`` says which wins), otherwise to an embedded
simulator started on a free loopback port for the command's lifetime. Nothing
else is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from amiproto import Action, ActionTimeout, ConnectionLost, Event, LocalProtocolError

from .._shared._options import ENVIRONMENT
from ..simulator import DEFAULT_USERS, Simulator
from ..sync import Client, connect
from ._config import ConfigError, Settings, settings

__all__ = [
    "DEFAULT_PORT",
    "OneLineParser",
    "Target",
    "UsageError",
    "add_connection_options",
    "add_output_options",
    "open_client",
    "parse_pairs",
    "positive_seconds",
    "target",
]

DEFAULT_PORT = 5038
DEFAULT_USER = "admin"
SECRET_ENV = ENVIRONMENT["secret"]
SIMULATOR_NOTE = "no --host given: using an embedded simulator"


class UsageError(Exception):
    """A mistake the user can fix: printed as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit status 2).

    argparse prints the whole usage block first; that buries the one line that
    matters, and our contract for user errors is a single line. Subcommand
    parsers inherit this class through ``add_subparsers``.
    """

    def error(self, message: str) -> NoReturn:
        # self.prog is "amiproto" or "amiproto action": name the --help that fits.
        sys.stderr.write(f"amiproto: error: {message} (see '{self.prog} --help')\n")
        sys.stderr.flush()
        raise SystemExit(2)


def positive_seconds(text: str) -> float:
    """argparse type for a duration: a finite number of seconds greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection",
        "options absent are read from --profile, then from AMI_HOST, AMI_PORT, AMI_USERNAME and "
        "AMI_SECRET; without a host or port, an embedded simulator on loopback is used",
    )
    group.add_argument("--host", help="Asterisk host to connect to")
    group.add_argument("--port", type=int, help=f"AMI port (default {DEFAULT_PORT})")
    group.add_argument("--user", help=f"AMI username (default {DEFAULT_USER})")
    group.add_argument("--secret", help=f"AMI secret (default: ${SECRET_ENV}, else a prompt on a terminal)")
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="host, port, username and secret (or secret_command) from table [NAME] of "
        "~/.config/amiproto/config.toml ($AMIPROTO_CONFIG names another file)",
    )
    group.add_argument("--auth", choices=("md5", "plain"), default="md5", help="login method (default md5)")
    group.add_argument(
        "--timeout",
        type=positive_seconds,
        default=10.0,
        help="seconds (> 0) to wait to connect and for answers (default 10)",
    )


def add_output_options(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    parser.add_argument("--plain", action="store_true", help="no colours (also: NO_COLOR=1 or a pipe)")
    if json_help is not None:
        parser.add_argument("--json", action="store_true", help=json_help)


@dataclass(frozen=True)
class Target:
    """Where to connect and as whom; ``simulator`` is set when it is the embedded one."""

    host: str
    port: int
    user: str
    secret: str = field(repr=False)
    auth: str
    timeout: float
    simulator: Simulator | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


@contextlib.contextmanager
def target(
    args: argparse.Namespace,
    *,
    calls_per_second: float | None = None,
    note: bool = True,
) -> Iterator[Target]:
    """The server named on the command line, or an embedded simulator while the block runs."""
    timeout: float = args.timeout
    try:
        found = settings(args.profile, host=args.host)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    for warning in found.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    host = args.host if args.host is not None else found.host
    port = args.port if args.port is not None else found.port
    if host is not None or port is not None:
        port = DEFAULT_PORT if port is None else port
        if not 0 < port < 65536:
            raise UsageError(f"port {port} is not a TCP port")
        user = args.user or found.username or DEFAULT_USER
        yield Target(host or "127.0.0.1", port, user, _secret(args, found, user), args.auth, timeout)
        return
    user = args.user or DEFAULT_USER
    simulator = Simulator(calls_per_second=calls_per_second)
    # AMI_SECRET is meant for real servers: only an explicit --secret applies here.
    secret = args.secret if args.secret is not None else DEFAULT_USERS[DEFAULT_USER][0]
    with simulator.running("127.0.0.1", 0) as (host, port):
        if note:
            traffic = f", {calls_per_second:g} calls/s" if calls_per_second else ""
            sys.stderr.write(f"{SIMULATOR_NOTE} on {host}:{port}{traffic}\n")
            sys.stderr.flush()
        yield Target(host, port, user, secret, args.auth, timeout, simulator)


def _secret(args: argparse.Namespace, found: Settings, user: str) -> str:
    if args.secret is not None:
        return str(args.secret)
    if found.secret is not None:
        return found.secret
    if sys.stdin.isatty():
        try:
            return getpass.getpass(f"AMI secret for {user}: ")
        except EOFError:
            pass
    raise UsageError(f"no secret given: use --secret or set {SECRET_ENV}")


def open_client(
    where: Target,
    *,
    events: bool | str = True,
    callbacks: Sequence[tuple[str, Callable[[Event], object]]] = (),
    live: bool = False,
    reconnect: bool = False,
) -> Client:
    """Connect and log in with the sync client (errors propagate as ``amiproto`` errors).

    ``callbacks`` are registered before the login, so that no event sent right
    after it (``FullyBooted``, a replayed stream) is missed. ``live`` keeps
    ``client.live`` current; ``reconnect`` as ``connect`` takes it.
    """
    client = connect(where.host, where.port, timeout=where.timeout, live=live, reconnect=reconnect)
    try:
        for key, callback in callbacks:
            client.register_callback(key, callback)
        try:
            client.login(where.user, where.secret, auth=where.auth, events=events, timeout=where.timeout)
        except ActionTimeout:
            raise ActionTimeout(f"no answer to the login from {where.label} in {where.timeout:g} s") from None
        except ConnectionLost:
            raise ConnectionLost(f"{where.label} closed the connection before answering the login") from None
    except BaseException:
        client.close()
        raise
    return client


def parse_pairs(words: list[str]) -> list[tuple[str, str]]:
    """``Key=Value`` words as header pairs, in order, duplicates kept; the value may hold ``=``."""
    pairs = []
    for word in words:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise UsageError(f"malformed argument {word!r}: expected Key=Value")
        if any(char.isspace() for char in name):
            raise UsageError(f"malformed argument {word!r}: a header name has no spaces")
        try:
            Action("Check", [(name, value)])
        except LocalProtocolError as error:
            raise UsageError(f"malformed argument {word!r}: {error}") from None
        pairs.append((name, value))
    return pairs
