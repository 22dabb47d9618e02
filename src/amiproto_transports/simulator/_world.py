"""What every connection of one simulator shares: users, config files, the PBX, the database, faults."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._calls import DIALPLAN, Pbx
from ._conffiles import served_files
from ._config import User
from ._events import OutEvent
from ._limits import Limits
from ._queues import DEVICE_INVALID, DEVICE_NOT_INUSE, Queues
from ._replay import Recording
from ._states import LOADED_MODULES, RECORDED_DEVICE_STATES

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["FAULT_KINDS", "Fault", "World"]

FAULT_KINDS = frozenset({"close_mid_list", "stall", "garbage", "oversized", "bare_lf", "cut_at_eof"})
ONE_SHOT_FAULTS = frozenset({"close_mid_list", "oversized", "cut_at_eof"})


class Fault:
    """One requested misbehaviour. One-shot kinds fire once per connection."""

    __slots__ = ("kind", "options")

    def __init__(self, kind: str, options: Mapping[str, Any]) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        if kind == "oversized" and not isinstance(options.get("size"), int):
            raise ValueError("the oversized fault needs size=<bytes>")
        self.kind = kind
        self.options = dict(options)

    @property
    def one_shot(self) -> bool:
        return self.kind in ONE_SHOT_FAULTS

    def __repr__(self) -> str:
        return f"Fault({self.kind!r}, {self.options!r})"


class World:
    """Shared state of one simulator; sessions and runners call into it, all on one thread."""

    def __init__(
        self,
        users: dict[str, User],
        *,
        start: float,
        wall_offset: float,
        replay: Recording | None = None,
        replay_rate: float | None = None,
        manager_conf: str | None = None,
        limits: Limits | None = None,
        write_each_message: bool = False,
    ) -> None:
        self.users = users
        self.write_each_message = write_each_message
        """Send each message in a write of its own, as Asterisk does (see ``pieces``)."""
        self.limits = limits or Limits()
        self.input_total = 0
        """Bytes of unfinished actions all sessions hold (bounded by ``limits.max_total_input``)."""
        self.output_total = 0
        """Bytes of answers and events all sessions hold for their clients (bounded by
        ``limits.max_total_output``)."""
        self.config_files = served_files(users, manager_conf)
        """What GetConfig and ListCategories read: file name -> text."""
        self.start = start
        self.wall_offset = wall_offset
        self.pbx = Pbx(self.emit, self.wall)
        self.db: dict[tuple[str, str], str] = {}
        self.device_states: dict[str, str] = dict(RECORDED_DEVICE_STATES)
        """The device state cache (DeviceStateList): device -> state, in the order first seen."""
        self.modules: set[str] = set(LOADED_MODULES)
        """Names of the loaded modules, without ``.so`` (ModuleCheck, ModuleLoad)."""
        self.mwi_mailboxes: dict[str, tuple[int, int]] = {}
        """res_mwi_external's mailboxes (MWIUpdate, MWIGet, MWIDelete): id -> (old, new) counts."""
        self.queues = Queues(self.emit, self.device_status, int(self.wall(start)))
        self.pbx.on_queue_call_done = self._queue_call_done
        self.dialplan: dict[str, dict[str, dict[int, tuple[str, str]]]] = {
            context: {exten: dict(enumerate(steps, 1)) for exten, steps in extens.items()}
            for context, extens in DIALPLAN.items()
        }
        """What ShowDialPlan reports: context -> extension -> priority -> (app, data)."""
        self.sessions: set[Session] = set()
        self.fault: Fault | None = None
        self.replay = replay
        self.replay_rate = replay_rate
        self._pending: list[OutEvent] = []
        self._session_ids = itertools.count(0x7F4768000000, 0x1A0)

    def wall(self, now: float) -> float:
        """Epoch seconds for a monotonic ``now``."""
        return now + self.wall_offset

    def _queue_call_done(self, queue: str, interface: str) -> None:
        self.queues.call_done(queue, interface, int(self.wall(self.pbx.now)))

    def device_status(self, device: str) -> int:
        """AST_DEVICE_* of a device: a Local one exists when its extension does; no other driver is loaded."""
        tech, _, target = device.partition("/")
        exten, _, context = target.partition("@")
        if tech.lower() == "local" and exten in self.dialplan.get(context or "default", {}):
            return DEVICE_NOT_INUSE
        return DEVICE_INVALID

    def new_session_id(self) -> str:
        return hex(next(self._session_ids))

    def emit(self, event: OutEvent) -> None:
        """Queue an event for every session; ``dispatch()`` delivers it."""
        if event.name == "DeviceStateChange":
            # Asterisk publishes these from its device state cache, which DeviceStateList lists.
            headers = dict(_header_lines(event.raw))
            device, state = headers.get("Device"), headers.get("State")
            if device and state:
                self.device_states[device] = state
        self._pending.append(event)

    def dispatch(self) -> None:
        """Deliver queued events, in order, to every session."""
        while self._pending:
            pending, self._pending = self._pending, []
            sessions = list(self.sessions)
            for event in pending:
                for session in sessions:
                    session.deliver(event)

    def advance(self, now: float) -> None:
        """Run timed call steps due at ``now``, deliver what they emitted, close late logins."""
        self.pbx.advance(now)
        self.dispatch()
        for session in list(self.sessions):
            session.expire(now)

    def next_deadline(self) -> float | None:
        deadlines = [self.pbx.next_deadline()]
        deadlines += [session.next_deadline() for session in self.sessions]
        known = [deadline for deadline in deadlines if deadline is not None]
        return min(known) if known else None


def _header_lines(raw: bytes) -> list[tuple[str, str]]:
    """An event's ``name: value`` lines (the simulator writes them itself, one per line)."""
    pairs = []
    for line in raw.decode("utf-8", "surrogateescape").split("\r\n"):
        name, colon, value = line.partition(": ")
        if colon:
            pairs.append((name, value))
    return pairs
