"""Bridge actions: bridge two channels, list, inspect, kick from and destroy bridges, bridging technologies.

Bridge is ``main/manager.c``'s; BridgeInfo, BridgeKick and BridgeDestroy are
``main/manager_bridges.c``'s; the technology actions are ``main/bridge.c``'s. Answers
and events follow the ``all_actions`` recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._calls import channel_headers
from ._registry import handler
from ._replies import Pairs, aid

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

TECHNOLOGIES = (
    ("native_rtp", "Native", "90"),
    ("holding_bridge", "Holding", "50"),
    ("simple_bridge", "1to1Mix", "50"),
    ("softmix", "MultiMix", "10"),
)
"""The technologies the recorded server lists: name, type, priority."""


@handler("Bridge", privilege="call", summary="Bridge two channels already in the PBX.")
def bridge(session: Session, action: ReceivedAction) -> None:
    first_name, second_name = action.get("Channel1"), action.get("Channel2")
    if not first_name or not second_name:
        session.error(action, "Missing channel parameter in request")
        return
    pbx = session.world.pbx
    first = pbx.find(first_name)
    if first is None:
        session.error(action, f"Channel1 does not exists: {first_name}")  # sic, as manager.c says it
        return
    second = pbx.find(second_name)
    if second is None:
        session.error(action, f"Channel2 does not exists: {second_name}")
        return
    session.reply(action, "Success", [("Message", "Channels have been bridged")])
    pbx.bridge_channels(first, second)


@handler("BridgeInfo", privilege=None, summary="Get information about a bridge.")
def bridge_info(session: Session, action: ReceivedAction) -> None:
    bridge_id = _bridge_id(session, action)
    if bridge_id is None:
        return
    pbx = session.world.pbx
    items: list[Pairs] = [
        [("Event", "BridgeInfoChannel"), *aid(action), *channel_headers(chan)]
        for chan in pbx.bridges[bridge_id]
    ]
    extra = pbx.bridge_headers_of(bridge_id)
    session.send_list(action, "Bridge channel listing will follow", items, "BridgeInfoComplete", extra)


@handler("BridgeDestroy", privilege=None, summary="Destroy a bridge.")
def bridge_destroy(session: Session, action: ReceivedAction) -> None:
    bridge_id = _bridge_id(session, action)
    if bridge_id is None:
        return
    session.reply(action, "Success", [("Message", "Bridge has been destroyed")])
    session.world.pbx.dissolve(bridge_id)


@handler("BridgeKick", privilege=None, summary="Kick a channel from a bridge.")
def bridge_kick(session: Session, action: ReceivedAction) -> None:
    name = action.get("Channel")
    if not name:
        session.error(action, "Channel must be provided")
        return
    pbx = session.world.pbx
    chan = pbx.find(name)
    if chan is None:
        session.error(action, "Channel does not exist")
        return
    wanted = action.get("BridgeUniqueid")
    if wanted and wanted not in pbx.bridges:
        session.error(action, "Bridge not found")
        return
    bridge_id = wanted or chan.bridge_id
    if not bridge_id:
        session.error(action, "Channel is not in a bridge")
        return
    if chan not in pbx.bridges[bridge_id]:
        session.error(action, "Channel kick from bridge failed")
        return
    session.reply(action, "Success", [("Message", "Channel has been kicked")])
    # A two-party bridge does not outlive a kick: both leave, as the recording shows.
    pbx.dissolve(bridge_id, chan)


@handler(
    "BridgeTechnologyList",
    privilege=None,
    summary="List available bridging technologies and their statuses.",
)
def bridge_technology_list(session: Session, action: ReceivedAction) -> None:
    suspended = session.world.pbx.suspended_technologies
    items: list[Pairs] = [
        [
            ("Event", "BridgeTechnologyListItem"),
            ("BridgeTechnology", name),
            ("BridgeType", kind),
            ("BridgePriority", priority),
            ("BridgeSuspended", "Yes" if name in suspended else "No"),
            *aid(action),
        ]
        for name, kind, priority in TECHNOLOGIES
    ]
    session.send_list(action, "Bridge technology listing will follow", items, "BridgeTechnologyListComplete")


@handler("BridgeTechnologySuspend", privilege=None, summary="Suspend a bridging technology.")
def bridge_technology_suspend(session: Session, action: ReceivedAction) -> None:
    _suspend(session, action, suspend=True)


@handler("BridgeTechnologyUnsuspend", privilege=None, summary="Unsuspend a bridging technology.")
def bridge_technology_unsuspend(session: Session, action: ReceivedAction) -> None:
    _suspend(session, action, suspend=False)


def _suspend(session: Session, action: ReceivedAction, *, suspend: bool) -> None:
    name = action.get("BridgeTechnology")
    if not name:
        session.error(action, "BridgeTechnology must be provided")
        return
    known = next((tech for tech, _, _ in TECHNOLOGIES if tech.lower() == name.lower()), None)
    if known is None:
        session.error(action, "Technology not found")
        return
    suspended = session.world.pbx.suspended_technologies
    if suspend:
        suspended.add(known)
        session.reply(action, "Success", [("Message", "Suspended bridge technology")])
    else:
        suspended.discard(known)
        session.reply(action, "Success", [("Message", "Unsuspended bridge technology")])


def _bridge_id(session: Session, action: ReceivedAction) -> str | None:
    """The known bridge ``BridgeUniqueid`` names, or None after the error."""
    bridge_id = action.get("BridgeUniqueid")
    if not bridge_id:
        session.error(action, "BridgeUniqueid must be provided")
        return None
    if bridge_id not in session.world.pbx.bridges:
        session.error(action, "Specified BridgeUniqueid not found")
        return None
    return bridge_id
