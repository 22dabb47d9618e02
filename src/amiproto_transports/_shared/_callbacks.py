"""Which callbacks a message goes to, and in what order."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from amiproto import Event, Message, Response

__all__ = ["Callback", "CallbackKey", "CallbackRegistry", "Unregister", "run_callbacks"]

CallbackKey = str | type[Message] | None
"""An event name, a message class (matched with isinstance), ``""`` for every event,
or None for orphan responses."""

Callback = Callable[[Any], object]
"""Called with one message. Async clients await what it returns when that is awaitable."""

Unregister = Callable[[], None]
"""What ``register_callback`` returns: call it to remove that registration."""


_CACHE_LIMIT = 4096


class CallbackRegistry:
    """Callbacks by key; ``matching(message)`` lists those a message goes to.

    Rules: an ``Event`` goes to callbacks registered under its name (compared
    without case), under ``""``, and under any class it is an instance of; an
    orphan ``Response`` (one no action waits for) goes to callbacks under None
    and under classes it is an instance of; other messages go only to matching
    classes. Matching callbacks run in registration order. The registry is
    copy-on-write, so a dispatcher may read it while another thread registers.
    """

    def __init__(self) -> None:
        self._entries: tuple[tuple[object, CallbackKey, Callback], ...] = ()
        self._cache: dict[tuple[type, str | None], tuple[Callback, ...]] = {}

    def register(self, key: CallbackKey, callback: Callback) -> Unregister:
        """Add ``callback`` under ``key``; returns the function that removes it again."""
        if not (key is None or isinstance(key, str) or (isinstance(key, type) and issubclass(key, Message))):
            raise TypeError(f"a callback key is an event name, a Message class, '' or None; not {key!r}")
        if not callable(callback):
            raise TypeError(f"callback {callback!r} is not callable")
        token = object()
        lowered = key.lower() if isinstance(key, str) else key
        self._entries = (*self._entries, (token, lowered, callback))
        self._cache = {}

        def unregister() -> None:
            self._entries = tuple(entry for entry in self._entries if entry[0] is not token)
            self._cache = {}

        return unregister

    def matching(self, message: Message) -> tuple[Callback, ...]:
        """The callbacks ``message`` goes to, in registration order."""
        # Keyed on the exact name; case is folded only when the cache is filled.
        if isinstance(message, Event):
            cache_key: tuple[type, str | None] = (type(message), message.name)
        elif isinstance(message, Response) and message.orphan:
            cache_key = (type(message), None)
        else:
            cache_key = (type(message), "\0")
        cache = self._cache
        found = cache.get(cache_key)
        if found is None:
            # Both read once: a concurrent register() replaces them, never mutates them.
            found = tuple(self._select(cache_key, self._entries))
            # Bounded, so that a server inventing event names cannot grow it for ever.
            if len(cache) < _CACHE_LIMIT:
                cache[cache_key] = found
        return found

    @staticmethod
    def _select(
        cache_key: tuple[type, str | None], entries: tuple[tuple[object, CallbackKey, Callback], ...]
    ) -> Iterator[Callback]:
        cls, name = cache_key
        name = None if name is None else name.lower()
        is_event = issubclass(cls, Event)
        for _, key, callback in entries:
            if isinstance(key, type):
                if issubclass(cls, key):
                    yield callback
            elif is_event:
                if key in ("", name):
                    yield callback
            elif key is None and name is None:
                yield callback


async def run_callbacks(registry: CallbackRegistry, messages: Iterable[Message], log: logging.Logger) -> None:
    """Run each message's callbacks in order, awaiting what a callback returns when it is
    awaitable; a callback's exception is logged on ``log`` and the next one runs.

    It awaits nothing of its own, only what callbacks return, so one body serves asyncio
    and trio alike; cancellation (a BaseException in both) passes through.
    """
    matching = registry.matching
    for message in messages:
        for callback in matching(message):
            try:
                result = callback(message)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("callback %r failed on %r", callback, message)
