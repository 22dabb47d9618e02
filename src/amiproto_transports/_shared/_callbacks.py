"""Which callbacks a message goes to, and in what order."""

from __future__ import annotations

import fnmatch
import functools
import inspect
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from amiproto import Event, Message, Response, _accel

if TYPE_CHECKING:
    from amiproto.live import Change

__all__ = [
    "Callback",
    "CallbackKey",
    "CallbackRegistry",
    "Delivered",
    "Paused",
    "Unregister",
    "finish_callbacks",
    "run_callbacks",
    "run_callbacks_sync",
    "start_callbacks",
]

CallbackKey = str | type[Message] | None
"""An event name or a glob of names (``"Queue*"``: ``*``, ``?``, ``[...]``), both
compared without case; a message class (matched with isinstance); ``""`` for every
event; or None for orphan responses."""

Callback = Callable[[Any], object]
"""Called with one message. Async clients await what it returns when that is awaitable."""

Delivered: TypeAlias = "Message | Change"
"""What goes to callbacks, in one ordered stream: messages, and the live model's changes."""


@functools.cache
def _change_classes() -> frozenset[type]:
    # Imported on first use: a client without a live model never loads it (nor the catalogue).
    from amiproto.live import Change  # noqa: PLC0415

    return frozenset(typing.get_args(Change))


# The key of a callback registered for every change of the live model.
_ANY_CHANGE = object()

Unregister = Callable[[], None]
"""What ``register_callback`` returns: call it to remove that registration."""


_CACHE_LIMIT = 4096
"""Entries in each match cache; a full cache is emptied and refilled (see ``_remember``)."""

_GLOB_CHARACTERS = frozenset("*?[")

_Entry = tuple[object, object, Callback, "re.Pattern[str] | None"]
"""(token, key with names lowered or ``_ANY_CHANGE``, callback, the compiled glob when the key is one)."""

_Dispatch = Callable[
    [
        list[Delivered],
        int,
        tuple[Callback, ...] | None,
        int,
        list[dict[str, tuple[type, tuple[Callback, ...]]]],
        Callable[[Delivered], tuple[Callback, ...]],
        Callable[[Callback, Delivered, BaseException], object],
        str,
        type[BaseException],
    ],
    tuple[int, tuple[Callback, ...], int, object] | None,
]
# The C twin of the dispatch loops below (_dispatch.c), or None: pure Python (see amiproto._accel).
_C_DISPATCH: _Dispatch | None = _accel.c_function(__name__, "_C_DISPATCH")


