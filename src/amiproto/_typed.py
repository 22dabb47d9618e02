"""Support for the generated catalogue (``amiproto.actions``, ``amiproto.events``).

Three ideas live here, so that the generated modules stay plain tables:

- ``snake_case``: how a documented AMI name becomes a Python name.
- ``Field``: a typed, read-only view of one header of an event. It converts on
  every access and never at construction, because the core builds an event for
  every message and most programs read few of their attributes. A value that
  does not convert is returned as the ``str`` it was; ``.headers`` stays the
  lossless truth.
- ``ActionBuilder``: an ``Action`` whose constructor takes the documented
  parameters as keyword arguments and refuses missing or unknown ones, and
  values of the wrong type (None for a required one, a list for a single one).
- ``WireEnum``: the base of every catalogue enumeration, a ``str`` that prints
  as the value on the wire.
"""

from __future__ import annotations

import difflib
import enum
import keyword
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar, overload

from ._actions import Action, HeaderValue, header_text
from ._errors import LocalProtocolError
from ._messages import Event

__all__ = [
    "ActionBuilder",
    "Assignments",
    "Field",
    "FreeHeaders",
    "HeaderValue",
    "Indexed",
    "TypedEvent",
    "WireEnum",
    "assignments",
    "choice",
    "flag",
    "free_headers",
    "indexed",
    "integer",
    "python_name",
    "snake_case",
    "text",
    "to_bool",
    "to_int",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

# -- names ---------------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ACRONYM_END = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """The snake_case of an AMI name: ``CallerIDNum`` -> ``caller_id_num``.

    Characters other than ASCII letters and digits become ``_``; a word starts
    at an upper-case letter that follows a lower-case letter or digit, and at
    the last capital of a run of capitals followed by a lower-case letter
    (``IDNum`` -> ``id_num``); everything is then lower-cased and runs of ``_``
    collapse. ``Uniqueid`` -> ``uniqueid``, ``Cause-txt`` -> ``cause_txt``,
    ``ServicelevelPerf2`` -> ``servicelevel_perf2``.
    """
    spaced = _NOT_ALNUM.sub("_", name)
    spaced = _LOWER_UPPER.sub("_", spaced)
    spaced = _ACRONYM_END.sub("_", spaced)
    return re.sub("_+", "_", spaced).strip("_").lower()


def python_name(name: str, reserved: Iterable[str] = ()) -> str:
    """``snake_case(name)`` made usable as a Python identifier.

    A Python keyword or a name in ``reserved`` gets a trailing ``_``
    (``Async`` -> ``async_``); a name that would start with a digit gets the
    prefix ``h_`` (``100rel`` -> ``h_100rel``).
    """
    snake = snake_case(name)
    if not snake:
        raise ValueError(f"{name!r} has no letters or digits")
    if snake[0].isdigit():
        snake = "h_" + snake
    if keyword.iskeyword(snake) or snake in reserved:
        snake += "_"
    return snake


# -- conversions ---------------------------------------------------------------


class WireEnum(str, enum.Enum):
    """An enumerated header value: a ``str`` equal to the text on the wire, and
    printed as that text (``Up``, not ``ChannelStateDesc.UP``) by ``str()``,
    ``format()`` and f-strings, so it can go back into a header or a log as is.

    ``enum.StrEnum`` does the same from Python 3.11; this runs on 3.10 too.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)


# The spellings Asterisk's own ast_true()/ast_false() accept, plus the
# enabled/disabled pair some events use.
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on", "enabled"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off", "disabled"})


