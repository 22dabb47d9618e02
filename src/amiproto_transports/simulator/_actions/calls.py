"""Call actions: originate and hang up calls, list channels and bridges, show the dialplan."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._arguments import variables_of
from .._calls import Channel, bridge_headers, channel_headers
from .._filters import compile_pattern
from ._registry import handler
from ._replies import Pairs, aid
from .dialplan import HINT

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


@handler("Originate", privilege="originate", summary="Originate a call.")
def originate(session: Session, action: ReceivedAction) -> None:
    channel = action.get("Channel")
    if not channel:
        session.error(action, "Channel not specified")
        return
    if "/" not in channel:
        session.error(action, "Invalid channel")
        return
    application = action.get("Application")
    exten = action.get("Exten")
    target = None
    if not application:
        if not exten:
            session.error(action, "Exten not specified")
            return
        priority_text = action.get("Priority")
        priority = _scan_int(priority_text) if priority_text else 1
        if priority is None:
            # Asterisk's sscanf("%d") failed and the dialplan has no such label.
            session.error(action, "Invalid priority")
            return
        target = (action.get("Context") or "default", exten, priority)
    variables = []
    for value in action.headers.get_all("Variable"):
        variables.extend(variables_of(value))
    is_async = (action.get("Async") or "").strip().lower() in _TRUE
    if is_async:
        session.reply(action, "Success", [("Message", "Originate successfully queued")])
    else:
        # A synchronous Originate holds back replies and events until the call is answered or fails.
        session.hold()

    def on_result(success: bool) -> None:
        if success:
            session.reply(action, "Success", [("Message", "Originate successfully queued")])
        else:
            session.error(action, "Originate failed")
        session.release()

    session.world.pbx.originate(
        channel,
        application=application,
        data=action.get("Data") or "",
        exten_target=target,
        caller_id=_caller_id(action.get("CallerID")),
        variables=variables,
        action_id=action.action_id,
        report=is_async,
        on_result=None if is_async else on_result,
    )


@handler("Hangup", privilege="system,call", summary="Hangup channel.")
def hangup(session: Session, action: ReceivedAction) -> None:
    channel = action.get("Channel")
    if not channel:
        session.error(action, "No channel specified")
        return
    cause = _hangup_cause(action.get("Cause"))
    pbx = session.world.pbx
    if len(channel) > 1 and channel.startswith("/") and channel.endswith("/"):
        try:
            pattern = compile_pattern(channel[1:-1])
        except ValueError:
            session.error(action, "Invalid regex")
            return
        names = [name for name in pbx.channels if pattern.search(name)]
        items: list[Pairs] = []
        for name in names:
            if name in pbx.channels:
                pbx.hangup(name, cause)
            items.append([("Event", "ChannelHungup"), *aid(action), ("Channel", name)])
        session.send_list(action, "Channels hung up will follow", items, "ChannelsHungupListComplete")
        return
    if not pbx.hangup(channel, cause):
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Message", "Channel Hungup")])


def _scan_int(text: str) -> int | None:
    """What C's ``sscanf(text, "%d")`` reads: blanks, a sign, ASCII digits; None without a digit."""
    body = text.lstrip(" \t\n\r\f\v")
    sign = body[:1] if body[:1] in ("+", "-") else ""
    digits = body[len(sign) :]
    count = 0
    while count < len(digits) and "0" <= digits[count] <= "9":
        count += 1
    if not count:
        return None
    return int(sign + digits[:count])


def _hangup_cause(text: str | None) -> int:
    """Asterisk takes a whole number 0..127 (``strtol``); anything else hangs up with the default cause."""
    if not text:
        return 16
    body = text.lstrip(" \t\n\r\f\v")
    sign = body[:1] if body[:1] in ("+", "-") else ""
    digits = body[len(sign) :]
    if not digits or not all("0" <= char <= "9" for char in digits):
        return 16
    cause = int(sign + digits)
    return cause if 0 <= cause <= 127 else 16


