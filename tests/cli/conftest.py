"""Fixtures for the ``amiproto`` command's tests: a simulator, and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from amiproto_transports.cli import main
from amiproto_transports.simulator import Simulator


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]

# What the user's own shell may set that would point the CLI elsewhere.
CLEARED = ("AMI_HOST", "AMI_PORT", "AMI_USERNAME", "AMI_SECRET", "AMIPROTO_CONFIG", "NO_COLOR")


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, list[str]]]:
    """A running simulator and the connection options that name it."""
    simulator = Simulator()
    with simulator.running() as (host, port):
        yield simulator, ["--host", host, "--port", str(port), "--secret", "wordpass", "--timeout", "5"]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """Run ``main(argv)`` in-process; returns a ``Result``. The AMI_* settings and NO_COLOR are cleared."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> Result:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(extra)
    return env


def run_module(*argv: str, timeout: float = 20, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m amiproto_transports ARGV`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "amiproto_transports", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=subprocess_env(**env),
        check=False,
    )


def assert_one_line_error(err: str, *fragments: str) -> None:
    """A user error: one line on stderr (after any notes), no traceback, naming the problem."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("amiproto: error:")]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], err
