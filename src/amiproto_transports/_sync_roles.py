"""The sync client's two workers: their roles, and the rules that hand the reading over.

One worker at a time holds the reading (``READING``). It runs the callbacks
of what it read itself, and meanwhile *lends* the reading (``LENDING``): nobody
reads until it is done, unless the other worker, the standby, takes the reading
over, which it does at once when an answer is awaited, or once the lending has
lasted ``lend_limit``. The lender then finishes the queued callbacks without the
reading (``CALLING_BACK``) and becomes the standby. The standby also runs
callbacks nobody runs (while the reader reconnects, say). Once the reading has
ended for good, the workers run what is left and stop.

A reader that read more than the queue has room for, while the other worker runs
the callbacks, holds the rest back and reads no more (``WAITING_FOR_ROOM``), so
that TCP makes the server wait instead of the queue dropping events; it reads on
once the callbacks have queued all it held back, and at once when an answer is
awaited (then what does not fit is dropped, oldest first).

The rules are data: ``TRANSITIONS`` maps (role, input) to the next role, and a
pair not in it raises ``RoleError``, a bug in the client. ``Workers`` applies
them to both workers and keeps the facts the inputs are decided from; it takes
no lock and no thread of its own, so the client calls it under its queue lock,
and the tests call it with a fake clock. Reconnecting is part of ``READING``:
the reader keeps the reading while it waits to connect again.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable

__all__ = ["Input", "Role", "RoleError", "TRANSITIONS", "Workers", "transition"]


class RoleError(RuntimeError):
    """A worker was given an input its role does not allow: a bug in the client."""


class Role(enum.Enum):
    # Members are singletons that compare by identity: so may they hash. Enum's own
    # __hash__ is a Python call, four of them per move (TRANSITIONS and _summary).
    __hash__ = object.__hash__

    STANDBY = "standby"  # waits for the reading or for callbacks nobody runs
    READING = "reading"  # holds the reading: select, receive, feed the core
    LENDING = "lending"  # holds the reading but runs callbacks; nobody reads meanwhile
    CALLING_BACK = "calling back"  # runs callbacks without the reading
    WAITING_FOR_ROOM = "waiting for room"  # holds the reading, reads nothing until the queue has room
    STOPPED = "stopped"


class Input(enum.Enum):
    __hash__ = object.__hash__  # as Role's

    READING_FREE = "find the reading free"  # nobody holds it: at the start
    CALLBACKS_QUEUED = "find callbacks queued"  # and nobody running them
    CALLBACKS_DONE = "finish the callbacks"  # the queue is empty
    ANSWER_AWAITED = "see an answer awaited"  # while the other worker lends the reading
    LEND_LIMIT_PASSED = "see the lend limit pass"  # while the other worker lends the reading
    READING_TAKEN = "lose the reading"  # the standby took it over
    READING_ENDED = "end the reading"  # lost for good, or closed by the program
    FINISHED = "find nothing left"  # the reading has ended and no callbacks are left to take
    ROOM_LACKING = "find no room"  # for all it read, while the other worker runs callbacks
    ROOM_MADE = "see room made"  # all it held back is queued, or nobody runs callbacks any more


_R, _I = Role, Input

TRANSITIONS: dict[tuple[Role, Input], Role] = {
    (_R.STANDBY, _I.READING_FREE): _R.READING,
    (_R.STANDBY, _I.ANSWER_AWAITED): _R.READING,
    (_R.STANDBY, _I.LEND_LIMIT_PASSED): _R.READING,
    (_R.STANDBY, _I.CALLBACKS_QUEUED): _R.CALLING_BACK,
    (_R.STANDBY, _I.FINISHED): _R.STOPPED,
    (_R.READING, _I.CALLBACKS_QUEUED): _R.LENDING,
    (_R.READING, _I.READING_ENDED): _R.STANDBY,  # it may still run the callbacks left
    (_R.READING, _I.ROOM_LACKING): _R.WAITING_FOR_ROOM,
    (_R.WAITING_FOR_ROOM, _I.ROOM_MADE): _R.READING,
    (_R.WAITING_FOR_ROOM, _I.ANSWER_AWAITED): _R.READING,  # drops what does not fit, and reads
    (_R.WAITING_FOR_ROOM, _I.READING_ENDED): _R.STANDBY,  # closed by the program meanwhile
    (_R.LENDING, _I.CALLBACKS_DONE): _R.READING,
    (_R.LENDING, _I.READING_TAKEN): _R.CALLING_BACK,
    (_R.CALLING_BACK, _I.CALLBACKS_DONE): _R.STANDBY,
}

_HOLDS_READING = (_R.READING, _R.LENDING, _R.WAITING_FOR_ROOM)
_RUNS_CALLBACKS = (_R.LENDING, _R.CALLING_BACK)


# What the roles of all workers say: (reader, lending, waiting_for_room, calling_back).
_Summary = tuple[int | None, bool, bool, bool]


# Worked out, and checked, once per combination of roles (a RoleError is not kept): a
# reader moves twice per read that has callbacks, and the checks cost more than the rest.
@functools.cache
def _summary(roles: tuple[Role, ...]) -> _Summary:
    holders = [n for n, r in enumerate(roles) if r in _HOLDS_READING]
    callers = [n for n, r in enumerate(roles) if r in _RUNS_CALLBACKS]
    # Checked for every combination reached, so that a missing rule fails here and not as a race.
    if len(holders) > 1:
        raise RoleError(f"workers {holders} both hold the reading")
    if len(callers) > 1:
        raise RoleError(f"workers {callers} both run callbacks, which must run in order")
    return (
        holders[0] if holders else None,
        _R.LENDING in roles,
        _R.WAITING_FOR_ROOM in roles,
        bool(callers),
    )


def transition(role: Role, event: Input) -> Role:
    """The role after ``event`` in ``role``; ``RoleError`` if not allowed."""
    try:
        return TRANSITIONS[role, event]
    except KeyError:
        raise RoleError(f"a worker {role.value} cannot {event.value}") from None


class Workers:
    """The roles of the client's workers (numbered from 0) and the facts behind their inputs.

    Not thread-safe: every call is made under one lock. The client reads
    ``lending``, ``hand_over`` and ``waiting_for_room`` without it only as a hint,
    and checks again under the lock.
    """

    def __init__(self, count: int, lend_limit: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.roles = [Role.STANDBY] * count
        self.lend_limit = lend_limit
        self.clock = clock
        self.reader: int | None = None  # the worker READING or LENDING
        self.lending = False
        self.waiting_for_room = False  # the reader: a thread that awaits an answer must wake it
        self.calling_back = False  # a worker runs callbacks (LENDING or CALLING_BACK)
        self.hand_over = False  # an answer is awaited while lent: the standby takes the reading
        self.lent_since = 0.0
        self.lent_lately = False  # lent since the standby last looked
        self.watching = False  # the standby wakes every lend_limit to look at the lender
        self.ended = False  # the reading has ended for good

    def _move(self, worker: int, event: Input) -> Role:
        roles = self.roles
        # The table read here, transition() called only to raise: two moves per read.
        role = roles[worker] = TRANSITIONS.get((roles[worker], event)) or transition(roles[worker], event)
        self.reader, self.lending, self.waiting_for_room, self.calling_back = _summary(tuple(roles))
        return role

    def take_work(self, worker: int, queued: bool) -> Role | None:
        """For a worker on STANDBY: its next role (READING, CALLING_BACK or STOPPED),
        or None when it has nothing to do and waits ``wait_time()`` before asking again.
        ``queued``: callbacks are queued."""
        if self.ended:
            if self.calling_back or not queued:
                return self._move(worker, Input.FINISHED)
            return self._move(worker, Input.CALLBACKS_QUEUED)
        lender = self.reader
        if lender is None:
            return self._move(worker, Input.READING_FREE)
        if self.lending:
            if self.hand_over:
                reason: Input | None = Input.ANSWER_AWAITED
            elif self.clock() - self.lent_since >= self.lend_limit:
                reason = Input.LEND_LIMIT_PASSED
            else:
                reason = None
            if reason is not None:
                self._move(lender, Input.READING_TAKEN)  # first: one reader at a time
                self.hand_over = False
                return self._move(worker, reason)
        if queued and not self.calling_back:
            return self._move(worker, Input.CALLBACKS_QUEUED)
        return None

    def wait_time(self) -> float | None:
        """How long a standby with nothing to do waits before asking again (unless woken):
        while the reading is lent, or was since it last asked, the lend limit, so that it
        sees the limit pass; otherwise until woken."""
        self.watching = self.lending or self.lent_lately
        self.lent_lately = False
        return self.lend_limit if self.watching else None

    def lend(self, worker: int, answer_awaited: bool) -> bool:
        """The reader found callbacks queued that nobody runs, and runs them itself.
        True when the standby must be woken: to take the reading at once (an answer is
        awaited), or to start watching the time."""
        self._move(worker, Input.CALLBACKS_QUEUED)
        self.lent_since = self.clock()
        self.lent_lately = True
        self.hand_over = answer_awaited
        return answer_awaited or not self.watching

    def answer_awaited(self) -> bool:
        """A thread now awaits an answer; True when a worker must be woken: the standby,
        to take the reading from a lender, or the reader waiting for room, to read on."""
        if self.waiting_for_room:
            return True
        if self.lending and not self.hand_over:
            self.hand_over = True
            return True
        return False

    def wait_for_room(self, worker: int) -> None:
        """The reader holds back what it read and waits until the queue takes it.
        Marked before it looks for an awaited answer, so that a thread awaiting one
        from then on sees the mark (``answer_awaited``) and wakes it."""
        self._move(worker, Input.ROOM_LACKING)

    def room_wait_over(self, worker: int, answer_awaited: bool) -> None:
        """The reader waiting for room reads on: room was made, or an answer is awaited."""
        self._move(worker, Input.ANSWER_AWAITED if answer_awaited else Input.ROOM_MADE)

    def callbacks_done(self, worker: int) -> Role:
        """The queue is empty: READING again for a lender that kept the reading, else STANDBY."""
        role = self._move(worker, Input.CALLBACKS_DONE)
        if role is Role.READING:
            self.hand_over = False
        return role

    def end_reading(self, worker: int) -> None:
        """The reading has ended for good; the workers run what is left and stop."""
        # Not READING only when its callbacks failed after a take-over (a bug the client
        # logs and answers by failing the connection): the reader then ends it too.
        if self.roles[worker] in (Role.READING, Role.WAITING_FOR_ROOM):
            self._move(worker, Input.READING_ENDED)
        self.ended = True
