"""When things run besides the hour: businesses come and go, and a connection's marts are due.

* :func:`sage_businesses` asks each connection's ``/businesses`` (:mod:`.discovery`), adds the
  partitions it does not know yet, with a first load for each, and deletes those of a connection
  that listed its businesses but no longer lists theirs (access revoked, or left out of its
  ``business_ids``): otherwise their hourly loads would fail for good and hold the connection's
  marts back. The rows they loaded stay in the warehouse, their runs in Dagster's history. A
  connection that could not be asked, or is no longer configured, keeps its partitions.
* :func:`sage_marts_due` requests a connection's marts once every one of its businesses has loaded
  since they were last built, so the marts are never built over half a round of loads. A business
  whose loads keep failing holds its connection's marts back, visibly (the marts go stale).
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
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
    """Connection × business partitions as each connection's ``/businesses`` lists them."""
    found = discover(every_connection())
    for connection, why in found.failures.items():
        context.log.warning(f"connection {connection}: its businesses could not be listed: {why}")
    listed = {
        partition_key(connection, business)
        for connection, businesses in found.businesses.items()
        for business in businesses
    }
    known = set(context.instance.get_dynamic_partitions(LOADS_NAME))
    new = sorted(listed - known)
    gone = sorted(key for key in known - listed if connection_of(key) in found.businesses)
    new_connections = sorted(
        set(found.businesses) - set(context.instance.get_dynamic_partitions(CONNECTIONS_NAME))
    )
    requests: list[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] = []
    if new_connections:
        requests.append(CONNECTIONS.build_add_request(new_connections))
    if new:
        requests.append(LOADS.build_add_request(new))
    if gone:
        requests.append(LOADS.build_delete_request(gone))
        context.log.info(f"no longer listed, partitions deleted: {', '.join(gone)}")
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
