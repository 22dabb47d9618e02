"""Asterisk's config-file syntax (``[category]``, ``name = value``, ``name => value``, ``;`` comments).

What GetConfig and ListCategories report, and where manager.conf's users come
from. Not modelled: ``#include``/``#exec`` (ignored) and category options such
as ``(!)`` templates or ``(+)`` additions (the text in parentheses is ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Category", "ConfigSyntaxError", "parse_config", "select_categories"]

_BLOCK_COMMENT = re.compile(r";--.*?--;", re.DOTALL)
_LINE_COMMENT = re.compile(r"(?<!\\);")


@dataclass(slots=True)
class Category:
    """One ``[name]`` section and its variables, in file order (duplicates kept)."""

    name: str
    variables: list[tuple[str, str]] = field(default_factory=list)


class ConfigSyntaxError(ValueError):
    """A file Asterisk refuses to load; ``line`` is its 1-based line number."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def parse_config(text: str) -> list[Category]:
    """The categories of a config file, as Asterisk's loader sees them.

    Names and values are stripped, ``=>`` is read as ``=``, ``\\;`` is a literal
    semicolon. Raises ``ConfigSyntaxError`` for a section header without its
    ``]`` and for a variable before any section, which make Asterisk reject the file.
    """
    # A block comment may span lines; keep its newlines so line numbers stay right.
    text = _BLOCK_COMMENT.sub(lambda match: "\n" * match.group().count("\n"), text)
    categories: list[Category] = []
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = _LINE_COMMENT.split(raw_line, 1)[0].replace("\\;", ";").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise ConfigSyntaxError(number, f"no closing ']' in section header {line!r}")
            categories.append(Category(line[1:end].strip()))
            continue
        name, sep, value = line.partition("=")
        if not sep:
            continue  # Asterisk warns about a line without '=' and goes on.
        if not categories:
            raise ConfigSyntaxError(number, f"no category for {line!r}")
        value = value[1:] if value.startswith(">") else value
        categories[-1].variables.append((name.strip(), value.strip()))
    return categories


def select_categories(categories: list[Category], name: str = "", filter_text: str = "") -> list[Category]:
    """The categories GetConfig/ListCategories report for a ``Category`` and a ``Filter``/``Match``.

    ``name`` (empty for any) is compared without regard to case; ``filter_text``
    is the documented comma-separated ``name_regex=value_regex`` list, all of
    which some variable of the category must match. ``TEMPLATES=restrict``
    selects templates only, hence nothing here since none are modelled.
    """
    wanted = name.strip().lower()
    selected = [cat for cat in categories if not wanted or cat.name.lower() == wanted]
    for expression in filter(None, (part.strip() for part in filter_text.split(","))):
        name_regex, _, value_regex = expression.partition("=")
        if name_regex.strip() == "TEMPLATES":
            if value_regex.strip().lower() == "restrict":
                return []
            continue
        try:
            name_re, value_re = re.compile(name_regex.strip()), re.compile(value_regex.strip())
        except re.error:
            return []
        selected = [
            cat
            for cat in selected
            if any(name_re.search(var) and value_re.search(val) for var, val in cat.variables)
        ]
    return selected
