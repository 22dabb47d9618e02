"""What the list handlers share: when a list is whole, and the bounded record of removals."""

from __future__ import annotations

import amiproto
from amiproto.live._snapshots import Removals, is_whole

from .wire import Wire


def completions(wire: Wire) -> list[amiproto.ActionCompleted]:
    return [item for item in wire.items if isinstance(item, amiproto.ActionCompleted)]


def test_only_a_list_that_arrived_whole_is_whole() -> None:
    wire = Wire(max_list_events=2)
    whole = wire.send(amiproto.Action("DeviceStateList"))
    wire.answer_list(whole, [], "DeviceStateListComplete")
    refused = wire.send(amiproto.Action("DeviceStateList"))
    wire.answer_error(refused, "Permission denied")
    too_many = wire.send(amiproto.Action("DeviceStateList"))
    items = [("DeviceStateChange", {"Device": f"D{n}", "State": "INUSE"}) for n in range(3)]
    wire.answer_list(too_many, items, "DeviceStateListComplete")
    cut = wire.send(amiproto.Action("DeviceStateList"))
    wire.answer_list(cut, [], "DeviceStateListComplete", end=False)
    wire.close()
    by_id = {completed.action_id: completed for completed in completions(wire)}
    assert [is_whole(by_id[i]) for i in (whole, refused, too_many, cut)] == [True, False, False, False]


def test_removals_remember_what_came_after_since() -> None:
    removals: Removals[str] = Removals()
    removals.add("a", 5)
    assert removals.removed_after("a", 4)
    assert not removals.removed_after("a", 5)
    assert not removals.removed_after("a", None)
    assert not removals.removed_after("b", 0)
    removals.discard("a")
    assert not removals.removed_after("a", 4)


def test_removals_forget_those_no_snapshot_needs() -> None:
    removals: Removals[str] = Removals()
    for seq, key in enumerate("abcd", start=1):
        removals.add(key, seq)
    removals.add("a", 9)  # removed again later: kept by its latest seq
    removals.forget_until(3)
    assert len(removals) == 2
    assert removals.removed_after("a", 8)
    assert removals.removed_after("d", 3)
    removals.forget_until(None)
    assert len(removals) == 2
    removals.forget_until(9)
    assert len(removals) == 0


def test_removals_stay_bounded_dropping_the_oldest() -> None:
    removals: Removals[int] = Removals(limit=3)
    for key in range(10):
        removals.add(key, key + 1)
    assert len(removals) == 3
    assert not removals.removed_after(6, 0)
    assert removals.removed_after(7, 0)
    assert removals.removed_after(9, 0)
