"""Built books saved to disk, so a million-invoice sandbox is built once, not every run.

A snapshot is the pickled :class:`World` after its history was simulated. Its file name holds a
digest of everything the books depend on: the book-shaping settings (seed, businesses, invoices,
history days, the clock's start, dialect, products, unavailable lists) and the source of the code
that builds them. Roles are not among them: they are checked per request. Change either and
the snapshot is rebuilt. Snapshots need a fixed start (``--now``): with the real time the books
would differ every day. They are local caches the user creates; like any pickle, load only your
own.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from pathlib import Path

from sage_sandbox.books.world import World, release_freed_memory
from sage_sandbox.config import SandboxConfig

_PACKAGE = Path(__file__).resolve().parent
_BOOK_CODE = ("books", "store", "catalog.py", "ids.py", "money.py", "config.py", "dialects.py", "access.py")


def code_digest() -> str:
    digest = hashlib.sha256()
    for part in _BOOK_CODE:
        path = _PACKAGE / part
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_path(directory: Path, config: SandboxConfig) -> Path:
    if config.now is None:
        raise ValueError("snapshots need a fixed start: give --now (SandboxConfig.now)")
    settings = (
        f"{config.seed}:{config.businesses}:{config.invoices}:{config.history_days}:{config.now.isoformat()}"
        f":{config.dialect}:{sorted(config.products.items())}:{sorted(config.unavailable.items())}"
    )
    key = hashlib.sha256(f"{settings}:{code_digest()}".encode()).hexdigest()[:20]
    return directory / f"sage-sandbox-{config.invoices}-{key}.pickle"


def load_or_build(config: SandboxConfig, now_ts: int, directory: Path) -> tuple[World, bool]:
    """The world from its snapshot if there is one (``True``), else built and saved (``False``)."""
    path = snapshot_path(directory, config)
    if path.is_file():
        with path.open("rb") as handle:
            world: World = pickle.load(handle)
        release_freed_memory()
        return world, True
    world = World(config, now_ts)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as partial:
        pickle.dump(world, partial, protocol=pickle.HIGHEST_PROTOCOL)
    Path(partial.name).replace(path)  # atomic: a reader never sees half a snapshot
    return world, False
