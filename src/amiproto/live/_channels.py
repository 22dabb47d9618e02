"""Channels, bridges and calls, from channel and bridge events and CoreShowChannels/BridgeList."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from .._actions import Action
from ._objects import Bridge, Call, Channel
from ._tracking import EventHandler, ListHandler

__all__ = ["ChannelTracker"]


class ChannelTracker:
    def __init__(self, *, history: int = 0) -> None:
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.calls: dict[str, Call] = {}
        self.finished_calls: deque[Call] = deque(maxlen=history)

    def event_handlers(self) -> Mapping[str, EventHandler]:
        return {}

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {}

    def snapshot_actions(self) -> list[Action]:
        return []
