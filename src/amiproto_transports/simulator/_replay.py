"""A recorded ``.rx`` stream cut once into its events, ready to be sent in big slices."""

from __future__ import annotations

import gzip
from pathlib import Path

from amiproto import Connection, Event

__all__ = ["Recording", "load_recording"]


class Recording:
    """The events of a recording, joined in one ``bytes`` with the offset of each.

    Sending events ``i`` to ``j`` is then one slice, whatever their number. The
    banner, the responses, and events that carry an ActionID (list items and
    replies that belonged to the recording client's own actions) are left out.
    """

    __slots__ = ("blob", "classes", "names", "offsets")

    def __init__(self, events: list[Event]) -> None:
        self.blob = b"".join(event.raw for event in events)
        offsets = [0]
        for event in events:
            offsets.append(offsets[-1] + len(event.raw))
        self.offsets = offsets
        self.names = [event.name for event in events]
        self.classes = [_classes(event.get("Privilege")) for event in events]

    def __len__(self) -> int:
        return len(self.names)

    def text(self, index: int) -> str:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.blob[start:end].decode("utf-8", "surrogateescape")


def _classes(privilege: str | None) -> frozenset[str]:
    return frozenset(p for p in (privilege or "").lower().split(",") if p and p != "all")


_FEED_SIZE = 1024 * 1024  # fed in pieces: a long recording exceeds the core's buffer limit


def load_recording(path: str | Path) -> Recording:
    """Read an ``.rx`` or ``.rx.gz`` file and keep its unsolicited events, framed by the core."""
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    conn = Connection()
    events: list[Event] = []
    pieces = [raw[start : start + _FEED_SIZE] for start in range(0, len(raw), _FEED_SIZE)]
    for piece in [*pieces, b""]:  # b"": the end of the file, which ends a cut-off last event
        conn.receive_data(piece)
        for item in conn.next_events():
            # Framing keeps whatever line ending the file had; resend it as recorded.
            if isinstance(item, Event) and item.action_id is None and not item.truncated:
                events.append(item)
    return Recording(events)
