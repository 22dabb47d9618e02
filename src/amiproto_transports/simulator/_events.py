"""Outgoing events: formatted once, shared by every session that receives them."""

from __future__ import annotations

from collections.abc import Iterable

from amiproto import format_message

__all__ = ["OutEvent", "make_event"]


class OutEvent:
    """One event as bytes, with the permission classes that may read it.

    Formatting happens once per event however many clients get it; the text for
    filters is decoded only when a session with filters asks for it.
    """

    __slots__ = ("_text", "classes", "name", "raw")

    def __init__(self, name: str, classes: frozenset[str], raw: bytes) -> None:
        self.name = name
        self.classes = classes
        self.raw = raw
        self._text: str | None = None

    @property
    def text(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self.raw.decode("utf-8", "surrogateescape")
        return text

    def __repr__(self) -> str:
        return f"OutEvent({self.name!r}, {sorted(self.classes)!r})"


def make_event(name: str, privilege: str | None, pairs: Iterable[tuple[str, str]]) -> OutEvent:
    """``Event: name``, ``Privilege: privilege`` (when given), then ``pairs``, as bytes."""
    head = [("Event", name)]
    if privilege is not None:
        head.append(("Privilege", privilege))
    classes = frozenset(part for part in (privilege or "").lower().split(",") if part and part != "all")
    return OutEvent(name, classes, format_message([*head, *pairs]))
