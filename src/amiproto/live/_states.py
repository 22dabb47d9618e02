"""Device and extension (hint) states, from their events and DeviceStateList/ExtensionStateList."""

from __future__ import annotations

from collections.abc import Mapping

from .._actions import Action
from ._objects import ExtensionState
from ._tracking import EventHandler, ListHandler

__all__ = ["StateTracker"]


class StateTracker:
    def __init__(self) -> None:
        self.device_states: dict[str, str] = {}
        self.extension_states: dict[tuple[str, str], ExtensionState] = {}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        return {}

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {}

    def snapshot_actions(self) -> list[Action]:
        return []
