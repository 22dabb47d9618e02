"""``benchmarks/bench_live.py`` runs and reports its figure (no speed is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

from ..conftest import ROOT


def test_the_live_benchmark_runs_and_prints_the_ratio_beside_the_goal() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_live.py"), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "model on / core alone:" in done.stdout and "goal >= 0.5x" in done.stdout
    assert "0 channels, 0 bridges, 0 calls" in done.stdout
