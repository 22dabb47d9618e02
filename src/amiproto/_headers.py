"""Header lists: ordered, duplicates kept, looked up without regard to case.

Decoding policy: a message's bytes are decoded once, as a whole, with the
connection's encoding (UTF-8 unless told otherwise) and the ``surrogateescape``
error handler. Bytes that are not valid in that encoding become lone surrogates
instead of raising or vanishing, so ``value.encode(encoding, "surrogateescape")``
always gives back the exact bytes the server sent.

Parsing rule: a line ends at LF, with one CR before it dropped. The separator
is the first colon; exactly one space after it belongs to the separator,
everything else is the value, verbatim. A line without a colon is kept apart
(``unparsed``); empty lines carry nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import overload

__all__ = ["DECODE_ERRORS", "Headers", "parse_header_lines"]

DECODE_ERRORS = "surrogateescape"

# A parsed line is kept as the 3-tuple str.partition() makes, (name, sep, value),
# because building a second tuple per header costs more than all the rest of
# the parse; the (name, value) pairs are made at C speed when asked for.
Part = tuple[str, str, str]
_NAME = itemgetter(0)
_SEP = itemgetter(1)
_PAIR = itemgetter(0, 2)


class Headers:
    """The ``(name, value)`` pairs of one message, exactly as they appeared.

    A read-only sequence of pairs; ``name in headers``, ``get()`` and
    ``get_all()`` compare names without regard to case.
    """

    __slots__ = ("_first", "_parts")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._parts: list[Part] = [(name, ":", value) for name, value in pairs]
        self._first: dict[str, str] | None = None

    @classmethod
    def _from_parts(cls, parts: list[Part]) -> Headers:
        headers = cls.__new__(cls)
        headers._parts = parts
        headers._first = None
        return headers

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = {}
            # Reversed so that the first occurrence of a name wins.
            for name, _, value in reversed(self._parts):
                first[name.lower()] = value
            self._first = first
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (any case), or ``default``."""
        return self._index().get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (any case), in order."""
        lowered = name.lower()
        return [value for key, _, value in self._parts if key.lower() == lowered]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            return name.lower() in self._index()
        return name in list(self)

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, str]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, str] | list[tuple[str, str]]:
        if isinstance(index, slice):
            return list(map(_PAIR, self._parts[index]))
        name, _, value = self._parts[index]
        return name, value

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return map(_PAIR, self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


def parse_header_lines(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split decoded message text into ``(name, value)`` pairs and lines without a colon."""
    parts, unparsed = split_lines(text)
    return list(map(_PAIR, parts)), unparsed


def split_lines(text: str) -> tuple[list[Part], list[str]]:
    """The parse behind ``Headers``: partition 3-tuples, and lines without a colon."""
    body = text[:-4] if text.endswith("\r\n\r\n") else text
    lines = body.split("\r\n")
    if len(lines) - 1 == body.count("\n"):
        # Every line ends in CRLF. Partitioning on ": " is right for a line
        # exactly when it found the separator and the name holds no colon.
        parts = [line.partition(": ") for line in lines]
        if all(map(_SEP, parts)) and ":" not in "".join(map(_NAME, parts)):
            return parts, []
    parts = []
    unparsed: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if colon:
            parts.append((name, colon, value[1:] if value[:1] == " " else value))
        else:
            unparsed.append(line)
    return parts, unparsed
