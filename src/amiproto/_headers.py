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

import re
from collections.abc import Iterable, Iterator
from typing import overload

__all__ = ["DECODE_ERRORS", "Headers", "parse_header_lines"]

DECODE_ERRORS = "surrogateescape"

# Headers keep two parallel lists, names and values: one C-level regex split
# makes both, and the (name, value) pairs are built at C speed when asked for,
# because building a tuple per header costs more than the rest of the parse.
_PLAIN_HEADER = re.compile(r"\r\n([^:\r\n]+): ?")


class Headers:
    """The ``(name, value)`` pairs of one message, exactly as they appeared.

    A read-only sequence of pairs; ``name in headers``, ``get()`` and
    ``get_all()`` compare names without regard to case.
    """

    __slots__ = ("_first", "_names", "_values")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        listed = list(pairs)
        self._names = [name for name, _ in listed]
        self._values = [value for _, value in listed]
        self._first: dict[str, str] | None = None

    @classmethod
    def _from_lists(cls, names: list[str], values: list[str]) -> Headers:
        headers = cls.__new__(cls)
        headers._names = names
        headers._values = values
        headers._first = None
        return headers

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            # Reversed so that the first occurrence of a name wins.
            first = self._first = dict(
                zip(map(str.lower, reversed(self._names)), reversed(self._values), strict=True)
            )
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (any case), or ``default``."""
        return self._index().get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (any case), in order."""
        lowered = name.lower()
        return [value for key, value in zip(self._names, self._values, strict=True) if key.lower() == lowered]

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
            return list(zip(self._names[index], self._values[index], strict=True))
        return self._names[index], self._values[index]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return zip(self._names, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._names == other._names and self._values == other._values
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


def parse_header_lines(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split decoded message text into ``(name, value)`` pairs and lines without a colon."""
    names, values, unparsed = split_lines(text)
    return list(zip(names, values, strict=True)), unparsed


def split_lines(text: str) -> tuple[list[str], list[str], list[str]]:
    """The parse behind ``Headers``: names, values, and lines without a colon."""
    if text.endswith("\r\n\r\n"):
        # Every line "name: value" and ended by CRLF: one regex split does it all.
        # It leaves a line it cannot read inside the value before it, so the count
        # of names must match the count of line ends, or the general loop decides.
        body = "\r\n" + text[:-4]
        parts = _PLAIN_HEADER.split(body)
        if not parts[0] and len(parts) // 2 == body.count("\n"):
            return parts[1::2], parts[2::2], []
    return split_lines_general(text)


def split_lines_general(text: str) -> tuple[list[str], list[str], list[str]]:
    """``split_lines`` one line at a time: any line ending, lines without a colon."""
    names: list[str] = []
    values: list[str] = []
    unparsed: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if colon:
            names.append(name)
            values.append(value[1:] if value[:1] == " " else value)
        else:
            unparsed.append(line)
    return names, values, unparsed
