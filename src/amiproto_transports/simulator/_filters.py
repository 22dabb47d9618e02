"""Event filters and Hangup's channel regex, matched in time linear in the text.

Python's ``re`` backtracks: ``(a+)+$`` against a long run of ``a`` takes
seconds, and the simulator serves every connection from one thread, so one
client's filter would stall all the others. Asterisk uses POSIX ``regexec``,
which has no such blow-up. So patterns here are POSIX extended regular
expressions, as Asterisk reads them, compiled to a Thompson NFA and run as a
DFA built lazily, one state per character at most: the cost of a search is
bounded by the text's length times the pattern's size, whatever the pattern.

The syntax: literals, ``.`` (any character, a newline too, as in POSIX),
``[...]`` and ``[^...]`` with ranges, ``[:digit:]``-style classes and the
escapes ``\\d \\w \\s`` (and their capitals), ``^`` and ``$`` (start and end of
the text), groups ``(...)`` and ``(?:...)``, ``|``, and the quantifiers ``* + ?
{m} {m,} {m,n}`` (a lazy or possessive suffix is read as one more quantifier,
which changes nothing about whether a text matches). Back-references,
look-arounds, inline flags and ``\\b`` have no linear-time match and are
refused, as is a pattern over ``MAX_STATES`` NFA states (``{m,n}`` copies its
operand).

Linear is not enough when the pattern is large: a text the DFA cache has not
seen costs up to the pattern's size per character (``a.{900}Z`` against a
kilobyte of ``a`` and ``b`` took 90 ms, so MWIGet over thousands of mailboxes
took minutes). So the work a caller's searches may do together is metered
(``Meter``, ``MAX_MATCH_WORK``): one action, or one event for one session,
gets one meter, and a search that runs it out raises ``MatchTooCostly``.
Cached steps are not counted; they cost the same for every pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["MAX_MATCH_WORK", "MAX_STATES", "MatchTooCostly", "Meter", "Pattern", "compile_pattern"]

MAX_STATES = 1000
"""NFA states one pattern may compile to, ``{m,n}`` copies included; a larger pattern is
refused as one that does not compile. Any pattern without a counted repeat that fits an
action's line (1024 bytes) stays under it."""
MAX_MATCH_WORK = 500_000
"""NFA states visited while building DFA states, for all the searches of one action (or
of one event against one session's filters); past it the search stops with
``MatchTooCostly`` and the action is answered as for a bad regex (the event is not sent to
that client). About 0.1 s of work; normal patterns need a few thousand."""
_MAX_CACHE = 20000  # DFA transitions kept per pattern; past it the cache starts over
_MAX_STORED = 50_000  # NFA states held in one pattern's DFA states; past it the cache starts over
_MAX_DEPTH = 64  # nested groups; deeper would only exhaust the recursion of the parser

Predicate = Callable[[str], bool]

# Node kinds of the NFA.
_CHAR, _SPLIT, _BOL, _EOL, _MATCH = range(5)

_CLASSES: dict[str, Predicate] = {
    "digit": lambda c: "0" <= c <= "9",
    "alpha": str.isalpha,
    "alnum": str.isalnum,
    "space": str.isspace,
    "upper": str.isupper,
    "lower": str.islower,
    "xdigit": lambda c: c in "0123456789abcdefABCDEF",
    "punct": lambda c: c.isprintable() and not c.isalnum() and not c.isspace(),
}
_ESCAPES: dict[str, Predicate] = {
    "d": _CLASSES["digit"],
    "w": lambda c: c.isalnum() or c == "_",
    "s": str.isspace,
}
_SPECIAL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}

