"""Queues, members and waiting callers: every queue event, the QueueStatus snapshot, and real traffic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto.actions import QueueStatus
from amiproto.live import (
    PBX,
    Change,
    Queue,
    QueueAdded,
    QueueCallerAdded,
    QueueCallerChanged,
    QueueCallerRemoved,
    QueueChanged,
    QueueMemberAdded,
    QueueMemberChanged,
    QueueMemberRemoved,
    QueueRemoved,
)
from amiproto.live._queues import QueueTracker

from ..conftest import RECORDINGS, needs_shared
from .wire import Wire, load_rx, mixed_session_rx, replay

ALICE = "PJSIP/alice"
BOB = "PJSIP/bob"


def member(interface: str = ALICE, queue: str = "support", **fields: str) -> dict[str, str]:
    """A QueueMember* event's record, as Asterisk 22 writes it (all_actions recording)."""
    record = {
        "Queue": queue,
        "MemberName": interface.rpartition("/")[2],
        "Interface": interface,
        "StateInterface": interface,
        "Membership": "dynamic",
        "Penalty": "0",
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "LoginTime": "1796397713",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Ringinuse": "1",
        "Wrapuptime": "0",
    }
    record.update(fields)
    return record


def caller(uniqueid: str, position: int, count: int, queue: str = "support") -> dict[str, str]:
    """A QueueCallerJoin/Leave event's headers (load_120calls recording)."""
    return {
        "Channel": f"Local/queue@default-{uniqueid};2",
        "ChannelState": "6",
        "ChannelStateDesc": "Up",
        "CallerIDNum": f"10{uniqueid}",
        "CallerIDName": f"Caller {uniqueid}",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": "default",
        "Exten": "queue",
        "Priority": "2",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
        "Queue": queue,
        "Position": str(position),
        "Count": str(count),
    }


def agent(uniqueid: str, interface: str = ALICE, queue: str = "support", **extra: str) -> dict[str, str]:
    """An Agent* event's headers: the caller, then the member's channel (load_120calls recording)."""
    return {
        "Channel": f"Local/queue@default-{uniqueid};2",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
        "DestChannel": f"{interface}-0001",
        "DestUniqueid": f"{uniqueid}.dest",
        "Queue": queue,
        "Interface": interface,
        "MemberName": interface.rpartition("/")[2],
        **extra,
    }


def params(queue: str = "support", **fields: str) -> dict[str, str]:
    record = {
        "Queue": queue,
        "Max": "0",
        "Strategy": "ringall",
        "Calls": "0",
        "Holdtime": "3",
        "TalkTime": "40",
        "Completed": "5",
        "Abandoned": "1",
        "ServiceLevel": "60",
        "ServicelevelPerf": "80.0",
        "ServicelevelPerf2": "80.0",
        "Weight": "0",
    }
    record.update(fields)
    return record


def listed_member(interface: str = ALICE, queue: str = "support", **fields: str) -> dict[str, str]:
    """A QueueStatus QueueMember item: Name and Location, no Ringinuse."""
    record = member(interface, queue, **fields)
    record["Name"] = record.pop("MemberName")
    record["Location"] = record.pop("Interface")
    del record["Ringinuse"]
    return record


def entry(uniqueid: str, position: int, wait: int, queue: str = "support") -> dict[str, str]:
    return {
        "Queue": queue,
        "Position": str(position),
        "Channel": f"Local/queue@default-{uniqueid};2",
        "Uniqueid": uniqueid,
        "CallerIDNum": f"10{uniqueid}",
        "CallerIDName": f"Caller {uniqueid}",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Wait": str(wait),
        "Priority": "0",
    }


def positions(queue: Queue) -> dict[str, int | None]:
    return {uniqueid: c.position for uniqueid, c in queue.callers.items()}


def kinds(changes: Sequence[Change]) -> list[str]:
    return [type(change).__name__ for change in changes]


# -- members -------------------------------------------------------------------


def test_member_added_creates_the_queue_and_the_member_with_every_field() -> None:
    wire = Wire()
    fields = {"Penalty": "1", "CallsTaken": "3", "LastCall": "1796397000", "Paused": "1"}
    changes = wire.event("QueueMemberAdded", member(PausedReason="lunch", Wrapuptime="5", **fields))
    assert kinds(changes) == ["QueueAdded", "QueueMemberAdded"]
    queue = wire.pbx.queues["support"]
    alice = queue.members[ALICE]
    assert changes[1] == QueueMemberAdded(queue, alice)
    assert (alice.name, alice.state_interface, alice.membership) == ("alice", ALICE, "dynamic")
    assert (alice.penalty, alice.calls_taken, alice.last_call, alice.wrapup_time) == (1, 3, 1796397000, 5)
    assert (alice.in_call, alice.status, alice.ring_in_use) == (False, 1, True)
    assert (alice.paused, alice.paused_reason) == (True, "lunch")


