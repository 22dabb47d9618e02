"""DAHDI and PRI actions (``channels/chan_dahdi.c``) of a PBX with the driver loaded and nothing configured.

No recording shows them (the recorded server has no DAHDI hardware), so every
answer follows chan_dahdi.c (Asterisk 22): its ``load_module`` registers all of
them with no class (``<none>``) but PRIDebugFileSet (``system``). With no
channel or span configured, a channel is never found, the lists are empty and
no PRI runs on any span; the driver's control device is taken to exist, so
DAHDIShowStatus lists no span rather than answering "No DAHDI detected".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from ._replies import response

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

NUM_SPANS = 32
"""chan_dahdi.c's span count when built without LOTS_OF_SPANS, as distributions build it."""

# What sscanf("%30d") accepts: blanks, a sign, digits; anything may follow.
_C_INT = re.compile(r"\s*([+-]?\d{1,30})")


def _c_int(text: str) -> int | None:
    match = _C_INT.match(text)
    return None if match is None else int(match[1])


def _no_such_channel(session: Session, action: ReceivedAction) -> None:
    """Answer a missing or unknown ``DAHDIChannel``; with none configured, every one is unknown."""
    if not action.get("DAHDIChannel"):
        session.error(action, "No channel specified")
    else:
        session.error(action, "No such channel")


@handler("DAHDITransfer", privilege=None, summary="Transfer DAHDI Channel.")
def transfer(session: Session, action: ReceivedAction) -> None:
    _no_such_channel(session, action)


@handler("DAHDIHangup", privilege=None, summary="Hangup DAHDI Channel.")
def hangup(session: Session, action: ReceivedAction) -> None:
    _no_such_channel(session, action)


@handler("DAHDIDNDon", privilege=None, summary="Toggle DAHDI channel Do Not Disturb status ON.")
def dnd_on(session: Session, action: ReceivedAction) -> None:
    _no_such_channel(session, action)


@handler("DAHDIDNDoff", privilege=None, summary="Toggle DAHDI channel Do Not Disturb status OFF.")
def dnd_off(session: Session, action: ReceivedAction) -> None:
    _no_such_channel(session, action)


@handler("DAHDIDialOffhook", privilege=None, summary="Dial over DAHDI channel while offhook.")
def dial_offhook(session: Session, action: ReceivedAction) -> None:
    # action_dahdidialoffhook checks both headers before looking the channel up.
    if action.get("DAHDIChannel") and not action.get("Number"):
        session.error(action, "No number specified")
        return
    _no_such_channel(session, action)


@handler("DAHDIShowChannels", privilege=None, summary="Show status of DAHDI channels.")
def show_channels(session: Session, action: ReceivedAction) -> None:
    # The completion event repeats its count in an "Items" header of its own.
    message = "DAHDI channel status will follow"
    session.send_list(action, message, [], "DAHDIShowChannelsComplete", [("Items", "0")])


@handler("DAHDIShowStatus", privilege=None, summary="Show status of DAHDI spans.")
def show_status(session: Session, action: ReceivedAction) -> None:
    message = "DAHDI span statuses will follow"
    session.send_list(action, message, [], "DAHDIShowStatusComplete", [("Items", "0")])


@handler("DAHDIRestart", privilege=None, summary="Fully Restart DAHDI channels (terminates calls).")
def restart(session: Session, action: ReceivedAction) -> None:
    # dahdi_restart() re-reads an absent chan_dahdi.conf without failing.
    session.reply(action, "Success", [("Message", "DAHDIRestart: Success")])


@handler("PRIShowSpans", privilege=None, summary="Show status of PRI spans.")
def pri_show_spans(session: Session, action: ReceivedAction) -> None:
    session.send_list(action, "Span status will follow", [], "PRIShowSpansComplete", [("Items", "0")])


@handler("PRIDebugSet", privilege=None, summary="Set PRI debug levels for a span")
def pri_debug_set(session: Session, action: ReceivedAction) -> None:
    level, span = action.get("Level"), action.get("Span")
    if not level:
        session.error(action, "'Level' was not specified")
        return
    if not span:
        session.error(action, "'Span' was not specified")
        return
    if level.lower() not in ("on", "off", "intense", "hex") and _c_int(level) is None:
        session.error(action, "Invalid value for 'Level'")
        return
    span_number = _c_int(span)
    if span_number is None:
        # chan_dahdi.c goes on with an uninitialised span number after this error;
        # the simulator stops here.
        session.error(action, "Invalid value for 'Span'")
        return
    if not 1 <= span_number <= NUM_SPANS:
        session.error(action, f"Invalid span '{span}' - Should be a number from 1 to {NUM_SPANS}")
        return
    session.error(action, "No PRI running on requested span")


@handler("PRIDebugFileSet", privilege="system", summary="Set the file used for PRI debug message output")
def pri_debug_file_set(session: Session, action: ReceivedAction) -> None:
    if not action.get("File"):
        # chan_dahdi.c does not return after this error: open("") then fails, and a
        # second error answers the same action.
        session.answer(
            [
                response(action, "Error", [("Message", "Action must define a 'File'")]),
                response(action, "Error", [("Message", "Unable to open requested file for writing")]),
            ]
        )
        return
    # The simulator opens no file; Asterisk would create it.
    session.reply(action, "Success", [("Message", "PRI debug output will now be sent to requested file.")])


@handler("PRIDebugFileUnset", privilege=None, summary="Disables file output for PRI debug messages")
def pri_debug_file_unset(session: Session, action: ReceivedAction) -> None:
    session.reply(action, "Success", [("Message", "PRI Debug output to file disabled")])
