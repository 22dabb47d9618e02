"""Replay real Asterisk 22 sessions through the core, in wire order."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import amiproto

from .conftest import RECORDINGS
from .helpers import drain, load_jsonl, recording_paths, split_actions

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")

PATHS = list(recording_paths())


def reference_messages(rx: bytes) -> list[list[tuple[str, str]]]:
    """An independent, naive parse: Asterisk 22 frames every message with CRLF CRLF."""
    blocks = rx.split(b"\r\n\r\n")
    banner, _, first = blocks[0].partition(b"\r\n")
    assert banner.startswith(b"Asterisk Call Manager/")
    blocks[0] = first
    out = []
    for block in blocks:
        if not block:
            continue
        pairs = []
        for line in block.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(": ")
            pairs.append((name, value))
        out.append(pairs)
    return out


def replay(path: Path) -> tuple[list[amiproto.Item], list[amiproto.Action], bytes]:
    conn = amiproto.Connection()
    items: list[amiproto.Item] = []
    sent: list[amiproto.Action] = []
    rx = bytearray()
    for direction, data in load_jsonl(path):
        if direction == "tx":
            for action in split_actions(data):
                assert conn.send(action) == action.serialize()
                sent.append(action)
        else:
            rx += data
            conn.receive_data(data)
        items.extend(drain(conn))
    conn.receive_data(b"")
    items.extend(drain(conn))
    return items, sent, bytes(rx)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name.split(".")[0])
def test_every_message_has_its_exact_headers(path: Path) -> None:
    items, _, rx = replay(path)
    messages = [item for item in items if isinstance(item, amiproto.Message)]
    assert [list(m.headers) for m in messages] == reference_messages(rx)
    assert all(not m.unparsed and not m.truncated for m in messages)
    assert b"".join(m.raw for m in messages) == rx.partition(b"\r\n")[2]
    assert isinstance(items[0], amiproto.Greeting) and items[0].version == "11.0.0"
    assert isinstance(items[-1], amiproto.ConnectionClosed)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name.split(".")[0])
def test_every_action_completes_once_with_its_list(path: Path) -> None:
    items, sent, _ = replay(path)
    completions = [item for item in items if isinstance(item, amiproto.ActionCompleted)]
    assert sorted(c.action_id for c in completions) == sorted(a.action_id or "" for a in sent)
    for done in completions:
        position = items.index(done)
        if done.response is None:
            assert not done.complete
            continue
        # The completion comes right after the last message that belongs to the action.
        last = done.events[-1] if done.events else done.response
        assert items[position - 1] is last
        assert not done.warnings
        if done.is_list:
            start = items.index(done.response)
            mine = [
                e
                for e in items[start:position]
                if isinstance(e, amiproto.Event) and e.action_id == done.action_id
            ]
            assert list(done.events) == mine
            assert done.events[-1].get("EventList") == "Complete"
            assert int(done.events[-1].get("ListItems") or -1) == len(done.events) - 1


def _completion(items: list[amiproto.Item], action_id: str) -> amiproto.ActionCompleted:
    found = [i for i in items if isinstance(i, amiproto.ActionCompleted) and i.action_id == action_id]
    assert len(found) == 1
    return found[0]


def mixed_session() -> list[amiproto.Item]:
    return replay(next(p for p in PATHS if p.name.startswith("mixed_session")))[0]


def test_mixed_session_lists() -> None:
    items = mixed_session()
    names = {
        "m-18": ["Status"] * 4 + ["StatusComplete"],
        "m-19": ["CoreShowChannel"] * 4 + ["CoreShowChannelsComplete"],
        "m-20": ["QueueParams", "QueueMember", "QueueStatusComplete"],
        "m-21": ["QueueSummary", "QueueSummaryComplete"],
        "m-22": ["BridgeListComplete"],
        "m-12": ["DBGetResponse", "DBGetComplete"],
    }
    for action_id, expected in names.items():
        done = _completion(items, action_id)
        assert done.is_list and done.complete and done.success
        assert [e.name for e in done.events] == expected
    assert _completion(items, "m-13").response is not None
    assert not _completion(items, "m-13").success  # DBGet of a missing key: Error, no list


def test_mixed_session_command_output() -> None:
    items = mixed_session()
    uptime = _completion(items, "m-6").response
    assert uptime is not None
    assert uptime.output == ["System uptime: 29 minutes, 50 seconds", "Last reload: 29 minutes, 50 seconds"]
    channels = _completion(items, "m-7").response
    assert channels is not None and channels.output[1:] == [
        "0 active channels",
        "0 active calls",
        "206 calls processed",
    ]
    bad = _completion(items, "m-8")
    assert bad.response is not None and bad.response.status == "error" and not bad.success
    assert bad.response.output == [
        "No such command 'no such command' (type 'core show help no such' for other possible commands)"
    ]


def test_repeated_headers_survive() -> None:
    items = mixed_session()
    user_events = [i for i in items if isinstance(i, amiproto.Event) and i.name == "UserEvent"]
    capture = [e for e in user_events if e.get("UserEvent") == "Capture"]
    assert len(capture) == 1
    assert capture[0].headers.get_all("header1") == ["a: b", "dup"]
    assert capture[0].action_id == "m-14"


def test_bad_secret_leaves_the_ping_incomplete() -> None:
    path = next(p for p in PATHS if p.name.startswith("bad_secret"))
    items, _, _ = replay(path)
    login = _completion(items, "1")
    assert login.response is not None and login.response.message == "Authentication failed"
    ping = _completion(items, "2")
    assert not ping.complete and ping.response is None
    closed = items[-1]
    assert isinstance(closed, amiproto.ConnectionClosed)


def test_committed_copies_match_shared() -> None:
    if not RECORDINGS.exists():
        pytest.skip("../shared is absent")
    from .conftest import DATA

    for copy in DATA.glob("*.jsonl.gz"):
        shared = RECORDINGS / copy.name.removesuffix(".gz")
        assert gzip.decompress(copy.read_bytes()) == shared.read_bytes()