def test_pause_with_a_reason_then_unpause_reports_both_fields() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    alice = wire.pbx.queues["support"].members[ALICE]
    (paused,) = wire.event("QueueMemberPause", member(Paused="1", PausedReason="lunch"))
    assert isinstance(paused, QueueMemberChanged)
    assert paused.member is alice
    assert paused.fields == {"paused": (False, True), "paused_reason": (None, "lunch")}
    (reason,) = wire.event("QueueMemberPause", member(Paused="1", PausedReason="break"))
    assert isinstance(reason, QueueMemberChanged)
    assert reason.fields == {"paused_reason": ("lunch", "break")}
    (unpaused,) = wire.event("QueueMemberPause", member(Paused="0", PausedReason=""))
    assert isinstance(unpaused, QueueMemberChanged)
    assert unpaused.fields == {"paused": (True, False), "paused_reason": ("break", None)}


@pytest.mark.parametrize(
    ("event", "header", "value", "field", "new"),
    [
        ("QueueMemberPenalty", "Penalty", "7", "penalty", 7),
        ("QueueMemberRinginuse", "Ringinuse", "0", "ring_in_use", False),
        ("QueueMemberStatus", "Status", "2", "status", 2),
        ("QueueMemberStatus", "InCall", "1", "in_call", True),
        ("QueueMemberStatus", "CallsTaken", "9", "calls_taken", 9),
    ],
)
def test_each_member_event_changes_its_field_once(
    event: str, header: str, value: str, field: str, new: object
) -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    alice = wire.pbx.queues["support"].members[ALICE]
    old = getattr(alice, field)
    (change,) = wire.event(event, member(**{header: value}))
    assert change == QueueMemberChanged(wire.pbx.queues["support"], alice, {field: (old, new)})
    assert getattr(alice, field) == new
    assert wire.event(event, member(**{header: value})) == []


def test_a_malformed_number_keeps_the_field() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member(Penalty="3"))
    assert wire.event("QueueMemberPenalty", member(Penalty="high")) == []
    assert wire.pbx.queues["support"].members[ALICE].penalty == 3


def test_member_removed_removes_it_and_unknown_ones_do_not_raise() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    queue = wire.pbx.queues["support"]
    alice = queue.members[ALICE]
    assert wire.event("QueueMemberRemoved", member()) == [QueueMemberRemoved(queue, alice)]
    assert queue.members == {}
    assert wire.event("QueueMemberRemoved", member(BOB)) == []
    (added,) = wire.event("QueueMemberRemoved", member(BOB, queue="sales"))
    assert added == QueueAdded(wire.pbx.queues["sales"])
    assert wire.pbx.queues["sales"].members == {}


@pytest.mark.parametrize(
    "event", ["QueueMemberStatus", "QueueMemberPause", "QueueMemberPenalty", "QueueMemberRinginuse"]
)
def test_member_events_for_an_unseen_queue_and_member_create_both(event: str) -> None:
    wire = Wire()
    changes = wire.event(event, member(BOB, queue="sales", Paused="1", PausedReason="meeting"))
    assert kinds(changes) == ["QueueAdded", "QueueMemberAdded"]
    bob = wire.pbx.queues["sales"].members[BOB]
    assert (bob.name, bob.paused, bob.paused_reason) == ("bob", True, "meeting")


def test_events_without_their_keys_are_ignored() -> None:
    wire = Wire()
    for name in (
        "QueueMemberStatus",
        "QueueMemberRemoved",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "AgentCalled",
    ):
        assert wire.event(name, {"Queue": "support"}) == []
    assert wire.event("QueueCallerAbandon", {"Uniqueid": "1.1"}) == []
    assert wire.pbx.queues == {}


# -- callers -------------------------------------------------------------------


def test_callers_join_at_their_position_with_the_time_of_the_join() -> None:
    wire = Wire()
    changes = wire.event("QueueCallerJoin", caller("a", 1, 1))
    assert kinds(changes) == ["QueueAdded", "QueueCallerAdded"]
    queue = wire.pbx.queues["support"]
    first = queue.callers["a"]
    assert changes[1] == QueueCallerAdded(queue, first)
    assert (first.channel, first.position, first.wait_start) == ("Local/queue@default-a;2", 1, 1000.0)
    assert (first.caller_id_num, first.caller_id_name) == ("10a", "Caller a")
    assert (first.connected_line_num, first.connected_line_name) == ("<unknown>", "<unknown>")
    wire.now = 1005.0
    wire.event("QueueCallerJoin", caller("b", 2, 2))
    assert queue.callers["b"].wait_start == 1005.0
    assert positions(queue) == {"a": 1, "b": 2}


