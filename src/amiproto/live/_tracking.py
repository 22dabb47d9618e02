"""The interface between ``PBX`` and the trackers that each keep one part of the model.

A tracker owns its objects and says which events and which list completions it
handles. ``PBX`` routes each item to it and collects the changes it reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from .._actions import Action
from .._messages import ActionCompleted, Event
from ._changes import Change

__all__ = ["EventHandler", "ListHandler", "Tracker"]

EventHandler = Callable[[Event, "float | None", int, "list[Change]"], None]
"""``(event, now, seq, changes)``: apply ``event``, append what changed.

``seq`` numbers the events the PBX has handled, in order; a tracker stores it on
what an event touched, so that a snapshot can tell what changed after it was taken.
"""

ListHandler = Callable[[ActionCompleted, "int | None", "float | None", "list[Change]"], None]
"""``(completed, since, now, changes)``: reconcile with a list action's completion.

``since`` is the ``seq`` of the last event handled when the action was handed out
by ``PBX.snapshot_actions()``, or None for an action the PBX did not hand out (the
list is then taken as the truth). What an event touched after ``since`` stays even
when the list lacks it, and what an event removed after ``since`` is not added back.
Remove nothing unless ``completed.complete`` and not ``completed.too_many_events``.
"""


class Tracker(Protocol):
    """One part of the model (channels, queues, states)."""

    def event_handlers(self) -> Mapping[str, EventHandler]:
        """The handler of each event name this tracker follows."""
        ...

    def list_handlers(self) -> Mapping[str, ListHandler]:
        """The handler of each list action (by lower-case action name) it reconciles with."""
        ...

    def snapshot_actions(self) -> list[Action]:
        """Fresh actions whose lists fill this part of the model from scratch."""
        ...
