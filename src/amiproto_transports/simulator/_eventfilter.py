"""Event filters as Asterisk 22 reads them: the classic regex and the ``MatchCriteria`` form.

One rule serves the ``Filter`` action and manager.conf's ``eventfilter``
(``main/manager.c``, ``manager_add_filter``): the action's ``MatchCriteria``
becomes ``eventfilter(<criteria>)``, the same text a user's
``eventfilter(...) = pattern`` line carries.

- ``eventfilter = pattern``: a regex on the whole event text; ``!pattern``
  excludes.
- ``eventfilter(action(include|exclude),name(Event),header(Name),method(M))``
  with any of the options in any order: only events called ``Event``
  (case-sensitive), only the value of header ``Name``, matched by ``M``, one
  of ``regex exact starts_with ends_with contains none``. Without ``method``
  the method is ``none`` (the pattern must then be empty), as manager.c does
  whatever its documentation says. ``action`` wins over a leading ``!``.

Regexes are POSIX extended, matched in linear time by ``_filters``; one event's
searches against one session's filters share one ``Meter``, and an event that
runs it out is not sent to that session.
Including and excluding combine as in ``should_send_event``: no filters pass
everything; includes alone pass what one of them matches; excludes alone pass
what none matches; both: what an include matches and no exclude does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._filters import MatchTooCostly, Meter, Pattern, compile_pattern

__all__ = [
    "MAX_EVENT_FILTERS",
    "METHODS",
    "EventFilter",
    "FilterError",
    "FilterSet",
    "TooManyFilters",
    "parse_filter",
]

MAX_EVENT_FILTERS = 100
"""Event filters one session may hold, its user's manager.conf ``eventfilter`` lines
included; the ``Filter`` action past it is refused with "Internal Error. Failed to
allocate regex for filter" (manager.c's answer when it cannot store one) and adds nothing.
Every event is matched against each of them, for each session."""

METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
_OPTIONS = ("action", "name", "header", "method")


class FilterError(ValueError):
    """A filter Asterisk refuses; ``compiled`` tells a bad regex from a badly formed filter.

    The two answers of the ``Filter`` action: "Filter did not compile." and
    "Filter was formatted incorrectly.".
    """

    def __init__(self, message: str, *, compiled: bool = False) -> None:
        super().__init__(message)
        self.compiled = compiled


class TooManyFilters(FilterError):
    """The session already holds ``MAX_EVENT_FILTERS`` filters."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One include or exclude rule; equal when their text is."""

    exclude: bool
    method: str
    pattern: str
    event: str | None = None
    header: str | None = None
    """The header's name with its colon, as manager.c stores it (``Channel:``)."""
    _regex: Pattern | None = field(default=None, compare=False, repr=False)

    def matches(self, name: str, text: str, meter: Meter | None = None) -> bool:
        """Whether this rule selects the event ``name`` whose whole text is ``text``;
        ``MatchTooCostly`` when its regex runs ``meter`` out."""
        if self.event is not None and name != self.event:
            return False
        if self.header is None:
            return self._match(text, meter)
        for line in text.split("\n"):
            if line.startswith(self.header):
                value = line[len(self.header) :].rstrip("\r").lstrip(" \t")
                if value and self._match(value, meter):
                    return True
        return False

    def _match(self, value: str, meter: Meter | None) -> bool:
        method = self.method
        if method == "regex":
            assert self._regex is not None
            return self._regex.search(value, meter)
        if method == "exact":
            return value == self.pattern
        if method == "starts_with":
            return value.startswith(self.pattern)
        if method == "ends_with":
            return value.endswith(self.pattern)
        if method == "contains":
            return self.pattern in value
        return True  # "none": the name or header alone decides


def parse_filter(criteria: str, pattern: str) -> EventFilter:
    """The rule ``criteria = pattern`` (``eventfilter`` or ``eventfilter(...)``), or ``FilterError``."""
    exclude = pattern.startswith("!")
    if exclude:
        pattern = pattern[1:]
    method = "regex"
    event: str | None = None
    header: str | None = None
    start = criteria.find("(")
    if start < 0:
        if not pattern:
            raise FilterError(f"{criteria} = {pattern}: a filter without options needs a pattern")
    else:
        method = "none"
        options = criteria[start + 1 :].strip()
        if not options.endswith(")"):
            raise FilterError(f"{criteria}: options not formatted correctly")
        found: set[str] = set()
        # manager.c splits on spaces, commas and ')' and matches option names by prefix.
        for option in options.replace(")", " ").replace(",", " ").split():
            kind = next((kind for kind in _OPTIONS if option.startswith(kind)), None)
            value = option.partition("(")[2].strip()
            if kind is None:
                raise FilterError(f"{criteria}: filter option {option!r} is unknown")
            if not value:
                raise FilterError(f"{criteria}: {kind!r} option not formatted correctly")
            if kind == "action":
                if value not in ("include", "exclude"):
                    raise FilterError(f"{criteria}: 'action' option {value!r} is unknown")
                exclude = value == "exclude"
            elif kind == "name":
                event = value
            elif kind == "header":
                header = value if value.endswith(":") else value + ":"
            else:
                if value not in METHODS:
                    raise FilterError(f"{criteria}: 'method' option {value!r} is unknown")
                method = value
            found.add(kind)
        if not found:
            raise FilterError(f"{criteria}: no action, name, header or method option")
        if not pattern and method != "none":
            raise FilterError(f"{criteria}: method can't be {method!r} with no filter pattern")
        if pattern and method == "none":
            raise FilterError(f"{criteria} = {pattern}: method can't be 'none' with a filter pattern")
        if method == "none" and event is None and header is None:
            raise FilterError(f"{criteria}: no name or header option and no filter pattern")
    regex = None
    if method == "regex":
        try:
            regex = compile_pattern(pattern)
        except ValueError as error:
            raise FilterError(str(error), compiled=True) from None
    return EventFilter(exclude, method, pattern, event, header, regex)


class FilterSet:
    """A session's include and exclude rules, in the order they were added."""

    __slots__ = ("excludes", "includes")

    def __init__(self, rules: tuple[EventFilter, ...] = ()) -> None:
        self.includes: list[EventFilter] = []
        self.excludes: list[EventFilter] = []
        for rule in rules:
            self._append(rule)  # manager.conf's own lines: the operator's choice, not bounded

    def __bool__(self) -> bool:
        return bool(self.includes or self.excludes)

    def __len__(self) -> int:
        return len(self.includes) + len(self.excludes)

    def add(self, rule: EventFilter) -> None:
        """Add a client's rule; ``TooManyFilters`` when ``MAX_EVENT_FILTERS`` are held already."""
        if len(self) >= MAX_EVENT_FILTERS:
            raise TooManyFilters(f"over {MAX_EVENT_FILTERS} event filters")
        self._append(rule)

    def _append(self, rule: EventFilter) -> None:
        (self.excludes if rule.exclude else self.includes).append(rule)

    def passes(self, name: str, text: str) -> bool:
        """Whether the event ``name`` with text ``text`` goes to the client; not when the
        filters' searches run out of work (``_filters.MAX_MATCH_WORK``)."""
        meter = Meter()
        try:
            if self.includes and not any(rule.matches(name, text, meter) for rule in self.includes):
                return False
            return not any(rule.matches(name, text, meter) for rule in self.excludes)
        except MatchTooCostly:
            return False
