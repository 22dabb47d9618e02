"""Runs that take turns, round after round, and the ratios paired by round.

Every figure of ``run.py`` comes from here. The runs of one table take turns in
each round, so that a slow spell of a shared machine falls on all of them alike;
a ratio is the median over the rounds of the two runs' rates in the same round,
which cancels most of what the machine did between rounds. A run that raises is
dropped from the rounds that follow, and its reason is kept.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

__all__ = ["Failures", "Run", "best", "counted", "describe", "interleaved", "paired_ratio"]

Run = Callable[[], float]
"""One measurement: it does the work once and returns the seconds it took."""
Failures = dict[str, str]


def describe(error: BaseException) -> str:
    """A failure's reason in one line: the exception's type and its text."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def interleaved(rounds: int, runs: dict[str, Run], failures: Failures) -> dict[str, list[float]]:
    """Each run's seconds, one per round; a run that raises leaves its reason in ``failures``."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            if name in failures:
                continue
            gc.collect()
            try:
                times[name].append(run())
            except Exception as error:
                failures[name] = describe(error)
    return times


def counted(work: Callable[[], int], expected: int, what: str = "messages") -> Run:
    """``work`` timed, checked to return ``expected`` (what the reference returned)."""

    def run() -> float:
        started = time.perf_counter()
        count = work()
        seconds = time.perf_counter() - started
        if count != expected:
            raise ValueError(f"returned {count} {what}, where the core returns {expected}")
        return seconds

    return run


def best(times: list[float]) -> float | None:
    return min(times) if times else None


def paired_ratio(reference: list[float], other: list[float]) -> float | None:
    """The median over rounds of ``other``'s rate over ``reference``'s in the same round
    (reference seconds over other seconds); None when they share no round. A run that
    failed in a later round has fewer times: both lists start at the first round."""
    ratios = [ref / mine for ref, mine in zip(reference, other, strict=False) if mine > 0]
    return statistics.median(ratios) if ratios else None