# The parsed pattern: ("char", predicate) | ("cat", [nodes]) | ("alt", [nodes])
# | ("repeat", node, min, max or None) | ("bol",) | ("eol",)
Node = tuple[Any, ...]  # a tagged tuple, as in the comment above


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, why: str) -> ValueError:
        return ValueError(f"filter {self.text!r}: {why} at {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Node:
        node = self.alternation()
        if self.pos != len(self.text):
            raise self.fail("unbalanced ')'")
        return node

    def alternation(self) -> Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            while self.peek() in ("*", "+", "?") or self.bound_ahead():
                atom = self.quantified(atom)
            items.append(atom)
        return ("cat", items)

    def bound_ahead(self) -> bool:
        """Whether a ``{m}``, ``{m,}`` or ``{m,n}`` starts here (any other ``{`` is a literal)."""
        if self.peek() != "{":
            return False
        close = self.text.find("}", self.pos)
        low, _, high = self.text[self.pos + 1 : close].partition(",")
        return close > 0 and _digits(low) and (not high or _digits(high))

    def quantified(self, atom: Node) -> Node:
        char = self.peek()
        self.pos += 1
        if char == "*":
            return ("repeat", atom, 0, None)
        if char == "+":
            return ("repeat", atom, 1, None)
        if char == "?":
            return ("repeat", atom, 0, 1)
        close = self.text.find("}", self.pos)
        low, comma, high = self.text[self.pos : close].partition(",")
        self.pos = close + 1
        least = int(low)
        most = None if comma and not high else int(high) if high else least
        if most is not None and most < least:
            raise self.fail("{m,n} with n < m")
        if max(least, most or 0) > MAX_STATES:
            raise self.fail("repeat count too large")
        return ("repeat", atom, least, most)

    def atom(self) -> Node:
        char = self.peek()
        self.pos += 1
        if char == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail("groups nested too deep")
            if self.text.startswith("?", self.pos):
                if not self.text.startswith("?:", self.pos):
                    raise self.fail("look-arounds, named groups and inline flags are not supported")
                self.pos += 2
            inner = self.alternation()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            self.depth -= 1
            return inner
        if char == ".":
            return ("char", _any)
        if char == "^":
            return ("bol",)
        if char == "$":
            return ("eol",)
        if char == "[":
            return ("char", self.bracket())
        if char == "\\":
            return ("char", self.escape())
        if char in ("*", "+", "?"):
            raise self.fail("nothing to repeat")
        return ("char", char.__eq__)

    def escape(self) -> Predicate:
        char = self.peek()
        if not char:
            raise self.fail("trailing backslash")
        self.pos += 1
        lowered = char.lower()
        if lowered in _ESCAPES:
            predicate = _ESCAPES[lowered]
            return predicate if char == lowered else _negate(predicate)
        if char in _SPECIAL_ESCAPES:
            return _SPECIAL_ESCAPES[char].__eq__
        if char.isalnum():
            raise self.fail(f"unsupported escape \\{char}")
        return char.__eq__

    def bracket(self) -> Predicate:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        chars: set[str] = set()
        tests: list[Predicate] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise self.fail("missing ']'")
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            if self.text.startswith("[:", self.pos):
                end = self.text.find(":]", self.pos + 2)
                name = self.text[self.pos + 2 : end] if end >= 0 else ""
                if name not in _CLASSES:
                    raise self.fail(f"unknown class [:{name}:]")
                tests.append(_CLASSES[name])
                self.pos = end + 2
                continue
            self.pos += 1
            if char == "\\" and self.peek():
                escaped = self.peek()
                if escaped.lower() in _ESCAPES:
                    self.pos += 1
                    predicate = _ESCAPES[escaped.lower()]
                    tests.append(predicate if escaped.islower() else _negate(predicate))
                    continue
                self.pos += 1
                char = _SPECIAL_ESCAPES.get(escaped, escaped)
            if self.peek() == "-" and self.text[self.pos + 1 : self.pos + 2] not in ("]", ""):
                high = self.text[self.pos + 1]
                self.pos += 2
                if high < char:
                    raise self.fail("bad range")
                tests.append(_in_range(char, high))
            else:
                chars.add(char)
        members = frozenset(chars)

        def inside(c: str) -> bool:
            return c in members or any(test(c) for test in tests)

        return _negate(inside) if negated else inside


def _in_range(low: str, high: str) -> Predicate:
    return lambda c: low <= c <= high


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _any(_: str) -> bool:
    return True


def _negate(predicate: Predicate) -> Predicate:
    return lambda c: not predicate(c)


class _Nfa:
    """Nodes as parallel lists: kind, predicate (CHAR), and up to two successors."""

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.tests: list[Predicate | None] = []
        self.outs: list[list[int]] = []

    def add(self, kind: int, test: Predicate | None = None, outs: list[int] | None = None) -> int:
        if len(self.kinds) >= MAX_STATES:
            raise ValueError(f"filter pattern needs over {MAX_STATES} states")
        self.kinds.append(kind)
        self.tests.append(test)
        self.outs.append(outs or [])
        return len(self.kinds) - 1

    def build(self, node: Node, then: int) -> int:
        """The start of ``node``, continuing to ``then``: built back to front, so no patching."""
        kind = node[0]
        if kind == "char":
            return self.add(_CHAR, node[1], [then])
        if kind == "bol":
            return self.add(_BOL, None, [then])
        if kind == "eol":
            return self.add(_EOL, None, [then])
        if kind == "cat":
            for item in reversed(node[1]):
                then = self.build(item, then)
            return then
        if kind == "alt":
            return self.add(_SPLIT, None, [self.build(item, then) for item in node[1]])
        _, operand, least, most = node
        if most is None:
            loop = self.add(_SPLIT, None, [then])
            self.outs[loop].insert(0, self.build(operand, loop))
            tail = loop
        else:
            tail = then
            for _ in range(most - least):
                tail = self.add(_SPLIT, None, [self.build(operand, tail), then])
        for _ in range(least):
            tail = self.build(operand, tail)
        return tail


class MatchTooCostly(ValueError):
    """A search ran its ``Meter`` out: the pattern is too large for the texts it was given."""


class Meter:
    """The work searches may still do; one action's searches share one (see ``MAX_MATCH_WORK``)."""

    __slots__ = ("left",)

    def __init__(self, work: int = MAX_MATCH_WORK) -> None:
        self.left = work

    def spend(self, work: int) -> None:
        self.left -= work
        if self.left < 0:
            raise MatchTooCostly(f"filter search over {MAX_MATCH_WORK} steps of work")


class Pattern:
    """A compiled filter: ``search(text)`` says whether it matches anywhere in ``text``."""

    __slots__ = ("_cache", "_ids", "_matching", "_nfa", "_sets", "_start", "_stored", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._nfa = _Nfa()
        match = self._nfa.add(_MATCH)
        self._start = self._nfa.build(_Parser(text).parse(), match)
        self._cache: dict[tuple[int, str, bool], int] = {}
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._matching: list[bool] = []
        self._stored = 0  # NFA states in self._sets, all together

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"

    def _forget(self) -> None:
        self._cache.clear()
        self._ids.clear()
        self._sets.clear()
        self._matching.clear()
        self._stored = 0

    def _intern(self, state: frozenset[int]) -> int:
        known = self._ids.get(state)
        if known is None:
            known = self._ids[state] = len(self._sets)
            self._sets.append(state)
            self._matching.append(any(self._nfa.kinds[node] == _MATCH for node in state))
            self._stored += len(state)
        return known

    def _closure(self, seeds: list[int], at_start: bool, at_end: bool, meter: Meter) -> int:
        """The DFA state (an id) of every CHAR or MATCH node reachable from ``seeds`` without input."""
        kinds, outs = self._nfa.kinds, self._nfa.outs
        seen: set[int] = set()
        found = []
        stack = list(seeds)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            kind = kinds[node]
            if kind in (_CHAR, _MATCH):
                found.append(node)
            elif kind == _SPLIT or (kind == _BOL and at_start) or (kind == _EOL and at_end):
                stack.extend(outs[node])
        meter.spend(len(seen))
        return self._intern(frozenset(found))

    def search(self, text: str, meter: Meter | None = None) -> bool:
        """Whether the pattern matches in ``text``; ``MatchTooCostly`` once ``meter`` (by
        default a fresh one for this search alone) runs out."""
        if meter is None:
            meter = Meter()
        if len(self._cache) > _MAX_CACHE or self._stored > _MAX_STORED:
            self._forget()
        size = len(text)
        state = self._closure([self._start], True, size == 0, meter)
        if self._matching[state]:
            return True
        cache = self._cache
        matching = self._matching
        last = size - 1
        for index, char in enumerate(text):
            key = (state, char, index == last)
            following = cache.get(key)
            if following is None:
                if len(cache) > _MAX_CACHE or self._stored > _MAX_STORED:
                    # Start over, keeping only the state the search is in.
                    current = self._sets[state]
                    self._forget()
                    state = self._intern(current)
                    key = (state, char, index == last)
                following = cache[key] = self._step(state, char, index == last, meter)
            if matching[following]:
                return True
            state = following
        return False

    def select(self, texts: Iterable[str]) -> list[str]:
        """The ``texts`` the pattern matches in, in order, all searched on one ``Meter``:
        ``MatchTooCostly`` when together they run it out (what one action's selection of
        channels or mailboxes may cost)."""
        meter = Meter()
        return [text for text in texts if self.search(text, meter)]

    def _step(self, state: int, char: str, at_end: bool, meter: Meter) -> int:
        nfa = self._nfa
        seeds = [self._start]
        active = self._sets[state]
        meter.spend(len(active))
        for node in active:
            test = nfa.tests[node]
            if test is not None and test(char):
                seeds.extend(nfa.outs[node])
        return self._closure(seeds, False, at_end, meter)


def compile_pattern(text: str) -> Pattern:
    """The pattern for ``text``; ``ValueError`` when it is malformed or outside the syntax above."""
    return Pattern(text)
