"""A growable, typed numpy column: amortised O(1) appends, zero-copy views for filtering."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class Column:
    """One attribute of every row of a collection, stored densely by row position."""

    __slots__ = ("_data", "_fill", "_size")

    def __init__(self, dtype: npt.DTypeLike, fill: int = 0, capacity: int = 64) -> None:
        self._data = np.full(capacity, fill, dtype=dtype)
        self._fill = fill
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def fill(self) -> int:
        """The value of a row that has no value for this attribute."""
        return self._fill

    def append(self, value: int) -> None:
        if self._size == len(self._data):
            grown = np.full(len(self._data) * 2, self._fill, dtype=self._data.dtype)
            grown[: self._size] = self._data
            self._data = grown
        self._data[self._size] = value
        self._size += 1

    def __setitem__(self, position: int, value: int) -> None:
        self._data[position] = value

    def __getitem__(self, position: int) -> int:
        return int(self._data[position])

    def view(self) -> np.ndarray:
        """The filled part of the column (a view: do not keep it across writes)."""
        return self._data[: self._size]
