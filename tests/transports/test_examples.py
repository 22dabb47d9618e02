"""The examples run to the end against the simulator, and fail cleanly on bad input."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from types import ModuleType

import pytest

from amiproto_transports.simulator import Simulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.timeout(30)


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.parametrize("name", ["pystrix_port", "asyncio_example", "trio_example"])
def test_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    main = load(name).main
    with Simulator().running() as (host, port):
        assert main(["--host", host, "--port", str(port), "--duration", "0.2"]) == 0
        out = capsys.readouterr().out
        assert main(["--host", host, "--port", str(port), "--secret", "wrong", "--duration", "0.1"]) == 1
        assert "wrong" not in capsys.readouterr().err
    assert main(["--host", "127.0.0.1", "--port", str(free_port()), "--duration", "0.1"]) == 1
    if name == "pystrix_port":
        assert "Received string event: FullyBooted" in out
        assert "Received class event: FullyBooted" in out
        assert out.index("string event: FullyBooted") < out.index("class event: FullyBooted")
    elif name == "trio_example":
        assert "event: UserEvent TrioExample" in out
    else:
        assert "Ping: Pong" in out
        assert "'FullyBooted': 1" in out  # its callback was there before the login
