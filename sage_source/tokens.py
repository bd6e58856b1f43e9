"""Where the refresh-token chain lives: a file outside dlt state, written atomically, mode 0600.

Sage rotates the refresh token on every refresh and treats a reused one as stolen, so losing the
newest token disconnects the customer. dlt state is the wrong home (it rolls back when a run
fails, and a run that rotated and then failed would resurrect a spent token). The store is a
JSON file replaced atomically under a cross-process lock (``filelock``), so two processes never
refresh with the same token.

Reserve first: before a refresh is sent, a 0600 temporary file is made beside the store and
space is reserved in it (``posix_fallocate``). A disk that is full, over quota, read-only or not
ours fails there, before Sage has rotated anything, so the chain stays intact. Once Sage answers,
the new set is written into the reserved space (no new blocks needed), truncated to its size,
fsynced, renamed over the store, and the folder is fsynced.

Recovery: a process killed between the fsync and the rename leaves the newest token set in
``.<name>.*.tmp`` while the store holds a spent one. Under the lock, :meth:`FileTokenStore.recover`
renames such a leftover over the store when it is a complete token set newer than the store, and
removes every other leftover.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from sage_source.errors import (
    SageSourceError,
    TokenResponseError,
    TokenStoreInvalidError,
    TokenStoreUnwritableError,
)

log = logging.getLogger(__name__)

# Space reserved for a token set before a refresh is sent: a stored set is well under 1 KiB.
RESERVED_BYTES = 64 * 1024
NOTHING_SENT = "the token chain is intact, no refresh was sent"


@dataclass(frozen=True)
class TokenSet:
    """A Sage token response as stored. ``repr`` never shows the tokens."""

    refresh_token: str
    access_token: str | None = None
    access_expires_at: float = 0.0  # epoch seconds
    refresh_expires_at: float | None = None
    scope: str | None = None
    requested_by_id: str | None = None
    saved_at: float = 0.0

    def __repr__(self) -> str:
        return (
            f"TokenSet(access expires {self.access_expires_at:.0f}, "
            f"refresh expires {self.refresh_expires_at}, user {self.requested_by_id})"
        )

    def access_valid_for(self, now: float | None = None) -> float:
        if not self.access_token:
            return 0.0
        return self.access_expires_at - (time.time() if now is None else now)

    def refresh_expired(self, now: float | None = None) -> bool:
        return (
            self.refresh_expires_at is not None
            and (time.time() if now is None else now) >= self.refresh_expires_at
        )

    @classmethod
    def from_response(cls, body: dict[str, Any], now: float | None = None) -> TokenSet:
        """From ``POST /token``'s answer (``expires_in`` and ``refresh_token_expires_in`` are seconds)."""
        issued = time.time() if now is None else now
        try:
            refresh_lifetime = body.get("refresh_token_expires_in")
            return cls(
                refresh_token=str(body["refresh_token"]),
                access_token=str(body["access_token"]),
                access_expires_at=issued + float(body["expires_in"]),
                refresh_expires_at=None if refresh_lifetime is None else issued + float(refresh_lifetime),
                scope=body.get("scope"),
                requested_by_id=body.get("requested_by_id"),
                saved_at=issued,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenResponseError(f"Sage's token response lacks {exc}; it cannot be used") from None


class FileTokenStore:
    """``load``/``save`` a :class:`TokenSet`; ``lock`` excludes other processes and threads.

    ``reserve`` makes room for the next set before it exists; ``recover`` (under the lock) finishes
    a save that was interrupted between its fsync and its rename."""

    def __init__(self, path: str | Path, connection_name: str = "default") -> None:
        self.path = Path(path).expanduser()
        self.connection_name = connection_name
        self._lock = FileLock(str(self.path) + ".lock", mode=0o600)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def location(self) -> str:
        return str(self.path)

    def mark_needs_reconsent(self, reason: str) -> None:
        """Nothing to record: the file holds one connection, and its next run meets Sage's refusal
        again (as it always has). The shared store records it, to stop only that connection."""

    @contextmanager
    def lock(self, timeout: float = 120) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            acquired = self._lock.acquire(timeout=timeout)
        except Timeout:
            raise
        except OSError as exc:
            raise TokenStoreUnwritableError(self.folder, exc, NOTHING_SENT) from None
        with acquired:
            yield

    def load(self) -> TokenSet | None:
        """The stored set, None when there is no store; :class:`TokenStoreInvalidError` when the
        file holds something that is not a token set. Reads only: safe without the lock."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SageSourceError(
                f"the token store {self.path} cannot be read ({exc.strerror or type(exc).__name__}): "
                "fix its permissions or set token_store to the file that holds the tokens"
            ) from None
        try:
            return parse_token_set(data)
        except ValueError as exc:
            raise TokenStoreInvalidError(self.path, str(exc)) from None

    def reserve(self, unsent: str = NOTHING_SENT) -> PendingSave:
        """A 0600 temporary file beside the store with room for a token set, or
        :class:`TokenStoreUnwritableError` ending with ``unsent`` (the caller has sent nothing yet)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=self._prefix, suffix=".tmp")
        except OSError as exc:
            raise TokenStoreUnwritableError(self.folder, exc, unsent) from None
        try:
            os.fchmod(descriptor, 0o600)
            _allocate(descriptor, RESERVED_BYTES)
        except OSError as exc:
            os.close(descriptor)
            Path(temporary).unlink(missing_ok=True)
            raise TokenStoreUnwritableError(self.folder, exc, unsent) from None
        return PendingSave(self, descriptor, Path(temporary))

    def save(self, tokens: TokenSet) -> None:
        """Replace the stored tokens atomically; readers see the old set or the new, never half."""
        with self.reserve() as pending:
            pending.commit(tokens)

    def recover(self) -> TokenSet | None:
        """Hold the lock. Finish an interrupted save: the newest complete leftover that is newer
        than the store replaces it; every other leftover is removed. Returns the set recovered."""
        leftovers = sorted(self.folder.glob(f"{glob.escape(self._prefix)}*.tmp"))
        if not leftovers:
            return None
        try:
            current = self.load()
        except TokenStoreInvalidError:
            current = None  # a complete leftover is better than a store that holds nothing usable
        newest: tuple[TokenSet, Path, bytes] | None = None
        for path in leftovers:
            try:
                data = path.read_bytes().rstrip(b"\0")  # killed before the truncate: padding
                candidate = parse_token_set(data)
            except (OSError, ValueError):
                continue
            if (current is None or candidate.saved_at > current.saved_at) and (
                newest is None or candidate.saved_at > newest[0].saved_at
            ):
                newest = (candidate, path, data)
        try:
            if newest is not None:
                _, path, data = newest
                descriptor = os.open(path, os.O_RDWR)
                try:
                    os.fchmod(descriptor, 0o600)
                    os.ftruncate(descriptor, len(data))
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
                path.replace(self.path)
                _fsync_folder(self.folder)
                log.warning("recovered the newest token set from %s (a save was interrupted)", path.name)
            for path in leftovers:
                if newest is None or path != newest[1]:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            kept = f"{NOTHING_SENT}; the files {self._prefix}*.tmp there are kept for the next run"
            raise TokenStoreUnwritableError(self.folder, exc, kept) from None
        return newest[0] if newest else None

    @property
    def _prefix(self) -> str:
        return f".{self.path.name}."


