"""Device and extension (hint) states, from their events and DeviceStateList/ExtensionStateList.

The two snapshot lists are made of the very events that report a change
(``DeviceStateChange``, ``ExtensionStatus``, with the list's ActionID), and
the core yields each list item twice: as an ordinary event, in wire order, and
again inside the list's ``ActionCompleted``. Both are applied; the second
finds nothing to change. A whole list then removes the devices and hints it
lacks, unless an event reported them after the snapshot was handed out.
Asterisk answers ExtensionStateList with an error, "No dialplan hints are
available", when it has no hints at all: that is an empty list.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._actions import Action
from .._messages import ActionCompleted, Event
from ..actions import DeviceStateList, ExtensionStateList
from ._changes import Change, DeviceStateChanged, ExtensionStateChanged
from ._fields import header_reader
from ._objects import ExtensionState
from ._snapshots import is_whole
from ._tracking import EventHandler, ListHandler

__all__ = ["StateTracker"]

_NO_HINTS = "no dialplan hints are available"

_read_device = header_reader(("Device", "State"))

HintKey = tuple[str, str]
"""(exten, context)"""


def _status(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


class StateTracker:
    def __init__(self) -> None:
        self.device_states: dict[str, str] = {}
        self.extension_states: dict[HintKey, ExtensionState] = {}
        # The seq of the last event that reported each device and hint.
        self._device_seqs: dict[str, int] = {}
        self._hint_seqs: dict[HintKey, int] = {}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        return {"DeviceStateChange": self._on_device, "ExtensionStatus": self._on_hint}

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {"devicestatelist": self._on_device_list, "extensionstatelist": self._on_hint_list}

    def snapshot_actions(self) -> list[Action]:
        return [DeviceStateList(), ExtensionStateList()]

    # -- devices --

    def _on_device(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        device, state = _read_device(event)
        if device is None or state is None:
            return
        self._device_seqs[device] = seq
        # _set_device written out: a busy server sends one for every device a call
        # touches, and most repeat the state the model has.
        states = self.device_states
        old = states.get(device)
        if old != state:
            states[device] = state
            changes.append(DeviceStateChanged(device, old, state))

    def _set_device(self, device: str, state: str, changes: list[Change]) -> None:
        states = self.device_states
        old = states.get(device)
        if old != state:
            states[device] = state
            changes.append(DeviceStateChanged(device, old, state))

    def _on_device_list(
        self, completed: ActionCompleted, since: int | None, now: float | None, changes: list[Change]
    ) -> None:
        listed: set[str] = set()
        for item in completed.events:
            if item.name != "DeviceStateChange":
                continue
            get = item.headers.get
            device = get("Device")
            state = get("State")
            if device is None or state is None:
                continue
            listed.add(device)
            self._set_device(device, state, changes)
        if not is_whole(completed):
            return
        seqs = self._device_seqs
        for device in [device for device in self.device_states if device not in listed]:
            if since is not None and seqs.get(device, 0) > since:
                continue
            old = self.device_states.pop(device)
            seqs.pop(device, None)
            changes.append(DeviceStateChanged(device, old, None))

    # -- hints --

    def _on_hint(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        key = self._set_hint(event, changes)
        if key is not None:
            self._hint_seqs[key] = seq

    def _set_hint(self, event: Event, changes: list[Change]) -> HintKey | None:
        get = event.headers.get
        exten = get("Exten")
        context = get("Context")
        if exten is None or context is None:
            return None
        key = (exten, context)
        hint = get("Hint")
        status = _status(get("Status"))
        status_text = get("StatusText")
        state = self.extension_states.get(key)
        if state is None:
            state = self.extension_states[key] = ExtensionState(exten, context, hint, status, status_text)
            changes.append(ExtensionStateChanged(state, None))
        elif state.hint != hint or state.status != status or state.status_text != status_text:
            old = ExtensionState(exten, context, state.hint, state.status, state.status_text)
            state.hint, state.status, state.status_text = hint, status, status_text
            changes.append(ExtensionStateChanged(state, old))
        return key

    def _on_hint_list(
        self, completed: ActionCompleted, since: int | None, now: float | None, changes: list[Change]
    ) -> None:
        listed: set[HintKey] = set()
        for item in completed.events:
            if item.name == "ExtensionStatus":
                key = self._set_hint(item, changes)
                if key is not None:
                    listed.add(key)
        if not (is_whole(completed) or _no_hints(completed)):
            return
        seqs = self._hint_seqs
        for key in [key for key in self.extension_states if key not in listed]:
            if since is not None and seqs.get(key, 0) > since:
                continue
            state = self.extension_states.pop(key)
            seqs.pop(key, None)
            changes.append(ExtensionStateChanged(state, state, removed=True))


def _no_hints(completed: ActionCompleted) -> bool:
    """Asterisk's answer to ExtensionStateList when it has no hints: an empty list."""
    response = completed.response
    if not completed.complete or response is None or response.status != "error":
        return False
    message = response.message
    return message is not None and message.strip().lower() == _NO_HINTS