def to_int(value: str) -> int | None:
    """``int(value)``, or None when it is not a plain decimal integer."""
    if "_" in value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def to_bool(value: str) -> bool | None:
    """True/False for the yes/no spellings Asterisk uses, None for anything else."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


class Field(Generic[T]):
    """One documented header of an event, read as a typed attribute.

    On an instance: the converted value, the raw ``str`` when it does not
    convert, or None when the header is absent. On the class: the field itself,
    so ``events.Newchannel.channel_state.header == "ChannelState"``.
    """

    __slots__ = ("convert", "doc", "header", "kind")

    def __init__(self, header: str, convert: Callable[[str], T | None] | None, kind: str, doc: str) -> None:
        self.header = header
        self.convert = convert
        self.kind = kind
        self.doc = doc

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Field[T]: ...
    @overload
    def __get__(self, obj: Event, owner: type[Any]) -> T | str | None: ...
    def __get__(self, obj: Event | None, owner: type[Any]) -> Field[T] | T | str | None:
        if obj is None:
            return self
        value = obj.headers.get(self.header)
        convert = self.convert
        if value is None or convert is None:
            return value
        converted = convert(value)
        return value if converted is None else converted

    def __repr__(self) -> str:
        return f"Field({self.header!r}, kind={self.kind!r})"


def text(header: str, doc: str = "") -> Field[str]:
    """A header kept as ``str``."""
    return Field(header, None, "str", doc)


def integer(header: str, doc: str = "") -> Field[int]:
    """A header the docs describe as a number."""
    return Field(header, to_int, "int", doc)


def flag(header: str, doc: str = "") -> Field[bool]:
    """A header the docs describe as yes/no, true/false or 0/1."""
    return Field(header, to_bool, "bool", doc)


def choice(header: str, enum_class: type[E], doc: str = "") -> Field[E]:
    """A header whose values the docs enumerate: a member of ``enum_class``."""

    def convert(value: str) -> E | None:
        try:
            return enum_class(value)
        except ValueError:
            return None

    return Field(header, convert, "enum", doc)


# -- events --------------------------------------------------------------------


class TypedEvent(Event):
    """Base of the generated event classes: an ``Event`` with typed attributes.

    Construction is exactly ``Event``'s; attributes read ``headers`` when asked.
    """

    __slots__ = ()

    event_name: ClassVar[str | None] = None
    documented: ClassVar[bool] = True
    """False for the few events Asterisk 22 sends but does not document."""
    fields: ClassVar[Mapping[str, Field[Any]]] = {}
    """Attribute name -> Field, for every typed attribute of the class."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found = dict(cls.fields)
        found.update((name, value) for name, value in vars(cls).items() if isinstance(value, Field))
        cls.fields = found

    def typed(self) -> dict[str, object]:
        """The typed attributes whose headers are present, by attribute name."""
        get = self.headers.get
        return {
            name: getattr(self, name) for name, field in self.fields.items() if get(field.header) is not None
        }


# -- actions -------------------------------------------------------------------

Assignments = Mapping[str, HeaderValue] | Iterable[str]
"""``{"A": "1"}`` or ``["A=1"]``: one ``NAME=VALUE`` header each."""
Indexed = Mapping[int, HeaderValue] | Sequence[HeaderValue | None]
"""Values of a numbered header family (``Action-000000``, ``UnitAmount(0)``), by index."""
FreeHeaders = Mapping[str, HeaderValue | Sequence[HeaderValue]] | Iterable[tuple[str, HeaderValue]]
"""Headers of the program's choosing (``UserEvent``), in order; a list repeats a header."""


class Repeated(list[str]):
    """Values of a parameter documented as repeatable: one header each.

    Only the generated code makes these, so that a plain list given for a
    single-valued parameter is refused instead of repeating its header.
    """

    __slots__ = ()


_Item = tuple[str, HeaderValue | Repeated | None]

_SCALARS = (str, int, float, bool)

# What Asterisk's argument parser (app.c, __ast_app_separate_args) reads in a
# Variable header: a comma splits variables, a double quote is dropped, and a
# backslash is dropped and makes the next character literal.
_ARGUMENT_SPECIALS = re.compile(r'[\\",]')


def _scalar(what: str, value: object) -> HeaderValue:
    """``value`` if it is one header value (str, int, float or bool); else refused."""
    if not isinstance(value, _SCALARS):
        raise LocalProtocolError(f"{what} must be a str, int, float or bool, not {type(value).__name__}")
    return value


def _assignment(name: object, value: object) -> str:
    """``NAME=VALUE`` escaped so that Asterisk sets exactly ``name`` to exactly ``value``."""
    # Asterisk drops leading blanks and ends the name at the first "=".
    if not isinstance(name, str) or not name or name != name.strip() or "=" in name:
        raise LocalProtocolError(
            f"a variable name must be a non-empty str without '=' or surrounding spaces, not {name!r}"
        )
    text = header_text(_scalar(f"the value of variable {name!r}", value))
    return _escape_argument(name) + "=" + _escape_argument(text)


def _escape_argument(text: str) -> str:
    return _ARGUMENT_SPECIALS.sub(r"\\\g<0>", text)


