"""``PBX`` itself: when the model counts as synced with the server."""

from __future__ import annotations

import pytest

import amiproto
from amiproto import events
from amiproto.live import PBX, CallAdded, ChannelAdded, ChannelChanged

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


# -- routing by class ---------------------------------------------------------------

NEWCHANNEL = (
    b"Event: Newchannel\r\nChannel: PJSIP/a-1\r\nChannelState: 4\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"
)


def events_of(data: bytes) -> list[amiproto.Event]:
    """The events the core builds for ``data`` (typed classes for catalogued names)."""
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n" + data)
    return [item for item in conn.next_events() if isinstance(item, amiproto.Event)]


def test_events_go_by_class_once_seen_and_plain_events_by_name() -> None:
    pbx = PBX()
    (typed,) = events_of(NEWCHANNEL)
    assert type(typed) is events.Newchannel
    assert [type(change) for change in pbx.apply(typed, 1.0)] == [ChannelAdded, CallAdded]
    assert pbx._by_class[events.Newchannel] is not None  # white box: learned from the first one
    # The same event as a plain Event (a program may build one): routed by its name alike.
    plain = amiproto.Event(NEWCHANNEL.replace(b"1.1", b"2.2"))
    assert type(plain) is amiproto.Event
    assert [type(change) for change in pbx.apply(plain, 1.0)] == [ChannelAdded, CallAdded]
    assert amiproto.Event not in pbx._by_class
    # A name outside the catalogue, or one the model does not follow: nothing, by name or class.
    (custom,) = events_of(b"Event: MyOwnEvent\r\nUniqueid: 1.1\r\n\r\n")
    assert type(custom) is amiproto.Event
    (varset,) = events_of(b"Event: VarSet\r\nUniqueid: 1.1\r\nVariable: x\r\nValue: 1\r\n\r\n")
    for _ in range(2):  # the second time by the learned class
        assert pbx.apply(custom, 1.0) == ()
        assert pbx.apply(varset, 1.0) == ()
    assert pbx._by_class[events.VarSet] is None
    assert sorted(pbx.channels) == ["1.1", "2.2"]


def test_both_spellings_of_newexten_go_to_its_handler_by_class() -> None:
    # The core builds events.NewExten for the wire name "Newexten" (Asterisk's) and
    # for the documented "NewExten": the model follows both, routed by class alone.
    pbx = PBX()
    pbx.apply(events_of(NEWCHANNEL)[0], 1.0)
    dialplan = b"Uniqueid: 1.1\r\nContext: default\r\nExten: 200\r\nPriority: 1\r\nApplication: Dial\r\n\r\n"
    for spelling, application in ((b"NewExten", b"Dial"), (b"Newexten", b"Wait"), (b"NewExten", b"Echo")):
        (event,) = events_of(b"Event: " + spelling + b"\r\n" + dialplan.replace(b"Dial", application))
        assert [type(change) for change in pbx.apply(event, 2.0)] == [ChannelChanged]
        assert pbx.channels["1.1"].application == application.decode()
    assert pbx._by_class[events.NewExten] == pbx._channels._on_newexten


def test_a_class_shared_by_names_the_model_treats_apart_still_goes_by_name() -> None:
    # A class the core builds for two names (events.NewExten: "Newexten" and
    # "NewExten") whose names have different handlers: here the model is made to
    # follow only the first, as it would a future alias it does not follow.
    pbx = PBX()
    del pbx._on_event["NewExten"]
    pbx.apply(events_of(NEWCHANNEL)[0], 1.0)
    dialplan = b"Uniqueid: 1.1\r\nContext: default\r\nExten: 200\r\nPriority: 1\r\nApplication: Dial\r\n\r\n"
    for _ in range(2):  # the second time by the learned class
        (documented,) = events_of(b"Event: NewExten\r\n" + dialplan)
        (wire,) = events_of(b"Event: Newexten\r\n" + dialplan.replace(b"Dial", b"Wait"))
        assert type(documented) is type(wire) is events.NewExten
        assert list(pbx.apply(documented, 2.0)) == []
        assert pbx.channels["1.1"].application != "Dial"
        changed = pbx.apply(wire, 2.0)
        assert [type(change) for change in changed] == [ChannelChanged]
        assert pbx.channels["1.1"].application == "Wait"
        pbx.channels["1.1"].application = None
