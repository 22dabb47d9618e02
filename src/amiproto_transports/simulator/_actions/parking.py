"""Parking actions (res_parking's ``parking_manager.c``): park a channel, list parked calls and lots.

The simulator has one lot, res_parking's default (spaces 701-720, 45 s), as the
``all_actions`` recording shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._calls import PARKING_LOT
from ._registry import handler
from ._replies import Pairs, aid, response

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("Park", privilege="call", summary="Park a channel.")
def park(session: Session, action: ReceivedAction) -> None:
    name = action.get("Channel")
    if not name:
        session.error(action, "Channel not specified")
        return
    pbx = session.world.pbx
    chan = pbx.find(name)
    if chan is None:
        session.error(action, f"Channel does not exist: {name}")
        return
    lot = action.get("Parkinglot")
    if lot and lot != PARKING_LOT[0]:
        session.error(action, "Park action failed")
        return
    if pbx.park(chan) is None:
        session.error(action, "Park action failed")
        return
    # res_parking's message ends in a bare newline ("Park successful\n"), so the answer's
    # last line ends LF, CRLF before the blank line: sent byte for byte as Asterisk does.
    raw = response(action, "Success", [("Message", "Park successful")])
    session.answer([raw[:-4] + b"\n\r\n\r\n"])


@handler("ParkedCalls", privilege="call", summary="List parked calls.")
def parked_calls(session: Session, action: ReceivedAction) -> None:
    pbx = session.world.pbx
    lot = action.get("ParkingLot")
    if lot and lot != PARKING_LOT[0]:
        session.error(action, "Requested parking lot could not be found.")
        return
    items: list[Pairs] = [
        [("Event", "ParkedCall"), *pbx.parked_headers(space), *aid(action)] for space in sorted(pbx.parked)
    ]
    extra = [("Total", str(len(items)))]
    session.send_list(action, "Parked calls will follow", items, "ParkedCallsComplete", extra)


@handler("Parkinglots", privilege="call", summary="Get a list of parking lots")
def parking_lots(session: Session, action: ReceivedAction) -> None:
    name, first, last, timeout = PARKING_LOT
    item: Pairs = [
        ("Event", "Parkinglot"),
        *aid(action),
        ("Name", name),
        ("StartSpace", str(first)),
        ("StopSpace", str(last)),
        ("Timeout", str(timeout)),
    ]
    session.send_list(action, "Parking lots will follow", [item], "ParkinglotsComplete")
