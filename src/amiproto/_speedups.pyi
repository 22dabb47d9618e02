# The optional C module built from _speedups.c; see _accel.py.

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

_E = TypeVar("_E")

def take_events(
    buffer: bytes | bytearray,
    max_message_size: int,
    resume: int,
    first_lf: int,
    names: dict[bytes, tuple[str, type[_E]]],
    learn: Callable[[bytes], tuple[str, type[_E]]],
    encoding: str,
    event_type: type[Any],
    answerer: Answerer | None = None,
    /,
) -> tuple[list[_E], bytes | None, int, int, int, int]: ...

class Answerer: ...

def sender(
    pending: dict[str, Any],
    in_order: deque[Any],
    deadlines: list[Any],
    order: Iterator[int],
    heappush: Callable[[list[Any], Any], None],
    action_type: type[Any],
    pending_type: type[Any],
    ready: object,
    plain: int,
    /,
) -> Callable[[Any, Any, float | None, float | None], bytes | None]: ...
def header_pairs(items: Sequence[object], good_names: set[str], /) -> tuple[tuple[str, str], ...] | None: ...
def serialize(name: str, headers: tuple[tuple[str, str], ...], encoding: str, /) -> bytes | None: ...
def answerer(
    pending: dict[str, Any], response_type: type[Any], completed_type: type[Any], pending_type: type[Any], /
) -> Answerer: ...
def message_getters(
    message_type: type[Any],
    response_type: type[Any],
    headers_type: type[Any],
    shape_of_key: Callable[[bytes], Any],
    no_names: Any,
    python_parse: Callable[[Any], Any],
    python_action_id: Callable[[Any], str | None],
    /,
) -> tuple[Callable[[Any], Any], Callable[[Any], str | None]]: ...
def iter_headers(names: tuple[str, ...], values: Sequence[str], /) -> Iterator[tuple[str, str]]: ...
def untrack(items: list[object], base: type, /) -> None: ...
def values_view(start: int, stop: int, values: Sequence[Any], /) -> Sequence[Any]: ...
def field_assigner(
    names: tuple[str | None, ...], converters: tuple[Callable[[str], Any] | None, ...], /
) -> Callable[[Any, Sequence[Any], Sequence[Any] | None, dict[str, tuple[Any, Any]]], None]: ...
def instance_maker(cls: type[_E], names: tuple[str, ...], /) -> Callable[..., _E]: ...
def type_dispatcher(by_class: dict[type, Any], fallback: Callable[[Any, Any], Any], /) -> Any: ...
def shape_reader(
    getters: dict[Any, Callable[[Any], Any]], miss: Callable[[Any], Any], /
) -> Callable[[Any], Any]: ...
