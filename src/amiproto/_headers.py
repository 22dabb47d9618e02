"""Header lists: ordered, duplicates kept, looked up without regard to case.

Decoding policy: a message's bytes are decoded once, as a whole, with the
connection's encoding (UTF-8 unless told otherwise) and the ``surrogateescape``
error handler. Bytes that are not valid in that encoding become lone surrogates
instead of raising or vanishing, so ``value.encode(encoding, "surrogateescape")``
always gives back the exact bytes the server sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

__all__ = ["Headers", "parse_header_lines"]

DECODE_ERRORS = "surrogateescape"


class Headers:
    """The ``(name, value)`` pairs of one message, exactly as they appeared.

    A read-only sequence of pairs; ``name in headers`` and ``get()`` compare
    names without regard to case.
    """

    __slots__ = ("_first", "_pairs")

    def __init__(self, pairs: Sequence[tuple[str, str]] = ()) -> None:
        self._pairs: tuple[tuple[str, str], ...] = tuple(pairs)
        self._first: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = {}
            # Reversed so that the first occurrence of a name wins.
            for name, value in reversed(self._pairs):
                first[name.lower()] = value
            self._first = first
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (any case), or ``default``."""
        return self._index().get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (any case), in order."""
        lowered = name.lower()
        return [value for key, value in self._pairs if key.lower() == lowered]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            return name.lower() in self._index()
        return name in self._pairs

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, str] | Sequence[tuple[str, str]]:
        return self._pairs[index]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._pairs == other._pairs
        if isinstance(other, (list, tuple)):
            return list(self._pairs) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({list(self._pairs)!r})"


def parse_header_lines(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split decoded message text into header pairs and lines without a colon.

    A line ends at LF, with one CR before it dropped. The separator is the first
    colon; exactly one space after it belongs to the separator, everything else
    is the value, verbatim. Empty lines carry nothing and are skipped.
    """
    lines = text.split("\r\n")
    if len(lines) - 1 != text.count("\n"):
        # Some line ends in a bare LF: split on LF alone, dropping each CR before it.
        lines = text.replace("\r\n", "\n").split("\n")
    parts = [line.partition(":") for line in lines if line]
    headers = [(name, value[1:] if value[:1] == " " else value) for name, colon, value in parts if colon]
    if len(headers) == len(parts):
        return headers, []
    return headers, [name for name, colon, _ in parts if not colon]
