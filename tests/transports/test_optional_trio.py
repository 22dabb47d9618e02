"""``amiproto_transports.trio`` without trio installed says what to install."""

from __future__ import annotations

import subprocess
import sys

# ``sys.modules["trio"] = None`` makes ``import trio`` fail as if it were not installed.
MISSING_TRIO = """
import sys
sys.modules["trio"] = None
try:
    import amiproto_transports.trio
except ModuleNotFoundError as error:
    print(f"{error.name}|{error}")
else:
    print("imported")
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


def test_importing_the_trio_client_without_trio_names_the_extra() -> None:
    result = run(MISSING_TRIO)
    assert result.returncode == 0, result.stderr
    name, _, message = result.stdout.strip().partition("|")
    assert name == "trio"
    assert "pip install amiproto[trio]" in message


def test_the_other_clients_import_without_trio() -> None:
    without_trio = "import sys; sys.modules['trio'] = None"
    result = run(f"{without_trio}; import amiproto_transports.sync, amiproto_transports.asyncio")
    assert result.returncode == 0, result.stderr
