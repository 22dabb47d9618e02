"""benchmarks/run.py's machinery: the other libraries' reading paths, and runs in seconds.

The other libraries come with the bench extra; a test of one that is not installed
is skipped, and the runs below then check that it is reported as missing. No test
here asserts anything about speed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from amiproto_transports.benchmark import chunks_of, core_full, load

from .conftest import ROOT

BENCHMARKS = str(ROOT / "benchmarks")
if BENCHMARKS not in sys.path:  # where run.py finds versus and bench_clients
    sys.path.insert(0, BENCHMARKS)

from bench_clients import simulator  # noqa: E402
from versus import in_memory, suite  # noqa: E402
from versus.peer_readers import PEERS, Keep, Peer, Segments, TimeBoxExceeded  # noqa: E402
from versus.results import Section, format_table  # noqa: E402
from versus.rounds import counted, describe, interleaved, paired_ratio  # noqa: E402
from versus.settings import SMOKE  # noqa: E402

SLICE = in_memory.recording_slice(load(), 300)


def installed(peer: Peer) -> Peer:
    reason = peer.missing()
    if reason is not None:
        pytest.skip(f"{peer.name}: {reason}")
    return peer


@pytest.mark.parametrize("segment", [4096, 1448, 7])
@pytest.mark.parametrize("peer", PEERS, ids=[peer.name for peer in PEERS])
def test_each_library_reads_as_many_messages_as_the_core(peer: Peer, segment: int) -> None:
    segments = chunks_of(SLICE, segment)
    kept: list[object] = []
    installed(peer).run(segments, kept.append)
    assert core_full(segments) == 300
    assert len(kept) == 300


@pytest.mark.parametrize("peer", PEERS, ids=[peer.name for peer in PEERS])
def test_each_library_stops_at_its_deadline(peer: Peer) -> None:
    with pytest.raises(TimeBoxExceeded) as stopped:
        installed(peer).run(chunks_of(SLICE, 4096), lambda message: None, deadline=time.perf_counter() - 1)
    assert stopped.value.fed == 0
    assert stopped.value.total == len(SLICE)


def test_segments_are_handed_over_as_a_socket_would() -> None:
    source = Segments([b"abcdef", b"gh"])
    assert [source.take(4) for _ in range(4)] == [b"abcd", b"ef", b"gh", b""]
    assert source.fed == source.total == 8
    assert not source.timed_out


def test_rounds_pair_ratios_and_drop_a_failing_run() -> None:
    assert paired_ratio([1.0, 2.0, 4.0], [2.0, 2.0, 2.0]) == 1.0
    assert paired_ratio([1.0], []) is None
    calls: list[str] = []

    def flaky() -> float:
        calls.append("flaky")
        raise OSError("gone")

    failures: dict[str, str] = {}
    times = interleaved(3, {"steady": lambda: 1.0, "flaky": flaky}, failures)
    assert times == {"steady": [1.0, 1.0, 1.0], "flaky": []}
    assert failures == {"flaky": "OSError: gone"} and calls == ["flaky"]
    with pytest.raises(ValueError, match="returned 2 events, where the core returns 3"):
        counted(lambda: 2, 3, "events")()
    assert describe(RuntimeError()) == "RuntimeError"


def _sleepy(per_segment: float) -> Callable[[Segments, Keep], None]:
    """A library that takes ``per_segment`` seconds a segment and makes one message."""

    def read(source: Segments, keep: Keep) -> None:
        while source.take(1 << 20):
            time.sleep(per_segment)
        keep(object())

    return read


def test_a_slow_library_is_stopped_and_its_growth_still_estimated() -> None:
    # 16 KiB is 12 segments (0.12 s here), 64 KiB 46 (0.46 s): the box stops the second only.
    slow = Peer("slow-library", "json", _sleepy(0.01))
    section = in_memory.large_message((16 << 10, 64 << 10), 1, 0.25, [slow])
    row = next(row for row in section.rows if row.name.startswith("slow-library"))
    assert row.failure is None
    assert "small_ms" in row.cells and "large_ms" not in row.cells
    assert "stopped at" in row.note and row.cells["exponent"] is not None


def _nothing(source: Segments, keep: Keep) -> None:
    """A library that reads every byte and never makes a message."""
    while source.take(4096):
        pass


def _broken(source: Segments, keep: Keep) -> None:
    raise RuntimeError("cannot parse this")


def test_a_tiny_run_reports_every_library_and_writes_its_files(tmp_path: Path) -> None:
    missing = Peer("no-such-library", "no_such_module_for_amiproto_tests", _broken)
    broken = Peer("broken-library", "json", _broken)
    silent = Peer("silent-library", "json", _nothing)
    report = suite.benchmark(SMOKE, peers=(*PEERS, missing, broken, silent))
    sections = {section.key: section for section in report.sections}
    assert list(sections) == ["parsers", "memory", "large", "events", "pings"]
    for section in report.sections:
        assert section.rows, section.notes  # no table failed whole
        assert format_table(section)

    def failure(section: Section, name: str) -> str:
        found = next(row for row in section.rows if row.name.startswith(name)).failure
        assert found is not None, f"{section.key}: {name} did not fail"
        return found

    for key in ("parsers", "memory", "large"):
        section = sections[key]
        assert failure(section, "no-such-library").startswith("not installed")
        assert "RuntimeError: cannot parse this" in failure(section, "broken-library")
        assert "returned 0 messages, where the core returns" in failure(section, "silent-library")
    for peer in PEERS:
        rows = [row for row in sections["parsers"].rows if row.name.split()[0] == peer.name]
        assert len(rows) == 1
        if peer.missing() is None:
            assert rows[0].failure is None and (rows[0].cells["rate"] or 0) > 0  # the core's count
        else:
            assert failure(sections["parsers"], peer.name).startswith("not installed")
    assert sections["parsers"].row(in_memory.CORE_PY).cells["x_naive"] is not None
    for key in ("events", "pings"):
        ours = [row for row in sections[key].rows if row.name.startswith("amiproto")]
        assert len(ours) == 3
        assert all(row.failure is None and (row.cells["rate"] or 0) > 0 for row in ours)

    folder = tmp_path
    written = suite.write(report, folder)
    saved = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert [section["key"] for section in saved["sections"]] == list(sections)
    assert saved["command"] == "python benchmarks/run.py" and saved["machine"]
    assert "| amiproto core, pure Python: all headers |" in (folder / "tables.md").read_text(encoding="utf-8")
    chart = folder / "chart.png"
    assert (chart in written) == (chart.exists())
    if chart.exists():
        assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.timeout(30)
def test_a_simulator_that_fails_to_start_stops_the_benchmark_at_once() -> None:
    with pytest.raises(RuntimeError, match="ended at start"), simulator(None, "--no-such-option"):
        pass