def test_a_caller_joining_ahead_moves_those_behind_back() -> None:
    wire = Wire()
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    wire.event("QueueCallerJoin", caller("b", 2, 2))
    queue = wire.pbx.queues["support"]
    changes = wire.event("QueueCallerJoin", caller("vip", 1, 3))
    assert positions(queue) == {"a": 2, "b": 3, "vip": 1}
    assert changes == [
        QueueCallerChanged(queue, queue.callers["a"], {"position": (1, 2)}),
        QueueCallerChanged(queue, queue.callers["b"], {"position": (2, 3)}),
        QueueCallerAdded(queue, queue.callers["vip"]),
    ]


def test_a_caller_leaving_moves_those_behind_up() -> None:
    wire = Wire()
    for number, uniqueid in enumerate("abc", start=1):
        wire.event("QueueCallerJoin", caller(uniqueid, number, number))
    queue = wire.pbx.queues["support"]
    gone = queue.callers["b"]
    changes = wire.event("QueueCallerLeave", caller("b", 2, 2))
    assert changes == [
        QueueCallerRemoved(queue, gone),
        QueueCallerChanged(queue, queue.callers["c"], {"position": (3, 2)}),
    ]
    assert positions(queue) == {"a": 1, "c": 2}
    wire.event("QueueCallerLeave", caller("a", 1, 1))
    assert positions(queue) == {"c": 1}


def test_an_unseen_caller_leaving_ahead_still_moves_the_known_ones_up() -> None:
    # After a reconnect: the server had "x" at 1 and "y" at 2 before the model saw "c" join at 3.
    wire = Wire()
    wire.event("QueueCallerJoin", caller("c", 3, 3))
    queue = wire.pbx.queues["support"]
    assert wire.event("QueueCallerLeave", caller("x", 1, 2)) == [
        QueueCallerChanged(queue, queue.callers["c"], {"position": (3, 2)})
    ]
    wire.event("QueueCallerLeave", caller("y", 1, 1))
    assert positions(queue) == {"c": 1}


def test_a_second_join_of_the_same_caller_moves_it() -> None:
    wire = Wire()
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    wire.event("QueueCallerJoin", caller("b", 2, 2))
    changes = wire.event("QueueCallerJoin", caller("a", 2, 2))
    queue = wire.pbx.queues["support"]
    assert positions(queue) == {"b": 1, "a": 2}
    assert kinds(changes) == ["QueueCallerRemoved", "QueueCallerChanged", "QueueCallerAdded"]


def test_abandon_counts_and_the_caller_leaves_with_its_leave() -> None:
    wire = Wire()
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    queue = wire.pbx.queues["support"]
    abandon = {**caller("a", 1, 1), "OriginalPosition": "1", "HoldTime": "12"}
    assert wire.event("QueueCallerAbandon", abandon) == []  # abandoned not known yet
    queue.abandoned = 4
    assert wire.event("QueueCallerAbandon", abandon) == [QueueChanged(queue, {"abandoned": (4, 5)})]
    assert "a" in queue.callers
    wire.event("QueueCallerLeave", caller("a", 1, 0))
    assert queue.callers == {}


def test_caller_events_for_unseen_queues_and_callers_do_not_raise() -> None:
    wire = Wire()
    assert kinds(wire.event("QueueCallerLeave", caller("z", 4, 0, queue="sales"))) == ["QueueAdded"]
    assert kinds(wire.event("QueueCallerAbandon", caller("y", 1, 0, queue="billing"))) == ["QueueAdded"]
    assert wire.pbx.queues["sales"].callers == wire.pbx.queues["billing"].callers == {}


# -- agents --------------------------------------------------------------------


@pytest.mark.parametrize("event", ["AgentCalled", "AgentRingNoAnswer", "AgentDump"])
def test_agent_events_create_an_unseen_member_and_change_nothing_else(event: str) -> None:
    wire = Wire()
    extra = {"RingTime": "15"} if event == "AgentRingNoAnswer" else {}
    changes = wire.event(event, agent("1.1", BOB, queue="sales", **extra))
    assert kinds(changes) == ["QueueAdded", "QueueMemberAdded"]
    bob = wire.pbx.queues["sales"].members[BOB]
    assert (bob.name, bob.in_call, bob.calls_taken, bob.paused) == ("bob", None, None, False)
    wire.event("QueueCallerJoin", caller("1.1", 1, 1, queue="sales"))
    assert wire.event(event, agent("1.1", BOB, queue="sales", **extra)) == []
    assert "1.1" in wire.pbx.queues["sales"].callers


