"""Queues, their members and waiting callers, from queue events and QueueStatus."""

from __future__ import annotations

from collections.abc import Mapping

from .._actions import Action
from ._objects import Queue
from ._tracking import EventHandler, ListHandler

__all__ = ["QueueTracker"]


class QueueTracker:
    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        return {}

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {}

    def snapshot_actions(self) -> list[Action]:
        return []
