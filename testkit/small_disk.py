"""A small tmpfs of our own, to fill up: a full disk for real, not a mocked ``ENOSPC``.

Mounting needs root (the tests run as root here and in CI); elsewhere the tests that need it are
skipped, saying so. The mount is undone when the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHUNK = 4096


@dataclass(frozen=True)
class SmallDisk:
    path: Path

    @property
    def filler(self) -> Path:
        return self.path / "filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take every free byte (then give ``leave`` bytes back)."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            with contextlib.suppress(OSError):  # the last pages are taken below, a chunk at a time
                os.posix_fallocate(descriptor, os.fstat(descriptor).st_size, self.free_bytes())
            while True:
                try:
                    os.write(descriptor, b"\1" * CHUNK)
                except OSError:
                    break
        finally:
            os.close(descriptor)
        assert self.free_bytes() == 0, f"{self.path} still has {self.free_bytes()} bytes free"
        if leave:
            os.truncate(self.filler, self.filler.stat().st_size - leave)

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, *options: str) -> None:
        subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(self.path)], check=True)


@contextmanager
def small_disk(where: Path, size: str = "16m") -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs a tmpfs of its own, and mounting one needs root")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield SmallDisk(where)
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(where)], check=True)  # something still has it open
