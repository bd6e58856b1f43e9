"""The ids a listing has already returned, in little memory: rows that come twice are dropped.

Sage pages by offset, so a row inserted or deleted ahead of the reader while it pages moves the
rows behind it by one place, and a row can come twice (at the end of one page and the start of
the next). :class:`FirstSighting` keeps the first copy of each; :mod:`sage_source.listing` asks it
about every page.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from hashlib import blake2b

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sage_source.pages import Page
from sage_source.tables import ID

log = logging.getLogger("sage_source")


class FirstSighting:
    """Keeps the first copy of each row a listing returns.

    The first copy is kept: if the row was edited in between, its new ``updated_at`` is after
    the listing began, which the watermark never passes, so the next run reads the newer version.

    A million ids as Python strings in a set take over 100 MB, so ids are kept as 16-byte keys
    in sorted NumPy runs (16 MB a million): Sage's ids (32 hex digits) are their own key; any
    other id is keyed by its 128-bit BLAKE2 digest, as unlikely to collide as two UUIDs.
    """

    RUN_KEYS = 1 << 17  # 2 MB a run: a million ids are eight runs and a few small ones

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []  # sorted, disjoint

    def unseen(self, page: Page) -> Page:
        keys = _keys(page.items.column(ID))
        keep = np.zeros(len(keys), dtype=bool)
        keep[np.unique(keys, return_index=True)[1]] = True  # twice in this page: the first
        for run in self._runs:
            at = np.searchsorted(run, keys).clip(max=len(run) - 1)
            keep &= run[at] != keys
        self._add(np.sort(keys[keep]))
        if keep.all():
            return page
        log.info(
            "%d row(s) came twice while paging (rows moved under the reader); kept the first", (~keep).sum()
        )
        return replace(page, items=page.items.filter(pa.array(keep)))

    def _add(self, run: np.ndarray) -> None:
        """Merge like a binary counter (each id is re-sorted O(log n) times), up to runs of
        ``RUN_KEYS``: merging bigger ones would briefly hold every key three times over."""
        self._runs.append(run)
        while (
            len(self._runs) > 1
            and len(self._runs[-2]) <= 2 * len(self._runs[-1])
            and len(self._runs[-2]) + len(self._runs[-1]) <= self.RUN_KEYS
        ):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(np.sort(np.concatenate([older, newer])))


def _keys(ids: pa.ChunkedArray) -> np.ndarray:
    texts: list[str] = ids.to_pylist()
    if texts and pc.min_max(pc.utf8_length(ids)).as_py() == {"min": 32, "max": 32}:
        try:
            return np.frombuffer(bytes.fromhex("".join(texts)), dtype="S16")
        except ValueError:
            pass  # not hexadecimal after all
    return np.array([blake2b(text.encode(), digest_size=16).digest() for text in texts], dtype="S16")
