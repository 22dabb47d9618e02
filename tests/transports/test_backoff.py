"""Backoff: the reconnect delays."""

from __future__ import annotations

import random

from amiproto_transports._shared import Backoff, Options


def test_backoff_grows_with_jitter_and_stops() -> None:
    policy = Backoff(initial=0.1, maximum=1.0, factor=2.0, jitter=0.5, attempts=6)
    delays = list(policy.delays(random.Random(1)))
    assert len(delays) == 6
    for n, delay in enumerate(delays):
        base = min(1.0, 0.1 * 2**n)
        assert base * 0.5 <= delay <= base
    assert len(set(delays)) == 6


def test_options_default_backoff() -> None:
    assert Options("h").backoff == Backoff()
