"""``amiproto replay FILE``: play a recording to a client, as the server.

- A ``.jsonl`` session (from ``amiproto record`` or ``shared/recordings``) is
  played as a script: the server's chunks are sent in order, and at each
  point where the recorded client spoke, the replay waits for the connected
  client to send as many actions. The ActionIDs of the recording are rewritten
  to the ones the client really used, so that its answers correlate. Secrets
  are not checked (they were redacted anyway). A client that sends another
  action than the recorded one gets a ``Response: Error`` saying so instead of
  the recorded answer, which would mislead it, and its session ends there; the
  command then exits with status 1 (after ``--once``, or when stopped).
- A raw ``.rx`` / ``.rx.gz`` stream (server bytes only) is served by the
  simulator's replay mode: a client logs in as to the simulator, then gets the
  recording's events.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import amiproto

from ..simulator import Simulator
from ._common import DEFAULT_PORT, UsageError, positive_seconds
from ._output import Terminal
from ._recording import read_session

__all__ = ["Mismatch", "Script", "add_parser", "load_script", "run", "serve_script"]

_ACTION_ID_LINE = re.compile(rb"(?im)^actionid[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(\r?\n)")


@dataclass
class Script:
    """A recorded session cut into turns: bytes to send, or actions to wait for."""

    turns: list[bytes | list[amiproto.ReceivedAction]] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return sum(len(turn) for turn in self.turns if isinstance(turn, list))


def load_script(path: str | Path) -> Script:
    """Read a ``.jsonl`` recording and group it into turns.

    The client's bytes are framed as one stream, so an action split over two
    chunks counts once, in the turn where it became whole.
    """
    script = Script()
    server = amiproto.ServerConnection()
    for direction, data in read_session(path):
        last = script.turns[-1] if script.turns else None
        if direction == "rx":
            if isinstance(last, bytes):
                script.turns[-1] = last + data
            else:
                script.turns.append(data)
            continue
        server.receive_data(data)
        received = []
        while isinstance(item := server.next_action(), amiproto.ReceivedAction):
            received.append(item)
        if isinstance(last, list):
            last.extend(received)
        elif received:
            script.turns.append(received)
    return script


def rewrite_ids(data: bytes, ids: dict[str, str | None]) -> bytes:
    """``data`` with each recorded ActionID replaced by the client's (or removed when it sent none)."""
    if not ids:
        return data

    def replace(found: re.Match[bytes]) -> bytes:
        recorded = found.group(1).decode("utf-8", "surrogateescape")
        if recorded not in ids:
            return found.group(0)
        live = ids[recorded]
        if live is None:
            return b""
        return b"ActionID: " + live.encode("utf-8", "surrogateescape") + found.group(2)

    return _ACTION_ID_LINE.sub(replace, data)


class Mismatch(Exception):
    """The client sent another action than the recording has; it was answered with an error."""


def mismatch_response(live: amiproto.ReceivedAction, recorded: amiproto.ReceivedAction) -> bytes:
    """The ``Response: Error`` a client gets for an action the recording does not have here."""
    lines = ["Response: Error"]
    if live.action_id is not None:
        lines.append(f"ActionID: {live.action_id}")
    sent = live.name or "no Action header"
    lines.append(f"Message: amiproto replay: the recording has {recorded.name} here, not {sent}")
    return "".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape") + b"\r\n"


def serve_script(sock: socket.socket, script: Script, notes: list[str], timeout: float | None = None) -> bool:
    """Play ``script`` on one client connection; True when it ran to the end.

    Raises ``Mismatch`` (after answering the client with an error) when the
    client sends another action than the recorded one.
    """
    server = amiproto.ServerConnection()
    ids: dict[str, str | None] = {}
    sock.settimeout(timeout)
    for turn in script.turns:
        if isinstance(turn, bytes):
            sock.sendall(rewrite_ids(turn, ids))
            continue
        for recorded in turn:
            live = _next_action(sock, server)
            if live is None:
                return False
            if live.name.lower() != recorded.name.lower():
                sock.sendall(mismatch_response(live, recorded))
                raise Mismatch(
                    f"client sent {live.name or '(no action)'} where the recording has {recorded.name}: "
                    "answered with an error"
                )
            if recorded.action_id is not None:
                ids[recorded.action_id] = live.action_id
    return True


def _next_action(sock: socket.socket, server: amiproto.ServerConnection) -> amiproto.ReceivedAction | None:
    while True:
        item = server.next_action()
        if isinstance(item, amiproto.ReceivedAction):
            return item
        if isinstance(item, amiproto.ConnectionClosed):
            return None
        data = sock.recv(65536)
        server.receive_data(data)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="play a recording to a client, as the server",
        description="Serve a recorded session (.jsonl: played as a script, ActionIDs rewritten) or "
        "a raw server stream (.rx/.rx.gz: its events, after login to the simulator) to AMI clients.",
    )
    parser.add_argument("file", metavar="FILE", help="a .jsonl[.gz] session or a .rx[.gz] stream")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--once", action="store_true", help="exit after one client's session")
    parser.add_argument("--rate", type=float, metavar="R", help=".rx only: events per second")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        help="seconds (> 0) to wait for a client's next action (default 60)",
    )
    parser.add_argument("--plain", action="store_true", help="no colours")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")
    if args.rate is not None and args.rate <= 0:
        raise UsageError("--rate must be positive")
    term = Terminal(plain=args.plain)
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        return _replay_session(term, args, path)
    if name.endswith(".rx"):
        return _replay_stream(term, args, path)
    raise UsageError(f"{path}: expected a .jsonl, .jsonl.gz, .rx or .rx.gz file")


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def _replay_session(term: Terminal, args: argparse.Namespace, path: Path) -> int:
    try:
        script = load_script(path)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    term.line(f"replaying {path.name} ({script.actions} client actions) on {host}:{port}; Ctrl-C stops")
    timeout: float = args.timeout
    mismatched = False
    try:
        with listener:
            while True:
                sock, peer = listener.accept()
                with sock:
                    notes: list[str] = []
                    try:
                        finished = serve_script(sock, script, notes, timeout)
                    except Mismatch as mismatch:
                        finished = False
                        mismatched = True
                        notes.append(str(mismatch))
                    except TimeoutError:
                        finished = False
                        notes.append(f"no action from the client in {timeout:g} s")
                    except OSError as error:
                        finished = False
                        notes.append(f"connection error: {error}")
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                for note in notes:
                    term.note(f"{peer[0]}:{peer[1]}: {note}")
                ended = "played to the end" if finished else "ended early"
                term.line(f"{peer[0]}:{peer[1]}: session {ended}")
                if args.once:
                    return 1 if mismatched else 0
    except KeyboardInterrupt:
        return 1 if mismatched else 0


def _replay_stream(term: Terminal, args: argparse.Namespace, path: Path) -> int:
    seen = threading.Event()

    def log(line: str) -> None:
        if line.startswith("connection from"):
            seen.set()
        term.note(line)

    try:
        simulator = Simulator(replay=path, replay_rate=args.rate, log=log)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    try:
        with simulator.running(args.host, args.port) as (host, port):
            term.line(
                f"replaying the events of {path.name} on {host}:{port} to each client after login "
                "(user admin, secret wordpass); Ctrl-C stops"
            )
            while True:
                time.sleep(0.05)
                if args.once and seen.is_set() and not simulator.connections:
                    return 0
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
