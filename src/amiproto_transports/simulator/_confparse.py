"""Asterisk's config-file syntax, as ``main/config.c`` reads it.

What GetConfig and ListCategories report, and where manager.conf's users come
from. Modelled on config.c (``process_text_line``, ``config_text_file_load``):

- ``[name]`` starts a category; ``[name](opts)`` takes a comma-separated list
  where ``!`` makes a template (not itself a category to its readers), ``+``
  adds to the existing category of that name, and any other word copies that
  category's (or template's) variables in, in the order listed, before the
  category's own; a name not defined above is an error naming the line.
- ``name = value`` and ``name => value``; ``name += more`` appends to the last
  ``name`` of the category; a leading ``\\`` escapes the first character.
- ``;`` starts a comment, ``\\;`` is a literal semicolon, ``;-- ... --;`` is a
  block comment that may span lines and nest.
- ``#include file`` / ``#tryinclude file`` (quotes or ``<>`` optional, shell
  wildcards allowed) read another file in place: its lines continue the current
  category. A missing ``#include`` makes the whole file invalid, as Asterisk 22
  does ("was listed as a #include but it does not exist"); ``#tryinclude``
  skips it quietly. ``#exec`` is refused with Asterisk's warning (it needs
  ``execincludes``). Includes deeper than ``MAX_INCLUDE_DEPTH`` or back into a
  file already being read are skipped with a warning, so no file can loop.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from ._filters import Meter, compile_pattern

__all__ = [
    "MAX_INCLUDE_DEPTH",
    "Category",
    "ConfigSyntaxError",
    "IncludeReader",
    "parse_config",
    "select_categories",
]

MAX_INCLUDE_DEPTH = 10
"""Asterisk's ``MAX_INCLUDE_LEVEL``: files nested deeper are not read."""

_MAX_NESTED_COMMENTS = 128  # Asterisk's MAX_NESTED_COMMENTS

IncludeReader = Callable[[str], list[tuple[str, str]]]
"""Resolved include path (maybe a wildcard pattern) -> ``(path, text)`` of each file found."""


@dataclass(slots=True)
class Category:
    """One ``[name]`` section and its variables, in file order (duplicates kept).

    Inherited variables come first, in the order the templates were listed;
    readers that keep the last value of a name thus see the category's own
    settings win over its templates', and a later template's over an earlier's.
    """

    name: str
    variables: list[tuple[str, str]] = field(default_factory=list)
    template: bool = False
    """Defined with ``(!)``: Asterisk's readers skip it unless asked for templates."""
    inherits: list[str] = field(default_factory=list)
    """The templates (or categories) named in its header, in order."""


class ConfigSyntaxError(ValueError):
    """A file Asterisk refuses to load; ``line`` is its 1-based line number in ``source``."""

    def __init__(self, line: int, message: str, source: str = "") -> None:
        super().__init__(f"{source + ' ' if source else ''}line {line}: {message}")
        self.line = line
        self.message = message
        self.source = source


def parse_config(
    text: str,
    *,
    source: str = "",
    read: IncludeReader | None = None,
    warnings: list[str] | None = None,
) -> list[Category]:
    """The categories of a config file (templates included, flagged), as Asterisk's loader sees them.

    ``source`` names the file in errors and is the directory includes are
    resolved against (relative includes are read next to the file that names
    them). ``read`` finds included files; without it no include can be
    resolved, and each is skipped with a warning. Warnings Asterisk would log
    are appended to ``warnings``. Raises ``ConfigSyntaxError`` for what makes
    Asterisk reject the file.
    """
    loader = _Loader(read, warnings if warnings is not None else [])
    loader.load(text, source, [], None)
    return loader.categories


