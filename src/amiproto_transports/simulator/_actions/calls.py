"""Call actions: originate, redirect, transfer and hang up calls, act on channels, list them, show dialplan.

The answers follow the ``all_actions`` recording of a real Asterisk 22; where it shows
only one path, the other errors are those of ``main/manager.c`` and the module named
at the handler.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._arguments import variables_of
from .._calls import Channel, channel_headers
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
        ids=(action.get("ChannelId") or None, action.get("OtherChannelId") or None),
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
            names = pattern.select(pbx.channels)  # too costly: answered as a bad regex, nothing hung up
        except ValueError:
            session.error(action, "Invalid regex")
            return
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
        found = session.world.pbx.find(wanted)
        channels = [] if found is None else [found]
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
        [("Event", "BridgeListItem"), *aid(action), *session.world.pbx.bridge_headers_of(bridge_id)]
        for bridge_id in session.world.pbx.bridges
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


def find_channel(session: Session, action: ReceivedAction, missing: str, unknown: str) -> Channel | None:
    """The channel the ``Channel`` header names (by name or uniqueid), or None after the error."""
    name = action.get("Channel")
    if not name:
        session.error(action, missing)
        return None
    chan = session.world.pbx.find(name)
    if chan is None:
        session.error(action, unknown.format(name=name))
    return chan


@handler("Redirect", privilege="call", summary="Redirect (transfer) a call.")
def redirect(session: Session, action: ReceivedAction) -> None:
    name = action.get("Channel")
    if not name:
        session.error(action, "Channel not specified")
        return
    context, exten = action.get("Context"), action.get("Exten")
    if not context:
        session.error(action, "Context not specified")
        return
    if not exten:
        session.error(action, "Exten not specified")
        return
    priority_text = action.get("Priority")
    if not priority_text:
        session.error(action, "Priority not specified")
        return
    priority = _scan_int(priority_text)
    if priority is None or priority < 1:
        session.error(action, "Priority is invalid")
        return
    chan = session.world.pbx.find(name)
    if chan is None:
        session.error(action, f"Channel does not exist: {name}")
        return
    session.reply(action, "Success", [("Message", "Redirect successful")])
    session.world.pbx.goto(chan, context, exten, priority)


@handler("BlindTransfer", privilege="call", summary="Blind transfer channel(s) to the given destination")
def blind_transfer(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "Channel specified does not exist")
    if chan is None:
        return
    exten = action.get("Exten")
    if not exten:
        session.error(action, "No extension specified")
        return
    if not chan.bridge_id or chan.bridge_id not in session.world.pbx.bridges:
        # ast_bridge_transfer_blind answers AST_BRIDGE_TRANSFER_INVALID for an unbridged channel.
        session.error(action, "Transfer invalid")
        return
    session.reply(action, "Success", [("Message", "Transfer succeeded")])
    session.world.pbx.blind_transfer(chan, action.get("Context") or chan.context, exten)


@handler("Atxfer", privilege="call", summary="Attended transfer.")
def atxfer(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "Channel specified does not exist")
    if chan is None:
        return
    if not action.get("Exten"):
        session.error(action, "No extension specified")
        return
    # The recorded server's features.conf defines no atxfer code, so every attended transfer stops here.
    session.error(action, "No attended transfer feature code found")


@handler("CancelAtxfer", privilege="call", summary="Cancel an attended transfer.")
def cancel_atxfer(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "Channel specified does not exist")
    if chan is None:
        return
    session.reply(action, "Success", [("Message", "CancelAtxfer successfully queued")])
    # The default atxferabort code, *1, is queued on the channel as DTMF.
    for digit in "*1":
        extra = [("Digit", digit), ("DurationMs", "0"), ("Direction", "Received")]
        session.world.pbx.channel_event("DTMFEnd", "dtmf,all", chan, extra)


@handler("AbsoluteTimeout", privilege="system,call", summary="Set absolute timeout.")
def absolute_timeout(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "No such channel")
    if chan is not None:
        session.reply(action, "Success", [("Message", "Timeout Set")])
        # atoi(): anything that is not a number is 0, which cancels a timeout.
        session.world.pbx.set_timeout(chan, max(_scan_int(action.get("Timeout") or "") or 0, 0))


@handler("PlayDTMF", privilege="call", summary="Play DTMF signal on a specific channel.")
def play_dtmf(session: Session, action: ReceivedAction) -> None:
    chan = _channel_or_not_found(session, action)
    if chan is None:
        return
    digit = action.get("Digit")
    if not digit:
        session.error(action, "No digit specified")
        return
    duration = _scan_int(action.get("Duration") or "") or 100
    session.reply(action, "Success", [("Message", "DTMF successfully queued")])
    pbx = session.world.pbx
    peer = pbx.peer_of(chan)
    pbx.channel_event("DTMFBegin", "dtmf,all", peer, [("Digit", digit[0]), ("Direction", "Received")])
    extra = [("Digit", digit[0]), ("DurationMs", str(duration)), ("Direction", "Received")]
    pbx.channel_event("DTMFEnd", "dtmf,all", peer, extra)


@handler("PlayMF", privilege="call", summary="Play MF digit on a specific channel.")
def play_mf(session: Session, action: ReceivedAction) -> None:
    if _channel_or_not_found(session, action) is None:
        return
    digit = action.get("Digit")
    if not digit:
        session.error(action, "No digit specified")
        return
    if digit[0] not in "0123456789*#ABC":
        session.error(action, f"Invalid digit: {digit[0]}")
        return
    session.reply(action, "Success", [("Message", "MF successfully queued")])


@handler("SendFlash", privilege="call", summary="Send a hook flash on a specific channel.")
def send_flash(session: Session, action: ReceivedAction) -> None:
    chan = _channel_or_not_found(session, action)
    if chan is None:
        return
    session.reply(action, "Success", [("Message", "Flash successfully queued")])
    pbx = session.world.pbx
    pbx.channel_event("Flash", "call,all", pbx.peer_of(chan), [])


_SEND_TEXT_SUMMARY = (
    "Sends a text message to channel. A content type\tcan be optionally specified. If not set it is set "
    "to an empty string allowing a custom handler to default it as it sees fit."
)


@handler("SendText", privilege="call", summary=_SEND_TEXT_SUMMARY)
def send_text(session: Session, action: ReceivedAction) -> None:
    name = action.get("Channel")
    if not name:
        session.error(action, "No channel specified")
        return
    if not action.get("Message"):
        session.error(action, "No Message specified")
        return
    if session.world.pbx.find(name) is None:
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Message", "Success")])


@handler("MuteAudio", privilege="system", summary="Mute an audio stream.")
def mute_audio(session: Session, action: ReceivedAction) -> None:
    # res_mutestream.c: each header is checked before the channel is looked up.
    for header, missing in (("Channel", "Channel"), ("Direction", "Direction"), ("State", "State")):
        if not action.get(header):
            session.error(action, f"{missing} not specified")
            return
    if (action.get("Direction") or "").lower() not in ("in", "out", "all"):
        session.error(action, "Invalid direction specified")
        return
    if find_channel(session, action, "Channel not specified", "No such channel") is not None:
        session.reply(action, "Success", [])


@handler("LocalOptimizeAway", privilege="system,call", summary="Optimize away a local channel when possible.")
def local_optimize_away(session: Session, action: ReceivedAction) -> None:
    # core_local.c's manager_optimize_away.
    chan = find_channel(session, action, "'Channel' not specified.", "Channel does not exist.")
    if chan is None:
        return
    if not chan.name.startswith("Local/"):
        session.error(action, "Unable to find channel")
        return
    session.reply(action, "Success", [("Message", "Queued channel to be optimized away")])


@handler(
    "ControlPlayback", privilege="call", summary="Control the playback of a file being played to a channel."
)
def control_playback(session: Session, action: ReceivedAction) -> None:
    # app_controlplayback.c's manager_controlplayback.
    if not action.get("Channel"):
        session.error(action, "Channel not specified")
        return
    control = (action.get("Control") or "").lower()
    if not control:
        session.error(action, "Control not specified")
        return
    if find_channel(session, action, "Channel not specified", "No such channel") is None:
        return
    if control not in ("stop", "forward", "reverse", "pause", "restart"):
        session.error(action, "Unknown control type")
        return
    session.reply(action, "Success", [])


@handler("AOCMessage", privilege="aoc", summary="Generate an Advice of Charge message on a channel.")
def aoc_message(session: Session, action: ReceivedAction) -> None:
    # res_aoc's manager AOCMessage: the message type is checked first, as the recording shows.
    if (action.get("MsgType") or "").upper() not in ("D", "E"):
        session.error(action, "Invalid MsgType")
        return
    name = action.get("Channel")
    if not name and not action.get("ChannelPrefix"):
        session.error(action, "Channel and PartialChannel are not specified. Specify at least one of these.")
        return
    if not name or session.world.pbx.find(name) is None:
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Message", "AOC Message successfully queued on channel")])


@handler("AGI", privilege="agi", summary="Add an AGI command to execute by Async AGI.")
def agi(session: Session, action: ReceivedAction) -> None:
    name, command = action.get("Channel"), action.get("Command")
    if not name or not command:
        session.error(action, "Both, Channel and Command are *required*")
        return
    chan = session.world.pbx.find(name)
    if chan is None:
        session.error(action, f"Channel {name} does not exist.")
        return
    if not chan.async_agi:
        session.error(action, "Failed to add AGI command to queue")
        return
    session.reply(action, "Success", [("Message", "Added AGI command to queue")])
    session.world.pbx.agi_command(chan, command, action.get("CommandID") or "")


def _channel_or_not_found(session: Session, action: ReceivedAction) -> Channel | None:
    """PlayDTMF, PlayMF and SendFlash look the name up even when it is missing: "Channel not found"."""
    chan = session.world.pbx.find(action.get("Channel") or "")
    if chan is None:
        session.error(action, "Channel not found")
    return chan
