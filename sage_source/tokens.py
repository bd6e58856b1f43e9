"""Where the refresh-token chain lives: a file outside dlt state, written atomically, mode 0600.

Sage rotates the refresh token on every refresh and treats a reused one as stolen, so losing the
newest token disconnects the customer. dlt state is the wrong home (it rolls back when a run
fails, and a run that rotated and then failed would resurrect a spent token). The store is a
JSON file replaced atomically (write a 0600 temporary file, fsync, rename, fsync the folder)
under a cross-process lock (``filelock``), so two processes never refresh with the same token.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sage_source.errors import SageSourceError


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
            raise SageSourceError(f"Sage's token response lacks {exc}; it cannot be used") from None


class FileTokenStore:
    """``load``/``save`` a :class:`TokenSet`; ``lock`` excludes other processes and threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._lock = FileLock(str(self.path) + ".lock", mode=0o600)

    @contextmanager
    def lock(self, timeout: float = 120) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock.acquire(timeout=timeout):
            yield

    def load(self) -> TokenSet | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SageSourceError(
                f"the token store {self.path} cannot be read ({type(exc).__name__})"
            ) from None
        return TokenSet(**{k: v for k, v in data.items() if k in TokenSet.__dataclass_fields__})

    def save(self, tokens: TokenSet) -> None:
        """Replace the stored tokens atomically; readers see the old set or the new, never half."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(asdict(tokens), handle)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