@handler("Status", privilege="system,call,reporting", summary="List channel status.")
def status(session: Session, action: ReceivedAction) -> None:
    wanted = action.get("Channel")
    channels = list(session.world.pbx.channels.values())
    if wanted:
        channels = [chan for chan in channels if chan.name == wanted]
        if not channels:
            session.error(action, "No such channel")
            return
    items = [_status_item(session, action, chan) for chan in channels]
    extra = [("Items", str(len(items)))]
    session.send_list(action, "Channel status will follow", items, "StatusComplete", extra)


def _status_item(session: Session, action: ReceivedAction, chan: Channel) -> Pairs:
    return [
        ("Event", "Status"),
        ("Privilege", "Call"),
        *channel_headers(chan),
        ("Type", "Local"),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", chan.conn_num),
        ("EffectiveConnectedLineName", chan.conn_name),
        ("TimeToHangup", "0"),
        ("BridgeID", chan.bridge_id),
        ("Application", chan.application),
        ("Data", chan.app_data),
        ("Nativeformats", "(slin)"),
        ("Readformat", "slin"),
        ("Readtrans", ""),
        ("Writeformat", "slin"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(int(session.now - chan.created))),
        *aid(action),
    ]


@handler("CoreShowChannels", privilege="system,reporting", summary="List currently active channels.")
def core_show_channels(session: Session, action: ReceivedAction) -> None:
    items = [
        [
            ("Event", "CoreShowChannel"),
            *aid(action),
            *channel_headers(chan),
            ("Application", chan.application),
            ("ApplicationData", chan.app_data),
            ("Duration", _hms(session.now - chan.created)),
            ("BridgeId", chan.bridge_id),
        ]
        for chan in session.world.pbx.channels.values()
    ]
    session.send_list(action, "Channels will follow", items, "CoreShowChannelsComplete")


@handler("BridgeList", privilege=None, summary="Get a list of bridges in the system.")
def bridge_list(session: Session, action: ReceivedAction) -> None:
    items = [
        [("Event", "BridgeListItem"), *aid(action), *bridge_headers(bridge_id, len(members))]
        for bridge_id, members in session.world.pbx.bridges.items()
    ]
    session.send_list(action, "Bridge listing will follow", items, "BridgeListComplete")


@handler("ShowDialPlan", privilege="config,reporting", summary="Show dialplan contexts and extensions")
def show_dialplan(session: Session, action: ReceivedAction) -> None:
    dialplan = session.world.dialplan
    wanted, wanted_exten = action.get("Context"), action.get("Extension")
    if wanted and wanted not in dialplan:
        session.error(action, f"Did not find context {wanted}")
        return
    contexts = [wanted] if wanted else sorted(dialplan)
    # Extension names are compared as written; Asterisk would also match dialplan patterns here.
    found = {
        context: {
            exten: dialplan[context][exten]
            for exten in sorted(dialplan[context])
            if wanted_exten in (None, "", exten)
        }
        for context in contexts
    }
    if wanted_exten and not any(found.values()):
        where = f"@{wanted}" if wanted else " in any context"
        session.error(action, f"Did not find extension {wanted_exten}{where}")
        return
    items: list[Pairs] = []
    extensions = 0
    for context, extens in found.items():
        for exten, steps in extens.items():
            extensions += 1
            for priority, (app, data) in sorted(steps.items()):
                items.append(
                    [
                        ("Event", "ListDialplan"),
                        *aid(action),
                        ("Context", context),
                        ("Extension", exten),
                        ("Priority", "hint" if priority == HINT else str(priority)),
                        ("Application", app),
                        ("AppData", data),
                        ("Registrar", "pbx_config"),
                    ]
                )
    extra = [
        ("ListExtensions", str(extensions)),
        ("ListPriorities", str(len(items))),
        ("ListContexts", str(len(contexts))),
    ]
    session.send_list(action, "DialPlan list will follow", items, "ShowDialPlanComplete", extra)


def _caller_id(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*\"?(.*?)\"?\s*<([^>]*)>\s*", text)
    if match:
        return match.group(1), match.group(2)
    return "<unknown>", text.strip()


def _hms(seconds: float) -> str:
    whole = int(max(seconds, 0))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
