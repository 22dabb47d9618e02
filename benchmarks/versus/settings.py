"""How much work one run of ``run.py`` does: the full run, ``--quick`` and ``--smoke``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "SMOKE", "Settings"]


@dataclass(frozen=True)
class Settings:
    name: str
    rounds: int  # of the parser, events and round-trip tables
    messages: int | None  # the recording's first N messages, or all of it
    large_sizes: tuple[int, int]  # bytes of the one large message, small then large
    large_rounds: int
    time_box: float  # seconds one library may spend on one large message
    replays: int  # times the recording's events are replayed to each client
    pings: int  # a multiple of bench_clients.WINDOW


FULL = Settings(
    name="full",
    rounds=7,
    messages=None,
    large_sizes=(1 << 20, 4 << 20),
    large_rounds=3,
    time_box=60.0,
    replays=32,
    pings=10_000,
)
QUICK = Settings(
    name="quick",
    rounds=5,
    messages=None,
    large_sizes=(1 << 20, 4 << 20),
    large_rounds=2,
    # panoramisk and asterisk-ami take seconds on 4 MiB (quadratic): they are stopped.
    time_box=2.5,
    replays=16,
    pings=4_000,
)
# Seconds, to check the machinery (the tests and the README's check); its figures mean nothing.
SMOKE = Settings(
    name="smoke",
    rounds=1,
    messages=400,
    large_sizes=(16 << 10, 64 << 10),
    large_rounds=1,
    time_box=1.5,
    replays=1,
    pings=200,
)
