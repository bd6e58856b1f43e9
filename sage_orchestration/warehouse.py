"""Where each connection's data goes, and the run requests for :mod:`pipelines.runner` that say so.

* **dlt state**: one pipeline name per connection × business (``sage_<connection>_<business_id>``),
  so two runs never share (or race on) dlt's state, run lock or pending packages.
* **Dataset**: one per connection (``sage_<connection>``), holding all its businesses' tables, as a
  single-connection ``sage-pipeline run`` holds them in ``sage``; the marts are built over it.
* **Destination**: by default a DuckDB file per connection (``<folder>/<connection>.duckdb``). Any
  other dlt destination is named the dlt way and configured the dlt way (``DESTINATION__POSTGRES__
  CREDENTIALS``); ``{connection}`` in its name picks a named destination per connection
  (``pg_{connection}`` with ``DESTINATION__PG_ACME__DESTINATION_TYPE=postgres``), which PostgreSQL
  needs for the marts: their schemas (``staging``, ``marts``, ...) are named alike for every dataset,
  so each connection's marts need a database of their own (README, "Load into PostgreSQL").
"""

from __future__ import annotations

import re
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from pipelines.runner import RunRequest

_NOT_PLAIN = re.compile(r"[^a-z0-9_]+")


def plain(text: str) -> str:
    """``text`` as a pipeline, dataset or file name part: lower-case letters, digits and ``_``."""
    return _NOT_PLAIN.sub("_", text.lower()).strip("_")


class SageWarehouse(ConfigurableResource):
    """The warehouse settings every load and marts run shares (Dagster resource config)."""

    folder: str = Field(
        default="sage_warehouses",
        description="DuckDB files (<connection>.duckdb) and dlt's pipeline folders (pipelines/) go here",
    )
    destination: str = Field(
        default="duckdb",
        description="a dlt destination name; '{connection}' in it is replaced by the connection's name",
    )
    resources: list[str] | None = Field(
        default=None, description="the Sage resources to load (default: all; the marts need all)"
    )

    def pipeline_name(self, connection: str, business_id: str) -> str:
        return f"sage_{plain(connection)}_{plain(business_id)}"

    def dataset(self, connection: str) -> str:
        return f"sage_{plain(connection)}"

    def duckdb_path(self, connection: str) -> str:
        return str(Path(self.folder) / f"{plain(connection)}.duckdb")

    def destination_for(self, connection: str) -> str:
        return self.destination.replace("{connection}", plain(connection))

    def load_request(self, connection: str, business_id: str) -> RunRequest:
        """One business of one connection, loaded into the connection's dataset (no marts)."""
        return self._request(connection, self.pipeline_name(connection, business_id), business_id=business_id)

    def marts_request(self, connection: str) -> RunRequest:
        """The connection's marts, built over its dataset by a pipeline of their own (dbt's folders)."""
        return self._request(connection, f"sage_{plain(connection)}_marts")

    def _request(self, connection: str, pipeline_name: str, business_id: str | None = None) -> RunRequest:
        destination = self.destination_for(connection)
        return RunRequest(
            pipeline_name=pipeline_name,
            dataset=self.dataset(connection),
            destination=destination,
            duckdb_path=self.duckdb_path(connection) if destination == "duckdb" else None,
            pipelines_dir=str(Path(self.folder) / "pipelines"),
            progress=False,
            connection=connection,
            business_ids=[business_id] if business_id else None,
            resources=self.resources if business_id else None,
            build_marts=business_id is None,
        )
