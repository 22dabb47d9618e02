"""The fuzz invariant, checked quickly: any bytes parse or raise RemoteProtocolError."""

from __future__ import annotations

import random

import pytest
from fuzz.fuzz_connection import check, mutate, seed_corpus
from hypothesis import given
from hypothesis import strategies as st

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")

CORPUS = seed_corpus()


@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=5))
def test_random_bytes(data: bytes, cuts: list[int]) -> None:
    check(data, cuts)


@given(st.integers(0, 2**32 - 1))
def test_mutated_samples(seed: int) -> None:
    rng = random.Random(seed)
    data = mutate(rng, rng.choice(CORPUS)[:4000])
    check(data, [rng.randint(0, len(data)) for _ in range(3)])


def test_oversized_garbage_is_refused_not_crashed() -> None:
    check(b"x" * 100_000)
    check(b"Response: Follows\r\n" + b"y\n" * 50_000)
