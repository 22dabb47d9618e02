"""Header lists: ordered, duplicates kept, looked up without regard to case.

Decoding policy: a message's bytes are decoded with the connection's encoding
(UTF-8 unless told otherwise) and the ``surrogateescape`` error handler. Bytes
that are not valid in that encoding become lone surrogates instead of raising
or vanishing, so ``value.encode(encoding, "surrogateescape")`` always gives back
the exact bytes the server sent. Python decodes the message as a whole; the C
speedups (UTF-8 only) decode each value when it is read, which gives the same
text.

Parsing rule: a line ends at LF, with one CR before it dropped. The separator
is the first colon; exactly one space after it belongs to the separator,
everything else is the value, verbatim. A line without a colon is kept apart
(``unparsed``); empty lines carry nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from . import _accel

__all__ = ["DECODE_ERRORS", "Headers", "parse_header_lines"]

DECODE_ERRORS = "surrogateescape"

# Headers keep the values in a sequence and the names in a shared "shape": one
# C-level regex split makes both lists, the (name, value) pairs are built at C
# speed when asked for (a tuple per header costs more than the rest of the
# parse), and messages with the same header names in the same order, which is
# most of them, share one tuple of names and one case-insensitive index. The C
# speedups' values are not a list but a sequence that keeps the message's bytes
# and where each value lies, and decodes a value when it is read: a fifth of the
# memory of the decoded values, and no work for values nobody reads.
_PLAIN_HEADER = re.compile(r"\r\n([^:\r\n]+): ?")
_SHAPES_LIMIT = 4096

# The C twin of the zip in Headers.__iter__ (see _accel); None means pure Python.
_C_ITER_HEADERS: Callable[[tuple[str, ...], Sequence[str]], Iterator[tuple[str, str]]] | None = (
    _accel.c_function(__name__, "_C_ITER_HEADERS")
)


class _Shape:
    __slots__ = ("index", "names")

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(names)
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            index.setdefault(name.lower(), position)
        self.index = index


# Shapes by their names joined with LF (no name holds one). Bounded, so that a
# server inventing header names cannot grow it for ever; a race between threads
# at worst builds one shape twice.
_SHAPES: dict[str, _Shape] = {}
_NO_NAMES = _Shape([])


# The same shapes by the raw bytes of their names joined with LF, as the C
# parser (_speedups.headers_getter) asks for the shapes its own cache lacks, so
# that a known shape costs no decoding.
_SHAPES_BY_KEY: dict[bytes, _Shape] = {}


def _shape_of_key(key: bytes) -> _Shape:
    shape = _SHAPES_BY_KEY.get(key)
    if shape is None:
        shape = _shape_of(key.decode("utf-8", DECODE_ERRORS).split("\n"))
        if len(_SHAPES_BY_KEY) < _SHAPES_LIMIT:
            _SHAPES_BY_KEY[key] = shape
    return shape


def _shape_of(names: list[str]) -> _Shape:
    if not names:
        return _NO_NAMES  # its key, "", is also that of [""]
    key = "\n".join(names)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _Shape(names)
        if len(_SHAPES) < _SHAPES_LIMIT:
            _SHAPES[key] = shape
    return shape


class Headers:
    """The ``(name, value)`` pairs of one message, exactly as they appeared.

    A read-only sequence of pairs; ``name in headers``, ``get()`` and
    ``get_all()`` compare names without regard to case.
    """

    __slots__ = ("_shape", "_values")

    _shape: _Shape
    _values: Sequence[str]  # a list, or the C speedups' values decoded when read

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        listed = list(pairs)
        self._shape = _shape_of([name for name, _ in listed])
        self._values = [value for _, value in listed]

    @classmethod
    def _from_lists(cls, names: list[str], values: list[str]) -> Headers:
        headers = cls.__new__(cls)
        headers._shape = _shape_of(names)
        headers._values = values
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (any case), or ``default``."""
        position = self._shape.index.get(name.lower())
        return default if position is None else self._values[position]

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (any case), in order."""
        lowered = name.lower()
        return [
            value
            for key, value in zip(self._shape.names, self._values, strict=True)
            if key.lower() == lowered
        ]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            return name.lower() in self._shape.index
        return name in list(self)

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, str]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, str] | list[tuple[str, str]]:
        if isinstance(index, slice):
            return list(zip(self._shape.names[index], self._values[index], strict=True))
        return self._shape.names[index], self._values[index]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        iterate = _C_ITER_HEADERS
        if iterate is not None:
            return iterate(self._shape.names, self._values)
        return zip(self._shape.names, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._shape.names == other._shape.names and self._values == other._values
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
