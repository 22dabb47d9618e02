"""The documentation site: every snippet in docs/ runs, the site builds with ``--strict``,
and the catalogue's reference has a page for every action and event.

Python snippets run in a subprocess against a simulator on loopback: ``5038`` in a
snippet is the simulator's port (``5039`` a TLS port in front of it), and ``AMI_HOST``,
``AMI_PORT``, ``AMI_USERNAME`` and ``AMI_SECRET`` name it too. A comment after a
``print()`` says what it prints, and is checked. Shell lines run the same way.

A comment on the line before a fence changes how it runs:
``<!-- snippet: not run: WHY -->`` (kept few), ``<!-- snippet: needs MODULE -->``
(skipped without it: the other libraries of the migration pages),
``<!-- snippet: pytest -->`` (a test module: pytest runs it),
``<!-- snippet: tls -->`` (a TLS port and its CA as ``ami-ca.pem`` in the working
directory), ``<!-- snippet: calls -->`` (the simulator makes calls), and for a shell
line ``<!-- snippet: serves -->`` (a server: it must print a line, then it is stopped).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import selectors
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

import amiproto
from amiproto import actions, events
from amiproto_transports.simulator import Simulator

from .conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DOCS = ROOT / "docs"
# Languages a fence may have: code that runs, and text that is shown (output, config files).
RUN = {"python", "sh"}
SHOWN = {"text", "ini", "toml"}
MAX_NOT_RUN = 3

_FENCE = re.compile(
    r"(?:<!-- snippet: (?P<marker>[^>]*?) -->\n(?:[ \t]*\n)?)?"
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
    flags=re.M | re.S,
)
# A comment after a print() in a snippet shows what it prints.
PROMISED_OUTPUT = re.compile(r"^\s*print\(.*\)\s+#\s*(.+)$", flags=re.M)


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    language: str
    code: str
    marker: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            indent = match.group("indent")
            code = "".join(
                line.removeprefix(indent) for line in match.group("code").splitlines(keepends=True)
            )
            line = text.count("\n", 0, match.start("indent")) + 1
            marker = (match.group("marker") or "").strip()
            found.append(Snippet(str(path.relative_to(DOCS)), line, match.group("lang"), code, marker))
    return found


SNIPPETS = snippets()
PYTHON = [s for s in SNIPPETS if s.language == "python"]
SHELL = [
    Snippet(s.page, s.line + i + 1, "sh", line, s.marker)
    for s in SNIPPETS
    if s.language == "sh"
    for i, line in enumerate(s.code.splitlines())
    if line.strip() and not line.startswith("#")
]


def _load_site_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_site", ROOT / "tools" / "docs_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SITE = _load_site_hook()


def env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "NO_COLOR": "1",
        "AMI_HOST": "127.0.0.1",
        "AMI_PORT": str(port),
        "AMI_USERNAME": "admin",
        "AMI_SECRET": "wordpass",
    }


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the file of the CA that signed it."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path_factory.mktemp("tls") / "ami-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def _needs(marker: str) -> None:
    if marker.startswith("not run:"):
        pytest.skip(f"marked not run:{marker.removeprefix('not run:')}")
    if marker.startswith("needs "):
        pytest.importorskip(marker.removeprefix("needs "), reason=f"the snippet shows {marker[6:]}")


def test_snippets_are_found_and_known() -> None:
    assert len(PYTHON) >= 30
    for snippet in SNIPPETS:
        assert snippet.language in RUN | SHOWN, (
            f"{snippet.id}: a ```{snippet.language} fence is neither run nor shown"
        )
    known = re.compile(r"not run: .+|needs \w+|tls|calls|pytest|serves|")
    for snippet in SNIPPETS:
        assert known.fullmatch(snippet.marker), f"{snippet.id}: unknown marker {snippet.marker!r}"
    not_run = [s.id for s in SNIPPETS if s.marker.startswith("not run:")]
    assert len(not_run) <= MAX_NOT_RUN, f"keep the snippets that do not run few: {not_run}"


def test_python_snippets_compile() -> None:
    # Even those not run here (other libraries absent): a typo fails in every environment.
    for snippet in PYTHON:
        compile(snippet.code, snippet.id, "exec")


@pytest.mark.parametrize("snippet", PYTHON, ids=[s.id for s in PYTHON])
def test_python_snippet_runs(snippet: Snippet, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _needs(snippet.marker)
    with _servers(snippet, request) as (port, tls_port):
        # One pass: a port the system gave that holds 5039 (35039) must not be replaced again.
        ports = {"5038": str(port), "5039": str(tls_port)}
        code = re.sub(r"\b503[89]\b", lambda found: ports[found.group()], snippet.code)
        argv = [sys.executable, "-c", code]
        if snippet.marker == "pytest":
            (tmp_path / "test_snippet.py").write_text(code, encoding="utf-8")
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_snippet.py"]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env(port), check=False
        )
    assert done.returncode == 0, done.stderr + done.stdout
    if snippet.marker == "pytest":
        assert " passed" in done.stdout and " failed" not in done.stdout
    for promised in PROMISED_OUTPUT.findall(code):
        assert promised in done.stdout, f"the docs say {promised!r}; the snippet printed {done.stdout!r}"


@contextlib.contextmanager
def _servers(snippet: Snippet, request: pytest.FixtureRequest) -> Iterator[tuple[int, int]]:
    """The simulator's port, and for a TLS snippet a TLS port in front of it (else 0)."""
    with Simulator(calls_per_second=20 if snippet.marker == "calls" else None).running() as (_, port):
        if snippet.marker != "tls":
            yield port, 0
            return
        from .transports.harness import tls_proxy

        context, ca_file = request.getfixturevalue("tls_context")
        shutil.copy(ca_file, request.getfixturevalue("tmp_path") / "ami-ca.pem")
        with tls_proxy(("127.0.0.1", port), context) as (_, tls_port):
            yield port, tls_port


