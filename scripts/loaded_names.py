"""The name dlt gives a loaded column on each warehouse whose identifiers are too short for it.

dlt flattens nested objects into ``parent__child`` columns, and where the destination limits an
identifier's length (PostgreSQL: 63 characters) it shortens a longer one, keeping its ends and putting
a hash of the whole path in the middle (``detailed_tax_analysis__tax_rare6akgdown__tax_rate__displayed_as``).
The staging views must name the column dlt really created, so the generator asks dlt's own naming
convention, with each destination's own limit from dlt's capabilities, rather than copying its hash.
"""

from __future__ import annotations

from functools import cache

from dlt.common.destination import Destination
from dlt.common.normalizers.naming.snake_case import NamingConvention

# dbt adapters whose type is also the name of a dlt destination (same warehouse, same identifiers).
ADAPTERS = ("duckdb", "postgres", "redshift", "snowflake", "bigquery", "databricks")


@cache
def _naming(adapter: str) -> NamingConvention:
    destination = Destination.from_reference(adapter)
    if destination is None:
        raise ValueError(f"dlt has no destination {adapter!r}")
    limit = destination.capabilities().max_column_identifier_length
    return NamingConvention(max_length=limit)


def loaded_names(column: str) -> dict[str, str]:
    """``{adapter: name}`` for each adapter on which dlt loads ``column`` under another name."""
    names = {adapter: _naming(adapter).normalize_path(column) for adapter in ADAPTERS}
    return {adapter: name for adapter, name in names.items() if name != column}
