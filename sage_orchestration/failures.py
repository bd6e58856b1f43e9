"""A failed run said the way ``sage-pipeline`` says it, and whether trying again can help.

:func:`pipelines.cli.classify` is the one place that knows what each error means (dlt wraps the
source's errors; a full disk or a DuckDB file in use is found in the chain of causes), so a Dagster
run fails with the same one line and exit code a cron job would log. Bad settings and a chain that
needs re-consent fail for good: retrying would spend the retries (and, for a dead chain, ask Sage
again) for nothing. The rest (Sage or the warehouse unavailable, a lock held) are retried.
"""

from __future__ import annotations

from dagster import Failure, MetadataValue

from pipelines.cli import classify
from pipelines.exits import Exit

FINAL = frozenset({Exit.CONFIG, Exit.REAUTH, Exit.MARTS})


def failure(error: Exception) -> Failure:
    """``error`` as the CLI would exit with it."""
    code, line = classify(error)
    return failed(Exit(code), line)


def failed(code: Exit, line: str, metadata: dict[str, MetadataValue] | None = None) -> Failure:
    """A step's failure, with the exit code ``sage-pipeline`` would give it; retried unless ``FINAL``."""
    return Failure(
        description=f"exit {int(code)} ({code.name.lower()}): {line}",
        metadata={**(metadata or {}), "exit_code": MetadataValue.int(int(code))},
        allow_retries=code not in FINAL,
    )
