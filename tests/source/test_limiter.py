"""The request budget: never more than N requests in any window, counted from their finish.

Sage dates a request when it arrives, after we send it; a budget dated at the send would let
the next request in a moment before Sage's window has room. These run the real limiter with a
short window in real threads; the assertions are lower bounds (never "took less than").
"""

from __future__ import annotations

import threading
import time

import pytest

from sage_source.limiter import RequestLimiter

WINDOW = 0.4


def test_a_request_waits_until_the_oldest_finished_one_leaves_the_window() -> None:
    limiter = RequestLimiter(per_minute=2, concurrency=4, window=WINDOW)
    finished: list[float] = []
    for _ in range(2):
        with limiter.slot():
            time.sleep(0.05)  # the request takes a while: its window starts when it ends
        finished.append(time.monotonic())
    with limiter.slot():
        started = time.monotonic()
    assert started - finished[0] >= WINDOW
    assert limiter.waited > 0


def test_requests_in_flight_count_against_the_budget() -> None:
    limiter = RequestLimiter(per_minute=2, concurrency=4, window=WINDOW)
    release = threading.Event()
    holding = threading.Barrier(3)

    def hold() -> None:
        with limiter.slot():
            holding.wait()
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    holding.wait()  # both requests are in flight, none finished
    entered = threading.Event()

    def one_more() -> None:
        with limiter.slot():
            entered.set()

    third = threading.Thread(target=one_more)
    third.start()
    assert not entered.wait(WINDOW * 1.5), "a third request started while two were in flight"
    release.set()
    assert entered.wait(5)
    for thread in (*threads, third):
        thread.join(5)


def test_without_a_budget_only_concurrency_limits() -> None:
    limiter = RequestLimiter(per_minute=None, concurrency=1)
    for _ in range(50):
        with limiter.slot():
            pass
    assert limiter.waited == 0


@pytest.mark.parametrize(("per_minute", "concurrency"), [(0, 1), (10, 0)])
def test_impossible_limits_are_refused(per_minute: int, concurrency: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RequestLimiter(per_minute=per_minute, concurrency=concurrency)
