"""The one switch between the C speedups and pure Python, for both packages."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from amiproto import _accel

from .conftest import ROOT

# Import every module of the table, so the switch has something to switch.
for _twin in _accel.TWINS:
    importlib.import_module(_twin.module)

C_MODULES = sorted({twin.c_module for twin in _accel.TWINS})


def slots() -> dict[str, object]:
    return {
        f"{twin.module}.{twin.slot}": getattr(sys.modules[twin.module], twin.slot) for twin in _accel.TWINS
    }


@pytest.fixture
def restore() -> Iterator[None]:
    enabled = _accel.speedups_enabled()
    yield
    _accel.use_speedups(enabled)


def built(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("c_module", C_MODULES)
def test_the_table_names_every_c_function_once(c_module: str) -> None:
    if not built(c_module):
        pytest.skip(f"{c_module} is not built")
    module = importlib.import_module(c_module)
    functions = {name for name in dir(module) if not name.startswith("_") and callable(getattr(module, name))}
    listed = [twin.c_name for twin in _accel.TWINS if twin.c_module == c_module]
    assert sorted(listed) == sorted(functions)


def test_one_call_switches_the_core_and_the_clients(restore: None) -> None:
    _accel.use_speedups(False)
    assert not _accel.speedups_enabled()
    assert set(slots().values()) == {None}
    _accel.use_speedups(True)
    for twin in _accel.TWINS:
        value = getattr(sys.modules[twin.module], twin.slot)
        if built(twin.c_module):
            assert value is getattr(importlib.import_module(twin.c_module), twin.c_name), twin
        else:
            assert value is None


def test_a_module_imported_after_the_switch_follows_it(restore: None) -> None:
    # A module fills its slot with c_function() when it is imported.
    _accel.use_speedups(False)
    assert {_accel.c_function(twin.module, twin.slot) for twin in _accel.TWINS} == {None}
    _accel.use_speedups(True)
    for twin in _accel.TWINS:
        assert (_accel.c_function(twin.module, twin.slot) is not None) == built(twin.c_module)


@pytest.mark.parametrize("value", ["1", ""])
def test_one_environment_variable_chooses_for_both_packages(value: str) -> None:
    code = (
        "import json, sys; from amiproto import _accel\n"
        "import amiproto.live, amiproto_transports.sync, amiproto_transports.asyncio\n"
        "print(json.dumps({f'{t.module}.{t.slot}': getattr(sys.modules[t.module], t.slot) is not None"
        " for t in _accel.TWINS}))"
    )
    env = {**os.environ, "AMIPROTO_PURE_PYTHON": value}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    chosen = json.loads(result.stdout)
    assert set(chosen) == {f"{twin.module}.{twin.slot}" for twin in _accel.TWINS}
    if value:
        assert not any(chosen.values())
    else:
        expected = {f"{twin.module}.{twin.slot}": built(twin.c_module) for twin in _accel.TWINS}
        assert chosen == expected


def test_the_switch_rebuilds_what_modules_made_of_their_slots(restore: None) -> None:
    """Message.headers and .action_id are properties made of the chosen getters."""
    from amiproto._messages import Message

    message = Message(b"Event: A\r\nActionID: 7\r\n\r\n")
    _accel.use_speedups(False)
    assert Message.headers.fget is Message._python_headers  # type: ignore[attr-defined]
    assert Message.action_id.fget is Message._python_action_id  # type: ignore[attr-defined]
    assert type(message.headers._values) is list and message.action_id == "7"
    _accel.use_speedups(True)
    if built("amiproto._speedups"):
        assert type(Message.headers.fget).__name__ == "builtin_function_or_method"  # type: ignore[attr-defined]
        assert type(Message(message.raw).headers._values).__name__ == "HeaderValues"
    assert Message(message.raw).headers == message.headers and Message(message.raw).action_id == "7"
