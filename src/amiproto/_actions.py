"""Actions: what a client asks the server to do, and their bytes on the wire."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import _accel
from ._errors import LocalProtocolError
from ._redact import REDACTED, is_secret, redact_pairs, secret_names

__all__ = ["Action", "HeaderValue", "check_header", "encode_value", "header_text"]

HeaderValue = str | int | float | bool

_FORBIDDEN = ("\r", "\n", "\0")


def header_text(value: HeaderValue) -> str:
    """A header value as sent: bools as ``true``/``false``, the words Asterisk's ``ast_true`` reads."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise LocalProtocolError(f"header values must be str, int, float or bool, not {type(value).__name__}")
    # An exact str: a subclass's __str__ or __format__ could write other characters
    # than the ones checked (a CRLF, a second action) when the action is serialised.
    return str.__str__(text)


def check_header(name: str, value: str, *, secret: bool | None = None) -> None:
    """Refuse what would break the framing: one stray CRLF would inject a second action.

    ``secret``: whether the value is a credential, not to be shown in the error
    (default: judged from ``name`` alone; an action knows better, see ``secret_names``).
    """
    if not isinstance(name, str) or not name:
        raise LocalProtocolError(f"a header name must be a non-empty str, not {name!r}")
    if ":" in name or name != name.strip():
        raise LocalProtocolError(f"header name {name!r} may not contain ':' or surrounding spaces")
    # Spelled out rather than looped over _FORBIDDEN: every header of every action
    # passes here, and the common case is three C-level searches per string.
    if "\r" in name or "\n" in name or "\0" in name:
        bad = next(bad for bad in _FORBIDDEN if bad in name)
        raise LocalProtocolError(f"header name {name!r} contains {bad!r}")
    if "\r" in value or "\n" in value or "\0" in value:
        bad = next(bad for bad in _FORBIDDEN if bad in value)
        hidden = is_secret(name) if secret is None else secret
        shown = REDACTED if hidden else repr(value)
        raise LocalProtocolError(f"value of header {name!r} contains {bad!r}: {shown}")


def encode_value(
    name: str, value: str, encoding: str, *, part: str = "value of header", secret: bool | None = None
) -> bytes:
    """``value`` in ``encoding``, or ``LocalProtocolError`` for what the wire cannot carry.

    ``surrogateescape`` lets through exactly the lone surrogates U+DC80..U+DCFF,
    which stand for the undecodable bytes of a received message and so round-trip
    to them; any other surrogate, or a character the encoding lacks, is refused.
    """
    try:
        return value.encode(encoding, "surrogateescape")
    except UnicodeEncodeError as error:
        hidden = is_secret(name) if secret is None else secret
        shown = REDACTED if hidden else repr(error.object[error.start : error.end])
        raise LocalProtocolError(
            f"{part} {name!r} cannot be encoded in {encoding}: {shown} at {error.start}"
        ) from None


# Action and header names that passed every check of ``check_header`` (and, for a
# header, are not "Action"): a name seen before costs one set lookup. Bounded, so
# that a program making ever new names cannot grow them for ever; a race between
# threads at worst checks a name twice.
_GOOD_ACTION_NAMES: set[str] = set()
_GOOD_NAMES: set[str] = set()
_NAMES_LIMIT = 4096


def _remember(names: set[str], name: str) -> None:
    if len(names) < _NAMES_LIMIT and type(name) is str:
        names.add(name)


def _plain_headers(items: Sequence[object], good_names: set[str]) -> tuple[tuple[str, str], ...] | None:
    """The headers of ``items`` when each is plain: a pair whose name was checked
    before (in ``good_names``) and whose value is a str free of CR, LF and NUL, a
    bool, an int or a float (exact types). None as soon as one is not: the general
    path then checks everything and says what is wrong."""
    headers: list[tuple[str, str]] = []
    append = headers.append
    for pair in items:
        if type(pair) is not tuple or len(pair) != 2:
            return None
        header, value = pair
        if type(value) is not str:
            if type(value) is bool:
                value = "true" if value else "false"
            elif type(value) is int or type(value) is float:
                value = str(value)
            else:
                return None
        if type(header) is not str or header not in good_names:
            return None
        if "\r" in value or "\n" in value or "\0" in value:
            return None
        append((header, value))
    return tuple(headers)


def _python_serialize(name: str, headers: tuple[tuple[str, str], ...], encoding: str) -> bytes | None:
    """An action's bytes: ``Action:`` first, then each header, then a blank line; None
    when ``encoding`` cannot carry them (the caller finds what to blame)."""
    if len(headers) == 1:  # an ActionID alone, as most actions the core numbers
        ((header, value),) = headers
        text = f"Action: {name}\r\n{header}: {value}\r\n\r\n"
    else:
        text = "".join([f"Action: {name}\r\n", *[f"{h}: {v}\r\n" for h, v in headers], "\r\n"])
    try:
        return text.encode(encoding, "surrogateescape")
    except UnicodeEncodeError:
        return None


# The C twins (see _speedups.c); None: pure Python.
_C_HEADER_PAIRS: Callable[[Sequence[object], set[str]], tuple[tuple[str, str], ...] | None] | None = (
    _accel.c_function(__name__, "_C_HEADER_PAIRS")
)
_C_SERIALIZE: Callable[[str, tuple[tuple[str, str], ...], str], bytes | None] | None = _accel.c_function(
    __name__, "_C_SERIALIZE"
)


