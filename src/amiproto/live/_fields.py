"""Reading a fixed list of headers from every event a tracker follows, at C speed.

``Headers.get`` lower-cases the name and does two lookups for each header; a
tracker reads a dozen headers of thousands of events. Messages whose header
names come in the same order share one shape (see ``amiproto._headers``), so
one ``itemgetter`` built per shape reads them all in one C call: about a fifth
of the cost (``benchmarks/bench_live.py`` measures the model's whole cost). The
values are a list, or with the C speedups a sequence that decodes each value it
is asked for: the itemgetter reads both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

from .._headers import Headers
from .._messages import Message

__all__ = ["HeaderReader", "header_reader"]

HeaderReader = Callable[[Message], tuple["str | None", ...]]
"""``reader(message)``: the values of the reader's headers in its order, None for one absent."""

# Readers remember one getter per shape; shapes are bounded by the core, but a
# server inventing header names must not grow this either.
_GETTERS_LIMIT = 1024


def header_reader(names: Sequence[str]) -> HeaderReader:
    """A function that reads ``names`` (any case, first of duplicates) from a message."""
    wanted = tuple(name.lower() for name in names)
    if len(wanted) < 2:
        raise ValueError("a reader reads at least two headers")
    getters: dict[object, Callable[[Sequence[str]], tuple[str | None, ...]]] = {}

    def getter_for(headers: Headers) -> Callable[[Sequence[str]], tuple[str | None, ...]]:
        index = headers._shape.index
        positions = [index.get(name) for name in wanted]
        getter: Callable[[Sequence[str]], tuple[str | None, ...]]
        if None in positions:

            def getter(values: Sequence[str]) -> tuple[str | None, ...]:
                return tuple(None if position is None else values[position] for position in positions)

        else:
            getter = itemgetter(*positions)
        if len(getters) >= _GETTERS_LIMIT:
            getters.clear()
        getters[headers._shape] = getter
        return getter

    def read(message: Message) -> tuple[str | None, ...]:
        headers = message.headers
        getter = getters.get(headers._shape)
        if getter is None:
            getter = getter_for(headers)
        return getter(headers._values)

    return read
