"""The config files GetConfig/ListCategories serve, and Asterisk's config syntax as the simulator reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from amiproto_transports.simulator import DEFAULT_USERS, Simulator
from amiproto_transports.simulator._calls import DIALPLAN
from amiproto_transports.simulator._conffiles import (
    CONFIG_DIR,
    EXTENSIONS_CONF,
    QUEUES_CONF,
    include_reader,
    lookup,
    served_files,
)
from amiproto_transports.simulator._config import manager_conf_text, parse_manager_conf, users_from_mapping
from amiproto_transports.simulator._confparse import (
    Category,
    ConfigSyntaxError,
    parse_config,
    select_categories,
)

from ..conftest import RECORDINGS, needs_shared

CONFIG = RECORDINGS / "asterisk-config"


def test_parse_strips_reads_arrows_and_drops_comments() -> None:
    text = (
        "; heading\n"
        "[one] ; why\n"
        "  a = 1  \n"
        "b => x=y ; note\n"
        "semi = a\\;b\n"
        ";-- a block\n[not]\nc = 3 --;\n"
        "#include other.conf\n"
        "no equals sign here\n"
        "[two](!)\n"
        "empty =\n"
        "a = again\n"
        "a = twice\n"
    )
    assert parse_config(text) == [
        Category("one", [("a", "1"), ("b", "x=y"), ("semi", "a;b")]),
        Category("two", [("empty", ""), ("a", "again"), ("a", "twice")], template=True),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [("[ok]\na = 1\n[bad\n", 3), ("a = 1\n[late]\n", 1), (";-- x\n--;\n[x\n", 3)],
)
def test_files_asterisk_refuses_name_the_line(text: str, line: int) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        parse_config(text)
    assert caught.value.line == line


def test_select_by_name_and_by_filter() -> None:
    cats = parse_config("[a]\ntype=peer\nhost=x\n[B]\ntype=user\n[a]\ntype=user\n")
    assert [c.variables for c in select_categories(cats, "A")] == [
        [("type", "peer"), ("host", "x")],
        [("type", "user")],
    ]
    assert [c.name for c in select_categories(cats, filter_text="type=user")] == ["B", "a"]
    assert [c.name for c in select_categories(cats, "a", "type=^user$")] == ["a"]
    assert [c.name for c in select_categories(cats, filter_text="type=peer,host=x")] == ["a"]
    assert select_categories(cats, filter_text="type=peer,host=y") == []
    assert select_categories(cats, filter_text="type=(") == []
    assert len(select_categories(cats, filter_text="TEMPLATES=include")) == 3
    assert select_categories(cats, filter_text="TEMPLATES=restrict") == []


def test_lookup_is_relative_to_the_config_dir() -> None:
    files = {"manager.conf": "m"}
    assert lookup(files, "manager.conf") == "m"
    assert lookup(files, " ./manager.conf ") == "m"
    assert lookup(files, "/etc/asterisk/manager.conf") == lookup(files, "../asterisk/manager.conf") == "m"
    for name in (
        "queues.conf",
        "/etc/manager.conf",
        "../asterisk/manager.conf/",
        "manager.conf/",
        "sub/manager.conf",
        "",
    ):
        assert lookup(files, name) is None, name


def test_default_manager_conf_holds_the_default_users() -> None:
    users = users_from_mapping(DEFAULT_USERS)
    text = served_files(users)["manager.conf"]
    assert parse_manager_conf(text) == users
    assert [c.name for c in parse_config(text)] == ["general", "admin"]
    given = served_files(users, "[x]\nsecret = y\n")
    assert given["manager.conf"] == "[x]\nsecret = y\n"
    assert given["extensions.conf"] == EXTENSIONS_CONF and given["queues.conf"] == QUEUES_CONF


def test_written_manager_conf_round_trips_any_users() -> None:
    users = users_from_mapping({"a": ("1", "call,system", ""), "b": ("2", "config", "all")})
    assert parse_manager_conf(manager_conf_text(users)) == users
    assert "read = system,call\n" in manager_conf_text(users)


def test_builtin_extensions_conf_is_the_dialplan_the_simulator_plays() -> None:
    cats = {c.name: c.variables for c in parse_config(EXTENSIONS_CONF)}
    played: dict[str, list[tuple[str, str]]] = {}
    exten = ""
    for name, value in cats["default"]:
        if name == "exten":
            exten, _, step = value.split(",", 2)
        else:
            step = value.split(",", 1)[1]
        app, _, data = step.partition("(")
        played.setdefault(exten, []).append((app, data[:-1]))
    assert played == DIALPLAN["default"]


@needs_shared(CONFIG)
@pytest.mark.parametrize(
    ("name", "text"), [("extensions.conf", EXTENSIONS_CONF), ("queues.conf", QUEUES_CONF)]
)
def test_builtin_texts_are_the_recorded_servers_files(name: str, text: str) -> None:
    assert (CONFIG / name).read_text(encoding="utf-8") == text


@needs_shared(CONFIG)
def test_default_manager_conf_is_the_recorded_one_for_its_users() -> None:
    recorded = parse_config((CONFIG / "manager.conf").read_text(encoding="utf-8"))
    ours = parse_config(manager_conf_text(users_from_mapping(DEFAULT_USERS)))
    assert ours == [cat for cat in recorded if cat.name in ("general", "admin")]


def test_simulator_serves_the_manager_conf_it_was_given(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[general]\n[bob]\nsecret = s\nwrite = config\n", encoding="utf-8")
    world = Simulator(manager_conf=conf)._new_world()
    assert world.config_files["manager.conf"] == conf.read_text(encoding="utf-8")
    assert list(world.users) == ["bob"]
    default = Simulator()._new_world().config_files["manager.conf"]
    assert default == manager_conf_text(users_from_mapping(DEFAULT_USERS))


def test_served_files_include_one_another_from_the_config_dir() -> None:
    files = {"manager.conf": "[general]\n#include users_*.conf\n", "users_a.conf": "[a]\nsecret = x\n"}
    read = include_reader(files)
    cats = parse_config(files["manager.conf"], source=f"{CONFIG_DIR}/manager.conf", read=read)
    assert [c.name for c in cats] == ["general", "a"]
    assert read("/elsewhere/users_a.conf") == [] and read(f"{CONFIG_DIR}/nothing.conf") == []