def test_most_python_snippets_promise_their_output() -> None:
    promising = sum(bool(PROMISED_OUTPUT.search(s.code)) for s in PYTHON)
    assert promising >= len(PYTHON) * 2 // 3


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Shell lines that are not run here, and why that is enough.
NOT_RUN_LINES = {
    "mkdocs serve": "serves until stopped; test_site_builds_strictly builds the same site",
    "mkdocs build --strict": "test_site_builds_strictly runs it",
    "python -m pytest": "this is the test run",
}


@pytest.mark.parametrize("snippet", SHELL, ids=[s.id for s in SHELL])
def test_shell_line_runs(snippet: Snippet, tmp_path: Path) -> None:
    _needs(snippet.marker)
    line = snippet.code.strip()
    if line in NOT_RUN_LINES:
        return
    argv = shlex.split(line)
    if argv[:2] == ["pip", "install"]:
        # From the index or this checkout: checked to name this project and its extras, never run.
        target, _, extras = argv[-1].partition("[")
        assert target in ("amiproto", "."), f"{line}: installs something else"
        for extra in extras.rstrip("]").split(",") if extras else []:
            assert extra in PYPROJECT["project"]["optional-dependencies"], f"{line}: no extra {extra!r}"
        return
    if argv[0] == "amiproto":
        argv = [sys.executable, "-m", "amiproto_transports", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    else:
        pytest.fail(f"{snippet.id}: add a rule to run {argv[0]!r}")
    with Simulator(calls_per_second=20).running() as (_, port):
        argv = [arg.replace("5038", str(port)) for arg in argv]
        if snippet.marker == "serves":
            _serves(argv, port, tmp_path)
            return
        # In a directory of its own: a command may write files (a recording).
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env(port), check=False
        )
    assert done.returncode == 0, f"{line}: {done.stderr}"
    assert done.stdout.strip()


