"""Storage for the sandbox's books: compressed JSON rows with numpy index columns."""

from sage_sandbox.store.collection import Collection, IndexSpec

__all__ = ["Collection", "IndexSpec"]