def test_connect_puts_the_member_in_a_call_and_complete_counts_it() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member(CallsTaken="2"))
    queue = wire.pbx.queues["support"]
    queue.completed = 10
    alice = queue.members[ALICE]
    wire.event("QueueCallerJoin", caller("1.1", 1, 1))
    wire.event("AgentCalled", agent("1.1"))
    wire.event("QueueCallerLeave", caller("1.1", 1, 0))
    assert wire.event("AgentConnect", agent("1.1", HoldTime="4", RingTime="2")) == [
        QueueMemberChanged(queue, alice, {"in_call": (False, True)})
    ]
    complete = agent("1.1", HoldTime="4", TalkTime="60", Reason="caller")
    assert wire.event("AgentComplete", complete) == [
        QueueMemberChanged(queue, alice, {"in_call": (True, False), "calls_taken": (2, 3)}),
        QueueChanged(queue, {"completed": (10, 11)}),
    ]
    assert wire.event("AgentComplete", complete) == []  # that call is counted already


def test_overlapping_calls_count_only_the_latest_connect_as_asterisk_does() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member(Ringinuse="1"))
    alice = wire.pbx.queues["support"].members[ALICE]
    wire.event("AgentConnect", agent("1.1"))
    wire.event("AgentConnect", agent("1.2"))
    assert wire.event("AgentComplete", agent("1.1", Reason="caller")) == []
    assert (alice.in_call, alice.calls_taken) == (True, 0)
    wire.event("AgentComplete", agent("1.2", Reason="agent"))
    assert (alice.in_call, alice.calls_taken) == (False, 1)


def test_a_completion_whose_connect_was_not_seen_counts() -> None:
    wire = Wire()
    wire.event("QueueMemberStatus", member(InCall="1", Status="2", CallsTaken="7"))
    wire.event("AgentComplete", agent("1.9", Reason="caller"))
    alice = wire.pbx.queues["support"].members[ALICE]
    assert (alice.in_call, alice.calls_taken) == (False, 8)


def test_agent_events_for_unseen_queues_create_them_and_do_not_raise() -> None:
    wire = Wire()
    assert kinds(wire.event("AgentConnect", agent("2.1", BOB, queue="sales"))) == [
        "QueueAdded",
        "QueueMemberAdded",
        "QueueMemberChanged",
    ]
    wire.event("AgentComplete", agent("2.1", BOB, queue="billing", Reason="caller"))
    assert wire.pbx.queues["sales"].members[BOB].in_call is True
    assert wire.pbx.queues["billing"].members[BOB].in_call is False


def test_a_removed_member_forgets_its_call() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("AgentConnect", agent("1.1"))
    wire.event("QueueMemberRemoved", member())
    wire.event("QueueMemberAdded", member(CallsTaken="0"))
    wire.event("AgentComplete", agent("1.1", Reason="caller"))  # its connect is not this member's
    assert wire.pbx.queues["support"].members[ALICE].calls_taken == 1


# -- the QueueStatus snapshot --------------------------------------------------


def test_snapshot_actions_is_one_fresh_unfiltered_queue_status() -> None:
    tracker = QueueTracker()
    (first,) = tracker.snapshot_actions()
    (second,) = tracker.snapshot_actions()
    assert isinstance(first, QueueStatus)
    assert first.headers == ()
    assert first is not second


def queue_status(
    wire: Wire,
    action_id: str,
    queues: dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]],
    *,
    end: bool = True,
) -> list[Change]:
    items: list[tuple[str, dict[str, str]]] = []
    for name, (members, entries) in queues.items():
        items.append(("QueueParams", params(name, Calls=str(len(entries)))))
        items += [("QueueMember", item) for item in members]
        items += [("QueueEntry", item) for item in entries]
    return wire.answer_list(action_id, items, "QueueStatusComplete", end=end)


