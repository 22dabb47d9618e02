"""The callbacks of an async client: in the reader's task while they need no awaiting."""

from __future__ import annotations

import logging

from ._callbacks import CallbackRegistry, Delivered, Paused, finish_callbacks, run_callbacks, start_callbacks
from ._queue import DropOldest

__all__ = ["InlineFirst"]


class InlineFirst:
    """Runs a batch's callbacks at once, in the task that read it, while nothing is
    pending: the events are still in the CPU's cache, and no task switch is paid.

    From the first callback that returns an awaitable, the rest of that batch and
    every later batch go to the dispatcher task (``run_pending``), in order, through
    the bounded queue: awaiting is never done by the reader, so a slow async callback
    never delays an answer. A slow *sync* callback blocks the whole event loop
    wherever it runs.
    """

    def __init__(self, registry: CallbackRegistry, queue: DropOldest[Delivered], log: logging.Logger) -> None:
        self.registry = registry
        self.queue = queue
        self.log = log
        self.paused: Paused | None = None
        self.running = False  # the dispatcher task is in run_pending

    @property
    def pending(self) -> bool:
        """Work for the dispatcher task."""
        return self.paused is not None or bool(self.queue)

    def deliver(self, messages: list[Delivered]) -> bool:
        """Run or queue ``messages``; True when the dispatcher task has work to wake for."""
        # ``pending`` spelled out: once per read, and the property and the queue's
        # __len__ were two calls.
        if not self.running and self.paused is None and not self.queue.items:
            self.paused = start_callbacks(self.registry, messages, self.log)
            return self.paused is not None
        self.queue.extend(messages)
        return True

    async def run_pending(self) -> None:
        """In the dispatcher task: finish the paused batch, then the queued ones, in order."""
        self.running = True
        try:
            while True:
                paused = self.paused
                if paused is not None:
                    self.paused = None
                    await finish_callbacks(paused, self.log)
                elif self.queue:
                    await run_callbacks(self.registry, self.queue.take(), self.log)
                else:
                    return
        finally:
            self.running = False