class _Loader:
    def __init__(self, read: IncludeReader | None, warnings: list[str]) -> None:
        self.read = read
        self.warnings = warnings
        self.categories: list[Category] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def load(self, text: str, source: str, stack: list[str], current: Category | None) -> None:
        # As config.c: an included file continues the category current where it
        # is included, and the includer goes on with its own category afterwards.
        depth = 0  # block comments open
        opened_at: list[int] = []
        stack = [*stack, source]
        for number, raw_line in enumerate(text.splitlines(), 1):
            line, depth, kept = _strip_comments(raw_line, depth, opened_at, number)
            if kept:
                line = line.strip()
                if line:
                    current = self.line(line, number, source, current, stack)
        if depth:
            self.warn(f"Unterminated comment detected beginning on line {opened_at[0]} of {_name(source)}")

    def line(
        self, line: str, number: int, source: str, current: Category | None, stack: list[str]
    ) -> Category | None:
        def fail(message: str) -> ConfigSyntaxError:
            return ConfigSyntaxError(number, message, source)

        if line.startswith("["):
            return self.header(line, fail)
        if line.startswith("#"):
            self.directive(line, (number, source), stack, current, fail)
            return current
        if current is None:
            raise fail(f"no category for {line!r}")
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
            if not line or ord(line[0]) < 33:
                raise fail("invalid escape")
        equals = line.find("=", 1 if escaped else 0)
        if equals < 0:
            self.warn(f"No '=' (equal sign) in line {number} of {_name(source)}")
            return current
        name, value = line[:equals], line[equals + 1 :]
        if name.endswith("+") and len(name) > 1:
            name = name[:-1].strip()
            for index in range(len(current.variables) - 1, -1, -1):
                if current.variables[index][0] == name:
                    joined = (current.variables[index][1] + value).strip()
                    current.variables[index] = (name, joined)
                    return current
        elif value.startswith(">"):
            value = value[1:]
        name = name.strip()
        if not name:
            self.warn(f"No variable name in line {number} of {_name(source)}")
            return current
        current.variables.append((name, value.strip()))
        return current

    def header(self, line: str, fail: Callable[[str], ConfigSyntaxError]) -> Category:
        end = line.find("]")
        if end < 0:
            raise fail(f"no closing ']' in section header {line!r}")
        name = line[1:end].strip()
        category = Category(name)
        rest = line[end + 1 :]
        if not rest.startswith("("):
            self.categories.append(category)
            return category
        close = rest.find(")")
        if close < 0:
            raise fail(f"no closing ')' in section header {line!r}")
        new: Category | None = category
        for option in (part.strip() for part in rest[1:close].split(",")):
            if option == "!":
                category.template = True
            elif option == "+":
                existing = self.find(name)
                if existing is None:
                    raise fail(f"category addition requested, but category {name!r} does not exist")
                if new is not None:
                    existing.variables += category.variables
                    existing.template |= category.template
                    new = None
                category = existing
            else:
                base = self.find(option)
                if base is None:
                    raise fail(f"inheritance requested, but category {option!r} does not exist")
                category.inherits.append(option)
                category.variables += base.variables
        if new is not None:
            self.categories.append(new)
        return category

    def find(self, name: str) -> Category | None:
        # config.c's category_get(..., ignored=1): the first of that name, templates too.
        return next((category for category in self.categories if category.name == name), None)

    def directive(
        self,
        line: str,
        at: tuple[int, str],
        stack: list[str],
        current: Category | None,
        fail: Callable[[str], ConfigSyntaxError],
    ) -> None:
        number, source = at
        word, _, argument = line[1:].partition(" ")
        word, argument = word.strip(), argument.strip()
        if "\t" in word:
            word, _, more = word.partition("\t")
            argument = (more + " " + argument).strip()
        where = f"line {number} of {_name(source)}"
        kind = word.lower()
        if kind == "exec":
            self.warn("Cannot perform #exec unless execincludes option is enabled in asterisk.conf")
            return
        if kind not in ("include", "tryinclude"):
            self.warn(f"Unknown directive '#{word}' at {where}")
            return
        if not argument:
            self.warn(f"Directive '#{word}' needs an argument (filename) at {where}")
            return
        closing = {'"': '"', "<": ">"}.get(argument[0])
        if closing is not None and len(argument) > 1 and argument.endswith(closing):
            argument = argument[1:-1]
        path = posixpath.normpath(posixpath.join(posixpath.dirname(source), argument))
        if self.read is None:
            self.warn(f"#{word} {argument} at {where} not read: no files to include from")
            return
        if len(stack) > MAX_INCLUDE_DEPTH:
            self.warn(f"Maximum Include level ({MAX_INCLUDE_DEPTH}) exceeded at {where}")
            return
        found = self.read(path)
        if not found:
            if kind == "include":
                raise fail(f"the file {argument!r} was listed as a #include but it does not exist")
            return
        for included, text in found:
            if included in stack:
                self.warn(f"#include cycle at {where}: {' -> '.join([*stack, included])} not followed")
                continue
            self.load(text, included, stack, current)


def _name(source: str) -> str:
    return source or "the file"


def _strip_comments(line: str, depth: int, opened_at: list[int], number: int) -> tuple[str, int, bool]:
    """The text of ``line`` outside comments, the block-comment depth after it, and whether any text counts.

    As config.c: ``\\;`` loses its backslash, ``;--`` (not ``;---``) opens a
    nested block, ``--;`` closes one, a plain ``;`` outside blocks ends the line.
    """
    kept = depth == 0
    out: list[str] = []
    index = 0
    size = len(line)
    while index < size:
        char = line[index]
        if char != ";":
            if depth == 0:
                out.append(char)
            index += 1
            continue
        if index > 0 and line[index - 1] == "\\":
            if depth == 0:
                out[-1] = ";"
            index += 1
        elif line.startswith("--", index + 1) and line[index + 3 : index + 4] != "-":
            if depth < _MAX_NESTED_COMMENTS:
                depth += 1
                opened_at.append(number)
            index += 3
        elif depth and index >= 2 and line[index - 2 : index] == "--":
            depth -= 1
            opened_at.pop()
            index += 1
            kept = kept or depth == 0
        elif depth == 0:
            break
        else:
            index += 1
    return "".join(out), depth, kept


def select_categories(categories: list[Category], name: str = "", filter_text: str = "") -> list[Category]:
    """The categories GetConfig/ListCategories report for a ``Category`` and a ``Filter``/``Match``.

    ``name`` (empty for any) is compared without regard to case; ``filter_text``
    is the documented comma-separated ``name_regex=value_regex`` list, all of
    which some variable of the category must match. Templates are left out
    unless ``TEMPLATES=include`` (both) or ``TEMPLATES=restrict`` (templates only).
    """
    wanted = name.strip().lower()
    selected = [cat for cat in categories if not wanted or cat.name.lower() == wanted]
    templates = "exclude"
    meter = Meter()  # one for the whole selection: too costly a search selects nothing
    for expression in filter(None, (part.strip() for part in filter_text.split(","))):
        name_regex, _, value_regex = expression.partition("=")
        if name_regex.strip() == "TEMPLATES":
            templates = value_regex.strip().lower()
            continue
        try:
            name_re, value_re = compile_pattern(name_regex.strip()), compile_pattern(value_regex.strip())
            selected = [
                cat
                for cat in selected
                if any(
                    name_re.search(var, meter) and value_re.search(val, meter) for var, val in cat.variables
                )
            ]
        except ValueError:
            return []
    if templates == "include":
        return selected
    if templates == "restrict":
        return [cat for cat in selected if cat.template]
    return [cat for cat in selected if not cat.template]