class CallbackRegistry:
    """Callbacks by key; ``matching(message)`` lists those a message goes to.

    Rules: an ``Event`` goes to callbacks registered under its name or a glob
    matching it (both compared without case), under ``""``, and under any class
    it is an instance of; an
    orphan ``Response`` (one no action waits for) goes to callbacks under None
    and under classes it is an instance of; other messages go only to matching
    classes. A change of the live model goes to callbacks registered under its class,
    or with ``register_change(None, ...)``; messages and changes never share a
    callback. Matching callbacks run in registration order. The registry is
    copy-on-write, so a dispatcher may read it while another thread registers; a
    callback registered or removed while a batch runs (by a callback, say) applies from
    the batch's next message on.
    Globs are matched once per event name, when its callbacks are cached: a
    pattern costs nothing on events whose name was seen before.
    """

    def __init__(self) -> None:
        self._entries: tuple[_Entry, ...] = ()
        self._cache: dict[tuple[type, str | None], tuple[Callback, ...]] = {}
        # The hot path: an event's exact name -> (its class, its callbacks). In a cell
        # that the dispatch loops read per message, so that a callback registered or
        # removed by a callback applies from the batch's next message on; a registration
        # puts a new dict in it, so a lookup that raced it can only fill the old one.
        self._by_name_cell: list[dict[str, tuple[type, tuple[Callback, ...]]]] = [{}]

    def register(self, key: CallbackKey | type[Change], callback: Callback) -> Unregister:
        """Add ``callback`` under ``key`` (a change class too, as ``register_change`` takes);
        returns the function that removes it again."""
        if isinstance(key, type) and not issubclass(key, Message) and key in _change_classes():
            return self._add(key, callback)
        if not (key is None or isinstance(key, str) or (isinstance(key, type) and issubclass(key, Message))):
            raise TypeError(f"a callback key is an event name, a Message class, '' or None; not {key!r}")
        return self._add(key, callback)

    def register_change(self, kind: type[Change] | None, callback: Callback) -> Unregister:
        """Add ``callback`` for the live model's changes of class ``kind`` (None: every change)."""
        if kind is not None and not (isinstance(kind, type) and kind in _change_classes()):
            raise TypeError(
                f"a live callback's kind is a change class of amiproto.live or None; not {kind!r}"
            )
        return self._add(_ANY_CHANGE if kind is None else kind, callback)

    def _add(self, key: object, callback: Callback) -> Unregister:
        if not callable(callback):
            raise TypeError(f"callback {callback!r} is not callable")
        token = object()
        lowered = key.lower() if isinstance(key, str) else key
        glob = None
        if isinstance(lowered, str) and not _GLOB_CHARACTERS.isdisjoint(lowered):
            glob = re.compile(fnmatch.translate(lowered))
        self._entries = (*self._entries, (token, lowered, callback, glob))
        self._cache = {}
        self._by_name_cell[0] = {}

        def unregister() -> None:
            self._entries = tuple(entry for entry in self._entries if entry[0] is not token)
            self._cache = {}
            self._by_name_cell[0] = {}

        return unregister

    @property
    def by_name(self) -> dict[str, tuple[type, tuple[Callback, ...]]]:
        """The cache behind ``matching`` for events: exact name -> (class, callbacks).

        Read-only for callers; ``matching`` fills it, and a registration replaces it."""
        return self._by_name_cell[0]

    def matching(self, message: Delivered) -> tuple[Callback, ...]:
        """The callbacks ``message`` goes to, in registration order."""
        # Keyed on the exact name; case is folded only when a cache is filled.
        if isinstance(message, Event):
            name = message.name
            by_name = self._by_name_cell[0]
            hit = by_name.get(name)
            # A name nearly always comes with one class; the check keeps it exact.
            if hit is not None and hit[0] is message.__class__:
                return hit[1]
            found = self._matching(message.__class__, name)
            _remember(by_name, name, (message.__class__, found))
            return found
        if isinstance(message, Response) and message.orphan:
            return self._matching(type(message), None)
        return self._matching(type(message), "\0")

    def _matching(self, cls: type, name: str | None) -> tuple[Callback, ...]:
        """``matching`` by (class, name): the slower path, cached separately."""
        cache_key = (cls, name)
        cache = self._cache
        found = cache.get(cache_key)
        if found is None:
            # Both read once: a concurrent register() replaces them, never mutates them.
            found = tuple(self._select(cache_key, self._entries))
            _remember(cache, cache_key, found)
        return found

    @staticmethod
    def _select(cache_key: tuple[type, str | None], entries: tuple[_Entry, ...]) -> Iterator[Callback]:
        cls, name = cache_key
        name = None if name is None else name.lower()
        is_event = issubclass(cls, Event)
        for _, key, callback, glob in entries:
            if isinstance(key, type):
                if issubclass(cls, key):
                    yield callback
            elif is_event:
                if key in ("", name) or (glob is not None and name is not None and glob.match(name)):
                    yield callback
            elif (key is None and name is None) or (key is _ANY_CHANGE and cls in _change_classes()):
                yield callback


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    """Store in a match cache of at most ``_CACHE_LIMIT`` entries.

    A server inventing event names must not grow it for ever; emptying it when full
    (rather than no longer storing) lets the names a program really sees back in after
    such a flood, at the cost of one lookup per name again."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _report(log: logging.Logger, callback: Callback, message: Delivered, error: BaseException) -> None:
    log.error("callback %r failed on %r", callback, message, exc_info=error)


def _run_in_c(
    dispatch: _Dispatch,
    registry: CallbackRegistry,
    messages: Iterable[Delivered],
    log: logging.Logger,
    caught: type[BaseException] = Exception,
) -> Iterator[tuple[object, Callback, Delivered]]:
    """The C loop over ``messages``: yields what a callback returned when it was not None
    (with that callback and its message), then goes on after it. What a callback raises
    is logged when it is a ``caught``, and propagates otherwise."""
    batch = messages if type(messages) is list else list(messages)
    failed = functools.partial(_report, log)
    # The cell itself, not its property: this runs once per read, the property was a call.
    cell, matching = registry._by_name_cell, registry.matching  # this module's own class
    # The slot behind Event.name: read directly, it costs half as much per event.
    paused = dispatch(batch, 0, None, 0, cell, matching, failed, "_name", caught)
    while paused is not None:
        index, callbacks, position, result = paused
        yield result, callbacks[position], batch[index]
        paused = dispatch(batch, index, callbacks, position + 1, cell, matching, failed, "_name", caught)


def run_callbacks_sync(
    registry: CallbackRegistry, messages: Iterable[Delivered], log: logging.Logger
) -> None:
    """Run each message's callbacks in order (the sync client's workers); whatever a
    callback raises is logged on ``log`` and the next one runs. Even SystemExit or
    KeyboardInterrupt: raised in a worker thread, they could only end the thread that
    reads the socket, never the program."""
    if _C_DISPATCH is not None:
        results = _run_in_c(_C_DISPATCH, registry, messages, log, BaseException)
    else:
        results = _run_in_python(registry, messages, log, BaseException)
    for _ in results:
        pass  # a callback returned a value: nothing to wait for here


def _run_in_python(
    registry: CallbackRegistry,
    messages: Iterable[Delivered],
    log: logging.Logger,
    caught: type[BaseException] = Exception,
) -> Iterator[tuple[object, Callback, Delivered]]:
    """``_run_in_c`` in pure Python, and the one place a message's callbacks are looked up."""
    cell = registry._by_name_cell  # as in _run_in_c
    matching = registry.matching
    for message in messages:
        # ``matching`` inlined for events whose name is cached: this loop runs once
        # per event, and a call per event would cost more than the lookup.
        try:
            cls, callbacks = cell[0][message._name]  # type: ignore[union-attr]
        except (AttributeError, KeyError):
            callbacks = matching(message)
        else:
            if cls is not message.__class__:
                callbacks = matching(message)
        for callback in callbacks:
            try:
                result = callback(message)
            except caught as error:
                _report(log, callback, message, error)
            else:
                if result is not None:
                    yield result, callback, message


