"""Shared test fixtures: where the shared recordings are, and hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from amiproto import _accel

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RECORDINGS = SHARED / "recordings"
SAMPLES = SHARED / "ami-samples"
DATA = ROOT / "tests" / "data"

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def needs_shared(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent")


@pytest.fixture(scope="module", params=["c", "python"])
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's tests with the C speedups, then in pure Python."""
    if request.param == "c" and _accel.speedups is None:
        pytest.skip("the C speedups are not built")
    _accel.use_speedups(request.param == "c")
    try:
        yield request.param
    finally:
        _accel.use_speedups(True)
