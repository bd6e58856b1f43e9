"""What the client needs of a request budget, and which budget the settings choose.

Sage's limits are per app (``client_id``): about 200 requests a minute (Sage staff's figure),
1,296,000 a day and 150 in flight, past which it answers 429 with ``Retry-After``. There are two
budgets:

* :class:`~sage_source.limiter.RequestLimiter`, the default: one process's threads share it
  (``requests_per_minute``, ``max_concurrency``); nothing else is needed;
* :class:`~sage_source.budget_postgres.PostgresRequestBudget`: every worker of the app on every host
  shares one budget in the PostgreSQL database of the shared token store
  (``token_store_credentials``): ``requests_per_minute`` is then the app's, and
  ``requests_per_day`` and ``app_max_concurrency`` apply too; ``max_concurrency`` stays per process.

:class:`~sage_source.client.SageClient` uses nothing but :class:`RequestBudget`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sage_source.errors import SageSourceError
from sage_source.limiter import WINDOW_SECONDS, RequestLimiter

if TYPE_CHECKING:
    from sage_source.config import SageAccountingConfiguration

# A 429 whose Retry-After (or a pause another worker recorded, or the daily quota) asks for a longer
# wait than this fails the run instead of sleeping for hours: the watermarks stay where they were.
MAX_WAIT_SECONDS = 900.0
# A request in flight longer than this after its slot was taken counts as finished: the worker
# that took it has died (a kill, a lost host) and will never give it back. Two request timeouts,
# since SageAuth may send a request twice in one slot (a refresh after a 401), and a margin.
LEASE_MARGIN_SECONDS = 30.0


class RequestBudget(Protocol):
    """Room for requests: ``slot`` is held around each one."""

    waited: float  # seconds spent waiting for room (for logs and benchmarks)

    def slot(self) -> AbstractContextManager[None]:
        """Hold one request's place; it counts against the window from when it finishes."""
        ...

    def pause(self, seconds: float) -> None:
        """Sage answered 429 with ``Retry-After: seconds``: hold back what this budget covers."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BudgetLimits:
    """The limits of a shared budget. None: no such limit."""

    per_minute: int | None  # requests in any ``window`` seconds, the app's
    per_day: int | None  # requests per UTC day, the app's
    app_concurrency: int | None  # requests in flight, the app's
    concurrency: int  # requests in flight, this process's
    lease: float  # seconds after which a request never given back counts as finished
    window: float = WINDOW_SECONDS

    @classmethod
    def from_settings(
        cls, settings: SageAccountingConfiguration, window: float = WINDOW_SECONDS
    ) -> BudgetLimits:
        return cls(
            per_minute=settings.budget,
            per_day=settings.requests_per_day or None,
            app_concurrency=settings.app_max_concurrency or None,
            concurrency=settings.max_concurrency,
            lease=2 * settings.request_timeout + LEASE_MARGIN_SECONDS,
            window=window,
        )


def check_shared_limits(per_day: int | None, app_concurrency: int | None) -> None:
    """0 and None both mean "no limit" (TOML cannot say None); below 0 means nothing."""
    for name, value in (("requests_per_day", per_day), ("app_max_concurrency", app_concurrency)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be at least 1, or 0 for no limit; got {value}")


def open_request_budget(
    settings: SageAccountingConfiguration, window: float = WINDOW_SECONDS
) -> RequestBudget:
    """The app's budget in PostgreSQL when ``token_store_credentials`` is set, else this process's.

    ``window`` is Sage's 60 seconds; only tests (which cannot wait minutes) pass a shorter one."""
    if settings.token_store_credentials:
        try:
            from sage_source.budget_postgres import PostgresRequestBudget  # noqa: PLC0415 (the postgres extra)
        except ImportError as missing:
            raise SageSourceError(
                "token_store_credentials names a PostgreSQL database, where the shared request budget lives "
                f"too, which needs {missing.name or 'psycopg2'}: pip install 'sage-accounting-elt[postgres]'"
            ) from None
        limits = BudgetLimits.from_settings(settings, window)
        return PostgresRequestBudget(settings.token_store_credentials, settings.client_id, limits)
    return RequestLimiter(settings.budget, settings.max_concurrency, window=window)