Paused = tuple[Iterator[tuple[object, Callback, Delivered]], Awaitable[object], Callback, Delivered]
"""A batch whose callbacks ran up to one that returned an awaitable: the rest of the
batch, that awaitable, and the callback and message it came from."""


def start_callbacks(
    registry: CallbackRegistry, messages: Iterable[Delivered], log: logging.Logger
) -> Paused | None:
    """Run each message's callbacks in order until one returns something awaitable;
    None when all have run. A callback's exception is logged on ``log``."""
    if _C_DISPATCH is not None:
        results = _run_in_c(_C_DISPATCH, registry, messages, log)
    else:
        results = _run_in_python(registry, messages, log)
    for result, callback, message in results:
        if inspect.isawaitable(result):
            return results, result, callback, message
    return None


async def finish_callbacks(paused: Paused, log: logging.Logger) -> None:
    """Await what ``start_callbacks`` stopped at, then run the rest of its batch the same way.

    It awaits nothing of its own, only what callbacks return, so one body serves asyncio
    and trio alike; cancellation (a BaseException in both) passes through."""
    results, awaitable, callback, message = paused
    while True:
        try:
            await awaitable
        except Exception as error:
            _report(log, callback, message, error)
        for result, callback, message in results:  # noqa: B007 (the last ones are used below)
            if inspect.isawaitable(result):
                awaitable = result
                break
        else:
            return


async def run_callbacks(
    registry: CallbackRegistry, messages: Iterable[Delivered], log: logging.Logger
) -> None:
    """Run each message's callbacks in order, awaiting what a callback returns when it is
    awaitable; a callback's exception is logged on ``log`` and the next one runs."""
    paused = start_callbacks(registry, messages, log)
    if paused is not None:
        await finish_callbacks(paused, log)