def _shape(pair: object) -> str:
    """What a malformed header pair is, without its content."""
    try:
        return f"a {type(pair).__name__} of length {len(pair)}"  # type: ignore[arg-type]
    except TypeError:
        return f"a {type(pair).__name__}"


class Action:
    """One AMI action: a name and ordered headers (duplicates allowed).

    ``Action("Originate", [("Variable", "A=1"), ("Variable", "B=2")], Channel="Local/1@x")``
    The pairs come first, then the keyword fields, each in the order given. A
    ``list_complete_event`` names the event that ends this action's list, for
    servers too old to send ``EventList`` headers.
    """

    __slots__ = ("headers", "list_complete_event", "name")

    def __init__(
        self,
        name: str,
        pairs: Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue] = (),
        *,
        list_complete_event: str | None = None,
        **fields: HeaderValue,
    ) -> None:
        # The fast path: names checked before (a cache) and str values free of CR,
        # LF and NUL. Anything else, errors included, takes the general path,
        # which says what is wrong exactly as it always has.
        if type(pairs) is tuple or type(pairs) is list:
            items: Sequence[object] = pairs
        elif isinstance(pairs, Mapping):
            items = list(pairs.items())
        else:
            items = list(pairs)  # once: the general path may have to read it again
        if fields:
            items = [*items, *fields.items()]
        if type(name) is not str or name not in _GOOD_ACTION_NAMES:
            self._init_checked(name, items, list_complete_event)
            return
        headers = (_C_HEADER_PAIRS or _plain_headers)(items, _GOOD_NAMES)
        if headers is None:
            self._init_checked(name, items, list_complete_event)
            return
        self.name = name
        self.headers: tuple[tuple[str, str], ...] = headers
        self.list_complete_event = list_complete_event

    def _init_checked(self, name: str, items: Sequence[Any], list_complete_event: str | None) -> None:
        """``__init__`` with every check spelled out; names that pass go in the caches."""
        check_header("Action", name if isinstance(name, str) else "")
        if not isinstance(name, str) or not name.strip():
            raise LocalProtocolError(f"an action needs a name, got {name!r}")
        texts: list[tuple[str, str]] = []
        for pair in items:
            try:
                header, value = pair
            except (TypeError, ValueError):
                # Its shape only: a malformed pair may well hold a secret.
                raise LocalProtocolError(f"headers must be (name, value) pairs, got {_shape(pair)}") from None
            texts.append((header, header_text(value)))
        # Judged on the whole action: a config secret's Value-N is one by its Var-N.
        secret = secret_names(texts)
        headers: list[tuple[str, str]] = []
        for given, text in texts:
            check_header(given, text, secret=isinstance(given, str) and given.strip().lower() in secret)
            if given.lower() == "action":
                raise LocalProtocolError("the action name is the first argument, not an 'Action' header")
            header = str.__str__(given)  # an exact str, as header_text makes the value
            headers.append((header, text))
            _remember(_GOOD_NAMES, header)
        name = str.__str__(name)
        _remember(_GOOD_ACTION_NAMES, name)
        self.name = name
        self.headers = tuple(headers)
        self.list_complete_event = list_complete_event

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header given, or None (``Connection.send()`` then makes one)."""
        for header, value in self.headers:
            if header.lower() == "actionid":
                return value
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (any case), or ``default``."""
        lowered = name.lower()
        for header, value in self.headers:
            if header.lower() == lowered:
                return value
        return default

    def with_action_id(self, action_id: str) -> Action:
        """A copy with ``ActionID`` placed right after the action name."""
        check_header("ActionID", action_id)
        return self._with_checked_id(action_id)

    def _with_checked_id(self, action_id: str) -> Action:
        """``with_action_id`` for an ActionID known to be safe (the core makes its own)."""
        copy = _new_action(Action)
        copy.name = self.name
        copy.headers = (("ActionID", action_id), *self.headers)
        copy.list_complete_event = self.list_complete_event
        return copy

    def serialize(self, encoding: str = "utf-8") -> bytes:
        """The bytes of this action on the wire: ``Action:`` first, then each header, then a blank line."""
        data = None if _C_SERIALIZE is None else _C_SERIALIZE(self.name, self.headers, encoding)
        if data is None:  # pure Python, or not UTF-8, or a lone surrogate
            data = _python_serialize(self.name, self.headers, encoding)
        if data is not None:
            return data
        # Rare: find the header to blame, without the whole message (it may hold a secret).
        secret = secret_names(self.headers)
        for header, value in (("Action", self.name), *self.headers):
            encode_value(header, header, encoding, part="header name")
            encode_value(header, value, encoding, secret=header.strip().lower() in secret)
        raise AssertionError("unreachable: every header encodes")  # pragma: no cover

    def __repr__(self) -> str:
        return f"Action({self.name!r}, {redact_pairs(self.headers)!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return (self.name, self.headers) == (other.name, other.headers)

    def __hash__(self) -> int:
        return hash((self.name, self.headers))


_new_action = Action.__new__
