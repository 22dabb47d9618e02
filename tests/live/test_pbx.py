"""``PBX`` itself: when the model counts as synced with the server."""

from __future__ import annotations

import pytest

from amiproto.live import PBX

from .wire import Wire

# Asterisk's answer to an action of a module that is not loaded (QueueStatus without app_queue).
NO_SUCH_ACTION = "Invalid/unknown command"


def answer_all_but(wire: Wire, ids: dict[str, str], skipped: str) -> None:
    """Empty lists for every snapshot action but ``skipped``."""
    for name, action_id in ids.items():
        if name != skipped:
            wire.answer_list(action_id, [], f"{name}Complete")


@pytest.mark.parametrize("refused", ["QueueStatus", "DeviceStateList", "CoreShowChannels"])
def test_an_error_answer_completes_its_snapshot_action(refused: str) -> None:
    # A server without app_queue answers QueueStatus with an error: the model still syncs.
    wire = Wire()
    ids = wire.snapshot()
    answer_all_but(wire, ids, refused)
    assert not wire.pbx.synced
    wire.answer_error(ids[refused], NO_SUCH_ACTION)
    assert wire.pbx.synced


def test_a_snapshot_action_cut_short_leaves_it_unsynced_until_the_next_snapshot() -> None:
    wire = Wire()
    ids = wire.snapshot()
    answer_all_but(wire, ids, "BridgeList")
    wire.answer_list(ids["BridgeList"], [], "BridgeListComplete", end=False)
    wire.close()
    assert not wire.pbx.synced
    again = Wire()
    again.pbx = wire.pbx
    answer_all_but(again, again.snapshot(), "")
    assert wire.pbx.synced


def test_nothing_pending_counts_as_synced(monkeypatch: pytest.MonkeyPatch) -> None:
    pbx = PBX()
    assert not pbx.synced  # never filled
    for tracker in pbx._trackers:
        monkeypatch.setattr(tracker, "snapshot_actions", list)
    assert pbx.snapshot_actions() == []
    assert pbx.synced  # nothing to wait for
