"""Reading a fixed list of headers from every event a tracker follows, at C speed.

``Headers.get`` lower-cases the name and does two lookups for each header; a
tracker reads a dozen headers of thousands of events. Messages whose header
names come in the same order share one shape (see ``amiproto._headers``), so
one getter built per shape reads them all in one C call: an ``itemgetter`` of
their positions, or, when they stand side by side in the reader's order (as
Asterisk writes a channel's snapshot), one slice of the values, which costs a
third less again (``benchmarks/bench_live.py`` measures the model's whole
cost). The values are a list, or with the C speedups a sequence that decodes
each value it is asked for: both read either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from .._headers import Headers
from .._messages import Message

__all__ = ["HeaderReader", "ListReader", "header_list_reader", "header_reader"]

HeaderReader = Callable[[Message], tuple["str | None", ...]]
"""``reader(message)``: the values of the reader's headers in its order, None for one absent."""

ListReader = Callable[[Message], list["str | None"]]
"""The same as a list."""

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
    """A function that reads ``names`` (any case, first of duplicates) from a message, as a list."""
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
    if positions == list(range(first, first + len(positions))):
        return itemgetter(slice(first, first + len(positions)))  # a list of the C values too
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

    def read(message: Message) -> Any:
        headers = message.headers
        getter = getters.get(headers._shape)
        if getter is None:
            getter = getter_for(headers)
        return getter(headers._values)

    return read
