"""Every known connection × business loaded once an hour (the marts follow: sensors.py)."""

from __future__ import annotations

from collections.abc import Iterator

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from sage_orchestration.jobs import load_job
from sage_orchestration.partitions import LOADS_NAME, connection_of, run_tags


@schedule(job=load_job, cron_schedule="0 * * * *", default_status=DefaultScheduleStatus.RUNNING)
def sage_hourly(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
    # One run per partition; dagster.yaml queues each connection's runs one after another.
    for key in context.instance.get_dynamic_partitions(LOADS_NAME):
        yield RunRequest(partition_key=key, run_key=key, tags=run_tags(connection_of(key)))
