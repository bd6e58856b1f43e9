"""The two assets: a connection × business's Sage tables, and a connection's dbt marts.

Plain ``@asset``s calling :mod:`pipelines.runner`, not ``dagster-dlt``'s ``@dlt_assets`` or
``dagster-dbt``'s ``@dbt_assets``: ``@dlt_assets`` binds one dlt pipeline (one name, one state) to
the asset where each partition needs its own, and runs ``pipeline.run`` itself, past what the runner
does around it (pending packages, the duplicate-key check, deletions, the locks, the outcomes);
``DbtCliResource`` hands dbt our whole environment (the Sage secrets :mod:`pipelines.marts` keeps
from it), needs a parsed manifest whenever the definitions load, and does not count a failed
reconciliation (a dbt warning) as a failure. One asset per side keeps the lineage readable: the
tables (one dataset per connection) feed the marts.

A failure is said as ``sage-pipeline`` says it (:mod:`.failures`); one that a retry cannot fix (bad
settings, a chain that needs re-consent, a reconciliation that does not tie) is not retried; anything
else (Sage or the warehouse unavailable, another run holding the lock) is, with exponential backoff
and jitter.
"""

# No `from __future__ import annotations` here: Dagster reads `context` and resource parameters' annotations
# as types when it builds an asset, and refuses a string.
from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    Backoff,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from pipelines.exits import Exit
from pipelines.runner import build_marts_only, run
from sage_orchestration.failures import failed, failure
from sage_orchestration.partitions import CONNECTIONS, LOADS, split_key
from sage_orchestration.warehouse import SageWarehouse
from sage_source.outcomes import FAILED, LOADED, SKIPPED

API_POOL = "sage_api"  # dagster.yaml's pools limit how many loads call Sage at once
OUTCOMES = (LOADED, SKIPPED, FAILED)
RETRIES = RetryPolicy(max_retries=3, delay=60, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


@asset(
    key_prefix="sage",
    name="tables",
    partitions_def=LOADS,
    pool=API_POOL,
    retry_policy=RETRIES,
    group_name="sage",
    kinds={"dlt", "duckdb"},
)
def sage_tables(context: AssetExecutionContext, warehouse: SageWarehouse) -> MaterializeResult:
    """Every Sage resource of one business of one connection, loaded incrementally into the
    connection's dataset by its own dlt pipeline (:func:`pipelines.runner.run`)."""
    connection, business_id = split_key(context.partition_key)
    request = warehouse.load_request(connection, business_id)
    try:
        report = run(request)
    except Exception as error:
        raise failure(error) from error
    metadata: dict[str, MetadataValue] = {
        "dataset": MetadataValue.text(report.dataset),
        "destination": MetadataValue.text(report.destination),
        "pipeline_name": MetadataValue.text(request.pipeline_name),
        "rows": MetadataValue.int(report.total_rows),
        "seconds": MetadataValue.float(round(report.seconds, 1)),
        **{outcome: MetadataValue.int(len(report.with_outcome(outcome))) for outcome in OUTCOMES},
    }
    if report.incomplete:  # loaded what it could; the rest is asked for again by the retry
        names = ", ".join(f"{u.resource} ({u.outcome}: {u.message})" for u in report.incomplete)
        raise failed(Exit.SAGE, f"not loaded: {names}", metadata)
    return MaterializeResult(metadata=metadata)


@asset(
    key_prefix="sage",
    name="marts",
    partitions_def=CONNECTIONS,
    # A connection's marts read every one of its businesses' tables; the partition spaces differ
    # (connection × business above, connection here), so the lineage is declared over all of them
    # and the marts sensor (sensors.py) requests a build once each of its businesses has loaded.
    deps=[AssetDep(sage_tables, partition_mapping=AllPartitionMapping())],
    retry_policy=RETRIES,
    group_name="sage",
    kinds={"dbt", "duckdb"},
)
def sage_marts(context: AssetExecutionContext, warehouse: SageWarehouse) -> MaterializeResult:
    """``dbt build`` of ``dbt_models/`` over one connection's dataset (:mod:`pipelines.marts`)."""
    request = warehouse.marts_request(context.partition_key)
    try:
        report = build_marts_only(request)
    except Exception as error:
        raise failure(error) from error
    if report is None:
        return MaterializeResult(metadata={"built": MetadataValue.bool(False)})  # the log says why
    metadata: dict[str, MetadataValue] = {
        "built": MetadataValue.bool(True),
        "seconds": MetadataValue.float(round(report.seconds, 1)),
        "summary": MetadataValue.text(report.summary()),
    }
    if not report.ok:
        metadata["failures"] = MetadataValue.md("\n".join(f"* {line}" for line in report.failures))
        raise failed(Exit.MARTS, report.summary(), metadata)
    return MaterializeResult(metadata=metadata)
