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

__all__ = ["DECODE_ERRORS", "Headers", "headers_of_text", "parse_header_lines"]

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
    __slots__ = ("index", "names", "pattern", "seen")

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(names)
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            index.setdefault(name.lower(), position)
        self.index = index
        self.pattern: re.Pattern[str] | None = None  # see headers_of_text
        self.seen = 0


# The pure-Python parse of a shape seen often: one regex that matches a whole message
# of that shape, every line "name: value" ended by CRLF, and captures the values. It
# compares the names as literals instead of scanning them as a character class, and
# skips the shape lookup: about 40% less than the general split. Compiling one costs
# about 300 us, so a shape must be seen _PATTERN_AFTER times first, and at most
# _PATTERNS_LIMIT are compiled in a process (about 4 KB each), whatever a server sends.
_PATTERN_AFTER = 8
_PATTERNS_LIMIT = 256
_PATTERN_MAX_NAMES = 64
_patterns_made = 0

# A message's first line (its "Event: Name", mostly) -> the shape of the last message
# that began with it, to try first. Bounded like the shapes.
_GUESSES: dict[str, _Shape] = {}
_GUESS_MAX_LENGTH = 100


def _give_pattern(shape: _Shape) -> None:
    global _patterns_made  # noqa: PLW0603 (a budget for the whole process)
    if _patterns_made >= _PATTERNS_LIMIT or len(shape.names) > _PATTERN_MAX_NAMES:
        return
    _patterns_made += 1
    # One way only to take the space after the colon: with ": ?" the value could take it
    # too, and a text that fails late made the match try both ways on every line (2**n).
    lines = "".join(re.escape(name) + ":(?: |(?! ))([^\r\n]*)\r\n" for name in shape.names)
    shape.pattern = re.compile(lines + "\r\n")


# Shapes by their names joined with LF (no name holds one). Bounded, so that a
# server inventing header names cannot grow it for ever; a race between threads
# at worst builds one shape twice.
_SHAPES: dict[str, _Shape] = {}
_NO_NAMES = _Shape([])


# The same shapes by the raw bytes of their names joined with LF, as the C
# parser (_speedups.message_getters) asks for the shapes its own cache lacks, so
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
        # Not strict: a shape has a name for each value by construction, and the
        # keyword would cost this hot call a tenth of its time.
        return zip(self._shape.names, self._values)  # noqa: B905

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            # The values may be a list, a tuple or the C speedups' sequence.
            return self._shape.names == other._shape.names and list(self._values) == list(other._values)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


_new_headers = Headers.__new__


def headers_of_text(text: str) -> tuple[Headers, list[str]]:
    """The pure-Python parse of decoded message text: its ``Headers``, and its lines
    without a colon. A message whose first line was last seen on a message of a shape
    that has a pattern is matched against it first; any other goes to ``split_lines``.
    """
    line_end = text.find("\r")
    first = text[:line_end] if 0 < line_end <= _GUESS_MAX_LENGTH else None
    if first is not None:
        guess = _GUESSES.get(first)
        if guess is not None and guess.pattern is not None:
            found = guess.pattern.fullmatch(text)
            if found is not None:
                headers = _new_headers(Headers)
                headers._shape = guess
                headers._values = found.groups()
                return headers, []
    names, values, unparsed = split_lines(text)
    headers = Headers._from_lists(names, values)
    shape = headers._shape
    if first is not None and not unparsed and shape.pattern is None and text.endswith("\r\n\r\n"):
        shape.seen += 1
        if shape.seen >= _PATTERN_AFTER and _SHAPES.get("\n".join(names)) is shape:
            _give_pattern(shape)
        if len(_GUESSES) < _SHAPES_LIMIT or first in _GUESSES:
            _GUESSES[first] = shape
    elif first is not None and shape.pattern is not None and first in _GUESSES:
        _GUESSES[first] = shape
    return headers, unparsed


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
