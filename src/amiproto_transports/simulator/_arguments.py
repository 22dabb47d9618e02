"""How Asterisk reads a ``Variable`` header: a model of its argument parser.

Asterisk 22 (manager.c ``man_do_variable_value``, app.c
``__ast_app_separate_args`` with ``remove_chars``) splits a header's value at
commas outside double quotes, parentheses and brackets, drops double quotes, and
drops a backslash while keeping the next character as it is; then each item
splits at its first ``=``. The typed builders escape values for exactly this.
"""

from __future__ import annotations

__all__ = ["variables_of"]


def variables_of(value: str) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs Asterisk sets from one ``Variable`` header."""
    items: list[str] = []
    current: list[str] = []
    paren = bracket = quote = 0
    chars = iter(value.lstrip(" \t"))
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
            continue
        if char == '"':
            quote ^= 1
            continue
        if char == "(":
            paren += 1
        elif char == ")" and paren:
            paren -= 1
        elif char == "[":
            bracket += 1
        elif char == "]" and bracket:
            bracket -= 1
        elif char == "," and not (paren or quote or bracket):
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    found = []
    for item in items:
        name, sep, text = item.partition("=")
        if sep and name:
            found.append((name, text))
    return found
