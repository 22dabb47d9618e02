"""The call queues of the recorded server (its queues.conf) and their members, as app_queue keeps them.

Static members come from the config; QueueAdd adds dynamic ones. The header
shapes follow the ``all_actions`` recording of a real Asterisk 22.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ._events import OutEvent, make_event

__all__ = [
    "DEVICE_INVALID",
    "DEVICE_NOT_INUSE",
    "DEVICE_UNAVAILABLE",
    "MAX_MEMBERS",
    "Member",
    "Queue",
    "Queues",
    "listing_order",
]

DEVICE_NOT_INUSE = 1
DEVICE_INVALID = 4
DEVICE_UNAVAILABLE = 5

MAX_MEMBERS = 1000
"""Members one queue holds; QueueAdd beyond it answers "Out of memory", like a failed allocation."""


@dataclass(eq=False)
class Member:
    """One queue member; the fields are the ones QueueStatus and the QueueMember* events report."""

    interface: str
    name: str
    state_interface: str
    login_time: int
    dynamic: bool
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    ringinuse: bool = True
    wrapuptime: int = 0
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False


@dataclass(eq=False)
class Queue:
    name: str
    strategy: str = "ringall"
    members: list[Member] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0

    def member(self, interface: str) -> Member | None:
        # Asterisk compares interfaces without regard to case.
        return next((mem for mem in self.members if mem.interface.lower() == interface.lower()), None)


class Queues:
    """Every queue of one simulator, with the ``Queue:<name>_pause_<interface>`` device states."""

    def __init__(
        self,
        emit: Callable[[OutEvent], None],
        device_status: Callable[[str], int],
        login_time: int,
    ) -> None:
        self._emit = emit
        self.device_status = device_status
        """The device state (AST_DEVICE_*) of a member's state interface."""
        static = Member("Local/wait@default", "Local/wait@default", "Local/wait@default", login_time, False)
        self.queues: dict[str, Queue] = {"support": Queue("support", members=[static])}
        self._pause_states: dict[str, str] = {}

    def get(self, name: str) -> Queue | None:
        return self.queues.get(name)

    def call_done(self, name: str, interface: str, now: int) -> None:
        """A call the member ``interface`` answered for queue ``name`` ended: count it."""
        queue = self.queues.get(name)
        if queue is None:
            return
        queue.completed += 1
        member = queue.member(interface)
        if member is not None:
            member.calls_taken += 1
            member.last_call = now

    def member_event(self, name: str, queue: Queue, member: Member) -> None:
        pairs = [
            ("Queue", queue.name),
            ("MemberName", member.name),
            ("Interface", member.interface),
            ("StateInterface", member.state_interface),
            ("Membership", "dynamic" if member.dynamic else "static"),
            ("Penalty", str(member.penalty)),
            ("CallsTaken", str(member.calls_taken)),
            ("LastCall", str(member.last_call)),
            ("LastPause", str(member.last_pause)),
            ("LoginTime", str(member.login_time)),
            ("InCall", "1" if member.in_call else "0"),
            ("Status", str(self.device_status(member.state_interface))),
            ("Paused", "1" if member.paused else "0"),
            ("PausedReason", member.paused_reason),
            ("Ringinuse", "1" if member.ringinuse else "0"),
            ("Wrapuptime", str(member.wrapuptime)),
        ]
        self._emit(make_event(name, "agent,all", pairs))

    def pause_device(self, queue: Queue, member: Member, *, paused: bool) -> None:
        """Set ``Queue:<queue>_pause_<interface>``; a DeviceStateChange follows only a change."""
        device = f"Queue:{queue.name}_pause_{member.interface}"
        state = "INUSE" if paused else "NOT_INUSE"
        if self._pause_states.get(device) != state:
            self._pause_states[device] = state
            self._emit(make_event("DeviceStateChange", "call,all", [("Device", device), ("State", state)]))


def listing_order(queue: Queue) -> list[Member]:
    """Members in the order Asterisk walks them: its 37-bucket hash of the interface, then insertion.

    app_queue hashes up to five characters from the ``/`` of the interface
    (``member_hash_fn``); linear and rrordered queues keep one bucket.
    """
    if queue.strategy in ("linear", "rrordered"):
        return list(queue.members)
    return sorted(queue.members, key=_member_bucket)  # sorted() is stable: insertion order within a bucket


def _member_bucket(member: Member) -> int:
    interface = member.interface
    start = interface.find("/")
    total = 0
    for shift, char in enumerate(interface[max(start, 0) :][:5]):
        code = ord(char)
        total += (0 if code < 32 else code - 64 if code > 96 else code - 32) << (shift * 6)
    return total % 37
