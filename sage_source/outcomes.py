"""What happened to each business × resource in a run, recorded in the dataset and said in plain words.

A real Sage user is often not an owner: a *Read Only* user cannot read ``/contact_allocations``
(Sage asks for Full Access in Sales, Purchases and Contacts), and a business's country or product
may not offer a list at all (Spain has no credit notes). One such answer must never cost the other
businesses and lists their load, so each business × resource ends in one of three outcomes:

* ``loaded`` — read whole; its rows land and its watermark moves;
* ``skipped`` — Sage refused it (403: the user's role) or does not offer it (404): nothing of it
  lands, its watermark stays, and the next run asks again (a role can be granted);
* ``failed`` — it still failed after the retries (5xx, timeouts, a page we cannot read): nothing
  of it lands, its watermark stays, and the run ends with exit code 4 naming it.

Each outcome becomes a row of ``sage_resource_outcomes`` (one per run × business × resource) and,
unless loaded, one warning in the log saying what Sage requires, from its swagger's text for that
endpoint (``requires``/``offered`` in ``models.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

import dlt
import pyarrow as pa

from sage_source.errors import SageApiError, SageDataError, SageSourceError, UnsafeNextLinkError
from sage_source.models import TIMESTAMP, keys_required, models
from sage_source.settings import MERGE
from sage_source.tables import BUSINESS_ID, OUTCOME_KEY, OUTCOMES_TABLE, RESOURCE, RUN_STARTED_AT

log = logging.getLogger("sage_source.outcomes")  # the CLI says these in its run summary instead

LOADED, SKIPPED, FAILED = "loaded", "skipped", "failed"
# Errors that end one business × resource, not the run. Authorisation errors (a dead token
# chain, an ambiguous refresh) are not among them: no other read could succeed either.
UNIT_ERRORS: tuple[type[SageSourceError], ...] = (SageApiError, SageDataError, UnsafeNextLinkError)
_REFUSED = 403
_NOT_OFFERED = 404

# The columns are ``Outcome``'s fields, in its order (the runner reads them back by its fields).
_SCHEMA = pa.schema(
    [
        (BUSINESS_ID, pa.string()),
        (RESOURCE, pa.string()),
        pa.field(RUN_STARTED_AT, TIMESTAMP, nullable=False),  # a key column, as dlt declares it
        ("outcome", pa.string()),
        ("http_status", pa.int64()),
        ("message", pa.string()),
        ("rows", pa.int64()),
        ("reread_rows", pa.int64()),
        ("requests", pa.int64()),
        ("reread_requests", pa.int64()),
        ("last_success_at", TIMESTAMP),
    ]
)


@dataclass(frozen=True)
class Outcome:
    """One business × resource in one run."""

    business_id: str
    resource: str
    run_started_at: datetime
    outcome: str
    http_status: int | None = None
    message: str | None = None
    rows: int = 0  # rows loaded (parent rows; none unless ``loaded``)
    reread_rows: int = 0  # rows read again because they changed while the listing was paged
    requests: int = 0  # HTTP requests sent for it, retries included
    reread_requests: int = 0  # of which for reading changed rows again
    last_success_at: datetime | None = None  # when its last whole read began (Sage's clock)

    def table(self) -> pa.Table:
        return keys_required(pa.Table.from_pylist([asdict(self)], schema=_SCHEMA))


def per_unit(outcomes: Iterable[Outcome]) -> tuple[Outcome, ...]:
    """One outcome per business × resource of a run loaded in several passes (a first load in
    windows, :mod:`sage_source.backfill`, records one per pass): the last pass's, which says how
    the run left it, with the rows and requests of every pass."""
    units: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in sorted(outcomes, key=lambda o: o.run_started_at):
        units.setdefault((outcome.business_id, outcome.resource), []).append(outcome)
    return tuple(
        replace(
            passes[-1],
            rows=sum(o.rows for o in passes),
            reread_rows=sum(o.reread_rows for o in passes),
            requests=sum(o.requests for o in passes),
            reread_requests=sum(o.reread_requests for o in passes),
        )
        for _, passes in sorted(units.items())
    )


@cache
def outcome_hints() -> Any:
    return dlt.mark.make_hints(table_name=OUTCOMES_TABLE, write_disposition=MERGE, primary_key=OUTCOME_KEY)


def unit_failure(error: SageSourceError, business: str, resource: str) -> tuple[str, int | None, str]:
    """``(outcome, http_status, message)`` for an error that ended one business × resource."""
    status = error.status if isinstance(error, SageApiError) else None
    where = f"{resource} of business {business}"
    kept = "nothing of it was loaded and its watermark is kept"
    if status == _REFUSED:
        requires = models().get(resource, {}).get("requires") or "a role this user does not have"
        return (
            SKIPPED,
            status,
            f"{where}: skipped, Sage refused it ({error}). Sage requires {requires}. "
            f"It is asked for again next run; grant the role in Sage, or leave {resource} out (--resources)",
        )
    if status == _NOT_OFFERED:
        return (
            SKIPPED,
            status,
            f"{where}: skipped, Sage does not offer it for this business ({error}). Sage offers "
            f"{resource} in {_offered(resource)}; {kept}, and it is asked for again next run",
        )
    return FAILED, status, f"{where}: failed ({error}); {kept}, and the next run tries again"


def _offered(resource: str) -> str:
    offered: dict[str, list[str]] = models().get(resource, {}).get("offered") or {}
    if not offered:
        return "no product Sage lists"
    return "; ".join(f"{product} ({', '.join(countries)})" for product, countries in offered.items())


def report(outcome: Outcome) -> None:
    """Say once, in the log, what did not load and why."""
    if outcome.outcome != LOADED:
        log.warning("%s", outcome.message)
