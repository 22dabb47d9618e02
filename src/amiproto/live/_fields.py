"""Reading a fixed list of headers from every event a tracker follows, at C speed.

``Headers.get`` lower-cases the name and does two lookups for each header; a
tracker reads a dozen headers of thousands of events. Messages whose header
names come in the same order share one shape (see ``amiproto._headers``), so
one getter built per shape reads them all in one C call: an ``itemgetter`` of
their positions, or, when they stand side by side in the reader's order (as
Asterisk writes a channel's snapshot), one slice of the values, which costs a
third less again (``benchmarks/bench_live.py`` measures the model's whole
cost). The values are a list, or with the C speedups a sequence that decodes
each value it is asked for: both read either way. With the C speedups, that
slice is a view of the message's values that decodes nothing, and an
assigner (``field_assigner``) compares two views by their bytes and decodes
only the values that moved: most channel events change two or three fields
of the fourteen they carry. ``python_field_assigner`` is its pure-Python twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from operator import itemgetter
from typing import Any

from .. import _accel
from .._headers import Headers
from .._messages import Message

__all__ = [
    "Assigner",
    "AssignerFactory",
    "HeaderReader",
    "ListReader",
    "header_list_reader",
    "header_reader",
    "python_field_assigner",
]

HeaderReader = Callable[[Message], tuple["str | None", ...]]
"""``reader(message)``: the values of the reader's headers in its order, None for one absent."""

ListReader = Callable[[Message], Sequence["str | None"]]
"""The same as a list, or with the C speedups a view of the message's values
where the headers stand side by side (see above): it reads as the list would."""

Values = Sequence["str | None"]
Assigner = Callable[[Any, Values, "Values | None", dict[str, tuple[Any, Any]]], None]
"""``assign(target, new, old, fields)``: see ``python_field_assigner``."""

AssignerFactory = Callable[[tuple["str | None", ...], tuple[Any, ...]], Assigner]
"""``factory(names, converters)``: ``python_field_assigner`` or its C twin."""

# The C twins of a slice of values and of the reader _reader builds (see
# amiproto._accel); None: pure Python.
_C_VALUES_VIEW: Callable[[int, int, Sequence[str | None]], Sequence[str | None]] | None = _accel.c_function(
    __name__, "_C_VALUES_VIEW"
)
_C_SHAPE_READER: Callable[[dict[object, Any], Callable[[Headers], Any]], Any] | None = _accel.c_function(
    __name__, "_C_SHAPE_READER"
)

# Readers remember one getter per shape; shapes are bounded by the core, but a
# server inventing header names must not grow this either.
_GETTERS_LIMIT = 1024

Getter = Callable[[Sequence[str]], Any]
GetterFor = Callable[["list[int | None]"], Getter]


def header_reader(names: Sequence[str]) -> HeaderReader:
    """A function that reads ``names`` (any case, first of duplicates) from a message, as a tuple."""
    read: HeaderReader = _reader(names, _tuple_getter)
    return read


def header_list_reader(names: Sequence[str]) -> ListReader:
    """A function that reads ``names`` (any case, first of duplicates) from a message,
    as a list or a view that reads as one."""
    read: ListReader = _reader(names, _list_getter)
    return read


def _tuple_getter(positions: list[int | None]) -> Getter:
    if None in positions:
        return lambda values: tuple(None if position is None else values[position] for position in positions)
    return itemgetter(*positions)


def _list_getter(positions: list[int | None]) -> Getter:
    if None in positions:
        return lambda values: [None if position is None else values[position] for position in positions]
    first = positions[0]
    assert first is not None
    stop = first + len(positions)
    if positions == list(range(first, stop)):
        view = _C_VALUES_VIEW
        return itemgetter(slice(first, stop)) if view is None else partial(view, first, stop)
    pick = itemgetter(*positions)
    return lambda values: list(pick(values))


def _reader(names: Sequence[str], getter_of: GetterFor) -> Any:
    wanted = tuple(name.lower() for name in names)
    if len(wanted) < 2:
        raise ValueError("a reader reads at least two headers")
    getters: dict[object, Getter] = {}

    def getter_for(headers: Headers) -> Getter:
        index = headers._shape.index
        getter = getter_of([index.get(name) for name in wanted])
        if len(getters) >= _GETTERS_LIMIT:
            getters.clear()
        getters[headers._shape] = getter
        return getter

    c_reader = _C_SHAPE_READER
    if c_reader is not None:
        return c_reader(getters, getter_for)

    def read(message: Message) -> Any:
        headers = message.headers
        getter = getters.get(headers._shape)
        if getter is None:
            getter = getter_for(headers)
        return getter(headers._values)

    read.getters = getters  # type: ignore[attr-defined]  # as the C reader shows it, for tests
    return read


def python_field_assigner(
    names: Sequence[str | None], converters: Sequence[Callable[[str], Any] | None]
) -> Assigner:
    """``assign(target, new, old, fields)``: for each position ``i`` whose name is not
    None, where ``old`` is None or differs from ``new`` there, a value of ``new`` that
    is not None (an absent header keeps what is known), passed through
    ``converters[i]`` if that is not None, becomes ``target``'s attribute
    ``names[i]`` if it differs, and ``fields[names[i]]`` gets ``(old, new)``.
    ``new`` and ``old`` hold at least as many values as ``names``.

    Written out position by position, as dataclasses writes its ``__init__``: a
    loop over the positions reads each name and converter again, at more than
    twice the cost. The C twin (``_speedups.field_assigner``) compares two views
    of message values by their bytes, decoding only what moved.
    """
    if len(names) != len(converters):
        raise ValueError("one converter (or None) per name")
    namespace: dict[str, Any] = {"_NO_VALUES": [None] * len(names)}
    lines = [
        "def assign(target, new, old, fields):",
        "    if old is None:",
        "        old = _NO_VALUES",
        f"    elif len(old) < {len(names)}:",
        "        raise ValueError('fewer values than fields')",
        f"    if len(new) < {len(names)}:",
        "        raise ValueError('fewer values than fields')",
    ]
    for position, (name, convert) in enumerate(zip(names, converters, strict=True)):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"not a field name: {name!r}")
        converted = "value"
        if convert is not None:
            namespace[f"_convert_{position}"] = convert
            converted = f"_convert_{position}(value)"
        # Most values equal the old ones: that test comes first, and alone.
        lines += [
            f"    if new[{position}] != old[{position}]:",
            f"        value = new[{position}]",
            "        if value is not None:",
            f"            value = {converted}",
            f"            current = target.{name}",
            "            if current != value:",
            f"                fields[{name!r}] = (current, value)",
            f"                target.{name} = value",
        ]
    exec("\n".join(lines), namespace)  # names checked as identifiers above
    assign: Assigner = namespace["assign"]
    return assign
