"""``PBX``: the live model, fed with the items ``Connection.next_event()`` yields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._actions import Action
from .._messages import ActionCompleted, ConnectionClosed, Event
from ._changes import Change
from ._channels import ChannelTracker
from ._dispatching import dispatcher
from ._objects import Bridge, Call, Channel, ExtensionState, Queue
from ._queues import QueueTracker
from ._states import StateTracker
from ._tracking import EventHandler, ListHandler

__all__ = ["PBX"]

_ActionKey = tuple[str, tuple[tuple[str, str], ...]]


def _key(action: Action) -> _ActionKey:
    """What identifies a snapshot action in its completion: ``Connection.send()``
    completes a copy that carries the ActionID it gave, so not the object itself."""
    return action.name.lower(), tuple(pair for pair in action.headers if pair[0].lower() != "actionid")


class PBX:
    """What is happening on one Asterisk right now, kept current from its events.

    Pure state: no I/O and no clock. Give every item a connection yields to
    ``apply(item, now)``; to fill the model from scratch (at start, after a
    reconnect), send ``snapshot_actions()`` and apply their completions too.
    Objects are updated in place; ``apply`` returns what it changed.
    """

    def __init__(self, *, history: int = 0) -> None:
        """``history``: how many finished calls ``finished_calls`` keeps (0: none)."""
        self._channels = ChannelTracker(history=history)
        self._queues = QueueTracker()
        self._states = StateTracker()
        trackers = (self._channels, self._queues, self._states)
        self._on_event: dict[str, EventHandler] = {}
        self._on_list: dict[str, ListHandler] = {}
        for tracker in trackers:
            self._on_event.update(tracker.event_handlers())
            self._on_list.update(tracker.list_handlers())
        # The handler (None: none) of each typed event class, as its name gives it:
        # one lookup by ``type(item)`` then does the work of isinstance, reading the
        # name and the lookup by name. The core builds a typed class only for the
        # names of its catalogue, so this holds at most one entry per catalogued
        # class; other items (plain events of other names, responses, completions)
        # go by ``_apply_by_name``.
        self._by_class: dict[type, EventHandler | None] = {}
        self._trackers = trackers
        self._dispatch = dispatcher(self._by_class, self._apply_by_name)
        # ``apply`` is the dispatcher itself (C with the speedups): every item passes
        # here, most of them to no handler, and a method of its own cost a Python
        # frame each. The method below documents it.
        vars(self)["apply"] = self._dispatch
        # Snapshot actions handed out and not completed yet: their key -> seq.
        self._snapshots: dict[_ActionKey, int] = {}
        self._synced = False

    # -- the model --

    @property
    def channels(self) -> Mapping[str, Channel]:
        """Channels up now, by Uniqueid."""
        return self._channels.channels

    @property
    def bridges(self) -> Mapping[str, Bridge]:
        """Bridges that exist now, by BridgeUniqueid."""
        return self._channels.bridges

    @property
    def calls(self) -> Mapping[str, Call]:
        """Calls with a channel up, by Linkedid."""
        return self._channels.calls

    @property
    def finished_calls(self) -> Sequence[Call]:
        """The latest finished calls, oldest first, at most ``history`` of them."""
        return self._channels.finished_calls

    @property
    def queues(self) -> Mapping[str, Queue]:
        """Queues, by name."""
        return self._queues.queues

    @property
    def device_states(self) -> Mapping[str, str]:
        """Each device's state (``NOT_INUSE``, ``INUSE``, ...), by device name."""
        return self._states.device_states

    @property
    def extension_states(self) -> Mapping[tuple[str, str], ExtensionState]:
        """Each hint's state, by ``(exten, context)``."""
        return self._states.extension_states

    @property
    def synced(self) -> bool:
        """True once every action of the latest ``snapshot_actions()`` has completed, and
        none broke off (cut short, timed out, given up at ``max_list_events``); an error
        answer (no such module, no permission) completes its action too. False before the
        first ``snapshot_actions()``, and again after the connection closes."""
        return self._synced

    # -- feeding it --

    def snapshot_actions(self) -> list[Action]:
        """Fresh list actions that fill the model from scratch; send them all, then
        ``apply`` their completions. A new call forgets the previous, unfinished ones."""
        actions = [action for tracker in self._trackers for action in tracker.snapshot_actions()]
        self._snapshots = {_key(action): self._dispatch.seq for action in actions}
        self._synced = not actions  # nothing to wait for
        return actions

    def apply(self, item: Any, now: float | None = None) -> Sequence[Change]:
        """Apply one item of ``next_event()`` and return the changes it made.

        ``now`` is the time to record (created, started, wait start...), in any
        unit the program likes; None records no time. Items the model does not
        follow change nothing and cost one dictionary lookup.
        """
        return self._dispatch(item, now)  # unused: each PBX's ``apply`` is its dispatcher

    def _apply_by_name(self, item: Any, now: float | None) -> Sequence[Change]:
        """``apply`` for an item of a class not in ``_by_class``: an event by its name
        (whose class it learns), a list's completion, the connection's end."""
        if isinstance(item, Event):
            handler = self._on_event.get(item.name)
            cls = type(item)
            if cls.event_name is not None and cls not in self._by_class:
                self._learn_class(cls)
            if handler is None:
                return ()
            self._dispatch.seq = seq = self._dispatch.seq + 1
            changes: list[Change] = []
            handler(item, now, seq, changes)
            return changes
        if isinstance(item, ActionCompleted):
            return self._completed(item, now)
        if isinstance(item, ConnectionClosed):
            self._synced = False
        return ()

    def _learn_class(self, cls: type[Event]) -> None:
        """Route the events of ``cls`` by class from now on. A class the core builds
        for several wire names (``NewExten`` for "NewExten" and its alias "Newexten")
        whose names have different handlers goes to ``_by_name_of_shared_class``."""
        from .._event_specs import ALIASES  # noqa: PLC0415 - loaded by the core with its first typed event

        documented = cls.event_name
        assert documented is not None
        names = [documented, *(alias for alias, name in ALIASES.items() if name == documented)]
        handlers = {self._on_event.get(name) for name in names}
        self._by_class[cls] = handlers.pop() if len(handlers) == 1 else self._by_name_of_shared_class

    def _by_name_of_shared_class(
        self, event: Event, now: float | None, seq: int, changes: list[Change]
    ) -> None:
        # An event of a name the model does not follow then changes nothing but
        # uses up a seq, which only orders what events touched: no harm.
        handler = self._on_event.get(event.name)
        if handler is not None:
            handler(event, now, seq, changes)

    def _completed(self, completed: ActionCompleted, now: float | None) -> Sequence[Change]:
        handler = self._on_list.get(completed.action.name.lower())
        if handler is None:
            return ()
        since = self._snapshots.pop(_key(completed.action), None)
        if since is not None:
            if not (completed.complete and not completed.too_many_events):
                # A snapshot list that broke off: the model stays unsynced until the next.
                self._snapshots.clear()
            elif not self._snapshots:
                self._synced = True
        changes: list[Change] = []
        handler(completed, since, now, changes)
        return changes
