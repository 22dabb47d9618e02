"""The selectors example watches two simulators from one thread."""

from __future__ import annotations

import subprocess
import sys

from amiproto_transports.simulator import Simulator

from .conftest import ROOT


def test_watch_many_sees_events_from_two_servers() -> None:
    first, second = Simulator(calls_per_second=20), Simulator(calls_per_second=20)
    with first.running() as (host1, port1), second.running() as (host2, port2):
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "watch_many.py"),
                f"{host1}:{port1}",
                f"{host2}:{port2}",
                "--count",
                "40",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 40
    assert any(line.startswith(f"{host1}:{port1}") for line in lines)
    assert any(line.startswith(f"{host2}:{port2}") for line in lines)
    assert any("Newchannel" in line for line in lines)
