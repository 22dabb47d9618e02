"""Every snippet in README.md and CONTRIBUTING.md runs: Python blocks against the simulator,
shell lines as commands."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from amiproto_transports.simulator import Simulator

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return [code for lang, code in re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S) if lang == language]


def shell_lines(text: str) -> list[str]:
    return [line for code in blocks(text, "sh") for line in code.splitlines() if line.strip()]


PYTHON = blocks(README, "python") + blocks(CONTRIBUTING, "python")
README_SHELL = shell_lines(README)
SHELL = README_SHELL + shell_lines(CONTRIBUTING)
CI_SCRIPT = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

# Commands CI itself runs (checked below to be in .ci/run), and one that is the
# thorough, by-hand run of tests this suite already runs with the quick profile.
RUN_BY_CI = {"pip install -e '.[dev]'", "python -m pytest", "ruff check . && ruff format --check . && mypy"}
BY_HAND = {line for line in SHELL if line.startswith("HYPOTHESIS_PROFILE=thorough ")}
# Installs from the package index: checked to name this project, never run (they would replace it).
FROM_THE_INDEX = {"pip install amiproto"}
# Smaller workloads for the long-running commands; the command itself is what is tested.
# run.py's seconds-long run writes here, not over the committed results.
RUN_PY_OUT = str(Path(tempfile.gettempdir()) / "amiproto-run-py")
QUICKER = {
    "python benchmarks/bench_core.py": ["--repeat", "1"],
    "python benchmarks/bench_clients.py": ["--runs", "1", "--pings", "400"],
    "python benchmarks/bench_actions.py": ["--rounds", "1", "--pings", "400"],
    "python fuzz/fuzz_connection.py --iterations 20000": ["--iterations", "300"],
    "python fuzz/fuzz_live.py --iterations 200 --rate 0.3": ["--iterations", "2"],
    "python benchmarks/bench_live.py": ["--rounds", "1"],
    "python benchmarks/run.py --quick": ["--smoke", "--out", RUN_PY_OUT],
    "amiproto top": ["--duration", "1"],  # it runs until Ctrl-C
}


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, check=False
    )


def test_readme_has_the_expected_snippets() -> None:
    assert len(PYTHON) >= 5
    # What a newcomer runs, first: the install, the demo, then the tests as CI runs them.
    first = ["pip install amiproto", "amiproto demo", "pip install -e '.[dev]'", "python -m pytest"]
    assert README_SHELL[:4] == first
    assert re.search(r'(?m)^name = "amiproto"$', PYPROJECT)
    assert "amiproto[trio]" in README and re.search(r"(?m)^trio = \[", PYPROJECT)


# A comment after a print() in a snippet shows what it prints.
PROMISED_OUTPUT = re.compile(r"^\s*print\(.*\)\s+#\s*(.+)$", flags=re.M)


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_snippet_runs(code: str) -> None:
    with Simulator().running(port=0) as (_, port):
        done = run([sys.executable, "-c", code.replace("5038", str(port))], timeout=60)
    assert done.returncode == 0, done.stderr
    for promised in PROMISED_OUTPUT.findall(code):
        assert promised in done.stdout, f"README says {promised!r}; the snippet printed {done.stdout!r}"


def test_most_snippets_promise_their_output() -> None:
    assert sum(bool(PROMISED_OUTPUT.search(code)) for code in PYTHON) >= len(PYTHON) - 1


@pytest.mark.parametrize("line", SHELL, ids=[f"sh-{i}" for i in range(len(SHELL))])
def test_shell_snippet_runs(line: str) -> None:
    if line in RUN_BY_CI:
        for command in line.split(" && "):
            assert command.replace("pip install", "python -m pip install --quiet") in CI_SCRIPT
        return
    if line in BY_HAND:
        pytest.skip("the thorough hypothesis profile is for runs by hand")
    if line in FROM_THE_INDEX:
        return
    argv = shlex.split(line)
    if argv[0] == "amiproto":
        script = shutil.which("amiproto")
        argv = [script, *argv[1:]] if script else [sys.executable, "-m", "amiproto_transports", *argv[1:]]
        argv += QUICKER.get(line, [])
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:], *QUICKER.get(line, [])]
    with Simulator(calls_per_second=20).running(port=0) as (_, port):
        argv = [arg.replace("5038", str(port)) for arg in argv]
        done = run(argv)
    assert done.returncode == 0, f"{line}: {done.stderr}"
    assert done.stdout.strip()
