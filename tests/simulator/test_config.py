"""Users from a ``manager.conf``: what is read, and what is refused with its line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from amiproto_transports.simulator import ManagerConfError, Simulator
from amiproto_transports.simulator._config import ALL_CLASSES, load_manager_conf, parse_manager_conf

from ..conftest import RECORDINGS, needs_shared


def test_sections_with_a_secret_are_users_and_general_is_not() -> None:
    users = parse_manager_conf(
        "[general]\nenabled = yes\nsecret = not-a-user\n"
        "; a comment\n[bob] ; trailing comment\nsecret => s3\nread = call, system\nwrite =\n"
        "[nosecret]\nread = all\n"
    )
    assert list(users) == ["bob"]
    bob = users["bob"]
    assert (bob.secret, bob.read, bob.write) == ("s3", frozenset({"call", "system"}), frozenset())


@needs_shared(RECORDINGS)
def test_the_recorded_servers_manager_conf() -> None:
    users = load_manager_conf(RECORDINGS / "asterisk-config" / "manager.conf")
    assert sorted(users) == ["admin", "readonly"]
    assert users["admin"].write >= ALL_CLASSES
    assert users["readonly"].write == frozenset()


@pytest.mark.parametrize("line", ["[bad", "[", "  [admin ; ] only in the comment"])
def test_a_section_header_without_its_bracket_is_an_error_naming_the_line(line: str) -> None:
    text = f"[general]\nenabled = yes\n\n{line}\nsecret = x\n"
    with pytest.raises(ManagerConfError, match=r"^manager\.conf line 4: no closing '\]'"):
        parse_manager_conf(text)


def test_the_error_names_the_file_and_reaches_the_simulator(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[admin]\nsecret = x\n[bad\n")
    with pytest.raises(ManagerConfError, match=rf"^{conf} line 3: .*'\[bad'"):
        Simulator(manager_conf=conf)
    assert isinstance(ManagerConfError("x"), ValueError)


def test_a_setting_before_any_section_is_an_error_naming_the_line() -> None:
    with pytest.raises(ManagerConfError, match=r"^manager\.conf line 2: no category for 'secret = x'"):
        parse_manager_conf("; users\nsecret = x\n[admin]\nsecret = y\n")
