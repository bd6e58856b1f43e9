"""The two jobs: load one connection × business, build one connection's marts.

Each job's partitioned config tags its runs with their connection (``sage/connection``), so a run
launched from the UI or a backfill queues behind that connection's other runs just as the
schedule's and sensors' runs do (``dagster.yaml``: one run per connection at a time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import PartitionedConfig, define_asset_job

from sage_orchestration.assets import sage_marts, sage_tables
from sage_orchestration.partitions import CONNECTIONS, LOADS, connection_of, run_tags


def _no_config(partition_key: str) -> Mapping[str, Any]:
    return {}


def _tags(partition_key: str) -> Mapping[str, str]:
    return run_tags(connection_of(partition_key))


load_job = define_asset_job(
    "sage_load",
    selection=[sage_tables],
    config=PartitionedConfig(
        LOADS, run_config_for_partition_key_fn=_no_config, tags_for_partition_key_fn=_tags
    ),
)
marts_job = define_asset_job(
    "sage_build_marts",
    selection=[sage_marts],
    config=PartitionedConfig(
        CONNECTIONS, run_config_for_partition_key_fn=_no_config, tags_for_partition_key_fn=_tags
    ),
)
