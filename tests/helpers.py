"""Helpers shared by the core's tests: load recordings and drive a Connection."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import amiproto
from amiproto import _connection
from amiproto._framing import PLAIN_END, Framer
from amiproto._messages import event_name_of
from amiproto._server import GREETING

from .conftest import DATA, RECORDINGS

RECORDING_NAMES = (
    "bad_secret",
    "events_off",
    "filter",
    "md5_login",
    "mixed_session",
    "originate_sync",
    "plain_login",
    "readonly",
)


def load_jsonl(path: Path) -> list[tuple[str, bytes]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as lines:
        return [(rec["dir"], bytes.fromhex(rec["hex"])) for rec in map(json.loads, lines)]


def recording_paths() -> Iterator[Path]:
    """The shared recordings when present, else the committed copies."""
    for name in RECORDING_NAMES:
        shared = RECORDINGS / f"{name}.jsonl"
        yield shared if shared.exists() else DATA / f"{name}.jsonl.gz"


def split_actions(data: bytes) -> list[amiproto.Action]:
    """Parse a client's own bytes back into Actions (tx chunks of a recording)."""
    actions = []
    for block in data.split(b"\r\n\r\n"):
        if not block.strip():
            continue
        lines = block.decode().split("\r\n")
        _, _, name = lines[0].partition(": ")
        pairs = [tuple(line.split(": ", 1)) for line in lines[1:]]
        actions.append(amiproto.Action(name, [(k, v) for k, v in pairs]))
    return actions


def drain(conn: amiproto.Connection) -> list[amiproto.Item]:
    items: list[amiproto.Item] = []
    while True:
        item = conn.next_event()
        if item is amiproto.NEED_DATA:
            return items
        items.append(item)


def feed_all(
    chunks: Iterable[bytes], conn: amiproto.Connection | None = None, *, eof: bool = True
) -> list[amiproto.Item]:
    """Feed chunks one by one (draining after each), then end of file."""
    conn = conn or amiproto.Connection(action_id_prefix="t")
    items: list[amiproto.Item] = []
    for chunk in chunks:
        if chunk:  # b"" would mean end of file
            conn.receive_data(chunk)
            items.extend(drain(conn))
    if eof:
        conn.receive_data(b"")
        items.extend(drain(conn))
    return items


def summary(items: Iterable[object]) -> list[tuple[object, ...]]:
    """A comparable digest of items: type, exact bytes, and derived fields."""
    out: list[tuple[object, ...]] = []
    for item in items:
        if isinstance(item, amiproto.Message):
            extra: tuple[object, ...] = (item.truncated, list(item.headers), item.unparsed)
            if isinstance(item, amiproto.Response):
                extra += (item.output, item.orphan)
            out.append((type(item).__name__, item.raw, *extra))
        elif isinstance(item, amiproto.Greeting):
            out.append(("Greeting", item.raw))
        elif isinstance(item, amiproto.ActionCompleted):
            out.append(
                (
                    "ActionCompleted",
                    item.action_id,
                    item.complete,
                    item.timed_out,
                    tuple(e.raw for e in item.events),
                    item.warnings,
                )
            )
        else:
            out.append((repr(item),))
    return out


def chunked(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def kind(item: object) -> str:
    """The core's kind of an item, whether or not a typed event class was used."""
    for base in (amiproto.Event, amiproto.Response, amiproto.UnknownMessage):
        if isinstance(item, base):
            return base.__name__
    return type(item).__name__


def connected(**options: object) -> amiproto.Connection:
    """A client Connection that has read the greeting; ActionIDs ``t-1``, ``t-2`` ..."""
    conn = amiproto.Connection(action_id_prefix="t", **options)  # type: ignore[arg-type]
    conn.receive_data(GREETING)
    assert isinstance(conn.next_event(), amiproto.Greeting)
    return conn


def reply(conn: amiproto.Connection, text: str) -> list[amiproto.Item]:
    """Feed ``text`` (LF line ends, sent as CRLF) and return the items it gives."""
    conn.receive_data(text.replace("\n", "\r\n").encode())
    return drain(conn)


def learn_name(key: bytes) -> tuple[str, type[amiproto.Event]]:
    """What a connection learns of an ``Event:`` line's rest, with every class plain."""
    return key.strip().decode("utf-8", "surrogateescape"), amiproto.Event


def take_fast_run(framer: Framer) -> list[tuple[bytes, str | None]] | None:
    """The framer's fast path as the connection takes it (in C when chosen): each
    message's bytes with its event name (None for a response); None when the general
    path must take the next message, [] when it waits for more bytes."""
    take = _connection._C_TAKE_EVENTS
    if take is None:
        blocks = framer.take_plain_run()
        if blocks is None:
            return None
        return [(block + PLAIN_END, event_name_of(block)) for block in blocks]
    built = framer.take_built_run(take, ({}, learn_name, "utf-8", amiproto.Event))
    if built is None:
        return None
    events, response = built
    taken: list[tuple[bytes, str | None]] = []
    for event in events:
        assert isinstance(event, amiproto.Event)  # without an answerer, a run holds only events
        taken.append((event.raw, event.name))
    return taken if response is None else [*taken, (response, None)]