def test_a_snapshot_fills_an_empty_model() -> None:
    wire = Wire()
    ids = wire.snapshot()
    changes = queue_status(
        wire,
        ids["QueueStatus"],
        {
            "support": (
                [listed_member(Paused="1", PausedReason="lunch", CallsTaken="4", InCall="1", Status="2")],
                [entry("a", 1, 30), entry("b", 2, 5)],
            ),
            "sales": ([], []),
        },
    )
    support = wire.pbx.queues["support"]
    assert kinds(changes) == [
        "QueueAdded",
        "QueueMemberAdded",
        "QueueCallerAdded",
        "QueueCallerAdded",
        "QueueAdded",
    ]
    assert (support.strategy, support.max, support.hold_time, support.talk_time) == ("ringall", 0, 3, 40)
    assert (support.completed, support.abandoned, support.service_level) == (5, 1, 60)
    assert (support.service_level_perf, support.weight) == ("80.0", 0)
    alice = support.members[ALICE]
    assert (alice.name, alice.paused, alice.paused_reason, alice.calls_taken) == ("alice", True, "lunch", 4)
    assert (alice.in_call, alice.status, alice.ring_in_use) == (True, 2, None)
    assert positions(support) == {"a": 1, "b": 2}
    assert (support.callers["a"].wait_start, support.callers["b"].wait_start) == (970.0, 995.0)
    assert support.callers["a"].caller_id_num == "10a"
    assert wire.pbx.queues["sales"].members == {}


def test_a_snapshot_adds_what_is_extra_and_removes_what_is_missing() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("QueueMemberAdded", member(BOB))
    wire.event("QueueCallerJoin", caller("gone", 1, 1))
    wire.event("QueueMemberAdded", member(queue="closed"))
    support = wire.pbx.queues["support"]
    closed = wire.pbx.queues["closed"]
    bob = support.members[BOB]
    gone = support.callers["gone"]
    ids = wire.snapshot()
    changes = queue_status(
        wire,
        ids["QueueStatus"],
        {"support": ([listed_member(), listed_member("PJSIP/carol")], [entry("new", 1, 2)])},
    )
    assert set(support.members) == {ALICE, "PJSIP/carol"}
    assert set(support.callers) == {"new"}
    assert "closed" not in wire.pbx.queues
    assert QueueMemberRemoved(support, bob) in changes
    assert QueueCallerRemoved(support, gone) in changes
    assert QueueRemoved(closed) in changes
    assert QueueMemberAdded(support, support.members["PJSIP/carol"]) in changes
    assert not [c for c in changes if isinstance(c, QueueMemberChanged) and c.member.interface == ALICE]


def test_what_an_event_touched_after_the_snapshot_was_handed_out_stays() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    ids = wire.snapshot()
    wire.event("QueueMemberAdded", member(BOB))
    wire.event("QueueCallerJoin", caller("late", 1, 1))
    wire.event("QueueMemberPause", member(Paused="1", PausedReason="lunch"))
    wire.event("QueueMemberAdded", member(queue="new"))
    queue_status(wire, ids["QueueStatus"], {"support": ([], [])})
    support = wire.pbx.queues["support"]
    assert set(support.members) == {ALICE, BOB}
    assert set(support.callers) == {"late"}
    assert "new" in wire.pbx.queues


def test_what_an_event_removed_after_the_snapshot_was_handed_out_is_not_added_back() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    ids = wire.snapshot()
    wire.event("QueueMemberRemoved", member())
    wire.event("QueueCallerLeave", caller("a", 1, 0))
    changes = queue_status(wire, ids["QueueStatus"], {"support": ([listed_member()], [entry("a", 1, 9)])})
    support = wire.pbx.queues["support"]
    assert support.members == {}
    assert support.callers == {}
    assert not [c for c in changes if isinstance(c, (QueueMemberAdded, QueueCallerAdded))]


def test_a_member_removed_before_the_snapshot_comes_back_when_listed() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("QueueMemberRemoved", member())
    ids = wire.snapshot()
    queue_status(wire, ids["QueueStatus"], {"support": ([listed_member()], [])})
    assert ALICE in wire.pbx.queues["support"].members


def test_a_list_cut_short_adds_and_updates_but_removes_nothing() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    ids = wire.snapshot()
    queue_status(wire, ids["QueueStatus"], {"support": ([listed_member(BOB, Penalty="2")], [])}, end=False)
    changes = wire.close()
    support = wire.pbx.queues["support"]
    assert kinds(changes) == ["QueueChanged", "QueueMemberAdded"]
    assert set(support.members) == {ALICE, BOB}
    assert set(support.callers) == {"a"}
    assert not wire.pbx.synced


def test_a_list_given_up_at_max_list_events_removes_nothing() -> None:
    wire = Wire(max_list_events=2)
    wire.event("QueueMemberAdded", member())
    wire.event("QueueMemberAdded", member(queue="sales"))
    ids = wire.snapshot()
    queue_status(
        wire, ids["QueueStatus"], {"support": ([listed_member(BOB), listed_member("PJSIP/carol")], [])}
    )
    support = wire.pbx.queues["support"]
    completed = [item for item in wire.items if isinstance(item, amiproto.ActionCompleted)]
    assert completed[-1].too_many_events
    assert {ALICE, BOB} <= set(support.members)
    assert "sales" in wire.pbx.queues


