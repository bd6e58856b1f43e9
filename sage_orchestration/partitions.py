"""Partition keys and run tags: one partition per connection × business, one per connection.

A single dynamic dimension keyed ``<connection>|<business_id>`` is used rather than Dagster's
``MultiPartitionsDefinition`` of two dynamic dimensions: a multi-partition is the cross product of
its dimensions, so every connection would get a partition for every other connection's businesses,
which do not exist for it (a firm's clients each reach only their own books). The marts are
partitioned by connection alone (:data:`CONNECTIONS`).
"""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

SEPARATOR = "|"  # neither a connection name (sage_source.connections) nor a Sage business id holds one

# connection|business_id: what one load run reads (its own dlt pipeline name and state).
LOADS_NAME = "sage_connection_business"
LOADS = DynamicPartitionsDefinition(name=LOADS_NAME)
# connection: whose marts one dbt build makes (its own warehouse).
CONNECTIONS_NAME = "sage_connection"
CONNECTIONS = DynamicPartitionsDefinition(name=CONNECTIONS_NAME)

# Every run that touches a connection carries it; dagster.yaml allows one run per value at a time,
# so one connection's loads and marts never overlap (its token chain, its DuckDB file).
CONNECTION_TAG = "sage/connection"


def partition_key(connection: str, business_id: str) -> str:
    if SEPARATOR in connection or SEPARATOR in business_id:
        raise ValueError(f"{connection!r} / {business_id!r}: {SEPARATOR!r} cannot be in a partition key part")
    return f"{connection}{SEPARATOR}{business_id}"


def split_key(key: str) -> tuple[str, str]:
    """``(connection, business_id)`` of a load partition key."""
    connection, separator, business_id = key.partition(SEPARATOR)
    if not separator or not connection or not business_id:
        raise ValueError(f"{key!r} is not a load partition key (<connection>{SEPARATOR}<business_id>)")
    return connection, business_id


def connection_of(key: str) -> str:
    """The connection of a load key (``acme|b1``) or of a marts key (``acme``)."""
    return key.partition(SEPARATOR)[0]


def run_tags(connection: str) -> dict[str, str]:
    return {CONNECTION_TAG: connection}
