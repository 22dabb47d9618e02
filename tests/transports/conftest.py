"""Fixtures for the client conformance suite: one suite, three clients, the real simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amiproto_transports._shared._options import ENVIRONMENT
from amiproto_transports.simulator import Simulator

KINDS = ("sync", "asyncio", "trio")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(kind: str) -> str:
    # The sync client runs under asyncio, its blocking calls in worker threads.
    return "trio" if kind == "trio" else "asyncio"


@pytest.fixture
def simulator() -> Simulator:
    return Simulator()


@pytest.fixture
def server(simulator: Simulator) -> Iterator[tuple[str, int]]:
    with simulator.running() as address:
        yield address


@pytest.fixture(autouse=True)
def no_ami_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The developer's own AMI_HOST, AMI_USERNAME ... must not reach a test's connect()."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch
