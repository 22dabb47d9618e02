"""``amiproto bench``: the table, JSON, and both sources of workloads."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from amiproto_transports.cli._bench import DATA_FILE, find_bench_core, measure, workloads
from amiproto_transports.cli._output import Progress

from ..conftest import ROOT
from .conftest import Runner

HAS_BENCHMARKS = (ROOT / "benchmarks" / "bench_core.py").is_file()


def test_builtin_workloads_json(cli: Runner) -> None:
    result = cli("bench", "--repeat", "1", "--builtin", "--json")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert rows[0]["run"] == "naive baseline (split/partition)"
    assert len(rows) == 5
    assert {row["source"] for row in rows} == {"in-package workloads"}
    assert rows[0]["vs_baseline"] == 1.0
    # Every message of the recording is seen: the baseline and the core agree.
    assert rows[0]["messages"] == rows[1]["messages"] == rows[2]["messages"] > 8000
    assert all(row["messages_per_second"] > 0 for row in rows)


@pytest.mark.skipif(not HAS_BENCHMARKS, reason="benchmarks/ is absent")
def test_in_a_checkout_the_project_benchmark_is_used(cli: Runner) -> None:
    module = find_bench_core()
    assert module is not None
    plain = gzip.decompress(DATA_FILE.read_bytes())
    ours, theirs = workloads(plain, None), workloads(plain, module)
    # Same runs, same counts, whichever source.
    assert {label: run() for label, run in ours.items()} == {label: run() for label, run in theirs.items()}
    result = cli("bench", "--quick")
    assert result.code == 0
    assert "best of 1; benchmarks/bench_core.py" in result.out.splitlines()[0]
    header = result.out.splitlines()[1].split()
    assert header == ["run", "msg/s", "MB/s", "x", "baseline"]


def test_progress_is_shown_for_long_runs() -> None:
    stream = io.StringIO()
    runs = {"naive baseline (split/partition)": lambda: 1, "other": lambda: 2}
    with Progress("bench", stream, delay=0) as progress:
        best = measure(runs, 2, progress)
    assert best["other"][1] == 2
    assert "bench [" in stream.getvalue()


def test_bad_repeat(cli: Runner) -> None:
    assert cli("bench", "--repeat", "0").code == 2