def test_an_error_answer_removes_nothing() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    ids = wire.snapshot()
    assert wire.answer_error(ids["QueueStatus"], "Permission denied") == []
    assert ALICE in wire.pbx.queues["support"].members


def test_a_list_the_pbx_did_not_hand_out_is_the_truth() -> None:
    wire = Wire()
    wire.snapshot()  # pending: events after this count as touched for it, not for the program's own list
    wire.event("QueueMemberAdded", member())
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    action_id = wire.send(amiproto.Action("QueueStatus", Queue="support", Member="nobody"))
    queue_status(wire, action_id, {"support": ([], [])})
    support = wire.pbx.queues["support"]
    assert support.callers == {}
    assert ALICE in support.members  # outside the Member filter


def test_a_queue_filter_limits_the_removals_to_that_queue() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member(queue="support"))
    wire.event("QueueMemberAdded", member(queue="sales"))
    wire.event("QueueMemberAdded", member(queue="closed"))
    action_id = wire.send(QueueStatus(queue="SUPPORT"))
    queue_status(wire, action_id, {"support": ([], [])})
    assert wire.pbx.queues["support"].members == {}
    assert ALICE in wire.pbx.queues["sales"].members
    action_id = wire.send(QueueStatus(queue="closed"))
    changes = queue_status(wire, action_id, {})
    assert "closed" not in wire.pbx.queues
    assert kinds(changes) == ["QueueRemoved"]


def test_a_member_filter_removes_only_that_member_by_interface_or_name() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member())
    wire.event("QueueMemberAdded", member(BOB))
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    action_id = wire.send(QueueStatus(member="bob"))
    queue_status(wire, action_id, {"support": ([], [entry("a", 1, 3)])})
    support = wire.pbx.queues["support"]
    assert set(support.members) == {ALICE}
    assert set(support.callers) == {"a"}


def test_a_listed_idle_member_does_not_count_a_completion_it_never_connected() -> None:
    wire = Wire()
    ids = wire.snapshot()
    queue_status(wire, ids["QueueStatus"], {"support": ([listed_member(InCall="0", CallsTaken="3")], [])})
    wire.event("AgentComplete", agent("old.1", Reason="caller"))
    assert wire.pbx.queues["support"].members[ALICE].calls_taken == 3


def test_the_record_of_removals_is_forgotten_once_a_snapshot_completes() -> None:
    wire = Wire()
    tracker = wire.pbx._queues
    ids = wire.snapshot()
    for number in range(5):
        wire.event("QueueCallerJoin", caller(f"c{number}", 1, 1))
        wire.event("QueueCallerLeave", caller(f"c{number}", 1, 0))
    assert len(tracker._removed_callers) == 5
    queue_status(wire, ids["QueueStatus"], {"support": ([], [])})
    assert len(tracker._removed_callers) == 5  # removed after that snapshot was handed out: kept for it
    ids = wire.snapshot()
    queue_status(wire, ids["QueueStatus"], {"support": ([], [])})
    assert len(tracker._removed_callers) == 0


# -- real traffic ---------------------------------------------------------------


def test_load_recording_callers_agree_with_every_count_the_server_sends() -> None:
    pbx = PBX()
    now = 0.0
    joins = checks = 0
    for item in replay(load_rx()):
        now += 0.001
        pbx.apply(item, now)
        if not isinstance(item, amiproto.Event):
            continue
        if item.name in ("QueueCallerJoin", "QueueCallerLeave"):
            queue = pbx.queues[item.get("Queue") or ""]
            uniqueid = item.get("Uniqueid") or ""
            assert len(queue.callers) == int(item.get("Count") or "")
            if item.name == "QueueCallerJoin":
                joins += 1
                assert queue.callers[uniqueid].position == int(item.get("Position") or "")
                assert queue.callers[uniqueid].wait_start == now
            else:
                assert uniqueid not in queue.callers
            checks += 1
    assert (joins, checks) == (40, 80)
    support = pbx.queues["support"]
    assert support.callers == {}
    assert pbx._queues._caller_seqs == {}  # callers that left leave no trace behind
    (wait,) = support.members.values()
    assert (wait.interface, wait.calls_taken, wait.in_call, wait.status) == (
        "Local/wait@default",
        16,
        False,
        1,
    )