class PendingSave:
    """A reserved temporary file; ``commit`` makes it the store. Leaving the ``with`` block
    without committing removes it; a commit that failed half-way leaves it for ``recover``."""

    def __init__(self, store: FileTokenStore, descriptor: int, path: Path) -> None:
        self.store = store
        self.path = path
        self._descriptor: int | None = descriptor
        self._started = False

    def commit(self, tokens: TokenSet) -> None:
        descriptor = self._descriptor
        if descriptor is None:
            raise RuntimeError("this reservation was already used")
        data = json.dumps(asdict(tokens)).encode()
        if len(data) > RESERVED_BYTES:  # never: a token set is well under 1 KiB
            raise SageSourceError(f"Sage's token response is {len(data)} bytes; it cannot be stored")
        self._started = True  # from here on the file may hold the only copy of the new chain
        try:
            try:
                os.pwrite(descriptor, data, 0)  # into blocks reserved before the refresh was sent
                os.ftruncate(descriptor, len(data))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
                self._descriptor = None
            self.path.replace(self.store.path)
            _fsync_folder(self.store.folder)
        except OSError as exc:
            raise TokenStoreUnwritableError(
                self.store.folder,
                exc,
                f"Sage has issued new tokens, kept in {self.path.name} there: the next run recovers them "
                "(if it then asks for `sage-pipeline auth`, they were lost)",
            ) from None

    def __enter__(self) -> PendingSave:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
        if not self._started:
            self.path.unlink(missing_ok=True)


def parse_token_set(data: bytes) -> TokenSet:
    """A stored token set from its JSON; ValueError saying what is wrong (never a token)."""
    try:
        value = json.loads(data)
    except ValueError:
        raise ValueError("not JSON" if data.strip() else "an empty file") from None
    if not isinstance(value, dict):
        raise ValueError(f"JSON {type(value).__name__ if value is not None else 'null'}, not an object")
    if not value:
        raise ValueError("an empty JSON object")
    fields: dict[str, Any] = {}
    for name, kinds in _FIELD_TYPES.items():
        if name not in value:
            continue
        item = value[name]
        if isinstance(item, bool) or not isinstance(item, kinds):
            raise ValueError(f"{name} is not a {' or '.join(k.__name__ for k in kinds)}")
        fields[name] = item
    if not fields.get("refresh_token"):
        raise ValueError("no refresh_token")
    return TokenSet(**fields)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "refresh_token": (str,),
    "access_token": (str, type(None)),
    "access_expires_at": (int, float),
    "refresh_expires_at": (int, float, type(None)),
    "scope": (str, type(None)),
    "requested_by_id": (str, type(None)),
    "saved_at": (int, float),
}


def _allocate(descriptor: int, size: int) -> None:
    """Reserve ``size`` bytes of disk for the file: posix_fallocate where there is one."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(descriptor, 0, size)
    else:  # macOS, Windows: write the bytes (a full disk fails here just the same)
        os.pwrite(descriptor, b"\0" * size, 0)
    os.fsync(descriptor)


def _fsync_folder(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
