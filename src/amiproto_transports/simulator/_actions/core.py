"""Core actions: keepalive, session control, the manager's own listing, CLI commands, user events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._calls import STATE_DESC
from .._eventfilter import FilterError, TooManyFilters
from .._events import OutEvent, make_event
from ._registry import ACTIONS, handler

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

CHANNELS_HEADER = (
    "Channel                                                          Location                         "
    "State   Application(Data)             "
)


@handler("Ping", privilege=None, summary="Keepalive command.")
def ping(session: Session, action: ReceivedAction) -> None:
    stamp = f"{session.world.wall(session.now):.6f}"
    session.reply(action, "Success", [("Ping", "Pong"), ("Timestamp", stamp)])


@handler("Logoff", privilege=None, summary="Logoff Manager.")
def logoff(session: Session, action: ReceivedAction) -> None:
    session.reply(action, "Goodbye", [("Message", "Thanks for all the fish.")])
    session.closing = True


@handler("Events", privilege=None, summary="Control Event Flow.")
def events(session: Session, action: ReceivedAction) -> None:
    mask = action.get("EventMask")
    if not mask:
        # main/manager.c (strings_to_mask): an empty mask is the one it refuses.
        session.error(action, "Invalid event mask")
        return
    on = session.set_event_mask(mask)
    session.reply(action, "Success", [("Events", "On" if on else "Off")])


@handler("Filter", privilege="system", summary="Dynamically add filters for the current manager session.")
def filter_(session: Session, action: ReceivedAction) -> None:
    if (action.get("Operation") or "").strip().lower() != "add":
        session.error(action, "Unknown operation")
        return
    # As manager.c's action_filter: MatchCriteria becomes eventfilter(<criteria>),
    # the form manager.conf's eventfilter lines take.
    criteria = action.get("MatchCriteria") or ""
    try:
        session.add_filter(
            f"eventfilter({criteria})" if criteria else "eventfilter", action.get("Filter") or ""
        )
    except FilterError as refused:
        if isinstance(refused, TooManyFilters):
            session.error(action, "Internal Error. Failed to allocate regex for filter")
        elif refused.compiled:
            session.error(action, "Filter did not compile.  Check the syntax of the filter given.")
        else:
            session.error(action, "Filter was formatted incorrectly.  Check the syntax of the filter given.")
        return
    session.reply(action, "Success", [("Message", "Success")])


@handler("ListCommands", privilege=None, summary="List available manager commands.")
def list_commands(session: Session, action: ReceivedAction) -> None:
    # main/manager.c (action_listcommands): only what this user may run is listed.
    write = session.user.write if session.user is not None else frozenset()
    pairs = [
        (spec.name, f"{spec.summary}  (Priv: {spec.privilege + ',all' if spec.privilege else '<none>'})")
        for spec in sorted(ACTIONS.values(), key=lambda spec: spec.name.lower())
        if spec.needed is None or spec.needed & write
    ]
    session.reply(action, "Success", pairs)


@handler("Command", privilege="command", summary="Execute Asterisk CLI Command.")
def command(session: Session, action: ReceivedAction) -> None:
    text = " ".join((action.get("Command") or "").split())
    if not action.get("Command"):
        session.error(action, "No command provided")
        return
    seconds = session.now - session.world.start
    pbx = session.world.pbx
    if text in ("core show uptime", "core show uptime seconds"):
        # Asterisk loads once here, so the last reload is the start.
        uptime = str(int(max(seconds, 0))) if text.endswith("seconds") else _duration_words(seconds)
        lines = [f"System uptime: {uptime}", f"Last reload: {uptime}"]
    elif text == "core show version":
        lines = ["Asterisk UNKNOWN__and_probably_unsupported built by amiproto-simulator"]
    elif text == "core show channels":
        lines = [CHANNELS_HEADER]
        for chan in pbx.channels.values():
            location = f"{chan.exten}@{chan.context}:{chan.priority}"
            app = f"{chan.application}({chan.app_data})"
            state = STATE_DESC.get(chan.state, "Unknown")
            lines.append(f"{chan.name:<64} {location:<32} {state:<7} {app:<30}")
        count, calls = len(pbx.channels), pbx.active_calls
        lines += [
            f"{count} active channel{'' if count == 1 else 's'}",
            f"{calls} active call{'' if calls == 1 else 's'}",
            f"{pbx.processed_calls} call{'' if pbx.processed_calls == 1 else 's'} processed",
        ]
    else:
        hint = " ".join(text.split(" ")[:-1])
        lines = [f"No such command '{text}' (type 'core show help {hint}' for other possible commands)"]
        session.reply(action, "Error", _output(lines))
        return
    session.reply(action, "Success", _output(lines))


@handler("CoreSettings", privilege="system,reporting", summary="Show PBX core settings (version etc).")
def core_settings(session: Session, action: ReceivedAction) -> None:
    session.reply(
        action,
        "Success",
        [
            ("AMIversion", "11.0.0"),
            ("AsteriskVersion", "UNKNOWN__and_probably_unsupported"),
            ("SystemName", ""),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "root"),
            ("CoreRunGroup", "root"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


@handler("CoreStatus", privilege="system,reporting", summary="Show PBX core status variables.")
def core_status(session: Session, action: ReceivedAction) -> None:
    world = session.world
    started = time.gmtime(world.wall(world.start))
    date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    session.reply(
        action,
        "Success",
        [
            ("CoreStartupDate", date),
            ("CoreStartupTime", clock),
            ("CoreReloadDate", date),
            ("CoreReloadTime", clock),
            ("CoreCurrentCalls", str(world.pbx.active_calls)),
            ("CoreProcessedCalls", str(world.pbx.processed_calls)),
        ],
    )


@handler("UserEvent", privilege="user", summary="Send an arbitrary event.")
def user_event(session: Session, action: ReceivedAction) -> None:
    # Asterisk does not check for the name: without one, the event has it empty (all_actions).
    name = action.get("UserEvent") or ""
    head = make_event("UserEvent", "user,all", [("UserEvent", name)])
    session.reply(action, "Success", [("Message", "Event Sent")])
    # Asterisk copies every other line as it came, so a header it cannot parse
    # ("Name : value") or a bare CR goes out as sent; only the line end is its own.
    lines = [line.removesuffix(b"\r") for line in action.raw.split(b"\n")]
    skipped = (b"action:", b"userevent:")
    body = b"".join(line + b"\r\n" for line in lines if line and not _is_header(line, skipped))
    session.world.emit(OutEvent(head.name, head.classes, head.raw[:-2] + body + b"\r\n"))


def _is_header(line: bytes, prefixes: tuple[bytes, ...]) -> bool:
    return line[:10].lower().startswith(prefixes)


def _output(lines: list[str]) -> list[tuple[str, str]]:
    return [("Message", "Command output follows"), *(("Output", line) for line in lines)]


def _duration_words(seconds: float) -> str:
    whole = int(max(seconds, 0))
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if whole >= size:
            count, whole = divmod(whole, size)
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    parts.append(f"{whole} second{'' if whole == 1 else 's'}")
    return ", ".join(parts)