def assignments(value: Assignments | None) -> Repeated | None:
    """``NAME=VALUE`` headers for a ``Variable``-like parameter that may repeat.

    From a dict ``{name: value}`` or from ``"NAME=VALUE"`` strings, each split at
    its first ``=``. Backslash, double quote and comma are escaped with a
    backslash: Asterisk would otherwise split the value at a comma into a second
    variable, and drop quotes and backslashes.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        return Repeated(_assignment(name, item) for name, item in value.items())
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
        raise LocalProtocolError(f"expected a dict or 'NAME=VALUE' strings, not {type(value).__name__}")
    found = Repeated()
    for item in value:
        if not isinstance(item, str) or "=" not in item:
            raise LocalProtocolError(f"expected 'NAME=VALUE' strings, got {item!r}")
        name, _, text = item.partition("=")
        found.append(_assignment(name, text))
    return found


def indexed(pattern: str, value: Indexed | None) -> list[tuple[str, HeaderValue]]:
    """Header pairs for a numbered family: ``pattern.format(index)`` for each value."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, (Mapping, Sequence)):
        raise LocalProtocolError(
            f"{pattern.format(0)!r} takes a list or a dict of values, not {type(value).__name__}"
        )
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    pairs: list[tuple[str, HeaderValue]] = []
    for index, item in items:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise LocalProtocolError(f"{pattern.format(0)!r} takes indexes >= 0, not {index!r}")
        if item is not None:
            pairs.append((pattern.format(index), _scalar(repr(pattern.format(index)), item)))
    return pairs


def free_headers(value: FreeHeaders | None) -> list[tuple[str, HeaderValue]]:
    """Header pairs from a mapping (a list value repeats the header) or from pairs."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        raise LocalProtocolError(f"headers must be a dict or (name, value) pairs, not {type(value).__name__}")
    pairs: list[tuple[str, HeaderValue]] = []
    if isinstance(value, Mapping):
        for name, item in value.items():
            if isinstance(item, (list, tuple)):
                pairs.extend((name, _scalar(f"header {name!r}", each)) for each in item)
            else:
                pairs.append((name, _scalar(f"header {name!r}", item)))
    else:
        for pair in value:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise LocalProtocolError(f"headers must be (name, value) pairs, got {pair!r}")
            name, item = pair
            pairs.append((name, _scalar(f"header {name!r}", item)))
    for name, _ in pairs:
        if not isinstance(name, str):
            raise LocalProtocolError(f"a header name must be a str, not {name!r}")
    return pairs


class ActionBuilder(Action):
    """Base of the generated action builders: an ``Action`` built from keywords.

    Each subclass's ``__init__`` signature is the documented parameter list;
    ``__new__`` checks the keywords against it first, so that a missing or
    unknown parameter raises ``LocalProtocolError`` naming the right ones.
    """

    __slots__ = ()

    action_name: ClassVar[str] = ""
    completion_event: ClassVar[str | None] = None
    """The event that ends this action's list, for servers without ``EventList``."""
    parameters: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(keyword, the header or header pattern it fills), in documented order."""
    required: ClassVar[tuple[str, ...]] = ()
    _known: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        code = init.__code__
        start = code.co_argcount
        names = code.co_varnames[start : start + code.co_kwonlyargcount]
        defaults = init.__kwdefaults__ or {}
        cls._known = frozenset(names)
        cls.required = tuple(name for name in names if name not in defaults)

    def __new__(cls, *args: object, **kwargs: object) -> ActionBuilder:
        if args:
            raise LocalProtocolError(f"{cls.__name__} takes keyword arguments only")
        unknown = [name for name in kwargs if name not in cls._known]
        if unknown:
            raise LocalProtocolError(cls._unknown_message(unknown))
        # None means "not sent", which a required parameter cannot be.
        given_none = [name for name in cls.required if name in kwargs and kwargs[name] is None]
        if given_none:
            raise LocalProtocolError(
                f"{cls.__name__} requires {', '.join(map(repr, given_none))}, and None is no value"
            )
        missing = [name for name in cls.required if name not in kwargs]
        if missing:
            raise LocalProtocolError(
                f"{cls.__name__} requires {', '.join(repr(name) for name in missing)} ({cls._accepted()})"
            )
        return super().__new__(cls)

    @classmethod
    def _accepted(cls) -> str:
        return "it takes " + ", ".join(sorted(cls._known)) if cls._known else "it takes no parameters"

    @classmethod
    def _unknown_message(cls, unknown: list[str]) -> str:
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, cls._known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        return f"{cls.__name__} does not take {', '.join(parts)}; {cls._accepted()}"

    def _init(self, action_id: str | None, *items: _Item) -> None:
        pairs: list[tuple[str, HeaderValue]] = []
        if action_id is not None:
            pairs.append(("ActionID", action_id))
        for header, value in items:
            if value is None:
                continue
            if isinstance(value, Repeated):
                pairs.extend((header, each) for each in value)
            elif isinstance(value, _SCALARS):
                pairs.append((header, value))
            else:
                keyword = next((name for name, filled in self.parameters if filled == header), header)
                raise LocalProtocolError(
                    f"{type(self).__name__}: {keyword!r} takes one str, int, float or bool, "
                    f"not {type(value).__name__}"
                )
        Action.__init__(self, self.action_name, pairs, list_complete_event=self.completion_event)
