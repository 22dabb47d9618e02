"""Terminal output: colour rules, alignment, JSON shapes, progress."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

import amiproto
from amiproto_transports.cli._output import (
    NAME_WIDTH,
    Progress,
    Style,
    Terminal,
    color_enabled,
    columns,
    cut,
    headers_dict,
    message_json,
    printable,
    visible_len,
)

from .conftest import subprocess_env

ESC = "\x1b["


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def event(*pairs: tuple[str, str]) -> amiproto.Event:
    raw = amiproto.format_message(pairs)
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n" + raw)
    while True:
        item = conn.next_event()
        if isinstance(item, amiproto.Event):
            return item
        assert item is not amiproto.NEED_DATA


def test_colour_only_on_a_tty_without_no_color_or_plain() -> None:
    assert color_enabled(FakeTTY(), environ={})
    assert not color_enabled(io.StringIO(), environ={})
    assert not color_enabled(FakeTTY(), environ={"NO_COLOR": "1"})
    assert not color_enabled(FakeTTY(), plain=True, environ={})


def test_style_wraps_only_when_enabled() -> None:
    assert Style(True)("x", "red").startswith(ESC)
    assert Style(False)("x", "red") == "x"
    assert Style(True).event_name("Hangup") == f"{ESC}31mHangup{ESC}0m"


def test_event_line_is_aligned_and_skips_noise() -> None:
    term = Terminal(io.StringIO(), io.StringIO())
    short = event(("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/1"), ("Cause", "16"))
    long = event(("Event", "DeviceStateChange"), ("Device", "Local/x"), ("State", "INUSE"))
    first, second = term.event_line(short, 0.0), term.event_line(long, 0.0)
    # The details column starts at the same place whatever the name and channel.
    assert first.index("Cause=16") == second.index("Device=Local/x")
    assert first.index("SIP/1") == first.index("Hangup") + NAME_WIDTH + 2
    assert "Privilege" not in first


def test_columns_and_visible_length() -> None:
    lines = columns([["a", "1"], ["long name", "100"]], right=[1])
    assert lines == ["a            1", "long name  100"]
    coloured = Style(True)("abc", "bold")
    assert visible_len(coloured) == 3
    assert visible_len(cut(Style(True)("abcdefgh", "red"), 4)) == 4


def test_json_keeps_repeated_headers_in_order() -> None:
    assert headers_dict([("A", "1"), ("B", "2"), ("A", "3"), ("A", "4")]) == {"A": ["1", "3", "4"], "B": "2"}
    obj = message_json(event(("Event", "UserEvent"), ("X", "1"), ("X", "2")), when=1.5)
    assert json.loads(json.dumps(obj)) == {
        "type": "event",
        "name": "UserEvent",
        "time": 1.5,
        "headers": {"Event": "UserEvent", "X": ["1", "2"]},
    }


def test_progress_waits_a_second_then_redraws_on_a_tty() -> None:
    quiet = io.StringIO()
    with Progress("work", quiet) as progress:
        progress.update("step 1", 0.1)
    assert quiet.getvalue() == ""
    tty = FakeTTY()
    with Progress("work", tty, delay=0) as progress:
        progress.update("step 1", 0.5)
        progress.update("step 2", 1.0)
    text = tty.getvalue()
    assert text.count("\r") == 3  # two draws and the final erase
    assert "step 2" in text and "100%" in text
    piped = io.StringIO()
    with Progress("work", piped, delay=0) as progress:
        progress.update("step 1")
        progress.update("step 2")  # within the same second: not repeated in a log
    assert piped.getvalue() == "work: step 1\n"


def run_on_a_tty(*argv: str, **env: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal; returns what it wrote there."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "amiproto_transports", *argv],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=20,
            env=subprocess_env(**env),
            check=False,
        )
        os.close(follower)
        follower = -1
        assert process.returncode == 0, process.stderr
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_colour_on_a_terminal_but_not_with_no_color_or_plain() -> None:
    assert ESC in run_on_a_tty("action", "Ping")
    assert ESC not in run_on_a_tty("action", "Ping", NO_COLOR="1")
    assert ESC not in run_on_a_tty("action", "Ping", "--plain")
    assert "Pong" in run_on_a_tty("action", "Ping", "--plain")


HOSTILE = "\x1b]0;owned\x07\x1b[2J\rgone\u202edrowssap"


def raw_items(data: bytes) -> list[amiproto.Item]:
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n" + data)
    items = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        items.append(item)
    return items[1:]


def test_printable_shows_what_a_terminal_would_act_on() -> None:
    assert printable(HOSTILE) == "\\x1b]0;owned\\x07\\x1b[2J\\x0dgone\\u202edrowssap"
    assert printable("Local/100@default-0001;1 é ü 中") == "Local/100@default-0001;1 é ü 中"
    assert printable("\x9b\x7f\t") == "\\x9b\\x7f\\x09"


def test_server_text_never_reaches_the_terminal_raw() -> None:
    value = HOSTILE.encode()
    event_bytes = b"Event: Hangup\x1b[2J\r\nChannel: SIP/1\x07\r\nCause" + value + b": " + value + b"\r\n\r\n"
    response_bytes = (
        b"Response: Success\r\nActionID: x\r\nMessage: " + value + b"\r\nOutput: " + value + b"\r\n\r\n"
    )
    ev, response = raw_items(event_bytes + response_bytes)
    assert isinstance(ev, amiproto.Event) and isinstance(response, amiproto.Response)
    out = FakeTTY()
    term = Terminal(out, io.StringIO(), plain=True)
    shown = [term.event_line(ev, 0.0), *term.response_lines(response)]
    term.table([ev])
    shown.append(out.getvalue())
    for text in shown:
        assert not set(text) & {"\x1b", "\x07", "\r", "\u202e"}, text
    assert "\\x1b]0;owned\\x07" in "".join(shown)


def test_an_action_answer_is_shown_escaped() -> None:
    from amiproto_transports.cli._action import show

    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_event()
    conn.send(amiproto.Action("Status", ActionID="s", list_complete_event="StatusComplete"))
    conn.receive_data(
        b"Response: Success\r\nActionID: s\r\nEventList: start\r\nMessage: \x1b[2J\r\n\r\n"
        b"Event: Status\r\nActionID: s\r\nChannel: \x1b]0;x\x07\r\n\r\n"
        b"Event: StatusComplete\x1b[1A\r\nActionID: s\r\nEventList: Complete\r\nItems\x07: 1\x1b[K\r\n\r\n"
    )
    completed = [item for item in raw_drain(conn) if isinstance(item, amiproto.ActionCompleted)]
    out = FakeTTY()
    show(Terminal(out, io.StringIO(), plain=True), completed[0], 0.001)
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "\\x1b[2J" in out.getvalue() and "Items\\x07=1\\x1b[K" in out.getvalue()


def raw_drain(conn: amiproto.Connection) -> list[amiproto.Item]:
    items = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        items.append(item)
    return items
