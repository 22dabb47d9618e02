"""Config files as Asterisk's config.c reads them: includes, templates, additions, comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from amiproto_transports.simulator import Simulator
from amiproto_transports.simulator._config import ManagerConfError, load_manager_conf
from amiproto_transports.simulator._confparse import (
    MAX_INCLUDE_DEPTH,
    Category,
    ConfigSyntaxError,
    IncludeReader,
    parse_config,
    select_categories,
)

from ..conftest import RECORDINGS, needs_shared


def reader(files: dict[str, str]) -> IncludeReader:
    def read(path: str) -> list[tuple[str, str]]:
        return [(path, files[path])] if path in files else []

    return read


def variables(categories: list[Category]) -> dict[str, list[tuple[str, str]]]:
    return {category.name: category.variables for category in categories}


def test_an_include_is_read_in_place_relative_to_the_including_file() -> None:
    files = {
        "/etc/asterisk/sub/users.conf": '[bob]\nsecret = b\n#include "more.conf"\n',
        "/etc/asterisk/sub/more.conf": "read = all\n",  # continues [bob], found next to users.conf
        "/etc/asterisk/tail.conf": "tail = yes\n",
    }
    text = "[general]\nport = 1\n#include sub/users.conf\n[last]\n#include <tail.conf>\nx = 1\n"
    cats = parse_config(text, source="/etc/asterisk/manager.conf", read=reader(files))
    assert variables(cats) == {
        "general": [("port", "1")],
        "bob": [("secret", "b"), ("read", "all")],
        "last": [("tail", "yes"), ("x", "1")],
    }


def test_after_an_include_the_includer_goes_on_with_its_own_category() -> None:
    files = {"/c/other.conf": "[other]\nb = 2\n"}
    cats = parse_config("[mine]\n#include other.conf\na = 1\n", source="/c/main.conf", read=reader(files))
    assert variables(cats) == {"mine": [("a", "1")], "other": [("b", "2")]}


def test_a_missing_include_rejects_the_file_and_a_missing_tryinclude_is_skipped() -> None:
    with pytest.raises(
        ConfigSyntaxError, match=r"^/c/x\.conf line 2: the file 'gone\.conf' was listed as a #include"
    ):
        parse_config("[a]\n#include gone.conf\n", source="/c/x.conf", read=reader({}))
    warnings: list[str] = []
    cats = parse_config(
        "[a]\n#tryinclude gone.conf\nb = 1\n", source="/c/x.conf", read=reader({}), warnings=warnings
    )
    assert variables(cats) == {"a": [("b", "1")]} and warnings == []


def test_an_error_in_an_included_file_names_that_file() -> None:
    files = {"/c/bad.conf": "[ok]\n[broken\n"}
    with pytest.raises(ConfigSyntaxError) as caught:
        parse_config("#include bad.conf\n", source="/c/x.conf", read=reader(files))
    assert (caught.value.source, caught.value.line) == ("/c/bad.conf", 2)


def test_include_cycles_and_depth_are_cut_with_a_warning() -> None:
    files = {"/c/a.conf": "[a]\nx = 1\n#include b.conf\n", "/c/b.conf": "y = 2\n#include a.conf\n"}
    warnings: list[str] = []
    cats = parse_config("#include a.conf\n", source="/c/top.conf", read=reader(files), warnings=warnings)
    assert variables(cats) == {"a": [("x", "1"), ("y", "2")]}
    assert len(warnings) == 1 and "cycle" in warnings[0] and "a.conf -> /c/b.conf -> /c/a.conf" in warnings[0]
    chain = {f"/c/{n}.conf": f"[c{n}]\n#include {n + 1}.conf\n" for n in range(MAX_INCLUDE_DEPTH + 5)}
    warnings.clear()
    cats = parse_config("#include 0.conf\n", source="/c/top.conf", read=reader(chain), warnings=warnings)
    assert len(cats) == MAX_INCLUDE_DEPTH and "Maximum Include level" in warnings[0]


def test_without_a_reader_includes_are_skipped_with_a_warning_and_other_directives_warn() -> None:
    warnings: list[str] = []
    text = "[a]\n#include x.conf\n#exec /bin/true\n#bogus\n#include\nb = 1\n"
    assert variables(parse_config(text, warnings=warnings)) == {"a": [("b", "1")]}
    assert [w.split()[0] for w in warnings] == ["#include", "Cannot", "Unknown", "Directive"]


def test_wildcard_includes_read_every_file_found_on_disk(tmp_path: Path) -> None:
    (tmp_path / "manager.d").mkdir()
    (tmp_path / "manager.d" / "b.conf").write_text("[bob]\nsecret = b\nread = call\n")
    (tmp_path / "manager.d" / "a.conf").write_text("[alice]\nsecret = a\n")
    conf = tmp_path / "manager.conf"
    conf.write_text('[general]\nenabled = yes\n#include "manager.d/*.conf"\n')
    users = load_manager_conf(conf)
    assert list(users) == ["alice", "bob"] and users["bob"].read == frozenset({"call"})
    assert Simulator(manager_conf=conf).users == users


def test_templates_are_inherited_in_order_and_own_settings_win() -> None:
    text = (
        "[base](!)\nread = all\nwrite = all\n"
        "[quiet](!)\nwrite = \ndisplayconnects = no\n"
        "[x](base,quiet)\nsecret = s\nread = call\n"
    )
    cats = parse_config(text)
    x = cats[-1]
    assert (x.template, x.inherits) == (False, ["base", "quiet"])
    assert dict(x.variables) == {"read": "call", "write": "", "displayconnects": "no", "secret": "s"}
    assert [c.name for c in cats if c.template] == ["base", "quiet"]


def test_a_missing_template_is_an_error_naming_the_line() -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^line 3: inheritance requested, but category 'nope'"):
        parse_config("[a]\nb = 1\n[x](a,nope)\n")
    with pytest.raises(ConfigSyntaxError, match=r"^line 1: category addition requested, but category 'x'"):
        parse_config("[x](+)\n")
    with pytest.raises(ConfigSyntaxError, match=r"^line 1: no closing '\)'"):
        parse_config("[x](base\n")


def test_plus_adds_to_the_existing_category() -> None:
    cats = parse_config("[a]\nx = 1\n[b]\ny = 2\n[a](+)\nz = 3\n")
    assert variables(cats) == {"a": [("x", "1"), ("z", "3")], "b": [("y", "2")]}
    assert len(cats) == 2


def test_templates_are_selected_only_when_asked_for() -> None:
    cats = parse_config("[t](!)\nk = v\n[c](t)\n")
    assert [c.name for c in select_categories(cats)] == ["c"]
    assert [c.name for c in select_categories(cats, filter_text="TEMPLATES=include")] == ["t", "c"]
    assert [c.name for c in select_categories(cats, filter_text="TEMPLATES=restrict")] == ["t"]
    assert [c.name for c in select_categories(cats, filter_text="k=^v$")] == ["c"]


def test_comments_nest_span_lines_and_keep_what_is_around_them() -> None:
    text = (
        "[a]\n"
        "x = 1 ;-- one ;-- two --; still one --; + 2 ; trailing\n"
        ";-- block\n[hidden]\n--; y = 3\n"
        "z = a\\;b ;--- a line comment, not a block\n"
        "w = 4\n"
    )
    assert variables(parse_config(text)) == {"a": [("x", "1  + 2"), ("y", "3"), ("z", "a;b"), ("w", "4")]}
    warnings: list[str] = []
    parse_config("[a]\n;-- never closed\nx = 1\n", warnings=warnings)
    assert warnings == ["Unterminated comment detected beginning on line 2 of the file"]


def test_appending_escapes_and_lines_asterisk_warns_about() -> None:
    # As config.c: the text after "+=" is glued on as it is, then trimmed.
    text = "[a]\nallow = ulaw\nallow +=,alaw \nnew += fresh\n\\[k = v\n = nameless\nno sign\n"
    warnings: list[str] = []
    cats = parse_config(text, warnings=warnings)
    assert variables(cats) == {"a": [("allow", "ulaw,alaw"), ("new", "fresh"), ("[k", "v")]}
    assert [w.split("line")[0] for w in warnings] == ["No variable name in ", "No '=' (equal sign) in "]
    with pytest.raises(ConfigSyntaxError, match="invalid escape"):
        parse_config("[a]\n\\ x = 1\n")


def test_a_readonly_user_from_a_template_in_manager_conf(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text(
        "[general]\nenabled = yes\n"
        "[base](!)\nsecret = basepass\nread = all\nwrite = all\n"
        "[admin](base)\nsecret = wordpass\n"
        "[readonly](base)\nsecret = readpass\nread = system,call\nwrite =\n"
    )
    users = load_manager_conf(conf)
    assert sorted(users) == ["admin", "readonly"]
    assert (users["readonly"].secret, users["readonly"].read) == ("readpass", frozenset({"system", "call"}))
    assert users["readonly"].write == frozenset() and "originate" in users["admin"].write
    conf.write_text("[readonly](base)\nsecret = x\n")
    with pytest.raises(
        ManagerConfError, match=rf"^{conf} line 1: inheritance requested, but category 'base'"
    ):
        load_manager_conf(conf)


@needs_shared(RECORDINGS / "asterisk-config")
def test_the_recorded_config_files_read_as_before() -> None:
    recorded = RECORDINGS / "asterisk-config"
    for name in ("manager.conf", "extensions.conf", "queues.conf"):
        path = str(recorded / name)
        cats = parse_config((recorded / name).read_text(encoding="utf-8"), source=path)
        assert cats and not any(c.template or c.inherits for c in cats)
