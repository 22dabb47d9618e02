"""The jittered exponential delay between reconnect attempts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial * factor**n`` capped at ``maximum``, each scaled by a
    random factor in ``[1 - jitter, 1]`` so that many clients do not return in step.
    ``attempts`` None means retry for ever."""

    initial: float = 0.1
    maximum: float = 10.0
    factor: float = 2.0
    jitter: float = 0.5
    attempts: int | None = None

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The delays before each attempt, in order (endless when ``attempts`` is None)."""
        uniform = (rng or random.Random()).uniform
        n = 0
        while self.attempts is None or n < self.attempts:
            base = min(self.maximum, self.initial * self.factor**n)
            yield base * uniform(1.0 - self.jitter, 1.0)
            n += 1
