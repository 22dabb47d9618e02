"""``amiproto record FILE``: save a session's traffic, both directions, secrets redacted.

Two ways to make the session:

- by default this command is the client: it logs in, sends each ``--action``,
  then listens to events for ``--duration`` seconds (or ``--count`` events),
  and logs off;
- with ``--listen PORT`` it is a recording proxy for another program: point
  that program at ``127.0.0.1:PORT`` and its session with the server is
  recorded until it disconnects (or Ctrl-C).

Either way the bytes pass through a proxy on loopback, so the file holds
exactly what crossed the wire, in the ``.jsonl`` format of the recordings
(``amiproto replay`` plays it back). ``--log`` also writes the readable form,
``NAME.log``, beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import socket
import threading
import time
from pathlib import Path

import amiproto

from ._action import resolve_action
from ._common import (
    Target,
    UsageError,
    add_connection_options,
    add_output_options,
    open_client,
    parse_pairs,
    target,
)
from ._output import Progress, Terminal
from ._recording import Proxy, SessionWriter, log_path

__all__ = ["add_parser", "run"]

_DEFAULT_DURATION = 5.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record a session's traffic to a .jsonl file (secrets redacted)",
        description="Record both directions of an AMI session in the recordings' .jsonl format, with "
        "Secret and Key values redacted. Without --host, an embedded simulator with call traffic "
        "is recorded.",
    )
    parser.add_argument("file", metavar="FILE", help="where to write (.jsonl, or .jsonl.gz)")
    parser.add_argument(
        "--action",
        dest="actions",
        metavar="'NAME [Key=Value ...]'",
        action="append",
        default=[],
        help="an action to send after login (repeatable, in order)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help=f"seconds of events to record (default {_DEFAULT_DURATION:g}, or 0 with --action)",
    )
    parser.add_argument("--count", type=int, metavar="N", help="stop after N events")
    parser.add_argument(
        "--log",
        action="store_true",
        help="also write the readable form beside FILE (x.jsonl -> x.log): chunks headed "
        "'--- rx N' / '--- tx N', redacted alike",
    )
    parser.add_argument(
        "--listen",
        type=int,
        metavar="PORT",
        help="record another client's session instead: listen on 127.0.0.1:PORT (0: any free port)",
    )
    add_output_options(parser)
    add_connection_options(parser)
    parser.set_defaults(run=run)


def _parse_actions(texts: list[str]) -> list[amiproto.Action]:
    parsed = []
    for text in texts:
        try:
            words = shlex.split(text)
        except ValueError as error:
            raise UsageError(f"--action {text!r}: {error}") from None
        if not words:
            raise UsageError("--action needs an action name")
        name, end = resolve_action(words[0])
        parsed.append(amiproto.Action(name, parse_pairs(words[1:]), list_complete_event=end))
    return parsed


def _upstream(where: Target) -> socket.socket:
    return socket.create_connection((where.host, where.port), timeout=where.timeout)


def run(args: argparse.Namespace) -> int:
    to_send = _parse_actions(args.actions)
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if args.listen is not None and not 0 <= args.listen < 65536:
        raise UsageError(f"--listen {args.listen} is not a TCP port")
    duration = args.duration
    if duration is None and args.count is None and args.listen is None:
        duration = 0.0 if to_send else _DEFAULT_DURATION
    log = log_path(args.file) if args.log else None
    if log is not None and not Path(args.file).name.removesuffix(".gz").endswith(".jsonl"):
        raise UsageError(f"{args.file}: --log needs a FILE ending in .jsonl or .jsonl.gz")
    term = Terminal(plain=args.plain)
    with target(args, calls_per_second=2.0) as where:
        try:
            writer = SessionWriter(args.file, log)
        except OSError as error:
            raise UsageError(f"cannot write {error.filename or args.file}: {error.strerror}") from None
        try:
            if args.listen is not None:
                _record_other(term, where, writer, args.listen, duration)
            else:
                _record_own(
                    term, where=where, writer=writer, to_send=to_send, duration=duration, count=args.count
                )
        finally:
            writer.close()
    total = writer.chunks["rx"] + writer.chunks["tx"]
    term.line(
        f"saved {total} chunks ({writer.bytes['rx']:,} bytes received, {writer.bytes['tx']:,} sent) "
        f"to {writer.path}{'' if log is None else f' and {log}'}; Secret and Key values redacted"
    )
    return 0


def _progress_text(writer: SessionWriter, start: float, events: int | None = None) -> str:
    seen = "" if events is None else f"{events} events, "
    size = writer.bytes["rx"] + writer.bytes["tx"]
    chunks = writer.chunks["rx"] + writer.chunks["tx"]
    return f"{time.monotonic() - start:.1f} s, {seen}{size:,} bytes in {chunks} chunks"


def _record_own(
    term: Terminal,
    *,
    where: Target,
    writer: SessionWriter,
    to_send: list[amiproto.Action],
    duration: float | None,
    count: int | None,
) -> None:
    # Connect to the server first, so a refused connection is reported as such.
    try:
        server = _upstream(where)
    except OSError as error:
        raise amiproto.ConnectionLost(f"cannot connect to {where.label}: {error}") from None
    proxy = Proxy(lambda: server, writer)
    proxy.start()
    seen = 0
    enough = threading.Event()

    def on_event(_: amiproto.Event) -> None:
        nonlocal seen
        seen += 1
        if count is not None and seen >= count:
            enough.set()

    start = time.monotonic()
    try:
        host, port = proxy.address
        via_proxy = dataclasses.replace(where, host=host, port=port)
        with open_client(via_proxy, callbacks=[("", on_event)]) as client:
            for action in to_send:
                completed = client.send_action(action, timeout=where.timeout)
                status = completed.response.status if completed.response is not None else "no response"
                listed = f", {len(completed.events)} list events" if completed.is_list else ""
                term.note(f"{action.name}: {status}{listed}")
            deadline = None if duration is None else start + duration
            with Progress("recording") as progress:
                while not enough.is_set() and client.is_connected():
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    enough.wait(0.1 if deadline is None else min(0.1, deadline - now))
                    progress.update(_progress_text(writer, start, seen))
    except KeyboardInterrupt:
        pass  # stopping by hand is a normal end: the file is kept
    finally:
        # The Logoff's Goodbye makes the server close; give the proxy a moment to see it.
        proxy.done.wait(2.0)
        proxy.stop()


def _record_other(
    term: Terminal, where: Target, writer: SessionWriter, listen: int, duration: float | None
) -> None:
    try:
        proxy = Proxy(lambda: _upstream(where), writer, ("127.0.0.1", listen))
    except OSError as error:
        raise UsageError(f"cannot listen on 127.0.0.1:{listen}: {error.strerror}") from None
    proxy.start()
    host, port = proxy.address
    term.line(f"recording: connect your AMI client to {host}:{port} (forwarded to {where.label})")
    start = time.monotonic()
    try:
        with Progress("recording") as progress:
            while not proxy.done.wait(0.1):
                if duration is not None and time.monotonic() - start >= duration:
                    break
                if proxy.connected.is_set():
                    progress.update(_progress_text(writer, start))
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    if proxy.error is not None:
        raise amiproto.ConnectionLost(f"cannot connect to {where.label}: {proxy.error}")
