"""``amiproto bench``: the table, JSON, progress, and the shared workloads."""

from __future__ import annotations

import io
import json

from amiproto_transports import benchmark
from amiproto_transports.cli._output import Progress

from .conftest import Runner


def test_json_rows(cli: Runner) -> None:
    result = cli("bench", "--repeat", "1", "--json")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [row["run"] for row in rows] == list(benchmark.workloads(b"").keys())
    assert rows[0]["vs_baseline"] == 1.0
    # Every message of the recording is seen: the baseline and the core agree.
    assert rows[0]["messages"] == rows[1]["messages"] == rows[2]["messages"] > 8000
    assert all(row["messages_per_second"] > 0 for row in rows)


def test_table(cli: Runner) -> None:
    result = cli("bench", "--quick")
    assert result.code == 0
    assert "best of 1" in result.out.splitlines()[0]
    assert result.out.splitlines()[1].split() == ["run", "msg/s", "MB/s", "x", "baseline"]


def test_routing_counts_only_events_and_full_counts_every_message() -> None:
    data = benchmark.load()
    chunks = benchmark.chunks_of(data, 65536)
    events = benchmark.core_routing(chunks)
    messages = benchmark.core_full(chunks)
    # The naive split reads the banner and the first message as one block; the core
    # gives the banner as a Greeting: the counts agree.
    assert messages == benchmark.naive(data)
    assert 0 < events < messages


def test_progress_is_shown_for_long_runs() -> None:
    stream = io.StringIO()
    runs = {benchmark.BASELINE: lambda: 1, "other": lambda: 2}
    with Progress("bench", stream, delay=0) as progress:
        best = benchmark.interleaved_best(2, runs, progress.update)
    assert best["other"][1] == 2
    assert "bench [" in stream.getvalue()


def test_bad_repeat(cli: Runner) -> None:
    assert cli("bench", "--repeat", "0").code == 2


def test_paired_ratios_are_medians_of_each_rounds_ratio() -> None:
    rounds = {
        benchmark.BASELINE: [(1.0, 5), (2.0, 5), (4.0, 5)],
        "twice as fast, then slower": [(0.5, 5), (1.0, 5), (8.0, 5)],
    }
    ratios = benchmark.paired_ratios(rounds, benchmark.BASELINE)
    assert ratios == {benchmark.BASELINE: 1.0, "twice as fast, then slower": 2.0}


def test_rounds_take_turns_in_both_orders() -> None:
    order: list[str] = []

    def run(label: str, count: int) -> int:
        order.append(label)
        return count

    runs = {"a": lambda: run("a", 1), "b": lambda: run("b", 2)}
    rounds = benchmark.interleaved_rounds(3, runs)
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert [count for _, count in rounds["b"]] == [2, 2, 2]
