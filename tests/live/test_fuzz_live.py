"""The live model's fuzz invariants on a few mutated recordings (``fuzz/fuzz_live.py``
runs many): apply never raises, and C and pure Python agree."""

from __future__ import annotations

import random

import pytest
from fuzz.fuzz_live import check, mutate_message, mutated_stream, recording_messages

MESSAGES = recording_messages()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(3))
def test_mutated_recordings_apply_alike_in_c_and_python(seed: int) -> None:
    stream = mutated_stream(random.Random(seed), MESSAGES)
    assert stream != b"\r\n\r\n".join(MESSAGES)
    check(stream)


def test_mutations_change_messages() -> None:
    rng = random.Random(1)
    message = MESSAGES[100]
    assert sum(mutate_message(rng, message) != message for _ in range(20)) >= 15
