"""What ``amiproto top`` shows: the live model as one screen of text, with no I/O.

``render`` is a pure function of the model and the time, so that a test can feed a
recording to a ``PBX`` and check the screen, and the command only has to redraw it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from amiproto.live import PBX, Call, Channel, Queue

from ._output import Style, columns, cut, printable, visible_len

__all__ = ["DEVICE_STATES", "age", "render"]

DEVICE_STATES = {
    0: "UNKNOWN",
    1: "NOT_INUSE",
    2: "INUSE",
    3: "BUSY",
    4: "INVALID",
    5: "UNAVAILABLE",
    6: "RINGING",
    7: "RINGINUSE",
    8: "ONHOLD",
}
"""Asterisk's device state numbers (AST_DEVICE_*), as queue members report them."""


def age(since: float | None, now: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) from ``since`` to ``now``; ``-`` when the start is unknown."""
    if since is None:
        return "-"
    seconds = max(0, int(now - since))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(value: object) -> str:
    """A field as shown: Asterisk's empty markers and None as nothing, control characters escaped."""
    if value is None or value in ("", "<unknown>"):
        return ""
    return printable(str(value))


def _caller(num: str | None, name: str | None) -> str:
    shown_num, shown_name = _text(num), _text(name)
    if shown_name and shown_name != shown_num:
        return f"{shown_name} <{shown_num}>" if shown_num else shown_name
    return shown_num


def _where(chan: Channel) -> str:
    exten, context = _text(chan.exten), _text(chan.context)
    if not exten and not context:
        return ""
    return f"{exten}@{context}" + (f":{chan.priority}" if chan.priority else "")


def _application(chan: Channel) -> str:
    app = _text(chan.application)
    data = _text(chan.application_data)
    return f"{app}({data})" if app and data else app


def _call_rows(pbx: PBX, now: float, style: Style) -> list[list[str]]:
    rows = [[style(title, "bold") for title in ("LINKEDID", "AGE", "STATE", "CHANNELS")]]
    ordered = sorted(pbx.calls.values(), key=_call_start)
    for call in ordered:
        names = sorted(_text(pbx.channels[u].channel) for u in call.channels if u in pbx.channels)
        state = style("answered", "green") if call.answered else style("ringing", "yellow")
        rows.append([_text(call.linkedid), age(call.started, now), state, ", ".join(names)])
    return rows


def _call_start(call: Call) -> tuple[float, str]:
    return (call.started if call.started is not None else float("inf"), call.linkedid)


def _channel_rows(pbx: PBX, now: float, style: Style) -> list[list[str]]:
    titles = ("CHANNEL", "STATE", "CALLER", "CONNECTED", "WHERE", "APPLICATION", "BRIDGE", "AGE")
    rows = [[style(title, "bold") for title in titles]]
    # Grouped by call, calls in the order they started, as the CALLS section lists them.
    started = {linkedid: _call_start(call) for linkedid, call in pbx.calls.items()}
    unknown = (float("inf"), "")
    ordered = sorted(
        pbx.channels.values(), key=lambda c: (started.get(c.linkedid or "", unknown), c.channel, c.uniqueid)
    )
    for chan in ordered:
        state = _text(chan.channel_state_desc)
        rows.append(
            [
                _text(chan.channel),
                style(state, "green") if state == "Up" else state,
                _caller(chan.caller_id_num, chan.caller_id_name),
                _caller(chan.connected_line_num, chan.connected_line_name),
                _where(chan),
                _application(chan),
                _text(chan.bridge_id)[:8],
                age(chan.created, now),
            ]
        )
    return rows


def _queue_lines(queue: Queue, now: float, style: Style) -> list[str]:
    paused = sum(1 for member in queue.members.values() if member.paused)
    summary = (
        f"{style(_text(queue.name), 'bold')}  {len(queue.callers)} waiting, "
        f"{len(queue.members)} members ({paused} paused), "
        f"completed {queue.completed or 0}, abandoned {queue.abandoned or 0}"
    )
    rows: list[list[str]] = []
    for member in sorted(queue.members.values(), key=lambda m: m.interface):
        status = DEVICE_STATES.get(member.status, "") if member.status is not None else ""
        pause = style("paused", "yellow") if member.paused else ""
        if member.paused and member.paused_reason:
            pause += f" ({_text(member.paused_reason)})"
        name = _text(member.name or member.interface)
        rows.append(["  member", name, status, pause, f"calls taken {member.calls_taken or 0}"])
    callers = sorted(queue.callers.values(), key=lambda c: (c.position or 0, c.uniqueid))
    for caller in callers:
        rows.append(
            [
                "  caller",
                f"{caller.position or '?'}. {_text(caller.channel)}",
                _caller(caller.caller_id_num, caller.caller_id_name),
                f"waiting {age(caller.wait_start, now)}",
                "",
            ]
        )
    return [summary, *columns(rows)]


def _section(title: str, body: Sequence[str], style: Style) -> list[str]:
    return ["", style(title, "bold"), *body]


def render(
    pbx: PBX,
    now: float,
    *,
    label: str = "",
    width: int = 100,
    height: int | None = None,
    style: Style | None = None,
    state: str | None = None,
) -> list[str]:
    """The screen for ``pbx`` at ``now`` (the clock ``apply`` was given), at most
    ``width`` columns and, when given, ``height`` lines (the rest is counted, not shown).
    ``state`` replaces the model's own (synced or syncing) in the first line."""
    style = Style(False) if style is None else style
    if state is None:
        state = "synced" if pbx.synced else style("syncing", "yellow")
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    counts = (
        f"channels {len(pbx.channels)}, calls {len(pbx.calls)}, "
        f"bridges {len(pbx.bridges)}, queues {len(pbx.queues)}"
    )
    lines = ["  ".join(part for part in ("amiproto top", label, clock, state, counts) if part)]
    # Queues first and channels last: they are the fewest and the most lines, and a
    # short terminal cuts the end.
    queues = sorted(pbx.queues.values(), key=lambda q: q.name)
    queue_lines = [line for queue in queues for line in _queue_lines(queue, now, style)]
    lines += _section(f"QUEUES ({len(pbx.queues)})", queue_lines, style)
    lines += _section(f"CALLS ({len(pbx.calls)})", columns(_call_rows(pbx, now, style)), style)
    lines += _section(f"CHANNELS ({len(pbx.channels)})", columns(_channel_rows(pbx, now, style)), style)
    if height is not None and len(lines) > height:
        hidden = len(lines) - (height - 1)
        lines = [
            *lines[: height - 1],
            style(f"... {hidden} more lines (a taller terminal shows them)", "dim"),
        ]
    return [cut(line, width) if visible_len(line) > width else line for line in lines]