def _serves(argv: list[str], port: int, tmp_path: Path) -> None:
    """A command that serves until stopped: within 10 s it must print a line, and it must
    stop on SIGINT without a traceback."""
    argv = [arg.replace(str(port), "0") for arg in argv]  # its own free port
    with (tmp_path / "stderr").open("w+", encoding="utf-8") as stderr:
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env(port)) as proc:
            assert proc.stdout is not None
            try:
                with selectors.DefaultSelector() as selector:
                    selector.register(proc.stdout, selectors.EVENT_READ)
                    ready = selector.select(timeout=10)
                first = proc.stdout.readline() if ready else ""
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)
        stderr.seek(0)
        errors = stderr.read()
    assert first.strip(), f"nothing printed within 10 s: {errors}"
    assert "Traceback" not in errors, errors


# -- the generated reference ------------------------------------------------------------


def test_every_action_and_event_has_a_generated_page() -> None:
    pages = SITE.reference_pages()
    for name, builder in actions.ACTION_BUILDERS.items():
        page = pages[f"{SITE.ACTIONS_DIR}/{name}.md"]
        assert f"`amiproto.actions.{builder.__name__}`" in page
        assert f"[{name}]({name}.md)" in pages[f"{SITE.ACTIONS_DIR}/index.md"]
    for name, cls in events.EVENT_CLASSES_BY_NAME.items():
        documented_name = cls.event_name
        assert documented_name is not None
        page = pages[f"{SITE.EVENTS_DIR}/{documented_name}.md"]
        assert f"`amiproto.events.{cls.__name__}`" in page
        if name != documented_name:  # an alias: named on its class's page
            assert f"`{name}`" in page
        for field in cls.fields.values():
            assert f"`{field.header}`" in page


def test_every_action_page_example_builds_its_action() -> None:
    example = re.compile(r"^```python\n(amiproto\.actions\.\w+\(.*\))\n```$", flags=re.M)
    for path, page in SITE.reference_pages().items():
        if path.startswith(SITE.ACTIONS_DIR) and not path.endswith("index.md"):
            call = example.search(page)
            assert call is not None, path
            built = eval(call.group(1), {"amiproto": amiproto})  # a literal call, made by the hook
            assert isinstance(built, amiproto.Action)


def test_every_insert_in_the_pages_expands() -> None:
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        expanded = SITE.expand_inserts(text)
        assert "<!-- insert:" not in expanded, path


def test_the_limits_page_names_every_documented_limit() -> None:
    text = SITE.expand_inserts("<!-- insert: limits -->")
    for name in ("DEFAULT_MAX_MESSAGE_SIZE", "DEFAULT_MAX_BUFFER_SIZE", "DEFAULT_MAX_LIST_EVENTS"):
        assert f"`{name}`" in text
    for name in ("DEFAULT_QUEUE_SIZE", "SEND_HIGH_WATER", "CLOSE_GRACE", "max_output", "auth_timeout"):
        assert f"`{name}`" in text


# -- the site ---------------------------------------------------------------------------

BUILDERS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [name for name in BUILDERS if importlib.util.find_spec(name.split(".")[0]) is None]
    if missing or importlib.util.find_spec("mkdocstrings_handlers.python") is None:
        pytest.skip(f"the docs extra is not installed (pip install -e '.[docs]'): missing {missing}")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**env(5038), "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_site_builds_strictly(site: Path) -> None:
    assert (site / "index.html").exists()
    assert (site / "assets" / "chart.png").exists()
    changelog = (site / "changelog" / "index.html").read_text(encoding="utf-8")
    assert "Unreleased" in changelog


def test_site_has_a_page_for_every_action_and_event(site: Path) -> None:
    for name in actions.ACTION_BUILDERS:
        assert (site / SITE.ACTIONS_DIR / name / "index.html").exists(), name
    for cls in set(events.EVENT_CLASSES_BY_NAME.values()):
        assert (site / SITE.EVENTS_DIR / str(cls.event_name) / "index.html").exists(), cls.event_name


def test_api_pages_render_the_public_names(site: Path) -> None:
    core = (site / "api" / "core" / "index.html").read_text(encoding="utf-8")
    for name in ("Connection", "receive_data", "next_event", "ActionCompleted", "RemoteProtocolError"):
        assert name in core
    clients = (site / "api" / "clients" / "index.html").read_text(encoding="utf-8")
    for name in ("send_action", "register_callback", "wait_closed", "Backoff"):
        assert name in clients
