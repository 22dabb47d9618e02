"""``amiproto top``: the live model on screen, against a named server and the embedded simulator."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from amiproto import Action
from amiproto_transports.simulator import Simulator
from amiproto_transports.sync import connect

from .conftest import Runner, assert_one_line_error, subprocess_env


def test_once_shows_a_call_that_was_up_before_it_connected(
    cli: Runner, sim: tuple[Simulator, list[str]]
) -> None:
    _, options = sim
    host, port = options[1], int(options[3])
    with connect(host, port, username="admin", secret="wordpass", events=False, timeout=5) as client:
        originate = Action(
            "Originate",
            Channel="Local/wait@default",
            Application="Wait",
            Data="30",
            ChannelId="top-1",
            OtherChannelId="top-2",
        )
        client.send_action(originate, timeout=5)
        result = cli("top", "--once", *options)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"amiproto top  {host}:{port}  ") and "  synced  " in lines[0]
    assert "channels 2, calls 1" in lines[0]
    channels = [line for line in lines if line.startswith("Local/wait@default-")]
    assert len(channels) == 2 and all("Wait(30)" in line or "AppDial2" in line for line in channels)
    assert any(line.startswith("top-1 ") for line in lines)  # the call, by its Linkedid
    assert "support" in result.out  # the simulator's queue


def test_a_pipe_gets_one_block_per_refresh_from_the_embedded_simulator(cli: Runner) -> None:
    result = cli("top", "--duration", "1.2", "--interval", "0.5", "--calls-per-second", "20")
    assert result.code == 0, result.err
    assert "embedded simulator" in result.err
    frames = [line for line in result.out.splitlines() if line.startswith("amiproto top  ")]
    assert len(frames) >= 2
    assert "\x1b" not in result.out  # no escape sequences into a pipe
    assert any("channels 0," not in frame for frame in frames[1:])  # the load's calls show up


def test_on_a_terminal_it_redraws_in_place_and_gives_the_screen_back() -> None:
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "amiproto_transports", "top", "--duration", "1", "--interval", "0.3"],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=20,
            env=subprocess_env(COLUMNS="90", LINES="20"),
            check=False,
        )
        os.close(follower)
        follower = -1
        assert process.returncode == 0, process.stderr
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    text = screen.decode()
    assert text.startswith("\x1b[?1049h")  # the alternate screen, so the shell's comes back
    assert text.rstrip().endswith("\x1b[?1049l")
    assert text.count("\x1b[H") >= 2  # each refresh starts at the top-left corner
    frame = text.split("\x1b[H")[1]
    assert len(frame.split("\r\n")) <= 21  # cut to the terminal's 20 lines


def test_a_refused_connection_is_one_line(cli: Runner) -> None:
    result = cli("top", "--once", "--host", "127.0.0.1", "--port", "1", "--secret", "x", "--timeout", "2")
    assert result.code == 2
    assert_one_line_error(result.err, "127.0.0.1")


def test_bad_options_are_usage_errors(cli: Runner) -> None:
    assert cli("top", "--calls-per-second", "0").code == 2
    assert cli("top", "--interval", "-1").code == 2
