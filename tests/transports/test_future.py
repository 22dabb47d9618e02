"""LightFuture behaves as a concurrent.futures.Future, with fewer objects for the GC."""

from __future__ import annotations

import concurrent.futures
import gc
import threading
import time
from concurrent.futures import Future

import pytest

from amiproto_transports._future import LightFuture


def test_it_has_exactly_the_attributes_of_a_stock_future() -> None:
    # Future's methods read these; a new Python adding one would show here first. The
    # callbacks' list is a class default until the first callback is added.
    stock = set(vars(Future()))
    light: LightFuture[int] = LightFuture()
    defaults = {name for name in stock if name in vars(LightFuture)}
    assert set(vars(light)) | defaults == stock and not set(vars(light)) & defaults
    assert defaults == {"_done_callbacks"}
    assert isinstance(light, Future)


def test_callbacks_get_a_list_of_their_own_on_the_first_add() -> None:
    first: LightFuture[int] = LightFuture()
    second: LightFuture[int] = LightFuture()
    seen: list[tuple[str, int]] = []
    first.add_done_callback(lambda f: seen.append(("a", f.result())))
    first.add_done_callback(lambda f: seen.append(("b", f.result())))
    assert "_done_callbacks" not in vars(second)  # none added: the shared empty default
    second.set_result(2)  # runs no callback, and leaves the default alone
    first.set_result(1)
    first.add_done_callback(lambda f: seen.append(("late", f.result())))  # runs at once
    assert seen == [("a", 1), ("b", 1), ("late", 1)]
    assert vars(LightFuture)["_done_callbacks"] == ()  # the default is still empty


def test_result_exception_and_callbacks() -> None:
    future: LightFuture[int] = LightFuture()
    seen: list[object] = []
    future.add_done_callback(lambda f: seen.append(f.result()))
    assert not future.done()
    future.set_result(7)
    assert future.done() and future.result(0) == 7 and seen == [7]
    failed: LightFuture[int] = LightFuture()
    failed.set_exception(KeyError("k"))
    with pytest.raises(KeyError):
        failed.result()
    assert isinstance(failed.exception(), KeyError)


def test_timeouts_and_cancel() -> None:
    future: LightFuture[int] = LightFuture()
    with pytest.raises(concurrent.futures.TimeoutError):
        future.result(0.01)
    with pytest.raises(concurrent.futures.TimeoutError):
        future.result(0)
    assert future.cancel() and future.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(1)
    assert not future._condition._waiters  # type: ignore[attr-defined]  # timed-out waiters are removed


def test_waiters_in_many_threads_all_wake() -> None:
    future: LightFuture[str] = LightFuture()
    results: list[str] = []
    lock = threading.Lock()

    def wait() -> None:
        value = future.result(5)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    future.set_result("done")
    for thread in threads:
        thread.join(5)
    assert results == ["done"] * 8


def test_wait_and_as_completed_accept_it() -> None:
    futures: list[Future[int]] = [LightFuture() for _ in range(3)]
    timer = threading.Timer(0.02, lambda: futures[1].set_result(1))
    timer.start()
    first = concurrent.futures.FIRST_COMPLETED
    done, pending = concurrent.futures.wait(futures, timeout=5, return_when=first)
    assert done == {futures[1]} and len(pending) == 2
    futures[0].set_result(0)
    futures[2].set_exception(ValueError())
    finished = concurrent.futures.as_completed(futures, 5)
    assert {f.result() if f.exception() is None else -1 for f in finished} == {0, 1, -1}
    timer.join()


def test_it_makes_fewer_objects_for_the_collector() -> None:
    def tracked(make: type[Future[int]]) -> int:
        gc.collect()
        before = len(gc.get_objects())
        kept = [make() for _ in range(100)]
        count = len(gc.get_objects()) - before
        del kept
        return count

    assert tracked(LightFuture) <= tracked(Future) / 2


def test_an_answered_result_is_read_without_taking_the_lock() -> None:
    """The reader of an answer does not queue behind a thread that holds the
    condition (a stock Future's result() takes it every time)."""
    future: LightFuture[int] = LightFuture()
    future.set_result(3)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with future._condition:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    got: list[int] = []
    try:
        assert held.wait(5)
        reader = threading.Thread(target=lambda: got.append(future.result()))
        reader.start()
        reader.join(2)
        read_while_held = not reader.is_alive()
    finally:
        release.set()
        holder.join(5)
    reader.join(5)
    assert read_while_held and got == [3]


@pytest.mark.parametrize("make", [Future, LightFuture])
def test_set_result_refuses_and_accepts_as_a_stock_future_does(make: type[Future[int]]) -> None:
    """LightFuture has a set_result of its own: the same states refused, and a running
    future answered; a failing callback is logged and the next one still runs."""
    answered = make()
    answered.set_result(1)
    with pytest.raises(concurrent.futures.InvalidStateError, match="FINISHED"):
        answered.set_result(2)
    assert answered.result() == 1
    cancelled = make()
    cancelled.cancel()
    with pytest.raises(concurrent.futures.InvalidStateError, match="CANCELLED"):
        cancelled.set_result(2)
    running = make()
    assert running.set_running_or_notify_cancel()
    seen: list[int] = []

    def fails(_: Future[int]) -> None:
        raise RuntimeError("a callback that fails")

    running.add_done_callback(fails)
    running.add_done_callback(lambda f: seen.append(f.result()))
    running.set_result(3)
    assert running.result() == 3 and seen == [3]


def test_set_result_wakes_a_waiting_thread_and_a_wait_call() -> None:
    """Both are woken by the answer, not by their timeouts (longer than the joins)."""
    future: LightFuture[int] = LightFuture()
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.append(future.result(20)), daemon=True)
    reader.start()
    waited: list[set[Future[int]]] = []
    waiter = threading.Thread(
        target=lambda: waited.append(concurrent.futures.wait([future], 20).done), daemon=True
    )
    waiter.start()
    deadline = time.monotonic() + 5
    # Until both wait: the reader on the condition, and wait()'s waiter in the future.
    while not future._condition._waiters or not future._waiters:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the two threads never waited"
        time.sleep(0.001)
    future.set_result(4)
    reader.join(5)
    waiter.join(5)
    assert got == [4] and waited == [{future}]
