"""Run an iterator in a thread, a bounded number of items ahead of its consumer.

Fetching a page (network, and Sage's time to answer) and parsing one (CPU) can overlap: the
thread follows ``$next`` and queues pages while the consumer parses the ones it has. The queue
is bounded, so memory is too. Errors reach the consumer where it reads; closing the consumer
stops the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar, cast

T = TypeVar("T")
_POLL = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def ahead(items: Iterator[T], depth: int, name: str = "read-ahead") -> Generator[T, None, None]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them in advance.

    The thread starts with the first ``next()`` and stops when the consumer is closed.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(items, buffer, stop), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()


def _produce(items: Iterator[object], buffer: queue.Queue[object], stop: threading.Event) -> None:
    """The thread: every item, then ``_DONE`` or the error; ``items`` is closed either way."""
    try:
        for item in items:
            if not _offer(item, buffer, stop):
                return
        _offer(_DONE, buffer, stop)
    except BaseException as error:
        _offer(_Failed(error), buffer, stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _offer(item: object, buffer: queue.Queue[object], stop: threading.Event) -> bool:
    """Queue ``item`` unless the consumer stops first (then False): a full queue never blocks
    the thread past ``stop``, so closing the consumer always ends it."""
    while not stop.is_set():
        try:
            buffer.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False
