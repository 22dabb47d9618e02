"""Feed a PBX through a real Connection: events and list answers written as the server writes them."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping, Sequence

import amiproto
from amiproto.live import PBX, Change

from ..conftest import DATA, RECORDINGS, ROOT
from ..helpers import connected, drain, load_jsonl

Headers = Mapping[str, str] | Sequence[tuple[str, str]]

LOAD_RX = ROOT / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"


def block(first: tuple[str, str], headers: Headers, action_id: str | None = None) -> bytes:
    """One message: its first header, an ActionID if given, then ``headers``."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    lines = [first, *([("ActionID", action_id)] if action_id is not None else []), *pairs]
    return "".join(f"{name}: {value}\r\n" for name, value in lines).encode() + b"\r\n"


class Wire:
    """A PBX fed everything a client Connection yields, with the time ``now`` given to ``apply``."""

    def __init__(self, **options: object) -> None:
        self.conn = connected(**options)
        self.pbx = PBX()
        self.now = 1000.0
        self.items: list[object] = []

    def feed(self, data: bytes) -> list[Change]:
        self.conn.receive_data(data)
        changes: list[Change] = []
        for item in drain(self.conn):
            self.items.append(item)
            changes.extend(self.pbx.apply(item, self.now))
        return changes

    def event(self, name: str, headers: Headers) -> list[Change]:
        return self.feed(block(("Event", name), headers))

    def send(self, action: amiproto.Action) -> str:
        """Send ``action`` as a program would (no ActionID of its own); its ActionID."""
        self.conn.send(action)
        action_id = self.conn.last_action_id
        assert action_id is not None
        return action_id

    def snapshot(self) -> dict[str, str]:
        """Send the PBX's snapshot actions; their ActionIDs by action name."""
        return {action.name: self.send(action) for action in self.pbx.snapshot_actions()}

    def answer_list(
        self,
        action_id: str,
        items: Iterable[tuple[str, Headers]],
        complete_event: str,
        *,
        end: bool = True,
    ) -> list[Change]:
        """The server's list: start, items, and (unless ``end`` is false) the closing event."""
        data = block(
            ("Response", "Success"), [("EventList", "start"), ("Message", "List will follow")], action_id
        )
        count = 0
        for name, headers in items:
            data += block(("Event", name), headers, action_id)
            count += 1
        if end:
            closing = [("EventList", "Complete"), ("ListItems", str(count))]
            data += block(("Event", complete_event), closing, action_id)
        return self.feed(data)

    def answer_error(self, action_id: str, message: str) -> list[Change]:
        return self.feed(block(("Response", "Error"), [("Message", message)], action_id))

    def close(self) -> list[Change]:
        """End of file: what is still waiting completes as not whole."""
        return self.feed(b"")


def replay(rx: bytes, actions: Iterable[amiproto.Action] = ()) -> list[amiproto.Item]:
    """What the core yields for a server's bytes, after sending ``actions`` (with the recorded ActionIDs)
    so that their lists come back as ``ActionCompleted``."""
    conn = amiproto.Connection()
    for action in actions:
        conn.send(action)
    conn.receive_data(rx)
    conn.receive_data(b"")
    return drain(conn)


def load_rx() -> bytes:
    """The load_120calls recording: the shared file, else the copy the package ships."""
    shared = RECORDINGS / "load_120calls.rx"
    return shared.read_bytes() if shared.exists() else gzip.decompress(LOAD_RX.read_bytes())


def mixed_session_rx() -> bytes:
    """The mixed_session recording's server bytes: the shared file, else the committed copy."""
    shared = RECORDINGS / "mixed_session.rx"
    if shared.exists():
        return shared.read_bytes()
    return b"".join(
        data for direction, data in load_jsonl(DATA / "mixed_session.jsonl.gz") if direction == "rx"
    )
