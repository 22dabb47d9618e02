"""The sync client's worker roles as data: the table is total, and the hand-over rules
hold, checked without threads on a fake clock."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amiproto_transports._sync_roles import TRANSITIONS, Input, Role, RoleError, Workers, transition

LIMIT = 0.02
R = Role


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def workers() -> tuple[Workers, Clock]:
    clock = Clock()
    return Workers(2, LIMIT, clock), clock


def reading_and_lending(answer_awaited: bool = False) -> tuple[Workers, Clock]:
    """Worker 0 reads and runs callbacks (lends the reading); worker 1 is the standby."""
    roles, clock = workers()
    assert roles.take_work(0, queued=False) is R.READING
    assert roles.lend(0, answer_awaited) is True  # the standby was not watching: wake it
    assert roles.roles == [R.LENDING, R.STANDBY]
    return roles, clock


@pytest.mark.parametrize(("role", "event"), list(itertools.product(Role, Input)))
def test_every_pair_moves_or_raises(role: Role, event: Input) -> None:
    if (role, event) in TRANSITIONS:
        assert transition(role, event) is TRANSITIONS[role, event]
    else:
        with pytest.raises(RoleError, match=event.value):
            transition(role, event)


def test_every_role_is_reached_and_only_stopped_is_final() -> None:
    reached = {R.STANDBY}
    while True:
        more = {after for (before, _), after in TRANSITIONS.items() if before in reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(Role)
    assert {before for before, _ in TRANSITIONS} == set(Role) - {R.STOPPED}


def test_one_reader_at_a_time() -> None:
    roles, _ = workers()
    assert roles.take_work(1, queued=False) is R.READING
    assert roles.take_work(0, queued=False) is None
    assert roles.reader == 1
    with pytest.raises(RoleError):  # the standby cannot find the reading free
        roles._move(0, Input.READING_FREE)


def test_a_reader_with_callbacks_keeps_the_reading_when_they_end_in_time() -> None:
    roles, clock = reading_and_lending()
    clock.now += LIMIT / 2
    assert roles.take_work(1, queued=False) is None
    assert roles.wait_time() == LIMIT  # watching the lender
    assert roles.callbacks_done(0) is R.READING
    assert roles.roles == [R.READING, R.STANDBY]


def test_a_waiter_never_waits_behind_a_callback() -> None:
    roles, _ = reading_and_lending()
    assert roles.take_work(1, queued=True) is None
    assert roles.answer_awaited() is True  # wake the standby
    assert roles.answer_awaited() is False  # once is enough
    # However little time has passed, the standby reads now.
    assert roles.take_work(1, queued=True) is R.READING
    assert roles.roles == [R.CALLING_BACK, R.READING]
    assert roles.callbacks_done(0) is R.STANDBY
    assert roles.roles == [R.STANDBY, R.READING]
    assert not roles.hand_over


def test_an_answer_awaited_when_the_lending_starts_hands_over_at_once() -> None:
    roles, _ = reading_and_lending(answer_awaited=True)
    assert roles.take_work(1, queued=False) is R.READING


def test_no_hand_over_without_a_lender() -> None:
    roles, _ = workers()
    roles.take_work(0, queued=False)
    assert roles.answer_awaited() is False
    assert roles.take_work(1, queued=False) is None


def test_the_standby_reads_once_the_lend_limit_passes() -> None:
    roles, clock = reading_and_lending()
    clock.now += LIMIT * 0.99
    assert roles.take_work(1, queued=True) is None
    clock.now += LIMIT * 0.02
    assert roles.take_work(1, queued=True) is R.READING
    assert roles.roles == [R.CALLING_BACK, R.READING]


def test_callbacks_run_one_worker_at_a_time() -> None:
    roles, _ = reading_and_lending(answer_awaited=True)
    roles.take_work(1, queued=True)  # takes the reading; worker 0 finishes the callbacks
    # The new reader finds callbacks queued but runs none while worker 0 does.
    assert roles.calling_back
    with pytest.raises(RoleError, match="run callbacks"):
        roles.lend(1, answer_awaited=False)


def test_the_standby_runs_callbacks_nobody_runs() -> None:
    # As while the reader waits to reconnect: it holds the reading but runs no callbacks.
    roles, _ = workers()
    roles.take_work(0, queued=False)
    assert roles.take_work(1, queued=True) is R.CALLING_BACK
    assert roles.callbacks_done(1) is R.STANDBY


def test_the_standby_watches_only_while_the_reading_is_lent_lately() -> None:
    roles, _ = workers()
    roles.take_work(0, queued=False)
    assert roles.wait_time() is None  # nothing to watch: sleep until woken
    assert roles.lend(0, answer_awaited=False) is True  # wake it to watch
    assert roles.wait_time() == LIMIT
    roles.callbacks_done(0)
    assert roles.lend(0, answer_awaited=False) is False  # it watches already
    roles.callbacks_done(0)
    assert roles.wait_time() == LIMIT  # lent since it last looked
    assert roles.wait_time() is None


def test_when_the_reading_ends_what_is_left_runs_once_then_both_stop() -> None:
    roles, _ = workers()
    roles.take_work(0, queued=False)
    roles.end_reading(0)
    assert roles.roles == [R.STANDBY, R.STANDBY] and roles.ended
    assert roles.take_work(1, queued=True) is R.CALLING_BACK
    assert roles.take_work(0, queued=True) is R.STOPPED  # worker 1 runs them
    assert roles.callbacks_done(1) is R.STANDBY
    assert roles.take_work(1, queued=False) is R.STOPPED
    with pytest.raises(RoleError):
        roles.take_work(1, queued=True)


def reading_and_waiting_for_room() -> Workers:
    """Worker 1 took the reading from lender 0, which still runs callbacks, and found
    no room for all it read."""
    roles, _ = reading_and_lending(answer_awaited=True)
    assert roles.take_work(1, queued=True) is R.READING
    roles.wait_for_room(1)
    assert roles.roles == [R.CALLING_BACK, R.WAITING_FOR_ROOM]
    return roles


def test_a_reader_waiting_for_room_reads_on_once_room_is_made() -> None:
    roles = reading_and_waiting_for_room()
    assert roles.reader == 1 and roles.waiting_for_room
    roles.room_wait_over(1, answer_awaited=False)
    assert roles.roles == [R.CALLING_BACK, R.READING] and not roles.waiting_for_room


def test_an_answer_awaited_wakes_a_reader_waiting_for_room() -> None:
    roles = reading_and_waiting_for_room()
    assert roles.answer_awaited() is True  # wake it, every time: it looks for itself
    assert roles.answer_awaited() is True
    roles.room_wait_over(1, answer_awaited=True)
    assert roles.roles == [R.CALLING_BACK, R.READING]
    assert roles.answer_awaited() is False


def test_a_reader_waiting_for_room_keeps_the_reading_and_the_standby_runs_callbacks() -> None:
    roles = reading_and_waiting_for_room()
    assert roles.callbacks_done(0) is R.STANDBY
    # A waiting reader lends nothing: the standby never takes the reading from it...
    assert roles.take_work(0, queued=False) is None
    # ...but runs the callbacks nobody runs, as for a reader that reconnects.
    assert roles.take_work(0, queued=True) is R.CALLING_BACK
    assert roles.roles == [R.CALLING_BACK, R.WAITING_FOR_ROOM]


def test_closing_ends_the_wait_for_room() -> None:
    roles = reading_and_waiting_for_room()
    roles.end_reading(1)
    assert roles.roles == [R.CALLING_BACK, R.STANDBY] and roles.ended
    assert roles.take_work(1, queued=True) is R.STOPPED  # worker 0 runs what is left


def allowed_steps(roles: Workers) -> list[tuple[str, int]]:
    """What the client may do next, as its workers and callers do it."""
    steps: list[tuple[str, int]] = [("answer_awaited", 0), ("tick", 0)]
    for me, role in enumerate(roles.roles):
        if role is R.STANDBY:
            steps += [("take_work", me), ("take_work_queued", me)]
        elif role is R.READING:
            steps += [("end_reading", me), ("wait_for_room", me)]
            if not roles.calling_back:
                steps += [("lend", me), ("lend_awaited", me)]
        elif role is R.WAITING_FOR_ROOM:
            steps += [("end_reading", me), ("room_made", me), ("room_wait_answered", me)]
        elif role in (R.LENDING, R.CALLING_BACK):
            steps += [("callbacks_done", me)]
    return steps


@settings(max_examples=300)
@given(st.data())
def test_any_sequence_keeps_one_reader_and_one_caller(data: st.DataObject) -> None:
    roles, clock = workers()
    for _ in range(data.draw(st.integers(0, 40))):
        step, me = data.draw(st.sampled_from(allowed_steps(roles)))
        if step.startswith("take_work"):
            roles.take_work(me, queued=step.endswith("queued"))
        elif step.startswith("lend"):
            roles.lend(me, answer_awaited=step.endswith("awaited"))
        elif step == "callbacks_done":
            roles.callbacks_done(me)
        elif step == "answer_awaited":
            roles.answer_awaited()
        elif step == "tick":
            clock.now += LIMIT / 3
        elif step == "wait_for_room":
            roles.wait_for_room(me)
        elif step.startswith("room_"):
            roles.room_wait_over(me, answer_awaited=step.endswith("answered"))
        else:
            roles.end_reading(me)
        holding = [n for n, r in enumerate(roles.roles) if r in (R.READING, R.LENDING, R.WAITING_FOR_ROOM)]
        calling = [n for n, r in enumerate(roles.roles) if r in (R.LENDING, R.CALLING_BACK)]
        assert len(holding) <= 1 and len(calling) <= 1
        assert roles.reader == (holding[0] if holding else None)
        assert roles.calling_back == bool(calling)
        assert roles.waiting_for_room == (R.WAITING_FOR_ROOM in roles.roles)
        assert not (roles.ended and holding)  # nobody reads once the reading has ended
        if roles.lending and roles.hand_over and roles.roles[1 - holding[0]] is R.STANDBY:
            # A waiter never waits behind a callback: the standby's next look takes the reading.
            assert roles.take_work(1 - holding[0], queued=False) is R.READING
