"""ConfBridge actions (``apps/app_confbridge.c``): list, lock, mute, kick, record, pick the video source.

A conference exists while a channel runs ``ConfBridge(name)`` (an Originate with
that application). Answers and events follow the ``all_actions`` recording; the
errors it does not show are app_confbridge.c's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._calls import Channel, Conference, channel_headers
from ._registry import handler
from ._replies import Pairs, aid

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("ConfbridgeListRooms", privilege="reporting", summary="List active conferences.")
def list_rooms(session: Session, action: ReceivedAction) -> None:
    conferences = session.world.pbx.conferences
    if not conferences:
        session.error(action, "No active conferences.")
        return
    items: list[Pairs] = [
        [
            ("Event", "ConfbridgeListRooms"),
            *aid(action),
            ("Conference", conference.name),
            ("Parties", str(len(conference.members))),
            ("Marked", "0"),
            ("Locked", "Yes" if conference.locked else "No"),
            ("Muted", "No"),
        ]
        for conference in conferences.values()
    ]
    session.send_list(action, "Confbridge conferences will follow", items, "ConfbridgeListRoomsComplete")


@handler("ConfbridgeList", privilege="reporting", summary="List participants in a conference.")
def list_users(session: Session, action: ReceivedAction) -> None:
    conference = _conference(session, action)
    if conference is None:
        return
    items: list[Pairs] = []
    for chan in conference.members:
        answered = int(session.world.pbx.now - conference.joined.get(chan.name, session.world.pbx.now))
        items.append(
            [
                ("Event", "ConfbridgeList"),
                *aid(action),
                ("Conference", conference.name),
                ("Admin", "No"),
                ("MarkedUser", "No"),
                ("WaitMarked", "No"),
                ("EndMarked", "No"),
                ("EndMarkedAny", "No"),
                ("Waiting", "No"),
                ("Muted", "Yes" if chan.name in conference.muted else "No"),
                ("Talking", "No"),
                ("AnsweredTime", str(answered)),
                *channel_headers(chan),
            ]
        )
    session.send_list(action, "Confbridge user list will follow", items, "ConfbridgeListComplete")


@handler("ConfbridgeLock", privilege="call", summary="Lock a Confbridge conference.")
def lock(session: Session, action: ReceivedAction) -> None:
    conference = _conference(session, action)
    if conference is not None:
        conference.locked = True
        session.reply(action, "Success", [("Message", "Conference locked")])


@handler("ConfbridgeUnlock", privilege="call", summary="Unlock a Confbridge conference.")
def unlock(session: Session, action: ReceivedAction) -> None:
    conference = _conference(session, action)
    if conference is not None:
        conference.locked = False
        session.reply(action, "Success", [("Message", "Conference unlocked")])


@handler("ConfbridgeMute", privilege="call", summary="Mute a Confbridge user.")
def mute(session: Session, action: ReceivedAction) -> None:
    _mute(session, action, muted=True)


@handler("ConfbridgeUnmute", privilege="call", summary="Unmute a Confbridge user.")
def unmute(session: Session, action: ReceivedAction) -> None:
    _mute(session, action, muted=False)


def _mute(session: Session, action: ReceivedAction, *, muted: bool) -> None:
    found = _members(session, action)
    if found is None:
        return
    conference, members = found
    for chan in members:
        if muted:
            conference.muted.add(chan.name)
        else:
            conference.muted.discard(chan.name)
    session.reply(action, "Success", [("Message", "User muted" if muted else "User unmuted")])
    for chan in members:
        session.world.pbx.conference_event(
            "ConfbridgeMute" if muted else "ConfbridgeUnmute", conference, chan
        )


@handler("ConfbridgeKick", privilege="call", summary="Kick a Confbridge user.")
def kick(session: Session, action: ReceivedAction) -> None:
    found = _members(session, action)
    if found is None:
        return
    conference, members = found
    everyone = (action.get("Channel") or "").lower() in ("all", "participants")
    session.reply(action, "Success", [("Message", "All participants kicked" if everyone else "User kicked")])
    for chan in members:
        session.world.pbx.conference_kick(conference, chan)


@handler(
    "ConfbridgeSetSingleVideoSrc",
    privilege="call",
    summary="Set a conference user as the single video source distributed to all other participants.",
)
def set_single_video_source(session: Session, action: ReceivedAction) -> None:
    found = _members(session, action, missing_member="No channel by that name found in conference.")
    if found is None:
        return
    conference, members = found
    session.reply(action, "Success", [("Message", "Conference single video source set.")])
    session.world.pbx.conference_video_source(conference, members[0])


@handler("ConfbridgeStartRecord", privilege="system", summary="Start recording a Confbridge conference.")
def start_record(session: Session, action: ReceivedAction) -> None:
    conference = _conference(session, action)
    if conference is None:
        return
    if conference.recording:
        session.error(action, "Conference is already being recorded.")
        return
    session.reply(action, "Success", [("Message", "Conference Recording Started.")])
    session.world.pbx.conference_record(conference, start=True)


@handler("ConfbridgeStopRecord", privilege="system", summary="Stop recording a Confbridge conference.")
def stop_record(session: Session, action: ReceivedAction) -> None:
    conference = _conference(session, action)
    if conference is None:
        return
    if not conference.recording:
        session.error(action, "Internal error while stopping recording.")
        return
    session.reply(action, "Success", [("Message", "Conference Recording Stopped.")])
    session.world.pbx.conference_record(conference, start=False)


def _conference(session: Session, action: ReceivedAction) -> Conference | None:
    """The conference ``Conference`` names, or None after the error."""
    name = action.get("Conference")
    if not name:
        session.error(action, "No Conference name provided.")
        return None
    conferences = session.world.pbx.conferences
    if not conferences:
        session.error(action, "No active conferences.")
        return None
    conference = conferences.get(name)
    if conference is None:
        session.error(action, "No Conference by that name found.")
    return conference


def _members(
    session: Session,
    action: ReceivedAction,
    missing_member: str = "No Channel by that name found in Conference.",
) -> tuple[Conference, list[Channel]] | None:
    """The conference and its members whose names start with ``Channel`` ("all": everyone)."""
    if not action.get("Conference"):
        session.error(action, "No Conference name provided.")
        return None
    wanted = action.get("Channel")
    if not wanted:
        session.error(action, "No channel name provided.")
        return None
    conference = _conference(session, action)
    if conference is None:
        return None
    if wanted.lower() in ("all", "participants"):
        members = list(conference.members)
    else:
        members = [chan for chan in conference.members if chan.name.lower().startswith(wanted.lower())]
    if not members:
        session.error(action, missing_member)
        return None
    return conference, members
