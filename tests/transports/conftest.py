"""Fixtures for the client conformance suite: one suite, three clients, the real simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
