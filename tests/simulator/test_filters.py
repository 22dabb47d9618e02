"""Filters matched in linear time: the same answers as a regex engine, no blow-up, clear refusals."""

from __future__ import annotations

import random
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amiproto_transports.simulator._filters import MAX_STATES, MatchTooCostly, Meter, compile_pattern

PATTERNS = [
    "Event: Newchannel",
    "^Event: Hang",
    "Cause: 1[0-9]$",
    "(a|b)+c",
    "a{2,3}b",
    "[^0-9]x",
    "[0-9[:alpha:]]+z",
    r"\d{3}",
    r"\s\S",
    "x{",
    "colou?r",
    "(?:ab)*$",
    "a.b",
    "",
    "^$",
    "Channel: PJSIP/.*",
    "[a-c-]+$",
    r"\.\*",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=st.text(alphabet="abcxz019 .*-\r\n:EventChal", max_size=40))
def test_same_answer_as_python_re_on_the_common_syntax(pattern: str, text: str) -> None:
    # POSIX's "." matches a newline, and "$" is the end of the text only.
    python = pattern.replace("$", r"\Z").replace("[:alpha:]", "a-zA-Z")
    expected = re.search(python, text, re.DOTALL | re.ASCII) is not None
    assert compile_pattern(pattern).search(text) == expected


@pytest.mark.parametrize(
    ("pattern", "missing", "matching"),
    [
        ("(a+)+!$", "a" * 5000 + "?", "a" * 5000 + "!"),
        ("^(a|a)*$", "a" * 5000 + "!", "a" * 5000),
        (".*.*.*.*.*x", "a" * 5000, "a" * 5000 + "x"),
        ("(a*)*b", "a" * 5000, "a" * 5000 + "b"),
    ],
    ids=["nested", "overlapping", "many-stars", "nested-star"],
)
def test_catastrophic_patterns_finish(pattern: str, missing: str, matching: str) -> None:
    # Any of these misses takes a backtracking engine longer than the test's timeout.
    compiled = compile_pattern(pattern)
    assert not compiled.search(missing)
    assert compiled.search(matching)


@pytest.mark.parametrize(
    "pattern",
    ["(?=x)", "(?i)x", "(?P<n>x)", r"(a)\1", r"\b", "(a", "a)", "*a", "[a", "[z-a]", "[[:nope:]]", "\\"],
)
def test_syntax_without_a_linear_match_or_malformed_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="filter"):
        compile_pattern(pattern)


def test_size_and_nesting_are_bounded() -> None:
    with pytest.raises(ValueError, match="states"):
        compile_pattern("(a{100}){100}")
    with pytest.raises(ValueError, match="too large"):
        compile_pattern(f"a{{{MAX_STATES + 1}}}")
    with pytest.raises(ValueError, match="nested"):
        compile_pattern("(" * 100 + ")" * 100)


def _random_text(size: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ab") for _ in range(size))


def test_a_huge_counted_repeat_does_not_compile() -> None:
    with pytest.raises(ValueError, match="filter"):
        compile_pattern("a.{4000}Z")


@pytest.mark.timeout(20)
def test_a_large_pattern_runs_its_meter_out_instead_of_stalling() -> None:
    """``a.{900}Z`` costs its size per new character: over 3,000 long mailbox names one
    MWIGet held the server's thread for minutes. The searches sharing a meter stop."""
    pattern = compile_pattern("a.{900}Z")
    meter = Meter()
    started = time.monotonic()
    with pytest.raises(MatchTooCostly):
        for seed in range(3000):
            pattern.search(_random_text(1000, seed), meter)
    assert time.monotonic() - started < 5.0


def test_a_metered_search_answers_as_an_unmetered_one_within_its_budget() -> None:
    pattern = compile_pattern("a.{50}Z")
    text = _random_text(2000, 1)
    assert not pattern.search(text, Meter(10**9))
    assert not pattern.search(text)
    assert pattern.search(text + "a" + "b" * 50 + "Z")


def test_a_pattern_forgets_its_dfa_states_past_its_memory_bound_and_still_matches() -> None:
    pattern = compile_pattern("a.{300}Z")
    for seed in range(20):
        text = _random_text(400, seed)
        expected = re.search("a.{300}Z", text, re.DOTALL) is not None
        assert pattern.search(text, Meter(10**9)) == expected
    assert pattern.search("a" * 301 + "Z", Meter(10**9))
