# The optional C module built from _dispatch.c; see _shared/_callbacks.py and _shared/_session.py.

from collections.abc import Callable
from typing import Any

def dispatch(
    messages: list[Any],
    index: int,
    callbacks: tuple[Callable[[Any], object], ...] | None,
    position: int,
    by_name_cell: list[dict[str, tuple[type, tuple[Callable[[Any], object], ...]]]],
    matching: Callable[[Any], tuple[Callable[[Any], object], ...]],
    failed: Callable[[Callable[[Any], object], Any, BaseException], object],
    name_attr: str,
    caught: type[BaseException] = ...,
    /,
) -> tuple[int, tuple[Callable[[Any], object], ...], int, object] | None: ...
def all_instances(items: list[Any], cls: type, /) -> bool: ...
def route_answers(
    items: list[Any],
    start: int,
    waiters: dict[str, Any],
    completed: list[tuple[Any, Any]],
    response_type: type,
    completed_type: type,
    /,
) -> int: ...
