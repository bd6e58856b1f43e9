"""When things run besides the hour: new businesses are found, and a connection's marts are due.

* :func:`sage_businesses` asks each connection's ``/businesses`` (:mod:`.discovery`) and adds the
  partitions it does not know yet, with a first load for each. A business that is no longer listed
  keeps its partition (its materializations and their history stay readable); its hourly load then
  fails at once, without retries, saying the business is not among the user's (exit 2). Delete its
  partition in the UI once that is meant.
* :func:`sage_marts_due` requests a connection's marts once every one of its businesses has loaded
  since they were last built, so the marts are never built over half a round of loads. A business
  whose loads keep failing holds its connection's marts back, visibly (the marts go stale).
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from sage_orchestration.assets import sage_marts, sage_tables
from sage_orchestration.discovery import discover, every_connection
from sage_orchestration.jobs import load_job, marts_job
from sage_orchestration.partitions import (
    CONNECTIONS,
    CONNECTIONS_NAME,
    LOADS,
    LOADS_NAME,
    connection_of,
    partition_key,
    run_tags,
)


@sensor(job=load_job, minimum_interval_seconds=15 * 60, default_status=DefaultSensorStatus.RUNNING)
def sage_businesses(context: SensorEvaluationContext) -> SensorResult:
    """New connection × business partitions, from each connection's ``/businesses``."""
    found = discover(every_connection())
    for connection, why in found.failures.items():
        context.log.warning(f"connection {connection}: its businesses could not be listed: {why}")
    known = set(context.instance.get_dynamic_partitions(LOADS_NAME))
    known_connections = set(context.instance.get_dynamic_partitions(CONNECTIONS_NAME))
    new = [
        key
        for connection, businesses in found.businesses.items()
        for key in (partition_key(connection, business) for business in businesses)
        if key not in known
    ]
    new_connections = [name for name in found.businesses if name not in known_connections]
    requests = [CONNECTIONS.build_add_request(new_connections)] if new_connections else []
    requests += [LOADS.build_add_request(new)] if new else []
    return SensorResult(
        run_requests=[RunRequest(partition_key=key, tags=run_tags(connection_of(key))) for key in new],
        dynamic_partitions_requests=requests,
    )


@sensor(job=marts_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def sage_marts_due(context: SensorEvaluationContext) -> Iterator[RunRequest]:
    """A marts build for each connection whose businesses have all loaded since its last build."""
    loads: dict[str, list[str]] = {}
    for key in context.instance.get_dynamic_partitions(LOADS_NAME):
        loads.setdefault(connection_of(key), []).append(key)
    for connection, keys in sorted(loads.items()):
        loaded = [last_materialized(context.instance, sage_tables.key, key) for key in keys]
        if any(moment is None for moment in loaded):
            continue  # a business has never loaded
        moments = [moment for moment in loaded if moment is not None]
        built = last_materialized(context.instance, sage_marts.key, connection)
        if built is not None and min(moments) <= built:
            continue  # not every business has loaded since the last build
        yield RunRequest(
            partition_key=connection, run_key=f"{connection}@{max(moments)}", tags=run_tags(connection)
        )


def last_materialized(instance: DagsterInstance, asset: AssetKey, partition: str) -> float | None:
    """When ``asset``'s ``partition`` last materialized (a Unix time), None if never."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records
    return records[0].timestamp if records else None
