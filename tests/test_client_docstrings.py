"""Each client module's docstring starts with how to use it, and that example runs."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap

import pytest

from amiproto_transports.simulator import Simulator

from .conftest import ROOT

MODULES = ["amiproto_transports.sync", "amiproto_transports.asyncio", "amiproto_transports.trio"]


def usage_example(module: str) -> str:
    doc = importlib.import_module(module).__doc__ or ""
    found = re.search(r"\nUse::\n\n(.*?)\n(?=\S)", doc, flags=re.S)
    assert found, f"{module}'s docstring has no 'Use::' example"
    # The example comes before anything about how the module works inside.
    assert doc.index("Use::") < doc.index("How it works"), module
    return textwrap.dedent(found.group(1))


@pytest.mark.parametrize("module", MODULES)
def test_the_usage_example_runs(module: str) -> None:
    code = usage_example(module)
    assert f"from {module} import connect" in code
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with Simulator().running(port=0) as (_, port):
        done = subprocess.run(
            [sys.executable, "-c", code.replace("5038", str(port))],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True "), done.stdout
