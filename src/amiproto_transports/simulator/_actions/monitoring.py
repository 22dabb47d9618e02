"""MixMonitor actions: record a channel, mute the recording, stop it (app_mixmonitor.c's manager actions).

A call gets ``Response: Success`` with no message, as the ``all_actions`` recording shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from .calls import find_channel

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

MONITOR_DIR = "/opt/asterisk/var/spool/asterisk/monitor"
"""Where the recorded server puts a MixMonitor file named without a directory."""

_MIXMONITOR_SUMMARY = (
    "Record a call and mix the audio during the recording.  Use of StopMixMonitor is required to "
    "guarantee the audio file is available for processing during dialplan execution."
)
_STOP_SUMMARY = "Stop recording a call through MixMonitor, and free the recording's file handle."


@handler("MixMonitor", privilege="system", summary=_MIXMONITOR_SUMMARY)
def mixmonitor(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "No such channel")
    if chan is None:
        return
    name = action.get("File") or f"{chan.uniqueid}.wav"
    path = name if name.startswith("/") else f"{MONITOR_DIR}/{name}"
    session.reply(action, "Success", [])
    session.world.pbx.mixmonitor_start(chan, path)


@handler("StopMixMonitor", privilege="system,call", summary=_STOP_SUMMARY)
def stop_mixmonitor(session: Session, action: ReceivedAction) -> None:
    chan = find_channel(session, action, "No channel specified", "No such channel")
    if chan is None:
        return
    if chan.mixmonitor is None:
        session.error(action, "Could not stop monitoring channel")
        return
    session.reply(action, "Success", [])
    session.world.pbx.mixmonitor_stop(chan)


@handler("MixMonitorMute", privilege="system,call", summary="Mute / unMute a Mixmonitor recording.")
def mixmonitor_mute(session: Session, action: ReceivedAction) -> None:
    # The direction is checked before the channel: the recording's call without Channel says so.
    direction = (action.get("Direction") or "").lower()
    if not direction:
        session.error(action, "No direction specified. Must be read, write or both")
        return
    if direction not in ("read", "write", "both"):
        session.error(action, "Invalid direction specified. Must be read, write or both")
        return
    state = action.get("State")
    if not state:
        session.error(action, "No state specified")
        return
    chan = find_channel(session, action, "No channel specified", "No such channel")
    if chan is None:
        return
    if chan.mixmonitor is None:
        session.error(action, "Cannot set mute flag")
        return
    muted = "1" if state.strip().lower() in ("1", "true", "yes", "on", "y", "t") else "0"
    session.reply(action, "Success", [])
    session.world.pbx.channel_event(
        "MixMonitorMute", "call,all", chan, [("Direction", direction), ("State", muted)]
    )
