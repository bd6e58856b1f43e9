"""``defs``: what ``dagster dev -m sage_orchestration.definitions`` (or a code location) loads.

The warehouse resource's settings come from the environment so a deployment sets them without code:
``SAGE_DAGSTER_FOLDER`` (DuckDB files and dlt state, default ``sage_warehouses``) and
``SAGE_DAGSTER_DESTINATION`` (default ``duckdb``; see :mod:`.warehouse`). Sage's settings and the
connections are read the dlt way, as for ``sage-pipeline`` (README, "Run many connections on
Dagster"). Steps run in their own processes (the multiprocess executor, Dagster's default for asset
jobs): one failing or killed load never takes another down.
"""

from __future__ import annotations

import os
from typing import Any

from dagster import Definitions, multiprocess_executor

from sage_orchestration.assets import sage_marts, sage_tables
from sage_orchestration.jobs import load_job, marts_job
from sage_orchestration.schedules import sage_hourly
from sage_orchestration.sensors import sage_businesses, sage_marts_due
from sage_orchestration.warehouse import SageWarehouse

SETTINGS = {"folder": "SAGE_DAGSTER_FOLDER", "destination": "SAGE_DAGSTER_DESTINATION"}


def warehouse_from_environment() -> SageWarehouse:
    """The resource's defaults, with what the environment sets (``SETTINGS``) over them."""
    given: dict[str, Any] = {
        field: os.environ[name] for field, name in SETTINGS.items() if name in os.environ
    }
    return SageWarehouse(**given)


def definitions(warehouse: SageWarehouse) -> Definitions:
    """Every Sage definition, with ``warehouse`` as the resource the assets write through."""
    return Definitions(
        assets=[sage_tables, sage_marts],
        jobs=[load_job, marts_job],
        schedules=[sage_hourly],
        sensors=[sage_businesses, sage_marts_due],
        resources={"warehouse": warehouse},
        executor=multiprocess_executor,
    )


defs = definitions(warehouse_from_environment())