def test_load_recording_model_never_counts_more_calls_than_the_server() -> None:
    pbx = PBX()
    counted: list[tuple[int | None, int]] = []
    for item in replay(load_rx()):
        if isinstance(item, amiproto.Event) and item.name == "QueueMemberStatus":
            members = pbx.queues["support"].members
            before = members["Local/wait@default"].calls_taken if members else None
            counted.append((before, int(item.get("CallsTaken") or "")))
        pbx.apply(item, None)
    assert len(counted) == 2
    assert all(before is None or before <= server for before, server in counted)


def test_mixed_session_model_from_events_agrees_with_the_servers_queue_status() -> None:
    # The session's queue call, then QueueStatus (m-20): the member the events built must be the listed one.
    pbx = PBX()
    for item in replay(mixed_session_rx(), [amiproto.Action("QueueStatus", ActionID="m-20")]):
        if isinstance(item, amiproto.ActionCompleted) and item.action_id == "m-20":
            support = pbx.queues["support"]
            (listed,) = [e for e in item.events if e.name == "QueueMember"]
            wait = support.members[listed.get("Location") or ""]
            assert wait.calls_taken == int(listed.get("CallsTaken") or "") == 18
            assert (wait.in_call, wait.paused, wait.paused_reason) == (False, False, None)
            assert (wait.status, wait.penalty, wait.membership) == (1, 0, "static")
            assert wait.last_call == int(listed.get("LastCall") or "")
            assert support.callers == {}
            changes = pbx.apply(item, 1.0)
            # The list only fills the queue's own numbers, which no event had told.
            assert kinds(changes) == ["QueueChanged"]
            assert support.completed == 18
            return
        pbx.apply(item, 1.0)
    raise AssertionError("no QueueStatus completion")


@needs_shared(RECORDINGS / "all_actions.rx")
def test_all_actions_member_events_agree_with_the_servers_queue_status() -> None:
    # aa-member was added paused (lunch), paused again (break), its penalty and ringinuse changed,
    # then QueueStatus (a-67) listed it beside the static member no event had named yet.
    pbx = PBX()
    action = amiproto.Action("QueueStatus", ActionID="a-67", Queue="support")
    items = replay((RECORDINGS / "all_actions.rx").read_bytes(), [action])
    for item in items:
        if isinstance(item, amiproto.ActionCompleted) and item.action_id == "a-67":
            support = pbx.queues["support"]
            aa = support.members["Local/aamember@default"]
            assert (aa.name, aa.paused, aa.paused_reason, aa.penalty, aa.ring_in_use) == (
                "aa-member",
                True,
                "break",
                2,
                False,
            )
            changes = pbx.apply(item, 1.0)
            assert kinds(changes) == ["QueueChanged", "QueueMemberAdded"]
            assert set(support.members) == {"Local/aamember@default", "Local/wait@default"}
            continue
        pbx.apply(item, 1.0)
    assert set(pbx.queues["support"].members) == {"Local/wait@default"}  # aa-member removed after


# -- the simulator --------------------------------------------------------------


def test_model_fed_by_the_simulator_agrees_with_its_queue_status() -> None:
    from ..simulator.test_session import Harness

    harness = Harness()
    harness.login()
    pbx = PBX()
    for action in pbx.snapshot_actions():
        harness.session.receive_data(harness.client.send(action), harness.now)
        harness.pump()
    harness.action(
        "QueueAdd", Queue="support", Interface="Local/echo@default", MemberName="echo", Penalty="3"
    )
    harness.action("QueuePause", Interface="Local/echo@default", Paused="yes", Reason="lunch")
    for _ in range(3):
        harness.action("Originate", Channel="Local/queue@default", Application="Wait", Data="1", Async="true")
        harness.advance(3.0)
    applied = len(harness.items)
    for item in harness.items:
        pbx.apply(item, harness.now)
    assert pbx.synced
    listed = harness.action("QueueStatus")
    assert len(harness.items) > applied
    support = pbx.queues["support"]
    (params_item,) = [e for e in listed.events if e.name == "QueueParams"]
    assert support.completed == int(params_item.get("Completed") or "") == 3
    members = {e.get("Location"): e for e in listed.events if e.name == "QueueMember"}
    assert set(support.members) == set(members) == {"Local/wait@default", "Local/echo@default"}
    for interface, item in members.items():
        model = support.members[interface]
        assert model.calls_taken == int(item.get("CallsTaken") or "")
        assert (model.paused, model.paused_reason or "") == (
            item.get("Paused") == "1",
            item.get("PausedReason"),
        )
        assert (model.penalty, model.status) == (
            int(item.get("Penalty") or ""),
            int(item.get("Status") or ""),
        )
        assert model.in_call == (item.get("InCall") == "1")
    assert support.members["Local/wait@default"].calls_taken == 3
    assert support.callers == {} == {e.get("Uniqueid"): e for e in listed.events if e.name == "QueueEntry"}


