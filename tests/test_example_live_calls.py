"""The live-model example follows calls on a simulator with call traffic."""

from __future__ import annotations

import subprocess
import sys

from amiproto_transports.simulator import Simulator

from .conftest import ROOT


def test_live_calls_reports_calls_starting_being_answered_and_ending() -> None:
    with Simulator(calls_per_second=5).running() as (host, port):
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "live_calls.py"),
                f"{host}:{port}",
                "--user",
                "admin",
                "--secret",
                "wordpass",
                "--count",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "calls up at login" in lines[0]
    assert len(lines) == 31
    said = " ".join(lines[1:])
    assert " started" in said and " answered" in said and " ended after " in said
