"""``amiproto top``'s screen, rendered from a model fed real traffic and hand-made events."""

from __future__ import annotations

import pytest

from amiproto.live import PBX
from amiproto_transports.cli._output import Style, visible_len
from amiproto_transports.cli._top_view import age, render

from ..live.test_queues import caller, member
from ..live.wire import Wire, load_rx, replay


@pytest.fixture(scope="module")
def busy_pbx() -> PBX:
    """The model a third of the way into load_120calls, when calls are up in every stage."""
    items = replay(load_rx())
    pbx = PBX()
    for item in items[: len(items) // 3]:
        pbx.apply(item, 1000.0)
    assert pbx.channels and pbx.calls and pbx.bridges
    return pbx


def section(lines: list[str], title: str) -> list[str]:
    """The lines of one section, from its title to the next blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start + 1 : end]


def test_every_channel_and_call_of_the_model_is_on_the_screen(busy_pbx: PBX) -> None:
    lines = render(busy_pbx, 1030.0, label="pbx:5038", width=1000)
    assert lines[0].startswith("amiproto top  pbx:5038  ")
    assert f"channels {len(busy_pbx.channels)}, calls {len(busy_pbx.calls)}" in lines[0]
    channel_rows = section(lines, f"CHANNELS ({len(busy_pbx.channels)})")[1:]
    assert sorted(row.split()[0] for row in channel_rows) == sorted(
        c.channel for c in busy_pbx.channels.values()
    )
    call_rows = section(lines, f"CALLS ({len(busy_pbx.calls)})")[1:]
    assert sorted(row.split()[0] for row in call_rows) == sorted(busy_pbx.calls)
    up = next(c for c in busy_pbx.channels.values() if c.bridge_id)
    row = next(r for r in channel_rows if r.startswith(up.channel + " "))
    assert "0:30" in row  # created at 1000.0, shown at 1030.0
    assert up.bridge_id is not None and up.bridge_id[:8] in row


@pytest.mark.parametrize(("width", "height"), [(60, 12), (100, 24), (30, 5)])
def test_the_screen_fits_the_terminal_and_says_what_it_left_out(
    busy_pbx: PBX, width: int, height: int
) -> None:
    lines = render(busy_pbx, 1030.0, width=width, height=height, style=Style(True))
    assert len(lines) == height
    assert all(visible_len(line) <= width for line in lines)
    assert "more lines" in lines[-1]


def test_queues_show_members_paused_with_their_reason_and_callers_with_their_wait() -> None:
    wire = Wire()
    wire.event("QueueMemberAdded", member(Paused="1", PausedReason="lunch", CallsTaken="4"))
    wire.event("QueueMemberAdded", member("PJSIP/bob", Status="2"))
    wire.now = 1010.0
    wire.event("QueueCallerJoin", caller("a", 1, 1))
    lines = render(wire.pbx, 1075.0)
    queue = section(lines, "QUEUES (1)")
    assert queue[0] == "support  1 waiting, 2 members (1 paused), completed 0, abandoned 0"
    alice = next(line for line in queue if " alice " in line)
    assert "paused (lunch)" in alice and "calls taken 4" in alice and "NOT_INUSE" in alice
    assert "INUSE" in next(line for line in queue if " bob " in line)
    waiting = next(line for line in queue if "caller" in line)
    assert (
        "1. Local/queue@default-a;2" in waiting and "Caller a <10a>" in waiting and "waiting 1:05" in waiting
    )


def test_control_characters_from_the_server_never_reach_the_terminal() -> None:
    wire = Wire()
    hostile = {"Channel": "PJSIP/x-1", "Uniqueid": "u1", "Linkedid": "u1", "CallerIDName": "\x1b[2Jevil"}
    wire.event("Newchannel", hostile)
    lines = render(wire.pbx, 1000.0, width=1000)
    assert not any("\x1b" in line for line in lines)
    assert any("\\x1b[2Jevil" in line for line in lines)


def test_the_state_is_the_models_unless_the_caller_says_otherwise() -> None:
    wire = Wire()
    assert "  syncing  " in render(wire.pbx, 0.0)[0]
    for name, action_id in wire.snapshot().items():
        wire.answer_list(action_id, [], f"{name}Complete")
    assert wire.pbx.synced
    assert "  synced  " in render(wire.pbx, 0.0)[0]
    assert "  reconnecting  " in render(wire.pbx, 0.0, state="reconnecting")[0]


@pytest.mark.parametrize(
    ("since", "now", "shown"),
    [
        (None, 5.0, "-"),
        (0.0, 5.9, "0:05"),
        (0.0, 75.0, "1:15"),
        (0.0, 3725.0, "1:02:05"),
        (10.0, 5.0, "0:00"),
    ],
)
def test_age(since: float | None, now: float, shown: str) -> None:
    assert age(since, now) == shown