# -- random sequences -----------------------------------------------------------

QUEUES = ("support", "sales")
UNIQUEIDS = tuple(f"1.{n}" for n in range(5))
INTERFACES = (ALICE, BOB, "PJSIP/carol")


@st.composite
def joins_and_leaves(draw: st.DrawFn) -> list[tuple[str, str, str, dict[str, str]]]:
    """Queue traffic as a server sends it: joins at a valid place, leaves of callers that wait,
    member and agent events. Each step: (event, queue, uniqueid, extra headers)."""
    waiting: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    steps: list[tuple[str, str, str, dict[str, str]]] = []
    for _ in range(draw(st.integers(0, 40))):
        queue = draw(st.sampled_from(QUEUES))
        line = waiting[queue]
        absent = [u for u in UNIQUEIDS if u not in line]
        kind = draw(st.sampled_from(["join", "leave", "abandon", "member", "agent"]))
        if kind == "join" and absent:
            uniqueid = draw(st.sampled_from(absent))
            place = draw(st.integers(1, len(line) + 1))
            line.insert(place - 1, uniqueid)
            steps.append(("QueueCallerJoin", queue, uniqueid, caller(uniqueid, place, len(line), queue)))
        elif kind in ("leave", "abandon") and line:
            uniqueid = draw(st.sampled_from(line))
            place = line.index(uniqueid) + 1
            if kind == "abandon":
                steps.append(
                    ("QueueCallerAbandon", queue, uniqueid, caller(uniqueid, place, len(line), queue))
                )
            line.remove(uniqueid)
            steps.append(("QueueCallerLeave", queue, uniqueid, caller(uniqueid, place, len(line), queue)))
        elif kind == "member":
            name = draw(
                st.sampled_from(
                    ["QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause", "QueueMemberRemoved"]
                )
            )
            paused = draw(st.booleans())
            reason = draw(st.sampled_from(["", "lunch", "break"])) if paused else ""
            interface = draw(st.sampled_from(INTERFACES))
            headers = member(interface, queue, Paused=str(int(paused)), PausedReason=reason)
            steps.append((name, queue, interface, headers))
        elif kind == "agent":
            name = draw(
                st.sampled_from(["AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer"])
            )
            interface = draw(st.sampled_from(INTERFACES))
            steps.append((name, queue, interface, agent(draw(st.sampled_from(UNIQUEIDS)), interface, queue)))
    return steps


@given(joins_and_leaves())
def test_random_queue_traffic_keeps_callers_and_positions_as_the_server_has_them(
    steps: list[tuple[str, str, str, dict[str, str]]],
) -> None:
    wire = Wire()
    waiting: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    members: dict[tuple[str, str], tuple[bool, str | None]] = {}
    for name, queue, key, headers in steps:
        wire.event(name, headers)
        if name == "QueueCallerJoin":
            waiting[queue].insert(int(headers["Position"]) - 1, key)
        elif name == "QueueCallerLeave":
            waiting[queue].remove(key)
            assert key not in wire.pbx.queues[queue].callers
        elif name == "QueueMemberRemoved":
            members.pop((queue, key), None)
        elif name.startswith("QueueMember"):
            members[(queue, key)] = (headers["Paused"] == "1", headers["PausedReason"] or None)
        model = wire.pbx.queues.get(queue)
        expected = {uniqueid: place for place, uniqueid in enumerate(waiting[queue], start=1)}
        assert (positions(model) if model else {}) == expected
    for (queue, interface), (paused, reason) in members.items():
        got = wire.pbx.queues[queue].members[interface]
        assert (got.paused, got.paused_reason) == (paused, reason)


HEADER_VALUES = st.sampled_from(["", "0", "1", "2", "-1", "x", "support", "1.1", "PJSIP/alice", "99999"])
EVENT_NAMES = st.sampled_from(
    [
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberStatus",
        "QueueMemberPause",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
        "AgentDump",
    ]
)
HEADER_NAMES = st.sampled_from(
    ["Queue", "Uniqueid", "Position", "Count", "Interface", "MemberName", "Paused", "PausedReason", "Penalty"]
)


@given(st.lists(st.tuples(EVENT_NAMES, st.dictionaries(HEADER_NAMES, HEADER_VALUES)), max_size=30))
def test_arbitrary_queue_events_never_raise_and_a_leave_leaves_no_caller(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    wire = Wire()
    for name, headers in events:
        wire.event(name, headers)
        queue = wire.pbx.queues.get(headers.get("Queue", ""))
        if name == "QueueCallerLeave" and queue is not None:
            assert headers.get("Uniqueid") not in queue.callers
