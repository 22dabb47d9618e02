"""``amiproto demo`` and the command's entry points."""

from __future__ import annotations

import importlib.util
import re

from amiproto import _accel

from .conftest import Runner, run_module


def test_demo_runs_end_to_end_in_a_subprocess() -> None:
    process = run_module("demo", timeout=30)
    assert process.returncode == 0, process.stderr
    out = process.stdout
    assert "\x1b[" not in out  # piped: plain
    assert "Traceback" not in process.stderr
    assert re.search(r"embedded Asterisk simulator on 127\.0\.0\.1:\d+", out)
    assert "MD5" in out
    # Live events, the list, the Command output, then the summary.
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3}  Newchannel ", out, re.MULTILINE)
    assert "CoreShowChannels: 6 channels" in out
    assert "3 active calls" in out
    summary = out[out.index("Summary:") :]
    assert re.search(r"^\s+Hangup\s+6$", summary, re.MULTILINE)
    for action in ("Challenge + Login (MD5)", "Originate #3", "CoreShowChannels", "Command", "Ping"):
        assert re.search(rf"^\s+{re.escape(action)}\s+success.*\d ms$", summary, re.MULTILINE), action


def test_demo_quiet_with_one_call(cli: Runner) -> None:
    result = cli("demo", "--quiet", "--calls", "1")
    assert result.code == 0
    assert "Newchannel " not in result.out.split("Summary:")[0]  # no live view
    assert re.search(r"^\s+Newchannel\s+2$", result.out, re.MULTILINE)
    assert "Originate #2" not in result.out


def test_usage_errors_and_help(cli: Runner) -> None:
    assert cli("demo", "--calls", "0").code == 2
    assert cli().code == 2
    assert cli("nosuchcommand").code == 2
    helped = cli("--help")
    assert helped.code == 0
    for command in ("demo", "events", "action", "simulate", "record", "replay", "bench"):
        assert command in helped.out


def test_python_dash_m_version() -> None:
    process = run_module("--version", AMIPROTO_PURE_PYTHON="")
    assert process.returncode == 0
    assert process.stdout.startswith("amiproto ")
    built = all(importlib.util.find_spec(twin.c_module) for twin in _accel.TWINS)
    assert ("(C speedups: in use)" in process.stdout) == built, process.stdout


def test_version_says_when_the_speedups_are_off() -> None:
    process = run_module("--version", AMIPROTO_PURE_PYTHON="1")
    assert process.returncode == 0
    assert "(C speedups: off (AMIPROTO_PURE_PYTHON))" in process.stdout
