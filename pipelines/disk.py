"""A full disk, found in a failure's exception chain and named by the folder that is full.

dlt and DuckDB report a full disk in several shapes: an ``OSError`` with ``errno`` ENOSPC or
EDQUOT (with or without the file's name), pyarrow's ``OSError`` that only says so in its text,
or DuckDB's ``IO Error: Could not write file "…": No space left on device``, which dlt passes on
as the text of its own exceptions (a load job's retry carries only the message). The folder is
taken from the file the error names; when it names none, from the run's folders, the one whose
disk has (next to) no space left.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
from dlt.common.destination.exceptions import DestinationException

from sage_source.errors import DISK_FULL_ERRNOS, SageSourceError

FULL_TEXTS = tuple(os.strerror(number) for number in sorted(DISK_FULL_ERRNOS))  # "No space left on device"
# DuckDB's 'Could not write file "X"' (lower case: a traceback's 'File "..."' lines are not it)
_QUOTED_FILE = re.compile(r'\b(?:file|directory) "([^"]+)"')
_NEARLY_FULL = 1024 * 1024  # bytes free below which a disk counts as the full one


class DiskFullError(Exception):
    """A disk the run writes to is full (or its quota is used up)."""

    def __init__(self, folder: Path | None, reason: str) -> None:
        self.folder = folder
        where = f"the disk holding {folder}" if folder else "a disk this run writes to"
        super().__init__(f"{where} is full ({reason}): free space there and run again")


def disk_full(error: BaseException, folders: Iterable[Path] = ()) -> DiskFullError | None:
    """The full disk behind ``error``, or None when it is not about a full disk.

    A :class:`SageSourceError` in the chain speaks for itself (the token store's own error names
    its folder and says the chain is intact), so it is left alone."""
    for cause in chain(error):
        if isinstance(cause, DiskFullError):
            return cause
        if isinstance(cause, SageSourceError):
            return None
        found = _full(cause)
        if found is not None:
            path, reason = found
            folder = Path(path).parent if path else fullest(folders)
            return DiskFullError(folder, reason)
    return None


def _full(cause: BaseException) -> tuple[str | None, str] | None:
    """(the file named, if any; the reason) when ``cause`` says a disk is full."""
    if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
        filename = cause.filename if isinstance(cause.filename, str) else None
        return filename, cause.strerror or os.strerror(cause.errno)
    if isinstance(cause, OSError | duckdb.Error | DestinationException):
        text = str(cause)
        for reason in FULL_TEXTS:
            if reason in text:
                named = _QUOTED_FILE.search(text)
                return (named.group(1) if named else None), reason
    return None


def fullest(folders: Iterable[Path]) -> Path | None:
    """The first folder whose disk has less than 1 MiB free (the nearest existing parent is asked)."""
    for folder in folders:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is None:
            continue
        try:
            free = shutil.disk_usage(existing).free
        except OSError:
            continue
        if free < _NEARLY_FULL:
            return folder
    return None


def mentions_full_disk(text: str) -> bool:
    return any(reason in text for reason in FULL_TEXTS)


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what caused it (explicitly or while it was handled), outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__
