"""Errors the source raises, each one line a person can act on. Tokens never appear in them."""

from __future__ import annotations

import errno
import os
from pathlib import Path

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class SageSourceError(Exception):
    """Base class, and the kind for bad settings: something the user or operator has to fix.

    Its subclasses are the other kinds: :class:`ReauthorizationError` (a new consent is needed)
    and :class:`SageUnavailableError` (Sage failed, refused or sent what cannot be read: later
    may work). ``sage-pipeline`` exits 2, 3 and 4 on them (``pipelines.cli.KINDS``)."""


class SageUnavailableError(SageSourceError):
    """Sage (its API or its token endpoint) cannot be reached, failed or refused after the retries,
    or answered something that cannot be used: nothing to fix here, run again later."""


class ReauthorizationError(SageSourceError):
    """The refresh-token chain is dead (expired, revoked or spent): only a new consent helps."""

    def __init__(self, reason: str, connection: str | None = None) -> None:
        self.reason = reason  # the words in brackets: what a token store records as the cause
        named = f" --connection {connection}" if connection not in (None, "default") else ""
        super().__init__(
            f"Sage needs to be authorised again ({reason}). Run `sage-pipeline auth{named}`, then run again."
        )


class TokenStoreInvalidError(ReauthorizationError):
    """The token store holds something that is not a token set (``{}``, ``[]``, ``null``, not JSON)."""

    def __init__(self, path: Path | str, what: str) -> None:
        self.reason = f"the token store holds no usable tokens ({what})"
        SageSourceError.__init__(
            self,
            f"the token store {path} holds no usable tokens ({what}): run `sage-pipeline auth` to connect "
            "again, or set token_store to the file that holds them",
        )


class TokenStoreUnwritableError(SageSourceError):
    """The token store's folder cannot take a new token set (full disk, quota, read-only, permissions).

    Raised before anything is sent to Sage, so the refresh-token chain is untouched; ``disk_full``
    tells the CLI to exit 74 rather than 2."""

    def __init__(self, folder: Path, error: OSError, consequence: str) -> None:
        self.folder = folder
        self.disk_full = error.errno in DISK_FULL_ERRNOS
        super().__init__(f"{_cannot_write(folder, error)}; {consequence}")


def _cannot_write(folder: Path, error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return f"the disk holding {folder} is full: free space there and run again"
    if error.errno == errno.EDQUOT:
        return f"the disk quota for {folder} is used up: free space there (or raise the quota) and run again"
    if error.errno == errno.EROFS:
        return f"{folder} is on a read-only file system: make it writable or set token_store elsewhere"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{folder} is not writable by this user: fix its permissions or set token_store elsewhere"
    reason = error.strerror or (os.strerror(error.errno) if error.errno else type(error).__name__)
    return f"cannot write in {folder} ({reason}): fix it or set token_store elsewhere, and run again"


class TokenStoreUnavailableError(SageSourceError):
    """A shared token store (a PostgreSQL database) cannot be reached or refused a statement.

    The message names the store without its password and says whether Sage was sent anything; it
    never quotes a value, so no token can be in it."""


class RequestBudgetUnavailableError(SageUnavailableError):
    """The shared request budget (a PostgreSQL database) cannot be reached or refused a statement:
    nothing was sent to Sage, and later may work. The message names the database without its password."""


class SageUnreachableError(SageUnavailableError):
    """No connection to Sage could be made, after the retries."""


class TokenResponseError(SageUnavailableError):
    """Sage's token endpoint answered 200 with something that is not a token set.

    Not a :class:`SageDataError`: that one ends only the business × resource being read, while no
    request can be made without tokens, so this one ends the run."""


class AmbiguousRefreshError(SageUnavailableError):
    """A token refresh was sent but its answer was lost: retrying could spend a rotated token."""


class SageApiError(SageUnavailableError):
    """Sage answered an error that retrying will not fix (4xx, or 5xx after the retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SageDataError(SageUnavailableError):
    """A response that does not have the shape Sage documents (bad JSON, a non-numeric amount)."""


class UnsafeNextLinkError(SageUnavailableError):
    """``$next`` points away from the API host: following it would send the bearer token there."""
